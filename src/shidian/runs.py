"""Run records (运行记录): what was computed from what, under which policy, with what result.

Every engine writes ``run.json`` through ``run_record``; every invariant it checks is a
``Check``. No clock goes into a record: the same inputs and policy give the same record, and
its ``run_id`` is a hash of the code version, the policy and the input files.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from shidian import __version__, duck
from shidian.cells import csv_sql
from shidian.policy import Policy
from shidian.problems import Problem, Refused, Source


@dataclass(frozen=True)
class Check:
    """One invariant a run verified about itself (自检): name, description, passed, detail."""

    name: str
    description: str
    ok: bool
    detail: str


def file_sha256(path: Path) -> str:
    """The sha256 of a file; of a folder of parts (Parquet as Spark writes it), of each data
    file's relative name and bytes in name order (``_SUCCESS``, ``.crc`` and such left out)."""
    digest = hashlib.sha256()
    parts = (
        sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "_")))
        if path.is_dir()
        else [path]
    )
    for part in parts:
        if part != path:
            digest.update(part.relative_to(path).as_posix().encode() + b"\0")
        with part.open("rb") as handle:
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


@contextmanager
def staged_output(out_dir: Path) -> Iterator[Path]:
    """A folder to write a run's outputs into; they land in ``out_dir`` together or not at all.

    The folder sits next to ``out_dir`` (same file system, so the final moves are renames); on
    an exception nothing is moved and the folder is removed.
    """
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        yield staging
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in sorted(os.listdir(staging)):
            target = out_dir / name
            if target.is_dir():
                shutil.rmtree(target)
            os.replace(staging / name, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_csv_tables(folder: Path, tables: Mapping[str, pa.Table]) -> None:
    """Each Arrow table as ``folder/name``: UTF-8, header row, rows in the table's order; text
    a spreadsheet would run as a formula is neutralised (``shidian.cells``), column by column."""
    con = duck.connect()
    try:
        for file_name, table in tables.items():
            con.register("t", table)
            columns = ", ".join(
                csv_sql(f.name) if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
                else '"' + f.name.replace('"', '""') + '"'
                for f in table.schema
            )  # fmt: skip
            # PRESERVE_ORDER explicitly: DuckDB 2.0's CSV COPY otherwise writes a multi-chunk table's
            # (or a large one's) rows in the order its threads finish them under this projection
            # (tests/test_runs_order.py reproduces it), which shuffled a run's files between runs.
            con.execute(
                f"COPY (SELECT {columns} FROM t) TO '{folder / file_name}' (HEADER, DELIMITER ',', PRESERVE_ORDER)"
            )
            con.unregister("t")
    finally:
        con.close()


def output_hashes(folder: Path) -> dict[str, str]:
    """sha256 of every file below ``folder``, by relative path, in order."""
    return {
        str(path.relative_to(folder)): file_sha256(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def write_run_json(folder: Path, record: Mapping[str, Any]) -> None:
    (folder / "run.json").write_text(
        json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )


def check_correction(domain: str, year: object, others: list[str], named: str | None, reason: str) -> None:
    """A year has one published settlement its readers see: publishing a run of a ``year`` that
    already has published runs (``others``) must name the one it corrects (``named``; refused
    ``<domain>.publish.correction_required``, a conflict) and give the reason (``reason``, stripped;
    refused ``<domain>.publish.reason_required``). Raises ``Refused``; nothing when allowed."""
    if others and named not in others:
        listed = ", ".join(o[:8] for o in others)
        message = (
            f"{year} 年度已有发布的结算 {listed}: 发布本结算须指明它更正哪一个结算并说明原因 "
            "(the year has a published run: name the run this one corrects)"
        )
        where = Source("<request>", column="corrects_run_id")
        raise Refused("conflict", [Problem(f"{domain}.publish.correction_required", message, where)])
    if others and not reason:
        message = "发布更正结算须说明更正原因 (give the reason for the correction)"
        where = Source("<request>", column="reason")
        raise Refused("invalid", [Problem(f"{domain}.publish.reason_required", message, where)])
