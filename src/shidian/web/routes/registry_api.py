"""The registry JSON API (严重精神障碍患者管理接口) under ``/api/registry``.

The same repository functions as the pages; the same scoping (a patient outside the caller's
area is 404); every view of a patient and every change writes an audit record.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, File, HTTPException, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse

from shidian.platform import audit
from shidian.platform.access import can
from shidian.platform.accounts import User
from shidian.platform.clock import today
from shidian.platform.db.schema import units
from shidian.problems import Problem
from shidian.registry import Period
from shidian.web.deps import Conn, check_csrf, require
from shidian.web.errors import responses as error_responses
from shidian.web.registry_assignments import assign, list_assignments, unassign
from shidian.web.registry_context import keys, not_found, policy, problems_body, scope
from shidian.web.registry_import import import_registry
from shidian.web.registry_models import (
    AssignmentIn,
    AssignmentOut,
    FollowUpIn,
    FollowUpResult,
    ImportOut,
    IndicatorsOut,
    PatientDetail,
    PatientIn,
    PatientList,
    RegisteredOut,
    RewardRow,
    RewardsOut,
    TeamActionIn,
    TeamActionOut,
    TeamMemberIn,
    TeamMemberOut,
    WarningRow,
    WorkList,
)
from shidian.web.registry_reports import (
    area_villages,
    indicator_rows,
    indicators,
    rewards,
    warnings,
    worklist,
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


def may_unmask(user: User) -> bool:
    """Clear identifiers on a patient's page: the doctors who follow the patient and the office."""
    return can(user, "registry.edit") or can(user, "registry.export_unmasked")


