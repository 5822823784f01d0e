"""Capitation audit events: a year's 医共体 settlement stored from the web."""

from __future__ import annotations

from dataclasses import dataclass

from shidian.platform.audit import AuditEvent


@dataclass(frozen=True, kw_only=True)
class RunStored(AuditEvent, action="capitation.settle", summary="医共体按人头总额预付结算"):
    """``target``: the run id; the policy and the uploaded files' names."""

    policy: str
    files: tuple[str, ...]
