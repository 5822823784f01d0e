"""Doctor ↔ area assignments (精防医生负责区域): ``registry_doctor_areas``, and the users and
units they name. A doctor assigned a village, or a township or county standing for all its
villages, sees exactly those villages' patients (``scope.scope_of``)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from shidian.platform.db.registry_schema import registry_doctor_areas
from shidian.platform.db.schema import units, users
from shidian.registry.records import AssignmentOut


@dataclass(frozen=True)
class Named:
    """A user or unit found by name or code, with its role or kind."""

    id: int
    kind: str


def list_assignments(conn: sa.Connection) -> list[AssignmentOut]:
    rows = conn.execute(
        sa.select(users.c.username, units.c.code, units.c.name, units.c.kind)
        .select_from(registry_doctor_areas)
        .join(users, users.c.id == registry_doctor_areas.c.user_id)
        .join(units, units.c.id == registry_doctor_areas.c.unit_id)
        .order_by(users.c.username, units.c.code)
    ).all()
    return [
        AssignmentOut(username=r.username, unit_code=r.code, unit_name=r.name, unit_kind=r.kind) for r in rows
    ]


def user_named(conn: sa.Connection, username: str) -> Named | None:
    """The user's id and role."""
    row = conn.execute(sa.select(users.c.id, users.c.role).where(users.c.username == username)).first()
    return None if row is None else Named(int(row.id), str(row.role))


def unit_coded(conn: sa.Connection, code: str) -> Named | None:
    """The unit's id and kind."""
    row = conn.execute(sa.select(units.c.id, units.c.kind).where(units.c.code == code)).first()
    return None if row is None else Named(int(row.id), str(row.kind))


def add_area(conn: sa.Connection, user_id: int, unit_id: int) -> None:
    """Assign the area (nothing when already assigned)."""
    a = registry_doctor_areas
    exists = conn.execute(sa.select(a.c.id).where(a.c.user_id == user_id, a.c.unit_id == unit_id)).first()
    if exists is None:
        conn.execute(a.insert().values(user_id=user_id, unit_id=unit_id))


def remove_area(conn: sa.Connection, user_id: int, unit_id: int) -> None:
    a = registry_doctor_areas
    conn.execute(a.delete().where(a.c.user_id == user_id, a.c.unit_id == unit_id))
