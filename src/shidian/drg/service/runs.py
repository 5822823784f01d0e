"""Settlement runs (结算批次): start (or correct), execute in the background, publish.

A run settles a dataset under a reference policy in the background (``shidian.platform.jobs``)
and is a draft until an officer publishes it; a published run is read-only and a correction
is a new run that names the published run it corrects (PRODUCT.md principle 4).
"""

from __future__ import annotations

import json
import re
import traceback
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from shidian.drg import store
from shidian.drg.events import RunCancelled, RunPublished, RunStarted
from shidian.drg.service.settle import settle_folder
from shidian.platform import jobs
from shidian.platform.access import require_permission
from shidian.platform.accounts import User
from shidian.platform.audit import Client, log
from shidian.platform.files import dataset_dir, new_id, run_dir
from shidian.policy import reference_policy_names
from shidian.problems import Problem, Source, refusal
from shidian.runs import check_correction

#: Above this many cases report.xlsx leaves the case sheet out (case_points.csv has them).
REPORT_CASES_LIMIT = 100_000
#: Ids of datasets and runs: 32 lower-case hex digits (``uuid4().hex``).
HEX_ID = re.compile(r"^[0-9a-f]{32}$")
#: How a failed run's problems are kept in its ``error`` column (JSON after this mark).
_PROBLEMS_MARK = "problems:"
#: How many problems a failed run keeps (the first ones; the count says how many there were).
PROBLEMS_KEPT = 200


def start_run(
    conn: sa.Connection,
    user: User,
    dataset_id: str,
    policy_id: str,
    corrects: str | None = None,
    note: str | None = None,
    client: Client | None = None,
) -> str:
    """Queue a run of a dataset under a reference policy (a correction when ``corrects`` names a
    published run); returns its id. The caller commits, then submits it to the job runner."""
    require_permission(user, "drg.run")
    if policy_id not in reference_policy_names("drg"):
        raise refusal("invalid", "request.invalid", f"未知的政策 {policy_id!r} (unknown policy)")
    dataset = store.get_dataset(conn, dataset_id) if HEX_ID.match(dataset_id) else None
    if dataset is None:  # also another domain's dataset (an insurance import is no DRG input)
        raise refusal("invalid", "request.invalid", "数据集不存在 (no such dataset)")
    if corrects is not None:
        status = store.run_status(conn, corrects) if HEX_ID.match(corrects) else None
        if status != "published":
            raise refusal(
                "invalid", "request.invalid", "只能更正已发布的结算 (only a published run can be corrected)"
            )
    run_id = new_id()
    store.insert_run(conn, run_id, dataset, policy_id, user.id, corrects, note or None)
    event = RunStarted(target=run_id, dataset_id=dataset_id, policy_id=policy_id, corrects_run_id=corrects)
    log(conn, event, user, client)
    return run_id


