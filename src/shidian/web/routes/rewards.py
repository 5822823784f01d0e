"""以奖代补 pages: pick a rule file, upload facts, see and download the allocation.

The pilot office allocates; leaders see every allocation; a reporting unit sees its own unit's
amount and explanation only, in every page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response

from shidian.platform import audit
from shidian.platform.access import can
from shidian.platform.accounts import User
from shidian.web.deps import Conn, check_csrf, require
from shidian.web.rewards_pages import (
    chart,
    compare_rows,
    list_runs,
    own_unit_codes,
    parse_overrides,
    rule_choices,
    run_allocation,
    run_meta,
    unit_rows,
    workbook_path,
)
from shidian.web.templating import render

router = APIRouter()
Viewer = Annotated[User, Depends(require("rewards.view"))]
Allocator = Annotated[User, Depends(require("rewards.allocate"))]
Uploads = Annotated[list[UploadFile] | None, File(description="事实表 (.csv/.xlsx)")]
MAX_UPLOAD_BYTES = 200 << 20


def _scope(conn: Conn, user: User) -> set[str] | None:
    """None: every unit; else the codes of the user's own unit."""
    return None if can(user, "rewards.view_all") else own_unit_codes(conn, user)


@router.get("/rewards")
def rewards_index(request: Request, conn: Conn, user: Viewer) -> Response:
    runs = list_runs(request.app.state.settings.var_dir)
    scope = _scope(conn, user)
    own: dict[str, list[dict[str, object]]] = {}
    if scope is not None:
        var_dir = request.app.state.settings.var_dir
        own = {m["run_id"]: unit_rows(var_dir, m["run_id"], m, scope) for m in runs}
    return render(
        request,
        "rewards/index.html",
        {
            "runs": runs,
            "own": own,
            "rules": rule_choices() if can(user, "rewards.allocate") else [],
            "problems": [],
        },
    )


@router.post("/rewards/allocate", dependencies=[Depends(check_csrf)])
async def rewards_allocate(
    request: Request,
    conn: Conn,
    user: Allocator,
    rules: Annotated[str, Form(max_length=100)],
    files: Uploads = None,
    overrides: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    uploads = []
    for upload in files or []:
        content = await upload.read(MAX_UPLOAD_BYTES + 1)
        if len(content) > MAX_UPLOAD_BYTES:
            raise HTTPException(status_code=413, detail="文件过大 (file too large)")
        if upload.filename:
            uploads.append((upload.filename, content))
    pairs, problems = parse_overrides(overrides)
    run_id = None
    if not problems:
        run_id, problems = run_allocation(request.app.state.settings.var_dir, rules, uploads, pairs, user)
    if run_id is None:
        return render(
            request,
            "rewards/index.html",
            {
                "runs": list_runs(request.app.state.settings.var_dir),
                "own": {},
                "rules": rule_choices(),
                "problems": problems,
                "chosen": rules,
                "overrides": overrides,
            },
            status_code=422,
        )
    audit.record(
        conn, request, user, "rewards.allocate", run_id, {"rules": rules, "files": [n for n, _ in uploads]}
    )
    return RedirectResponse(f"/rewards/runs/{run_id}", status_code=303)


@router.get("/rewards/runs/{run_id}")
def rewards_run(request: Request, conn: Conn, user: Viewer, run_id: str, q: str = "") -> Response:
    var_dir = request.app.state.settings.var_dir
    meta = run_meta(var_dir, run_id)
    if meta is None:
        raise HTTPException(status_code=404, detail="没有这个分配结果 (no such allocation)")
    scope = _scope(conn, user)
    rows = unit_rows(var_dir, run_id, meta, scope, q[:50])
    return render(
        request,
        "rewards/run.html",
        {
            "meta": meta,
            "rows": rows,
            "full": scope is None,
            "chart": chart(var_dir, run_id, meta) if scope is None else None,
            "q": q[:50],
            "others": [m for m in list_runs(var_dir) if m["run_id"] != run_id] if scope is None else [],
        },
    )


@router.get("/rewards/runs/{run_id}/units/{code}")
def rewards_unit(request: Request, conn: Conn, user: Viewer, run_id: str, code: str) -> Response:
    var_dir = request.app.state.settings.var_dir
    meta = run_meta(var_dir, run_id)
    scope = _scope(conn, user)
    if meta is None or (scope is not None and code not in scope):
        raise HTTPException(status_code=404, detail="没有这个单位 (no such unit)")
    rows = [r for r in unit_rows(var_dir, run_id, meta, {code}) if r["unit_code"] == code]
    if not rows:
        raise HTTPException(status_code=404, detail="没有这个单位 (no such unit)")
    return render(request, "rewards/unit.html", {"meta": meta, "row": rows[0]})


@router.get("/rewards/runs/{run_id}/allocations.xlsx")
def rewards_workbook(
    request: Request, conn: Conn, user: Annotated[User, Depends(require("rewards.view_all"))], run_id: str
) -> Response:
    path = workbook_path(request.app.state.settings.var_dir, run_id)
    if path is None:
        raise HTTPException(status_code=404, detail="没有这个分配结果 (no such allocation)")
    audit.record(conn, request, user, "rewards.download", run_id)
    return FileResponse(
        path,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filename=f"allocations-{run_id}.xlsx",
    )


@router.get("/rewards/compare")
def rewards_compare(
    request: Request, user: Annotated[User, Depends(require("rewards.view_all"))], a: str, b: str
) -> Response:
    """模拟测算: what changes per unit from allocation ``a`` to allocation ``b``."""
    var_dir = request.app.state.settings.var_dir
    before, after = run_meta(var_dir, a), run_meta(var_dir, b)
    if before is None or after is None:
        raise HTTPException(status_code=404, detail="没有这个分配结果 (no such allocation)")
    rows = compare_rows(var_dir, a, b)
    return render(request, "rewards/compare.html", {"before": before, "after": after, "rows": rows})
