"""API tokens of hospital information systems (机构接口令牌).

A hospital's information system (HIS) calls the discharge desk's API as a machine, not a person
in a browser: an administrator issues it a token (``shd_<id>_<secret>``, shown once), scoped to
one institution (its unit) and to the desk routes only, and revokes it when the HIS is retired.
The table keeps the secret's SHA-256 only. A request with ``Authorization: Bearer <token>`` is
authenticated by the token alone (never by a cookie as well), so it needs no CSRF token; each
token is rate-limited (``admit``: ``SHIDIAN_TOKEN_RATE_PER_MINUTE`` requests a minute, counted
in the database, so the limit holds across every worker process) and every claim it posts is
audited under ``token:<id>``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import sqlalchemy as sa

from shidian.platform import audit, throttle
from shidian.platform.access import require_permission
from shidian.platform.accounts import User
from shidian.platform.audit import Client
from shidian.platform.clock import now
from shidian.platform.db.schema import api_tokens, units
from shidian.problems import refusal

PREFIX = "shd_"
#: Requests a token may make in a minute (all processes together), unless configured.
RATE_PER_MINUTE = 600
#: The rate's window: 60 s from the first request counted in it, in ``login_throttle`` under
#: ``token:<id>`` (``throttle.hit``).
RATE_WINDOW_SECONDS = 60


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def issue(conn: sa.Connection, actor: User, unit_id: int, name: str, client: Client | None = None) -> str:
    """签发: a token for the institution of ``unit_id`` (a hospital unit); returns it (shown once)."""
    require_permission(actor, "admin.users")
    unit = conn.execute(sa.select(units.c.kind, units.c.hospital_id).where(units.c.id == unit_id)).first()
    if unit is None or unit.kind != "hospital" or not unit.hospital_id:
        raise refusal(
            "invalid", "admin.token.invalid", "令牌只能签发给医疗机构 (a token belongs to a hospital)"
        )
    name = name.strip()[:200] or "HIS"
    token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    conn.execute(
        api_tokens.insert().values(
            id=token_id,
            secret_sha256=_digest(secret),
            unit_id=unit_id,
            name=name,
            created_by=actor.id,
            created_at=now(),
        )
    )
    audit.log(conn, audit.TokenCreated(target=token_id, unit_id=unit_id, name=name), actor, client)
    return f"{PREFIX}{token_id}_{secret}"


def revoke(conn: sa.Connection, actor: User, token_id: str, client: Client | None = None) -> None:
    """吊销: the token signs in nothing from now on."""
    require_permission(actor, "admin.users")
    changed = conn.execute(
        api_tokens.update()
        .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now())
    )
    if changed.rowcount == 0:
        raise refusal("not_found", "not_found", "令牌不存在或已吊销 (no such token)")
    audit.log(conn, audit.TokenRevoked(target=token_id), actor, client)


def list_tokens(conn: sa.Connection, actor: User) -> list[dict[str, object]]:
    """Every token (never its secret), with its institution; the newest first."""
    require_permission(actor, "admin.users")
    query = (
        sa.select(
            api_tokens.c.id,
            api_tokens.c.name,
            api_tokens.c.created_at,
            api_tokens.c.revoked_at,
            units.c.name.label("unit_name"),
            units.c.hospital_id,
        )
        .join(units, units.c.id == api_tokens.c.unit_id)
        .order_by(api_tokens.c.created_at.desc())
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def token_user(conn: sa.Connection, token: str) -> User | None:
    """The machine user of a valid, unrevoked token: role ``hospital`` of its institution, named
    ``token:<id>`` in the audit log; None for anything else."""
    if not token.startswith(PREFIX) or len(token) > 128 or token.count("_") < 2:
        return None
    token_id, secret = token[len(PREFIX) :].split("_", 1)
    row = conn.execute(
        sa.select(api_tokens.c.secret_sha256, units.c.id, units.c.name, units.c.kind, units.c.hospital_id)
        .join(units, units.c.id == api_tokens.c.unit_id)
        .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
    ).first()
    if row is None or not hmac.compare_digest(row.secret_sha256, _digest(secret)):
        return None
    return User(
        id=0,
        username=f"token:{token_id}",
        display_name=f"接口令牌 {token_id}",
        role="hospital",
        unit_id=row.id,
        unit_name=row.name,
        unit_kind=row.kind,
        hospital_id=row.hospital_id,
        active=True,
    )


def admit(conn: sa.Connection, user: User, per_minute: int = RATE_PER_MINUTE) -> int | None:
    """Count one request of the token ``user`` signed in with; None when it is within
    ``per_minute`` requests of the current minute, else the seconds until the next minute
    (Retry-After). The count is one atomic upsert in the database (``throttle.hit``), so every
    worker process of the server shares it: ``--workers 2`` does not double the rate. Run it in
    a transaction of its own (committed whatever the request then does: a refused request
    counts too, and the counter's row lock is held only for that short transaction)."""
    hits, start = throttle.hit(conn, user.username, RATE_WINDOW_SECONDS)
    if hits <= per_minute:
        return None
    return max(1, start + RATE_WINDOW_SECONDS - int(now().timestamp()))
