"""The audit log (审计日志): who saw and changed what, when, from where.

Every view of personal data and every change calls ``record`` inside the same transaction as
the change, so an audit record exists exactly when the change does.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from starlette.requests import Request

from shidian.platform.clock import now
from shidian.platform.db.schema import audit_events

#: Built once (every audited request runs it); the columns come from the parameters.
_INSERT = audit_events.insert()


def record(
    conn: sa.Connection,
    request: Request | None,
    user: Any | None,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Write one audit event. ``user`` is the acting user (or None before login)."""
    client = request.client.host if request is not None and request.client else None
    agent = request.headers.get("user-agent", "")[:255] if request is not None else None
    conn.execute(
        _INSERT,
        {
            "at": now(),
            "user_id": getattr(user, "id", None),
            "username": getattr(user, "username", None),
            "role": getattr(user, "role", None),
            "unit_id": getattr(user, "unit_id", None),
            "action": action,
            "target": target,
            "detail": detail or {},
            "ip": client,
            "user_agent": agent,
        },
    )
