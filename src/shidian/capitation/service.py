"""Capitation workflows (医共体按人头总额预付): settle a data folder, explain a 医共体 of a run,
store a run from uploaded files and read stored runs.

Called by the CLI and the web pages alike: (result, problems) or (None, problems), or a
``Refused``. The insurance bureau settles and publishes; leaders and the pilot office read every
run; a member institution (a hospital user whose hospital id is a member) reads the published
runs of its own 医共体 only, and any other run is ``not_found``.

Runs from the web are rows of ``capitation_runs`` (running → draft → published, or failed) settled
as jobs of the one mechanism (``shidian.platform.jobs``, kind ``capitation.run``, lane ``runs``:
one run at a time across every server process; a run left running by a killed server is failed
at the next start-up). A draft is published once; a second published run of a year names the
run it corrects and the reason, as DRG runs do (issue 19 item 4).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from shidian.capitation import store
from shidian.capitation.events import PrepaymentPaid, PrimaryCareCalculated, RunPublished, RunStored
from shidian.capitation.explain import Step, community_steps
from shidian.capitation.io import read_inputs, read_run, write_run
from shidian.capitation.payments import Payment, PrepaymentStatus, statuses
from shidian.capitation.policy import POLICIES, PRIMARY_CARE_POLICIES, parse_policy
from shidian.capitation.primary_care import PrimaryCareRun, run_primary_care
from shidian.capitation.primary_care_files import (
    health_rows,
    read_tables,
    township_rows,
    village_rows,
    write_primary_care,
)
from shidian.capitation.settlement import Settlement, settle
from shidian.platform import jobs
from shidian.platform.access import can, require_permission
from shidian.platform.accounts import User
from shidian.platform.audit import Client, log
from shidian.platform.clock import today
from shidian.platform.files import new_id
from shidian.platform.notifications import Notice, day_start
from shidian.problems import Problem, Source, has_errors, refusal, request_problem
from shidian.runs import Check, check_correction


@dataclass(frozen=True)
class Settled:
    """A written run: the settlement and its run record."""

    settlement: Settlement
    record: dict[str, Any]


def _check_failures(checks: Iterable[Check]) -> list[Problem]:
    """A ``capitation.check.failed`` Problem for every failed self-check (自检) of a run."""
    return [
        Problem(
            "capitation.check.failed", f"自检未通过: {c.description}: {c.detail}", Source("<run>", key=c.name)
        )
        for c in checks
        if not c.ok
    ]


def settle_folder(
    data_dir: Path,
    out_dir: Path,
    policy: str,
    policy_file: Path | None = None,
    claims_run: Path | None = None,
) -> tuple[Settled | None, list[Problem]]:
    """Settle the inputs in ``data_dir`` under a policy (a shipped name or ``policy_file``) and
    write every output into ``out_dir`` at once; (settled, warnings) or (None, problems).
    ``claims_run``: take the spending from a resident-insurance run (see ``io.read_inputs``)."""
    loaded, problems = POLICIES.load(policy, policy_file)
    if loaded is None:
        return None, problems
    if not data_dir.is_dir():
        return None, [
            Problem("capitation.input.missing_dir", f"输入目录不存在: {data_dir}", Source(str(data_dir)))
        ]
    inputs, manifest, problems = read_inputs(data_dir, claims_run)
    if inputs is None or has_errors(problems):
        return None, problems
    effective = loaded.source.meta
    if not (
        effective.effective_from.year <= inputs.fund.year
        and (effective.effective_to is None or inputs.fund.year <= effective.effective_to.year)
    ):
        return None, [
            Problem(
                "capitation.fund.year_outside_policy",
                f"年度 {inputs.fund.year} 不在政策 {effective.id} 的有效期内"
                f" ({effective.effective_from} 至 {effective.effective_to or '今'})",
                Source("fund.toml", key="year"),
            )
        ]
    result, problems = settle(inputs, loaded)
    if result is None:
        return None, problems
    failed = _check_failures(result.checks)
    if failed:
        return None, failed
    record = write_run(result, out_dir, manifest)
    return Settled(result, record), problems


@dataclass(frozen=True)
class Explained:
    """A 医共体's arithmetic in a run: its id, the run id and the steps."""

    community_id: str
    run_id: str
    steps: list[Step]


