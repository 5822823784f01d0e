"""Supervision (督导): visits, findings, evidence files' records and rectification items."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from shidian.platform.clock import now
from shidian.platform.db.engine import insert_id
from shidian.platform.db.pilots_schema import (
    pilot_evidence,
    pilot_findings,
    pilot_plans,
    pilot_rectifications,
    pilot_visits,
)
from shidian.platform.db.schema import units


def visits_in(conn: sa.Connection, unit_ids: set[int]) -> list[Any]:
    """The visits to ``unit_ids``, newest first, with unit and plan names."""
    if not unit_ids:
        return []
    return list(
        conn.execute(
            sa.select(pilot_visits, units.c.name.label("unit_name"), pilot_plans.c.name.label("plan_name"))
            .join(units, units.c.id == pilot_visits.c.unit_id)
            .join(pilot_plans, pilot_plans.c.id == pilot_visits.c.plan_id)
            .where(pilot_visits.c.unit_id.in_(sorted(unit_ids)))
            .order_by(pilot_visits.c.visited_on.desc(), pilot_visits.c.id.desc())
        ).all()
    )


def rectifications_in(conn: sa.Connection, unit_ids: set[int]) -> list[Any]:
    """The rectification items of visits to ``unit_ids``, by deadline, with finding and unit."""
    if not unit_ids:
        return []
    return list(
        conn.execute(
            sa.select(
                pilot_rectifications,
                pilot_findings.c.description.label("finding"),
                pilot_visits.c.id.label("visit_id"),
                units.c.name.label("unit_name"),
                units.c.code.label("unit_code"),
            )
            .join(pilot_findings, pilot_findings.c.id == pilot_rectifications.c.finding_id)
            .join(pilot_visits, pilot_visits.c.id == pilot_findings.c.visit_id)
            .join(units, units.c.id == pilot_visits.c.unit_id)
            .where(pilot_visits.c.unit_id.in_(sorted(unit_ids)))
            .order_by(pilot_rectifications.c.deadline, pilot_rectifications.c.id)
        ).all()
    )


def visit_row(conn: sa.Connection, visit_id: int) -> Any | None:
    """One visit with its unit and plan names."""
    return conn.execute(
        sa.select(
            pilot_visits,
            units.c.name.label("unit_name"),
            units.c.code.label("unit_code"),
            pilot_plans.c.name.label("plan_name"),
        )
        .join(units, units.c.id == pilot_visits.c.unit_id)
        .join(pilot_plans, pilot_plans.c.id == pilot_visits.c.plan_id)
        .where(pilot_visits.c.id == visit_id)
    ).first()


def finding_row(conn: sa.Connection, finding_id: int) -> Any | None:
    return conn.execute(sa.select(pilot_findings).where(pilot_findings.c.id == finding_id)).first()


def evidence_row(conn: sa.Connection, evidence_id: int) -> Any | None:
    return conn.execute(sa.select(pilot_evidence).where(pilot_evidence.c.id == evidence_id)).first()


def rectification_row(conn: sa.Connection, item_id: int) -> Any | None:
    return conn.execute(sa.select(pilot_rectifications).where(pilot_rectifications.c.id == item_id)).first()


def findings_of(conn: sa.Connection, visit_id: int) -> list[Any]:
    return list(
        conn.execute(
            sa.select(pilot_findings)
            .where(pilot_findings.c.visit_id == visit_id)
            .order_by(pilot_findings.c.id)
        ).all()
    )


def evidence_of(conn: sa.Connection, finding_ids: list[int]) -> dict[int, list[Any]]:
    """Finding id → its evidence records, in upload order."""
    found: dict[int, list[Any]] = {}
    if finding_ids:
        for e in conn.execute(
            sa.select(pilot_evidence)
            .where(pilot_evidence.c.finding_id.in_(finding_ids))
            .order_by(pilot_evidence.c.id)
        ):
            found.setdefault(e.finding_id, []).append(e)
    return found


def rectifications_of(conn: sa.Connection, finding_ids: list[int]) -> dict[int, list[Any]]:
    """Finding id → its rectification items, in creation order."""
    found: dict[int, list[Any]] = {}
    if finding_ids:
        for r in conn.execute(
            sa.select(pilot_rectifications)
            .where(pilot_rectifications.c.finding_id.in_(finding_ids))
            .order_by(pilot_rectifications.c.id)
        ):
            found.setdefault(r.finding_id, []).append(r)
    return found


def insert_visit(
    conn: sa.Connection, plan_id: int, unit_id: int, visited_on: date, team: str, summary: str, user_id: int
) -> int:
    return insert_id(
        conn,
        pilot_visits,
        plan_id=plan_id,
        unit_id=unit_id,
        visited_on=visited_on,
        team=team,
        summary=summary,
        created_by=user_id,
        created_at=now(),
    )


def insert_finding(
    conn: sa.Connection,
    visit_id: int,
    description: str,
    severity: str,
    deduction_points: Decimal,
    indicator_code: str | None,
    task_code: str | None,
    user_id: int,
) -> int:
    return insert_id(
        conn,
        pilot_findings,
        visit_id=visit_id,
        indicator_code=indicator_code,
        task_code=task_code,
        description=description,
        severity=severity,
        deduction_points=deduction_points,
        created_by=user_id,
        created_at=now(),
    )


def insert_evidence(
    conn: sa.Connection,
    finding_id: int,
    filename: str,
    content_type: str,
    size: int,
    sha256: str,
    user_id: int,
) -> int:
    return insert_id(
        conn,
        pilot_evidence,
        finding_id=finding_id,
        filename=filename,
        content_type=content_type,
        size=size,
        sha256=sha256,
        uploaded_by=user_id,
        uploaded_at=now(),
    )


def insert_rectification(
    conn: sa.Connection, finding_id: int, action: str, deadline: date, user_id: int
) -> int:
    return insert_id(
        conn,
        pilot_rectifications,
        finding_id=finding_id,
        action=action,
        deadline=deadline,
        status="open",
        created_by=user_id,
        created_at=now(),
    )


def move_rectification(
    conn: sa.Connection, item_id: int, status: str, note: str | None, user_id: int
) -> None:
    """Set an item's status (and note); done/verified stamp who and when, reopened clears done."""
    stamp = now()
    fields: dict[str, Any] = {"status": status, "note": note}
    if status == "done":
        fields.update(done_by=user_id, done_at=stamp)
    elif status == "verified":
        fields.update(closed_by=user_id, closed_at=stamp)
    else:
        fields.update(done_by=None, done_at=None)
    conn.execute(pilot_rectifications.update().where(pilot_rectifications.c.id == item_id).values(**fields))
