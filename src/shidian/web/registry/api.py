"""The registry JSON API (严重精神障碍患者管理接口) under ``/api/registry``.

Thin routes over ``shidian.registry.service``, the same workflows as the pages: the service
scopes (a patient outside the caller's area is 404, a ``Refused`` turned into the one error
shape by ``web/errors``) and writes the audit record.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, HTTPException, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse

from shidian.platform.accounts import User
from shidian.problems import Problem
from shidian.registry import Period, service
from shidian.registry.records import (
    AssignmentIn,
    AssignmentOut,
    FollowUpIn,
    FollowUpResult,
    PatientDetail,
    PatientIn,
    RewardRow,
    TeamActionIn,
    TeamActionOut,
    TeamMemberIn,
    TeamMemberOut,
    WarningRow,
)
from shidian.web.deps import Conn, check_csrf, client_of, require
from shidian.web.errors import error_body
from shidian.web.errors import responses as error_responses
from shidian.web.registry.context import keys, uploaded
from shidian.web.registry.models import (
    ImportOut,
    IndicatorsOut,
    LoweredList,
    PatientList,
    PatientSearch,
    RegisteredOut,
    RewardsOut,
    WorkList,
)

router = APIRouter(prefix="/api/registry", tags=["registry"])
Viewer = Annotated[User, Depends(require("registry.view"))]
Editor = Annotated[User, Depends(require("registry.edit"))]
Importer = Annotated[User, Depends(require("registry.import"))]
Assigner = Annotated[User, Depends(require("registry.assign"))]
RegistryNo = Annotated[str, PathParam(pattern=r"^P[0-9A-F]{10}$", description="档案号 (registry number)")]
PeriodText = Annotated[
    str, Query(pattern=r"^\d{4}(-Q[1-4]|-\d{2})?$", description="2020, 2020-Q2 or 2020-06")
]
Year = Annotated[int, Query(ge=1900, le=2200)]
WRITE = [Depends(check_csrf)]


def _invalid(problems: list[Problem], **extra: object) -> JSONResponse:
    return JSONResponse({**error_body(422, problems), **extra}, status_code=422)


#: A search term in a URL: refused, so that no client learns to put an ID number in a query string.
SEARCH_BY_POST = (
    "检索请用 POST /api/registry/patients/search (no search terms in URLs: they land in access logs)"
)


@router.get("/patients", response_model=PatientList, responses=error_responses(401, 403, 422))
def patients_api(
    request: Request,
    conn: Conn,
    user: Viewer,
    status: Annotated[str | None, Query(pattern=r"^(managed|moved|deceased|lost)$")] = None,
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> PatientList:
    """Patients in the caller's area, masked (张*三, 4508**********1234). To search, POST to
    ``/api/registry/patients/search``: a ``q`` here is refused (422)."""
    if "q" in request.query_params:
        raise HTTPException(status_code=422, detail=SEARCH_BY_POST)
    total, rows = service.list_patients(
        conn, keys(request), user, client_of(request), status=status, page=page, page_size=page_size
    )
    return PatientList(total=total, page=page, page_size=page_size, patients=rows)


@router.post(
    "/patients/search",
    response_model=PatientList,
    responses=error_responses(400, 401, 403, 422),
    dependencies=WRITE,
)
def search_patients_api(request: Request, conn: Conn, user: Viewer, body: PatientSearch) -> PatientList:
    """Search the patients in the caller's area by registry number, ID number or village code,
    masked as in the list; the term travels in the body, never in the URL."""
    total, rows = service.list_patients(
        conn,
        keys(request),
        user,
        client_of(request),
        q=body.q,
        status=body.status,
        page=body.page,
        page_size=body.page_size,
    )
    return PatientList(total=total, page=body.page, page_size=body.page_size, patients=rows)


@router.post(
    "/patients",
    response_model=RegisteredOut,
    status_code=201,
    responses=error_responses(400, 401, 403, 422),
    dependencies=WRITE,
)
def register_api(request: Request, conn: Conn, user: Editor, data: PatientIn) -> JSONResponse | RegisteredOut:
    """Register a patient: ID number (GB 11643), diagnosis (one of six), village in the caller's area."""
    registry_no, problems = service.register_patient(conn, keys(request), user, data, client_of(request))
    if registry_no is None:
        return _invalid(problems)
    return RegisteredOut(registry_no=registry_no)


@router.get(
    "/patients/{registry_no}", response_model=PatientDetail, responses=error_responses(401, 403, 404, 422)
)
def patient_api(request: Request, conn: Conn, user: Viewer, registry_no: RegistryNo) -> PatientDetail:
    """One patient with follow-ups and team; identifiers in clear only for doctors and the office."""
    return service.patient_detail(conn, keys(request), user, registry_no, client_of(request))


@router.post(
    "/patients/{registry_no}/followups",
    response_model=FollowUpResult,
    status_code=201,
    responses=error_responses(400, 401, 403, 404, 422),
    dependencies=WRITE,
)
def followup_api(
    request: Request, conn: Conn, user: Editor, registry_no: RegistryNo, data: FollowUpIn
) -> JSONResponse | FollowUpResult:
    """Record a follow-up; answers the suggested level, the class and the next due date."""
    result, problems = service.record_followup(conn, user, registry_no, data, client_of(request))
    if result is None:
        return _invalid(problems)
    return result


