"""Pilot reports (试点填报): one function per workflow, for the form, the Excel upload and the API.

A reporting unit (填报单位) fills the form of its own unit for a period, saves a draft and
submits; the level above approves (locked) or returns it with a comment; a locked report
changes only through a change request the approver grants. Every change is audited in the same
transaction. A report outside the user's scope is not found (no leak of unit codes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa

from shidian.pilots import events
from shidian.pilots.entry import Entry, IndicatorSpec, check_entries, check_period, period_label
from shidian.pilots.form_excel import blank_form, read_upload
from shidian.pilots.model import Plan
from shidian.pilots.reporting import indicator_specs, parse_period
from shidian.pilots.scope import actor_for, visible_units
from shidian.pilots.service.common import allowed, form_problem, refuse
from shidian.pilots.store import plans as plan_store
from shidian.pilots.store import reports as store
from shidian.pilots.supervision import due_date
from shidian.pilots.workflow import Actor, Refusal, decide
from shidian.platform.accounts import User
from shidian.platform.audit import Client, log
from shidian.platform.clock import today
from shidian.platform.files import staged_folder
from shidian.platform.units import UnitRow, all_units
from shidian.problems import Problem, Refused, has_errors


@dataclass(frozen=True)
class ReportRef:
    """Which report: the plan, the unit's code and the period (``YYYY-MM-DD``)."""

    plan_id: int
    unit_code: str
    period: str

    @property
    def path(self) -> str:
        """The report's address (its page; the audit target of a refused upload)."""
        start = parse_period(self.period)
        return (
            f"/pilots/reports/{self.plan_id}/{self.unit_code}/{start.isoformat() if start else self.period}"
        )


@dataclass(frozen=True)
class ReportContext:
    """One report as a user sees it: plan, unit, period, the stored report, the form rows."""

    user: User
    actor: Actor
    plan_row: Any
    plan: Plan
    unit: UnitRow
    start: date
    report: Any | None
    specs: list[IndicatorSpec] = field(default_factory=list)

    @property
    def status(self) -> str | None:
        return None if self.report is None else str(self.report.status)

    def decide(self, action: str, *, change_requested: bool = False) -> str | Refusal:
        return decide(
            self.actor,
            action,
            self.status,
            self.unit.id,
            self.unit.parent_id,
            change_requested=change_requested,
        )

    def may(self, action: str, *, change_requested: bool = False) -> bool:
        return not isinstance(self.decide(action, change_requested=change_requested), Refusal)

    @property
    def path(self) -> str:
        """The report's address (its page, and the audit target of a refused upload)."""
        return f"/pilots/reports/{self.plan_row.id}/{self.unit.code}/{self.start.isoformat()}"

    @property
    def label(self) -> str:
        return period_label(self.start, self.plan_row.period)

    def period_problems(self) -> list[Problem]:
        row = self.plan_row
        return check_period(self.start, row.period, row.first_day, row.last_day, today())


def open_report(conn: sa.Connection, user: User, ref: ReportRef) -> ReportContext:
    """The report ``ref`` as ``user`` sees it; not found when the unit is not in the plan or not
    visible to the user (as if it did not exist)."""
    tree = all_units(conn)
    plan_row = plan_store.get_plan(conn, ref.plan_id)
    unit = next((u for u in tree.values() if u.code == ref.unit_code), None)
    start = parse_period(ref.period)
    if (
        plan_row is None
        or unit is None
        or start is None
        or unit.id not in plan_store.plan_unit_ids(conn, ref.plan_id)
        or unit.id not in visible_units(tree, user)
    ):
        refuse("not_found", "没有这份报表 (no such report)")
    plan = plan_store.plan_of(plan_row)
    report = store.get_report(conn, ref.plan_id, unit.id, start)
    return ReportContext(
        user, actor_for(tree, user), plan_row, plan, unit, start, report, indicator_specs(plan, unit.kind)
    )


def _write(
    conn: sa.Connection,
    ctx: ReportContext,
    entries: Sequence[Entry],
    action: str,
    problems: Sequence[Problem],
    source: str,
) -> tuple[int | None, str, list[Problem]]:
    """Check and write (nothing written on any error): (report id, new status, problems)."""
    new_status = allowed(ctx.decide(action))
    found = [*problems, *ctx.period_problems()]
    found += check_entries(ctx.specs, list(entries), complete=action == "submit", source=source)
    if has_errors(found):
        return None, new_status, found
    row = ctx.plan_row
    due_on = due_date(ctx.start, row.period, row.due_day)
    report_id = store.write_values(
        conn, row.id, ctx.unit.id, ctx.start, due_on, entries, new_status, ctx.user.id
    )
    return report_id, new_status, found


