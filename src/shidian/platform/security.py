"""Passwords, CSRF tokens and login throttling (安全).

Passwords are hashed with argon2id; a hash made with older parameters is upgraded at the next
successful login. CSRF tokens are random per session and compared in constant time. Logins
are throttled by ``shidian.platform.throttle``.
"""

from __future__ import annotations

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


_dummy_hash: list[str] = []


def waste_a_verification(password: str) -> None:
    """Check ``password`` against a hash of nothing: an unknown user name then costs what a
    known one does, so the answer's timing does not tell whether the account exists."""
    if not _dummy_hash:
        _dummy_hash.append(hash_password(secrets.token_urlsafe(16)))
    verify_password(_dummy_hash[0], password)


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


def record_attempt(conn: sa.Connection, username: str, ip: str, success: bool) -> None:
    conn.execute(login_attempts.insert().values(username=username, ip=ip, at=now(), success=success))
