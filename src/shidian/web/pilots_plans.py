"""Plan, monitoring and score-card pages (试点方案 / 目标监测 / 考核评分): their data.

Plans come from the database (``pilot_plans``, loaded by the pilot office at
``/pilots/reports/plans``) and, for reading, from the shipped templates. Monitoring and score
cards run ``shidian.pilots.aggregate`` → ``attainment`` → ``scoring`` on the plan's approved
(locked) reports over the web ``units`` tree; a user sees the units ``visible_units`` allows
(leader and admin: all; pilot office: its area; reporting unit: its own unit and the units
directly under it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from shidian.pilots.aggregate import aggregate
from shidian.pilots.attainment import attainment
from shidian.pilots.model import LEVEL_NAMES, STATUS_LABELS, STATUSES, Plan
from shidian.pilots.plan_file import TEMPLATES, load_template
from shidian.pilots.scoring import Scores, score
from shidian.platform.accounts import User
from shidian.platform.db.pilots_schema import pilot_findings, pilot_visits
from shidian.platform.db.schema import units
from shidian.platform.units import UnitRow, all_units
from shidian.web.pilots_reports import plan_of, plan_values, units_table, visible_units

#: RYG colour → the badge class of app.css.
BADGE = {"green": "published", "yellow": "draft", "red": "failed"}
KIND_LABELS = {"count": "数量", "rate": "率", "amount": "金额", "yes_no": "是否"}
AGGREGATION_LABELS = {"sum": "求和", "ratio": "Σ分子÷Σ分母", "share": "是的比例", "none": "不汇总"}
SOURCE_LABELS = {"report": "报表", "registry": "登记系统"}
PERIOD_LABELS = {"month": "月报", "quarter": "季报", "year": "年报"}


def template_plans() -> list[tuple[str, Plan]]:
    """The shipped templates, parsed."""
    return [(name, load_template(name)) for name in sorted(TEMPLATES)]


def responsibility_rows(plan: Plan) -> list[dict[str, Any]]:
    """The responsibility list (责任清单) with unit names."""
    phases = {p.code: p.name for p in plan.phases}
    return [
        {
            "code": t.code,
            "name": t.name,
            "lead": "、".join(plan.unit_name(u) for u in t.lead),
            "partners": "、".join(plan.unit_name(u) for u in t.partners),
            "deadline": t.deadline.isoformat() if t.deadline else "",
            "phase": phases.get(t.phase, t.phase),
            "description": t.description,
        }
        for t in plan.tasks
    ]


def indicator_rows(plan: Plan) -> list[dict[str, Any]]:
    """Indicators with their targets as text (≥ 90 % by 2021-12-31; milestones)."""
    populations = {p.code: p.name for p in plan.populations}
    levels = {lv.code: lv.name for lv in plan.levels}
    rows = []
    for ind in plan.indicators:
        targets = []
        for t in ind.targets:
            who = populations.get(t.population, t.population) if t.population else ""
            where = levels.get(t.level, t.level) if t.level else ""
            steps = "；".join(f"{m.due.isoformat()} {_num(m.value)}" for m in t.milestones)
            targets.append(
                {
                    "text": f"{'≥' if t.direction == '>=' else '≤'} {_num(t.value)} {ind.unit}",
                    "deadline": t.deadline.isoformat(),
                    "population": who,
                    "level": where,
                    "milestones": steps,
                }
            )
        rows.append(
            {
                "code": ind.code,
                "name": ind.name,
                "unit": ind.unit,
                "kind": KIND_LABELS.get(ind.kind, ind.kind),
                "reported_by": levels.get(ind.reported_by, ind.reported_by),
                "aggregation": AGGREGATION_LABELS.get(ind.aggregation, ind.aggregation),
                "source": SOURCE_LABELS.get(ind.source, ind.source),
                "basis": ind.basis,
                "targets": targets,
            }
        )
    return rows


def _num(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


@dataclass(frozen=True)
class Monitoring:
    """Attainment of a plan for the units a user may see."""

    plan: Plan
    rows: list[dict[str, Any]]  # attainment rows of visible units, with unit names
    tree: dict[int, UnitRow]
    visible: set[int]
    has_values: bool


def monitoring(conn: sa.Connection, plan_row: Any, user: User, as_of: date) -> Monitoring:
    """Aggregate the plan's approved reports over the whole tree (a parent's totals need every
    child), then keep the rows of the units the user may see."""
    tree = all_units(conn)
    visible = visible_units(tree, user)
    plan = plan_of(plan_row)
    values = plan_values(conn, plan_row, as_of)
    if values.num_rows == 0:
        return Monitoring(plan, [], tree, visible, False)
    attained = attainment(plan, aggregate(plan, units_table(tree), values), as_of)
    codes = {tree[u].code: tree[u] for u in visible if u in tree}
    rows = []
    for row in attained.to_pylist():
        unit = codes.get(row["unit_code"])
        if unit is None:
            continue
        row["unit_name"] = unit.name
        row["unit_id"] = unit.id
        row["badge"] = BADGE.get(row["colour"], "")
        rows.append(row)
    return Monitoring(plan, rows, tree, visible, True)


def status_counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for row in rows:
        counts[row["status"]] += 1
    return counts


def focus_units(mon: Monitoring, focus: UnitRow | None) -> list[UnitRow]:
    """The units listed on a monitoring page: the focus unit's children, or the top-most visible
    units; areas only (市/县/乡镇/村 and the plan's levels), not a bureau, an office or a hospital."""
    levels = {"city", "county", "township", "village"} | {level.code for level in mon.plan.levels}
    areas = [mon.tree[u] for u in mon.visible if u in mon.tree and mon.tree[u].kind in levels]
    if focus is not None:
        return sorted((u for u in areas if u.parent_id == focus.id), key=lambda u: u.code)
    ids = {u.id for u in areas}
    return sorted((u for u in areas if u.parent_id not in ids), key=lambda u: u.code)


def unit_summaries(mon: Monitoring, shown: list[UnitRow]) -> list[dict[str, Any]]:
    """Per listed unit: counts by status, the worst colour, and whether it has children to drill into."""
    by_unit: dict[str, list[dict[str, Any]]] = {}
    for row in mon.rows:
        by_unit.setdefault(row["unit_code"], []).append(row)
    parents = {u.parent_id for u in mon.tree.values() if u.id in mon.visible}
    out = []
    for unit in shown:
        rows = by_unit.get(unit.code, [])
        counts = status_counts(rows)
        colour = "red" if counts["overdue"] else "yellow" if counts["lagging"] else "green" if rows else ""
        out.append(
            {
                "id": unit.id,
                "code": unit.code,
                "name": unit.name,
                "kind": LEVEL_NAMES.get(unit.kind, unit.kind),
                "counts": counts,
                "badge": BADGE.get(colour, ""),
                "colour_label": {"red": "红", "yellow": "黄", "green": "绿"}.get(colour, "—"),
                "has_children": unit.id in parents,
                "targets": len(rows),
            }
        )
    return out


def status_chart(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """An ECharts option: per unit, its targets stacked by status in green-yellow-red."""
    colours = {"achieved": "#12b76a", "on_track": "#a6f4c5", "lagging": "#fdb022", "overdue": "#f04438"}
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"data": [STATUS_LABELS[s] for s in STATUSES]},
        "grid": {"left": 120, "right": 20, "top": 40, "bottom": 20},
        "xAxis": {"type": "value"},
        "yAxis": {"type": "category", "data": [s["name"] for s in summaries], "inverse": True},
        "series": [
            {
                "name": STATUS_LABELS[status],
                "type": "bar",
                "stack": "targets",
                "itemStyle": {"color": colours[status]},
                "data": [s["counts"][status] for s in summaries],
            }
            for status in STATUSES
        ],
    }