def save_report(
    conn: sa.Connection,
    user: User,
    ref: ReportRef,
    entries: Sequence[Entry],
    action: Literal["save", "submit"],
    *,
    problems: Sequence[Problem] = (),
    via: Literal["form", "api"] = "form",
    client: Client | None = None,
) -> tuple[int | None, list[Problem]]:
    """Save a draft or submit values (the form and the API alike): (report id, problems); with
    any error nothing is saved. ``problems`` are those the door found reading its input."""
    ctx = open_report(conn, user, ref)
    report_id, status, found = _write(conn, ctx, entries, action, problems, f"<{via}>")
    if report_id is not None:
        kind = events.ReportSubmitted if action == "submit" else events.ReportSaved
        event = kind(
            target=f"pilot_report/{report_id}", plan=ctx.plan_row.code, unit=ctx.unit.code,
            period=ctx.start.isoformat(), status=status, values=len(entries), via="api" if via == "api" else None,
        )  # fmt: skip
        log(conn, event, user, client)
    return report_id, found


def upload_report_form(
    conn: sa.Connection,
    user: User,
    ref: ReportRef,
    data: bytes,
    filename: str,
    var_dir: Path,
    client: Client | None = None,
) -> tuple[int | None, list[Problem]]:
    """Import a filled Excel/CSV form as a draft: (report id, problems). A refused file is
    audited (the refusal is recorded, nothing else is written). The file is read from a folder
    under ``var/staging``, removed at once (never the system's temporary directory)."""
    ctx = open_report(conn, user, ref)
    allowed(ctx.decide("save"))
    with staged_folder(var_dir, "shidian-form-") as folder:
        entries, problems = read_upload(data, filename, folder)
    if has_errors(problems):
        log(
            conn,
            events.ReportUploadRefused(target=ctx.path, file=filename, problems=len(problems)),
            user,
            client,
        )
        return None, problems
    report_id, status, found = _write(conn, ctx, entries, "save", [], filename)
    if report_id is None:
        log(conn, events.ReportUploadRefused(target=ctx.path, file=filename), user, client)
        return None, found
    event = events.ReportUploaded(
        target=f"pilot_report/{report_id}", plan=ctx.plan_row.code, unit=ctx.unit.code,
        period=ctx.start.isoformat(), status=status, values=len(entries), file=filename,
    )  # fmt: skip
    log(conn, event, user, client)
    return report_id, found


def review_report(
    conn: sa.Connection,
    user: User,
    ref: ReportRef,
    action: Literal["approve", "return"],
    comment: str,
    client: Client | None = None,
) -> tuple[str | None, list[Problem]]:
    """Approve (then locked) or return a submitted report (审核/退回); a return needs a comment.
    (new status, problems)."""
    ctx = open_report(conn, user, ref)
    status = allowed(ctx.decide(action))
    assert ctx.report is not None
    comment = comment.strip()
    if action == "return" and not comment:
        message = "退回时必须填写退回原因 (a comment is required)"
        return None, [form_problem("pilots.report.comment_required", message, "comment")]
    store.set_status(conn, ctx.report.id, status, user.id, comment or None)
    kind = events.ReportApproved if action == "approve" else events.ReportReturned
    log(conn, kind(target=f"pilot_report/{ctx.report.id}", comment=comment), user, client)
    return status, []


def review_reports(
    conn: sa.Connection,
    user: User,
    refs: list[ReportRef],
    action: Literal["approve", "return"],
    comment: str,
    client: Client | None = None,
) -> tuple[int, list[Problem]]:
    """Approve or return many submitted reports at once (批量审核/退回), each as
    ``review_report`` does (locked on approval, audited one by one): (how many, problems). All
    or nothing: every report is checked before any is changed, and one that cannot be reviewed
    (not submitted, not the user's to review) refuses the batch, naming the report."""
    if not refs:
        return 0, [
            form_problem("pilots.report.none_selected", "请先勾选报表 (select reports first)", "reports")
        ]
    if action == "return" and not comment.strip():
        message = "退回时必须填写退回原因 (a comment is required)"
        return 0, [form_problem("pilots.report.comment_required", message, "comment")]
    for ref in refs:
        try:
            allowed(open_report(conn, user, ref).decide(action))
        except Refused as exc:
            return 0, [replace(p, message=f"{ref.path}: {p.message}") for p in exc.problems]
    for ref in refs:
        status, problems = review_report(conn, user, ref, action, comment, client)
        assert status is not None, problems  # checked above, in the same transaction
    return len(refs), []