def explain_community(run_dir: Path, community_id: str) -> tuple[Explained | None, list[Problem]]:
    """The steps of one 医共体 of a written run (read from the run folder alone)."""
    run, problems = read_run(run_dir)
    if run is None:
        return None, problems
    policy, problems = parse_policy(run["policy_text"], run["policy_source"])
    if policy is None:
        return None, problems
    end = next((e for e in run["year_ends"] if e.community_id == community_id), None)
    if end is None:
        known = ", ".join(e.community_id for e in run["year_ends"])
        return None, [
            Problem(
                "capitation.run.unknown_community",
                f"本次结算中没有医共体 {community_id} (有: {known})",
                Source(str(run_dir / "settlement.csv"), column="community_id"),
            )
        ]
    steps = community_steps(
        community_id,
        run["lines"],
        [p for p in run["prepayments"] if p.community_id == community_id],
        end,
        [s for s in run["shares"] if s.community_id == community_id],
        policy,
    )
    return Explained(community_id, str(run["record"]["run_id"]), steps), []


def primary_care_folder(
    data_dir: Path, out_dir: Path, policy: str, policy_file: Path | None = None
) -> tuple[tuple[PrimaryCareRun, dict[str, Any]] | None, list[Problem]]:
    """Public-health money per 医共体, village clinic subsidies and township deficit subsidies
    (002 篇四) from the tables in ``data_dir``, written to ``out_dir`` at once."""
    loaded, problems = PRIMARY_CARE_POLICIES.load(policy, policy_file)
    if loaded is None:
        return None, problems
    if not data_dir.is_dir():
        return None, [
            Problem("capitation.input.missing_dir", f"输入目录不存在: {data_dir}", Source(str(data_dir)))
        ]
    tables, manifest, problems = read_tables(data_dir)
    if tables is None:
        return None, problems
    run = run_primary_care(
        health_rows(tables["health"]) if "health" in tables else None,
        village_rows(tables["villages"]) if "villages" in tables else None,
        township_rows(tables["townships"]) if "townships" in tables else None,
        loaded,
        manifest.get("health", {}).get("file", "health.csv"),
    )
    failed = _check_failures(run.checks)
    if failed:
        return None, failed
    record = write_primary_care(
        out_dir,
        loaded,
        manifest,
        (run.public_health, run.villages, run.townships),
        run.totals,
        run.checks,
        run.warnings,
    )
    return (run, record), run.warnings


# ---- the web: runs in the database, their files under var/capitation/<id>/ ------------------

SAFE_NAME = re.compile(
    r"^(fund\.toml|(communities|members|population|spending|scores|villages)\.(csv|xlsx))$"
)
PRIMARY_CARE_NAME = re.compile(r"^(health|villages|townships)\.(csv|xlsx)$")
NO_RUN = "没有这个结算 (no such run)"
#: How a failed run's problems are kept in its ``error`` column (JSON after this mark).
_PROBLEMS_MARK = "problems:"
PROBLEMS_KEPT = 200


def _own_institution(user: User) -> str | None:
    """The member institution a user is scoped to, or None for a reader of every run."""
    if can(user, "capitation.view_all"):
        return None
    return user.hospital_id or ""


def _unknown_files(names: Iterable[str], pattern: re.Pattern[str], expected: str) -> list[Problem]:
    return [
        Problem("capitation.input.unknown_file", f"不认识的文件 {name}: 应为 {expected}", Source(name))
        for name in names
        if not pattern.match(name)
    ]


def problems_error(problems: list[Problem]) -> str:
    """The ``error`` of a run stopped by problems: a summary line, then the problems as JSON."""
    kept = problems[:PROBLEMS_KEPT]
    summary = "; ".join(str(p) for p in kept[:3]) + (
        f" (共 {len(problems)} 个问题)" if len(problems) > 3 else ""
    )
    body = json.dumps({"count": len(problems), "problems": [p.to_dict() for p in kept]}, ensure_ascii=False)
    return f"{summary}\n{_PROBLEMS_MARK}{body}"


