"""Registry pages (严重精神障碍患者管理): patient list, registration, patient page with the
follow-up form, work list, township warnings, indicators, guardian rewards, import, exports.

Same scoping and audit as the API (``routes/registry_api.py``): a patient outside the user's
area is 404; every view of a patient and every change writes an audit record; lists and
exports are masked unless the role has ``registry.export_unmasked``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError

from shidian.platform import audit
from shidian.platform.access import can
from shidian.platform.accounts import User
from shidian.platform.clock import today
from shidian.problems import Problem, Source
from shidian.registry import BEHAVIOURS, RISK_LEVELS, Period, suggest_level
from shidian.registry.followup import CLASSES
from shidian.registry.model import DISORDER_NAMES, DISORDERS, REGISTRY_STATUSES, TEAM_ROLES, TREATMENTS
from shidian.web.deps import Conn, check_csrf, require
from shidian.web.registry_assignments import assign, list_assignments, unassign
from shidian.web.registry_context import keys, not_found, policy, scope
from shidian.web.registry_models import AssignmentIn, FollowUpIn, PatientIn, TeamActionIn, TeamMemberIn
from shidian.web.registry_reports import (
    export_rows,
    indicator_rows,
    indicators,
    rewards,
    warnings,
    worklist,
    xlsx,
)
from shidian.web.registry_store import (
    NotFound,
    add_team_action,
    add_team_member,
    list_patients,
    patient_detail,
    record_followup,
    register_patient,
)
from shidian.web.routes.registry_api import may_unmask, resolve_area, run_import
from shidian.web.templating import render

router = APIRouter(prefix="/registry")
Viewer = Annotated[User, Depends(require("registry.view"))]
Editor = Annotated[User, Depends(require("registry.edit"))]
Importer = Annotated[User, Depends(require("registry.import"))]
Assigner = Annotated[User, Depends(require("registry.assign"))]
WRITE = [Depends(check_csrf)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

LABELS: dict[str, Any] = {
    "disorders": DISORDER_NAMES,
    "statuses": REGISTRY_STATUSES,
    "treatments": TREATMENTS,
    "classes": CLASSES,
    "roles": TEAM_ROLES,
    "risk_levels": RISK_LEVELS,
    "behaviours": BEHAVIOURS,
}
_FLAGS = ("adverse_reaction", "physical_illness", "rehab", "psy_support", "health_check")


def _form_model(model: type[BaseModel], form: dict[str, Any]) -> tuple[Any, list[Problem]]:
    """A model from a submitted form (blanks are absent), or the problems with field names."""
    try:
        return model.model_validate({k: v for k, v in form.items() if v not in ("", None)}), []
    except ValidationError as exc:
        return None, [
            Problem("request.invalid", str(e["msg"]), Source("form", column=".".join(map(str, e["loc"]))))
            for e in exc.errors()
        ]


async def _form(request: Request) -> dict[str, Any]:
    form = await request.form()
    data: dict[str, Any] = {k: v for k, v in form.items() if k not in ("csrf_token", "behaviours")}
    data["behaviours"] = [str(b) for b in form.getlist("behaviours")]
    return data


@router.get("", include_in_schema=False)
def index(
    request: Request,
    conn: Conn,
    user: Viewer,
    q: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
) -> Response:
    total, rows = list_patients(
        conn, keys(request), scope(conn, user), policy(), today(), q=q, status=status or None, page=page
    )
    audit.record(
        conn, request, user, "registry.patients_listed", None, {"q": bool(q), "page": page, "rows": len(rows)}
    )
    return render(
        request,
        "registry/index.html",
        {"total": total, "rows": rows, "page": page, "q": q or "", "status": status or "", **LABELS},
    )


@router.get("/new", include_in_schema=False)
def new_page(request: Request, user: Editor) -> Response:
    return render(
        request, "registry/new.html", {"form": {}, "problems": [], "all_disorders": DISORDERS, **LABELS}
    )


@router.post("/new", include_in_schema=False, dependencies=WRITE)
async def new_submit(request: Request, conn: Conn, user: Editor) -> Response:
    form = await _form(request)
    form.pop("behaviours", None)
    data, problems = _form_model(PatientIn, form)
    registry_no = None
    if data is not None:
        registry_no, problems = register_patient(conn, keys(request), user, scope(conn, user), data, today())
    if registry_no is None:
        context = {"form": form, "problems": problems, "all_disorders": DISORDERS, **LABELS}
        return render(request, "registry/new.html", context, 422)
    audit.record(conn, request, user, "registry.patient_registered", registry_no)
    return RedirectResponse(f"/registry/patients/{registry_no}", status_code=303)


def _patient_page(
    request: Request, conn: Conn, user: User, registry_no: str, extra: dict[str, Any], status_code: int = 200
) -> Response:
    try:
        detail = patient_detail(
            conn, keys(request), scope(conn, user), policy(), today(), registry_no, unmasked=may_unmask(user)
        )
    except NotFound:
        raise not_found() from None
    audit.record(conn, request, user, "registry.patient_viewed", registry_no, {"masked": detail.masked})
    context = {
        "d": detail,
        "p": detail.patient,
        "today": today(),
        "problems": [],
        "result": None,
        "form": {},
        "level": 0,
        "text": RISK_LEVELS[0],
    }
    return render(request, "registry/patient.html", {**context, **LABELS, **extra}, status_code)


@router.get("/patients/{registry_no}", include_in_schema=False)
def patient_page(request: Request, conn: Conn, user: Viewer, registry_no: str) -> Response:
    return _patient_page(request, conn, user, registry_no, {})


@router.get("/suggest", include_in_schema=False)
def suggest(
    request: Request, user: Viewer, behaviours: Annotated[list[str] | None, Query()] = None
) -> Response:
    """The level the ticked behaviours suggest (HTMX fragment); the doctor confirms it."""
    known = {b.code for b in BEHAVIOURS}
    level = suggest_level([b for b in behaviours or [] if b in known])
    return render(request, "registry/_suggest.html", {"level": level, "text": RISK_LEVELS[level]})


@router.post("/patients/{registry_no}/followups", include_in_schema=False, dependencies=WRITE)
async def followup_submit(request: Request, conn: Conn, user: Editor, registry_no: str) -> Response:
    form = await _form(request)
    for flag in _FLAGS:
        form[flag] = flag in form
    data, problems = _form_model(FollowUpIn, form)
    result = None
    try:
        if data is not None:
            result, problems = record_followup(
                conn, user, scope(conn, user), policy(), registry_no, data, today()
            )
    except NotFound:
        raise not_found() from None
    if result is None:
        return _patient_page(request, conn, user, registry_no, {"problems": problems, "form": form}, 422)
    audit.record(
        conn,
        request,
        user,
        "registry.followup_recorded",
        registry_no,
        {"followup_id": result.followup_id, "risk_level": result.risk_level, "class": result.classification},
    )
    return _patient_page(request, conn, user, registry_no, {"result": result})


@router.post("/patients/{registry_no}/team", include_in_schema=False, dependencies=WRITE)
async def team_submit(request: Request, conn: Conn, user: Editor, registry_no: str) -> Response:
    form = await _form(request)
    data, problems = _form_model(TeamMemberIn, form)
    if data is None:
        return _patient_page(request, conn, user, registry_no, {"problems": problems}, 422)
    try:
        member_id = add_team_member(conn, user, scope(conn, user), registry_no, data, today())
    except NotFound:
        raise not_found() from None
    audit.record(conn, request, user, "registry.team_member_added", registry_no, {"member_id": member_id})
    return RedirectResponse(f"/registry/patients/{registry_no}#team", status_code=303)


@router.post("/patients/{registry_no}/team/actions", include_in_schema=False, dependencies=WRITE)
async def team_action_submit(request: Request, conn: Conn, user: Editor, registry_no: str) -> Response:
    form = await _form(request)
    data, problems = _form_model(TeamActionIn, form)
    action_id = None
    try:
        if data is not None:
            action_id, problems = add_team_action(conn, user, scope(conn, user), registry_no, data, today())
    except NotFound:
        raise not_found() from None
    if action_id is None:
        return _patient_page(request, conn, user, registry_no, {"problems": problems}, 422)
    audit.record(conn, request, user, "registry.team_action_recorded", registry_no, {"action_id": action_id})
    return RedirectResponse(f"/registry/patients/{registry_no}#team", status_code=303)


@router.get("/worklist", include_in_schema=False)
def worklist_page(request: Request, conn: Conn, user: Viewer) -> Response:
    day = today()
    items = worklist(conn, scope(conn, user), policy(), day)
    audit.record(conn, request, user, "registry.worklist_viewed", None, {"rows": len(items)})
    return render(request, "registry/worklist.html", {"items": items, "today": day, **LABELS})


@router.get("/warnings", include_in_schema=False)
def warnings_page(request: Request, conn: Conn, user: Viewer) -> Response:
    rows = warnings(conn, scope(conn, user), policy(), today())
    return render(request, "registry/warnings.html", {"rows": rows, "today": today()})


@router.get("/indicators", include_in_schema=False)
def indicators_page(
    request: Request,
    conn: Conn,
    user: Viewer,
    period: Annotated[str | None, Query(max_length=16)] = None,
    area: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    text = period or str(today().year)
    try:
        chosen = Period.parse(text)
    except ValueError as exc:
        return render(
            request, "registry/indicators.html", {"error": str(exc), "period": text, "area": area or ""}, 422
        )
    area_id, code, name, villages = resolve_area(conn, user, area or None)
    rows = indicator_rows(indicators(conn, policy(), area_id, code, villages, chosen), policy())
    return render(
        request,
        "registry/indicators.html",
        {
            "rows": rows,
            "period": text,
            "area": area or "",
            "area_name": name,
            "area_code": code,
            "error": None,
        },
    )


def _year(year: int | None) -> int:
    return year if year is not None else today().year


@router.get("/rewards", include_in_schema=False)
def rewards_page(
    request: Request, conn: Conn, user: Viewer, year: Annotated[int | None, Query(ge=1900, le=2200)] = None
) -> Response:
    chosen = _year(year)
    table = rewards(conn, scope(conn, user), policy(), chosen)
    audit.record(conn, request, user, "registry.rewards_listed", str(chosen), {"rows": table.num_rows})
    return render(
        request,
        "registry/rewards.html",
        {"rows": table.to_pylist(), "year": chosen, "policy": policy()},
    )


@router.get("/rewards.xlsx", include_in_schema=False)
def rewards_export(
    request: Request, conn: Conn, user: Viewer, year: Annotated[int | None, Query(ge=1900, le=2200)] = None
) -> Response:
    chosen = _year(year)
    table = rewards(conn, scope(conn, user), policy(), chosen)
    audit.record(conn, request, user, "registry.rewards_exported", str(chosen), {"rows": table.num_rows})
    labels = {"risk_3_plus": "三级以上", "risk_below_3": "三级以下"}
    body = xlsx(
        "有奖监护",
        ["档案号 recipient_id", "村/社区 unit_code", "类别 category", "依据 basis"],
        [[r["recipient_id"], r["unit_code"], labels[r["category"]], r["basis"]] for r in table.to_pylist()],
    )
    return Response(
        body,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="guardian-rewards-{chosen}.xlsx"'},
    )


@router.get("/export.xlsx", include_in_schema=False)
def patients_export(request: Request, conn: Conn, user: Viewer) -> Response:
    """Every patient in scope; masked unless the role has ``registry.export_unmasked``."""
    unmasked = can(user, "registry.export_unmasked")
    headers, rows = export_rows(conn, keys(request), scope(conn, user), unmasked)
    audit.record(conn, request, user, "registry.exported", None, {"rows": len(rows), "unmasked": unmasked})
    return Response(
        xlsx("在册患者", headers, rows),
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="registry.xlsx"'},
    )


@router.get("/import", include_in_schema=False)
def import_page(request: Request, user: Importer) -> Response:
    return render(request, "registry/import.html", {"problems": [], "imported": None})


@router.post("/import", include_in_schema=False, dependencies=WRITE)
def import_submit(
    request: Request, conn: Conn, user: Importer, file: Annotated[UploadFile, File()]
) -> Response:
    imported, problems = run_import(request, conn, user, file)
    status = 422 if problems else 200
    return render(
        request,
        "registry/import.html",
        {"problems": problems, "imported": None if problems else imported},
        status,
    )


@router.get("/assignments", include_in_schema=False)
def assignments_page(request: Request, conn: Conn, user: Assigner) -> Response:
    return render(request, "registry/assignments.html", {"rows": list_assignments(conn), "problems": []})


@router.post("/assignments", include_in_schema=False, dependencies=WRITE)
async def assignments_submit(request: Request, conn: Conn, user: Assigner) -> Response:
    form = await _form(request)
    remove = form.pop("remove", None) is not None
    form.pop("behaviours", None)
    data, problems = _form_model(AssignmentIn, form)
    if data is not None:
        problems = (unassign if remove else assign)(conn, data)
    if problems or data is None:
        return render(
            request, "registry/assignments.html", {"rows": list_assignments(conn), "problems": problems}, 422
        )
    action = "registry.area_unassigned" if remove else "registry.area_assigned"
    audit.record(conn, request, user, action, data.username, {"unit_code": data.unit_code})
    return RedirectResponse("/registry/assignments", status_code=303)
