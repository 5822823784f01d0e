"""Doctor ↔ area assignments (精防医生负责区域): which villages each doctor follows up.

The pilot office (or an administrator) assigns a mental-health doctor a village, or a
township or county standing for all its villages; the doctor then sees exactly those villages'
patients (``registry_access.scope_of``).
"""

from __future__ import annotations

import sqlalchemy as sa

from shidian.platform.db.registry_schema import registry_doctor_areas
from shidian.platform.db.schema import units, users
from shidian.problems import Problem, Source
from shidian.web.registry_models import AssignmentIn, AssignmentOut

AREA_KINDS = ("village", "township", "county")


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


def _resolve(conn: sa.Connection, data: AssignmentIn) -> tuple[int | None, int | None, list[Problem]]:
    problems: list[Problem] = []
    user = conn.execute(sa.select(users.c.id, users.c.role).where(users.c.username == data.username)).first()
    if user is None or user.role != "mental_health_doctor":
        problems.append(
            Problem(
                "registry.assignment.not_a_doctor",
                f"{data.username!r} 不是精防医生账号 (not a mental-health doctor)",
                Source("request", column="username"),
            )
        )
    unit = conn.execute(sa.select(units.c.id, units.c.kind).where(units.c.code == data.unit_code)).first()
    if unit is None or unit.kind not in AREA_KINDS:
        problems.append(
            Problem(
                "registry.assignment.unknown_area",
                f"没有代码为 {data.unit_code!r} 的村、乡镇或县 (unknown area)",
                Source("request", column="unit_code"),
            )
        )
    return (None if user is None else int(user.id)), (None if unit is None else int(unit.id)), problems


def assign(conn: sa.Connection, data: AssignmentIn) -> list[Problem]:
    user_id, unit_id, problems = _resolve(conn, data)
    if problems:
        return problems
    exists = conn.execute(
        sa.select(registry_doctor_areas.c.id).where(
            registry_doctor_areas.c.user_id == user_id, registry_doctor_areas.c.unit_id == unit_id
        )
    ).first()
    if exists is None:
        conn.execute(registry_doctor_areas.insert().values(user_id=user_id, unit_id=unit_id))
    return []


def unassign(conn: sa.Connection, data: AssignmentIn) -> list[Problem]:
    user_id, unit_id, problems = _resolve(conn, data)
    if problems:
        return problems
    conn.execute(
        registry_doctor_areas.delete().where(
            registry_doctor_areas.c.user_id == user_id, registry_doctor_areas.c.unit_id == unit_id
        )
    )
    return []
