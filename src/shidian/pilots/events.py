"""The pilot plans' audit events (审计事件): one frozen dataclass per action.

The action codes and detail keys are those the pilot pages always wrote (``pilots.*``). A field
left None is not stored: the events that name either a template or a file, or carry a problem
count only when there is one, keep the detail they had.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from shidian.platform.audit import AuditEvent


def _sparse(event: Any) -> dict[str, Any]:
    """The event's fields but ``target``, leaving out those that are None."""
    fields = (f.name for f in dataclasses.fields(event) if f.name != "target")
    return {name: getattr(event, name) for name in fields if getattr(event, name) is not None}


class _Sparse:
    """Mixin (first base): fields that are None are left out of the stored detail."""

    def detail(self) -> dict[str, Any]:
        return _sparse(self)


# ---- plans ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class PlanLoaded(_Sparse, AuditEvent, action="pilots.plan_loaded", summary="加载试点方案"):
    template: str | None = None
    file: str | None = None
    units: int
    due_day: int


@dataclass(frozen=True, kw_only=True)
class PlanRefused(AuditEvent, action="pilots.plan_refused", summary="试点方案文件被拒绝"):
    problems: int


@dataclass(frozen=True, kw_only=True)
class ScorecardExported(AuditEvent, action="pilots.scorecard_exported", summary="导出考核评分表"):
    as_of: str


# ---- reports ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _ReportWritten(_Sparse):
    """The details of a report written (mixin, first base)."""

    plan: str
    unit: str
    period: str
    status: str
    values: int
    file: str | None = None
    via: str | None = None  # "api" from the JSON API; None from the form


@dataclass(frozen=True, kw_only=True)
class ReportSaved(_ReportWritten, AuditEvent, action="pilots.report_saved", summary="保存报表草稿"):
    pass


@dataclass(frozen=True, kw_only=True)
class ReportSubmitted(_ReportWritten, AuditEvent, action="pilots.report_submitted", summary="提交报表"):
    pass


@dataclass(frozen=True, kw_only=True)
class ReportUploaded(_ReportWritten, AuditEvent, action="pilots.report_uploaded", summary="Excel 导入报表"):
    pass


@dataclass(frozen=True, kw_only=True)
class ReportUploadRefused(
    _Sparse, AuditEvent, action="pilots.report_upload_refused", summary="Excel 报表被拒绝"
):
    file: str
    problems: int | None = None


@dataclass(frozen=True, kw_only=True)
class ReportApproved(AuditEvent, action="pilots.report_approved", summary="审核通过报表"):
    comment: str


@dataclass(frozen=True, kw_only=True)
class ReportReturned(AuditEvent, action="pilots.report_returned", summary="退回报表"):
    comment: str


@dataclass(frozen=True, kw_only=True)
class ChangeRequested(AuditEvent, action="pilots.change_requested", summary="申请修改已锁定报表"):
    reason: str


@dataclass(frozen=True, kw_only=True)
class ChangeGranted(AuditEvent, action="pilots.change_granted", summary="同意修改报表"):
    request: int
    comment: str


@dataclass(frozen=True, kw_only=True)
class ChangeRefused(AuditEvent, action="pilots.change_refused", summary="不同意修改报表"):
    request: int
    comment: str


# ---- supervision ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class VisitCreated(AuditEvent, action="pilots.visit_created", summary="登记督导"):
    unit: str
    on: str


@dataclass(frozen=True, kw_only=True)
class FindingCreated(AuditEvent, action="pilots.finding_created", summary="登记督导发现问题"):
    visit: int
    severity: str
    deduction: str


@dataclass(frozen=True, kw_only=True)
class EvidenceUploaded(AuditEvent, action="pilots.evidence_uploaded", summary="上传佐证材料"):
    finding: int
    file: str
    sha256: str
    size: int


@dataclass(frozen=True, kw_only=True)
class EvidenceViewed(AuditEvent, action="pilots.evidence_viewed", summary="查看佐证材料"):
    file: str


@dataclass(frozen=True, kw_only=True)
class RectificationCreated(AuditEvent, action="pilots.rectification_created", summary="下达整改事项"):
    finding: int
    deadline: str


@dataclass(frozen=True, kw_only=True)
class _RectificationStep:
    """A rectification item moved from ``before`` to ``after`` (mixin, first base)."""

    before: str
    after: str

    def detail(self) -> dict[str, Any]:
        return {"from": self.before, "to": self.after}  # the keys the log always had


@dataclass(frozen=True, kw_only=True)
class RectificationDone(
    _RectificationStep, AuditEvent, action="pilots.rectification_mark_done", summary="报告整改完成"
):
    pass


@dataclass(frozen=True, kw_only=True)
class RectificationVerified(
    _RectificationStep, AuditEvent, action="pilots.rectification_verify", summary="核实销号"
):
    pass


@dataclass(frozen=True, kw_only=True)
class RectificationReopened(
    _RectificationStep, AuditEvent, action="pilots.rectification_reopen", summary="重新整改"
):
    pass


#: The event of each rectification step.
RECTIFICATION_STEPS: dict[str, type[RectificationDone | RectificationVerified | RectificationReopened]] = {
    "mark_done": RectificationDone,
    "verify": RectificationVerified,
    "reopen": RectificationReopened,
}
