"""Plan pages (试点方案): the loaded plans and the shipped templates, each with its phases,
responsibility list (责任清单), indicators and targets; and loading a plan (加载试点方案) at
``/pilots/reports/plans`` — a shipped template or an uploaded YAML/xlsx file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from shidian.pilots.entry import PERIOD_KINDS
from shidian.pilots.form_excel import MAX_UPLOAD_BYTES
from shidian.pilots.model import LEVEL_NAMES, Plan
from shidian.pilots.plan_file import TEMPLATES
from shidian.pilots.service import plans as service
from shidian.platform.accounts import User
from shidian.problems import Problem
from shidian.web.deps import Conn, check_csrf, client_of, require
from shidian.web.fields import TEXT
from shidian.web.pilots.views import PERIOD_LABELS, indicator_rows, problem_rows, responsibility_rows
from shidian.web.templating import render

router = APIRouter()
Viewer = Annotated[User, Depends(require("pilots.plans.view"))]
Loader = Annotated[User, Depends(require("pilots.plans.load"))]
DueDay = Annotated[int, Form(ge=1, le=31, description="截止日: 次月几号前报送 (due day of the next month)")]


@router.get("/pilots/plans", include_in_schema=False)
def plans_list(request: Request, conn: Conn, user: Viewer) -> Response:
    context = {
        "loaded": service.loaded_plans(conn),
        "templates": service.template_plans(),
        "periods": PERIOD_LABELS,
    }
    return render(request, "pilots/plans.html", context)


def _detail(request: Request, plan: Plan, plan_id: int | None, template: str | None) -> Response:
    return render(
        request,
        "pilots/plans_detail.html",
        {
            "plan": plan,
            "plan_id": plan_id,
            "template": template,
            "tasks": responsibility_rows(plan),
            "indicators": indicator_rows(plan),
            "periods": PERIOD_LABELS,
            "level_names": LEVEL_NAMES,
        },
    )


@router.get("/pilots/plans/{plan_id:int}", include_in_schema=False)
def plan_detail(request: Request, conn: Conn, user: Viewer, plan_id: int) -> Response:
    return _detail(request, service.loaded_plan(conn, plan_id), plan_id, None)


@router.get("/pilots/plans/templates/{name}", include_in_schema=False)
def template_detail(request: Request, user: Viewer, name: str) -> Response:
    return _detail(request, service.template_plan(name), None, name)


# ---- loading ---------------------------------------------------------------------------------------


def _plans_page(request: Request, conn: sa.Connection, problems: list[Problem] | None = None,
                message: str | None = None, status_code: int = 200) -> Response:  # fmt: skip
    plans, counts = service.all_plan_versions(conn)
    context = {
        "plans": plans,
        "counts": counts,
        "templates": sorted(TEMPLATES),
        "problems": problem_rows(problems or []),
        "message": message,
        "periods": PERIOD_KINDS,
        "can_load": True,
    }
    return render(request, "pilots/reports_plans.html", context, status_code)


@router.get("/pilots/reports/plans", include_in_schema=False)
def plans_page(request: Request, conn: Conn, user: Loader, loaded: str | None = None) -> Response:
    return _plans_page(request, conn, message=f"方案已加载 (plan loaded): {loaded}" if loaded else None)


@router.post("/pilots/reports/plans/template", include_in_schema=False, dependencies=[Depends(check_csrf)])
def plans_load_template(
    request: Request,
    conn: Conn,
    user: Loader,
    name: Annotated[str, Form(max_length=100, pattern=TEXT)] = "",
    due_day: DueDay = 10,
) -> Response:
    plan_id, problems = service.load_template_plan(conn, user, name, due_day, client_of(request))
    if plan_id is None:
        return _plans_page(request, conn, problems, status_code=422)
    return RedirectResponse(f"/pilots/reports/plans?loaded={name}", status_code=303)


@router.post("/pilots/reports/plans/upload", include_in_schema=False, dependencies=[Depends(check_csrf)])
def plans_upload(
    request: Request,
    conn: Conn,
    user: Loader,
    file: Annotated[UploadFile | None, File(description="方案文件 (.yaml/.xlsx)")] = None,
    due_day: DueDay = 10,
) -> Response:
    filename = Path(file.filename or "plan.yaml").name if file is not None else "plan.yaml"
    data = file.file.read(MAX_UPLOAD_BYTES + 1) if file is not None else b""
    plan_id, problems = service.upload_plan(
        conn, user, data, filename, due_day, request.app.state.settings.var_dir, client_of(request)
    )
    if plan_id is None:
        return _plans_page(request, conn, problems, status_code=422)
    return RedirectResponse(f"/pilots/reports/plans?loaded={filename}", status_code=303)
