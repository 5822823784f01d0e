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
    risk_level: int | None = Field(
        default=None, description="危险性评估 0–5 级 (医生确认); 缺省为行为清单的建议等级"
    )
    behaviours: list[Annotated[str, Field(max_length=32)]] = Field(default_factory=list, max_length=10)
    lowered_reason: Text | None = Field(
        default=None, description="确认等级低于建议等级的理由 (此时必填, 供乡镇复核)"
    )
    annual_assessment: bool = Field(default=False, description="本次为年度定期危险性评估 (有奖监护依据)")
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


class AssessmentIn(BaseModel):
    """A risk assessment carried by an imported registry row (存量患者的危险性评估): the checklist's
    suggestion, the confirmed level (default: the suggestion), the reason for a lower level, the
    date (default: the registration date)."""

    assessed_on: dt.date | None = None
    suggested_level: int | None = None
    risk_level: int | None = None
    lowered_reason: Text | None = None


class TeamMemberIn(BaseModel):
    role: Literal[
        "village_committee",
        "grid_worker",
        "doctor",
        "police",
        "civil_affairs",
        "disability_aide",
        "volunteer",
    ]
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


class AssessmentOut(BaseModel):
    """A risk assessment (危险性评估): the checklist's suggestion, the confirmed level, the reason
    when the doctor confirmed a lower level, and whether it is the year's periodic one."""

    id: int
    assessed_on: dt.date
    suggested_level: int | None
    risk_level: int
    lowered_reason: str | None
    annual_assessment: bool
    followup_id: int | None


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
    assessments: list[AssessmentOut] = Field(default_factory=list)
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
    assessment_id: int
    suggested_level: int
    risk_level: int
    lowered_reason: str | None = None
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


class LoweredRow(BaseModel):
    """A risk assessment confirmed below the checklist's suggestion, for the township's review
    (乡镇复核: 确认等级低于建议等级)."""

    registry_no: str
    name: str
    village_code: str
    village_name: str
    assessed_on: dt.date
    suggested_level: int
    risk_level: int
    lowered_reason: str | None
    followup_id: int | None
    doctor: str | None


class RewardRow(BaseModel):
    """A guardian on the 有奖监护 list (interfaces.md shape 3) with the assessment the amount rests
    on: its date, level and id, whether it was marked the year's periodic assessment, and the
    policy's minimum for the category."""

    recipient_id: str
    unit_code: str
    category: Literal["risk_3_plus", "risk_below_3"]
    basis: str
    assessment_id: int
    assessed_on: dt.date
    risk_level: int
    annual_assessment: bool
    village_name: str = Field(default="", description="村/社区名称")
    guardians: str = Field(default="", description="监护人 (姓名已遮盖)")
    min_yuan: str = Field(description="奖励下限, 元/年 (000 篇3 第11项)")


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
    #: the value is below the target (None: no target, or no denominator to judge by)
    below_target: bool | None = None


class AssignmentIn(BaseModel):
    """A doctor and an area (village, township or county code)."""

    username: ShortText
    unit_code: ShortText


class AssignmentOut(BaseModel):
    username: str
    unit_code: str
    unit_name: str
    unit_kind: str