@router.get("/patients", response_model=PatientList, responses=error_responses(401, 403, 422))
def patients_api(
    request: Request,
    conn: Conn,
    user: Viewer,
    q: Annotated[str | None, Query(max_length=64, pattern=r"^[^\x00]*$")] = None,
    status: Annotated[str | None, Query(pattern=r"^(managed|moved|deceased|lost)$")] = None,
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> PatientList:
    """Patients in the caller's area, masked (张*三, 4508**********1234)."""
    total, rows = list_patients(
        conn,
        keys(request),
        scope(conn, user),
        policy(),
        today(),
        q=q,
        status=status,
        page=page,
        page_size=page_size,
    )
    audit.record(
        conn, request, user, "registry.patients_listed", None, {"q": bool(q), "page": page, "rows": len(rows)}
    )
    return PatientList(total=total, page=page, page_size=page_size, patients=rows)


@router.post(
    "/patients",
    response_model=RegisteredOut,
    status_code=201,
    responses=error_responses(400, 401, 403, 422),
    dependencies=WRITE,
)
def register_api(request: Request, conn: Conn, user: Editor, data: PatientIn) -> JSONResponse | RegisteredOut:
    """Register a patient: ID number (GB 11643), diagnosis (one of six), village in the caller's area."""
    registry_no, problems = register_patient(conn, keys(request), user, scope(conn, user), data, today())
    if registry_no is None:
        return JSONResponse(problems_body(problems), status_code=422)
    audit.record(conn, request, user, "registry.patient_registered", registry_no)
    return RegisteredOut(registry_no=registry_no)


@router.get(
    "/patients/{registry_no}", response_model=PatientDetail, responses=error_responses(401, 403, 404, 422)
)
def patient_api(request: Request, conn: Conn, user: Viewer, registry_no: RegistryNo) -> PatientDetail:
    """One patient with follow-ups and team; identifiers in clear only for doctors and the office."""
    try:
        detail = patient_detail(
            conn, keys(request), scope(conn, user), policy(), today(), registry_no, unmasked=may_unmask(user)
        )
    except NotFound:
        raise not_found() from None
    audit.record(conn, request, user, "registry.patient_viewed", registry_no, {"masked": detail.masked})
    return detail


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
    try:
        result, problems = record_followup(
            conn, user, scope(conn, user), policy(), registry_no, data, today()
        )
    except NotFound:
        raise not_found() from None
    if result is None:
        return JSONResponse(problems_body(problems), status_code=422)
    audit.record(
        conn,
        request,
        user,
        "registry.followup_recorded",
        registry_no,
        {"followup_id": result.followup_id, "risk_level": result.risk_level, "class": result.classification},
    )
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
    try:
        member_id = add_team_member(conn, user, scope(conn, user), registry_no, data, today())
    except NotFound:
        raise not_found() from None
    audit.record(
        conn,
        request,
        user,
        "registry.team_member_added",
        registry_no,
        {"member_id": member_id, "role": data.role},
    )
    return TeamMemberOut(
        id=member_id, role=data.role, member_name=data.member_name.strip(), phone=data.phone, added_on=today()
    )


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
    try:
        action_id, problems = add_team_action(conn, user, scope(conn, user), registry_no, data, today())
    except NotFound:
        raise not_found() from None
    if action_id is None:
        return JSONResponse(problems_body(problems), status_code=422)
    audit.record(conn, request, user, "registry.team_action_recorded", registry_no, {"action_id": action_id})
    return TeamActionOut(
        id=action_id, member_id=data.member_id, acted_on=data.acted_on, action=data.action.strip()
    )


@router.get("/worklist", response_model=WorkList, responses=error_responses(401, 403))
def worklist_api(request: Request, conn: Conn, user: Viewer) -> WorkList:
    """Due and overdue follow-ups in the caller's area (工作清单)."""
    day = today()
    items = worklist(conn, scope(conn, user), policy(), day)
    audit.record(conn, request, user, "registry.worklist_viewed", None, {"rows": len(items)})
    return WorkList(today=day, items=items)


@router.get("/warnings", response_model=list[WarningRow], responses=error_responses(401, 403))
def warnings_api(conn: Conn, user: Viewer) -> list[WarningRow]:
    """Per village: overdue follow-ups and unstable patients without a team (乡镇预警)."""
    return warnings(conn, scope(conn, user), policy(), today())


def resolve_area(conn: sa.Connection, user: User, area: str | None) -> tuple[int, str, str, frozenset[int]]:
    """(unit id, code, name, villages in scope) of the area asked for (default: the user's unit
    and everything the user may see); 404 when the area is outside the user's scope."""
    user_scope = scope(conn, user)
    query = sa.select(units.c.id, units.c.code, units.c.name)
    row = conn.execute(query.where(units.c.code == area if area else units.c.id == user.unit_id)).first()
    if row is None:
        raise not_found()
    if area is None:
        villages = user_scope.villages
        if villages is None:
            villages = frozenset(
                int(i) for i in conn.execute(sa.select(units.c.id).where(units.c.kind == "village")).scalars()
            )
    else:
        villages = area_villages(conn, user_scope, int(row.id))
        if user_scope.villages is not None and not villages:
            raise not_found()
    return int(row.id), str(row.code), str(row.name), villages


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
    area_id, code, name, villages = resolve_area(conn, user, area)
    table = indicators(conn, policy(), area_id, code, villages, chosen)
    return IndicatorsOut(area_code=code, area_name=name, period=period, rows=indicator_rows(table, policy()))


@router.get("/rewards", response_model=RewardsOut, responses=error_responses(401, 403, 422))
def rewards_api(request: Request, conn: Conn, user: Viewer, year: Year) -> RewardsOut:
    """The 有奖监护 guardian list of a year (interfaces.md shape 3)."""
    table = rewards(conn, scope(conn, user), policy(), year)
    audit.record(conn, request, user, "registry.rewards_listed", str(year), {"rows": table.num_rows})
    return RewardsOut(
        year=year, basis=policy().reward_basis, rows=[RewardRow(**r) for r in table.to_pylist()]
    )


@router.post(
    "/imports", response_model=ImportOut, responses=error_responses(400, 401, 403, 422), dependencies=WRITE
)
def import_api(
    request: Request,
    conn: Conn,
    user: Importer,
    file: Annotated[UploadFile, File(description="存量患者名册 (.xlsx 或 .csv, UTF-8/GBK)")],
) -> JSONResponse | ImportOut:
    """Import an existing registry: every row or none, with a row-level report."""
    imported, problems = run_import(request, conn, user, file)
    if problems:
        body = problems_body(problems)
        return JSONResponse({**body, "imported": 0}, status_code=422)
    return ImportOut(ok=True, imported=imported, problems=[])


def run_import(request: Request, conn: Conn, user: User, file: UploadFile) -> tuple[int, list[Problem]]:
    name = Path(file.filename or "registry.csv").name[:100]
    suffix = ".xlsx" if name.lower().endswith(".xlsx") else ".csv"
    folder = Path(tempfile.mkdtemp(prefix="registry-import-"))
    try:
        path = folder / f"upload{suffix}"
        with path.open("wb") as out:
            shutil.copyfileobj(file.file, out)
        imported, problems = import_registry(
            conn, keys(request), user, scope(conn, user), path, name, today()
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if problems:
        return 0, problems
    audit.record(conn, request, user, "registry.imported", name, {"rows": imported})
    return imported, []


@router.get("/assignments", response_model=list[AssignmentOut], responses=error_responses(401, 403))
def assignments_api(conn: Conn, user: Assigner) -> list[AssignmentOut]:
    """Doctor ↔ area assignments (精防医生负责区域)."""
    return list_assignments(conn)


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
    problems = assign(conn, data)
    if problems:
        return JSONResponse(problems_body(problems), status_code=422)
    audit.record(conn, request, user, "registry.area_assigned", data.username, {"unit_code": data.unit_code})
    return list_assignments(conn)


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
    problems = unassign(conn, data)
    if problems:
        return JSONResponse(problems_body(problems), status_code=422)
    audit.record(
        conn, request, user, "registry.area_unassigned", data.username, {"unit_code": data.unit_code}
    )
    return list_assignments(conn)
