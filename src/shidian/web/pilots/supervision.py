"""Supervision pages (督导): the supervision list, visits, findings, evidence, rectifications.

Each route parses its form, calls one workflow of ``shidian.pilots.service.supervision`` and
renders; who may act is decided there (and in the core's rules), not here.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response

from shidian.pilots.evidence import MAX_EVIDENCE_BYTES
from shidian.pilots.service import overview as reports_overview
from shidian.pilots.service import supervision as service
from shidian.pilots.supervision import RECTIFICATION_STATUSES, SEVERITIES
from shidian.platform.accounts import User
from shidian.platform.clock import today
from shidian.platform.settings import Settings
from shidian.problems import Problem
from shidian.web.deps import Conn, check_csrf, client_of, require
from shidian.web.fields import TEXT
from shidian.web.pilots.views import problem_rows
from shidian.web.templating import render

router = APIRouter()
Viewer = Annotated[User, Depends(require("pilots.supervision.view"))]
Manager = Annotated[User, Depends(require("pilots.supervision.manage"))]
Text = Annotated[str, Form(max_length=2000, pattern=TEXT)]
ShortText = Annotated[str, Form(max_length=500, pattern=TEXT)]


def _var_dir(request: Request) -> Path:
    settings: Settings = request.app.state.settings
    return settings.var_dir


def _visit_page(request: Request, conn: sa.Connection, user: User, visit_id: int,
                problems: list[Problem] | None = None, status_code: int = 200) -> Response:  # fmt: skip
    visit = service.visit_detail(conn, user, visit_id)
    return render(
        request,
        "pilots/supervision_visit.html",
        {
            "visit": visit.visit,
            "findings": visit.findings,
            "evidence": visit.evidence,
            "rectifications": visit.rectifications,
            "may_manage": visit.may_manage,
            "is_visited_unit": visit.is_visited_unit,
            "severities": SEVERITIES,
            "statuses": RECTIFICATION_STATUSES,
            "problems": problem_rows(problems or []),
            "today": today(),
            "total_deduction": visit.total_deduction,
        },
        status_code,
    )


def _to_visit(visit_id: int) -> Response:
    return RedirectResponse(f"/pilots/supervision/visits/{visit_id}", status_code=303)


@router.get("/pilots/supervision", include_in_schema=False)
def supervision_page(request: Request, conn: Conn, user: Viewer, plan: int | None = None) -> Response:
    day = today()
    view = service.overview(conn, user, plan, day)
    return render(
        request,
        "pilots/supervision.html",
        {
            "plans": view.plans,
            "plan": view.plan,
            "warnings": view.warnings,
            "visits": view.visits,
            "lagging": view.lagging,
            "lagging_note": view.lagging_note,
            "units": view.units,
            "may_manage": view.may_manage,
            "rectifications": view.rectifications,
            "statuses": RECTIFICATION_STATUSES,
            "today": day,
            # the pilot office lands here: its reports awaiting approval, linked (issue 19)
            "pending": len(reports_overview.reports_index(conn, user, day).queue) if view.may_manage else 0,
        },
    )


@router.post("/pilots/supervision/visits", include_in_schema=False, dependencies=[Depends(check_csrf)])
def visit_create(
    request: Request,
    conn: Conn,
    user: Manager,
    plan_id: Annotated[int, Form(ge=1, le=2**31 - 1)],
    unit_code: ShortText,
    visited_on: Annotated[date, Form()],
    team: ShortText,
    summary: Text = "",
) -> Response:
    visit_id = service.create_visit(
        conn, user, plan_id, unit_code, visited_on, team, summary, today(), client_of(request)
    )
    return _to_visit(visit_id)


@router.get("/pilots/supervision/visits/{visit_id}", include_in_schema=False)
def visit_page(request: Request, conn: Conn, user: Viewer, visit_id: int) -> Response:
    return _visit_page(request, conn, user, visit_id)


@router.post(
    "/pilots/supervision/visits/{visit_id}/findings",
    include_in_schema=False,
    dependencies=[Depends(check_csrf)],
)
def finding_create(
    request: Request,
    conn: Conn,
    user: Manager,
    visit_id: int,
    description: Text,
    severity: Annotated[Literal["minor", "major", "serious"], Form()] = "minor",
    deduction_points: Annotated[Decimal, Form(ge=0, le=100, max_digits=6, decimal_places=2)] = Decimal(0),
    indicator_code: ShortText = "",
    task_code: ShortText = "",
) -> Response:
    finding_id, problems = service.add_finding(
        conn,
        user,
        visit_id,
        description,
        severity,
        deduction_points,
        indicator_code,
        task_code,
        client_of(request),
    )
    if finding_id is None:
        return _visit_page(request, conn, user, visit_id, problems, 422)
    return _to_visit(visit_id)


@router.post(
    "/pilots/supervision/findings/{finding_id}/evidence",
    include_in_schema=False,
    dependencies=[Depends(check_csrf)],
)
def evidence_upload(
    request: Request,
    conn: Conn,
    user: Viewer,
    finding_id: int,
    file: Annotated[UploadFile | None, File(description="佐证材料 (PDF/PNG/JPEG/xlsx/docx, ≤ 10 MB)")] = None,
) -> Response:
    filename = Path(file.filename or "evidence").name[:255] if file is not None else "evidence"
    data = file.file.read(MAX_EVIDENCE_BYTES + 1) if file is not None else b""
    visit_id, problems = service.upload_evidence(
        conn, user, finding_id, data, filename, _var_dir(request), client_of(request)
    )
    if problems:
        return _visit_page(request, conn, user, visit_id, problems, 422)
    return _to_visit(visit_id)


@router.get("/pilots/supervision/evidence/{evidence_id}", include_in_schema=False)
def evidence_download(request: Request, conn: Conn, user: Viewer, evidence_id: int) -> Response:
    path, content_type, filename = service.evidence_file(
        conn, user, evidence_id, _var_dir(request), client_of(request)
    )
    return FileResponse(
        path, media_type=content_type, filename=filename, content_disposition_type="attachment"
    )


@router.post(
    "/pilots/supervision/findings/{finding_id}/rectifications",
    include_in_schema=False,
    dependencies=[Depends(check_csrf)],
)
def rectification_create(
    request: Request,
    conn: Conn,
    user: Manager,
    finding_id: int,
    action: Text,
    deadline: Annotated[date, Form()],
) -> Response:
    visit_id, problems = service.add_rectification(
        conn, user, finding_id, action, deadline, client_of(request)
    )
    if problems:
        return _visit_page(request, conn, user, visit_id, problems, 422)
    return _to_visit(visit_id)


@router.post(
    "/pilots/supervision/rectifications/{item_id}/{step}",
    include_in_schema=False,
    dependencies=[Depends(check_csrf)],
)
def rectification_step(
    request: Request,
    conn: Conn,
    user: Viewer,
    item_id: int,
    step: Literal["mark_done", "verify", "reopen"],
    note: Text = "",
) -> Response:
    return _to_visit(service.step_rectification(conn, user, item_id, step, note, client_of(request)))
