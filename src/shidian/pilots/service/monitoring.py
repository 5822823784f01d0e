"""Monitoring and score cards (目标监测 / 考核评分) of a loaded plan, for the units a user sees.

Both run ``aggregate`` → ``attainment`` (→ ``scoring``) on the plan's approved (locked) reports
(and the registry's numbers for registry indicators) over the whole unit tree — a parent's
totals need every child — then keep the rows of the units ``visible_units`` allows.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from shidian.pilots import events
from shidian.pilots.aggregate import aggregate
from shidian.pilots.attainment import attainment
from shidian.pilots.model import LEVEL_NAMES, STATUSES, Plan
from shidian.pilots.scope import visible_units
from shidian.pilots.scorecard_excel import write_scorecard_xlsx
from shidian.pilots.scoring import Scores, score
from shidian.pilots.service.common import refuse
from shidian.pilots.service.plans import plan_row
from shidian.pilots.service.values import plan_values
from shidian.pilots.store.plans import plan_of
from shidian.pilots.store.values import findings_table, units_table
from shidian.platform.accounts import User
from shidian.platform.audit import Client, log
from shidian.platform.units import UnitRow, all_units

#: RYG colour → the badge class of app.css.
BADGE = {"green": "published", "yellow": "draft", "red": "failed"}


@dataclass(frozen=True)
class Monitoring:
    """Attainment of a plan for the units a user may see, drilled down to ``focus``."""

    plan_row: Any
    plan: Plan
    rows: list[dict[str, Any]]  # attainment rows of visible units, with unit names
    has_values: bool
    focus: UnitRow | None
    trail: list[UnitRow]  # from the top visible unit down to the focus
    summaries: list[dict[str, Any]]  # the listed units (the focus's children, or the top units)


def status_counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for row in rows:
        counts[row["status"]] += 1
    return counts


def monitoring(
    conn: sa.Connection, user: User, plan_id: int, as_of: date, unit_id: int | None = None
) -> Monitoring:
    """The plan's attainment as ``user`` sees it, listing the children of ``unit_id`` (not found
    outside the user's area: no leak of units) or the top-most visible units."""
    row = plan_row(conn, plan_id)
    tree = all_units(conn)
    visible = visible_units(tree, user)
    plan = plan_of(row)
    focus = None
    if unit_id is not None:
        if unit_id not in visible or unit_id not in tree:
            refuse("not_found", "没有这个单位 (no such unit)")
        focus = tree[unit_id]
    values = plan_values(conn, row, as_of)
    rows: list[dict[str, Any]] = []
    if values.num_rows:
        codes = {tree[u].code: tree[u] for u in visible if u in tree}
        for item in attainment(plan, aggregate(plan, units_table(tree), values), as_of).to_pylist():
            unit = codes.get(item["unit_code"])
            if unit is not None:
                rows.append(
                    {
                        **item,
                        "unit_name": unit.name,
                        "unit_id": unit.id,
                        "badge": BADGE.get(item["colour"], ""),
                    }
                )
    trail = []
    walk = focus
    while walk is not None and walk.id in visible:
        trail.append(walk)
        walk = tree.get(walk.parent_id) if walk.parent_id is not None else None
    shown = _focus_units(plan, tree, visible, focus)
    summaries = _unit_summaries(rows, tree, visible, shown)
    return Monitoring(row, plan, rows, bool(values.num_rows), focus, list(reversed(trail)), summaries)


def _focus_units(
    plan: Plan, tree: dict[int, UnitRow], visible: set[int], focus: UnitRow | None
) -> list[UnitRow]:
    """The units listed: the focus unit's children, or the top-most visible units; areas only
    (市/县/乡镇/村 and the plan's levels), not a bureau, an office or a hospital."""
    levels = {"city", "county", "township", "village"} | {level.code for level in plan.levels}
    areas = [tree[u] for u in visible if u in tree and tree[u].kind in levels]
    if focus is not None:
        return sorted((u for u in areas if u.parent_id == focus.id), key=lambda u: u.code)
    ids = {u.id for u in areas}
    return sorted((u for u in areas if u.parent_id not in ids), key=lambda u: u.code)


def _unit_summaries(
    rows: list[dict[str, Any]], tree: dict[int, UnitRow], visible: set[int], shown: list[UnitRow]
) -> list[dict[str, Any]]:
    """Per listed unit: counts by status, the worst colour, and whether it has children to drill into."""
    by_unit: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_unit.setdefault(row["unit_code"], []).append(row)
    parents = {u.parent_id for u in tree.values() if u.id in visible}
    out = []
    for unit in shown:
        unit_rows = by_unit.get(unit.code, [])
        counts = status_counts(unit_rows)
        colour = (
            "red" if counts["overdue"] else "yellow" if counts["lagging"] else "green" if unit_rows else ""
        )
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
                "targets": len(unit_rows),
            }
        )
    return out


@dataclass(frozen=True)
class Scorecard:
    plan_row: Any
    plan: Plan
    scores: Scores | None  # None: the plan has no score card
    names: dict[str, str]  # unit code → name


def scorecard(conn: sa.Connection, user: User, plan_id: int, as_of: date) -> Scorecard:
    """Scores of the units the user may see (ranks are over every unit of the level, so a unit
    sees its true rank), and the unit names."""
    row = plan_row(conn, plan_id)
    tree = all_units(conn)
    plan = plan_of(row)
    names = {u.code: u.name for u in tree.values()}
    if plan.scorecard is None:
        return Scorecard(row, plan, None, names)
    values = plan_values(conn, row, as_of)
    if values.num_rows == 0:
        return Scorecard(row, plan, Scores(pa.table({}), pa.table({})), names)
    attained = attainment(plan, aggregate(plan, units_table(tree), values), as_of)
    scores = score(plan, attained, findings_table(conn, row.id))
    visible = {tree[u].code for u in visible_units(tree, user) if u in tree}
    keep_items = pa.array([c in visible for c in scores.items["unit_code"].to_pylist()], pa.bool_())
    keep_totals = pa.array([c in visible for c in scores.totals["unit_code"].to_pylist()], pa.bool_())
    return Scorecard(
        row, plan, Scores(scores.items.filter(keep_items), scores.totals.filter(keep_totals)), names
    )


def export_scorecard(
    conn: sa.Connection, user: User, plan_id: int, as_of: date, client: Client | None = None
) -> tuple[bytes, str]:
    """The score card as .xlsx in the officials' layout (audited) and its file name; not found
    when there is nothing to score."""
    card = scorecard(conn, user, plan_id, as_of)
    if card.scores is None or not card.scores.totals.num_columns:
        refuse("not_found", "没有可导出的考核评分 (no score card)")
    out = io.BytesIO()  # built in memory: no file with unit names in any temporary directory
    write_scorecard_xlsx(card.plan, card.scores, out, as_of, card.names)
    data = out.getvalue()
    log(conn, events.ScorecardExported(target=f"pilot_plan/{plan_id}", as_of=as_of.isoformat()), user, client)
    return data, f"scorecard-{card.plan.code}-{as_of.isoformat()}.xlsx"
