"""Supervision (督导): the supervision list, visits, findings, evidence, rectifications.

The pilot office (试点办) sees the units lagging behind their targets, records visits with
findings (deduction points for the score card), evidence files (佐证材料) and rectification
items with deadlines (限期整改). The visited unit marks an item done and uploads evidence; the
office verifies it (核实销号). Who may do which step is the core's rule
(``supervision.may_rectify``, ``may_add_evidence``); every change is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa

from shidian.pilots import events
from shidian.pilots.evidence import check_evidence, evidence_path, save_evidence
from shidian.pilots.scope import is_visited_unit, visible_units
from shidian.pilots.service.common import form_problem, refuse
from shidian.pilots.service.plans import plans_for
from shidian.pilots.store import plans as plan_store
from shidian.pilots.store import supervision as store
from shidian.pilots.store.values import indicator_values, units_table
from shidian.pilots.supervision import (
    RECTIFICATION_STATUSES,
    Rectification,
    may_add_evidence,
    may_rectify,
    overdue_rectifications,
    rectification_transition,
    supervision_list,
)
from shidian.platform.access import can
from shidian.platform.accounts import User
from shidian.platform.audit import Client, log
from shidian.platform.units import UnitRow, all_units
from shidian.problems import Problem


@dataclass(frozen=True)
class Overview:
    """The supervision page: plans, the chosen plan's lagging units, visits, rectifications."""

    plans: list[Any]
    plan: Any | None
    warnings: list[Problem]  # open rectifications past their deadline
    visits: list[Any]
    lagging: list[dict[str, Any]]
    lagging_note: str | None
    units: list[UnitRow]  # the units one may visit: the plan's reporting units in the user's area
    may_manage: bool
    rectifications: list[Any]


def overview(conn: sa.Connection, user: User, plan_id: int | None, as_of: date) -> Overview:
    tree = all_units(conn)
    visible = visible_units(tree, user)
    plans = plans_for(conn, user, visible)
    plan_row = next((p for p in plans if p.id == plan_id), plans[0] if plans else None)
    plan_units = plan_store.plan_unit_ids(conn, plan_row.id) if plan_row is not None else set()
    lagging: list[dict[str, Any]] = []
    note = None
    if plan_row is not None:
        names = {tree[u].code: tree[u].name for u in visible if u in tree}
        values = indicator_values(conn, plan_row.id)
        lagging, note = supervision_list(
            plan_store.plan_of(plan_row), units_table(tree), values, names, as_of
        )
    rectifications = store.rectifications_in(conn, visible)
    items = [Rectification(r.id, r.unit_name, r.action, r.deadline, r.status) for r in rectifications]
    return Overview(
        plans=plans,
        plan=plan_row,
        warnings=overdue_rectifications(items, as_of),
        visits=store.visits_in(conn, visible),
        lagging=lagging,
        lagging_note=note,
        units=sorted((tree[u] for u in visible & plan_units), key=lambda u: u.code),
        may_manage=can(user, "pilots.supervision.manage"),
        rectifications=rectifications,
    )


# ---- one visit ------------------------------------------------------------------------------------


def _visit(conn: sa.Connection, user: User, visit_id: int) -> Any:
    row = store.visit_row(conn, visit_id)
    if row is None or row.unit_id not in visible_units(all_units(conn), user):
        refuse("not_found", "没有这次督导 (no such visit)")
    return row


def _finding(conn: sa.Connection, user: User, finding_id: int) -> tuple[Any, Any]:
    finding = store.finding_row(conn, finding_id)
    if finding is None:
        refuse("not_found", "没有这条问题 (no such finding)")
    return finding, _visit(conn, user, finding.visit_id)


def _manages(conn: sa.Connection, user: User, visit: Any) -> bool:
    """The pilot office whose area holds the visited unit."""
    return can(user, "pilots.supervision.manage") and visit.unit_id in visible_units(all_units(conn), user)


@dataclass(frozen=True)
class Visit:
    """A visit's page: its findings, their evidence and rectification items, who may act."""

    visit: Any
    findings: list[Any]
    evidence: dict[int, list[Any]]
    rectifications: dict[int, list[Any]]
    may_manage: bool
    is_visited_unit: bool
    total_deduction: Decimal


def visit_detail(conn: sa.Connection, user: User, visit_id: int) -> Visit:
    visit = _visit(conn, user, visit_id)
    findings = store.findings_of(conn, visit.id)
    ids = [f.id for f in findings]
    return Visit(
        visit,
        findings,
        store.evidence_of(conn, ids),
        store.rectifications_of(conn, ids),
        _manages(conn, user, visit),
        is_visited_unit(user, visit.unit_id),
        sum((f.deduction_points for f in findings), Decimal(0)),
    )


def create_visit(
    conn: sa.Connection,
    user: User,
    plan_id: int,
    unit_code: str,
    visited_on: date,
    team: str,
    summary: str,
    today: date,
    client: Client | None = None,
) -> int:
    """Record a visit to a unit of the user's area (督导); returns its id."""
    if not can(user, "pilots.supervision.manage"):
        refuse("forbidden", "无权访问 (forbidden)")
    tree = all_units(conn)
    unit = next((u for u in tree.values() if u.code == unit_code), None)
    if unit is None or unit.id not in visible_units(tree, user):
        refuse("not_found", "没有这个单位 (no such unit)")
    if plan_store.get_plan(conn, plan_id) is None:
        refuse("not_found", "没有这个方案 (no such plan)")
    if visited_on > today or not team.strip():
        refuse("invalid", "督导日期不能晚于今天, 督导组不能为空 (visit date in the future or no team)")
    visit_id = store.insert_visit(conn, plan_id, unit.id, visited_on, team.strip(), summary.strip(), user.id)
    log(
        conn,
        events.VisitCreated(target=f"pilot_visit/{visit_id}", unit=unit.code, on=visited_on.isoformat()),
        user,
        client,
    )
    return visit_id


