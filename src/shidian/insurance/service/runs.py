"""Insurance batch runs in the web app (年度补偿结算): run a dataset, show a run, its files.

A run prices a dataset's claims with the same course as ``shidian insurance reimburse``
(``batch_files.reimburse_files``) and writes the same files under ``var/runs/<id>/``: the fund
ledger, the monthly statements per institution (Excel), the village notices (Excel and PDF),
the health-check list. Pages read them back; nothing is recomputed for display.

A run also takes the claims paid at the discharge desk against its dataset (not those reversed),
each with ``desk_paid`` = what the desk paid: the monthly settlement then shows what each
institution advanced at its desk, checked again by the batch's rules (004 篇6 三(四)4: 定点医疗机构
每月再与合管办结算; 违反规定的费用不予结算).

A run takes seconds (a county of tens of thousands of insured; a 500,000-person county is better
run with the CLI), so ``run_dataset`` takes the engine, not a connection: it starts the run's job
(``shidian.platform.jobs``: one run at a time across every server process, a 409 otherwise) and
records the run as ``running`` (with its audit record) in one short transaction, computes outside
any transaction, and records it done or failed in another — a transaction held for the computation would hold
SQLite's write lock, and the discharge desk with it, for seconds. A failed run is recorded,
never lost.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from shidian.insurance import events
from shidian.insurance.batch_files import DeskClaims, reimburse_files
from shidian.insurance.model import CATEGORY_LABELS
from shidian.insurance.policy import POLICIES
from shidian.insurance.run_folder import count_rows, notice_files, read_csv, run_file, statement_files
from shidian.insurance.service.desk import own_institution
from shidian.insurance.store import datasets as dataset_store
from shidian.insurance.store import desk as desk_store
from shidian.insurance.store import runs as store
from shidian.money import round_fen
from shidian.platform import jobs
from shidian.platform.access import require_permission
from shidian.platform.accounts import User, get_user
from shidian.platform.audit import Client, log
from shidian.platform.files import dataset_dir, run_dir
from shidian.problems import refusal


@dataclass(frozen=True)
class _Pending:
    run_id: str
    dataset_id: str
    policy_id: str
    desk: DeskClaims


def _start(conn: sa.Connection, dataset_id: str, user_id: int | None) -> _Pending:
    dataset = dataset_store.get_dataset(conn, dataset_id)
    if dataset is None:  # 422 with the HTTP layer's generic code, as the page has always answered
        raise refusal("invalid", "http.error", "数据集不存在 (no such insurance dataset)")
    desk = DeskClaims(*desk_store.paid_requests(conn, dataset_id))
    policy_id = dataset["manifest"]["policy_id"]
    run_id = store.insert_run(conn, dataset_id, dataset["year"], policy_id, user_id)
    return _Pending(run_id, dataset_id, policy_id, desk)


def _compute(var_dir: Path, pending: _Pending) -> dict[str, Any]:
    """Reimburse the dataset; the run's values, done or failed."""
    try:
        policy = POLICIES.named(pending.policy_id)
        outcome = reimburse_files(
            dataset_dir(var_dir, pending.dataset_id), run_dir(var_dir, pending.run_id), policy, pending.desk
        )
        result = outcome.result
        if result is None:
            raise RuntimeError("; ".join(str(p) for p in outcome.problems[:20]))
        if outcome.record is None:
            raise RuntimeError("自检未通过: " + ", ".join(c.name for c in result.checks if not c.ok))
        return {
            "status": "done",
            "policy_sha256": policy.source.sha256,
            "totals": {**result.totals, "desk_claims": str(len(pending.desk.requests))},
            "checks": outcome.record["checks"],
            "warnings": [{"code": w.code, "message": w.message} for w in result.warnings[:200]],
        }
    except Exception as exc:  # a failed run is recorded, never lost
        return {"status": "failed", "error": f"{exc}\n{traceback.format_exc()[-2000:]}"}


def _run(
    engine: sa.Engine, var_dir: Path, dataset_id: str, user: User | None, client: Client | None, audited: bool
) -> str:
    """The run as a job (``shidian.platform.jobs``, lane ``runs``): refused (409) while another
    run — insurance or DRG, in any server process — is running; a process killed mid-way leaves
    a job that the next claim or the next start-up fails, with its run."""
    with engine.begin() as conn:
        try:
            job_id = jobs.start(conn, "insurance.run", None)  # first: takes the lane's lock
        except jobs.Busy as exc:
            raise refusal("conflict", "job.busy", str(exc)) from None
        pending = _start(conn, dataset_id, user.id if user else None)
        jobs.set_target(conn, job_id, pending.run_id)
        if audited:
            log(conn, events.RunStarted(target=pending.run_id, dataset_id=dataset_id), user, client)
    with jobs.running(engine, job_id):
        values = _compute(var_dir, pending)
        with engine.begin() as conn:
            store.finish_run(conn, pending.run_id, values)
    return pending.run_id