def run_problems(error: str | None) -> list[Problem]:
    """The problems that stopped a failed run (none when it failed otherwise, or did not)."""
    if not error or f"\n{_PROBLEMS_MARK}" not in error:
        return []
    data = json.loads(error.split(f"\n{_PROBLEMS_MARK}", 1)[1])
    return [
        Problem(p["code"], p["message"], Source(**p["where"]), p.get("severity", "error"))
        for p in data["problems"]
    ]


def error_summary(error: str | None) -> str | None:
    """The first line of a failed run's error."""
    return None if not error else error.split("\n", 1)[0]


def settle_uploads(
    engine: sa.Engine,
    user: User,
    var_dir: Path,
    policy: str,
    uploads: list[tuple[str, bytes]],
    client: Client | None = None,
    claims_run_id: str | None = None,
) -> tuple[str | None, list[Problem]]:
    """Settle uploaded input files (``fund.toml`` and the tables, by their names) as a job of the
    lane ``runs`` (a 409 while another run is running, in any process) and store the run: a
    draft with its files under ``var/capitation/<id>/``. With ``claims_run_id`` the spending is
    taken from that finished resident-insurance run through the ``villages`` map, as the CLI's
    ``--claims``. Returns the run id, or None and every problem (the run is recorded failed)."""
    require_permission(user, "capitation.settle")
    expected = "fund.toml 或 communities/members/population/spending/scores/villages 的 .csv/.xlsx"
    bad = _unknown_files((name for name, _ in uploads), SAFE_NAME, expected)
    if bad:
        return None, bad
    if policy not in POLICIES.names():
        unknown = f"未知的政策 {policy!r} (unknown policy)"
        return None, [request_problem("request.invalid", unknown, column="policy")]
    claims_dir = None
    if claims_run_id:
        with engine.connect() as conn:
            claims_dir = store.insurance_run_folder(conn, var_dir, claims_run_id)
        if claims_dir is None:
            message = "没有这个已完成的居民医保结算 (no such finished insurance run)"
            return None, [request_problem("capitation.claims_run.unknown", message, column="claims_run_id")]
    names = sorted(name for name, _ in uploads)
    with engine.begin() as conn:
        try:
            job_id = jobs.start(conn, "capitation.run", None)  # first: takes the lane's lock
        except jobs.Busy as exc:
            raise refusal("conflict", "job.busy", str(exc)) from None
        run_id = new_id()
        store.insert_run(conn, run_id, policy, names, claims_run_id or None, user.id)
        jobs.set_target(conn, job_id, run_id)
        log(conn, RunStored(target=run_id, policy=policy, files=tuple(names), claims_run_id=claims_run_id or ""),
            user, client)  # fmt: skip
    with jobs.running(engine, job_id):
        settled, problems = _settle_stored(engine, var_dir, run_id, policy, uploads, claims_dir)
    return (run_id if settled else None), problems


def _settle_stored(
    engine: sa.Engine,
    var_dir: Path,
    run_id: str,
    policy: str,
    uploads: list[tuple[str, bytes]],
    claims_dir: Path | None,
) -> tuple[bool, list[Problem]]:
    """The job's body: keep the inputs, settle them into the run's folder, record the outcome."""
    try:
        data = store.inputs_dir(var_dir, run_id)
        data.mkdir(parents=True, exist_ok=True)
        for name, content in uploads:
            (data / name).write_bytes(content)
        jobs.progress(engine, run_id, "结算中 (settling)")
        settled, problems = settle_folder(data, store.run_dir(var_dir, run_id), policy, claims_run=claims_dir)
        with engine.begin() as conn:
            if settled is None:
                store.mark_failed(conn, run_id, problems_error(problems))
                return False, problems
            members = {s.institution_id: s.community_id for s in settled.settlement.shares}
            totals = dict(settled.record["totals"])
            store.mark_draft(conn, run_id, settled.settlement.inputs.fund.year, totals, members)
        return True, problems
    except Exception as exc:  # a failed run is recorded, never lost
        with engine.begin() as conn:
            store.mark_failed(conn, run_id, f"{exc}\n{traceback.format_exc()[-2000:]}")
        raise


def _run_or_not_found(conn: sa.Connection, run_id: str) -> dict[str, Any]:
    run = store.get_run(conn, run_id)
    if run is None:
        raise refusal("not_found", "capitation.run.not_found", NO_RUN)
    return run


