"""The registry's records (严重精神障碍患者管理数据结构): what a workflow takes and gives back.

The request shapes (a patient to register, a follow-up, a team member or action, a doctor's
area) are what the pages, the API, the import and the demo hand the services; the result
shapes (a patient row or page, a follow-up's outcome, work-list and warning rows, indicator
rows, assignments) are what the services answer. Shapes only the API answers live in
``shidian.web.registry.models``.

Inputs are deliberately loose where the registry gives a clearer message than a schema would
(an invalid ID number, an unknown diagnosis, a risk level outside 0–5 are Problems with the
registry's own codes); shapes and lengths are checked here.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, Field

Text = Annotated[str, Field(max_length=200, pattern=r"^[^\x00]*$")]
ShortText = Annotated[str, Field(max_length=64, pattern=r"^[^\x00]*$")]
Treatment = Literal["medication", "hospital", "none"]
Status = Literal["managed", "moved", "deceased", "lost"]


class PatientIn(BaseModel):
    """A patient to register (患者登记)."""

    name: ShortText
    id_number: ShortText
    village_code: ShortText = Field(description="村/社区单位代码 (12 位行政区划代码)")
    icd10: ShortText = Field(description="ICD-10 诊断编码, 如 F20.0")
    diagnosed_on: dt.date | None = None
    diagnosing_hospital: Text | None = None
    registered_on: dt.date | None = Field(default=None, description="登记日期, 缺省为今天")
    treatment: Treatment = "none"
    address: Text | None = None
    guardian_name: ShortText | None = None
    guardian_phone: ShortText | None = None
    guardian_relation: ShortText | None = None


class FollowUpIn(BaseModel):
    """A follow-up (随访) with its risk assessment (危险性评估)."""

    followed_on: dt.date
    risk_level: int = Field(description="危险性评估 0–5 级 (医生确认)")
    behaviours: list[Annotated[str, Field(max_length=32)]] = Field(default_factory=list, max_length=10)
    symptoms: Literal["marked", "present", "remitted"] = "remitted"
    insight: Literal["lacking", "partial", "good"] = "good"
    social_function: Literal["poor", "fair", "good"] = "good"
    adverse_reaction: bool = False
    physical_illness: bool = False
    treatment: Treatment = "medication"
    rehab: bool = False
    psy_support: bool = False
    health_check: bool = False
    note: Text | None = None


class TeamMemberIn(BaseModel):
    role: Literal["village_committee", "grid_worker", "doctor", "police", "disability_aide", "volunteer"]
    member_name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00]*$")]
    phone: ShortText | None = None


class TeamActionIn(BaseModel):
    member_id: int | None = None
    acted_on: dt.date
    action: Annotated[str, Field(min_length=1, max_length=2000, pattern=r"^[^\x00]*$")]


class PatientRow(BaseModel):
    """A patient in a list: masked name and ID number, never the clear values."""

    registry_no: str
    name: str
    id_number: str
    sex: str
    birth_year: int
    village_code: str
    village_name: str
    disorder: str
    icd10: str
    registered_on: dt.date
    status: str
    treatment: str
    last_followed_on: dt.date | None
    last_class: str | None
    last_risk: int | None
    next_due_on: dt.date | None
    due_state: Literal["overdue", "due", "ok", "inactive"]


class FollowUpOut(BaseModel):
    id: int
    followed_on: dt.date
    risk_level: int | None
    classification: str
    next_due_on: dt.date
    treatment: str
    rehab: bool
    psy_support: bool
    health_check: bool
    note: str | None


class TeamMemberOut(BaseModel):
    id: int
    role: str
    member_name: str
    phone: str | None
    added_on: dt.date


class TeamActionOut(BaseModel):
    id: int
    member_id: int | None
    acted_on: dt.date
    action: str


class PatientDetail(BaseModel):
    """One patient: identifiers (masked unless the caller may see them), history, team."""

    patient: PatientRow
    masked: bool
    address: str | None
    diagnosing_hospital: str | None
    diagnosed_on: dt.date | None
    guardian_name: str | None
    guardian_phone: str | None
    guardian_relation: str | None
    followups: list[FollowUpOut]
    team: list[TeamMemberOut]
    actions: list[TeamActionOut]
    needs_team: bool
    assessed_this_year: int = Field(description="本年度含危险性评估的随访次数 (规范: 每年至少 4 次)")
    required_per_year: int
    health_checks_12_months: int = Field(description="近 12 个月健康体检次数 (规范: 每年 1 次)")
    required_health_checks: int


class FollowUpResult(BaseModel):
    """What recording a follow-up computed: the suggested and confirmed level, class, due date."""

    registry_no: str
    followup_id: int
    suggested_level: int
    risk_level: int
    classification: str
    next_due_on: dt.date
    refer_now: bool
    needs_team: bool


class WorkItem(BaseModel):
    registry_no: str
    name: str
    village_name: str
    disorder: str
    last_class: str | None
    last_risk: int | None
    last_followed_on: dt.date | None
    next_due_on: dt.date | None
    state: Literal["overdue", "due"]
    days_overdue: int


class WarningRow(BaseModel):
    """A village's warnings for the township (乡镇预警)."""

    village_code: str
    village_name: str
    overdue: int
    max_days_overdue: int
    unstable_without_team: int


class IndicatorRow(BaseModel):
    unit_code: str
    indicator_code: str
    name: str
    period_start: dt.date
    population: str
    numerator: str
    denominator: str | None
    value: str
    target: str | None


class AssignmentIn(BaseModel):
    """A doctor and an area (village, township or county code)."""

    username: ShortText
    unit_code: ShortText


class AssignmentOut(BaseModel):
    username: str
    unit_code: str
    unit_name: str
    unit_kind: str
