"""Pure ASGI middleware (no BaseHTTPMiddleware: it costs a task and a copy per request).

``LanguageAndHeaders`` picks the request's language (``?lang=``, then the ``lang`` cookie, then
zh_CN), remembers an explicit choice in a cookie, and adds the security headers to every
response.
"""

from __future__ import annotations

from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

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
                if asked in LANGUAGES:
                    headers.append((b"set-cookie", f"lang={asked}; Path=/; HttpOnly; SameSite=lax".encode()))
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
