"""Pilot report pages (试点填报): the index, the unit's form, Excel up/download, approvals,
change requests, completeness. Each route parses its input, calls one workflow of
``shidian.pilots.service`` and renders; problems re-render the form with 422 (nothing saved)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from shidian.pilots.form_excel import MAX_UPLOAD_BYTES
from shidian.pilots.service import overview
from shidian.pilots.service import reports as service
from shidian.pilots.service.reports import ReportRef
from shidian.pilots.workflow import STATUSES
from shidian.platform.accounts import User
from shidian.platform.clock import today
from shidian.problems import Problem
from shidian.web.deps import Conn, FormBody, check_csrf, client_of, require
from shidian.web.fields import TEXT
from shidian.web.pilots.forms import form_rows, parse_form_values
from shidian.web.pilots.views import problem_rows
from shidian.web.templating import render

router = APIRouter()
Viewer = Annotated[User, Depends(require("pilots.reports.view"))]
Comment = Annotated[str, Form(max_length=2000, pattern=TEXT)]
PlanId = Annotated[int | None, Query(ge=1, le=2**31 - 1, description="方案编号 (plan id)")]
FORM = "/pilots/reports/{plan_id}/{unit_code}/{period}"

_DONE = {
    "saved": "草稿已保存 (draft saved)",
    "submitted": "已提交, 等待上级审核 (submitted)",
    "approved": "已审核通过, 报表已锁定 (approved and locked)",
    "returned": "已退回填报单位 (returned)",
    "uploaded": "Excel 已导入为草稿, 请核对后提交 (uploaded as draft)",
    "requested": "修改申请已提交, 等待审核人同意 (change requested)",
    "granted": "已同意修改, 报表已退回为草稿 (change granted)",
    "refused": "已不同意修改 (change refused)",
}


def _form_page(
    request: Request,
    conn: sa.Connection,
    user: User,
    ref: ReportRef,
    *,
    values: dict[tuple[str, str], tuple[Any, Any]] | None = None,
    problems: list[Problem] | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    form = service.report_form(conn, user, ref)
    scope = form.ctx
    pending = form.change is not None
    context = {
        "plan": scope.plan_row,
        "plan_model": scope.plan,
        "unit": scope.unit,
        "start": scope.start,
        "period": scope.label,
        "report": scope.report,
        "status": scope.status,
        "status_label": STATUSES.get(scope.status or "", "未填报"),
        "rows": form_rows(scope.specs, values if values is not None else form.values),
        "editable": scope.may("save"),
        "can_submit": scope.may("submit"),
        "can_approve": scope.may("approve"),
        "can_request_change": scope.may("request_change", change_requested=pending),
        "can_decide_change": scope.may("grant_change", change_requested=pending),
        "change": form.change,
        "problems": problem_rows(problems or []),
        "message": message,
        "path": scope.path,
        "period_problems": problem_rows(scope.period_problems()),
    }
    return render(request, "pilots/reports_form.html", context, status_code)


def _done(ref: ReportRef, done: str) -> Response:
    return RedirectResponse(f"{ref.path}?done={done}", status_code=303)


def _index(
    request: Request, conn: Conn, user: User, problems: list[Problem] | None = None, status: int = 200
) -> Response:
    index = overview.reports_index(conn, user, today())
    context = {"plans": index.plans, "mine": index.mine, "queue": index.queue, "changes": index.changes,
               "statuses": STATUSES, "problems": problem_rows(problems or []),
               "reviewed": request.query_params.get("reviewed", "")}  # fmt: skip
    return render(request, "pilots/reports.html", context, status)


@router.get("/pilots/reports", include_in_schema=False)
def reports_index(request: Request, conn: Conn, user: Viewer) -> Response:
    return _index(request, conn, user)


@router.post("/pilots/reports/review", include_in_schema=False, dependencies=[Depends(check_csrf)])
def reports_review(request: Request, form: FormBody, conn: Conn, user: Viewer) -> Response:
    """批量审核/退回: the reports ticked in the approval queue, all or none."""
    action: Literal["approve", "return"] = "return" if form.get("action") == "return" else "approve"
    comment = str(form.get("comment") or "").replace("\x00", "")[:2000]
    refs = []
    for value in form.getlist("report"):
        plan_id, _, rest = str(value).partition("|")
        unit_code, _, period = rest.partition("|")
        if plan_id.isdigit() and unit_code and period:
            refs.append(ReportRef(int(plan_id), unit_code, period))
    count, problems = service.review_reports(conn, user, refs, action, comment, client_of(request))
    if problems:
        return _index(request, conn, user, problems, 422)
    return RedirectResponse(f"/pilots/reports?reviewed={action}-{count}", status_code=303)


@router.get(FORM, include_in_schema=False)
def report_form(
    request: Request, conn: Conn, user: Viewer, plan_id: int, unit_code: str, period: str
) -> Response:
    saved = request.query_params.get("done")
    ref = ReportRef(plan_id, unit_code, period)
    return _form_page(request, conn, user, ref, message=_DONE.get(saved or ""))


@router.post(FORM, include_in_schema=False, dependencies=[Depends(check_csrf)])
def report_save(
    request: Request, form: FormBody, conn: Conn, user: Viewer, plan_id: int, unit_code: str, period: str
) -> Response:
    ref = ReportRef(plan_id, unit_code, period)
    specs = service.open_report(conn, user, ref).specs
    action: Literal["save", "submit"] = "submit" if form.get("action") == "submit" else "save"
    entries, raw, problems = parse_form_values(form, specs)
    report_id, problems = service.save_report(
        conn, user, ref, entries, action, problems=problems, client=client_of(request)
    )
    if report_id is None:
        return _form_page(request, conn, user, ref, values=raw, problems=problems, status_code=422)
    return _done(ref, "submitted" if action == "submit" else "saved")


@router.get(FORM + "/form.xlsx", include_in_schema=False)
def report_xlsx(
    request: Request, conn: Conn, user: Viewer, plan_id: int, unit_code: str, period: str
) -> Response:
    data, name = service.form_workbook(conn, user, ReportRef(plan_id, unit_code, period))
    return Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post(FORM + "/upload", include_in_schema=False, dependencies=[Depends(check_csrf)])
def report_upload(
    request: Request,
    conn: Conn,
    user: Viewer,
    plan_id: int,
    unit_code: str,
    period: str,
    file: Annotated[UploadFile | None, File(description="填好的填报表 (.xlsx/.csv)")] = None,
) -> Response:
    ref = ReportRef(plan_id, unit_code, period)
    filename = Path(file.filename or "upload.xlsx").name if file is not None else "upload.xlsx"
    data = file.file.read(MAX_UPLOAD_BYTES + 1) if file is not None else b""
    report_id, problems = service.upload_report_form(
        conn, user, ref, data, filename, request.app.state.settings.var_dir, client_of(request)
    )
    if report_id is None:
        return _form_page(request, conn, user, ref, problems=problems, status_code=422)
    return _done(ref, "uploaded")


def _review(
    request: Request,
    conn: Conn,
    user: User,
    ref: ReportRef,
    action: Literal["approve", "return"],
    comment: str,
) -> Response:
    status, problems = service.review_report(conn, user, ref, action, comment, client_of(request))
    if status is None:
        return _form_page(request, conn, user, ref, problems=problems, status_code=422)
    return _done(ref, {"approve": "approved", "return": "returned"}[action])


@router.post(FORM + "/approve", include_in_schema=False, dependencies=[Depends(check_csrf)])
def report_approve(
    request: Request,
    conn: Conn,
    user: Viewer,
    plan_id: int,
    unit_code: str,
    period: str,
    comment: Comment = "",
) -> Response:
    return _review(request, conn, user, ReportRef(plan_id, unit_code, period), "approve", comment)


@router.post(FORM + "/return", include_in_schema=False, dependencies=[Depends(check_csrf)])
def report_return(
    request: Request,
    conn: Conn,
    user: Viewer,
    plan_id: int,
    unit_code: str,
    period: str,
    comment: Comment = "",
) -> Response:
    return _review(request, conn, user, ReportRef(plan_id, unit_code, period), "return", comment)


@router.post(FORM + "/change-request", include_in_schema=False, dependencies=[Depends(check_csrf)])
def report_change_request(
    request: Request,
    conn: Conn,
    user: Viewer,
    plan_id: int,
    unit_code: str,
    period: str,
    reason: Comment = "",
) -> Response:
    ref = ReportRef(plan_id, unit_code, period)
    problems = service.request_change(conn, user, ref, reason, client_of(request))
    if problems:
        return _form_page(request, conn, user, ref, problems=problems, status_code=422)
    return _done(ref, "requested")


@router.post(FORM + "/change-request/{decision}", include_in_schema=False, dependencies=[Depends(check_csrf)])
def report_change_decide(
    request: Request,
    conn: Conn,
    user: Viewer,
    plan_id: int,
    unit_code: str,
    period: str,
    decision: Literal["grant", "refuse"],
    comment: Comment = "",
) -> Response:
    ref = ReportRef(plan_id, unit_code, period)
    service.decide_change(conn, user, ref, decision, comment, client_of(request))
    return _done(ref, "granted" if decision == "grant" else "refused")


@router.get("/pilots/reports/completeness", include_in_schema=False)
def completeness_page(
    request: Request,
    conn: Conn,
    user: Viewer,
    plan: PlanId = None,
    year: Annotated[int | None, Query(ge=1900, le=2999, description="年度 (year)")] = None,
) -> Response:
    context = overview.completeness_grid(conn, user, plan, today(), year)
    return render(request, "pilots/reports_completeness.html", context)
