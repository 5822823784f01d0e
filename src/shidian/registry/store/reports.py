"""Report inputs (工作清单、预警、指标、有奖监护、导出): set-based queries over the registry tables.

The work list and the warnings read ``registry_patients`` by village and due date (one indexed
range query); the indicators run ``shidian.registry.indicator_sql`` — the same SQL the pure
core runs in DuckDB — on PostgreSQL or SQLite over sub-selects restricted to the area; the
guardian rewards read the patients and assessments in scope as Arrow tables for the core.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from shidian.platform.db.registry_schema import (
    registry_assessments,
    registry_guardians,
    registry_patients,
    registry_services,
    registry_team_members,
)
from shidian.platform.db.schema import units, users
from shidian.registry import Period, indicator_sql
from shidian.registry.indicators import services_sql, unit_services_sql
from shidian.registry.store.scope import Scope

WORKLIST_LIMIT = 500


def worklist_rows(
    conn: sa.Connection, scope: Scope, horizon: dt.date, limit: int = WORKLIST_LIMIT
) -> list[Any]:
    """Patients in management in ``scope`` whose next follow-up is due on or before ``horizon``."""
    p = registry_patients
    return list(
        conn.execute(
            sa.select(
                p.c.registry_no,
                p.c.name_masked,
                units.c.name.label("village_name"),
                p.c.disorder,
                p.c.last_class,
                p.c.last_risk,
                p.c.last_followed_on,
                p.c.next_due_on,
            )
            .join(units, units.c.id == p.c.village_id)
            .where(scope.where(p.c.village_id), p.c.status == "managed", p.c.next_due_on <= horizon)
            .order_by(p.c.next_due_on, p.c.registry_no)
            .limit(limit)
        ).all()
    )


def warning_rows(conn: sa.Connection, scope: Scope, overdue_before: dt.date) -> list[Any]:
    """Per village (code, name, overdue, oldest, no_team): patients in management due before
    ``overdue_before``, and unstable patients without a case-management team."""
    p = registry_patients
    has_team = sa.exists().where(registry_team_members.c.patient_id == p.c.id)
    overdue = sa.and_(p.c.next_due_on < overdue_before)
    no_team = sa.and_(p.c.last_class == "unstable", ~has_team)
    return list(
        conn.execute(
            sa.select(
                units.c.code,
                units.c.name,
                sa.func.sum(sa.case((overdue, 1), else_=0)).label("overdue"),
                sa.func.min(sa.case((overdue, p.c.next_due_on), else_=None)).label("oldest"),
                sa.func.sum(sa.case((no_team, 1), else_=0)).label("no_team"),
            )
            .join(units, units.c.id == p.c.village_id)
            .where(scope.where(p.c.village_id), p.c.status == "managed", sa.or_(overdue, no_team))
            .group_by(units.c.code, units.c.name)
            .order_by(units.c.code)
        ).all()
    )


def as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _ids(ids: Iterable[int]) -> str:
    return ", ".join(str(int(i)) for i in sorted(ids)) or "NULL"


def indicator_counts(
    conn: sa.Connection, villages: frozenset[int], period: Period, required: int
) -> dict[str, Any]:
    """The counts of ``indicator_sql`` over the patients of ``villages`` and their follow-ups in
    ``period`` (``required`` follow-ups make regular management)."""
    ids = _ids(villages)
    patients = (
        "(SELECT id AS patient_id, disorder, registered_on, status, status_on "
        f"FROM registry_patients WHERE village_id IN ({ids})) AS pa"
    )
    # pre-filtered by village and date: PostgreSQL reads ix_registry_followups_village_on alone
    followups = (
        "(SELECT patient_id, followed_on, risk_level, treatment, rehab, psy_support FROM registry_followups "
        f"WHERE village_id IN ({ids}) "
        f"AND followed_on >= '{period.start.isoformat()}' AND followed_on <= '{period.end.isoformat()}')"
    )
    return dict(conn.execute(sa.text(indicator_sql(patients, followups, period, required))).mappings().one())


def service_counts(conn: sa.Connection, unit_ids: frozenset[int], period: Period) -> dict[str, Any]:
    """Counselling rooms and hotline contacts recorded for ``unit_ids`` (``services_sql``)."""
    services = (
        "(SELECT u.code AS unit_code, s.month, s.counselling_rooms, s.hotline_contacts "
        f"FROM registry_services s JOIN units u ON u.id = s.unit_id WHERE s.unit_id IN ({_ids(unit_ids)}))"
    )
    return dict(conn.execute(sa.text(services_sql(services, period))).mappings().one())


def village_indicator_counts(
    conn: sa.Connection, villages: frozenset[int], period: Period, required: int
) -> list[dict[str, Any]]:
    """``indicator_counts`` per village (one row per village with patients, its code as
    ``unit_code``): one grouped query."""
    ids = _ids(villages)
    patients = (
        "(SELECT pt.id AS patient_id, pt.disorder, pt.registered_on, pt.status, pt.status_on, "
        "u.code AS village_code FROM registry_patients pt JOIN units u ON u.id = pt.village_id "
        f"WHERE pt.village_id IN ({ids})) AS pa"
    )
    followups = (
        "(SELECT patient_id, followed_on, risk_level, treatment, rehab, psy_support FROM registry_followups "
        f"WHERE village_id IN ({ids}) "
        f"AND followed_on >= '{period.start.isoformat()}' AND followed_on <= '{period.end.isoformat()}')"
    )
    sql = indicator_sql(patients, followups, period, required, by="village_code")
    return [dict(row) for row in conn.execute(sa.text(sql)).mappings()]


def unit_service_counts(
    conn: sa.Connection, unit_ids: frozenset[int], period: Period
) -> list[dict[str, Any]]:
    """Counselling rooms and hotline contacts per recording unit of ``unit_ids`` (``unit_services_sql``)."""
    services = (
        "(SELECT u.code AS unit_code, s.month, s.counselling_rooms, s.hotline_contacts "
        f"FROM registry_services s JOIN units u ON u.id = s.unit_id WHERE s.unit_id IN ({_ids(unit_ids)}))"
    )
    return [dict(row) for row in conn.execute(sa.text(unit_services_sql(services, period))).mappings()]


def replace_services(conn: sa.Connection, unit_id: int, months: list[dict[str, Any]]) -> None:
    """Replace a unit's monthly service counts (``month``, ``counselling_rooms``, ``hotline_contacts``)."""
    conn.execute(registry_services.delete().where(registry_services.c.unit_id == unit_id))
    conn.execute(registry_services.insert(), [{"unit_id": unit_id, **m} for m in months])