def run_insurance_batch(engine: sa.Engine, var_dir: Path, dataset_id: str, user_id: int | None) -> str:
    """Reimburse a dataset under its policy; returns the run id (the run may have failed).
    Not audited: ``run_dataset`` is the workflow; this is its body (and test fixtures')."""
    with engine.begin() as conn:
        user = get_user(conn, user_id) if user_id is not None else None
    return _run(engine, var_dir, dataset_id, user, None, audited=False)


def run_dataset(
    engine: sa.Engine, user: User, var_dir: Path, dataset_id: str, client: Client | None = None
) -> str:
    """The run workflow (the web's run button): run a dataset, audited; returns the run id (the run may
    have failed: its page says why). Needs ``insurance.import``; an unknown dataset is refused."""
    require_permission(user, "insurance.import")
    return _run(engine, var_dir, dataset_id, user, client, audited=True)


def _run_or_not_found(conn: sa.Connection, run_id: str) -> dict[str, Any]:
    run = store.get_run(conn, run_id) if len(run_id) == 32 and run_id.isalnum() else None
    if run is None:
        raise refusal("not_found", "not_found", "结算不存在 (no such run)")
    return run


def view_run(
    conn: sa.Connection, user: User, var_dir: Path, run_id: str, client: Client | None = None
) -> dict[str, Any]:
    """What a run's page shows, read from its files: the settlement (a hospital user: its own
    rows and statement only) and, for users who see the county, the fund ledger, statements,
    notices and the health-check list (personal data: audited)."""
    require_permission(user, "insurance.claims_view")
    run = _run_or_not_found(conn, run_id)
    folder = run_dir(var_dir, run_id)
    own = own_institution(user)
    settlement = read_csv(folder / "settlement.csv")
    if own:
        settlement = [r for r in settlement if r["institution_id"] == own]
    page: dict[str, Any] = {
        "run": run,
        "settlement": settlement,
        "own": own,
        "totals": run["totals"] or {},
        "institution_names": dataset_store.institution_names(conn, run["dataset_id"]),
    }
    if own or run["status"] != "done":
        page["statements"] = [s for s in statement_files(folder) if s == own]
        return page
    monthly = read_csv(folder / "ledger_monthly.csv")
    pools = read_csv(folder / "ledger_pools.csv")  # none in a run made before the two pools
    pool_monthly = read_csv(folder / "ledger_pool_monthly.csv")
    use_ratio = Decimal(page["totals"].get("use_ratio", "0"))
    page |= {
        "pools": pools,
        "contributions": read_csv(folder / "ledger_contributions.csv"),
        "receipts": read_csv(folder / "ledger_receipts.csv"),  # none without a contributions file
        "reimbursements": read_csv(folder / "ledger_reimbursements.csv"),
        "monthly": monthly,
        "use_ratio": use_ratio,
        # 以收定支 per pool (004 篇6 三(三)1): a pool may run ahead of its own income when the sum does not
        "overspent": use_ratio > 1
        or any(m["ahead"] == "1" for m in monthly)
        or any(m["ahead"] == "1" for m in pool_monthly)
        or any(p["balance"].startswith("-") for p in pools),
        "overdrawn": any(m.get("overdrawn") == "1" for m in (*monthly, *pool_monthly)),
        "statements": statement_files(folder),
        "notices": notice_files(folder),
        "villages": read_csv(folder / "notice_villages.csv"),
        "health_checks": [
            {**r, "category_label": CATEGORY_LABELS.get(r["category"], r["category"])}
            for r in read_csv(folder / "health_checks.csv")
        ],
        "health_check_count": count_rows(folder / "health_checks.csv"),
    }
    log(conn, events.RunViewed(target=run_id), user, client)
    return page


def run_download(
    conn: sa.Connection, user: User, var_dir: Path, run_id: str, name: str, client: Client | None = None
) -> Path:
    """A run's output file to download (audited): officers any, a hospital its own statement."""
    require_permission(user, "insurance.claims_view")
    _run_or_not_found(conn, run_id)
    own = own_institution(user)
    if own and name != f"statements/{own}.xlsx":
        raise refusal("forbidden", "auth.forbidden", "无权下载 (forbidden)")
    path = run_file(run_dir(var_dir, run_id), name)
    if path is None:
        raise refusal("not_found", "not_found", "没有这个文件 (no such file)")
    log(conn, events.RunFileDownloaded(target=run_id, file=name), user, client)
    return path


def list_insurance_runs(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every run, the latest first."""
    return store.list_runs(conn)


def runs_for(conn: sa.Connection, user: User, var_dir: Path | None) -> list[dict[str, Any]]:
    """The runs as ``user`` may read them: a hospital user sees its own institution's approved
    reimbursements (its rows of ``settlement.csv``), never the county's 补偿支出 totals."""
    runs = store.list_runs(conn)
    own = own_institution(user)
    if not own:
        return runs
    scoped = []
    for run in runs:
        rows = [] if var_dir is None else read_csv(run_dir(var_dir, run["id"]) / "settlement.csv")
        approved = sum((Decimal(r["approved"]) for r in rows if r["institution_id"] == own), Decimal(0))
        scoped.append({**run, "totals": {"reimbursements": f"{round_fen(approved):f}"}})
    return scoped
