"""医共体按人头总额预付 JSON API: the stored runs and one run as the reader may see it.

``POST /api/capitation/runs`` settles uploaded files (multipart, as the page: ``policy``, the
``files`` — ``fund.toml`` and the tables — and optionally ``claims_run_id``, a finished
resident-insurance run whose claims give the spending through the ``villages`` map) with the
page's service (``settle_uploads``): 201 with the stored draft, 422 with every problem (the run
is recorded failed), 409 ``job.busy`` while another run holds the lane.
``POST /api/capitation/runs/{run_id}/payments`` records a quarterly prepayment paid against a
published run (the bureau); ``POST /api/capitation/runs/{run_id}/publish`` publishes a draft
(naming the run it corrects, with the reason, when the year has a published run); ``GET
/api/capitation/runs`` lists the runs a user may read (newest first); ``GET
/api/capitation/runs/{run_id}`` answers a run's budget build-up (each line with its article),
quarterly prepayments due, the year end per 医共体 and each member's share — every 医共体 for
leaders, the pilot office and the insurance bureau (``capitation.view_all``), a member
institution's own 医共体 in published runs only. The same service functions as the pages; errors in the one shape.
Amounts are strings (元, two decimals), as in the run's files.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from shidian.capitation import service
from shidian.capitation.payments import Payment, PrepaymentStatus
from shidian.platform.accounts import User
from shidian.web.deps import Conn, check_csrf, client_of, require
from shidian.web.errors import ErrorOut, error_response
from shidian.web.errors import responses as error_responses
from shidian.web.fields import read_uploads

router = APIRouter()
Viewer = Annotated[User, Depends(require("capitation.view"))]
Settler = Annotated[User, Depends(require("capitation.settle"))]
RunIdPath = Annotated[str, Path(pattern=r"^[0-9a-f]{8,64}$", description="结算编号 (run id)")]
Uploads = Annotated[list[UploadFile] | None, File(description="fund.toml 与输入表 (.csv/.xlsx)")]
PolicyForm = Annotated[str, Form(min_length=1, max_length=100, description="政策 (policy id)")]
ClaimsRunForm = Annotated[
    str,
    Form(
        max_length=32,
        pattern=r"^[0-9a-f]*$",
        description="已完成的居民医保结算编号 (spending from its claims)",
    ),
]
#: The largest file accepted (the page's limit).
MAX_UPLOAD_BYTES = 50 << 20


class RunSummaryOut(BaseModel):
    run_id: str
    year: str
    policy: str
    status: str
    pot: str
    communities: str
    corrects_run_id: str | None


class BudgetLineOut(BaseModel):
    code: str
    label: str
    amount: str
    article: str
    formula: str


class PrepaymentOut(BaseModel):
    community_id: str
    quarter: int
    due_on: str
    amount: str


class PaidOut(BaseModel):
    """A prepayment due with what was recorded as paid: status on_time | late | part_paid | unpaid."""

    community_id: str
    quarter: int
    due_on: str
    due: str
    paid: str
    outstanding: str
    last_paid_on: str | None
    status: str
    overdue: bool


class PaymentIn(BaseModel):
    """A payment of a 医共体's quarterly prepayment (the bureau's record: 到账登记)."""

    model_config = ConfigDict(extra="forbid")

    community_id: Annotated[str, Field(min_length=1, max_length=64)]
    quarter: Annotated[int, Field(ge=1, le=4)]
    amount: Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=2, description="元")]
    paid_on: dt.date
    reference: Annotated[str, Field(min_length=1, max_length=100, description="拨付凭证号")]
    reason: Annotated[str, Field(max_length=2000, description="超额拨付的原因")] = ""


class PublishIn(BaseModel):
    """Publish a draft; when its year has a published run, the run it corrects and why."""

    model_config = ConfigDict(extra="forbid")

    corrects_run_id: Annotated[str | None, Field(pattern=r"^[0-9a-f]{32}$")] = None
    reason: Annotated[str, Field(max_length=2000)] = ""


class YearEndOut(BaseModel):
    community_id: str
    insured: int
    pot: str
    prepaid: str
    spending: str
    surplus: str
    overspend: str
    reasonable: str
    fund_share: str
    reserve_drawn: str
    community_share: str
    retained: str


class ShareOut(BaseModel):
    institution_id: str
    community_id: str
    tier: str
    score: str
    weight: str
    tier_amount: str
    amount: str


class RunOut(BaseModel):
    run_id: str
    status: str
    year: int | None
    corrects_run_id: str | None
    full: bool
    policy: dict[str, Any]
    totals: dict[str, Any]
    checks: list[dict[str, Any]]
    budget: list[BudgetLineOut]
    prepayments: list[PrepaymentOut]
    paid: list[PaidOut]
    year_ends: list[YearEndOut]
    shares: list[ShareOut]


def _text(row: object, model: type[BaseModel]) -> dict[str, Any]:
    """A result row's fields as the model's: numbers as text, ints kept."""
    out: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        value = getattr(row, name)
        out[name] = value if field.annotation is int else str(value)
    return out


@router.get("/api/capitation/runs", response_model=list[RunSummaryOut], responses=error_responses(401, 403))
def api_runs(conn: Conn, user: Viewer) -> list[RunSummaryOut]:
    """The runs the user may read, newest first (a member institution: published runs only)."""
    return [_summary_out(r) for r in service.overview(conn, user)]


def _summary_out(run: service.RunSummary) -> RunSummaryOut:
    return RunSummaryOut(
        run_id=run.run_id,
        year=run.year,
        policy=run.policy,
        status=run.status,
        pot=run.pot,
        communities=run.communities,
        corrects_run_id=run.corrects_run_id,
    )


@router.post(
    "/api/capitation/runs",
    status_code=201,
    response_model=RunSummaryOut,
    responses=error_responses(400, 401, 403, 409, 413)
    | {422: {"model": ErrorOut, "description": "每个问题及其文件、行、列 (every problem)"}},
    dependencies=[Depends(check_csrf)],
)
def api_settle(
    request: Request,
    user: Settler,
    policy: PolicyForm,
    files: Uploads = None,
    claims_run_id: ClaimsRunForm = "",
) -> Response | RunSummaryOut:
    """Settle uploaded files (the page's service, ``settle_uploads``): 201 with the draft run, 422
    with every problem, 409 ``job.busy`` while another run holds the lane ``runs``."""
    # a sync route: the settlement (seconds) and the summary's query run in the thread pool
    uploads = read_uploads(files, MAX_UPLOAD_BYTES)
    engine, var_dir = request.app.state.engine, request.app.state.settings.var_dir
    run_id, problems = service.settle_uploads(
        engine,
        user,
        var_dir,
        policy,
        uploads,
        client_of(request),
        claims_run_id or None,
    )
    if run_id is None:
        return error_response(422, problems)
    with engine.connect() as conn:
        return _summary_out(service.run_summary(conn, user, run_id))


@router.get(
    "/api/capitation/runs/{run_id}", response_model=RunOut, responses=error_responses(401, 403, 404, 422)
)
def api_run(request: Request, conn: Conn, user: Viewer, run_id: RunIdPath) -> RunOut:
    """One run: budget build-up, prepayments, year ends, member shares (scoped to the reader)."""
    view = service.run_view(conn, user, request.app.state.settings.var_dir, run_id)
    record = view.record
    totals = record.get("totals", {}) if view.full else {"year": record.get("totals", {}).get("year")}
    return RunOut(
        run_id=view.run_id,
        status=view.row["status"],
        year=view.row["year"],
        corrects_run_id=view.row["corrects_run_id"],
        full=view.full,
        policy=record.get("policy", {}),
        totals=totals,
        checks=record.get("checks", []) if view.full else [],
        budget=[BudgetLineOut(**_text(x, BudgetLineOut)) for x in view.lines],
        prepayments=[PrepaymentOut(**_text(x, PrepaymentOut)) for x in view.prepayments],
        paid=[_paid(x) for x in view.paid],
        year_ends=[YearEndOut(**_text(x, YearEndOut)) for x in view.year_ends],
        shares=[ShareOut(**_text(x, ShareOut)) for x in view.shares],
    )


def _paid(row: PrepaymentStatus) -> PaidOut:
    return PaidOut(
        community_id=row.community_id,
        quarter=row.quarter,
        due_on=row.due_on.isoformat(),
        due=str(row.due),
        paid=str(row.paid),
        outstanding=str(row.outstanding),
        last_paid_on=None if row.last_paid_on is None else row.last_paid_on.isoformat(),
        status=row.status,
        overdue=row.overdue,
    )


@router.post(
    "/api/capitation/runs/{run_id}/payments",
    status_code=201,
    response_model=PaidOut,
    responses=error_responses(400, 401, 403, 404, 422),
    dependencies=[Depends(check_csrf)],
)
def api_record_payment(
    request: Request, conn: Conn, user: Settler, run_id: RunIdPath, body: PaymentIn
) -> PaidOut:
    """Record a payment of a quarterly prepayment (001 第十七篇 七(二)); the prepayment's status."""
    payment = Payment(
        body.community_id,
        body.quarter,
        body.amount,
        body.paid_on,
        body.reference.strip(),
        body.reason.strip(),
    )
    status = service.record_prepayment(
        conn, user, request.app.state.settings.var_dir, run_id, payment, client_of(request)
    )
    return _paid(status)


@router.post(
    "/api/capitation/runs/{run_id}/publish",
    response_model=RunSummaryOut,
    responses=error_responses(400, 401, 403, 404, 409, 422),
    dependencies=[Depends(check_csrf)],
)
def api_publish(
    request: Request, conn: Conn, user: Settler, run_id: RunIdPath, body: PublishIn
) -> RunSummaryOut:
    """Publish a draft run (a correction names the published run of the year it corrects)."""
    run = service.publish_run(conn, user, run_id, body.corrects_run_id, body.reason, client_of(request))
    totals = run["totals"] or {}
    return RunSummaryOut(
        run_id=run["id"],
        year=str(run["year"]),
        policy=run["policy_id"],
        status=run["status"],
        pot=totals.get("pot_yuan", ""),
        communities=totals.get("communities", ""),
        corrects_run_id=run["corrects_run_id"],
    )
