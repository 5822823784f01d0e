"""The audit log (审计日志): who saw and changed what, when, from where — as typed events.

Each auditable action is a frozen dataclass (an ``AuditEvent``): its ``action`` code and Chinese
``summary`` are declared once, on the class, and its fields are the event's details. Domains
declare their events in ``<domain>/events.py``; ``EVENTS`` lists every one (docs/audit-events.md, generated).

Every view of personal data and every change calls ``log`` inside the same transaction as the
change, so an audit record exists exactly when the change does. The caller passes the acting
user (None before login) and the ``Client`` it came from (None from the CLI).
Admins and leaders read the log with ``browse`` (a page) and ``export`` (audited itself).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import sqlalchemy as sa

from shidian.platform.access import require_permission
from shidian.platform.clock import now
from shidian.platform.db.schema import audit_events

#: Built once (every audited request runs it); the columns come from the parameters.
_INSERT = audit_events.insert()

#: Every event class by its action code, filled as the classes are declared.
EVENTS: dict[str, type[AuditEvent]] = {}


@dataclass(frozen=True)
class Client:
    """Where a request came from: the client's address and user agent (cut to 255 characters)."""

    ip: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True, kw_only=True)
class AuditEvent:
    """One auditable action. Subclass with ``action=`` and ``summary=`` class arguments::

        @dataclass(frozen=True, kw_only=True)
        class RunPublished(AuditEvent, action="drg.run_published", summary="发布结算批次"):
            corrects_run_id: str | None

    ``target`` names the object acted on (a run id, a registry number, a user name).
    """

    action: ClassVar[str]
    summary: ClassVar[str]
    target: str | None = None

    def __init_subclass__(cls, *, action: str, summary: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if action in EVENTS:
            raise ValueError(f"audit action {action!r} declared twice")
        cls.action = action
        cls.summary = summary
        EVENTS[action] = cls

    def detail(self) -> dict[str, Any]:
        """The event's fields but ``target``, as stored (JSON)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "target"}


#: The Chinese name of each detail field of the events (the audit page shows ``名称: 值``);
#: a test holds every event's fields to having one.
DETAIL_LABELS: dict[str, str] = {
    "action_filter": "按操作筛选",
    "action_id": "干预记录",
    "after": "变更后",
    "amount": "金额",
    "as_of": "截至",
    "assessment_id": "评估记录",
    "before": "变更前",
    "cases": "病例数",
    "claims": "结算单",
    "claims_run_id": "居民医保结算批次",
    "classification": "随访分类",
    "comment": "意见",
    "community_id": "医共体",
    "corrects_run_id": "更正的批次",
    "dataset_id": "数据集",
    "deadline": "整改期限",
    "deduction": "扣分",
    "due_day": "报送日",
    "file": "文件",
    "files": "文件",
    "filters": "筛选条件",
    "finding": "问题",
    "followup_id": "随访记录",
    "freed": "释放额度",
    "health_checks": "健康体检名单",
    "hospital_id": "医疗机构",
    "institution_id": "医疗机构",
    "kind": "类别",
    "masked": "已脱敏",
    "member_id": "成员",
    "name": "名称",
    "ok": "通过",
    "on": "日期",
    "page": "页码",
    "paid_on": "拨付日期",
    "period": "报告期",
    "person_id": "参保人",
    "plan": "试点方案",
    "policy": "政策",
    "policy_id": "政策",
    "problems": "问题数",
    "q": "查询",
    "quarter": "季度",
    "reason": "原因",
    "reference": "凭证号",
    "registry_no": "登记号",
    "reimbursement": "报销金额",
    "request": "申请",
    "risk_level": "危险性等级",
    "role": "角色",
    "rows": "行数",
    "rules": "规则",
    "run_id": "结算批次",
    "sessions": "会话数",
    "severity": "严重程度",
    "sha256": "SHA-256",
    "size": "大小(字节)",
    "status": "状态",
    "suggested_level": "建议等级",
    "template": "模板",
    "unit": "单位",
    "unit_code": "区划代码",
    "unit_id": "单位",
    "units": "单位数",
    "unmasked": "未脱敏",
    "unread": "未读",
    "user_id": "用户",
    "username": "用户名",
    "values": "填报值",
    "via": "途径",
    "village": "村",
    "visit": "督导检查",
    "year": "年度",
}


def log(
    conn: sa.Connection, event: AuditEvent, user: Any | None = None, client: Client | None = None
) -> None:
    """Write one audit record of ``event`` by ``user`` (None before login) from ``client``."""
    conn.execute(
        _INSERT,
        {
            "at": now(),
            "user_id": getattr(user, "id", None),
            "username": getattr(user, "username", None),
            "role": getattr(user, "role", None),
            "unit_id": getattr(user, "unit_id", None),
            "action": event.action,
            "target": event.target,
            "detail": event.detail(),
            "ip": client.ip if client else None,
            "user_agent": client.user_agent[:255] if client and client.user_agent else None,
        },
    )


# ---- the platform's own events: signing in and out, user administration -----------------------


@dataclass(frozen=True, kw_only=True)
class LoginSucceeded(AuditEvent, action="auth.login", summary="登录"):
    pass


@dataclass(frozen=True, kw_only=True)
class LoginFailed(AuditEvent, action="auth.login_failed", summary="登录失败"):
    pass


@dataclass(frozen=True, kw_only=True)
class LoginThrottled(AuditEvent, action="auth.login_throttled", summary="登录过于频繁被拒绝"):
    pass


@dataclass(frozen=True, kw_only=True)
class LoggedOut(AuditEvent, action="auth.logout", summary="退出"):
    pass


@dataclass(frozen=True, kw_only=True)
class ImportCancelled(AuditEvent, action="jobs.import_cancelled", summary="取消数据导入"):
    """An import's cancellation was asked (``shidian.platform.import_jobs``); the target is the
    job, ``kind`` the import (``drg.import``, ``insurance.import``, ``registry.import``)."""

    kind: str


@dataclass(frozen=True, kw_only=True)
class UserCreated(AuditEvent, action="admin.user_created", summary="创建用户"):
    user_id: int
    role: str


@dataclass(frozen=True, kw_only=True)
class NotificationsViewed(AuditEvent, action="notifications.viewed", summary="查看通知"):
    """The user opened the notifications page: every notice until now is read
    (``platform.notifications``)."""

    unread: int


@dataclass(frozen=True, kw_only=True)
class UserPasswordReset(AuditEvent, action="admin.user_password_reset", summary="重置用户密码"):
    pass


@dataclass(frozen=True, kw_only=True)
class UserEnabled(AuditEvent, action="admin.user_enabled", summary="启用用户"):
    pass


@dataclass(frozen=True, kw_only=True)
class UserDisabled(AuditEvent, action="admin.user_disabled", summary="停用用户"):
    pass


@dataclass(frozen=True, kw_only=True)
class AuditBrowsed(AuditEvent, action="admin.audit_browsed", summary="浏览审计日志"):
    action_filter: str | None
    username: str | None
    page: int


@dataclass(frozen=True, kw_only=True)
class SessionsRevoked(AuditEvent, action="admin.sessions_revoked", summary="退出所有登录"):
    sessions: int


@dataclass(frozen=True, kw_only=True)
class TokenCreated(AuditEvent, action="admin.token_created", summary="签发机构接口令牌"):
    unit_id: int
    name: str


@dataclass(frozen=True, kw_only=True)
class TokenRevoked(AuditEvent, action="admin.token_revoked", summary="吊销机构接口令牌"):
    pass


@dataclass(frozen=True, kw_only=True)
class AuditExported(AuditEvent, action="admin.audit_exported", summary="导出审计日志"):
    action_filter: str | None
    username: str | None


# ---- reading the log: browsing and exporting (admins and leaders) -----------------------------

#: Events on one page of the audit log.
AUDIT_PAGE = 100


@dataclass(frozen=True)
class AuditPage:
    """One page of the audit log, newest first, and every action code logged (for the filter)."""

    events: list[sa.RowMapping]
    has_next: bool
    actions: list[str]


def _may_read(user: Any) -> None:
    require_permission(user, "admin.audit")


def _events_query(action: str | None, username: str | None) -> sa.Select[tuple[Any, ...]]:
    query = sa.select(audit_events).order_by(audit_events.c.id.desc())
    if action:
        query = query.where(audit_events.c.action == action)
    if username:
        query = query.where(audit_events.c.username == username)
    return query


def browse(
    conn: sa.Connection,
    user: Any,
    action: str | None = None,
    username: str | None = None,
    page: int = 1,
    client: Client | None = None,
) -> AuditPage:
    """浏览审计日志: page ``page`` (from 1) of the events, filtered by action and user name;
    the reading itself is logged (issue 22 finding 9), before the page is read."""
    _may_read(user)
    log(conn, AuditBrowsed(action_filter=action, username=username, page=page), user, client)
    offset = (max(page, 1) - 1) * AUDIT_PAGE
    rows = conn.execute(_events_query(action, username).limit(AUDIT_PAGE + 1).offset(offset)).mappings().all()
    actions = conn.execute(sa.select(audit_events.c.action).distinct().order_by(audit_events.c.action))
    return AuditPage(list(rows[:AUDIT_PAGE]), len(rows) > AUDIT_PAGE, list(actions.scalars()))


def export(
    conn: sa.Connection,
    user: Any,
    action: str | None = None,
    username: str | None = None,
    client: Client | None = None,
) -> list[sa.RowMapping]:
    """导出审计日志: every event (filtered by action and user name), newest first; the export
    itself is logged."""
    _may_read(user)
    rows = list(conn.execute(_events_query(action, username)).mappings())
    log(conn, AuditExported(action_filter=action, username=username), user, client)
    return rows
