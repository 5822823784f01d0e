"""Login throttling (登录限速, issue 22 finding 4): counters in the database, so that every
worker process shares them, incremented atomically *before* the password is checked.

Four limits, each a fixed window of counted hits in ``login_throttle``:

* ``pair:<name>|<client>``: attempts of one client for one account. After ``pair_max`` in the
  window that client is refused for that account (a success clears it). Concurrent requests
  increment the row one after another (an upsert returning the count, under its row lock), so 50
  concurrent wrong passwords reach the password hasher at most ``pair_max`` times.
* ``account:<name>`` and ``pace:<name>``: failures on an account from every client. Past
  ``account_max`` in the window the account is slowed down, not locked: one attempt per
  ``pace_seconds`` is let through, so a stranger cannot lock the real user out.
* ``client:<client>`` with ``name:<client>|<name>``: the distinct user names a client got wrong.
  Past ``client_names_max`` in the window the client may try only names it already tried.

The same counter (``hit``) limits the requests of each API token (``token:<id>``,
``shidian.platform.tokens.admit``): the table is the server's shared memory of counted hits.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from shidian.platform.clock import now
from shidian.platform.db.schema import login_throttle


@dataclass(frozen=True)
class LoginLimits:
    """The throttle's settings (``shidian.platform.settings``: ``SHIDIAN_LOGIN_*``)."""

    window_seconds: int = 900
    pair_max: int = 5
    account_max: int = 50
    pace_seconds: int = 5
    client_names_max: int = 10


def _hit(conn: sa.Connection, bucket: str, window_seconds: int) -> int:
    """Count one hit in ``bucket`` (a new window when the last one is over); the new count."""
    return hit(conn, bucket, window_seconds)[0]


def hit(conn: sa.Connection, bucket: str, window_seconds: int) -> tuple[int, int]:
    """Count one hit in ``bucket`` (a new window when the last one is over), atomically (one
    upsert under the row's lock, shared by every process): the new count and the window's start
    (Unix seconds)."""
    at = int(now().timestamp())
    table = login_throttle
    fresh = table.c.window_start <= at - window_seconds
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)
    statement = (
        insert.values(bucket=bucket, hits=1, window_start=at)
        .on_conflict_do_update(
            index_elements=[table.c.bucket],
            set_={
                "hits": sa.case((fresh, 1), else_=table.c.hits + 1),
                "window_start": sa.case((fresh, at), else_=table.c.window_start),
            },
        )
        .returning(table.c.hits, table.c.window_start)
    )
    hits, start = conn.execute(statement).one()
    return int(hits), int(start)


def _hits(conn: sa.Connection, bucket: str, window_seconds: int) -> int:
    at = int(now().timestamp())
    table = login_throttle
    found = conn.execute(
        sa.select(table.c.hits).where(table.c.bucket == bucket, table.c.window_start > at - window_seconds)
    ).scalar()
    return int(found or 0)


def admit(conn: sa.Connection, username: str, client: str, limits: LoginLimits) -> bool:
    """Whether this attempt may reach the password check; counts it either way."""
    window = limits.window_seconds
    if _hits(conn, f"client:{client}", window) >= limits.client_names_max and not _hits(
        conn, f"name:{client}|{username}", window
    ):
        return False
    if _hit(conn, f"pair:{username}|{client}", window) > limits.pair_max:
        return False
    if _hits(conn, f"account:{username}", window) >= limits.account_max:
        return _hit(conn, f"pace:{username}", limits.pace_seconds) <= 1
    return True


def failed(conn: sa.Connection, username: str, client: str, limits: LoginLimits) -> None:
    """A wrong name or password: one failure more on the account; the name among the client's
    distinct wrong names."""
    _hit(conn, f"account:{username}", limits.window_seconds)
    if _hit(conn, f"name:{client}|{username}", limits.window_seconds) == 1:
        _hit(conn, f"client:{client}", limits.window_seconds)


def succeeded(conn: sa.Connection, username: str, client: str) -> None:
    """A success clears the client's count for the account."""
    conn.execute(login_throttle.delete().where(login_throttle.c.bucket == f"pair:{username}|{client}"))
