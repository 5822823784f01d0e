"""Signing in and out (登录/退出): throttling, the attempt record and the audit event of each.

After ``max_failures`` failed attempts for a user name within ``window_seconds``, further
attempts are refused (and audited) until the window passes, whatever the password. The door
keeps the session: it signs the returned user in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa

from shidian.platform import audit
from shidian.platform.accounts import User, authenticate
from shidian.platform.audit import Client
from shidian.platform.security import recent_failures, record_attempt

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
    window_seconds: int,
    max_failures: int,
    client: Client | None = None,
) -> SignIn:
    """登录: check the throttle, the password and the account; record the attempt; audit it."""
    username = username.strip()
    if recent_failures(conn, username, window_seconds) >= max_failures:
        audit.log(conn, audit.LoginThrottled(target=username), None, client)
        return SignIn("throttled")
    user = authenticate(conn, username, password)
    record_attempt(conn, username, (client.ip if client else None) or "-", user is not None)
    if user is None:
        audit.log(conn, audit.LoginFailed(target=username), None, client)
        return SignIn("wrong")
    audit.log(conn, audit.LoginSucceeded(target=username), user, client)
    return SignIn("ok", user)


def sign_out(conn: sa.Connection, user: User, client: Client | None = None) -> None:
    """退出: audited; the door clears the session."""
    audit.log(conn, audit.LoggedOut(target=user.username), user, client)
