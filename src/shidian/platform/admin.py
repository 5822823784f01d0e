"""User administration (系统管理) workflows: the user list, creating a user, enabling and
disabling one, setting a password and signing a user out everywhere (both end every session of
the user, as disabling does). Each checks that the actor may manage users (``admin.users``) and audits the
change in the caller's transaction; a user that cannot be created is a problem, not an error.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from shidian.platform import audit
from shidian.platform.access import require_permission
from shidian.platform.accounts import (
    AccountError,
    User,
    create_user,
    get_user,
    list_units,
    list_users,
    revoke_sessions,
    set_active,
    set_password,
)
from shidian.platform.audit import Client
from shidian.platform.db.schema import ROLES
from shidian.problems import Problem, Source

REQUEST = "<request>"


@dataclass(frozen=True)
class Directory:
    """What the user administration page lists: users, units and the roles to choose from."""

    users: list[User]
    units: list[dict[str, object]]
    roles: dict[str, str]


def directory(conn: sa.Connection, actor: User) -> Directory:
    """用户列表: every user and unit, and the roles."""
    require_permission(actor, "admin.users")
    return Directory(list_users(conn), list_units(conn), ROLES)


def add_user(
    conn: sa.Connection,
    actor: User,
    username: str,
    password: str,
    role: str,
    unit_id: int,
    display_name: str | None = None,
    client: Client | None = None,
) -> tuple[int | None, list[Problem]]:
    """创建用户: the new user's id, or the problem that stopped it (name, role, password, unit)."""
    require_permission(actor, "admin.users")
    try:
        new_id = create_user(conn, username, password, role, unit_id, display_name or None)
    except AccountError as exc:
        return None, [Problem("admin.user.invalid", str(exc), Source(REQUEST))]
    audit.log(conn, audit.UserCreated(target=username, user_id=new_id, role=role), actor, client)
    return new_id, []


def set_user_active(
    conn: sa.Connection, actor: User, user_id: int, active: bool, client: Client | None = None
) -> list[Problem]:
    """启用/停用用户: an administrator cannot disable itself (that problem, and nothing changed)."""
    require_permission(actor, "admin.users")
    if user_id == actor.id and not active:
        return [Problem("admin.user.self_disable", "不能停用自己", Source(REQUEST))]
    set_active(conn, user_id, active)
    event = audit.UserEnabled if active else audit.UserDisabled
    audit.log(conn, event(target=str(user_id)), actor, client)
    return []


def reset_password(
    conn: sa.Connection, actor: User, user_id: int, password: str, client: Client | None = None
) -> list[Problem]:
    """重置密码: a new password for a user; every session of the user ends (the actor's own too,
    when it is the actor's password)."""
    require_permission(actor, "admin.users")
    target = get_user(conn, user_id)
    if target is None:
        return [Problem("admin.user.invalid", "用户不存在", Source(REQUEST))]
    try:
        set_password(conn, user_id, password)
    except AccountError as exc:
        return [Problem("admin.user.invalid", str(exc), Source(REQUEST))]
    audit.log(conn, audit.UserPasswordReset(target=str(user_id)), actor, client)
    return []


def sign_out_everywhere(
    conn: sa.Connection, actor: User, user_id: int, client: Client | None = None
) -> list[Problem]:
    """退出所有登录: end every open session of a user (a lost laptop, a shared password)."""
    require_permission(actor, "admin.users")
    target = get_user(conn, user_id)
    if target is None:
        return [Problem("admin.user.invalid", "用户不存在", Source(REQUEST))]
    count = revoke_sessions(conn, user_id)
    audit.log(conn, audit.SessionsRevoked(target=target.username, sessions=count), actor, client)
    return []
