"""Loading pilot plans (加载试点方案): a shipped template or an uploaded YAML/xlsx plan.

The pilot office (or an administrator) loads a plan for its area; the file is validated by
``shidian.pilots.plan_file.parse_plan`` (every problem listed, nothing stored on error). The
units of the loader's area at a reporting level become the plan's reporting units.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from shidian.pilots.entry import PERIOD_KINDS
from shidian.pilots.plan_excel import read_plan_xlsx
from shidian.pilots.plan_file import TEMPLATES, plan_to_yaml
from shidian.platform import audit
from shidian.platform.accounts import User
from shidian.platform.db.pilots_schema import pilot_plan_units
from shidian.platform.units import all_units
from shidian.problems import Problem, Source
from shidian.web.deps import Conn, check_csrf, require
from shidian.web.drg_api import TEXT
from shidian.web.pilots_forms import MAX_UPLOAD_BYTES
from shidian.web.pilots_reports import list_plans, load_plan_text, problem_rows, store_plan, visible_units
from shidian.web.templating import render

router = APIRouter()
Loader = Annotated[User, Depends(require("pilots.plans.load"))]


def _plans_page(request: Request, conn: sa.Connection, user: User, problems: list[Problem] | None = None,
                message: str | None = None, status_code: int = 200) -> Response:  # fmt: skip
    counts: dict[int, int] = dict(
        conn.execute(
            sa.select(pilot_plan_units.c.plan_id, sa.func.count()).group_by(pilot_plan_units.c.plan_id)
        ).all()
    )
    return render(
        request,
        "pilots/reports_plans.html",
        {
            "plans": list_plans(conn, active_only=False),
            "counts": counts,
            "templates": sorted(TEMPLATES),
            "problems": problem_rows(problems or []),
            "message": message,
            "periods": PERIOD_KINDS,
            "can_load": True,
        },
        status_code,
    )


@router.get("/pilots/reports/plans", include_in_schema=False)
def plans_page(request: Request, conn: Conn, user: Loader, loaded: str | None = None) -> Response:
    message = f"方案已加载 (plan loaded): {loaded}" if loaded else None
    return _plans_page(request, conn, user, message=message)


DueDay = Annotated[int, Form(ge=1, le=31, description="截止日: 次月几号前报送 (due day of the next month)")]


def _scope_for_loader(conn: sa.Connection, user: User) -> set[int]:
    return visible_units(all_units(conn), user)


@router.post("/pilots/reports/plans/template", include_in_schema=False, dependencies=[Depends(check_csrf)])
def plans_load_template(
    request: Request,
    conn: Conn,
    user: Loader,
    name: Annotated[str, Form(max_length=100, pattern=TEXT)] = "",
    due_day: DueDay = 10,
) -> Response:
    if name not in TEMPLATES:
        problem = Problem(
            "pilots.template.unknown",
            f"没有模板 {name!r} (unknown template)",
            Source("<form>", column="name"),
        )
        return _plans_page(request, conn, user, [problem], status_code=422)
    text = TEMPLATES[name].read_text(encoding="utf-8")
    plan_id, count, problems = load_plan_text(
        conn, text, TEMPLATES[name].name, user, due_day=due_day, scope=_scope_for_loader(conn, user)
    )
    if plan_id is None:
        return _plans_page(request, conn, user, problems, status_code=422)
    audit.record(
        conn,
        request,
        user,
        "pilots.plan_loaded",
        f"pilot_plan/{plan_id}",
        {"template": name, "units": count, "due_day": due_day},
    )
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
    problems: list[Problem] = []
    plan_id: int | None = None
    if not data or len(data) > MAX_UPLOAD_BYTES:
        problems.append(
            Problem(
                "pilots.upload.empty", "没有上传文件或文件超过 5 MB (no file or too large)", Source(filename)
            )
        )
    elif filename.lower().endswith((".xlsx", ".xlsm")) or data.startswith(b"PK\x03\x04"):
        plan_id, count, problems = _load_xlsx_plan(conn, data, filename, user, due_day)
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            problems.append(
                Problem(
                    "pilots.plan.unreadable", "方案文件应为 UTF-8 编码的 YAML (not UTF-8)", Source(filename)
                )
            )
        else:
            plan_id, count, problems = load_plan_text(
                conn, text, filename, user, due_day=due_day, scope=_scope_for_loader(conn, user)
            )
    if plan_id is None:
        audit.record(conn, request, user, "pilots.plan_refused", filename, {"problems": len(problems)})
        return _plans_page(request, conn, user, problems, status_code=422)
    audit.record(
        conn,
        request,
        user,
        "pilots.plan_loaded",
        f"pilot_plan/{plan_id}",
        {"file": filename, "units": count, "due_day": due_day},
    )
    return RedirectResponse(f"/pilots/reports/plans?loaded={filename}", status_code=303)


def _load_xlsx_plan(
    conn: sa.Connection, data: bytes, filename: str, user: User, due_day: int
) -> tuple[int | None, int, list[Problem]]:
    """An Excel plan (``shidian.pilots.plan_excel``), stored as the YAML it parses to."""
    with tempfile.TemporaryDirectory(prefix="shidian-plan-") as tmp:
        path = Path(tmp) / "plan.xlsx"
        path.write_bytes(data)
        plan, problems = read_plan_xlsx(path)
    if plan is None:
        return None, 0, problems
    plan_id, count = store_plan(
        conn, plan, plan_to_yaml(plan), filename, user, due_day=due_day, scope=_scope_for_loader(conn, user)
    )
    return plan_id, count, problems
