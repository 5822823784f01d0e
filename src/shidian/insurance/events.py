"""The insurance domain's audit events (审计事件): one class per action, details as fields.

The action codes and detail keys are those the audit log has always had for insurance
(docs/web.md); every view of personal data (desk claims, notices, the health-check list) and
every change writes one, in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from shidian.platform.audit import AuditEvent


@dataclass(frozen=True, kw_only=True)
class DatasetImported(AuditEvent, action="insurance.import", summary="导入参合数据"):
    files: list[str]


@dataclass(frozen=True, kw_only=True)
class RunStarted(AuditEvent, action="insurance.run", summary="年度补偿结算"):
    dataset_id: str


@dataclass(frozen=True, kw_only=True)
class RunViewed(AuditEvent, action="insurance.run_view", summary="查看补偿结算 (含健康体检名单)"):
    health_checks: str = "listed"


@dataclass(frozen=True, kw_only=True)
class RunFileDownloaded(AuditEvent, action="insurance.run_download", summary="下载补偿结算文件"):
    file: str


@dataclass(frozen=True, kw_only=True)
class DeskPosted(AuditEvent, action="insurance.desk_post", summary="出院即时结算"):
    person_id: str
    institution_id: str
    reimbursement: str


@dataclass(frozen=True, kw_only=True)
class DeskReplayed(AuditEvent, action="insurance.desk_replay", summary="即时结算重发 (返回首次结果)"):
    person_id: str
    institution_id: str
    reimbursement: str


@dataclass(frozen=True, kw_only=True)
class DeskReversed(AuditEvent, action="insurance.desk_reverse", summary="即时结算冲正"):
    person_id: str
    institution_id: str
    freed: str
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class DeskReverseReplayed(
    AuditEvent, action="insurance.desk_reverse_replay", summary="即时结算冲正重发 (返回首次结果)"
):
    person_id: str
    institution_id: str
    freed: str


@dataclass(frozen=True, kw_only=True)
class DeskPatientFound(AuditEvent, action="insurance.desk_find", summary="结算窗口查询参合人员"):
    person_id: str


@dataclass(frozen=True, kw_only=True)
class DeskClaimViewed(AuditEvent, action="insurance.desk_claim_view", summary="查看即时结算记录"):
    person_id: str
    institution_id: str


@dataclass(frozen=True, kw_only=True)
class DeskListViewed(AuditEvent, action="insurance.desk_view", summary="查看即时结算列表"):
    claims: list[str]
