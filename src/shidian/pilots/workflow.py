"""Report workflow (填报审核流程): draft → submitted → approved (locked) / returned.

A reporting unit (填报单位) enters the values of its own unit for a period and submits them;
the level above approves (审核通过, the report is then locked 锁定) or returns it with a
comment (退回). A locked report changes only through a change request (修改申请) that the
approver grants, which reopens it as a draft (the approval is withdrawn). Issue #5
"Reporting": "submit → approve by the level above → locked (changes after lock need the
approver)".

Pure: the adapter supplies who acts (role, unit, the units of the actor's area) and the
report's unit and its parent; the functions say what the new status is, or why not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["draft", "submitted", "approved", "returned"]
Action = Literal[
    "read", "save", "submit", "approve", "return", "request_change", "grant_change", "refuse_change"
]

STATUSES: dict[str, str] = {
    "draft": "草稿",
    "submitted": "已提交待审核",
    "approved": "已审核 (锁定)",
    "returned": "已退回",
}
ACTIONS: dict[str, str] = {
    "read": "查看",
    "save": "保存草稿",
    "submit": "提交",
    "approve": "审核通过",
    "return": "退回",
    "request_change": "申请修改",
    "grant_change": "同意修改",
    "refuse_change": "不同意修改",
}

#: (status before, action) → status after. ``None`` as status: the report does not exist yet.
TRANSITIONS: dict[tuple[str | None, str], str] = {
    (None, "save"): "draft",
    (None, "submit"): "submitted",
    ("draft", "save"): "draft",
    ("draft", "submit"): "submitted",
    ("returned", "save"): "returned",
    ("returned", "submit"): "submitted",
    ("submitted", "approve"): "approved",
    ("submitted", "return"): "returned",
    ("approved", "request_change"): "approved",
    ("approved", "grant_change"): "draft",
    ("approved", "refuse_change"): "approved",
}

#: Actions of the reporting unit itself (本单位填报) and of the level above (上级审核).
OWN_ACTIONS = frozenset({"save", "submit", "request_change"})
APPROVER_ACTIONS = frozenset({"approve", "return", "grant_change", "refuse_change"})
#: Roles that may approve for their own unit's direct subordinates (上级单位用户).
PARENT_APPROVER_ROLES = frozenset({"reporting_unit", "pilot_office"})
#: Roles that read every report (只读).
READ_ALL_ROLES = frozenset({"leader", "admin"})


@dataclass(frozen=True)
class Actor:
    """Who acts (操作人): role, own unit id and, for a pilot office, the unit ids of its area.

    ``area`` is None for "no area" (the actor approves only as the parent unit); the adapter
    computes it by walking ``units.parent_id`` from the area the office belongs to.
    """

    role: str
    unit_id: int
    area: frozenset[int] | None = None


@dataclass(frozen=True)
class Refusal:
    """Why an action is not allowed (不允许的原因), in Chinese; ``status`` 403 or 409."""

    reason: str
    status: int = 403


def is_locked(status: str | None) -> bool:
    """An approved report is locked (锁定): only a granted change request reopens it."""
    return status == "approved"


def is_editable(status: str | None) -> bool:
    """Values may be entered in a new, draft or returned report."""
    return status in (None, "draft", "returned")


def next_status(status: str | None, action: str, *, change_requested: bool = False) -> str | Refusal:
    """The status after ``action``, or a Refusal (409) naming the current status.

    ``change_requested``: a change request is pending on the report; granting or refusing
    needs one, and a second request waits until the first is decided.
    """
    if action in ("grant_change", "refuse_change") and not change_requested:
        return Refusal("没有待处理的修改申请 (no pending change request)", 409)
    if action == "request_change" and change_requested:
        return Refusal("已有待处理的修改申请 (a change request is already pending)", 409)
    after = TRANSITIONS.get((status, action))
    if after is None:
        label = STATUSES.get(status or "", "未填报")
        verb = ACTIONS.get(action, action)
        hint = "; 已锁定, 请提交修改申请 (locked: request a change)" if is_locked(status) else ""
        return Refusal(f"报表状态为「{label}」, 不能{verb}{hint} (not allowed in this status)", 409)
    return after


def may_approve(actor: Actor, report_unit: int, report_parent: int | None) -> bool:
    """The level above (上级): a pilot office whose area holds the unit, or the parent unit's user."""
    if actor.unit_id == report_unit:
        return False  # nobody approves their own report
    if actor.role == "pilot_office" and actor.area is not None and report_unit in actor.area:
        return True
    return (
        actor.role in PARENT_APPROVER_ROLES and report_parent is not None and actor.unit_id == report_parent
    )


def may_read(actor: Actor, report_unit: int, report_parent: int | None) -> bool:
    """Own unit, the units one approves, or everything for read-all roles."""
    if actor.role in READ_ALL_ROLES:
        return True
    if actor.role == "reporting_unit" and actor.unit_id == report_unit:
        return True
    return may_approve(actor, report_unit, report_parent)


def permission(actor: Actor, action: str, report_unit: int, report_parent: int | None) -> Refusal | None:
    """None when ``actor`` may do ``action`` on a report of ``report_unit``; else the Refusal (403)."""
    if action == "read":
        return None if may_read(actor, report_unit, report_parent) else Refusal("无权查看该单位的报表")
    if action in OWN_ACTIONS:
        if actor.role == "reporting_unit" and actor.unit_id == report_unit:
            return None
        return Refusal("只有本单位的填报人员可以填报、提交或申请修改 (own unit only)")
    if action in APPROVER_ACTIONS:
        if may_approve(actor, report_unit, report_parent):
            return None
        return Refusal("只有上级单位 (试点办或上级单位用户) 可以审核 (the level above approves)")
    return Refusal(f"未知操作 {action}")


def decide(
    actor: Actor,
    action: str,
    status: str | None,
    report_unit: int,
    report_parent: int | None,
    *,
    change_requested: bool = False,
) -> str | Refusal:
    """Permission first (403), then the state machine (409): the new status or the Refusal."""
    refusal = permission(actor, action, report_unit, report_parent)
    if refusal is not None:
        return refusal
    return next_status(status, action, change_requested=change_requested)
