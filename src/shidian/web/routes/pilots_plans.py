"""Plan pages (试点方案): the loaded plans and the shipped templates, each with its phases,
responsibility list (责任清单), indicators and targets. Read-only; loading is at
``/pilots/reports/plans``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from shidian.pilots.model import LEVEL_NAMES, Plan
from shidian.pilots.plan_file import TEMPLATES, load_template
from shidian.platform.accounts import User
from shidian.web.deps import Conn, require
from shidian.web.pilots_plans import (
    PERIOD_LABELS,
    indicator_rows,
    responsibility_rows,
    template_plans,
)
from shidian.web.pilots_reports import get_plan, list_plans, plan_of
from shidian.web.templating import render

router = APIRouter()
Viewer = Annotated[User, Depends(require("pilots.plans.view"))]


@router.get("/pilots/plans", include_in_schema=False)
def plans_list(request: Request, conn: Conn, user: Viewer) -> Response:
    loaded = [(row, plan_of(row)) for row in list_plans(conn)]
    return render(
        request,
        "pilots/plans.html",
        {"loaded": loaded, "templates": template_plans(), "periods": PERIOD_LABELS},
    )


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
    row = get_plan(conn, plan_id)
    if row is None:
        raise HTTPException(404)
    return _detail(request, plan_of(row), plan_id, None)


@router.get("/pilots/plans/templates/{name}", include_in_schema=False)
def template_detail(request: Request, user: Viewer, name: str) -> Response:
    if name not in TEMPLATES:
        raise HTTPException(404)
    return _detail(request, load_template(name), None, name)