def reward_inputs(conn: sa.Connection, scope: Scope, year: int) -> tuple[pa.Table, pa.Table]:
    """(patients, assessments) of ``year`` for ``shidian.registry.guardian_rewards``."""
    p, a = registry_patients, registry_assessments
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    patient_rows = conn.execute(
        sa.select(
            p.c.registry_no.label("recipient_id"),
            units.c.code.label("unit_code"),
            p.c.has_guardian,
            p.c.registered_on,
            p.c.status,
            p.c.status_on,
        )
        .join(units, units.c.id == p.c.village_id)
        .where(scope.where(p.c.village_id), p.c.registered_on <= end)
    ).all()
    assessment_rows = conn.execute(
        sa.select(
            a.c.id.label("assessment_id"),
            p.c.registry_no.label("recipient_id"),
            a.c.assessed_on,
            a.c.risk_level,
            a.c.annual,
        )
        .join(p, p.c.id == a.c.patient_id)
        .where(scope.where(p.c.village_id), a.c.assessed_on >= start, a.c.assessed_on <= end)
    ).all()
    patients = pa.table(
        {
            "recipient_id": pa.array([r.recipient_id for r in patient_rows], pa.string()),
            "unit_code": pa.array([r.unit_code for r in patient_rows], pa.string()),
            "has_guardian": pa.array([bool(r.has_guardian) for r in patient_rows], pa.bool_()),
            "registered_on": pa.array([as_date(r.registered_on) for r in patient_rows], pa.date32()),
            "status": pa.array([r.status for r in patient_rows], pa.string()),
            "status_on": pa.array(
                [None if r.status_on is None else as_date(r.status_on) for r in patient_rows], pa.date32()
            ),
        }
    )
    assessments = pa.table(
        {
            "assessment_id": pa.array([int(r.assessment_id) for r in assessment_rows], pa.int64()),
            "recipient_id": pa.array([r.recipient_id for r in assessment_rows], pa.string()),
            "assessed_on": pa.array([as_date(r.assessed_on) for r in assessment_rows], pa.date32()),
            "risk_level": pa.array([int(r.risk_level) for r in assessment_rows], pa.int32()),
            "annual": pa.array([bool(r.annual) for r in assessment_rows], pa.bool_()),
        }
    )
    return patients, assessments


