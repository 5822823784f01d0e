"""Sign in and out (登录/退出): the session here, the workflow (throttling, the attempt record,
the audit event) in ``shidian.platform.signin``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from shidian.platform.security import new_csrf_token
from shidian.platform.sessions import close_session, open_session
from shidian.platform.signin import sign_in, sign_out
from shidian.web.deps import SESSION_KEY, Conn, CurrentUser, check_csrf, client_of
from shidian.web.templating import gettext, render

router = APIRouter()


def _safe_next(target: str | None) -> str:
    """Only local paths: an open redirect would let a link send users elsewhere after login."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/login", include_in_schema=False)
def login_page(request: Request, next: str = "/") -> Response:
    request.session.setdefault("csrf", new_csrf_token())
    return render(request, "login.html", {"next": _safe_next(next), "error": None})


@router.post("/login", include_in_schema=False, dependencies=[Depends(check_csrf)])
def login(
    request: Request,
    conn: Conn,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    settings = request.app.state.settings
    attempt = sign_in(
        conn,
        username,
        password,
        limits=settings.login_limits,
        client=client_of(request),
    )
    if attempt.outcome == "throttled":
        message = gettext(
            "Too many failed attempts. Try again in %(minutes)s minutes.",
            minutes=settings.login_window_seconds // 60,
        )
        return render(request, "login.html", {"next": _safe_next(next), "error": message}, 429)
    if attempt.user is None:
        message = gettext("Wrong user name or password.")
        return render(request, "login.html", {"next": _safe_next(next), "error": message}, 401)
    client = client_of(request)
    token = open_session(conn, attempt.user, max_age_seconds=settings.session_max_age_seconds, ip=client.ip)
    request.session.clear()  # a new token and a new CSRF token: nothing of the anonymous session stays
    request.session.update({SESSION_KEY: token, "csrf": new_csrf_token()})
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", include_in_schema=False, dependencies=[Depends(check_csrf)])
def logout(request: Request, conn: Conn, user: CurrentUser) -> Response:
    sign_out(conn, user, client_of(request))
    token = request.session.get(SESSION_KEY)
    if isinstance(token, str):
        close_session(conn, token)  # the cookie, wherever it was copied, signs in no more
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
