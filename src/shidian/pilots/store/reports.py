"""Reports (``pilot_reports``), their values and change requests (``pilot_change_requests``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from shidian.pilots.entry import Entry
from shidian.pilots.supervision import Received
from shidian.platform.clock import local, now
from shidian.platform.db.engine import insert_id
from shidian.platform.db.pilots_schema import (
    pilot_change_requests,
    pilot_plans,
    pilot_report_values,
    pilot_reports,
)
from shidian.platform.db.schema import units


def get_report(conn: sa.Connection, plan_id: int, unit_id: int, period_start: date) -> Any | None:
    return conn.execute(
        sa.select(pilot_reports).where(
            pilot_reports.c.plan_id == plan_id,
            pilot_reports.c.unit_id == unit_id,
            pilot_reports.c.period_start == period_start,
        )
    ).first()


def report_values(
    conn: sa.Connection, report_id: int
) -> dict[tuple[str, str], tuple[Decimal | None, Decimal | None]]:
    rows = conn.execute(
        sa.select(pilot_report_values).where(pilot_report_values.c.report_id == report_id)
    ).all()
    return {(r.indicator_code, r.population): (r.numerator, r.denominator) for r in rows}


def pending_change(conn: sa.Connection, report_id: int) -> Any | None:
    return conn.execute(
        sa.select(pilot_change_requests).where(
            pilot_change_requests.c.report_id == report_id, pilot_change_requests.c.status == "pending"
        )
    ).first()


def pending_changes(conn: sa.Connection) -> dict[int, Any]:
    """Report id → its pending change request."""
    rows = conn.execute(
        sa.select(pilot_change_requests).where(pilot_change_requests.c.status == "pending")
    ).all()
    return {r.report_id: r for r in rows}


def write_values(
    conn: sa.Connection,
    plan_id: int,
    unit_id: int,
    period_start: date,
    due_on: date,
    entries: Sequence[Entry],
    status: str,
    user_id: int,
) -> int:
    """Create or update the report with ``status`` and replace its values."""
    stamp = now()
    existing = get_report(conn, plan_id, unit_id, period_start)
    fields: dict[str, Any] = {"status": status, "entered_by": user_id, "entered_at": stamp}
    if status == "submitted":
        fields.update(submitted_by=user_id, submitted_at=stamp)
        if existing is None or existing.first_submitted_at is None:
            fields["first_submitted_at"] = stamp
    if existing is None:
        report_id = insert_id(
            conn,
            pilot_reports,
            plan_id=plan_id,
            unit_id=unit_id,
            period_start=period_start,
            due_on=due_on,
            **fields,
        )
    else:
        report_id = existing.id
        conn.execute(pilot_reports.update().where(pilot_reports.c.id == report_id).values(**fields))
        conn.execute(pilot_report_values.delete().where(pilot_report_values.c.report_id == report_id))
    rows = [
        {
            "report_id": report_id,
            "indicator_code": e.indicator_code,
            "population": e.population,
            "numerator": e.numerator,
            "denominator": e.denominator,
        }
        for e in entries
        if e.numerator is not None or e.denominator is not None
    ]
    if rows:
        conn.execute(pilot_report_values.insert(), rows)
    return int(report_id)


def set_status(
    conn: sa.Connection, report_id: int, status: str, user_id: int, comment: str | None = None
) -> None:
    stamp = now()
    fields: dict[str, Any] = {"status": status}
    if status == "approved":
        fields.update(approved_by=user_id, approved_at=stamp, comment=comment)
    elif status == "returned":
        fields.update(returned_by=user_id, returned_at=stamp, comment=comment)
    elif status == "submitted":
        fields.update(submitted_by=user_id, submitted_at=stamp)
    elif status == "draft":  # reopened by a granted change request: the approval is withdrawn
        fields.update(approved_by=None, approved_at=None)
    conn.execute(pilot_reports.update().where(pilot_reports.c.id == report_id).values(**fields))


def reports_query(unit_ids: Iterable[int] | None, plan_id: int | None = None) -> sa.Select[Any]:
    """Reports with their unit and plan, newest period first."""
    query = (
        sa.select(
            pilot_reports,
            units.c.code.label("unit_code"),
            units.c.name.label("unit_name"),
            units.c.parent_id.label("unit_parent_id"),
            pilot_plans.c.code.label("plan_code"),
            pilot_plans.c.name.label("plan_name"),
            pilot_plans.c.period.label("plan_period"),
        )
        .join(units, units.c.id == pilot_reports.c.unit_id)
        .join(pilot_plans, pilot_plans.c.id == pilot_reports.c.plan_id)
        .order_by(pilot_reports.c.period_start.desc(), units.c.code)
    )
    if unit_ids is not None:
        query = query.where(pilot_reports.c.unit_id.in_(sorted(unit_ids)))
    if plan_id is not None:
        query = query.where(pilot_reports.c.plan_id == plan_id)
    return query


def list_reports(
    conn: sa.Connection, unit_ids: set[int], plan_id: int | None = None, *, limit: int | None = None
) -> list[Any]:
    """The reports of ``unit_ids`` (of one plan), newest first."""
    if not unit_ids:
        return []
    query = reports_query(unit_ids, plan_id)
    return list(conn.execute(query if limit is None else query.limit(limit)).all())


def report_row(conn: sa.Connection, unit_ids: set[int], report_id: int) -> Any | None:
    """One report of ``unit_ids`` with its unit and plan, or None."""
    if not unit_ids:
        return None
    return conn.execute(reports_query(unit_ids).where(pilot_reports.c.id == report_id)).first()


def received_reports(conn: sa.Connection, plan_id: int) -> list[Received]:
    """First submissions (首次提交) of a plan's reports, for timeliness."""
    rows = conn.execute(
        sa.select(units.c.code, pilot_reports.c.period_start, pilot_reports.c.first_submitted_at)
        .join(units, units.c.id == pilot_reports.c.unit_id)
        .where(pilot_reports.c.plan_id == plan_id, pilot_reports.c.first_submitted_at.is_not(None))
    ).all()
    return [Received(code, start, _day(at)) for code, start, at in rows]


def _day(value: datetime | date) -> date:
    """The business date (Beijing) of a stored instant: a report sent at 01:00 Beijing time is sent that day."""
    return local(value).date() if isinstance(value, datetime) else value


def insert_change_request(conn: sa.Connection, report_id: int, reason: str, user_id: int) -> None:
    conn.execute(
        pilot_change_requests.insert().values(
            report_id=report_id, reason=reason, requested_by=user_id, requested_at=now(), status="pending"
        )
    )


def close_change_request(
    conn: sa.Connection, request_id: int, status: str, user_id: int, comment: str | None
) -> None:
    conn.execute(
        pilot_change_requests.update()
        .where(pilot_change_requests.c.id == request_id)
        .values(status=status, decided_by=user_id, decided_at=now(), decision_comment=comment)
    )
