"""以奖代补 pages (reward allocations on the web): run, store and read allocations.

The pilot office picks a shipped rule file, uploads the fact tables and gets an allocation
computed by ``shidian.rewards`` — the same functions as ``shidian rewards allocate``. A
successful allocation is stored as the CLI writes it (``allocations.csv``, ``explanations.csv``,
``allocations.xlsx``, ``run.json``) under ``var/rewards/<run_id>/`` with a ``meta.json`` for the
pages; a reporting unit reads only its own unit's row. Nothing is stored when any input is wrong.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import sqlalchemy as sa

from shidian.display import number as format_number
from shidian.display import yuan as format_yuan
from shidian.platform.accounts import User
from shidian.platform.db.schema import units
from shidian.problems import Problem, Source, errors
from shidian.rewards import allocate
from shidian.rewards.io import load_rules, read_fact_tables, shipped_rules, stage_rows, write_allocation
from shidian.rewards.rules import RewardRules

RUN_ID = re.compile(r"^[0-9a-f]{16}$")
SAFE_NAME = re.compile(r"[^0-9A-Za-z._\u4e00-\u9fff-]+")
#: Units listed on a run's page (the workbook has them all).
PAGE_ROWS = 500
CHART_UNITS = 30


@dataclass(frozen=True)
class RuleChoice:
    name: str
    title: str
    seed: str
    pot: str
    stages: str


def rule_choices() -> list[RuleChoice]:
    """The shipped rule files, for the page's select box."""
    return [
        RuleChoice(
            r.meta.id,
            r.meta.name,
            r.meta.seed,
            "—" if r.fund.pot is None else format_yuan(r.fund.pot),
            "; ".join(f"{s.name}: {', '.join(step.name for step in s.steps)}" for s in r.stages),
        )
        for r in shipped_rules()
    ]


def rewards_dir(var_dir: Path) -> Path:
    return var_dir / "rewards"


def parse_overrides(text: str) -> tuple[list[tuple[str, str]], list[Problem]]:
    """``key=value`` lines (the what-if parameters) → pairs, or problems."""
    pairs, problems = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            problems.append(
                Problem(
                    "rewards.rules.override_unknown",
                    f"应写作 键=值, 实际为 {line!r}",
                    Source("overrides", row=number),
                )
            )
            continue
        pairs.append((key.strip(), value.strip()))
    return pairs, problems