def publish_run(
    conn: sa.Connection,
    user: User,
    run_id: str,
    corrects: str | None = None,
    reason: str | None = None,
    client: Client | None = None,
) -> dict[str, Any]:
    """Draft → published, audited; a published run never changes. A year has one settlement its
    医共体 read: when the run's year already has a published run, this one must name the run it
    corrects (``capitation.publish.correction_required``) and give the reason
    (``capitation.publish.reason_required``; kept in the run's note and the audit record)."""
    require_permission(user, "capitation.settle")
    run = _run_or_not_found(conn, run_id)
    store.lock_year(conn, run["year"], run_id)  # one publication of a year at a time
    run = _run_or_not_found(conn, run_id)
    if run["status"] != "draft":
        raise refusal(
            "conflict",
            "conflict",
            f"只有草稿状态的结算可以发布, 此结算为 {run['status']} (only a draft can be published)",
        )
    others = [r["id"] for r in store.published_of_year(conn, run["year"]) if r["id"] != run_id]
    reason = (reason or "").strip()
    if corrects and corrects not in others:
        raise refusal(
            "invalid",
            "request.invalid",
            "只能更正同一年度已发布的结算 (only a published run of the year can be corrected)",
            column="corrects_run_id",
        )
    check_correction("capitation", run["year"], others, corrects or None, reason)
    note = f"更正原因: {reason}" if reason else None
    if not store.publish(conn, run_id, user.id, corrects or None, note):
        raise refusal("conflict", "conflict", "只有草稿状态的结算可以发布 (only a draft can be published)")
    log(conn, RunPublished(target=run_id, corrects_run_id=corrects or None, reason=reason), user, client)
    return _run_or_not_found(conn, run_id)


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    year: str
    policy: str
    status: str
    pot: str
    communities: str
    corrects_run_id: str | None
    created_at: Any
    published_at: Any


def overview(conn: sa.Connection, user: User) -> list[RunSummary]:
    """The runs a user may read, newest first: every run for the bureau, leaders and the pilot
    office; a member institution the published runs of its own 医共体."""
    require_permission(user, "capitation.view")
    own = _own_institution(user)
    return [_summary(r, own) for r in store.list_runs(conn) if _may_read(r, own)]


def run_summary(conn: sa.Connection, user: User, run_id: str) -> RunSummary:
    """One run's line of ``overview``, looked up by id (``not_found`` when the user may not read it)."""
    require_permission(user, "capitation.view")
    own = _own_institution(user)
    row = _run_or_not_found(conn, run_id)
    if not _may_read(row, own):
        raise refusal("not_found", "capitation.run.not_found", NO_RUN)
    return _summary(row, own)


def _may_read(row: dict[str, Any], own: str | None) -> bool:
    """Every run for the bureau and the readers of all 医共体; a member the published runs of its own."""
    return own is None or (row["status"] == "published" and own in (row["members"] or {}))


def _summary(r: dict[str, Any], own: str | None) -> RunSummary:
    return RunSummary(
        r["id"],
        "" if r["year"] is None else str(r["year"]),
        r["policy_id"],
        r["status"],
        (r["totals"] or {}).get("pot_yuan", "") if own is None else "",
        (r["totals"] or {}).get("communities", "") if own is None else "",
        r["corrects_run_id"],
        r["created_at"],
        r["published_at"],
    )


@dataclass(frozen=True)
class RunView:
    """A stored run as a reader may see it: every 医共体 (``full``) or the reader's own."""

    run_id: str
    row: dict[str, Any]
    record: dict[str, Any]
    full: bool
    lines: list[Any]
    prepayments: list[Any]
    year_ends: list[Any]
    shares: list[Any]
    #: each prepayment due with what was recorded as paid (001 第十七篇 七(二)), overdue on today
    paid: list[PrepaymentStatus]
    #: the payments recorded in the run's year (of the reader's 医共体)
    payments: list[Payment]
    #: the other published runs of the year (a draft must name the one it corrects)
    year_published: list[dict[str, Any]]
    corrected_by: list[str]


