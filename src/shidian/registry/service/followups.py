"""Follow-ups and teams (随访、危险性评估、个案管理): recording a follow-up with its risk
assessment (classified, next due date set), adding a team member, recording a team action."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from shidian.platform import audit, clock
from shidian.platform.accounts import User
from shidian.platform.audit import Client
from shidian.problems import Problem
from shidian.registry import FollowUpFindings, classify, next_due_on
from shidian.registry.events import (
    FollowUpRecorded,
    RiskLevelLowered,
    TeamActionRecorded,
    TeamMemberAdded,
)
from shidian.registry.policy import RegistryPolicy
from shidian.registry.records import (
    FollowUpIn,
    FollowUpResult,
    TeamActionIn,
    TeamActionOut,
    TeamMemberIn,
    TeamMemberOut,
)
from shidian.registry.risk import BEHAVIOURS, confirmed_level, needs_reason, suggest_level, valid_level
from shidian.registry.service.common import find_in_scope, policy, problem, require
from shidian.registry.store import followups
from shidian.registry.store.scope import Scope, scope_of

_BEHAVIOUR_CODES = {b.code for b in BEHAVIOURS}


def save_followup(
    conn: sa.Connection,
    user: User,
    scope: Scope,
    rules: RegistryPolicy,
    registry_no: str,
    data: FollowUpIn,
    today: dt.date,
) -> tuple[FollowUpResult | None, list[Problem]]:
    """Check and save a follow-up and its risk assessment; classify and set the next due date.
    The confirmed level is the doctor's, else the checklist's suggestion; below the suggestion
    it needs a reason (``registry.followup.lowered_without_reason``). Not audited: ``record_followup`` is the workflow; the demo and tests seed with this."""
    row = find_in_scope(conn, scope, registry_no)
    problems: list[Problem] = []
    suggested = suggest_level(b for b in data.behaviours if b in _BEHAVIOUR_CODES)
    level = confirmed_level(suggested, data.risk_level)
    if not valid_level(level):
        problems.append(
            problem(
                "registry.followup.invalid_risk",
                f"危险性等级应为 0–5 级, 实际为 {level} (risk level)",
                "risk_level",
            )
        )
    elif needs_reason(suggested, level, data.lowered_reason):
        problems.append(
            problem(
                "registry.assessment.lowered_without_reason",
                f"确认等级 {level} 级低于行为清单建议的 {suggested} 级, 请填写理由 "
                "(a level below the checklist's suggestion needs a reason)",
                "lowered_reason",
            )
        )
    unknown = [b for b in data.behaviours if b not in _BEHAVIOUR_CODES]
    if unknown:
        problems.append(
            problem(
                "registry.followup.unknown_behaviour",
                f"未知的行为项 {', '.join(unknown)} (unknown behaviour)",
                "behaviours",
            )
        )
    if data.followed_on < row.registered_on:
        problems.append(
            problem(
                "registry.followup.before_registration",
                f"随访日期 {data.followed_on} 早于登记日期 {row.registered_on} (before registration)",
                "followed_on",
            )
        )
    if data.followed_on > today:
        problems.append(
            problem(
                "registry.followup.in_future",
                f"随访日期 {data.followed_on} 晚于今天 (in the future)",
                "followed_on",
            )
        )
    if row.status in ("moved", "deceased") and (row.status_on is None or row.status_on <= data.followed_on):
        problems.append(
            problem(
                "registry.followup.off_register",
                "患者已迁出或死亡, 不能再随访 (off the register)",
                "followed_on",
            )
        )
    if problems:
        return None, problems
    reason = ((data.lowered_reason or "").strip() or None) if level < suggested else None
    data = data.model_copy(update={"risk_level": level, "lowered_reason": reason})
    findings = FollowUpFindings(
        level,
        data.symptoms,
        data.insight,
        data.social_function,
        data.adverse_reaction,
        data.physical_illness,
    )
    classification = classify(findings)
    pid = int(row.id)
    previous = followups.previous_class(conn, pid, data.followed_on)
    due = next_due_on(data.followed_on, classification, previous, rules)
    followup_id = followups.insert_followup(
        conn, pid, int(row.village_id), data, classification, due, user.id
    )
    assessment_id = followups.insert_assessment(
        conn,
        pid,
        followup_id,
        data.followed_on,
        level,
        suggested,
        data.behaviours,
        user.id,
        lowered_reason=reason,
        annual=data.annual_assessment,
    )
    if row.last_followed_on is None or data.followed_on >= row.last_followed_on:
        followups.set_latest(conn, pid, data, classification, due)
    has_team = followups.has_team(conn, pid)
    return FollowUpResult(
        registry_no=registry_no,
        followup_id=followup_id,
        assessment_id=assessment_id,
        suggested_level=suggested,
        risk_level=level,
        lowered_reason=reason,
        classification=classification,
        next_due_on=due,
        refer_now=classification == "unstable",
        needs_team=classification == "unstable" and not has_team,
    ), []


def record_followup(
    conn: sa.Connection, user: User, registry_no: str, data: FollowUpIn, client: Client | None = None
) -> tuple[FollowUpResult | None, list[Problem]]:
    """A doctor records a follow-up of a patient in the doctor's area (audited)."""
    require(user, "registry.edit")
    result, problems = save_followup(
        conn, user, scope_of(conn, user), policy(), registry_no, data, clock.today()
    )
    if result is not None:
        event = FollowUpRecorded(
            target=registry_no,
            followup_id=result.followup_id,
            risk_level=result.risk_level,
            classification=result.classification,
        )
        audit.log(conn, event, user, client)
        if result.risk_level < result.suggested_level:
            lowered = RiskLevelLowered(
                target=registry_no,
                assessment_id=result.assessment_id,
                followup_id=result.followup_id,
                suggested_level=result.suggested_level,
                risk_level=result.risk_level,
                reason=result.lowered_reason or "",
            )
            audit.log(conn, lowered, user, client)
    return result, problems


