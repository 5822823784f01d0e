"""The pilot reports API (试点填报接口): list, read, save or submit — scoped like the pages.

``GET /api/pilots/reports`` lists the reports the user may read, ``GET …/{id}`` one with its
values (404 for another unit's), ``POST /api/pilots/reports`` saves a draft or submits, with
the same workflow and validation as the form: 422 with every problem and nothing saved.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel, Field

from shidian.pilots.entry import Entry, check_entries
from shidian.platform import audit
from shidian.platform.accounts import User
from shidian.platform.db.pilots_schema import pilot_reports
from shidian.platform.units import all_units
from shidian.problems import has_errors
from shidian.web.deps import Conn, check_csrf, require
from shidian.web.drg_api import TEXT, Timestamp
from shidian.web.errors import ErrorOut, error_response
from shidian.web.errors import responses as error_responses
from shidian.web.pilots_reports import (
    ReportScope,
    refuse,
    report_values,
    reports_query,
    visible_units,
    write_values,
)

router = APIRouter()
Viewer = Annotated[User, Depends(require("pilots.reports.view"))]


class ValueOut(BaseModel):
    indicator_code: str
    population: str
    numerator: Decimal | None
    denominator: Decimal | None


class ReportOut(BaseModel):
    """A report (报表): plan, unit, period, workflow status and dates."""

    id: int
    plan_id: int
    plan_code: str
    unit_code: str
    unit_name: str
    period_start: date
    due_on: date
    status: str
    first_submitted_at: Timestamp | None = None
    approved_at: Timestamp | None = None
    comment: str | None = None


class ReportDetailOut(ReportOut):
    values: list[ValueOut]


def _report_out(row: Any) -> ReportOut:
    return ReportOut(
        id=row.id, plan_id=row.plan_id, plan_code=row.plan_code, unit_code=row.unit_code, unit_name=row.unit_name,
        period_start=row.period_start, due_on=row.due_on, status=row.status, first_submitted_at=row.first_submitted_at,
        approved_at=row.approved_at, comment=row.comment,
    )  # fmt: skip


@router.get("/api/pilots/reports", response_model=list[ReportOut], responses=error_responses(401, 403, 422))
def api_reports(
    conn: Conn, user: Viewer, plan_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None
) -> list[ReportOut]:
    """The reports the user may read (own unit, units approved, area, or all), newest first."""
    visible = visible_units(all_units(conn), user)
    if not visible:
        return []
    return [_report_out(r) for r in conn.execute(reports_query(visible, plan_id).limit(5000)).all()]


@router.get(
    "/api/pilots/reports/{report_id}",
    response_model=ReportDetailOut,
    responses=error_responses(401, 403, 404, 422),
)
def api_report(
    conn: Conn, user: Viewer, report_id: Annotated[int, PathParam(ge=1, le=2**31 - 1)]
) -> ReportDetailOut:
    """One report with its values; 404 for a report of a unit the user may not read."""
    visible = visible_units(all_units(conn), user)
    row = (
        conn.execute(reports_query(visible).where(pilot_reports.c.id == report_id)).first()
        if visible
        else None
    )
    if row is None:
        raise HTTPException(404, "没有这份报表 (no such report)")
    values = [
        ValueOut(indicator_code=code, population=pop, numerator=num, denominator=den)
        for (code, pop), (num, den) in sorted(report_values(conn, row.id).items())
    ]
    return ReportDetailOut(**_report_out(row).model_dump(), values=values)


class ValueIn(BaseModel):
    indicator_code: Annotated[str, Field(max_length=64, pattern=TEXT)]
    population: Annotated[str, Field(max_length=32, pattern=TEXT)] = ""
    numerator: Annotated[Decimal, Field(ge=-(10**20), le=10**20, allow_inf_nan=False)] | None = None
    denominator: Annotated[Decimal, Field(ge=-(10**20), le=10**20, allow_inf_nan=False)] | None = None


class ReportIn(BaseModel):
    """Values for one unit and period; ``action`` save (draft) or submit."""

    plan_id: Annotated[int, Field(ge=1, le=2**31 - 1)]
    unit_code: Annotated[str, Field(max_length=64, pattern=TEXT)]
    period_start: date
    action: Literal["save", "submit"] = "save"
    values: Annotated[list[ValueIn], Field(max_length=2000)]


@router.post(
    "/api/pilots/reports",
    response_model=ReportDetailOut,
    responses=error_responses(400, 401, 403, 404, 409)
    | {422: {"model": ErrorOut, "description": "每个问题 (every problem)"}},
    dependencies=[Depends(check_csrf)],
)
def api_save_report(request: Request, conn: Conn, user: Viewer, body: ReportIn) -> Response | ReportDetailOut:
    """Save a draft or submit: 200 with the report, 422 with every problem and nothing saved."""
    scope = ReportScope(conn, user, body.plan_id, body.unit_code, body.period_start.isoformat())
    entries = [Entry(v.indicator_code, v.population, v.numerator, v.denominator) for v in body.values]
    new_status = refuse(scope.decide(body.action))
    problems = scope.period_problems() + check_entries(
        scope.specs, entries, complete=body.action == "submit", source="<api>"
    )
    if has_errors(problems):
        return error_response(422, problems)
    report_id = write_values(conn, scope.plan_row, scope.unit.id, scope.start, entries, new_status, user)
    audit.record(
        conn, request, user, f"pilots.report_{'submitted' if body.action == 'submit' else 'saved'}",
        f"pilot_report/{report_id}", {"unit": scope.unit.code, "period": scope.start.isoformat(), "values": len(entries), "via": "api"},
    )  # fmt: skip
    return api_report(conn, user, report_id)
