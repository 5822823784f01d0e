"""The discharge desk's JSON API (出院即时结算接口): post a claim, reverse it, read it back.

``POST /api/insurance/claims`` prices a claim in real time against the person's year and
records it (201); the same claim id with the same body answers the first answer again (200),
with a different body 409. ``POST /api/insurance/claims/{claim_id}/reverse`` reverses it (冲正)
and frees what it used of the caps; a second reversal answers the first again. A hospital user
posts and reverses for its own institution only; settlement officers for any. Every claim and
reversal writes an audit record in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, Literal

import anyio.to_thread
import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from shidian.platform import audit
from shidian.platform.access import can
from shidian.platform.accounts import User
from shidian.web.deps import Conn, check_csrf, current_user, get_engine, require
from shidian.web.errors import error_response
from shidian.web.errors import responses as error_responses
from shidian.web.insurance_desk import DeskError, get_claim, post_claim, reverse_claim

router = APIRouter()
Reader = Annotated[User, Depends(require("insurance.claims_view"))]

ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
ClaimId = Annotated[str, Field(pattern=ID, description="就诊编号 (claim id), the idempotency key")]
ClaimIdPath = Annotated[str, Path(pattern=ID, description="就诊编号 (claim id)")]
Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2, description="元, 两位小数")]
Flag = Literal[0, 1]


class ClaimIn(BaseModel):
    """One claim as the batch contract's ``claims.csv`` row (docs/insurance.md, Inputs)."""

    model_config = ConfigDict(extra="forbid")

    claim_id: ClaimId
    person_id: Annotated[str, Field(pattern=ID, description="人员编号")]
    institution_id: Annotated[str, Field(pattern=ID, description="医疗机构编码")]
    kind: Literal["inpatient", "outpatient"]
    start_date: dt.date
    end_date: dt.date
    total_cost: Money
    self_pay: Money = Decimal(0)
    special_exam: Money = Decimal(0)
    special_treatment: Money = Decimal(0)
    blood: Money = Decimal(0)
    special_material: Money = Decimal(0)
    tcm_cost: Money = Decimal(0)
    delivery: Literal["normal", "pathological"] | None = None
    cataract_eyes: Annotated[int, Field(ge=0, le=2)] = 0
    other_insurance_paid: Money = Decimal(0)
    transfer_of: Annotated[str, Field(pattern=ID)] | None = None
    certificate: Flag = 0
    referral: Flag = 0
    chronic_disease: Annotated[str, Field(pattern=ID)] | None = None
    tcm_fracture: Flag = 0
    general_fee: Money = Decimal(0)
    drug_cost: Money = Decimal(0)
    catalogue_external_drug_cost: Money = Decimal(0)
    desk_paid: Money | None = None


class ClaimOut(BaseModel):
    """The desk's answer: the reimbursement, the rule trail and every priced column (as text)."""

    claim_id: str
    status: Literal["paid", "reversed"]
    person_id: str
    institution_id: str
    year: int
    dataset_id: str
    policy_id: str
    seq: int = Field(description="the claim's place among the person's desk claims of the year")
    reimbursement: str
    reimbursable: str
    deductible: str
    rule: str
    cap_bucket: str | None
    cap_before: str | None
    cap_after: str | None
    reason: str = Field(description="补偿计算说明 (the rule trail, in Chinese)")
    priced: dict[str, str | int | None]


class ReversalOut(BaseModel):
    """A reversal (冲正): what the claim had paid and what it freed of its cap."""

    claim_id: str
    status: Literal["reversed"]
    person_id: str
    institution_id: str
    year: int
    reimbursement: str
    cap_bucket: str | None
    freed: str
    usage_after: dict[str, str]
    reversed_at: str


#: 200: the same claim id and body again: the first answer, unchanged.
REPLAY: dict[int | str, dict[str, Any]] = {200: {"model": ClaimOut, "description": "the first answer again"}}


