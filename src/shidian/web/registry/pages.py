"""Registry pages (严重精神障碍患者管理): patient list, registration, patient page with the
follow-up form, work list, township warnings, indicators, guardian rewards, import, exports.

Thin routes over ``shidian.registry.service``, the same workflows as the API (``api.py``): a
patient outside the user's area is 404; the service audits every view of a patient and every
change; lists and exports are masked unless the role has ``registry.export_unmasked``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from shidian.platform.accounts import User
from shidian.platform.clock import today
from shidian.platform.import_jobs import may_cancel
from shidian.problems import Problem, Source
from shidian.registry import BEHAVIOURS, RISK_LEVELS, Period, service, suggest_level
from shidian.registry.followup import CLASSES
from shidian.registry.model import DISORDER_NAMES, DISORDERS, REGISTRY_STATUSES, TEAM_ROLES, TREATMENTS
from shidian.registry.records import AssignmentIn, FollowUpIn, PatientIn, TeamActionIn, TeamMemberIn
from shidian.web.deps import Conn, FormBody, check_csrf, client_of, require
from shidian.web.paging import matches, paginate
from shidian.web.registry.context import keys, uploaded
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
_FLAGS = ("adverse_reaction", "physical_illness", "rehab", "psy_support", "health_check", "annual_assessment")
REWARD_BASES = {
    "annual": "年度定期评估 (无标记取年内最后一次)",
    "latest": "年内最后一次评估",
    "highest": "年内最高等级",
}


def _form_model(model: type[BaseModel], form: dict[str, Any]) -> tuple[Any, list[Problem]]:
    """A model from a submitted form (blanks are absent), or the problems with field names."""
    try:
        return model.model_validate({k: v for k, v in form.items() if v not in ("", None)}), []
    except ValidationError as exc:
        return None, [
            Problem("request.invalid", str(e["msg"]), Source("form", column=".".join(map(str, e["loc"]))))
            for e in exc.errors()
        ]


def _form(form: FormData) -> dict[str, Any]:
    data: dict[str, Any] = {k: v for k, v in form.items() if k not in ("csrf_token", "behaviours")}
    data["behaviours"] = [str(b) for b in form.getlist("behaviours")]
    return data


def _xlsx(body: bytes, filename: str) -> Response:
    return Response(
        body, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


def _index(
    request: Request, conn: Conn, user: User, q: str | None, status: str | None, page: int
) -> Response:
    total, rows = service.list_patients(
        conn, keys(request), user, client_of(request), q=q, status=status or None, page=page
    )
    return render(
        request,
        "registry/index.html",
        {"total": total, "rows": rows, "page": page, "q": q or "", "status": status or "", **LABELS},
    )


@router.get("", include_in_schema=False)
def index(
    request: Request,
    conn: Conn,
    user: Viewer,
    status: Annotated[str | None, Query(max_length=16)] = None,
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
) -> Response:
    """The patients of the user's area; a search is a POST (``/registry/search``): an ID number or a
    name in a URL would land in access logs and the browser's history."""
    return _index(request, conn, user, None, status, page)


@router.post("/search", include_in_schema=False, dependencies=WRITE)
def search(
    request: Request,
    conn: Conn,
    user: Viewer,
    q: Annotated[str, Form(max_length=64, pattern=r"^[^\x00]*$")] = "",
    status: Annotated[str, Form(max_length=16)] = "",
    page: Annotated[int, Form(ge=1, le=100000)] = 1,
) -> Response:
    return _index(request, conn, user, q.strip() or None, status or None, page)


@router.get("/new", include_in_schema=False)
def new_page(request: Request, user: Editor) -> Response:
    return render(
        request, "registry/new.html", {"form": {}, "problems": [], "all_disorders": DISORDERS, **LABELS}
    )