def run_view(conn: sa.Connection, user: User, var_dir: Path, run_id: str) -> RunView:
    """A run's budget, prepayments due and paid, year end and member shares, scoped to the
    reader; a member institution reads a published run of its own 医共体 only."""
    require_permission(user, "capitation.view")
    row = _run_or_not_found(conn, run_id)
    own = _own_institution(user)
    if own is not None and (row["status"] != "published" or own not in (row["members"] or {})):
        raise refusal("not_found", "capitation.run.not_found", NO_RUN)
    run = load_run(var_dir, run_id) if row["status"] in ("draft", "published") else None
    if run is None:  # running or failed: the row alone
        return RunView(run_id, row, {}, own is None, [], [], [], [], [], [], [], [])
    keep = None if own is None else {row["members"][own]}

    def mine(community_id: str) -> bool:
        return keep is None or community_id in keep

    due = [p for p in run["prepayments"] if mine(p.community_id)]
    paid = [p for p in store.payments_of_year(conn, row["year"]) if mine(p.community_id)]
    others = [r for r in store.published_of_year(conn, row["year"]) if r["id"] != run_id]
    return RunView(
        run_id,
        row,
        run["record"],
        keep is None,
        [line for line in run["lines"] if not line.code.startswith("pot:") or mine(line.code[4:])],
        due,
        [e for e in run["year_ends"] if mine(e.community_id)],
        [s for s in run["shares"] if mine(s.community_id)],
        statuses(due, paid, today()),
        paid,
        others if own is None else [],
        [r["id"] for r in store.list_runs(conn) if r["corrects_run_id"] == run_id] if own is None else [],
    )


def load_run(var_dir: Path, run_id: str) -> dict[str, Any] | None:
    return store.load_run(var_dir, run_id)


def record_prepayment(
    conn: sa.Connection,
    user: User,
    var_dir: Path,
    run_id: str,
    payment: Payment,
    client: Client | None = None,
) -> PrepaymentStatus:
    """Record a payment against a published run's quarterly prepayment (the insurance bureau);
    the prepayment's status after it. Refused: no such run, a run not published, no such
    prepayment, an amount that is not positive to the fen, a day after today (the business date),
    or more than is outstanding without the reason (超额拨付须说明原因)."""
    require_permission(user, "capitation.settle")
    row = _run_or_not_found(conn, run_id)
    store.lock_year(conn, row["year"], run_id)  # one payment of a year at a time: never overpaid unseen
    if row["status"] != "published":
        raise refusal(
            "conflict",
            "capitation.prepayment.not_published",
            "只能对已发布的结算登记预拨到账 (record payments against a published run)",
        )
    run = load_run(var_dir, run_id)
    if run is None:
        raise refusal("not_found", "capitation.run.not_found", NO_RUN)
    due = [
        p
        for p in run["prepayments"]
        if (p.community_id, p.quarter) == (payment.community_id, payment.quarter)
    ]
    if not due:
        raise refusal(
            "invalid",
            "capitation.prepayment.unknown",
            f"本次结算没有医共体 {payment.community_id} 第 {payment.quarter} 季度的预拨",
            column="quarter",
        )
    if payment.amount <= 0 or payment.amount != payment.amount.quantize(Decimal("0.01")):
        raise refusal(
            "invalid",
            "capitation.prepayment.bad_amount",
            "到账金额应为大于 0、最多两位小数的金额",
            column="amount",
        )
    business_day = today()
    if payment.paid_on > business_day:
        raise refusal(
            "invalid",
            "capitation.prepayment.future_date",
            f"到账日期 {payment.paid_on} 晚于今天 ({business_day})",
            column="paid_on",
        )
    if not payment.reference.strip():
        raise refusal(
            "invalid", "capitation.prepayment.reference_required", "请填写拨付凭证号", column="reference"
        )
    (before,) = statuses(due, store.payments_of_year(conn, row["year"]))
    if payment.amount > before.outstanding and not payment.reason.strip():
        raise refusal(
            "invalid",
            "capitation.prepayment.overpaid",
            f"到账金额 {payment.amount} 超过尚未拨付的 {max(before.outstanding, Decimal(0))} 元"
            f" (应拨 {before.due} 元): 超额拨付须说明原因",
            column="amount",
        )
    store.add_payment(conn, run_id, row["year"], payment, user.id)
    log(
        conn,
        PrepaymentPaid(
            target=run_id,
            community_id=payment.community_id,
            quarter=payment.quarter,
            amount=str(payment.amount),
            paid_on=payment.paid_on.isoformat(),
            reference=payment.reference,
            reason=payment.reason,
        ),
        user,
        client,
    )
    (after,) = statuses(due, store.payments_of_year(conn, row["year"]), business_day)
    return after