def run_allocation(
    var_dir: Path,
    rule_name: str,
    uploads: list[tuple[str, bytes]],
    overrides: list[tuple[str, str]],
    user: User,
) -> tuple[str | None, list[Problem]]:
    """Check, allocate and store; the run id, or every problem (and nothing stored)."""
    if rule_name not in {c.name for c in rule_choices()}:
        return None, [Problem("rewards.rules.unknown", f"没有名为 {rule_name} 的规则文件", Source("rules"))]
    rules, problems = load_rules(rule_name, overrides)
    if rules is None:
        return None, problems
    if not uploads:
        return None, [Problem("rewards.facts.no_tables", "请上传事实表 (no fact tables)", Source("<facts>"))]
    with tempfile.TemporaryDirectory(prefix="rewards-") as folder:
        paths, names = [], []
        for index, (name, content) in enumerate(uploads):
            suffix = ".xlsx" if name.lower().endswith((".xlsx", ".xlsm")) else ".csv"
            path = Path(folder) / f"{index:02d}{suffix}"
            path.write_bytes(content)
            paths.append(path)
            names.append(SAFE_NAME.sub("_", Path(name).name)[:100] or f"file{index}")
        data, problems, manifest = read_fact_tables(rules, paths, names)
        if data is None:
            return None, problems
        allocation, warnings = allocate(rules, data.units, data.recipients)
        if allocation is None or errors(warnings):
            return None, warnings
        if not allocation.ok:
            return None, [
                Problem(
                    "rewards.check.failed",
                    f"自检未通过: {c.description}: {c.detail}",
                    Source("<run>", key=c.name),
                )
                for c in allocation.checks
                if not c.ok
            ]
        run_id = _run_id(rules, manifest)
        target = rewards_dir(var_dir) / run_id
        record = write_allocation(allocation, target, manifest)
        meta = {
            "run_id": run_id,
            "rules": rule_name,
            "title": rules.meta.name,
            "seed": rules.meta.seed,
            "unit_label": rules.fund.unit_label,
            "facts": [{"name": f.name, "label": f.label} for f in rules.facts],
            "stages": [{"id": s.id, "name": s.name} for s in rules.stages],
            "stage_rows": [
                {k: (None if v is None else str(v)) for k, v in row.items()} for row in stage_rows(allocation)
            ],
            "total": str(allocation.total),
            "returned": str(allocation.returned),
            "units": allocation.units.num_rows,
            "files": names,
            "overrides": [f"{k}={v}" for k, v in overrides],
            "created_by": user.username,
            "checks": record["checks"],
            "warnings": [str(w) for w in warnings],
        }
        (target / "meta.json").write_text(
            json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
    return run_id, []


def _run_id(rules: RewardRules, manifest: dict[str, dict[str, Any]]) -> str:
    import hashlib

    identity = json.dumps(
        {
            "rules": rules.sha256,
            "overrides": rules.overrides,
            "inputs": sorted((k, v["sha256"]) for k, v in manifest.items()),
        },
        sort_keys=True,
    )
    return hashlib.sha256(identity.encode()).hexdigest()[:16]


def list_runs(var_dir: Path) -> list[dict[str, Any]]:
    """Stored allocations, newest file first."""
    folder = rewards_dir(var_dir)
    if not folder.is_dir():
        return []
    metas = []
    for path in sorted(folder.glob("*/meta.json"), key=lambda p: p.stat().st_mtime, reverse=True):
        metas.append(json.loads(path.read_text(encoding="utf-8")))
    return metas


def run_meta(var_dir: Path, run_id: str) -> dict[str, Any] | None:
    if not RUN_ID.match(run_id):
        return None
    path = rewards_dir(var_dir) / run_id / "meta.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def own_unit_codes(conn: sa.Connection, user: User) -> set[str]:
    """The codes a reporting unit's rows may carry: its unit code and its GB/T 2260 code."""
    row = conn.execute(sa.select(units.c.code, units.c.region_code).where(units.c.id == user.unit_id)).first()
    return {str(v) for v in row if v} if row else set()


def unit_rows(
    var_dir: Path, run_id: str, meta: dict[str, Any], only: set[str] | None, query: str = ""
) -> list[dict[str, Any]]:
    """The units of a stored allocation (all of them, or only the codes in ``only``), with
    their explanation; at most ``PAGE_ROWS``, filtered by code or name when ``query`` is given."""
    folder = rewards_dir(var_dir) / run_id
    con = duckdb.connect(":memory:")
    try:
        where, params = [], []
        if only is not None:
            if not only:
                return []
            where.append(f"a.unit_code IN ({', '.join('?' for _ in only)})")
            params += sorted(only)
        if query:
            where.append("(a.unit_code LIKE ? OR a.unit_name LIKE ?)")
            params += [f"%{query}%", f"%{query}%"]
        sql = (
            f"SELECT a.*, e.explanation FROM read_csv(?, all_varchar = true, header = true) a "
            f"JOIN read_csv(?, all_varchar = true, header = true) e USING (unit_code) "
            f"{'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY a.unit_code LIMIT {PAGE_ROWS}"
        )
        result = con.execute(
            sql, [str(folder / "allocations.csv"), str(folder / "explanations.csv"), *params]
        )
        names = [d[0] for d in result.description]
        rows = [dict(zip(names, r, strict=True)) for r in result.fetchall()]
    finally:
        con.close()
    for row in rows:
        row["parts"] = str(row.get("explanation") or "").split(" | ")
        row["total_shown"] = format_yuan(_dec(row["total_yuan"]))
        row["facts_shown"] = [format_number(_dec(row[f["name"]])) for f in meta["facts"]]
        row["stages_shown"] = [format_yuan(_dec(row[f"{s['id']}_yuan"])) for s in meta["stages"]]
    return rows


def chart(var_dir: Path, run_id: str, meta: dict[str, Any]) -> dict[str, Any]:
    """An ECharts bar chart of the units with the largest totals, one series per stage."""
    folder = rewards_dir(var_dir) / run_id
    con = duckdb.connect(":memory:")
    try:
        stage_cols = ", ".join(f"{s['id']}_yuan" for s in meta["stages"])
        rows = con.execute(
            f"SELECT unit_code, unit_name, {stage_cols} FROM read_csv(?, header = true, all_varchar = true) "
            f"ORDER BY CAST(total_yuan AS DECIMAL(18,2)) DESC, unit_code LIMIT {CHART_UNITS}",
            [str(folder / "allocations.csv")],
        ).fetchall()
    finally:
        con.close()
    labels = [r[1] or r[0] for r in rows]
    series = [
        {"name": s["name"], "type": "bar", "stack": "total", "data": [r[2 + i] for r in rows]}
        for i, s in enumerate(meta["stages"])
    ]
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 80, "right": 20, "bottom": 90, "top": 40},
        "xAxis": {"type": "category", "data": labels, "axisLabel": {"rotate": 45}},
        "yAxis": {"type": "value", "name": "元"},
        "series": series,
    }


def workbook_path(var_dir: Path, run_id: str) -> Path | None:
    if not RUN_ID.match(run_id):
        return None
    path = rewards_dir(var_dir) / run_id / "allocations.xlsx"
    return path if path.is_file() else None


def _dec(text: object) -> Any:
    from decimal import Decimal

    return Decimal(str(text or "0"))


def compare_rows(var_dir: Path, before: str, after: str) -> list[dict[str, Any]]:
    """The what-if difference of two stored allocations: each unit whose total changed, the
    largest change first (the page twin of ``shidian.rewards.compare``)."""
    folder = rewards_dir(var_dir)
    con = duckdb.connect(":memory:")
    try:
        result = con.execute(
            """
            WITH b AS (SELECT unit_code, unit_name, CAST(total_yuan AS DECIMAL(18,2)) AS total
                       FROM read_csv(?, all_varchar = true, header = true)),
                 a AS (SELECT unit_code, unit_name, CAST(total_yuan AS DECIMAL(18,2)) AS total
                       FROM read_csv(?, all_varchar = true, header = true))
            SELECT coalesce(a.unit_code, b.unit_code), coalesce(a.unit_name, b.unit_name),
                   coalesce(b.total, 0), coalesce(a.total, 0), coalesce(a.total, 0) - coalesce(b.total, 0) AS change
            FROM b FULL OUTER JOIN a ON a.unit_code = b.unit_code
            WHERE coalesce(a.total, 0) <> coalesce(b.total, 0)
            ORDER BY abs(change) DESC, 1
            """
            + f" LIMIT {PAGE_ROWS}",
            [str(folder / before / "allocations.csv"), str(folder / after / "allocations.csv")],
        )
        rows = result.fetchall()
    finally:
        con.close()
    return [
        {
            "unit_code": r[0],
            "unit_name": r[1],
            "before": format_yuan(r[2]),
            "after": format_yuan(r[3]),
            "change": format_yuan(r[4], signed=True),
        }
        for r in rows
    ]
