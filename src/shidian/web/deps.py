"""Request dependencies: the database connection, the signed-in user, CSRF, permissions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated, TypeVar

import anyio.to_thread
import sqlalchemy as sa
from fastapi import Depends, HTTPException, Request
from starlette.datastructures import FormData

from shidian.platform.access import can
from shidian.platform.accounts import User
from shidian.platform.audit import Client
from shidian.platform.security import same_token
from shidian.platform.sessions import session_user

CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


class LoginRequired(Exception):
    """Raised when a page needs a signed-in user; pages redirect, the API answers 401."""


def client_of(request: Request) -> Client:
    """Where the request came from, for the audit log and the login throttle: the peer's
    address, or, when the peer is one of ``SHIDIAN_TRUSTED_PROXIES``, the last address in
    ``X-Forwarded-For`` that is not a trusted proxy (a client cannot choose its own address by
    sending the header; issue 22 finding 9)."""
    peer = request.client.host if request.client else None
    return Client(forwarded_client(peer, request.headers.get("x-forwarded-for"), _trusted(request)),
                  request.headers.get("user-agent", ""))  # fmt: skip


def _trusted(request: Request) -> frozenset[str]:
    settings = getattr(request.app.state, "settings", None)
    return frozenset(getattr(settings, "trusted_proxies", frozenset()))


def forwarded_client(peer: str | None, forwarded: str | None, trusted: frozenset[str]) -> str | None:
    """The client's address behind the trusted proxies (right to left through the header)."""
    if peer is None or peer not in trusted or not forwarded:
        return peer
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            return hop[:64]
    return hops[0][:64] if hops else peer


def get_engine(request: Request) -> sa.Engine:
    return request.app.state.engine  # type: ignore[no-any-return]


def connection(request: Request) -> Iterator[sa.Connection]:
    """One transaction per request: committed when the route returns, rolled back on error."""
    with get_engine(request).begin() as conn:
        yield conn


#: The request's connection. ``scope="function"``: committed when the route function returns
#: and BEFORE the response is sent, so the page a redirect leads to sees the change (with the
#: default scope FastAPI would commit after sending the response).
Conn = Annotated[sa.Connection, Depends(connection, scope="function")]


#: The session cookie's key of the session token (``shidian.platform.sessions``).
SESSION_KEY = "sid"


def current_user(request: Request, conn: Conn) -> User:
    """The user of the request's open server-side session (one query), or LoginRequired when
    signed out, revoked (logout, password change, disabled, signed out everywhere), idle or expired."""
    token = request.session.get(SESSION_KEY)
    if not isinstance(token, str):
        raise LoginRequired()
    user = session_user(conn, token, idle_seconds=request.app.state.settings.session_idle_seconds)
    if user is None:
        request.session.clear()
        raise LoginRequired()
    request.state.user = user
    return user


CurrentUser = Annotated[User, Depends(current_user)]


FORBIDDEN = "无权访问 (forbidden)"


def require(action: str) -> Callable[[User], Awaitable[User]]:
    # async: a pure check runs on the event loop instead of taking a hop to the thread pool
    async def check(user: CurrentUser) -> User:
        if not can(user, action):
            raise HTTPException(status_code=403, detail=FORBIDDEN)
        return user

    return check


T = TypeVar("T")


async def signed_in_work(
    request: Request, work: Callable[[sa.Connection, User], T], *, action: str | None = None
) -> T:
    """``Conn``, ``CurrentUser``, ``require(action)`` and the route's ``work`` in one transaction
    on one worker thread, committed before the answer is sent (as ``Conn``).

    Each sync dependency and a sync route take a hop of their own to the thread pool (the
    connection twice: to open and to commit), four for a page; under load the hand-offs cost
    more CPU than the page's own work. The most read pages of a published run (an async route)
    take one instead, as the discharge desk's routes do (``shidian.web.insurance.api``).
    """

    def run() -> T:
        with get_engine(request).begin() as conn:
            user = current_user(request, conn)
            if action is not None and not can(user, action):
                raise HTTPException(status_code=403, detail=FORBIDDEN)
            return work(conn, user)

    return await anyio.to_thread.run_sync(run)


async def submitted_form(request: Request) -> FormData:
    """The submitted form (url-encoded or multipart), read on the event loop: waiting for the
    body is what needs ``await``, so the route itself can be a plain ``def`` that FastAPI runs in
    the thread pool with its ``Conn`` — its queries, commit and page then keep off the event loop.
    Starlette keeps the parsed form on the request: ``check_csrf`` reading it too costs nothing."""
    return await request.form()


#: The submitted form of a route without declared ``Form`` fields (its own parsing).
FormBody = Annotated[FormData, Depends(submitted_form)]


def bearer_token(request: Request) -> str | None:
    """The token of ``Authorization: Bearer …`` (a machine client), or None."""
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header[:7].lower() == "bearer " else None


async def check_csrf_unless_token(request: Request) -> None:
    """The desk's routes: a request carrying an API token is authenticated by the token alone
    (``desk_user``), never by a cookie, so a forged cross-site request gains nothing; CSRF applies
    to cookie sessions only."""
    if bearer_token(request) is None:
        await check_csrf(request)


async def check_csrf(request: Request) -> None:
    """Unsafe methods need the session's CSRF token, in the header (HTMX, API) or a form field."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    expected = request.session.get("csrf")
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not same_token(expected, given):
        raise HTTPException(status_code=403, detail="CSRF 校验失败, 请刷新页面后重试 (CSRF check failed)")
