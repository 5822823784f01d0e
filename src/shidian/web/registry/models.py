"""Shapes only the registry API answers (接口响应): pages, lists and results wrapped for JSON.

The shapes a workflow takes and gives back are the domain's (``shidian.registry.records``).
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from shidian.registry.records import IndicatorRow, LoweredRow, PatientRow, RewardRow, WorkItem


class PatientList(BaseModel):
    total: int
    page: int
    page_size: int
    patients: list[PatientRow]


class PatientSearch(BaseModel):
    """A search of the registry, sent in the body: an ID number or a name in a URL would land in
    every access log and browser history on the way."""

    q: str | None = Field(None, max_length=64, pattern=r"^[^\x00]*$", description="档案号, 身份证号或村代码")
    status: str | None = Field(None, pattern=r"^(managed|moved|deceased|lost)$")
    page: int = Field(1, ge=1, le=100000)
    page_size: int = Field(50, ge=1, le=500)


class RegisteredOut(BaseModel):
    registry_no: str


class WorkList(BaseModel):
    today: dt.date
    items: list[WorkItem]


class IndicatorsOut(BaseModel):
    area_code: str
    area_name: str
    period: str
    rows: list[IndicatorRow]


class RewardsOut(BaseModel):
    year: int
    basis: str
    rows: list[RewardRow]


class LoweredList(BaseModel):
    year: int
    rows: list[LoweredRow]


class ImportOut(BaseModel):
    ok: bool
    imported: int
    problems: list[dict[str, object]]
