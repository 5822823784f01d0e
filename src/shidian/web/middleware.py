"""Pure ASGI middleware (no BaseHTTPMiddleware: it costs a task and a copy per request).

``LanguageAndHeaders`` picks the request's language (``?lang=``, then the ``lang`` cookie, then
zh_CN), remembers an explicit choice in a cookie, and adds the security headers to every
response — and ``Cache-Control: no-store`` to every one but the static assets: pages, API answers
and exports carry names, ID numbers and amounts that no browser or proxy cache may keep. ``BodyLimit`` refuses a request whose declared body is larger than the upload limit
with 413 before reading it, and cuts off a body sent without a length once it passes the limit;
it also refuses with 422 (like any invalid request) a URL whose path or query, or a form
(``application/x-www-form-urlencoded``) whose body, carries a NUL byte (``%00``).
"""

from __future__ import annotations

import json
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shidian.web.errors import error_body, http_problem
from shidian.web.i18n import DEFAULT_LANGUAGE, LANGUAGES
from shidian.web.templating import language

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


class LanguageAndHeaders:
    def __init__(self, app: ASGIApp, secure: bool = False) -> None:
        self.app = app
        # the language cookie is Secure like the session's when secure cookies are on
        self.cookie_flags = "; Secure" if secure else ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        asked = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("lang", [None])[0]
        chosen = asked if asked in LANGUAGES else _cookie_language(scope) or DEFAULT_LANGUAGE
        token = language.set(chosen)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in SECURITY_HEADERS if name not in present]
                if b"cache-control" not in present and not scope.get("path", "").startswith("/static/"):
                    headers.append((b"cache-control", b"no-store"))
                if asked in LANGUAGES:
                    cookie = f"lang={asked}; Path=/; HttpOnly; SameSite=lax{self.cookie_flags}"
                    headers.append((b"set-cookie", cookie.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            language.reset(token)


def _cookie_language(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            cookie = SimpleCookie()
            cookie.load(value.decode("latin-1"))
            if "lang" in cookie and cookie["lang"].value in LANGUAGES:
                return cookie["lang"].value
    return None


TOO_LARGE = "上传内容超过 {mb} MB 的上限 (request body too large)"
#: PostgreSQL refuses NUL in text: a URL carrying one is refused before any route reads it.
NUL_IN_URL = "网址中含有空字符 (NUL), 请求无效 (NUL byte in the URL)"
NUL_IN_FORM = "表单中含有空字符 (NUL), 请求无效 (NUL byte in a form field)"


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _content_length(scope) > self.max_bytes:
            await _refuse(scope, send, 413, TOO_LARGE.format(mb=self.max_bytes // (1024 * 1024) or 1))
            return
        if scope["type"] == "http" and (
            "\x00" in scope.get("path", "") or b"%00" in scope.get("query_string", b"")
        ):
            await _refuse(scope, send, 422, NUL_IN_URL)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received = 0
        form = _is_urlencoded(scope)
        tail = b""

        async def counted() -> Message:
            nonlocal received, tail
            message = await receive()
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_bytes:  # raised where the app reads: its handlers answer 413
                raise HTTPException(413, TOO_LARGE.format(mb=self.max_bytes // (1024 * 1024) or 1))
            if form:  # a NUL in a form field: refused as in the URL (tail: "%0" | "0" across chunks)
                seen = tail + chunk
                if b"%00" in seen or b"\x00" in seen:
                    raise HTTPException(422, NUL_IN_FORM)
                tail = seen[-2:]
            return message

        await self.app(scope, counted, send)


async def _refuse(scope: Scope, send: Send, status: int, message: str) -> None:
    """Answer before the app runs: the one error shape on /api/, a line of HTML on pages."""
    if scope.get("path", "").startswith("/api/"):
        body = json.dumps(error_body(status, [http_problem(status, message)]), ensure_ascii=False).encode()
        content_type = b"application/json"
    else:
        body = f'<p class="problem">{message}</p>'.encode()
        content_type = b"text/html; charset=utf-8"
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _is_urlencoded(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return bool(value.split(b";", 1)[0].strip().lower() == b"application/x-www-form-urlencoded")
    return False


def _content_length(scope: Scope) -> int:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0
