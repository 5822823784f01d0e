"""Signing in and out (登录/退出): throttling, the attempt record and the audit event of each.

Throttled per client and account, in the database (``shidian.platform.throttle``): a refused
attempt is audited and never reaches the password check. An unknown user name costs the same
password hash as a known one (``accounts.authenticate``), so the answer's timing names no
account. The door keeps the session: it signs the returned user in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa

from shidian.platform import audit
from shidian.platform.accounts import USERNAME_MAX, User, authenticate
from shidian.platform.audit import Client
from shidian.platform.security import record_attempt
from shidian.platform.throttle import LoginLimits, admit, failed, succeeded

Outcome = Literal["ok", "throttled", "wrong"]


@dataclass(frozen=True)
class SignIn:
    """The outcome of an attempt: ``ok`` with the user, ``throttled`` or ``wrong`` (name or password)."""

    outcome: Outcome
    user: User | None = None


def sign_in(
    conn: sa.Connection,
    username: str,
    password: str,
    *,
    limits: LoginLimits,
    client: Client | None = None,
) -> SignIn:
    """登录: check the throttle, the password and the account; record the attempt; audit it."""
    # a name longer than any user name cannot exist: kept to one character more, so that it
    # is stored, throttled and answered as any unknown name (issue 22 finding 8)
    username = username.strip()[: USERNAME_MAX + 1]
    ip = ((client.ip if client else None) or "-")[:64]
    if not admit(conn, username, ip, limits):
        audit.log(conn, audit.LoginThrottled(target=username), None, client)
        return SignIn("throttled")
    user = authenticate(conn, username, password)
    record_attempt(conn, username[:USERNAME_MAX], ip, user is not None)
    if user is None:
        failed(conn, username, ip, limits)
        audit.log(conn, audit.LoginFailed(target=username), None, client)
        return SignIn("wrong")
    succeeded(conn, username, ip)
    audit.log(conn, audit.LoginSucceeded(target=username), user, client)
    return SignIn("ok", user)


def sign_out(conn: sa.Connection, user: User, client: Client | None = None) -> None:
    """退出: audited; the door clears the session."""
    audit.log(conn, audit.LoggedOut(target=user.username), user, client)
