"""The application log (运行日志): one JSON object a line per request, separate from the audit trail.

Each line: ``ts`` (UTC), ``level``, ``request_id`` (also sent back as ``X-Request-ID``), ``method``,
``route`` (the route's template, e.g. ``/registry/patients/{registry_no}``: never a query string,
never a value), ``status``, ``duration_ms``, ``user_id`` (a number: never a name or an identifier)
and, for a request that failed, ``error`` (the exception's type) and ``at`` (the innermost frames:
file, line, function) — never the exception's message, which may quote a cell of an upload.

It goes to the logger ``shidian.app``; ``shidian serve`` (``shidian.cli.logs``) writes it to
standard error, or to the file ``SHIDIAN_LOG_FILE``, and turns off uvicorn's access log (which
prints query strings) and its traceback of a failed request (which prints the exception's
message): this line replaces both.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
import traceback
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOGGER = logging.getLogger("shidian.app")
#: A client's own request id is kept only when it is this harmless.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
#: Frames of a failed request's stack kept in its line (the innermost ones).
FRAMES = 8


def _line(**fields: Any) -> str:
    return str(json.dumps(fields, ensure_ascii=False, separators=(",", ":"), default=str))


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            given = str(value.decode("latin-1"))
            if _REQUEST_ID.match(given):
                return given
    return secrets.token_hex(8)  # 16 random hex digits, as uuid4().hex[:16] gave, without the UUID


def frames(exc: BaseException) -> list[str]:
    """The innermost frames of an exception's stack: ``file:line function`` (no values, no message)."""
    stack = traceback.extract_tb(exc.__traceback__)[-FRAMES:]
    return [f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in stack]


class AppLog:
    """Pure ASGI middleware: times the request, names it, logs its line (and re-raises errors)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"x-request-id", request_id.encode())],
                }
            await send(message)

        error: BaseException | None = None
        try:
            await self.app(scope, receive, send_with_id)
        except BaseException as exc:
            error = exc
            raise
        finally:
            self._log(scope, request_id, status, time.perf_counter() - started, error)

    @staticmethod
    def _log(scope: Scope, request_id: str, status: int, seconds: float, error: BaseException | None) -> None:
        if not LOGGER.isEnabledFor(logging.INFO):
            return
        route = getattr(scope.get("route"), "path", None)
        user = (scope.get("state") or {}).get("user")
        fields: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "level": "error" if error is not None or status >= 500 else "info",
            "request_id": request_id,
            "method": scope.get("method"),
            "route": route or "(unmatched)",
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
            "user_id": getattr(user, "id", None),
        }
        if error is not None:
            fields |= {"error": type(error).__name__, "at": frames(error)}
        LOGGER.log(logging.ERROR if fields["level"] == "error" else logging.INFO, _line(**fields))
