"""The pilot reports API's request and response shapes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from shidian.web.fields import TEXT, Timestamp


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


def report_out(row: Any) -> ReportOut:
    return ReportOut(
        id=row.id, plan_id=row.plan_id, plan_code=row.plan_code, unit_code=row.unit_code, unit_name=row.unit_name,
        period_start=row.period_start, due_on=row.due_on, status=row.status, first_submitted_at=row.first_submitted_at,
        approved_at=row.approved_at, comment=row.comment,
    )  # fmt: skip


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
