"""The discharge desk's JSON API (出院即时结算接口): post a claim, reverse it, read it back.

``POST /api/insurance/claims`` prices a claim in real time against the person's year and
records it (201); the institution's same claim id with the same body answers the first answer
again (200), with a different body 409. ``POST /api/insurance/claims/{claim_id}/reverse``
reverses it (冲正) and frees what it used of the caps; a second reversal answers the first again.
A hospital user (or its HIS's API token) posts and reverses for its own institution only;
settlement officers for any. Claim ids are each institution's own: another institution's claim
id is, to a hospital, an unknown one (issue 22 finding 3); officers name the institution
(``?institution_id=``) when several have the id. Every claim and
reversal writes an audit record in the same transaction (``insurance.service.desk``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio.to_thread
import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from shidian.insurance.service.desk import DeskError, post_claim, read_claim, reverse_claim
from shidian.platform.access import can
from shidian.platform.accounts import User
from shidian.platform.audit import Client
from shidian.platform.tokens import admit, token_user
from shidian.web.deps import (
    Conn,
    LoginRequired,
    bearer_token,
    check_csrf_unless_token,
    client_of,
    current_user,
    get_engine,
)
from shidian.web.errors import STATUS_OF, error_response
from shidian.web.errors import responses as error_responses
from shidian.web.insurance.models import (
    REPLAY,
    ClaimIdPath,
    ClaimIn,
    ClaimOut,
    ClaimRecordOut,
    InstitutionQuery,
    ReversalOut,
)

router = APIRouter()


def desk_user(request: Request, conn: sa.Connection) -> User:
    """Who calls the desk: a machine client by its API token alone (an institution's HIS; a bad or
    revoked token is 401, too many requests 429 with Retry-After), else the signed-in user of the
    session (in ``conn``, the request's transaction).

    A token is checked and its request counted in a short transaction of its own, committed
    before the desk's work starts: the count holds across worker processes (``tokens.admit``),
    stays when the request is then refused and rolled back, and its row lock is not held for the
    request."""
    token = bearer_token(request)
    if token is None:
        return current_user(request, conn)
    with get_engine(request).begin() as own:
        user = token_user(own, token)
        retry_after = (
            None if user is None else admit(own, user, request.app.state.settings.token_rate_per_minute)
        )
    if user is None:
        raise LoginRequired()
    if retry_after is not None:
        raise HTTPException(
            status_code=429,
            detail=f"接口令牌请求过于频繁, 请 {retry_after} 秒后再试 (too many requests for this token)",
            headers={"Retry-After": str(retry_after)},
        )
    request.state.user = user
    return user


async def _in_one_thread(request: Request, work: Callable[[sa.Connection, User, Client], Any]) -> Any:
    """Sign-in check, the desk's service and commit in one transaction on one worker thread.

    What the service refuses (``DeskError``) is answered in the one error shape and changes
    nothing: a refusal after a write rolls the transaction back. The usual dependencies
    (``Conn``, ``CurrentUser``, ``require``) each take a hop to the thread pool; at a counter
    every millisecond is the clerk's, so the desk's two writing routes call ``deps.current_user``
    from one thread instead (the service checks the permission). The transaction commits before
    the answer is sent.
    """
    engine = get_engine(request)
    client = client_of(request)

    def run() -> Any:
        try:
            with engine.begin() as conn:
                user = desk_user(request, conn)
                try:
                    return work(conn, user, client)
                except DeskError as exc:
                    if exc.wrote:  # refused after a write: undone (read-only refusals just commit)
                        conn.rollback()
                    return error_response(STATUS_OF[exc.reason], exc.problems)
        except sa.exc.IntegrityError:  # the same claim id raced in for another person
            raise HTTPException(status_code=409, detail="就诊编号已被使用 (claim id already used)") from None

    return await anyio.to_thread.run_sync(run)


@router.post(
    "/api/insurance/claims",
    status_code=201,
    response_model=ClaimOut,
    responses=REPLAY | error_responses(400, 401, 403, 409, 422, 429),
    dependencies=[Depends(check_csrf_unless_token)],
)
async def api_post_claim(request: Request, body: ClaimIn) -> Any:
    """Price one claim against the person's year, record it and answer the reimbursement."""
    claim = body.model_dump()

    def work(conn: sa.Connection, user: User, client: Client) -> Any:
        answer, recorded = post_claim(conn, user, claim, client)
        # The answer is already the documented ClaimOut: sent as it is, not validated again.
        return JSONResponse(answer, status_code=201 if recorded else 200)

    return await _in_one_thread(request, work)


@router.post(
    "/api/insurance/claims/{claim_id}/reverse",
    response_model=ReversalOut,
    responses=error_responses(401, 403, 404, 422, 429),
    dependencies=[Depends(check_csrf_unless_token)],
)
async def api_reverse_claim(
    request: Request, claim_id: ClaimIdPath, institution_id: InstitutionQuery = None
) -> Any:
    """冲正: reverse a claim and free what it used; reversing twice answers the first reversal."""

    def work(conn: sa.Connection, user: User, client: Client) -> Any:
        return reverse_claim(conn, user, claim_id, client, institution_id=institution_id).body

    return await _in_one_thread(request, work)


@router.get(
    "/api/insurance/claims/{claim_id}",
    response_model=ClaimRecordOut,
    responses=error_responses(401, 403, 404, 422, 429),
)
def api_get_claim(
    request: Request, conn: Conn, claim_id: ClaimIdPath, institution_id: InstitutionQuery = None
) -> Any:
    """One desk claim as recorded, with its reversal if any (personal data: audited)."""
    user = desk_user(request, conn)
    if not can(user, "insurance.claims_view"):
        raise HTTPException(status_code=403, detail="无权访问 (forbidden)")
    return read_claim(conn, user, claim_id, client_of(request), institution_id)
