"""Patients (患者档案): register, find, page through and read one patient with history and team.

Identifiers arrive encrypted (``check_patient`` in the service builds the row); the guardian's
name and phone are encrypted here as they are written. Nothing here decides who may see what:
the service passes the scope's SQL condition and checks a found patient against the scope.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from shidian.insurance.id_number import mask_name
from shidian.platform.clock import now
from shidian.platform.crypto import DataKeys
from shidian.platform.db.engine import insert_id
from shidian.platform.db.registry_schema import (
    registry_assessments,
    registry_diagnoses,
    registry_followups,
    registry_guardians,
    registry_patients,
    registry_team_actions,
    registry_team_members,
    registry_transfers,
)
from shidian.platform.db.schema import units
from shidian.registry.records import PatientIn
from shidian.registry.store.scope import Scope

PAGE_SIZE = 50


@dataclass(frozen=True)
class Village:
    id: int
    code: str
    name: str


@dataclass(frozen=True)
class PatientRecord:
    """Everything stored about one patient: the row, the first guardian, the history, the team."""

    row: Any
    guardian: Any | None
    followups: list[Any]
    members: list[Any]
    actions: list[Any]
    assessments: list[Any]


def new_registry_no() -> str:
    """A pseudonymous registry number (档案号): ``P`` and 10 random hex digits."""
    return "P" + secrets.token_hex(5).upper()


def find_village(conn: sa.Connection, code: str) -> Village | None:
    row = conn.execute(
        sa.select(units.c.id, units.c.code, units.c.name).where(
            units.c.code == code, units.c.kind == "village"
        )
    ).first()
    return None if row is None else Village(int(row.id), str(row.code), str(row.name))


@dataclass(frozen=True)
class Holder:
    """Where an ID number (by its HMAC) is held: the patient's id and village, or a pending
    transfer request's requested village (``patient_id`` then the record it asks for)."""

    patient_id: int
    village_id: int


def holders(conn: sa.Connection, id_hmac: str) -> list[Holder]:
    """The registered patient with this ID number and every pending transfer request for it."""
    p, t = registry_patients, registry_transfers
    found = [
        Holder(int(r.id), int(r.village_id))
        for r in conn.execute(sa.select(p.c.id, p.c.village_id).where(p.c.id_hmac == id_hmac))
    ]
    found += [
        Holder(int(r.patient_id), int(r.village_id))
        for r in conn.execute(
            sa.select(t.c.patient_id, t.c.village_id).where(t.c.id_hmac == id_hmac, t.c.status == "pending")
        )
    ]
    return found


def insert_transfer(conn: sa.Connection, values: dict[str, Any], patient_id: int, user: Any | None) -> str:
    """Keep a registration of an ID number held elsewhere as a transfer request; returns the
    held record's registry number (for the audit record, never for the caller)."""
    conn.execute(
        registry_transfers.insert().values(
            registry_no=values["registry_no"],
            patient_id=patient_id,
            id_hmac=values["id_hmac"],
            village_id=values["village_id"],
            requested_by=getattr(user, "id", None),
            requested_at=now(),
            status="pending",
        )
    )
    p = registry_patients
    return str(conn.execute(sa.select(p.c.registry_no).where(p.c.id == patient_id)).scalar_one())


def any_in_villages(conn: sa.Connection, village_ids: list[int]) -> bool:
    p = registry_patients
    return conn.execute(sa.select(p.c.id).where(p.c.village_id.in_(village_ids)).limit(1)).first() is not None


def insert_patient(
    conn: sa.Connection, keys: DataKeys, values: dict[str, Any], data: PatientIn, user: Any | None
) -> int:
    """Write a checked patient (``values``; keys starting with ``_`` are the service's marks,
    not columns), the diagnosis and the guardian named in ``data``."""
    row = {k: v for k, v in values.items() if not k.startswith("_")}
    patient_id = insert_id(
        conn, registry_patients, **row, created_at=now(), created_by=getattr(user, "id", None)
    )
    conn.execute(
        registry_diagnoses.insert().values(
            patient_id=patient_id,
            icd10=values["icd10"],
            disorder=values["disorder"],
            diagnosed_on=values["diagnosed_on"],
            hospital=values["diagnosing_hospital"],
            recorded_at=now(),
        )
    )
    if values["has_guardian"]:
        assert data.guardian_name is not None
        guardian = data.guardian_name.strip()
        conn.execute(
            registry_guardians.insert().values(
                patient_id=patient_id,
                name_enc=keys.encrypt(guardian, "guardian_name"),
                phone_enc=keys.encrypt(data.guardian_phone.strip(), "guardian_phone")
                if data.guardian_phone
                else None,
                name_masked=mask_name(guardian),
                relation=(data.guardian_relation or "").strip() or None,
            )
        )
    return patient_id


def _row_query() -> sa.Select[Any]:
    p = registry_patients
    return sa.select(
        p.c.id,
        p.c.registry_no,
        p.c.name_masked,
        p.c.id_masked,
        p.c.sex,
        p.c.birth_year,
        units.c.code.label("village_code"),
        units.c.name.label("village_name"),
        p.c.village_id,
        p.c.disorder,
        p.c.icd10,
        p.c.registered_on,
        p.c.status,
        p.c.status_on,
        p.c.treatment,
        p.c.last_followed_on,
        p.c.last_class,
        p.c.last_risk,
        p.c.next_due_on,
    ).join(units, units.c.id == p.c.village_id)


def page_rows(
    conn: sa.Connection,
    scope: Scope,
    *,
    status: str | None = None,
    id_hmac: str | None = None,
    text: str | None = None,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> tuple[int, list[Any]]:
    """(total, a page of patient rows) by village then registry number: those in ``scope`` with
    ``status``, with the ID number of ``id_hmac``, or whose registry number is ``text`` or
    whose village code starts with it."""
    p = registry_patients
    where = [scope.where(p.c.village_id)]
    if status:
        where.append(p.c.status == status)
    if id_hmac is not None:
        where.append(p.c.id_hmac == id_hmac)  # lookup by ID number via the HMAC
    elif text:
        where.append(sa.or_(p.c.registry_no == text.upper(), units.c.code.startswith(text, autoescape=True)))
    query = _row_query().where(*where)
    total = int(conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one())
    rows = conn.execute(
        query.order_by(units.c.code, p.c.registry_no).limit(page_size).offset((page - 1) * page_size)
    ).all()
    return total, list(rows)


def find_row(conn: sa.Connection, registry_no: str) -> Any | None:
    """The patient's list row (with ``id`` and ``village_id``), or None."""
    return conn.execute(_row_query().where(registry_patients.c.registry_no == registry_no)).first()


def patient_record(conn: sa.Connection, patient_id: int) -> PatientRecord:
    full = conn.execute(sa.select(registry_patients).where(registry_patients.c.id == patient_id)).one()

    def rows(table: sa.Table, *order: sa.ColumnElement[Any]) -> list[Any]:
        """The patient's rows of ``table`` in ``order``."""
        query = sa.select(table).where(table.c.patient_id == patient_id).order_by(*order)
        return list(conn.execute(query).all())

    def newest_first(table: sa.Table, on: str) -> list[Any]:
        return rows(table, table.c[on].desc(), table.c.id.desc())

    guardians = rows(registry_guardians, registry_guardians.c.id)
    return PatientRecord(
        full,
        guardians[0] if guardians else None,
        newest_first(registry_followups, "followed_on"),
        rows(registry_team_members, registry_team_members.c.id),
        newest_first(registry_team_actions, "acted_on"),
        newest_first(registry_assessments, "assessed_on"),
    )
