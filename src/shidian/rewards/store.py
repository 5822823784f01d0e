"""以奖代补 store: stored allocations under ``var/rewards/<run_id>/`` and the reader's own unit codes.

A stored allocation is what the CLI writes (``allocations.csv``, ``explanations.csv``,
``allocations.xlsx``, ``run.json``, see ``shidian.rewards.io``) plus a ``meta.json`` for the
pages. Rows are read back with DuckDB straight from the CSV files; amounts stay text until a
caller formats them. No rules here: the service decides who reads what.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from shidian.platform.db.schema import units
from shidian.platform.files import query
from shidian.rewards.allocation import Allocation
from shidian.rewards.io import write_allocation

RUN_ID = re.compile(r"^[0-9a-f]{16}$")
#: Units listed on a run's page (the workbook has them all).
PAGE_ROWS = 500
#: Units in a run's chart (the largest totals).
CHART_UNITS = 30


def rewards_dir(var_dir: Path) -> Path:
    return var_dir / "rewards"


def save_allocation(
    var_dir: Path,
    run_id: str,
    allocation: Allocation,
    manifest: dict[str, dict[str, Any]],
    meta: dict[str, Any],
) -> dict[str, Any]:
    """Write the allocation's files and its ``meta.json`` (``meta`` with the checks of the run
    record filled in); the run record (run.json)."""
    target = rewards_dir(var_dir) / run_id
    record = write_allocation(allocation, target, manifest)
    meta = {**meta, "checks": record["checks"]}
    (target / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return record


def list_runs(var_dir: Path) -> list[dict[str, Any]]:
    """Stored allocations' meta, newest file first."""
    folder = rewards_dir(var_dir)
    if not folder.is_dir():
        return []
    paths = sorted(folder.glob("*/meta.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    return [json.loads(path.read_text(encoding="utf-8")) for path in paths]


def run_meta(var_dir: Path, run_id: str) -> dict[str, Any] | None:
    """A stored allocation's meta, or None (also for an id that is not one)."""
    if not RUN_ID.match(run_id):
        return None
    path = rewards_dir(var_dir) / run_id / "meta.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def workbook_path(var_dir: Path, run_id: str) -> Path | None:
    if not RUN_ID.match(run_id):
        return None
    path = rewards_dir(var_dir) / run_id / "allocations.xlsx"
    return path if path.is_file() else None


def own_unit_codes(conn: sa.Connection, unit_id: int) -> set[str]:
    """The codes a unit's rows may carry: its unit code and its GB/T 2260 code."""
    row = conn.execute(sa.select(units.c.code, units.c.region_code).where(units.c.id == unit_id)).first()
    return {str(v) for v in row if v} if row else set()


def unit_rows(var_dir: Path, run_id: str, only: Iterable[str] | None, text: str = "") -> list[dict[str, Any]]:
    """The units of a stored allocation with their explanation (every column as text): all of
    them or the codes in ``only``, filtered by code or name containing ``text``; at most
    ``PAGE_ROWS``, by unit code."""
    folder = rewards_dir(var_dir) / run_id
    where, params = [], []
    if only is not None:
        codes = sorted(only)
        if not codes:
            return []
        where.append(f"a.unit_code IN ({', '.join('?' for _ in codes)})")
        params += codes
    if text:
        where.append("(a.unit_code LIKE ? OR a.unit_name LIKE ?)")
        params += [f"%{text}%", f"%{text}%"]
    sql = (
        f"SELECT a.*, e.explanation FROM read_csv(?, all_varchar = true, header = true) a "
        f"JOIN read_csv(?, all_varchar = true, header = true) e USING (unit_code) "
        f"{'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY a.unit_code LIMIT {PAGE_ROWS}"
    )
    return query(sql, [str(folder / "allocations.csv"), str(folder / "explanations.csv"), *params])


def top_units(var_dir: Path, run_id: str, stage_ids: list[str]) -> list[tuple[Any, ...]]:
    """``(unit_code, unit_name, <stage amount>...)`` of the units with the largest totals."""
    folder = rewards_dir(var_dir) / run_id
    stage_cols = ", ".join(f"{s}_yuan" for s in stage_ids)
    rows = query(
        f"SELECT unit_code, unit_name, {stage_cols} FROM read_csv(?, header = true, all_varchar = true) "
        f"ORDER BY CAST(total_yuan AS DECIMAL(18,2)) DESC, unit_code LIMIT {CHART_UNITS}",
        [str(folder / "allocations.csv")],
    )
    return [tuple(r.values()) for r in rows]


def changed_units(var_dir: Path, before: str, after: str) -> list[tuple[Any, ...]]:
    """``(unit_code, unit_name, before, after, change)`` (DECIMAL yuan) of each unit whose total
    differs between two stored allocations, the largest change first; at most ``PAGE_ROWS``."""
    folder = rewards_dir(var_dir)
    rows = query(
        """
        WITH b AS (SELECT unit_code, unit_name, CAST(total_yuan AS DECIMAL(18,2)) AS total
                   FROM read_csv(?, all_varchar = true, header = true)),
             a AS (SELECT unit_code, unit_name, CAST(total_yuan AS DECIMAL(18,2)) AS total
                   FROM read_csv(?, all_varchar = true, header = true))
        SELECT coalesce(a.unit_code, b.unit_code) AS code, coalesce(a.unit_name, b.unit_name) AS name,
               coalesce(b.total, 0) AS before, coalesce(a.total, 0) AS after,
               coalesce(a.total, 0) - coalesce(b.total, 0) AS change
        FROM b FULL OUTER JOIN a ON a.unit_code = b.unit_code
        WHERE coalesce(a.total, 0) <> coalesce(b.total, 0)
        ORDER BY abs(change) DESC, 1
        """
        + f" LIMIT {PAGE_ROWS}",
        [str(folder / before / "allocations.csv"), str(folder / after / "allocations.csv")],
    )
    return [tuple(r.values()) for r in rows]
