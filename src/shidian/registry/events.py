"""The registry's audit events (严重精神障碍患者管理审计事件): every view of personal data and
every change, one class per action; ``target`` is the registry number (档案号), the year, the
file name or the doctor's user name. Action codes and detail keys are those of the log since
the registry began (docs/registry.md, "Privacy, access and audit")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shidian.platform.audit import AuditEvent


@dataclass(frozen=True, kw_only=True)
class PatientsListed(AuditEvent, action="registry.patients_listed", summary="查看患者名册"):
    q: bool
    page: int
    rows: int


@dataclass(frozen=True, kw_only=True)
class PatientRegistered(AuditEvent, action="registry.patient_registered", summary="登记患者"):
    pass


@dataclass(frozen=True, kw_only=True)
class TransferRequested(
    AuditEvent, action="registry.transfer_requested", summary="异地已登记患者的登记 (转入申请, 待复核)"
):
    """A registration (or imported row) whose ID number is held outside the caller's area: kept
    as a transfer request to the area holding the record (``target``, its registry number) and
    answered to the caller as a new registration under ``registry_no`` (issue 22 finding 1)."""

    registry_no: str
    village: str


@dataclass(frozen=True, kw_only=True)
class PatientViewed(AuditEvent, action="registry.patient_viewed", summary="查看患者档案"):
    masked: bool


@dataclass(frozen=True, kw_only=True)
class FollowUpRecorded(AuditEvent, action="registry.followup_recorded", summary="记录随访"):
    followup_id: int
    risk_level: int
    classification: str

    def detail(self) -> dict[str, Any]:
        # stored as "class" (a Python keyword, so not a field name)
        return {"followup_id": self.followup_id, "risk_level": self.risk_level, "class": self.classification}


@dataclass(frozen=True, kw_only=True)
class RiskLevelLowered(
    AuditEvent, action="registry.risk_level_lowered", summary="确认危险等级低于行为清单建议等级"
):
    """The doctor confirmed a level below the checklist's suggestion, with the reason (000 篇3
    第11、12项; issue 16 item 10). Logged with ``FollowUpRecorded``, or by the import
    (``followup_id`` None)."""

    assessment_id: int
    followup_id: int | None
    suggested_level: int
    risk_level: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class LoweredLevelsListed(
    AuditEvent, action="registry.lowered_levels_listed", summary="查看低于建议等级的评估 (乡镇复核)"
):
    rows: int


@dataclass(frozen=True, kw_only=True)
class TeamMemberAdded(AuditEvent, action="registry.team_member_added", summary="添加个案管理团队成员"):
    member_id: int
    role: str


@dataclass(frozen=True, kw_only=True)
class TeamActionRecorded(AuditEvent, action="registry.team_action_recorded", summary="记录个案管理"):
    action_id: int


@dataclass(frozen=True, kw_only=True)
class WorklistViewed(AuditEvent, action="registry.worklist_viewed", summary="查看工作清单"):
    rows: int


@dataclass(frozen=True, kw_only=True)
class WarningsViewed(
    AuditEvent, action="registry.warnings_viewed", summary="查看乡镇预警 (各村逾期、无管理小组人数)"
):
    rows: int


@dataclass(frozen=True, kw_only=True)
class RewardsListed(AuditEvent, action="registry.rewards_listed", summary="查看有奖监护名单"):
    rows: int


@dataclass(frozen=True, kw_only=True)
class RewardsExported(AuditEvent, action="registry.rewards_exported", summary="导出有奖监护名单"):
    rows: int


@dataclass(frozen=True, kw_only=True)
class PatientsExported(AuditEvent, action="registry.exported", summary="导出患者名册"):
    rows: int
    unmasked: bool


@dataclass(frozen=True, kw_only=True)
class RegistryImported(AuditEvent, action="registry.imported", summary="导入存量患者"):
    rows: int
    via: str | None = None

    def detail(self) -> dict[str, Any]:
        # ``via`` only from the command line ("cli"), as before
        return {"rows": self.rows} if self.via is None else {"rows": self.rows, "via": self.via}


@dataclass(frozen=True, kw_only=True)
class AreaAssigned(AuditEvent, action="registry.area_assigned", summary="分配精防医生负责区域"):
    unit_code: str


@dataclass(frozen=True, kw_only=True)
class AreaUnassigned(AuditEvent, action="registry.area_unassigned", summary="取消精防医生负责区域"):
    unit_code: str
