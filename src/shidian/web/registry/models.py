"""Shapes only the registry API answers (接口响应): pages, lists and results wrapped for JSON.

The shapes a workflow takes and gives back are the domain's (``shidian.registry.records``).
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from shidian.registry.records import IndicatorRow, LoweredRow, PatientRow, RewardRow, WorkItem


class PatientList(BaseModel):
    total: int
    page: int
    page_size: int
    patients: list[PatientRow]


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
