"""Run records (运行记录): what was computed from what, under which policy, with what result.

Every engine writes ``run.json`` through ``run_record``; every invariant it checks is a
``Check``. No clock goes into a record: the same inputs and policy give the same record, and
its ``run_id`` is a hash of the code version, the policy and the input files.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shidian import __version__
from shidian.policy import Policy


@dataclass(frozen=True)
class Check:
    """One invariant a run verified about itself (自检): name, description, passed, detail."""

    name: str
    description: str
    ok: bool
    detail: str


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run_record(
    kind: str,
    policy: Policy,
    manifest: Mapping[str, Mapping[str, Any]],
    outputs: Mapping[str, str],
    totals: Mapping[str, str],
    checks: Iterable[Check],
    warnings: int,
) -> dict[str, Any]:
    """The content of run.json for one run of ``kind`` (e.g. ``drg.settlement``)."""
    identity = hashlib.sha256(
        json.dumps(
            {"code": __version__, "policy": policy.sha256, "inputs": manifest}, sort_keys=True
        ).encode()
    ).hexdigest()
    meta = policy.meta
    return {
        "run_id": identity[:16],
        "kind": kind,
        "code_version": __version__,
        "policy": {
            "id": meta.id,
            "name": meta.name,
            "version": meta.version,
            "seed": meta.seed,
            "source": policy.source,
            "sha256": policy.sha256,
        },
        "inputs": dict(sorted(manifest.items())),
        "totals": dict(totals),
        "checks": [
            {"name": c.name, "description": c.description, "ok": c.ok, "detail": c.detail} for c in checks
        ],
        "warnings": warnings,
        "outputs": dict(outputs),
        "supersedes": None,
    }