def add_team_member(
    conn: sa.Connection, user: User, registry_no: str, data: TeamMemberIn, client: Client | None = None
) -> TeamMemberOut:
    """Add a member to the patient's case-management team (个案管理团队)."""
    require(user, "registry.edit")
    row = find_in_scope(conn, scope_of(conn, user), registry_no)
    today = clock.today()
    name = data.member_name.strip()
    member_id = followups.insert_team_member(
        conn, int(row.id), data.role, name, (data.phone or "").strip() or None, today, user.id
    )
    audit.log(conn, TeamMemberAdded(target=registry_no, member_id=member_id, role=data.role), user, client)
    return TeamMemberOut(id=member_id, role=data.role, member_name=name, phone=data.phone, added_on=today)


def add_team_action(
    conn: sa.Connection, user: User, registry_no: str, data: TeamActionIn, client: Client | None = None
) -> tuple[TeamActionOut | None, list[Problem]]:
    """Record an action of the patient's team (个案管理记录)."""
    require(user, "registry.edit")
    row = find_in_scope(conn, scope_of(conn, user), registry_no)
    problems: list[Problem] = []
    if data.acted_on > clock.today():
        problems.append(problem("registry.team.in_future", "日期不能晚于今天 (in the future)", "acted_on"))
    if data.member_id is not None and not followups.is_member(conn, data.member_id, int(row.id)):
        problems.append(
            problem(
                "registry.team.unknown_member",
                "该成员不属于此患者的个案管理团队 (unknown member)",
                "member_id",
            )
        )
    if problems:
        return None, problems
    action = data.action.strip()
    action_id = followups.insert_team_action(
        conn, int(row.id), data.member_id, data.acted_on, action, user.id
    )
    audit.log(conn, TeamActionRecorded(target=registry_no, action_id=action_id), user, client)
    return TeamActionOut(id=action_id, member_id=data.member_id, acted_on=data.acted_on, action=action), []
