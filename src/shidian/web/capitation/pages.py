"""医共体按人头总额预付 pages: settle a year from uploaded files, read a run.

The insurance bureau settles; leaders and the pilot office read every run; a member institution
reads its own 医共体 only. Each route calls one ``shidian.capitation.service`` workflow.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from shidian.capitation import service
from shidian.capitation.policy import POLICIES
from shidian.platform import jobs
from shidian.platform.access import can
from shidian.platform.accounts import User
from shidian.problems import Problem
from shidian.web.deps import check_csrf, client_of, require
from shidian.web.fields import read_uploads
from shidian.web.templating import render

router = APIRouter()
Viewer = Annotated[User, Depends(require("capitation.view"))]
Settler = Annotated[User, Depends(require("capitation.settle"))]
Uploads = Annotated[list[UploadFile] | None, File(description="fund.toml 与输入表 (.csv/.xlsx)")]
MAX_UPLOAD_BYTES = 50 << 20


def _var_dir(request: Request) -> Any:
    return request.app.state.settings.var_dir


def _index(request: Request, user: User, problems: list[Any], status_code: int = 200) -> Response:
    context = {
        "runs": service.overview(user, _var_dir(request)),
        "policies": POLICIES.names() if can(user, "capitation.settle") else [],
        "problems": problems,
    }
    return render(request, "capitation/index.html", context, status_code=status_code)


@router.get("/capitation")
def capitation_index(request: Request, user: Viewer) -> Response:
    return _index(request, user, [])


@router.post("/capitation/settle", dependencies=[Depends(check_csrf)])
async def capitation_settle(
    request: Request,
    user: Settler,
    policy: Annotated[str, Form(max_length=100)],
    files: Uploads = None,
) -> Response:
    uploads = await read_uploads(files, MAX_UPLOAD_BYTES)
    engine, client = request.app.state.engine, client_of(request)

    def settle() -> tuple[str | None, list[Problem]]:
        # a run is long work: one at a time across the server's processes, with DRG and
        # insurance runs (the lane ``runs``; 409 job.busy otherwise), failed if the process dies
        with jobs.exclusive(engine, "capitation.run"), engine.begin() as conn:
            return service.settle_uploads(conn, user, _var_dir(request), policy, uploads, client)

    run_id, problems = await anyio.to_thread.run_sync(settle)
    if run_id is None:
        return _index(request, user, problems, status_code=422)
    return RedirectResponse(f"/capitation/runs/{run_id}", status_code=303)


@router.get("/capitation/runs/{run_id}")
def capitation_run(request: Request, user: Viewer, run_id: str) -> Response:
    view = service.run_view(user, _var_dir(request), run_id)
    return render(request, "capitation/run.html", {"view": view, "chart": chart(view)})


def chart(view: service.RunView) -> dict[str, Any]:
    """An ECharts bar chart per 医共体: pot, spending, retained surplus, the fund's overspend share."""
    ids = [e.community_id for e in view.year_ends]

    def series(name: str, field: str) -> dict[str, Any]:
        return {"name": name, "type": "bar", "data": [str(getattr(e, field)) for e in view.year_ends]}

    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 90, "right": 20, "bottom": 40, "top": 40},
        "xAxis": {"type": "category", "data": ids},
        "yAxis": {"type": "value", "name": "元"},
        "series": [
            series("预算基金", "pot"),
            series("基金支出", "spending"),
            series("结余留用", "retained"),
            series("基金分担", "fund_share"),
        ],
    }
