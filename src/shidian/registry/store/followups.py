"""Follow-ups and teams (随访、危险性评估、个案管理团队): the writes of recording a follow-up and
of a patient's case-management team, and the few reads they need."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa

from shidian.platform.clock import now
from shidian.platform.db.engine import insert_id
from shidian.platform.db.registry_schema import (
    registry_assessments,
    registry_followups,
    registry_patients,
    registry_team_actions,
    registry_team_members,
)
from shidian.registry.records import FollowUpIn


def previous_class(conn: sa.Connection, patient_id: int, on: dt.date) -> str | None:
    """The class of the patient's latest follow-up on or before ``on``."""
    f = registry_followups
    found = conn.execute(
        sa.select(f.c.classification)
        .where(f.c.patient_id == patient_id, f.c.followed_on <= on)
        .order_by(f.c.followed_on.desc(), f.c.id.desc())
        .limit(1)
    ).scalar()
    return None if found is None else str(found)


def insert_followup(
    conn: sa.Connection,
    patient_id: int,
    village_id: int,
    data: FollowUpIn,
    classification: str,
    next_due_on: dt.date,
    doctor_id: int,
) -> int:
    return insert_id(
        conn,
        registry_followups,
        patient_id=patient_id,
        village_id=village_id,
        followed_on=data.followed_on,
        risk_level=data.risk_level,
        symptoms=data.symptoms,
        insight=data.insight,
        social_function=data.social_function,
        adverse_reaction=data.adverse_reaction,
        physical_illness=data.physical_illness,
        treatment=data.treatment,
        rehab=data.rehab,
        psy_support=data.psy_support,
        health_check=data.health_check,
        classification=classification,
        next_due_on=next_due_on,
        note=(data.note or "").strip() or None,
        doctor_id=doctor_id,
        created_at=now(),
    )


def insert_assessment(
    conn: sa.Connection,
    patient_id: int,
    followup_id: int | None,
    assessed_on: dt.date,
    risk_level: int,
    suggested_level: int | None,
    behaviours: Sequence[str],
    assessor_id: int | None,
    *,
    lowered_reason: str | None = None,
    annual: bool = False,
) -> int:
    """Write a risk assessment (``followup_id`` None: one recorded without a follow-up, as an
    imported registry's assessment); its id."""
    return insert_id(
        conn,
        registry_assessments,
        patient_id=patient_id,
        followup_id=followup_id,
        assessed_on=assessed_on,
        risk_level=risk_level,
        suggested_level=suggested_level,
        behaviours=list(behaviours),
        lowered_reason=lowered_reason,
        annual=annual,
        assessor_id=assessor_id,
    )


def set_latest(
    conn: sa.Connection,
    patient_id: int,
    data: FollowUpIn,
    classification: str,
    next_due_on: dt.date,
) -> None:
    """Carry the latest follow-up on the patient's row (the work list reads only that row)."""
    conn.execute(
        registry_patients.update()
        .where(registry_patients.c.id == patient_id)
        .values(
            last_followed_on=data.followed_on,
            last_class=classification,
            last_risk=data.risk_level,
            next_due_on=next_due_on,
            treatment=data.treatment,
            rehab=data.rehab,
        )
    )


def has_team(conn: sa.Connection, patient_id: int) -> bool:
    m = registry_team_members
    return conn.execute(sa.select(m.c.id).where(m.c.patient_id == patient_id).limit(1)).first() is not None


def insert_team_member(
    conn: sa.Connection,
    patient_id: int,
    role: str,
    member_name: str,
    phone: str | None,
    added_on: dt.date,
    added_by: int,
) -> int:
    return insert_id(
        conn,
        registry_team_members,
        patient_id=patient_id,
        role=role,
        member_name=member_name,
        phone=phone,
        added_on=added_on,
        added_by=added_by,
    )


def is_member(conn: sa.Connection, member_id: int, patient_id: int) -> bool:
    m = registry_team_members
    found = conn.execute(sa.select(m.c.id).where(m.c.id == member_id, m.c.patient_id == patient_id))
    return found.first() is not None


def insert_team_action(
    conn: sa.Connection,
    patient_id: int,
    member_id: int | None,
    acted_on: dt.date,
    action: str,
    recorded_by: int,
) -> int:
    return insert_id(
        conn,
        registry_team_actions,
        patient_id=patient_id,
        member_id=member_id,
        acted_on=acted_on,
        action=action,
        recorded_by=recorded_by,
    )