def insurance_runs(conn: sa.Connection, user: User) -> list[dict[str, Any]]:
    """The finished resident-insurance runs a settlement may take its spending from."""
    require_permission(user, "capitation.settle")
    return store.insurance_runs_done(conn)


def user_names(conn: sa.Connection) -> dict[int, str]:
    return store.user_names(conn)


# ---- primary-care money from the web (002 篇四) -----------------------------------------------


@dataclass(frozen=True)
class PrimaryCareDone:
    """A primary-care calculation from uploaded tables: its id, result, record and warnings."""

    calc_id: str
    run: PrimaryCareRun
    record: dict[str, Any]
    warnings: list[Problem]


def primary_care_uploads(
    conn: sa.Connection,
    user: User,
    var_dir: Path,
    policy: str,
    uploads: list[tuple[str, bytes]],
    client: Client | None = None,
) -> tuple[PrimaryCareDone | None, list[Problem]]:
    """Public-health money per 医共体, village clinic subsidies and township deficit subsidies
    (002 篇四) from uploaded tables, as ``shidian capitation primary-care``: the outputs under
    ``var/capitation/primary-care/<id>/``, audited; or None and every problem (nothing written)."""
    require_permission(user, "capitation.settle")
    bad = _unknown_files(
        (name for name, _ in uploads), PRIMARY_CARE_NAME, "health/villages/townships 的 .csv/.xlsx"
    )
    if bad:
        return None, bad
    calc_id = new_id()
    root = store.capitation_dir(var_dir) / "primary-care"
    data = root / "inputs" / calc_id
    data.mkdir(parents=True, exist_ok=True)
    try:
        for name, content in uploads:
            (data / name).write_bytes(content)
        done, problems = primary_care_folder(data, root / calc_id, policy)
    finally:
        shutil.rmtree(data, ignore_errors=True)
    if done is None:
        return None, problems
    run, record = done
    names = tuple(sorted(name for name, _ in uploads))
    log(conn, PrimaryCareCalculated(target=calc_id, policy=policy, files=names), user, client)
    return PrimaryCareDone(calc_id, run, record, problems), problems


# ---- notifications (站内通知) -------------------------------------------------------------------


def notices(conn: sa.Connection, user: User, var_dir: Path, day: dt.date) -> list[Notice]:
    """A notice per published run the user may read (a member institution: its 医共体's), and
    for the bureau a notice per prepayment of each year's current run (the newest published)
    still not paid in full after its due day (七(二) "及时足额"), dated the day after."""
    if not can(user, "capitation.view"):
        return []
    own = _own_institution(user)
    published = [
        r
        for r in store.list_runs(conn)
        if r["status"] == "published" and (own is None or own in (r["members"] or {}))
    ]
    found = []
    for run in published:
        correction = " (更正结算)" if run["corrects_run_id"] else ""
        text = f"{run['year']} 年度医共体按人头总额预付结算已发布{correction}: {run['policy_id']} · {run['id'][:8]}"
        found.append(Notice(run["published_at"], "run_published", text, f"/capitation/runs/{run['id']}"))
    if not can(user, "capitation.settle"):
        return found
    current: dict[int, dict[str, Any]] = {}
    for run in sorted(published, key=lambda r: r["published_at"], reverse=True):
        current.setdefault(run["year"], run)  # the newest published run of each year
    for year, run in current.items():
        files = store.load_run(var_dir, run["id"])
        if files is None:
            continue
        for p in statuses(files["prepayments"], store.payments_of_year(conn, year), day):
            if p.overdue:
                text = (
                    f"医共体 {p.community_id} {year} 年第 {p.quarter} 季度预拨逾期未足额: 应拨 {p.due} 元,"
                    f" 已拨 {p.paid} 元 (应于 {p.due_on} 前拨付)"
                )
                link = f"/capitation/runs/{run['id']}/prepayments"
                found.append(
                    Notice(day_start(p.due_on + dt.timedelta(days=1)), "prepayment_overdue", text, link)
                )
    return found