def add_finding(
    conn: sa.Connection,
    user: User,
    visit_id: int,
    description: str,
    severity: Literal["minor", "major", "serious"],
    deduction_points: Decimal,
    indicator_code: str = "",
    task_code: str = "",
    client: Client | None = None,
) -> tuple[int | None, list[Problem]]:
    """Record a finding (发现问题) of a visit: (finding id, problems)."""
    if not can(user, "pilots.supervision.manage"):
        refuse("forbidden", "无权访问 (forbidden)")
    visit = _visit(conn, user, visit_id)
    if not description.strip():
        return None, [
            form_problem("pilots.finding.required", "问题描述不能为空 (description required)", "description")
        ]
    finding_id = store.insert_finding(
        conn, visit.id, description.strip(), severity, deduction_points,
        indicator_code.strip() or None, task_code.strip() or None, user.id,
    )  # fmt: skip
    event = events.FindingCreated(
        target=f"pilot_finding/{finding_id}",
        visit=visit.id,
        severity=severity,
        deduction=str(deduction_points),
    )
    log(conn, event, user, client)
    return finding_id, []


def upload_evidence(
    conn: sa.Connection,
    user: User,
    finding_id: int,
    data: bytes,
    filename: str,
    var_dir: Path,
    client: Client | None = None,
) -> tuple[int, list[Problem]]:
    """Store an evidence file of a finding (佐证材料, by the office or the visited unit):
    (the visit's id, problems — nothing stored when there are any)."""
    finding, visit = _finding(conn, user, finding_id)
    if not may_add_evidence(
        manages=_manages(conn, user, visit), visited=is_visited_unit(user, visit.unit_id)
    ):
        refuse("forbidden", "只有试点办或被督导单位可以上传佐证材料 (forbidden)")
    kind, problems = check_evidence(data, filename)
    if kind is None:
        return int(visit.id), problems
    sha = save_evidence(var_dir, data)
    evidence_id = store.insert_evidence(conn, finding.id, filename, kind, len(data), sha, user.id)
    event = events.EvidenceUploaded(
        target=f"pilot_evidence/{evidence_id}", finding=finding.id, file=filename, sha256=sha, size=len(data)
    )
    log(conn, event, user, client)
    return int(visit.id), []


def evidence_file(
    conn: sa.Connection, user: User, evidence_id: int, var_dir: Path, client: Client | None = None
) -> tuple[Path, str, str]:
    """An evidence file to download (audited): (path, content type, file name)."""
    row = store.evidence_row(conn, evidence_id)
    if row is None:
        refuse("not_found", "没有这份材料 (no such file)")
    _finding(conn, user, row.finding_id)  # not found unless the user may see the visit
    path = evidence_path(var_dir, row.sha256)
    if not path.is_file():
        refuse("not_found", "文件已不存在 (file missing)")
    log(conn, events.EvidenceViewed(target=f"pilot_evidence/{row.id}", file=row.filename), user, client)
    return path, str(row.content_type), str(row.filename)


def add_rectification(
    conn: sa.Connection,
    user: User,
    finding_id: int,
    action: str,
    deadline: date,
    client: Client | None = None,
) -> tuple[int, list[Problem]]:
    """Set a rectification item with a deadline (限期整改): (the visit's id, problems — nothing
    stored when there are any)."""
    if not can(user, "pilots.supervision.manage"):
        refuse("forbidden", "无权访问 (forbidden)")
    finding, visit = _finding(conn, user, finding_id)
    if not action.strip():
        return int(visit.id), [
            form_problem("pilots.rectification.required", "整改要求不能为空 (action required)", "action")
        ]
    if deadline < visit.visited_on:
        message = f"整改期限 {deadline.isoformat()} 早于督导日期 {visit.visited_on.isoformat()} (deadline before the visit)"
        return int(visit.id), [form_problem("pilots.rectification.deadline", message, "deadline")]
    item_id = store.insert_rectification(conn, finding.id, action.strip(), deadline, user.id)
    event = events.RectificationCreated(
        target=f"pilot_rectification/{item_id}", finding=finding.id, deadline=deadline.isoformat()
    )
    log(conn, event, user, client)
    return int(visit.id), []


def step_rectification(
    conn: sa.Connection,
    user: User,
    item_id: int,
    step: Literal["mark_done", "verify", "reopen"],
    note: str = "",
    client: Client | None = None,
) -> int:
    """Move a rectification item (整改完成 / 核实销号 / 重新整改); returns the visit's id."""
    item = store.rectification_row(conn, item_id)
    if item is None:
        refuse("not_found", "没有这项整改 (no such item)")
    _, visit = _finding(conn, user, item.finding_id)
    if not may_rectify(
        step, manages=_manages(conn, user, visit), visited=is_visited_unit(user, visit.unit_id)
    ):
        refuse("forbidden", "被督导单位报告整改完成, 试点办核实销号 (forbidden)")
    status = rectification_transition(item.status, step)
    if status is None:
        label = RECTIFICATION_STATUSES.get(item.status, item.status)
        refuse("conflict", f"整改状态为「{label}」, 不能执行该操作 (not allowed)")
    store.move_rectification(conn, item.id, status, note.strip() or item.note, user.id)
    event = events.RECTIFICATION_STEPS[step](
        target=f"pilot_rectification/{item.id}", before=item.status, after=status
    )
    log(conn, event, user, client)
    return int(visit.id)