@router.post(
    "/patients/{registry_no}/team",
    response_model=TeamMemberOut,
    status_code=201,
    responses=error_responses(400, 401, 403, 404, 422),
    dependencies=WRITE,
)
def team_member_api(
    request: Request, conn: Conn, user: Editor, registry_no: RegistryNo, data: TeamMemberIn
) -> TeamMemberOut:
    """Add a member to the patient's case-management team (个案管理团队)."""
    return service.add_team_member(conn, user, registry_no, data, client_of(request))


@router.post(
    "/patients/{registry_no}/team/actions",
    response_model=TeamActionOut,
    status_code=201,
    responses=error_responses(400, 401, 403, 404, 422),
    dependencies=WRITE,
)
def team_action_api(
    request: Request, conn: Conn, user: Editor, registry_no: RegistryNo, data: TeamActionIn
) -> JSONResponse | TeamActionOut:
    """Record an action of the team (个案管理记录)."""
    action, problems = service.add_team_action(conn, user, registry_no, data, client_of(request))
    if action is None:
        return _invalid(problems)
    return action


@router.get("/worklist", response_model=WorkList, responses=error_responses(401, 403))
def worklist_api(request: Request, conn: Conn, user: Viewer) -> WorkList:
    """Due and overdue follow-ups in the caller's area (工作清单)."""
    day, items = service.work_list(conn, user, client_of(request))
    return WorkList(today=day, items=items)


@router.get("/warnings", response_model=list[WarningRow], responses=error_responses(401, 403))
def warnings_api(request: Request, conn: Conn, user: Viewer) -> list[WarningRow]:
    """Per village: overdue follow-ups and unstable patients without a team (乡镇预警)."""
    return service.warnings(conn, user, client_of(request))


@router.get("/indicators", response_model=IndicatorsOut, responses=error_responses(401, 403, 404, 422))
def indicators_api(
    conn: Conn,
    user: Viewer,
    period: PeriodText,
    area: Annotated[str | None, Query(max_length=64, pattern=r"^[^\x00]*$", description="单位代码")] = None,
) -> IndicatorsOut:
    """The registry indicators with numerator and denominator (interfaces.md shape 1)."""
    try:
        chosen = Period.parse(period)
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    report = service.indicators(conn, user, chosen, area)
    return IndicatorsOut(
        area_code=report.area_code, area_name=report.area_name, period=period, rows=report.rows
    )


@router.get("/rewards", response_model=RewardsOut, responses=error_responses(401, 403, 422))
def rewards_api(request: Request, conn: Conn, user: Viewer, year: Year) -> RewardsOut:
    """The 有奖监护 guardian list of a year (interfaces.md shape 3), with the assessment (date,
    level, id, annual mark) each row rests on and the policy's minimum amount for its category."""
    table = service.reward_list(conn, user, year, client_of(request))
    rows = [RewardRow.model_validate(r) for r in table.to_pylist()]
    return RewardsOut(year=year, basis=service.policy().reward_basis, rows=rows)


@router.get("/lowered", response_model=LoweredList, responses=error_responses(401, 403, 422))
def lowered_api(request: Request, conn: Conn, user: Viewer, year: Year) -> LoweredList:
    """Risk assessments of a year confirmed below the checklist's suggestion, with the doctor's
    reason, in the caller's area (乡镇复核)."""
    return LoweredList(year=year, rows=service.lowered_levels(conn, user, year, client_of(request)))


@router.post(
    "/imports",
    response_model=ImportOut,
    responses=error_responses(400, 401, 403, 409, 422),
    dependencies=WRITE,
)
def import_api(
    request: Request,
    user: Importer,
    file: Annotated[UploadFile, File(description="存量患者名册 (.xlsx 或 .csv, UTF-8/GBK)")],
) -> JSONResponse | ImportOut:
    """Import an existing registry: every row or none, with a row-level report; 409
    ``job.busy`` while another import runs (in any server process)."""
    engine = request.app.state.engine
    with uploaded(request, file) as (path, name):
        imported, problems = service.import_registry(
            engine, keys(request), user, path, name, client_of(request)
        )
    if problems:
        return _invalid(problems, imported=0)
    return ImportOut(ok=True, imported=imported, problems=[])


@router.get("/assignments", response_model=list[AssignmentOut], responses=error_responses(401, 403))
def assignments_api(conn: Conn, user: Assigner) -> list[AssignmentOut]:
    """Doctor ↔ area assignments (精防医生负责区域)."""
    return service.list_assignments(conn, user)


@router.post(
    "/assignments",
    response_model=list[AssignmentOut],
    responses=error_responses(400, 401, 403, 422),
    dependencies=WRITE,
)
def assign_api(
    request: Request, conn: Conn, user: Assigner, data: AssignmentIn
) -> JSONResponse | list[AssignmentOut]:
    """Assign a doctor an area (a village, or a township or county for all its villages)."""
    problems = service.assign(conn, user, data, client_of(request))
    if problems:
        return _invalid(problems)
    return service.list_assignments(conn, user)


@router.post(
    "/assignments/remove",
    response_model=list[AssignmentOut],
    responses=error_responses(400, 401, 403, 422),
    dependencies=WRITE,
)
def unassign_api(
    request: Request, conn: Conn, user: Assigner, data: AssignmentIn
) -> JSONResponse | list[AssignmentOut]:
    """Remove an area from a doctor."""
    problems = service.unassign(conn, user, data, client_of(request))
    if problems:
        return _invalid(problems)
    return service.list_assignments(conn, user)
