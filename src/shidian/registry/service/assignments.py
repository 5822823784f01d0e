"""Doctor ↔ area assignments (精防医生负责区域): the pilot office (or an administrator) assigns a
mental-health doctor a village, or a township or county standing for all its villages."""

from __future__ import annotations

import sqlalchemy as sa

from shidian.platform import audit
from shidian.platform.access import PERMISSIONS
from shidian.platform.accounts import User
from shidian.platform.audit import Client
from shidian.problems import Problem, Source
from shidian.registry.events import AreaAssigned, AreaUnassigned
from shidian.registry.records import AssignmentIn, AssignmentOut
from shidian.registry.service.common import require
from shidian.registry.store import assignments

AREA_KINDS = ("village", "township", "county")


def list_assignments(conn: sa.Connection, user: User) -> list[AssignmentOut]:
    require(user, "registry.assign")
    return assignments.list_assignments(conn)


def _resolve(conn: sa.Connection, data: AssignmentIn) -> tuple[int, int] | list[Problem]:
    """(doctor's user id, unit id), or every problem with the request."""
    problems: list[Problem] = []
    doctor = assignments.user_named(conn, data.username)
    if doctor is None or doctor.kind not in PERMISSIONS["registry.assigned_areas"]:
        problems.append(
            Problem(
                "registry.assignment.not_a_doctor",
                f"{data.username!r} 不是精防医生账号 (not a mental-health doctor)",
                Source("request", column="username"),
            )
        )
    unit = assignments.unit_coded(conn, data.unit_code)
    if unit is None or unit.kind not in AREA_KINDS:
        problems.append(
            Problem(
                "registry.assignment.unknown_area",
                f"没有代码为 {data.unit_code!r} 的村、乡镇或县 (unknown area)",
                Source("request", column="unit_code"),
            )
        )
    if problems or doctor is None or unit is None:
        return problems
    return doctor.id, unit.id


def assign(
    conn: sa.Connection, user: User, data: AssignmentIn, client: Client | None = None
) -> list[Problem]:
    """Assign a doctor an area (nothing new when already assigned); the problems, if any."""
    require(user, "registry.assign")
    found = _resolve(conn, data)
    if isinstance(found, list):
        return found
    assignments.add_area(conn, *found)
    audit.log(conn, AreaAssigned(target=data.username, unit_code=data.unit_code), user, client)
    return []


def unassign(
    conn: sa.Connection, user: User, data: AssignmentIn, client: Client | None = None
) -> list[Problem]:
    """Remove an area from a doctor; the problems, if any."""
    require(user, "registry.assign")
    found = _resolve(conn, data)
    if isinstance(found, list):
        return found
    assignments.remove_area(conn, *found)
    audit.log(conn, AreaUnassigned(target=data.username, unit_code=data.unit_code), user, client)
    return []
