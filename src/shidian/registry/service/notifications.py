"""The registry's notifications (站内通知): follow-ups overdue in a doctor's area
(``platform.notifications``); the work list is where they are done."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from shidian.platform.access import can
from shidian.platform.accounts import User
from shidian.platform.notifications import Notice, day_start
from shidian.registry.service.common import policy
from shidian.registry.service.reports import worklist_items
from shidian.registry.store.scope import scope_of


def followup_notices(conn: sa.Connection, user: User, today: dt.date) -> list[Notice]:
    """One notice per patient whose follow-up is overdue, dated the day after it was due, for
    the doctors who follow them up (``registry.edit``); the names are masked as on the list."""
    if not can(user, "registry.edit"):
        return []
    items = worklist_items(conn, scope_of(conn, user), policy(), today)
    notices = []
    for i in items:
        if i.state != "overdue" or i.next_due_on is None:
            continue
        due = i.next_due_on
        text = f"{i.village_name} {i.name}: 随访应于 {due.isoformat()} 完成, 已逾期 {i.days_overdue} 天"
        at = day_start(due + dt.timedelta(days=1))
        notices.append(Notice(at, "followup_overdue", text, f"/registry/patients/{i.registry_no}"))
    return notices