def findings_table(conn: sa.Connection, plan_id: int) -> pa.Table:
    """Supervision findings of the plan: unit code, severity and the finding's deduction points."""
    rows = conn.execute(
        sa.select(units.c.code, pilot_findings.c.severity, pilot_findings.c.deduction_points)
        .join(pilot_visits, pilot_visits.c.id == pilot_findings.c.visit_id)
        .join(units, units.c.id == pilot_visits.c.unit_id)
        .where(pilot_visits.c.plan_id == plan_id)
    ).all()
    return pa.table(
        {
            "unit_code": pa.array([r[0] for r in rows], pa.string()),
            "severity": pa.array([r[1] for r in rows], pa.string()),
            "points": pa.array([r[2] for r in rows], pa.decimal128(18, 2)),
        }
    )


def scorecard(
    conn: sa.Connection, plan_row: Any, user: User, as_of: date
) -> tuple[Plan, Scores | None, dict[str, str]]:
    """Scores of the units the user may see (ranks are over every unit of the level, so a unit
    sees its true rank), and the unit names."""
    tree = all_units(conn)
    plan = plan_of(plan_row)
    names = {u.code: u.name for u in tree.values()}
    if plan.scorecard is None:
        return plan, None, names
    values = plan_values(conn, plan_row, as_of)
    if values.num_rows == 0:
        return plan, Scores(pa.table({}), pa.table({})), names
    attained = attainment(plan, aggregate(plan, units_table(tree), values), as_of)
    scores = score(plan, attained, findings_table(conn, plan_row.id))
    visible = {tree[u].code for u in visible_units(tree, user) if u in tree}
    keep_items = pa.array([c in visible for c in scores.items["unit_code"].to_pylist()], pa.bool_())
    keep_totals = pa.array([c in visible for c in scores.totals["unit_code"].to_pylist()], pa.bool_())
    return plan, Scores(scores.items.filter(keep_items), scores.totals.filter(keep_totals)), names


def ranking_chart(totals: list[dict[str, Any]], names: dict[str, str]) -> dict[str, Any]:
    """An ECharts option: the totals as a horizontal bar chart, best first."""
    shown = totals[:30]
    return {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 120, "right": 20, "top": 20, "bottom": 20},
        "xAxis": {"type": "value"},
        "yAxis": {
            "type": "category",
            "inverse": True,
            "data": [names.get(r["unit_code"], r["unit_code"]) for r in shown],
        },
        "series": [{"name": "总分", "type": "bar", "data": [str(r["total"]) for r in shown]}],
    }
