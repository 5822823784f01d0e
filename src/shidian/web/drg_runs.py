"""DRG datasets and settlement runs (数据集与结算批次): import, run, publish, correct.

A dataset is a validated set of input files. A run settles a dataset under a policy in a
background thread and is a draft until an officer publishes it; a published run is read-only
and a correction is a new run that names the run it corrects (PRODUCT.md principle 4).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import traceback
import uuid
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from shidian.drg.io import read_inputs, write_outputs
from shidian.drg.settlement import settle
from shidian.platform.clock import now
from shidian.platform.db.schema import datasets, runs
from shidian.platform.files import dataset_dir, run_dir, write_case_parquet
from shidian.problems import Problem

REPORT_CASES_LIMIT = 100_000

INPUT_NAMES = (
    "hospitals",
    "drg_groups",
    "cases",
    "assessment",
    "deductions",
    "reference_cases",
)


def new_id() -> str:
    return uuid.uuid4().hex


def check_files(files: Iterable[tuple[str, bytes]]) -> tuple[Path, list[Problem], dict[str, Any] | None]:
    """Write uploaded files into a staging folder and validate them as a DRG dataset.

    Returns the staging folder (the caller commits or removes it), every problem, and the
    manifest of files when there is none.
    """
    staging = Path(tempfile.mkdtemp(prefix="shidian-upload-"))
    for name, content in files:
        safe = Path(name).name
        (staging / safe).write_bytes(content)
    inputs, problems, manifest = read_inputs(staging)
    if inputs is not None:
        from shidian.drg.validate import validate_inputs

        problems = validate_inputs(inputs)
    if problems:
        return staging, problems, None
    assert inputs is not None
    dataset: dict[str, Any] = {"files": manifest, "year": inputs.params.year, "cases": inputs.cases.num_rows}
    return staging, [], dataset


def commit_dataset(
    conn: sa.Connection,
    var_dir: Path,
    staging: Path,
    manifest: dict[str, Any],
    name: str,
    user_id: int | None,
) -> str:
    dataset_id = new_id()
    target = dataset_dir(var_dir, dataset_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(staging), str(target))
    conn.execute(
        datasets.insert().values(
            id=dataset_id,
            domain="drg",
            name=name,
            year=int(manifest["year"]),
            uploaded_by=user_id,
            uploaded_at=now(),
            manifest=manifest,
        )
    )
    return dataset_id


class RunExecutor:
    """Runs settlements one at a time in a background thread; state lives in the ``runs`` table."""

    def __init__(self, engine: sa.Engine, var_dir: Path):
        self.engine = engine
        self.var_dir = var_dir
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shidian-run")
        self._lock = threading.Lock()
        self.futures: dict[str, Future[None]] = {}

    def submit(self, run_id: str) -> Future[None]:
        with self._lock:
            future = self._pool.submit(self._execute, run_id)
            self.futures[run_id] = future
            return future

    def _progress(self, run_id: str, label: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(runs.update().where(runs.c.id == run_id).values(progress=label))

    def _execute(self, run_id: str) -> None:
        from shidian.drg.policy import POLICIES

        with self.engine.begin() as conn:
            run = conn.execute(sa.select(runs).where(runs.c.id == run_id)).mappings().one()
            conn.execute(
                runs.update().where(runs.c.id == run_id).values(status="running", progress="读取输入")
            )
        try:
            policy, problems = POLICIES.load(run["policy_id"])
            if policy is None:
                raise RuntimeError("; ".join(str(p) for p in problems))
            inputs, problems, manifest = read_inputs(dataset_dir(self.var_dir, run["dataset_id"]))
            if inputs is None:
                raise RuntimeError("; ".join(str(p) for p in problems[:20]))
            result, problems = settle(inputs, policy, progress=lambda label: self._progress(run_id, label))
            if result is None:
                raise RuntimeError("; ".join(str(p) for p in problems[:20]))
            if not result.ok:
                raise RuntimeError("自检未通过: " + ", ".join(c.name for c in result.checks if not c.ok))
            self._progress(run_id, "写出结果")
            out = run_dir(self.var_dir, run_id)
            # Above REPORT_CASES_LIMIT cases the report leaves the case sheet out (writing a million
            # rows of Excel takes minutes); case_points.csv is downloadable from the run page.
            report_cases = None if result.case_points.num_rows <= REPORT_CASES_LIMIT else False
            record = write_outputs(
                result,
                out,
                policy=policy,
                manifest=manifest,
                hospitals=inputs.hospitals,
                report_cases=report_cases,
            )
            write_case_parquet(result.case_points, out / "case_points.parquet")
            with self.engine.begin() as conn:
                conn.execute(
                    runs.update()
                    .where(runs.c.id == run_id)
                    .values(
                        status="draft",
                        progress="完成",
                        finished_at=now(),
                        policy_version=policy.source.meta.version,
                        policy_sha256=policy.source.sha256,
                        totals=dict(result.totals),
                        checks=record["checks"],
                        warnings=len(result.warnings),
                    )
                )
        except Exception as exc:  # a failed run is recorded, never lost
            with self.engine.begin() as conn:
                conn.execute(
                    runs.update()
                    .where(runs.c.id == run_id)
                    .values(
                        status="failed",
                        progress="失败",
                        finished_at=now(),
                        error=f"{exc}\n{traceback.format_exc()[-2000:]}",
                    )
                )

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)


def create_run(
    conn: sa.Connection,
    dataset_id: str,
    policy_id: str,
    user_id: int | None,
    corrects: str | None,
    note: str | None,
) -> str:
    dataset = (
        conn.execute(sa.select(datasets).where(datasets.c.id == dataset_id, datasets.c.domain == "drg"))
        .mappings()
        .first()
    )
    if dataset is None:  # also another domain's dataset (an insurance import is no DRG input)
        raise ValueError("数据集不存在")
    if corrects is not None:
        corrected = conn.execute(sa.select(runs.c.status).where(runs.c.id == corrects)).scalar()
        if corrected != "published":
            raise ValueError("只能更正已发布的结算 (only a published run can be corrected)")
    run_id = new_id()
    conn.execute(
        runs.insert().values(
            id=run_id,
            domain="drg",
            dataset_id=dataset_id,
            year=dataset["year"],
            policy_id=policy_id,
            status="queued",
            progress="排队中",
            corrects_run_id=corrects,
            note=note,
            created_by=user_id,
            created_at=now(),
        )
    )
    return run_id


INTERRUPTED = "服务停止时结算未完成, 请重新发起 (interrupted when the server stopped; start the run again)"


def fail_interrupted_runs(conn: sa.Connection) -> list[str]:
    """Mark runs left queued or running by a stopped server as failed; returns their ids.

    A run executes in a thread of the server process that created it, so when the server
    starts no run can still be executing: ``shidian serve`` calls this once, before it starts
    its worker processes (one server per database).
    """
    stuck = [
        str(r.id) for r in conn.execute(sa.select(runs.c.id).where(runs.c.status.in_(("queued", "running"))))
    ]
    if stuck:
        conn.execute(
            runs.update()
            .where(runs.c.id.in_(stuck))
            .values(status="failed", error=INTERRUPTED, progress=None, finished_at=now())
        )
    return stuck


def publish_run(conn: sa.Connection, run_id: str, user_id: int) -> None:
    """Draft → published. Anything else is refused: a published run never changes."""
    result = conn.execute(
        runs.update()
        .where(runs.c.id == run_id, runs.c.status == "draft")
        .values(status="published", published_by=user_id, published_at=now())
    )
    if result.rowcount != 1:
        raise ValueError("只有草稿状态的结算可以发布 (only a draft can be published)")


def run_record(var_dir: Path, run_id: str) -> dict[str, Any]:
    return json.loads((run_dir(var_dir, run_id) / "run.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def get_run(conn: sa.Connection, run_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(runs).where(runs.c.id == run_id)).mappings().first()
    return None if row is None else dict(row)


#: A run's columns without its results (totals, checks): what lists and selectors show.
RUN_LIST_COLUMNS = tuple(c for c in runs.c if c.name not in ("totals", "checks"))


def list_runs(
    conn: sa.Connection, *, published_only: bool = False, with_results: bool = True
) -> list[dict[str, Any]]:
    """Runs, newest first; ``with_results=False`` leaves out the totals and checks (JSON)."""
    query = sa.select(*(runs.c if with_results else RUN_LIST_COLUMNS)).order_by(runs.c.created_at.desc())
    if published_only:
        query = query.where(runs.c.status == "published")
    return [dict(r) for r in conn.execute(query).mappings()]


def list_datasets(conn: sa.Connection) -> list[dict[str, Any]]:
    """The DRG datasets, newest first (other domains' imports share the table)."""
    query = sa.select(datasets).where(datasets.c.domain == "drg").order_by(datasets.c.uploaded_at.desc())
    return [dict(r) for r in conn.execute(query).mappings()]


def latest_published(conn: sa.Connection) -> dict[str, Any] | None:
    row = (
        conn.execute(
            sa.select(runs).where(runs.c.status == "published").order_by(runs.c.published_at.desc()).limit(1)
        )
        .mappings()
        .first()
    )
    return None if row is None else dict(row)
