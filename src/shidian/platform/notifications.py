"""In-app notifications (站内通知): what happened that a user should look at, with an unread count.

Notifications are not stored: each domain's service derives its own from the data it already
keeps (a report approved or returned, a rectification or a follow-up overdue, a settlement
published) as ``Notice`` rows, so they can never disagree with the pages. What a user has read
is the time the user last opened the notifications page, kept as an audit record
(``notifications.viewed``): a notice dated after it is unread.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from shidian.platform.audit import Client, NotificationsViewed, log
from shidian.platform.clock import TIME_ZONE
from shidian.platform.db.schema import audit_events

#: Notice kinds and their Chinese labels.
KINDS = {
    "report_approved": "报表审核通过",
    "report_returned": "报表被退回",
    "rectification_overdue": "整改逾期",
    "followup_overdue": "随访逾期",
    "run_published": "结算已发布",
    "prepayment_overdue": "预拨逾期",
}
#: The most notices a user's list shows (the newest).
LIMIT = 100


@dataclass(frozen=True)
class Notice:
    """One notification: when it happened (UTC), its kind, the text and the page it leads to."""

    at: dt.datetime
    kind: str
    text: str
    link: str

    @property
    def label(self) -> str:
        return KINDS.get(self.kind, self.kind)


def day_start(day: dt.date) -> dt.datetime:
    """The instant a business day begins (00:00 in the bureau's time zone), in UTC: when a
    deadline passed on the day before becomes overdue."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=TIME_ZONE).astimezone(dt.UTC)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def seen_at(conn: sa.Connection, user_id: int) -> dt.datetime | None:
    """When the user last opened the notifications page (None: never)."""
    found = conn.execute(
        sa.select(sa.func.max(audit_events.c.at)).where(
            audit_events.c.action == NotificationsViewed.action, audit_events.c.user_id == user_id
        )
    ).scalar()
    return None if found is None else _aware(found)


def newest_first(notices: Iterable[Notice]) -> list[Notice]:
    """The notices, the newest first, at most ``LIMIT``."""
    return sorted(notices, key=lambda n: (_aware(n.at), n.kind, n.link), reverse=True)[:LIMIT]


def unread(notices: Iterable[Notice], seen: dt.datetime | None) -> list[Notice]:
    """The notices dated after ``seen`` (all of them when never seen)."""
    return [n for n in notices if seen is None or _aware(n.at) > seen]


def mark_viewed(conn: sa.Connection, user: object, count: int, client: Client | None = None) -> None:
    """The user opened the page: every notice until now is read (an audit record)."""
    log(conn, NotificationsViewed(unread=count), user, client)
