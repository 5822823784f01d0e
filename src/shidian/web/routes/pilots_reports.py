"""Pilot reports (试点填报): the unit's form, Excel up/download, approvals, completeness.

A reporting unit (填报单位) fills the form of its own unit for a period (one row per indicator
it reports; numerator and denominator for rates; a row per population group where targets
are set per group), saves a draft and submits; the level above approves (locked) or returns
it with a comment; a locked report changes only through a change request the approver grants.
Every change writes an audit record in the same transaction. Plan loading is in
``pilots_reports_plans``, the JSON API in ``pilots_reports_api`` (both included here).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from shidian.pilots.entry import (
    Entry,
    check_entries,
)
from shidian.pilots.supervision import (
    TIMELINESS_LABELS,
    completeness,
    timeliness,
)
from shidian.pilots.workflow import STATUSES, Refusal, decide
from shidian.platform import audit
from shidian.platform.accounts import User
from shidian.platform.clock import now, today
from shidian.platform.db.pilots_schema import pilot_change_requests
from shidian.platform.units import all_units
from shidian.problems import Problem, Source, has_errors
from shidian.web.deps import Conn, check_csrf, require
from shidian.web.drg_api import TEXT
from shidian.web.pilots_forms import MAX_UPLOAD_BYTES, blank_form, form_rows, parse_form_values, read_form
from shidian.web.pilots_reports import (
    ReportScope,
    actor_for,
    get_report,
    label_of,
    open_periods,
    pending_change,
    plan_unit_ids,
    plans_for,
    problem_rows,
    received_reports,
    refuse,
    report_values,
    reports_query,
    set_status,
    visible_units,
    write_values,
)
from shidian.web.routes.pilots_reports_api import router as api_router
from shidian.web.routes.pilots_reports_plans import router as plans_router
from shidian.web.templating import render

router = APIRouter()
router.include_router(plans_router)
router.include_router(api_router)
Viewer = Annotated[User, Depends(require("pilots.reports.view"))]
Comment = Annotated[str, Form(max_length=2000, pattern=TEXT)]

PlanId = Annotated[int | None, Query(ge=1, le=2**31 - 1, description="方案编号 (plan id)")]


def _form_page(
    request: Request,
    conn: sa.Connection,
    scope: ReportScope,
    *,
    values: dict[tuple[str, str], tuple[Any, Any]] | None = None,
    problems: list[Problem] | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    report = scope.report
    change = pending_change(conn, report.id) if report is not None else None
    pending = change is not None
    context = {
        "plan": scope.plan_row,
        "plan_model": scope.plan,
        "unit": scope.unit,
        "start": scope.start,
        "period": label_of(scope.plan_row, scope.start),
        "report": report,
        "status": scope.status,
        "status_label": STATUSES.get(scope.status or "", "未填报"),
        "rows": form_rows(
            scope.specs, values if values is not None else (report_values(conn, report.id) if report else {})
        ),
        "editable": scope.may("save"),
        "can_submit": scope.may("submit"),
        "can_approve": scope.may("approve"),
        "can_request_change": scope.may("request_change", change_requested=pending),
        "can_decide_change": scope.may("grant_change", change_requested=pending),
        "change": change,
        "problems": problem_rows(problems or []),
        "message": message,
        "path": scope.path,
        "period_problems": problem_rows(scope.period_problems()),
    }
    return render(request, "pilots/reports_form.html", context, status_code)


# ---- the index: my reports, the approval queue ---------------------------------------------------


@router.get("/pilots/reports", include_in_schema=False)
def reports_index(request: Request, conn: Conn, user: Viewer) -> Response:
    tree = all_units(conn)
    actor = actor_for(tree, user)
    visible = visible_units(tree, user)
    plans = plans_for(conn, user, visible)
    as_of = today()
    mine: list[dict[str, Any]] = []
    if user.role == "reporting_unit":
        for plan_row in plans:
            if user.unit_id not in plan_unit_ids(conn, plan_row.id):
                continue
            unit = tree[user.unit_id]
            periods = []
            for start in open_periods(plan_row, as_of)[:24]:
                report = get_report(conn, plan_row.id, unit.id, start)
                periods.append(
                    {
                        "start": start,
                        "label": label_of(plan_row, start),
                        "status": report.status if report else None,
                        "status_label": STATUSES.get(report.status if report else "", "未填报"),
                        "path": f"/pilots/reports/{plan_row.id}/{unit.code}/{start.isoformat()}",
                    }
                )
            mine.append({"plan": plan_row, "unit": unit, "periods": periods})
    queue: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    rows = conn.execute(reports_query(visible)).all() if visible else []
    pending_ids = {
        r.report_id: r
        for r in conn.execute(
            sa.select(pilot_change_requests).where(pilot_change_requests.c.status == "pending")
        ).all()
    }
    for row in rows:
        entry = {
            "row": row,
            "label": _label(row),
            "path": f"/pilots/reports/{row.plan_id}/{row.unit_code}/{row.period_start.isoformat()}",
        }
        if row.status == "submitted" and not isinstance(
            decide(actor, "approve", row.status, row.unit_id, row.unit_parent_id), Refusal
        ):
            queue.append(entry)
        if row.id in pending_ids and not isinstance(
            decide(actor, "grant_change", row.status, row.unit_id, row.unit_parent_id, change_requested=True),
            Refusal,
        ):
            changes.append({**entry, "change": pending_ids[row.id]})
    return render(
        request,
        "pilots/reports.html",
        {"plans": plans, "mine": mine, "queue": queue, "changes": changes, "statuses": STATUSES},
    )


def _label(row: Any) -> str:
    from shidian.pilots.entry import period_label

    return period_label(row.period_start, row.plan_period)


# ---- the form --------------------------------------------------------------------------------------


@router.get("/pilots/reports/{plan_id}/{unit_code}/{period}", include_in_schema=False)
def report_form(
    request: Request, conn: Conn, user: Viewer, plan_id: int, unit_code: str, period: str
) -> Response:
    scope = ReportScope(conn, user, plan_id, unit_code, period)
    saved = request.query_params.get("done")
    return _form_page(request, conn, scope, message=_DONE.get(saved or ""))


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


def _save(
    request: Request,
    conn: sa.Connection,
    scope: ReportScope,
    entries: list[Entry],
    action: str,
    problems: list[Problem],
    raw: dict[tuple[str, str], tuple[Any, Any]] | None,
    audit_action: str,
    detail: dict[str, Any] | None = None,
) -> Response | int:
    """Validate and write (or answer 422 with every problem and nothing saved)."""
    new_status = refuse(scope.decide(action))
    problems = problems + scope.period_problems()
    problems += check_entries(
        scope.specs, entries, complete=action == "submit", source=(detail or {}).get("file", "<form>")
    )
    if has_errors(problems):
        return _form_page(request, conn, scope, values=raw, problems=problems, status_code=422)
    report_id = write_values(
        conn, scope.plan_row, scope.unit.id, scope.start, entries, new_status, scope.user
    )
    audit.record(
        conn,
        request,
        scope.user,
        audit_action,
        f"pilot_report/{report_id}",
        {"plan": scope.plan_row.code, "unit": scope.unit.code, "period": scope.start.isoformat(), "status": new_status,
         "values": len(entries), **(detail or {})},
    )  # fmt: skip
    return report_id


@router.post(
    "/pilots/reports/{plan_id}/{unit_code}/{period}",
    include_in_schema=False,
    dependencies=[Depends(check_csrf)],
)
async def report_save(
    request: Request, conn: Conn, user: Viewer, plan_id: int, unit_code: str, period: str
) -> Response:
    scope = ReportScope(conn, user, plan_id, unit_code, period)
    form = await request.form()
    action = "submit" if form.get("action") == "submit" else "save"
    entries, raw, problems = parse_form_values(form, scope.specs)
    result = _save(
        request,
        conn,
        scope,
        entries,
        action,
        problems,
        raw,
        f"pilots.report_{'submitted' if action == 'submit' else 'saved'}",
    )
    if isinstance(result, Response):
        return result
    return RedirectResponse(
        f"{scope.path}?done={'submitted' if action == 'submit' else 'saved'}", status_code=303
    )


@router.get("/pilots/reports/{plan_id}/{unit_code}/{period}/form.xlsx", include_in_schema=False)
def report_xlsx(
    request: Request, conn: Conn, user: Viewer, plan_id: int, unit_code: str, period: str
) -> Response:
    scope = ReportScope(conn, user, plan_id, unit_code, period)
    values = report_values(conn, scope.report.id) if scope.report is not None else {}
    title = [
        ("方案", f"{scope.plan_row.name} ({scope.plan_row.code} 第{scope.plan_row.version}版)"),
        ("填报单位", f"{scope.unit.name} ({scope.unit.code})"),
        ("报告期", label_of(scope.plan_row, scope.start)),
    ]
    data = blank_form(scope.specs, values, title)
    name = f"{scope.plan_row.code}-{scope.unit.code}-{scope.start.isoformat()}.xlsx"
    return Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post(
    "/pilots/reports/{plan_id}/{unit_code}/{period}/upload",
    include_in_schema=False,
    dependencies=[Depends(check_csrf)],
)
def report_upload(
    request: Request,
    conn: Conn,
    user: Viewer,
    plan_id: int,
    unit_code: str,
    period: str,
    file: Annotated[UploadFile | None, File(description="填好的填报表 (.xlsx/.csv)")] = None,
) -> Response:
    scope = ReportScope(conn, user, plan_id, unit_code, period)
    refuse(scope.decide("save"))
    filename = Path(file.filename or "upload.xlsx").name if file is not None else "upload.xlsx"
    data = file.file.read(MAX_UPLOAD_BYTES + 1) if file is not None else b""
    problems: list[Problem] = []
    entries: list[Entry] = []
    if not data:
        problems.append(Problem("pilots.upload.empty", "没有上传文件 (no file)", Source(filename)))
    elif len(data) > MAX_UPLOAD_BYTES:
        problems.append(
            Problem(
                "pilots.upload.too_large",
                f"文件超过 {MAX_UPLOAD_BYTES // 1024 // 1024} MB (file too large)",
                Source(filename),
            )
        )
    else:
        entries, problems = read_form(data, filename)
        entries = [e for e in entries if e.numerator is not None or e.denominator is not None]
    if has_errors(problems):
        audit.record(
            conn,
            request,
            user,
            "pilots.report_upload_refused",
            scope.path,
            {"file": filename, "problems": len(problems)},
        )
        return _form_page(request, conn, scope, problems=problems, status_code=422)
    result = _save(
        request, conn, scope, entries, "save", [], None, "pilots.report_uploaded", {"file": filename}
    )
    if isinstance(result, Response):
        # nothing was saved; the refusal itself is recorded (a separate, committed audit event)
        audit.record(conn, request, user, "pilots.report_upload_refused", scope.path, {"file": filename})
        return result
    return RedirectResponse(f"{scope.path}?done=uploaded", status_code=303)


# ---- approval, return, change requests --------------------------------------------------------------


def _review(
    request: Request, conn: Conn, user: User, scope: ReportScope, action: str, comment: str
) -> Response:
    """Approve (then locked) or return a submitted report (审核/退回); a return needs a comment."""
    status = refuse(scope.decide(action))
    assert scope.report is not None
    if action == "return" and not comment:
        problem = Problem(
            "pilots.report.comment_required",
            "退回时必须填写退回原因 (a comment is required)",
            Source("<form>", column="comment"),
        )
        return _form_page(request, conn, scope, problems=[problem], status_code=422)
    set_status(conn, scope.report.id, status, user, comment or None)
    done = {"approve": "approved", "return": "returned"}[action]
    audit.record(
        conn, request, user, f"pilots.report_{done}", f"pilot_report/{scope.report.id}", {"comment": comment}
    )
    return RedirectResponse(f"{scope.path}?done={done}", status_code=303)


@router.post(
    "/pilots/reports/{plan_id}/{unit_code}/{period}/approve",
    include_in_schema=False,
    dependencies=[Depends(check_csrf)],
)
def report_approve(
    request: Request,
    conn: Conn,
    user: Viewer,
    plan_id: int,
    unit_code: str,
    period: str,
    comment: Comment = "",
) -> Response:
    scope = ReportScope(conn, user, plan_id, unit_code, period)
    return _review(request, conn, user, scope, "approve", comment.strip())


@router.post(
    "/pilots/reports/{plan_id}/{unit_code}/{period}/return",
    include_in_schema=False,
    dependencies=[Depends(check_csrf)],
)
def report_return(
    request: Request,
    conn: Conn,
    user: Viewer,
    plan_id: int,
    unit_code: str,
    period: str,
    comment: Comment = "",
) -> Response:
    scope = ReportScope(conn, user, plan_id, unit_code, period)
    return _review(request, conn, user, scope, "return", comment.strip())


@router.post(
    "/pilots/reports/{plan_id}/{unit_code}/{period}/change-request",
    include_in_schema=False,
    dependencies=[Depends(check_csrf)],
)
def report_change_request(
    request: Request,
    conn: Conn,
    user: Viewer,
    plan_id: int,
    unit_code: str,
    period: str,
    reason: Comment = "",
) -> Response:
    scope = ReportScope(conn, user, plan_id, unit_code, period)
    pending = scope.report is not None and pending_change(conn, scope.report.id) is not None
    refuse(scope.decide("request_change", change_requested=pending))
    assert scope.report is not None
    if not reason.strip():
        problem = Problem(
            "pilots.report.reason_required",
            "申请修改时必须说明理由 (a reason is required)",
            Source("<form>", column="reason"),
        )
        return _form_page(request, conn, scope, problems=[problem], status_code=422)
    conn.execute(
        pilot_change_requests.insert().values(
            report_id=scope.report.id,
            reason=reason.strip(),
            requested_by=user.id,
            requested_at=now(),
            status="pending",
        )
    )
    audit.record(
        conn,
        request,
        user,
        "pilots.change_requested",
        f"pilot_report/{scope.report.id}",
        {"reason": reason.strip()},
    )
    return RedirectResponse(f"{scope.path}?done=requested", status_code=303)


@router.post(
    "/pilots/reports/{plan_id}/{unit_code}/{period}/change-request/{decision}",
    include_in_schema=False,
    dependencies=[Depends(check_csrf)],
)
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
    scope = ReportScope(conn, user, plan_id, unit_code, period)
    change = pending_change(conn, scope.report.id) if scope.report is not None else None
    status = refuse(scope.decide(f"{decision}_change", change_requested=change is not None))
    assert scope.report is not None and change is not None
    conn.execute(
        pilot_change_requests.update()
        .where(pilot_change_requests.c.id == change.id)
        .values(status="granted" if decision == "grant" else "refused", decided_by=user.id, decided_at=now(),
                decision_comment=comment.strip() or None)
    )  # fmt: skip
    if status != scope.status:
        set_status(conn, scope.report.id, status, user)
    audit.record(
        conn, request, user, f"pilots.change_{'granted' if decision == 'grant' else 'refused'}",
        f"pilot_report/{scope.report.id}", {"request": change.id, "comment": comment.strip()},
    )  # fmt: skip
    return RedirectResponse(
        f"{scope.path}?done={'granted' if decision == 'grant' else 'refused'}", status_code=303
    )


# ---- completeness and timeliness ------------------------------------------------------------------


def completeness_context(
    conn: sa.Connection, user: User, plan_id: int | None, as_of: date, year: int | None = None
) -> dict[str, Any]:
    """Per unit and period of one calendar year (default: the latest with a period started):
    due, received, on time, late, missing — scoped to what ``user`` sees."""
    tree = all_units(conn)
    visible = visible_units(tree, user)
    plans = plans_for(conn, user, visible)
    plan_row = next((p for p in plans if p.id == plan_id), plans[0] if plans else None)
    if plan_row is None:
        return {"plans": plans, "plan": None, "units": [], "periods": [], "grid": {}, "totals": []}
    unit_ids = sorted(plan_unit_ids(conn, plan_row.id) & visible, key=lambda u: tree[u].code)
    codes = [tree[u].code for u in unit_ids]
    rows = timeliness(
        codes, plan_row.first_day, plan_row.last_day, plan_row.period, received_reports(conn, plan_row.id), as_of,
        plan_row.due_day,
    )  # fmt: skip
    years = sorted({r.period_start.year for r in rows})
    chosen = year if year in years else (years[-1] if years else None)
    rows = [r for r in rows if r.period_start.year == chosen]
    periods = sorted({(r.period_start, r.period, r.due_on) for r in rows})
    grid = {(r.unit, r.period_start): r for r in rows}
    names = {tree[u].code: tree[u].name for u in unit_ids}
    return {
        "plans": plans,
        "plan": plan_row,
        "years": years,
        "year": chosen,
        "names": names,
        "units": [(c, names[c]) for c in codes],
        "periods": periods,
        "grid": grid,
        "totals": completeness(rows),
        "labels": TIMELINESS_LABELS,
        "as_of": as_of,
    }


@router.get("/pilots/reports/completeness", include_in_schema=False)
def completeness_page(
    request: Request,
    conn: Conn,
    user: Viewer,
    plan: PlanId = None,
    year: Annotated[int | None, Query(ge=1900, le=2999, description="年度 (year)")] = None,
) -> Response:
    context = completeness_context(conn, user, plan, today(), year)
    return render(request, "pilots/reports_completeness.html", context)
