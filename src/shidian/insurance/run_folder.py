"""A run's output folder (``var/runs/<id>/``), read back for its page and its downloads.

Pages read the files a run wrote; nothing is recomputed for display. Which files a run page
offers is decided here: officers every one, a hospital its own statement (``service.runs``).
"""

from __future__ import annotations

import csv
from pathlib import Path

from shidian.insurance.io import NOTICES_DIR, STATEMENTS_DIR

#: Files a run page offers beside the statements and notices.
PUBLIC_FILES = (
    "ledger.xlsx",
    "ledger_pools.csv",
    "ledger_pool_monthly.csv",
    "ledger_receipts.csv",
    "settlement.csv",
    "claims_out.csv",
    "health_checks.csv",
    "warnings.csv",
    "run.json",
)


def read_csv(path: Path, limit: int | None = None) -> list[dict[str, str]]:
    """Rows of an output CSV (UTF-8) as text, at most ``limit``."""
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        rows = []
        for i, row in enumerate(csv.DictReader(handle)):
            if limit is not None and i >= limit:
                break
            rows.append(row)
        return rows


def count_rows(path: Path) -> int:
    if not path.is_file():
        return 0
    with path.open(encoding="utf-8") as handle:
        return max(0, sum(1 for _ in handle) - 1)


def run_file(folder: Path, name: str) -> Path | None:
    """A run's output file by its relative name (``statements/I00004.xlsx``), or None."""
    parts = name.split("/")
    allowed = (len(parts) == 1 and parts[0] in PUBLIC_FILES) or (
        len(parts) == 2 and parts[0] in (STATEMENTS_DIR, NOTICES_DIR) and parts[1].endswith((".xlsx", ".pdf"))
    )
    if not allowed or any(p in ("", ".", "..") or "\\" in p for p in parts):
        return None
    path = folder.joinpath(*parts)
    return path if path.is_file() and path.resolve().is_relative_to(folder.resolve()) else None


def statement_files(folder: Path) -> list[str]:
    """The institutions with a monthly statement (``statements/<id>.xlsx``)."""
    found = folder / STATEMENTS_DIR
    return sorted(p.stem for p in found.glob("*.xlsx")) if found.is_dir() else []


def notice_files(folder: Path) -> list[str]:
    """The villages with a notice (``notices/<code>.xlsx``)."""
    found = folder / NOTICES_DIR
    return sorted(p.stem for p in found.glob("*.xlsx")) if found.is_dir() else []
