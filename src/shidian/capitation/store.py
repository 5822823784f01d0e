"""Capitation store: runs under ``var/capitation/<run_id>/`` (the files ``settle`` writes).

No rules here: the service decides who reads what.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from shidian.capitation.io import read_run

RUN_ID = re.compile(r"^[0-9a-f]{16}$")


def capitation_dir(var_dir: Path) -> Path:
    return var_dir / "capitation"


def run_dir(var_dir: Path, run_id: str) -> Path | None:
    """A stored run's folder, or None (a malformed id never reaches the file system)."""
    if not RUN_ID.match(run_id):
        return None
    folder = capitation_dir(var_dir) / run_id
    return folder if (folder / "run.json").is_file() else None


def list_runs(var_dir: Path) -> list[dict[str, Any]]:
    """Stored runs' records, newest first, each with its 医共体 and their members' ids."""
    folder = capitation_dir(var_dir)
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*/run.json"), key=lambda p: p.stat().st_mtime, reverse=True):
        record = json.loads(path.read_text(encoding="utf-8"))
        run, _ = read_run(path.parent)
        if run is None:
            continue
        record["members"] = {s.institution_id: s.community_id for s in run["shares"]}
        found.append(record)
    return found


def load_run(var_dir: Path, run_id: str) -> dict[str, Any] | None:
    folder = run_dir(var_dir, run_id)
    if folder is None:
        return None
    run, _ = read_run(folder)
    return run
