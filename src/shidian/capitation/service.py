"""Capitation workflows (医共体按人头总额预付): settle a data folder, explain a 医共体 of a run,
store a run from uploaded files and read stored runs.

Called by the CLI and the web pages alike: (result, problems) or (None, problems), or a
``Refused``. The insurance bureau settles; leaders and the pilot office read every run; a member
institution (a hospital user whose hospital id is a member) reads its own 医共体 only, and a run
it is no member of is ``not_found``.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from shidian.capitation.events import PrepaymentPaid, RunStored
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
from shidian.capitation.store import add_payment, capitation_dir, list_runs, load_payments, load_run
from shidian.platform.access import can, require_permission
from shidian.platform.accounts import User
from shidian.platform.audit import Client, log
from shidian.platform.files import staging_root
from shidian.problems import Problem, Source, has_errors, refusal
from shidian.runs import Check


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


# ---- the web: runs stored under var/capitation/ ------------------------------------------

SAFE_NAME = re.compile(
    r"^(fund\.toml|(communities|members|population|spending|scores|villages)\.(csv|xlsx))$"
)
NO_RUN = "没有这个结算 (no such run)"


def _own_institution(user: User) -> str | None:
    """The member institution a user is scoped to, or None for a reader of every run."""
    if can(user, "capitation.view_all"):
        return None
    return user.hospital_id or ""


def settle_uploads(
    conn: sa.Connection,
    user: User,
    var_dir: Path,
    policy: str,
    uploads: list[tuple[str, bytes]],
    client: Client | None = None,
) -> tuple[str | None, list[Problem]]:
    """Settle uploaded input files (``fund.toml`` and the tables, by their names) and store the
    run under ``var/capitation/<run_id>/``; the run id, or None and every problem."""
    require_permission(user, "capitation.settle")
    bad = [name for name, _ in uploads if not SAFE_NAME.match(name)]
    if bad:
        return None, [
            Problem(
                "capitation.input.unknown_file",
                f"不认识的文件 {name}: 应为 fund.toml 或 communities/members/population/spending/scores 的 .csv/.xlsx",
                Source(name),
            )
            for name in bad
        ]
    # staged inside the data directory, never the system's temporary one (issue 22 finding 6)
    with tempfile.TemporaryDirectory(prefix="capitation-", dir=staging_root(var_dir)) as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        for name, content in uploads:
            (data / name).write_bytes(content)
        staging = capitation_dir(var_dir) / f".staging-{uuid.uuid4().hex}"
        settled, problems = settle_folder(data, staging, policy)
        if settled is None:
            return None, problems
        run_id = str(settled.record["run_id"])
        target = capitation_dir(var_dir) / run_id
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    log(
        conn,
        RunStored(target=run_id, policy=policy, files=tuple(sorted(n for n, _ in uploads))),
        user,
        client,
    )
    return run_id, problems


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    year: str
    policy: str
    pot: str
    communities: str


def overview(user: User, var_dir: Path) -> list[RunSummary]:
    """The stored runs a user may read, newest first."""
    require_permission(user, "capitation.view")
    own = _own_institution(user)
    return [
        RunSummary(
            r["run_id"],
            r["totals"]["year"],
            r["policy"]["id"],
            r["totals"]["pot_yuan"],
            r["totals"]["communities"],
        )
        for r in list_runs(var_dir)
        if own is None or own in r["members"]
    ]


@dataclass(frozen=True)
class RunView:
    """A stored run as a reader may see it: every 医共体 (``full``) or the reader's own."""

    run_id: str
    record: dict[str, Any]
    full: bool
    lines: list[Any]
    prepayments: list[Any]
    year_ends: list[Any]
    shares: list[Any]
    #: each prepayment due with what was recorded as paid (001 第十七篇 七(二))
    paid: list[PrepaymentStatus]


def run_view(user: User, var_dir: Path, run_id: str) -> RunView:
    """A stored run's budget, prepayments, year end and member shares, scoped to the reader."""
    require_permission(user, "capitation.view")
    run = load_run(var_dir, run_id)
    if run is None:
        raise refusal("not_found", "capitation.run.not_found", NO_RUN)
    own = _own_institution(user)
    shares = run["shares"]
    if own is None:
        keep = None
    else:
        keep = {s.community_id for s in shares if s.institution_id == own}
        if not keep:
            raise refusal("not_found", "capitation.run.not_found", NO_RUN)

    def mine(community_id: str) -> bool:
        return keep is None or community_id in keep

    return RunView(
        run_id,
        run["record"],
        keep is None,
        [line for line in run["lines"] if not line.code.startswith("pot:") or mine(line.code[4:])],
        [p for p in run["prepayments"] if mine(p.community_id)],
        [e for e in run["year_ends"] if mine(e.community_id)],
        [s for s in shares if mine(s.community_id)],
        statuses([p for p in run["prepayments"] if mine(p.community_id)], load_payments(var_dir, run_id)),
    )


def record_prepayment(
    conn: sa.Connection,
    user: User,
    var_dir: Path,
    run_id: str,
    payment: Payment,
    client: Client | None = None,
) -> PrepaymentStatus:
    """Record a payment against a run's quarterly prepayment (the insurance bureau); the
    prepayment's status after it. Refused: no such run or prepayment, an amount that is not
    positive to the fen, or more than is outstanding."""
    require_permission(user, "capitation.settle")
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
    (before,) = statuses(due, load_payments(var_dir, run_id))
    if payment.amount > before.outstanding:
        raise refusal(
            "invalid",
            "capitation.prepayment.overpaid",
            f"到账金额 {payment.amount} 超过尚未拨付的 {before.outstanding} 元 (应拨 {before.due} 元)",
            column="amount",
        )
    add_payment(var_dir, run_id, payment)
    log(
        conn,
        PrepaymentPaid(
            target=run_id,
            community_id=payment.community_id,
            quarter=payment.quarter,
            amount=str(payment.amount),
            paid_on=payment.paid_on.isoformat(),
        ),
        user,
        client,
    )
    (after,) = statuses(due, load_payments(var_dir, run_id))
    return after
