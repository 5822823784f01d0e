"""Shapes only the registry API answers (接口响应): pages, lists and results wrapped for JSON.

The shapes a workflow takes and gives back are the domain's (``shidian.registry.records``).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel

from shidian.registry.records import IndicatorRow, PatientRow, WorkItem


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


class RewardRow(BaseModel):
    recipient_id: str
    unit_code: str
    category: Literal["risk_3_plus", "risk_below_3"]
    basis: str


class RewardsOut(BaseModel):
    year: int
    basis: str
    rows: list[RewardRow]


class ImportOut(BaseModel):
    ok: bool
    imported: int
    problems: list[dict[str, object]]
