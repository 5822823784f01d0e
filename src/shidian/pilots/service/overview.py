"""The reports' overviews: the index (my reports, the approval queue, change requests) and the
completeness and timeliness grid (完整性与及时性) — scoped to what the user sees."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from shidian.pilots.entry import period_label
from shidian.pilots.reporting import open_periods
from shidian.pilots.scope import actor_for, visible_units
from shidian.pilots.service.plans import plans_for
from shidian.pilots.store import plans as plan_store
from shidian.pilots.store import reports as store
from shidian.pilots.supervision import TIMELINESS_LABELS, completeness, timeliness
from shidian.pilots.workflow import STATUSES, Refusal, decide
from shidian.platform.access import can
from shidian.platform.accounts import User
from shidian.platform.units import all_units


@dataclass(frozen=True)
class ReportsIndex:
    plans: list[Any]
    mine: list[dict[str, Any]]  # per plan the user's unit reports under: its open periods
    queue: list[dict[str, Any]]  # submitted reports the user may approve
    changes: list[dict[str, Any]]  # pending change requests the user may decide


def _path(plan_id: int, unit_code: str, start: date) -> str:
    return f"/pilots/reports/{plan_id}/{unit_code}/{start.isoformat()}"


def reports_index(conn: sa.Connection, user: User, as_of: date) -> ReportsIndex:
    tree = all_units(conn)
    actor = actor_for(tree, user)
    visible = visible_units(tree, user)
    plans = plans_for(conn, user, visible)
    mine: list[dict[str, Any]] = []
    if can(user, "pilots.reports.enter"):
        for plan_row in plans:
            if user.unit_id not in plan_store.plan_unit_ids(conn, plan_row.id):
                continue
            unit = tree[user.unit_id]
            periods = []
            for start in open_periods(plan_row.first_day, plan_row.last_day, plan_row.period, as_of)[:24]:
                report = store.get_report(conn, plan_row.id, unit.id, start)
                periods.append(
                    {
                        "start": start,
                        "label": period_label(start, plan_row.period),
                        "status": report.status if report else None,
                        "status_label": STATUSES.get(report.status if report else "", "未填报"),
                        "path": _path(plan_row.id, unit.code, start),
                    }
                )
            mine.append({"plan": plan_row, "unit": unit, "periods": periods})
    queue: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    pending = store.pending_changes(conn)
    for row in store.list_reports(conn, visible):
        entry = {
            "row": row,
            "label": period_label(row.period_start, row.plan_period),
            "path": _path(row.plan_id, row.unit_code, row.period_start),
        }
        if row.status == "submitted" and not isinstance(
            decide(actor, "approve", row.status, row.unit_id, row.unit_parent_id), Refusal
        ):
            queue.append(entry)
        if row.id in pending and not isinstance(
            decide(actor, "grant_change", row.status, row.unit_id, row.unit_parent_id, change_requested=True),
            Refusal,
        ):
            changes.append({**entry, "change": pending[row.id]})
    return ReportsIndex(plans, mine, queue, changes)


def completeness_grid(
    conn: sa.Connection, user: User, plan_id: int | None, as_of: date, year: int | None = None
) -> dict[str, Any]:
    """Per unit and period of one calendar year (default: the latest with a period started):
    due, received, on time, late, missing — scoped to what ``user`` sees."""
    tree = all_units(conn)
    visible = visible_units(tree, user)
    plans = plans_for(conn, user, visible)
    plan_row = next((p for p in plans if p.id == plan_id), plans[0] if plans else None)
    if plan_row is None:
        return {"plans": plans, "plan": None, "units": [], "periods": [], "grid": {}, "totals": []}
    unit_ids = sorted(plan_store.plan_unit_ids(conn, plan_row.id) & visible, key=lambda u: tree[u].code)
    codes = [tree[u].code for u in unit_ids]
    rows = timeliness(
        codes, plan_row.first_day, plan_row.last_day, plan_row.period,
        store.received_reports(conn, plan_row.id), as_of, plan_row.due_day,
    )  # fmt: skip
    years = sorted({r.period_start.year for r in rows})
    chosen = year if year in years else (years[-1] if years else None)
    rows = [r for r in rows if r.period_start.year == chosen]
    names = {tree[u].code: tree[u].name for u in unit_ids}
    return {
        "plans": plans,
        "plan": plan_row,
        "years": years,
        "year": chosen,
        "names": names,
        "units": [(c, names[c]) for c in codes],
        "periods": sorted({(r.period_start, r.period, r.due_on) for r in rows}),
        "grid": {(r.unit, r.period_start): r for r in rows},
        "totals": completeness(rows),
        "labels": TIMELINESS_LABELS,
        "as_of": as_of,
    }
