"""Users and units (用户与单位): the repository functions the routes and the CLI use.

A user belongs to one unit (a hospital, a township, the bureau) and has one role; what a user
may see follows from both (``shidian.platform.access``).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from shidian.platform.clock import now
from shidian.platform.db.engine import insert_id
from shidian.platform.db.schema import ROLES, UNIT_KINDS, sessions, units, users
from shidian.platform.security import (
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
    waste_a_verification,
)

#: The longest user name and display name (the columns of ``users``).
USERNAME_MAX, DISPLAY_NAME_MAX = 64, 200


@dataclass(frozen=True)
class User:
    """The signed-in user, with the unit that scopes what the user may see."""

    id: int
    username: str
    display_name: str
    role: str
    unit_id: int
    unit_name: str
    unit_kind: str
    hospital_id: str | None
    active: bool
    password_changed_at: object = None

    @property
    def role_label(self) -> str:
        return ROLES.get(self.role, self.role)


def user_query() -> sa.Select[tuple[object, ...]]:
    return sa.select(
        users.c.id,
        users.c.username,
        users.c.display_name,
        users.c.role,
        users.c.unit_id,
        units.c.name.label("unit_name"),
        units.c.kind.label("unit_kind"),
        units.c.hospital_id,
        users.c.active,
        users.c.password_changed_at,
    ).join(units, units.c.id == users.c.unit_id)


#: Built once: every request of a signed-in user runs it (a statement built per call costs more
#: to construct and key for the compiled cache than it takes to run).
_USER_BY_ID = user_query().where(users.c.id == sa.bindparam("user_id"))


def get_user(conn: sa.Connection, user_id: int) -> User | None:
    row = conn.execute(_USER_BY_ID, {"user_id": user_id}).mappings().first()
    return None if row is None else User(**row)


def list_users(conn: sa.Connection) -> list[User]:
    return [User(**row) for row in conn.execute(user_query().order_by(users.c.username)).mappings()]


def authenticate(conn: sa.Connection, username: str, password: str) -> User | None:
    """The active user with this name and password, or None. Upgrades an old hash."""
    row = conn.execute(
        sa.select(users.c.id, users.c.password_hash, users.c.active).where(users.c.username == username)
    ).first()
    if row is None:
        waste_a_verification(password)  # as long as a known name's check (issue 22 finding 4)
        return None
    if not verify_password(row.password_hash, password) or not row.active:
        return None
    if needs_rehash(row.password_hash):
        conn.execute(users.update().where(users.c.id == row.id).values(password_hash=hash_password(password)))
    return get_user(conn, row.id)


def create_unit(
    conn: sa.Connection,
    code: str,
    name: str,
    kind: str,
    *,
    parent_id: int | None = None,
    hospital_id: str | None = None,
    region_code: str | None = None,
) -> int:
    if kind not in UNIT_KINDS:
        raise ValueError(f"unknown unit kind {kind!r}")
    existing = conn.execute(sa.select(units.c.id).where(units.c.code == code)).scalar()
    if existing is not None:
        conn.execute(
            units.update()
            .where(units.c.id == existing)
            .values(
                name=name, kind=kind, parent_id=parent_id, hospital_id=hospital_id, region_code=region_code
            )
        )
        return int(existing)
    return insert_id(
        conn,
        units,
        code=code,
        name=name,
        kind=kind,
        parent_id=parent_id,
        hospital_id=hospital_id,
        region_code=region_code,
    )


def list_units(conn: sa.Connection) -> list[dict[str, object]]:
    return [dict(r) for r in conn.execute(sa.select(units).order_by(units.c.code)).mappings()]


class AccountError(ValueError):
    """A user cannot be created or changed as asked; the message says why, in Chinese."""


def create_user(
    conn: sa.Connection,
    username: str,
    password: str,
    role: str,
    unit_id: int,
    display_name: str | None = None,
) -> int:
    username = username.strip()
    if not username or len(username) > USERNAME_MAX:
        raise AccountError(f"用户名不能为空, 最长{USERNAME_MAX}个字符")
    if display_name is not None and len(display_name) > DISPLAY_NAME_MAX:
        raise AccountError(f"姓名最长{DISPLAY_NAME_MAX}个字符")
    if "\x00" in username or "\x00" in (display_name or ""):
        raise AccountError("用户名和姓名不能含空字符 (NUL)")
    if role not in ROLES:
        raise AccountError(f"未知角色 {role}")
    problem = password_problem(password)
    if problem:
        raise AccountError(problem)
    if conn.execute(sa.select(users.c.id).where(users.c.username == username)).first() is not None:
        raise AccountError(f"用户名 {username} 已存在")
    if conn.execute(sa.select(units.c.id).where(units.c.id == unit_id)).first() is None:
        raise AccountError("单位不存在")
    stamp = now()
    return insert_id(
        conn,
        users,
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        role=role,
        unit_id=unit_id,
        active=True,
        created_at=stamp,
        password_changed_at=stamp,
    )


def set_active(conn: sa.Connection, user_id: int, active: bool) -> None:
    """Enable or disable a user; disabling ends every session of the user."""
    conn.execute(users.update().where(users.c.id == user_id).values(active=active))
    if not active:
        revoke_sessions(conn, user_id)


def set_password(conn: sa.Connection, user_id: int, password: str) -> None:
    """A new password (checked as at creation); every session of the user ends."""
    problem = password_problem(password)
    if problem:
        raise AccountError(problem)
    changed = conn.execute(
        users.update()
        .where(users.c.id == user_id)
        .values(password_hash=hash_password(password), password_changed_at=now())
    )
    if changed.rowcount == 0:
        raise AccountError("用户不存在")
    revoke_sessions(conn, user_id)


def revoke_sessions(conn: sa.Connection, user_id: int) -> int:
    """End every open session of a user (退出所有登录); returns how many were open."""
    result = conn.execute(
        sessions.update()
        .where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
        .values(revoked_at=now())
    )
    return int(result.rowcount)
