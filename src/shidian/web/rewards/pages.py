"""以奖代补 pages: pick a rule file, upload facts, see and download the allocation.

The pilot office allocates; leaders see every allocation; a reporting unit sees its own unit's
amount and explanation only, in every page. Each route calls one ``shidian.rewards.service``
workflow.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response

from shidian.platform.accounts import User
from shidian.rewards import service
from shidian.web.deps import Conn, check_csrf, client_of, require
from shidian.web.fields import read_uploads
from shidian.web.templating import render

router = APIRouter()
Viewer = Annotated[User, Depends(require("rewards.view"))]
Allocator = Annotated[User, Depends(require("rewards.allocate"))]
Reader = Annotated[User, Depends(require("rewards.view_all"))]
Uploads = Annotated[list[UploadFile] | None, File(description="事实表 (.csv/.xlsx)")]
MAX_UPLOAD_BYTES = 200 << 20


def _var_dir(request: Request) -> Any:
    return request.app.state.settings.var_dir


@router.get("/rewards")
def rewards_index(request: Request, conn: Conn, user: Viewer) -> Response:
    found = service.overview(conn, user, _var_dir(request))
    context = {"runs": found.runs, "own": found.own, "rules": found.rules, "problems": []}
    return render(request, "rewards/index.html", context)


@router.post("/rewards/allocate", dependencies=[Depends(check_csrf)])
def rewards_allocate(
    request: Request,
    conn: Conn,
    user: Allocator,
    rules: Annotated[str, Form(max_length=100)],
    files: Uploads = None,
    overrides: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    # a sync route: reading and allocating the files, the page and its queries run in the thread pool
    uploads = read_uploads(files, MAX_UPLOAD_BYTES)
    run_id, problems = service.allocate_uploads(
        conn, user, _var_dir(request), rules, uploads, overrides, client_of(request)
    )
    if run_id is None:
        found = service.overview(conn, user, _var_dir(request))
        context = {
            "runs": found.runs,
            "own": {},
            "rules": found.rules,
            "problems": problems,
            "chosen": rules,
            "overrides": overrides,
        }
        return render(request, "rewards/index.html", context, status_code=422)
    return RedirectResponse(f"/rewards/runs/{run_id}", status_code=303)


@router.get("/rewards/runs/{run_id}")
def rewards_run(request: Request, conn: Conn, user: Viewer, run_id: str, q: str = "") -> Response:
    view = service.allocation_view(conn, user, _var_dir(request), run_id, q)
    keys = [f"{s['id']}_yuan" for s in view.meta["stages"]] + ["total_yuan"]
    context = {
        "meta": view.meta,
        "rows": view.rows,
        # the totals row (合计) of the units listed
        "totals": {k: sum((Decimal(str(r.get(k) or "0")) for r in view.rows), Decimal(0)) for k in keys},
        "full": view.full,
        "chart": chart(view.meta, view.top) if view.full else None,
        "q": q[: service.QUERY_MAX],
        "others": view.others,
    }
    return render(request, "rewards/run.html", context)


def chart(meta: dict[str, Any], top: list[tuple[Any, ...]]) -> dict[str, Any]:
    """An ECharts bar chart of the units with the largest totals, one series per stage."""
    labels = [r[1] or r[0] for r in top]
    series = [
        {"name": s["name"], "type": "bar", "stack": "total", "data": [r[2 + i] for r in top]}
        for i, s in enumerate(meta["stages"])
    ]
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 80, "right": 20, "bottom": 90, "top": 40},
        "xAxis": {"type": "category", "data": labels, "axisLabel": {"rotate": 45}},
        "yAxis": {"type": "value", "name": "元"},
        "series": series,
    }


@router.get("/rewards/runs/{run_id}/units/{code}")
def rewards_unit(request: Request, conn: Conn, user: Viewer, run_id: str, code: str) -> Response:
    meta, row = service.unit_explanation(conn, user, _var_dir(request), run_id, code)
    return render(request, "rewards/unit.html", {"meta": meta, "row": row})


@router.get("/rewards/runs/{run_id}/allocations.xlsx")
def rewards_workbook(request: Request, conn: Conn, user: Reader, run_id: str) -> Response:
    path = service.download_workbook(conn, user, _var_dir(request), run_id, client_of(request))
    return FileResponse(
        path,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filename=f"allocations-{run_id}.xlsx",
    )


@router.get("/rewards/compare")
def rewards_compare(request: Request, user: Reader, a: str, b: str) -> Response:
    """模拟测算: what changes per unit from allocation ``a`` to allocation ``b``."""
    before, after, rows = service.compare_allocations(user, _var_dir(request), a, b)
    return render(request, "rewards/compare.html", {"before": before, "after": after, "rows": rows})
