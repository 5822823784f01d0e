"""Capitation audit events: a year's 医共体 settlement run from the web, published (or
correcting a published one), a quarterly prepayment recorded as paid, a primary-care run."""

from __future__ import annotations

from dataclasses import dataclass

from shidian.platform.audit import AuditEvent


@dataclass(frozen=True, kw_only=True)
class RunStored(AuditEvent, action="capitation.settle", summary="医共体按人头总额预付结算"):
    """``target``: the run id; the policy, the uploaded files' names and the resident-insurance
    run the spending was taken from (``claims_run_id``, or empty)."""

    policy: str
    files: tuple[str, ...]
    claims_run_id: str = ""


@dataclass(frozen=True, kw_only=True)
class RunPublished(AuditEvent, action="capitation.publish", summary="发布医共体按人头总额预付结算"):
    """``target``: the run id; the published run of the year it corrects and why (or empty)."""

    corrects_run_id: str | None
    reason: str


@dataclass(frozen=True, kw_only=True)
class PrepaymentPaid(AuditEvent, action="capitation.prepayment_paid", summary="医共体季度预拨到账登记"):
    """``target``: the run id; the 医共体, the quarter, the amount paid, the day it was paid, the
    transfer's reference and the reason of a payment beyond what was due (or empty)."""

    community_id: str
    quarter: int
    amount: str
    paid_on: str
    reference: str = ""
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class PrimaryCareCalculated(
    AuditEvent, action="capitation.primary_care", summary="基本公共卫生与基层补偿计算 (002 篇四)"
):
    """``target``: the calculation's id; the policy and the uploaded tables' names."""

    policy: str
    files: tuple[str, ...]