def publish_run(
    conn: sa.Connection,
    user: User,
    run_id: str,
    client: Client | None = None,
    corrects: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """Draft → published, with its audit record; anything else is refused: a published run
    never changes. Returns the published run.

    A year has one settlement hospitals read: when the run's year already has a published run,
    this run must name the one it corrects (``corrects``, or the run it was started to correct)
    and give the reason (``reason``; kept in the run's note and the audit record), else it is
    refused (``drg.publish.correction_required``, ``drg.publish.reason_required``): an unrelated
    second run of the year is never published silently beside the first."""
    require_permission(user, "drg.publish")
    run = store.get_run(conn, run_id) if HEX_ID.match(run_id) else None
    if run is None:
        raise refusal("not_found", "not_found", "结算不存在 (no such run)")
    if run["status"] != "draft":
        raise refusal(
            "conflict",
            "conflict",
            f"只有草稿状态的结算可以发布, 此结算为 {run['status']} (only a draft can be published)",
        )
    others = [r["id"] for r in store.published_of_year(conn, run["year"]) if r["id"] != run_id]
    named = corrects or run["corrects_run_id"]
    reason = (reason or "").strip()
    if corrects is not None and (
        not HEX_ID.match(corrects) or store.run_status(conn, corrects) != "published"
    ):
        raise refusal(
            "invalid", "request.invalid", "只能更正已发布的结算 (only a published run can be corrected)"
        )
    check_correction("drg", run["year"], others, named, reason)
    note = None
    if reason:
        note = "；".join(n for n in (run["note"], f"更正原因: {reason}") if n)
    if not store.publish(
        conn, run_id, user.id, corrects if corrects != run["corrects_run_id"] else None, note
    ):
        raise refusal("conflict", "conflict", "只有草稿状态的结算可以发布 (only a draft can be published)")
    log(conn, RunPublished(target=run_id, corrects_run_id=named, reason=reason), user, client)
    published = store.get_run(conn, run_id)
    assert published is not None
    return published


def execute_run(engine: sa.Engine, var_dir: Path, run_id: str) -> None:
    """The background job of a run (``shidian.platform.jobs.Jobs``): settle its dataset into
    ``var/runs/<id>/`` and record the outcome — a draft with its totals and checks, or failed
    with every problem that stopped it (or the error, if the code failed)."""
    with engine.begin() as conn:
        run = store.get_run(conn, run_id)
        assert run is not None, run_id
        store.mark_running(conn, run_id)
    try:
        settled, problems = settle_folder(
            dataset_dir(var_dir, run["dataset_id"]),
            run_dir(var_dir, run_id),
            run["policy_id"],
            report_cases_limit=REPORT_CASES_LIMIT,
            parquet=True,
            progress=lambda label: jobs.progress(engine, run_id, label),
        )
        with engine.begin() as conn:
            if settled is None:
                store.mark_failed(conn, run_id, problems_error(problems))
                return
            store.mark_draft(
                conn,
                run_id,
                policy_version=settled.policy.source.meta.version,
                policy_sha256=settled.policy.source.sha256,
                totals=dict(settled.result.totals),
                checks=settled.record["checks"],
                warnings=len(settled.result.warnings),
            )
    except jobs.Cancelled:  # stopped at a stage, as asked (cancel_run)
        with engine.begin() as conn:
            store.mark_failed(conn, run_id, jobs.CANCELLED)
    except Exception as exc:  # a failed run is recorded, never lost
        with engine.begin() as conn:
            store.mark_failed(conn, run_id, f"{exc}\n{traceback.format_exc()[-2000:]}")


def executor(engine: sa.Engine, var_dir: Path) -> jobs.Jobs:
    """The job runner of DRG runs (``shidian.platform.jobs``): one settlement at a time across
    every server process, queued runs waiting for the one that runs."""
    return jobs.Jobs(engine, var_dir, execute_run, name="shidian-run", kind="drg.run")


def cancel_run(conn: sa.Connection, user: User, run_id: str, client: Client | None = None) -> dict[str, Any]:
    """取消结算: a queued run fails at once as cancelled, a running one at its next stage; a
    finished run is a 409. Returns the run."""
    require_permission(user, "drg.run")
    run = store.get_run(conn, run_id) if HEX_ID.match(run_id) else None
    if run is None:
        raise refusal("not_found", "not_found", "结算不存在 (no such run)")
    if run["status"] not in ("queued", "running") or jobs.cancel(conn, run_id) is None:
        raise refusal(
            "conflict",
            "conflict",
            f"只能取消排队或进行中的结算, 此结算为 {run['status']} (not queued or running)",
        )
    log(conn, RunCancelled(target=run_id), user, client)
    cancelled = store.get_run(conn, run_id)
    assert cancelled is not None
    return cancelled


# ---- a failed run's problems, kept in its error column --------------------------------------------


def problems_error(problems: list[Problem]) -> str:
    """The ``error`` of a run stopped by problems: a summary line, then the problems as JSON."""
    kept = problems[:PROBLEMS_KEPT]
    summary = "; ".join(str(p) for p in kept[:3]) + (
        f" (共 {len(problems)} 个问题)" if len(problems) > 3 else ""
    )
    body = json.dumps({"count": len(problems), "problems": [p.to_dict() for p in kept]}, ensure_ascii=False)
    return f"{summary}\n{_PROBLEMS_MARK}{body}"


def run_problems(error: str | None) -> list[Problem] | None:
    """The problems that stopped a failed run, or None when it failed otherwise (or did not)."""
    if not error or f"\n{_PROBLEMS_MARK}" not in error:
        return None
    data = json.loads(error.split(f"\n{_PROBLEMS_MARK}", 1)[1])
    return [
        Problem(p["code"], p["message"], Source(**p["where"]), p.get("severity", "error"))
        for p in data["problems"]
    ]


def error_summary(error: str | None) -> str | None:
    """The first line of a failed run's error (the problems or traceback stay in the database)."""
    return None if not error else error.split("\n", 1)[0]
