"""Server-side sessions (会话): opened at sign-in, looked up on every request, revocable.

The browser's cookie holds a random token (signed with the secret key, next to the CSRF token);
the ``sessions`` table holds only its SHA-256, so a copy of the table signs no one in. A
request is signed in only while its session row is open: not revoked (logout, a password
change, the user disabled, an administrator's "sign out everywhere"), seen within the idle
timeout and younger than its absolute lifetime. A copied cookie is worth nothing once its
session has ended, on pages, the JSON API and the discharge desk alike.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import sqlalchemy as sa

from shidian.platform.accounts import User, user_query
from shidian.platform.clock import now
from shidian.platform.db.schema import sessions, users

#: A session's ``last_seen_at`` is written at most this often (not on every request: a write per
#: request would serialise every request on SQLite's write lock).
TOUCH_SECONDS = 60

_SESSION_USER = (
    user_query()
    .add_columns(sessions.c.last_seen_at.label("session_seen_at"))
    .join(sessions, sessions.c.user_id == users.c.id)
    .where(
        sessions.c.id == sa.bindparam("sid"),
        sessions.c.revoked_at.is_(None),
        sessions.c.expires_at > sa.bindparam("at"),
        sessions.c.last_seen_at > sa.bindparam("idle_since"),
        users.c.active.is_(True),
    )
)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def open_session(conn: sa.Connection, user: User, *, max_age_seconds: int, ip: str | None = None) -> str:
    """A new session of ``user``; returns the token for the cookie (never stored)."""
    token = secrets.token_urlsafe(32)
    at = now()
    conn.execute(
        sessions.insert().values(
            id=_digest(token),
            user_id=user.id,
            created_at=at,
            last_seen_at=at,
            expires_at=at + dt.timedelta(seconds=max_age_seconds),
            ip=(ip or "")[:64] or None,
        )
    )
    return token


def session_user(conn: sa.Connection, token: str, *, idle_seconds: int) -> User | None:
    """The user of an open session (one query), or None; marks the session seen."""
    if not token or len(token) > 128:
        return None
    at = now()
    sid = _digest(token)
    params = {"sid": sid, "at": at, "idle_since": at - dt.timedelta(seconds=idle_seconds)}
    row = conn.execute(_SESSION_USER, params).mappings().first()
    if row is None:
        return None
    values = dict(row)
    seen = _aware(values.pop("session_seen_at"))
    if (at - seen).total_seconds() >= TOUCH_SECONDS:
        # in a transaction of its own, committed at once: the request's connection then holds no
        # write lock (SQLite) while a service does long work in short transactions of its own (a
        # run, an import), which would otherwise wait 30 s for it and fail "database is locked"
        with conn.engine.begin() as touch:
            touch.execute(sessions.update().where(sessions.c.id == sid).values(last_seen_at=at))
    return User(**values)


def close_session(conn: sa.Connection, token: str) -> None:
    """End one session (logout)."""
    conn.execute(
        sessions.update()
        .where(sessions.c.id == _digest(token), sessions.c.revoked_at.is_(None))
        .values(revoked_at=now())
    )


def purge_sessions(conn: sa.Connection, older_than_days: int = 30) -> int:
    """Delete sessions that ended (expired or revoked) more than ``older_than_days`` ago."""
    cutoff = now() - dt.timedelta(days=older_than_days)
    result = conn.execute(
        sessions.delete().where(sa.or_(sessions.c.expires_at < cutoff, sessions.c.revoked_at < cutoff))
    )
    return int(result.rowcount)