def request_change(
    conn: sa.Connection, user: User, ref: ReportRef, reason: str, client: Client | None = None
) -> list[Problem]:
    """Ask the approver to reopen a locked report (修改申请); a reason is required."""
    ctx = open_report(conn, user, ref)
    pending = ctx.report is not None and store.pending_change(conn, ctx.report.id) is not None
    allowed(ctx.decide("request_change", change_requested=pending))
    assert ctx.report is not None
    reason = reason.strip()
    if not reason:
        message = "申请修改时必须说明理由 (a reason is required)"
        return [form_problem("pilots.report.reason_required", message, "reason")]
    store.insert_change_request(conn, ctx.report.id, reason, user.id)
    log(conn, events.ChangeRequested(target=f"pilot_report/{ctx.report.id}", reason=reason), user, client)
    return []


def decide_change(
    conn: sa.Connection,
    user: User,
    ref: ReportRef,
    decision: Literal["grant", "refuse"],
    comment: str,
    client: Client | None = None,
) -> None:
    """Grant (the report reopens as a draft) or refuse the pending change request."""
    ctx = open_report(conn, user, ref)
    change = store.pending_change(conn, ctx.report.id) if ctx.report is not None else None
    status = allowed(ctx.decide(f"{decision}_change", change_requested=change is not None))
    assert ctx.report is not None and change is not None
    comment = comment.strip()
    closed = "granted" if decision == "grant" else "refused"
    store.close_change_request(conn, change.id, closed, user.id, comment or None)
    if status != ctx.status:
        store.set_status(conn, ctx.report.id, status, user.id)
    kind = events.ChangeGranted if decision == "grant" else events.ChangeRefused
    log(conn, kind(target=f"pilot_report/{ctx.report.id}", request=change.id, comment=comment), user, client)


# ---- reading ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportForm:
    """A report's page: the context, its values, the pending change request."""

    ctx: ReportContext
    values: dict[tuple[str, str], tuple[Decimal | None, Decimal | None]]
    change: Any | None


def report_form(conn: sa.Connection, user: User, ref: ReportRef) -> ReportForm:
    ctx = open_report(conn, user, ref)
    if ctx.report is None:
        return ReportForm(ctx, {}, None)
    return ReportForm(
        ctx, store.report_values(conn, ctx.report.id), store.pending_change(conn, ctx.report.id)
    )


def form_workbook(conn: sa.Connection, user: User, ref: ReportRef) -> tuple[bytes, str]:
    """The report's form as .xlsx (with its values) and the file name."""
    ctx = open_report(conn, user, ref)
    values = store.report_values(conn, ctx.report.id) if ctx.report is not None else {}
    row = ctx.plan_row
    title = [
        ("方案", f"{row.name} ({row.code} 第{row.version}版)"),
        ("填报单位", f"{ctx.unit.name} ({ctx.unit.code})"),
        ("报告期", ctx.label),
    ]
    return blank_form(ctx.specs, values, title), f"{row.code}-{ctx.unit.code}-{ctx.start.isoformat()}.xlsx"


def visible_reports(conn: sa.Connection, user: User, plan_id: int | None = None) -> list[Any]:
    """The reports the user may read (own unit, units approved, area, or all), newest first."""
    return store.list_reports(conn, visible_units(all_units(conn), user), plan_id, limit=5000)


def report_detail(
    conn: sa.Connection, user: User, report_id: int
) -> tuple[Any, dict[tuple[str, str], tuple[Decimal | None, Decimal | None]]]:
    """One report with its values; not found for a report of a unit the user may not read."""
    row = store.report_row(conn, visible_units(all_units(conn), user), report_id)
    if row is None:
        refuse("not_found", "没有这份报表 (no such report)")
    return row, store.report_values(conn, row.id)
