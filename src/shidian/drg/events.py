"""The DRG domain's audit events (审计事件): imports, runs, downloads and views of personal data.

Each is a typed ``AuditEvent`` (``shidian.platform.audit``); the action codes and detail keys
are those the audit log has always held (docs/web.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from shidian.platform.audit import AuditEvent


@dataclass(frozen=True, kw_only=True)
class ImportChecked(AuditEvent, action="drg.import_checked", summary="检查DRG导入文件"):
    """``target``: the staging token when the files passed (None otherwise)."""

    ok: bool
    problems: int
    files: list[str]


@dataclass(frozen=True, kw_only=True)
class DatasetImported(AuditEvent, action="drg.dataset_imported", summary="导入DRG数据集"):
    """``target``: the dataset id."""

    name: str
    year: int
    cases: int


@dataclass(frozen=True, kw_only=True)
class RunStarted(AuditEvent, action="drg.run_started", summary="发起DRG结算"):
    """``target``: the run id."""

    dataset_id: str
    policy_id: str
    corrects_run_id: str | None


@dataclass(frozen=True, kw_only=True)
class RunCancelled(AuditEvent, action="drg.run_cancelled", summary="取消DRG结算"):
    """``target``: the run id."""


@dataclass(frozen=True, kw_only=True)
class RunPublished(AuditEvent, action="drg.run_published", summary="发布DRG结算"):
    """``target``: the run id."""

    corrects_run_id: str | None
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class RunDownloaded(AuditEvent, action="drg.run_downloaded", summary="下载DRG结算文件"):
    """``target``: the run id."""

    file: str


@dataclass(frozen=True, kw_only=True)
class HospitalViewed(AuditEvent, action="drg.hospital_viewed", summary="查看医疗机构结算结果"):
    """``target``: the hospital id."""

    run_id: str
    filters: dict[str, str]
    page: int


@dataclass(frozen=True, kw_only=True)
class CasesListed(AuditEvent, action="drg.cases_listed", summary="查看病例列表"):
    """``target``: the hospital id."""

    run_id: str
    filters: dict[str, str]
    page: int
    rows: int


@dataclass(frozen=True, kw_only=True)
class CaseViewed(AuditEvent, action="drg.case_viewed", summary="查看病例说明"):
    """``target``: the case id."""

    run_id: str
    hospital_id: str
