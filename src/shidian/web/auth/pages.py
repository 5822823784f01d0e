"""Sign in and out (登录/退出): the session here, the workflow (throttling, the attempt record,
the audit event) in ``shidian.platform.signin``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from shidian.platform.security import new_csrf_token
from shidian.platform.signin import sign_in, sign_out
from shidian.web.deps import Conn, CurrentUser, check_csrf, client_of
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
    user = attempt.user
    request.session.clear()
    request.session.update({"uid": user.id, "v": user.session_stamp, "csrf": new_csrf_token()})
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", include_in_schema=False, dependencies=[Depends(check_csrf)])
def logout(request: Request, conn: Conn, user: CurrentUser) -> Response:
    sign_out(conn, user, client_of(request))
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
