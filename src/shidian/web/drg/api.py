"""The DRG JSON API (DRG接口): datasets and imports, runs, the overview, a hospital's results.

Thin routes: each parses the request, calls one service of ``shidian.drg.service`` and returns
its result as a model of ``shidian.web.drg.models``; a refusal (``Refused``) leaves through the
one error path. The same access rules as the pages: a hospital user sees its own hospital only,
and any other one answers 404 exactly as a hospital that does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import Response

from shidian.drg import store
from shidian.drg.results.cases import MAX_PAGE_SIZE, PAGE_SIZE
from shidian.drg.results.files import payments, run_files_summary, run_near_caps
from shidian.drg.results.models import CasePage
from shidian.drg.service import cancel_run, explain_run_case, import_uploads, publish_run, start_run
from shidian.drg.service.datasets import Upload
from shidian.drg.service.results import any_run, hospital_cases, open_hospital, open_run
from shidian.platform.accounts import User
from shidian.web.deps import Conn, CurrentUser, check_csrf, client_of, require
from shidian.web.drg.models import (
    CaseExplanationOut,
    Category,
    DatasetOut,
    HospitalPayments,
    Month,
    Overview,
    Page,
    PublishIn,
    RunCreate,
    RunInfo,
    RunOut,
    case_filters,
    dataset_out,
    explanation_out,
    run_out,
)
from shidian.web.errors import ErrorOut, error_response
from shidian.web.errors import responses as error_responses
from shidian.web.fields import HEX_ID, TEXT

router = APIRouter()
Viewer = Annotated[User, Depends(require("drg.view_all"))]
Runner = Annotated[User, Depends(require("drg.run"))]
Publisher = Annotated[User, Depends(require("drg.publish"))]
Importer = Annotated[User, Depends(require("drg.import"))]
RunIdPath = Annotated[str, PathParam(pattern=HEX_ID, description="结算批次编号 (run id)")]
DatasetName = Annotated[str, Form(max_length=200, pattern=TEXT, description="数据集名称 (dataset name)")]
Uploads = Annotated[list[UploadFile] | None, File(description="输入文件 (.csv/.xlsx, settlement.toml)")]


def uploads_of(files: list[UploadFile] | None) -> list[Upload]:
    """The uploaded files for the import services (read when the service takes them)."""
    return [Upload(f.filename or "", f.size or 0, f.file.read) for f in files or []]


# ---- datasets and imports -------------------------------------------------------------------------


@router.get("/api/drg/datasets", response_model=list[DatasetOut], responses=error_responses(401, 403))
def api_datasets(conn: Conn, user: Viewer) -> list[DatasetOut]:
    """Every DRG dataset, newest first."""
    return [dataset_out(row) for row in store.list_datasets(conn)]


@router.post(
    "/api/drg/imports",
    status_code=201,
    response_model=DatasetOut,
    responses=error_responses(400, 401, 403, 409)
    | {422: {"model": ErrorOut, "description": "每个问题及其文件、行、列 (every problem)"}},
    dependencies=[Depends(check_csrf)],
)
def api_import(
    request: Request, user: Importer, files: Uploads = None, name: DatasetName = ""
) -> Response | DatasetOut:
    """Check and import a DRG dataset in one step: 201 with the dataset, 422 with every problem,
    or 409 ``job.busy`` while another import runs (in any server process)."""
    engine, var_dir = request.app.state.engine, request.app.state.settings.var_dir
    dataset, problems = import_uploads(engine, user, var_dir, uploads_of(files), name, client_of(request))
    if dataset is None:
        return error_response(422, problems)
    return dataset_out(dataset)


# ---- runs -----------------------------------------------------------------------------------------


@router.get("/api/drg/runs", response_model=list[RunOut], responses=error_responses(401, 403))
def api_runs(conn: Conn, user: Viewer) -> list[RunOut]:
    """Every DRG settlement run, newest first, drafts included."""
    return [run_out(r) for r in store.list_runs(conn)]


@router.post(
    "/api/drg/runs",
    status_code=201,
    response_model=RunOut,
    responses=error_responses(400, 401, 403, 422),
    dependencies=[Depends(check_csrf)],
)
def api_start_run(request: Request, user: Runner, body: RunCreate) -> RunOut:
    """Start a run; it is queued, then runs in the background. Poll ``GET /api/drg/runs/{id}``."""
    with request.app.state.engine.begin() as tx:  # committed before the job reads it
        run_id = start_run(
            tx, user, body.dataset_id, body.policy_id, body.corrects_run_id, body.note, client_of(request)
        )
        run = any_run(tx, run_id)
    request.app.state.executor.submit(run_id)
    return run_out(run)


@router.get("/api/drg/runs/{run_id}", response_model=RunOut, responses=error_responses(401, 403, 404, 422))
def api_run(conn: Conn, user: Viewer, run_id: RunIdPath) -> RunOut:
    """One run, in any state: queued, running, draft, published or failed."""
    return run_out(any_run(conn, run_id))


@router.post(
    "/api/drg/runs/{run_id}/publish",
    response_model=RunOut,
    responses=error_responses(400, 401, 403, 404, 409, 422),
    dependencies=[Depends(check_csrf)],
)
def api_publish(
    request: Request, conn: Conn, user: Publisher, run_id: RunIdPath, body: PublishIn | None = None
) -> RunOut:
    """Publish a draft; a published run is read-only, so publishing anything else is a 409. When
    the year already has a published run, the body names the run this one corrects and the reason
    (else 409 ``drg.publish.correction_required`` or 422 ``drg.publish.reason_required``)."""
    corrects, reason = (None, "") if body is None else (body.corrects_run_id, body.reason)
    return run_out(publish_run(conn, user, run_id, client_of(request), corrects, reason))


@router.post(
    "/api/drg/runs/{run_id}/cancel",
    response_model=RunOut,
    responses=error_responses(401, 403, 404, 409, 422),
    dependencies=[Depends(check_csrf)],
)
def api_cancel(request: Request, conn: Conn, user: Runner, run_id: RunIdPath) -> RunOut:
    """Cancel a queued or running run: a queued one fails at once as cancelled, a running one at
    its next stage (poll ``GET /api/drg/runs/{id}``); anything else is a 409."""
    return run_out(cancel_run(conn, user, run_id, client_of(request)))


@router.get(
    "/api/drg/runs/{run_id}/overview", response_model=Overview, responses=error_responses(401, 403, 404, 409)
)
def overview_api(request: Request, conn: Conn, user: Viewer, run_id: str) -> Overview:
    """The overview's numbers: totals, months, hospitals' year rows, case mix, warnings, near caps."""
    opened = open_run(conn, user, request.app.state.settings.var_dir, run_id)
    summary = run_files_summary(opened.path, opened.dataset)
    return Overview(
        run=RunInfo.of(opened.run),
        totals=summary.totals,
        policy=summary.policy,
        months=summary.months,
        hospitals=summary.hospitals,
        case_mix=summary.case_mix,
        warnings=summary.warnings,
        near_caps=run_near_caps(opened.path, opened.dataset, str(opened.run["policy_id"])),
    )


# ---- a hospital's results -------------------------------------------------------------------------


@router.get(
    "/api/drg/runs/{run_id}/hospitals/{hospital_id}/cases",
    response_model=CasePage,
    responses=error_responses(401, 404, 409, 422),
)
def cases_api(
    request: Request,
    conn: Conn,
    user: CurrentUser,
    run_id: str,
    hospital_id: str,
    category: Category = None,
    drg_code: str | None = None,
    month: Month = None,
    q: Annotated[str | None, Query(description="病案号包含此文本")] = None,
    page: Page = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = PAGE_SIZE,
) -> CasePage:
    """A hospital's cases with their class and points, filtered, a page at a time (by case id)."""
    opened, _ = open_hospital(conn, user, request.app.state.settings.var_dir, run_id, hospital_id)
    filters = case_filters(category, drg_code, month, q)
    return hospital_cases(conn, user, opened, hospital_id, filters, page, page_size, client_of(request))


@router.get(
    "/api/drg/runs/{run_id}/hospitals/{hospital_id}/payments",
    response_model=HospitalPayments,
    responses=error_responses(401, 404, 409),
)
def payments_api(
    request: Request, conn: Conn, user: CurrentUser, run_id: str, hospital_id: str
) -> HospitalPayments:
    """A hospital's monthly payments (monthly_payments.csv) and year-end statement (annual.csv)."""
    opened, year = open_hospital(conn, user, request.app.state.settings.var_dir, run_id, hospital_id)
    return HospitalPayments(
        run_id=opened.id,
        hospital_id=hospital_id,
        name=year.name,
        months=payments(opened.path, hospital_id),
        year=year,
    )


@router.get(
    "/api/drg/runs/{run_id}/cases/{case_id}",
    response_model=CaseExplanationOut,
    responses=error_responses(401, 404, 409),
)
def case_api(
    request: Request, conn: Conn, user: CurrentUser, run_id: str, case_id: str
) -> CaseExplanationOut:
    """One case: its row and the explanation of its class and points, with the articles."""
    opened, explained = explain_run_case(
        conn, user, request.app.state.settings.var_dir, run_id, case_id, client_of(request)
    )
    return explanation_out(opened.id, explained)
