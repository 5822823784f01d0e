"""The pilot reports API (试点填报接口): list, read, save or submit — scoped like the pages.

``GET /api/pilots/reports`` lists the reports the user may read, ``GET …/{id}`` one with its
values (404 for another unit's), ``POST /api/pilots/reports`` saves a draft or submits through
the same workflow as the form (``service.reports.save_report``): 422 with every problem and
nothing saved.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response

from shidian.pilots.entry import Entry
from shidian.pilots.service import reports as service
from shidian.pilots.service.reports import ReportRef
from shidian.platform.accounts import User
from shidian.web.deps import Conn, check_csrf, client_of, require
from shidian.web.errors import ErrorOut, error_response
from shidian.web.errors import responses as error_responses
from shidian.web.pilots.models import ReportDetailOut, ReportIn, ReportOut, ValueOut, report_out

router = APIRouter()
Viewer = Annotated[User, Depends(require("pilots.reports.view"))]


@router.get("/api/pilots/reports", response_model=list[ReportOut], responses=error_responses(401, 403, 422))
def api_reports(
    conn: Conn, user: Viewer, plan_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None
) -> list[ReportOut]:
    """The reports the user may read (own unit, units approved, area, or all), newest first."""
    return [report_out(r) for r in service.visible_reports(conn, user, plan_id)]


@router.get(
    "/api/pilots/reports/{report_id}",
    response_model=ReportDetailOut,
    responses=error_responses(401, 403, 404, 422),
)
def api_report(
    conn: Conn, user: Viewer, report_id: Annotated[int, PathParam(ge=1, le=2**31 - 1)]
) -> ReportDetailOut:
    """One report with its values; 404 for a report of a unit the user may not read."""
    row, values = service.report_detail(conn, user, report_id)
    shown = [
        ValueOut(indicator_code=code, population=pop, numerator=num, denominator=den)
        for (code, pop), (num, den) in sorted(values.items())
    ]
    return ReportDetailOut(**report_out(row).model_dump(), values=shown)


@router.post(
    "/api/pilots/reports",
    response_model=ReportDetailOut,
    responses=error_responses(400, 401, 403, 404, 409)
    | {422: {"model": ErrorOut, "description": "每个问题 (every problem)"}},
    dependencies=[Depends(check_csrf)],
)
def api_save_report(request: Request, conn: Conn, user: Viewer, body: ReportIn) -> Response | ReportDetailOut:
    """Save a draft or submit: 200 with the report, 422 with every problem and nothing saved."""
    ref = ReportRef(body.plan_id, body.unit_code, body.period_start.isoformat())
    entries = [Entry(v.indicator_code, v.population, v.numerator, v.denominator) for v in body.values]
    report_id, problems = service.save_report(
        conn, user, ref, entries, body.action, via="api", client=client_of(request)
    )
    if report_id is None:
        return error_response(422, problems)
    return api_report(conn, user, report_id)
