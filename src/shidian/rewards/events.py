"""以奖代补 audit events: allocating a fund and downloading an allocation's workbook."""

from __future__ import annotations

from dataclasses import dataclass

from shidian.platform.audit import AuditEvent


@dataclass(frozen=True, kw_only=True)
class AllocationStored(AuditEvent, action="rewards.allocate", summary="以奖代补资金分配"):
    """``target``: the allocation id; the rule file and the uploaded files' names."""

    rules: str
    files: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class WorkbookDownloaded(AuditEvent, action="rewards.download", summary="下载以奖代补分配结果"):
    """``target``: the allocation id."""