@router.post("/new", include_in_schema=False, dependencies=WRITE)
def new_submit(request: Request, submitted: FormBody, conn: Conn, user: Editor) -> Response:
    form = _form(submitted)
    form.pop("behaviours", None)
    data, problems = _form_model(PatientIn, form)
    registry_no = None
    if data is not None:
        registry_no, problems = service.register_patient(conn, keys(request), user, data, client_of(request))
    if registry_no is None:
        context = {"form": form, "problems": problems, "all_disorders": DISORDERS, **LABELS}
        return render(request, "registry/new.html", context, 422)
    return RedirectResponse(f"/registry/patients/{registry_no}", status_code=303)


def _patient_page(
    request: Request, conn: Conn, user: User, registry_no: str, extra: dict[str, Any], status_code: int = 200
) -> Response:
    detail = service.patient_detail(conn, keys(request), user, registry_no, client_of(request))
    known = {b.code for b in BEHAVIOURS}
    form = extra.get("form") or {}
    level = suggest_level([b for b in form.get("behaviours", []) if b in known])
    context = {
        "d": detail,
        "p": detail.patient,
        "today": today(),
        "problems": [],
        "result": None,
        "form": {},
        "level": level,
        "text": RISK_LEVELS[level],
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
    # the confirmed-level select is swapped too (out of band): it starts at the suggestion
    context = {
        "level": level,
        "text": RISK_LEVELS[level],
        "risk_levels": RISK_LEVELS,
        "form": {},
        "oob": True,
    }
    return render(request, "registry/_suggest.html", context)


@router.post("/patients/{registry_no}/followups", include_in_schema=False, dependencies=WRITE)
def followup_submit(
    request: Request, submitted: FormBody, conn: Conn, user: Editor, registry_no: str
) -> Response:
    form = _form(submitted)
    for flag in _FLAGS:
        form[flag] = flag in form
    data, problems = _form_model(FollowUpIn, form)
    result = None
    if data is not None:
        result, problems = service.record_followup(conn, user, registry_no, data, client_of(request))
    if result is None:
        return _patient_page(request, conn, user, registry_no, {"problems": problems, "form": form}, 422)
    return _patient_page(request, conn, user, registry_no, {"result": result})


@router.post("/patients/{registry_no}/team", include_in_schema=False, dependencies=WRITE)
def team_submit(
    request: Request, submitted: FormBody, conn: Conn, user: Editor, registry_no: str
) -> Response:
    form = _form(submitted)
    data, problems = _form_model(TeamMemberIn, form)
    if data is None:
        return _patient_page(request, conn, user, registry_no, {"problems": problems}, 422)
    service.add_team_member(conn, user, registry_no, data, client_of(request))
    return RedirectResponse(f"/registry/patients/{registry_no}#team", status_code=303)


@router.post("/patients/{registry_no}/team/actions", include_in_schema=False, dependencies=WRITE)
def team_action_submit(
    request: Request, submitted: FormBody, conn: Conn, user: Editor, registry_no: str
) -> Response:
    form = _form(submitted)
    data, problems = _form_model(TeamActionIn, form)
    action = None
    if data is not None:
        action, problems = service.add_team_action(conn, user, registry_no, data, client_of(request))
    if action is None:
        return _patient_page(request, conn, user, registry_no, {"problems": problems}, 422)
    return RedirectResponse(f"/registry/patients/{registry_no}#team", status_code=303)


@router.get("/worklist", include_in_schema=False)
def worklist_page(request: Request, conn: Conn, user: Viewer) -> Response:
    day, items = service.work_list(conn, user, client_of(request))
    return render(request, "registry/worklist.html", {"items": items, "today": day, **LABELS})


@router.get("/warnings", include_in_schema=False)
def warnings_page(request: Request, conn: Conn, user: Viewer) -> Response:
    rows = service.warnings(conn, user, client_of(request))
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
    report = service.indicators(conn, user, chosen, area or None)
    return render(
        request,
        "registry/indicators.html",
        {
            "rows": report.rows,
            "period": text,
            "area": area or "",
            "area_name": report.area_name,
            "area_code": report.area_code,
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
    rows = service.reward_list(conn, user, chosen, client_of(request)).to_pylist()
    keep = matches(request, "", {"village": "unit_code", "category": "category"})
    kept = [r for r in rows if keep(r)]
    return render(
        request,
        "registry/rewards.html",
        {
            "rows": paginate(
                request, kept, sortable=("recipient_id", "unit_code", "min_yuan", "risk_level", "assessed_on")
            ),
            "all_count": len(rows),
            "villages": sorted({(r["unit_code"], r["village_name"]) for r in rows}),
            "total_yuan": sum((Decimal(r["min_yuan"]) for r in kept), Decimal(0)),
            "year": chosen,
            "policy": service.policy(),
            "bases": REWARD_BASES,
            "categories": service.REWARD_CATEGORIES,
        },
    )


@router.get("/lowered", include_in_schema=False)
def lowered_page(
    request: Request, conn: Conn, user: Viewer, year: Annotated[int | None, Query(ge=1900, le=2200)] = None
) -> Response:
    """Assessments confirmed below the checklist's suggestion, for the township's review."""
    chosen = _year(year)
    rows = service.lowered_levels(conn, user, chosen, client_of(request))
    return render(request, "registry/lowered.html", {"rows": rows, "year": chosen})


@router.get("/rewards.xlsx", include_in_schema=False)
def rewards_export(
    request: Request, conn: Conn, user: Viewer, year: Annotated[int | None, Query(ge=1900, le=2200)] = None
) -> Response:
    chosen = _year(year)
    body = service.export_rewards(conn, user, chosen, client_of(request))
    return _xlsx(body, f"guardian-rewards-{chosen}.xlsx")


@router.get("/export.xlsx", include_in_schema=False)
def patients_export(request: Request, conn: Conn, user: Viewer) -> Response:
    """Every patient in scope; masked unless the role has ``registry.export_unmasked``."""
    return _xlsx(service.export_patients(conn, keys(request), user, client_of(request)), "registry.xlsx")


@router.get("/import", include_in_schema=False)
def import_page(request: Request, conn: Conn, user: Importer) -> Response:
    running = service.import_running(conn, user)
    context: dict[str, Any] = {
        "problems": [],
        "imported": None,
        "running": running,
        "can_cancel": may_cancel(user, running),
    }
    return render(request, "registry/import.html", context)


@router.post("/import", include_in_schema=False, dependencies=WRITE)
def import_submit(request: Request, user: Importer, file: Annotated[UploadFile, File()]) -> Response:
    engine = request.app.state.engine
    with uploaded(request, file) as (path, name):  # one import at a time: 409 job.busy otherwise
        imported, problems = service.import_registry(
            engine, keys(request), user, path, name, client_of(request)
        )
    return render(
        request,
        "registry/import.html",
        {"problems": problems, "imported": None if problems else imported, "running": None},
        422 if problems else 200,
    )


@router.get("/assignments", include_in_schema=False)
def assignments_page(request: Request, conn: Conn, user: Assigner) -> Response:
    rows = service.list_assignments(conn, user)
    return render(request, "registry/assignments.html", {"rows": rows, "problems": []})


@router.post("/assignments", include_in_schema=False, dependencies=WRITE)
def assignments_submit(request: Request, submitted: FormBody, conn: Conn, user: Assigner) -> Response:
    form = _form(submitted)
    remove = form.pop("remove", None) is not None
    form.pop("behaviours", None)
    data, problems = _form_model(AssignmentIn, form)
    if data is not None:
        problems = (service.unassign if remove else service.assign)(conn, user, data, client_of(request))
    if problems or data is None:
        rows = service.list_assignments(conn, user)
        return render(request, "registry/assignments.html", {"rows": rows, "problems": problems}, 422)
    return RedirectResponse("/registry/assignments", status_code=303)