class ClaimRecordOut(ClaimOut):
    reversal: ReversalOut | None = None


def _error(exc: DeskError) -> JSONResponse:
    return error_response(exc.status, exc.problems)


async def _in_one_thread(request: Request, work: Callable[[sa.Connection, User], Any]) -> Any:
    """Sign-in check, the desk's work, audit and commit in one transaction on one worker thread.

    What the work refuses (``DeskError``) is answered in the one error shape and changes nothing:
    a refusal after a write rolls the transaction back. The usual dependencies (``Conn``,
    ``CurrentUser``, ``require``) each take a hop to the thread pool; at a counter every
    millisecond is the clerk's, so the desk's two writing routes call the same functions
    (``deps.current_user``, ``access.can``) from one thread instead. The transaction commits
    before the answer is sent.
    """
    engine = get_engine(request)

    def run() -> Any:
        try:
            with engine.begin() as conn:
                user = current_user(request, conn)
                if not can(user, "insurance.desk"):
                    raise HTTPException(status_code=403, detail="无权访问 (forbidden)")
                try:
                    return work(conn, user)
                except DeskError as exc:
                    if exc.wrote:  # refused after a write: undone (read-only refusals just commit)
                        conn.rollback()
                    return _error(exc)
        except sa.exc.IntegrityError:  # the same claim id raced in for another person
            raise HTTPException(status_code=409, detail="就诊编号已被使用 (claim id already used)") from None

    return await anyio.to_thread.run_sync(run)


@router.post(
    "/api/insurance/claims",
    status_code=201,
    response_model=ClaimOut,
    responses=REPLAY | error_responses(400, 401, 403, 409, 422),
    dependencies=[Depends(check_csrf)],
)
async def api_post_claim(request: Request, body: ClaimIn) -> Any:
    """Price one claim against the person's year, record it and answer the reimbursement."""
    claim = body.model_dump()

    def work(conn: sa.Connection, user: User) -> Any:
        answer, recorded = post_claim(conn, user, claim)
        audit.record(
            conn,
            request,
            user,
            "insurance.desk_post" if recorded else "insurance.desk_replay",
            answer["claim_id"],
            {
                "person_id": answer["person_id"],
                "institution_id": answer["institution_id"],
                "reimbursement": answer["reimbursement"],
            },
        )
        # The answer is already the documented ClaimOut: sent as it is, not validated again.
        return JSONResponse(answer, status_code=201 if recorded else 200)

    return await _in_one_thread(request, work)


@router.post(
    "/api/insurance/claims/{claim_id}/reverse",
    response_model=ReversalOut,
    responses=error_responses(401, 403, 404, 422),
    dependencies=[Depends(check_csrf)],
)
async def api_reverse_claim(request: Request, claim_id: ClaimIdPath) -> Any:
    """冲正: reverse a claim and free what it used; reversing twice answers the first reversal."""

    def work(conn: sa.Connection, user: User) -> Any:
        answer, done = reverse_claim(conn, user, claim_id)
        audit.record(
            conn,
            request,
            user,
            "insurance.desk_reverse" if done else "insurance.desk_reverse_replay",
            claim_id,
            {"person_id": answer["person_id"], "freed": answer["freed"]},
        )
        return answer

    return await _in_one_thread(request, work)


@router.get(
    "/api/insurance/claims/{claim_id}",
    response_model=ClaimRecordOut,
    responses=error_responses(401, 403, 404, 422),
)
def api_get_claim(request: Request, conn: Conn, user: Reader, claim_id: ClaimIdPath) -> Any:
    """One desk claim as recorded, with its reversal if any (personal data: audited)."""
    try:
        record = get_claim(conn, user, claim_id)
    except DeskError as exc:
        return _error(exc)
    audit.record(
        conn, request, user, "insurance.desk_claim_view", claim_id, {"person_id": record["person_id"]}
    )
    return record