def lowered_rows(
    conn: sa.Connection, scope: Scope, start: dt.date, end: dt.date, limit: int = WORKLIST_LIMIT
) -> list[Any]:
    """Risk assessments in ``scope`` dated in [start, end] whose confirmed level is below the
    checklist's suggestion, newest first, with the patient's masked name, village and assessor."""
    p, a = registry_patients, registry_assessments
    return list(
        conn.execute(
            sa.select(
                p.c.registry_no,
                p.c.name_masked,
                units.c.code.label("village_code"),
                units.c.name.label("village_name"),
                a.c.assessed_on,
                a.c.suggested_level,
                a.c.risk_level,
                a.c.lowered_reason,
                a.c.followup_id,
                users.c.display_name.label("doctor"),
            )
            .join(p, p.c.id == a.c.patient_id)
            .join(units, units.c.id == p.c.village_id)
            .outerjoin(users, users.c.id == a.c.assessor_id)
            .where(
                scope.where(p.c.village_id),
                a.c.suggested_level.is_not(None),
                a.c.risk_level < a.c.suggested_level,
                a.c.assessed_on >= start,
                a.c.assessed_on <= end,
            )
            .order_by(a.c.assessed_on.desc(), a.c.id.desc())
            .limit(limit)
        ).all()
    )


def export_rows(conn: sa.Connection, scope: Scope) -> list[Any]:
    """Every patient in ``scope`` with encrypted and masked identifiers, by village and number."""
    p = registry_patients
    return list(
        conn.execute(
            sa.select(
                p.c.registry_no,
                p.c.name_enc,
                p.c.name_masked,
                p.c.id_enc,
                p.c.id_masked,
                units.c.code,
                units.c.name,
                p.c.disorder,
                p.c.icd10,
                p.c.registered_on,
                p.c.status,
                p.c.last_followed_on,
                p.c.next_due_on,
            )
            .join(units, units.c.id == p.c.village_id)
            .where(scope.where(p.c.village_id))
            .order_by(units.c.code, p.c.registry_no)
        ).all()
    )


def reward_people(conn: sa.Connection, scope: Scope) -> dict[str, tuple[str, str]]:
    """Registry number → (village name, the guardians' masked names) of the patients in scope,
    for the 有奖监护 list (the reward goes to the guardian, 000 篇3 item 11)."""
    p, g = registry_patients, registry_guardians
    rows = conn.execute(
        sa.select(p.c.registry_no, units.c.name, g.c.name_masked)
        .join(units, units.c.id == p.c.village_id)
        .outerjoin(g, g.c.patient_id == p.c.id)
        .where(scope.where(p.c.village_id))
        .order_by(p.c.registry_no, g.c.id)
    ).all()
    people: dict[str, tuple[str, list[str]]] = {}
    for registry_no, village, guardian in rows:
        entry = people.setdefault(registry_no, (village, []))
        if guardian:
            entry[1].append(guardian)
    return {no: (village, "、".join(names)) for no, (village, names) in people.items()}
