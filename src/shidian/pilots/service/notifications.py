"""The pilots' notifications (站内通知): a unit's reports approved or returned, and rectifications
overdue in the units the user sees (``platform.notifications``)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from shidian.pilots.entry import period_label
from shidian.pilots.scope import visible_units
from shidian.pilots.store import reports as store
from shidian.pilots.store import supervision as supervision_store
from shidian.platform.access import can
from shidian.platform.accounts import User
from shidian.platform.notifications import Notice, day_start
from shidian.platform.units import all_units


def _path(plan_id: int, unit_code: str, start: dt.date) -> str:
    return f"/pilots/reports/{plan_id}/{unit_code}/{start.isoformat()}"


def pilot_notices(conn: sa.Connection, user: User, as_of: dt.date) -> list[Notice]:
    """A reporting unit's own reports approved or returned; rectifications open after their
    deadline in the units the user sees (the visited unit and the offices above it)."""
    if not can(user, "pilots.reports.view"):
        return []
    notices: list[Notice] = []
    if can(user, "pilots.reports.enter") and user.unit_id is not None:
        for r in store.list_reports(conn, {user.unit_id}, limit=200):
            label = f"{r.plan_name} · {r.unit_name} · {period_label(r.period_start, r.plan_period)}"
            link = _path(r.plan_id, r.unit_code, r.period_start)
            if r.status == "approved" and r.approved_at is not None:
                notices.append(Notice(r.approved_at, "report_approved", f"{label}: 已审核通过", link))
            elif r.status == "returned" and r.returned_at is not None:
                why = f": {r.comment}" if r.comment else ""
                notices.append(Notice(r.returned_at, "report_returned", f"{label}: 已退回{why}", link))
    if can(user, "pilots.supervision.view"):
        visible = visible_units(all_units(conn), user)
        for r in supervision_store.rectifications_in(conn, visible):
            if r.status == "open" and r.deadline < as_of:
                days = (as_of - r.deadline).days
                text = f"{r.unit_name}: 整改事项「{r.action}」限期 {r.deadline.isoformat()}, 已逾期 {days} 天"
                link = f"/pilots/supervision/visits/{r.visit_id}"
                notices.append(
                    Notice(day_start(r.deadline + dt.timedelta(days=1)), "rectification_overdue", text, link)
                )
    return notices
