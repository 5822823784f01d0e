"""Passwords, CSRF tokens and login throttling (安全).

Passwords are hashed with argon2id; a hash made with older parameters is upgraded at the next
successful login. CSRF tokens are random per session and compared in constant time. Logins
are throttled per user name: after ``max_failures`` failures within the window, further
attempts are refused until the window passes, whatever the password.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shidian.platform.clock import now
from shidian.platform.db.schema import login_attempts

_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_problem(password: str) -> str | None:
    """Why a new password is not acceptable, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"密码至少 {MIN_PASSWORD_LENGTH} 位 (at least {MIN_PASSWORD_LENGTH} characters)"
    if password.isdigit() or password.isalpha():
        return "密码须同时包含字母和数字 (letters and digits)"
    return None


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def same_token(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


def recent_failures(conn: sa.Connection, username: str, window_seconds: int) -> int:
    since = now() - dt.timedelta(seconds=window_seconds)
    last_success = sa.select(sa.func.max(login_attempts.c.at)).where(
        login_attempts.c.username == username, login_attempts.c.success.is_(True)
    )
    query = sa.select(sa.func.count()).where(
        login_attempts.c.username == username,
        login_attempts.c.success.is_(False),
        login_attempts.c.at >= since,
        sa.or_(
            last_success.scalar_subquery().is_(None), login_attempts.c.at > last_success.scalar_subquery()
        ),
    )
    return int(conn.execute(query).scalar_one())


def record_attempt(conn: sa.Connection, username: str, ip: str, success: bool) -> None:
    conn.execute(login_attempts.insert().values(username=username, ip=ip, at=now(), success=success))
