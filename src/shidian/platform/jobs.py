"""Background jobs (后台任务): every piece of long work goes through one mechanism, held in the
database so that it holds across server processes and restarts, on SQLite and PostgreSQL.

A job is a row of ``jobs``: its ``kind`` (``drg.run``, ``insurance.run``, ``drg.import``, …), the
``target`` it works on (a run id), its ``lane`` and status (queued → running → done; or failed,
cancelled), its progress, the process that runs it (``owner``) and that process's heartbeat.

* **One at a time per lane, across processes.** A job runs only once it is *claimed*; a claim
  first writes its lane's row in ``job_lanes`` (a row lock on PostgreSQL, the database's write
  lock on SQLite), so two processes — ``shidian serve --workers 2`` — never both see the lane
  free: the second waits (``Jobs``, queued work) or is refused (``start``, work done in the
  request, which answers 409). DRG and insurance runs share the lane ``runs`` (a year of a
  prefecture takes gigabytes of memory); imports have theirs.
* **Progress and cancellation.** ``progress`` records the stage a job is in (a page polls it) and
  raises ``Cancelled`` once ``cancel`` was asked: the work stops at its next stage.
* **Work done in the request** (an import: DRG, insurance, registry) is started by its service
  with ``started`` (or ``exclusive``), records its stages with ``step`` in their own transactions
  (a page sees them: ``running_job``) and lands its data in one transaction of its own.
* **Recovery.** The running process beats every ``HEARTBEAT_SECONDS``; a job whose heartbeat is
  older than ``STALE_SECONDS`` (its process was killed) is failed by the next claim of its lane,
  and ``fail_interrupted_runs``, which ``shidian serve`` calls at start-up before any worker
  exists, fails every job left queued or running (keeping the stage it stopped at) — and the
  DRG, insurance and capitation run rows they drove, so that no run is shown "running" forever.
  An interrupted import kept nothing (its transaction never committed); the DRG files it had
  moved are removed at start-up too (``shidian.drg.service.recover_imports``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from shidian.platform.clock import now
from shidian.platform.db.capitation_schema import capitation_runs
from shidian.platform.db.insurance_schema import insurance_runs
from shidian.platform.db.schema import job_lanes, jobs, runs
from shidian.problems import refusal

#: The work of one queued job: (engine, var_dir, target). It records its own outcome in its row.
Work = Callable[[sa.Engine, Path, str], None]

INTERRUPTED = "服务停止时结算未完成, 请重新发起 (interrupted when the server stopped; start the run again)"
INTERRUPTED_IMPORT = (
    "服务停止时导入未完成, 未导入任何数据, 请重新导入 "
    "(interrupted when the server stopped; nothing was imported: import again)"
)
CANCELLED = "已取消 (cancelled)"
BUSY = "另一项结算正在进行, 请稍后再试 (another run is in progress; try again when it has finished)"
#: What a refused start answers, by lane.
BUSY_OF = {
    "runs": BUSY,
    "imports": "另一项数据导入正在进行, 请稍后再试 (another import is in progress; try again when it has finished)",
}

#: The lane of each kind of job: one job at a time per lane, across every process.
LANES = {
    "drg.run": "runs",
    "insurance.run": "runs",
    "drg.import": "imports",
    "insurance.import": "imports",
    "registry.import": "imports",
    "capitation.run": "runs",
}
#: Why an interrupted job failed, by lane (an import lands whole or not at all: nothing is kept).
INTERRUPTED_OF = {"runs": INTERRUPTED, "imports": INTERRUPTED_IMPORT}
#: How often a running job's process says it is alive, and when silence means it died.
HEARTBEAT_SECONDS = 10.0
STALE_SECONDS = 120.0
#: How often a queued job asks again for its lane.
POLL_SECONDS = 0.5

#: The run rows a job drives: when recovery fails the job, it fails the row (status, error,
#: finished_at) if the row is still unfinished.
_TARGET_ROWS: dict[str, tuple[sa.Table, tuple[str, ...]]] = {
    "drg.run": (runs, ("queued", "running")),
    "insurance.run": (insurance_runs, ("running",)),
    "capitation.run": (capitation_runs, ("running",)),
}


class Busy(Exception):
    """The lane is taken by another job (in this process or another)."""


class Cancelled(Exception):
    """Cancellation was asked: the work stops at its next stage."""

    def __init__(self) -> None:
        super().__init__(CANCELLED)


def owner() -> str:
    """This process: host and pid (a forked worker has its own)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


def _new_id() -> str:
    return uuid.uuid4().hex


def _lock_lane(conn: sa.Connection, lane: str) -> None:
    """Take the lane's lock for the rest of the transaction (first statement: a write)."""
    result = conn.execute(job_lanes.update().where(job_lanes.c.lane == lane).values(claimed_at=now()))
    if result.rowcount == 0:
        raise ValueError(f"unknown job lane {lane!r}")


def _fail_stale(conn: sa.Connection, lane: str) -> None:
    """Fail the running jobs of ``lane`` whose process stopped beating (killed), and their runs."""
    cutoff = now() - dt.timedelta(seconds=STALE_SECONDS)
    stale = conn.execute(
        sa.select(jobs.c.id, jobs.c.kind, jobs.c.target).where(
            jobs.c.lane == lane, jobs.c.status == "running", jobs.c.heartbeat_at < cutoff
        )
    ).all()
    _fail_jobs(conn, stale)


def _fail_jobs(conn: sa.Connection, rows: Sequence[Any]) -> list[str]:
    at = now()
    failed: list[str] = []
    for job_id, kind, target in rows:
        conn.execute(
            jobs.update()
            .where(jobs.c.id == job_id)
            .values(status="failed", error=interrupted(kind), finished_at=at)
        )
        if target is not None and _fail_target(conn, kind, target, INTERRUPTED):
            failed.append(target)
    return failed


def interrupted(kind: str) -> str:
    """The error an interrupted job of ``kind`` is failed with."""
    return INTERRUPTED_OF.get(LANES.get(kind, "runs"), INTERRUPTED)


def _fail_target(conn: sa.Connection, kind: str, target: str, error: str) -> bool:
    """Fail the run row a job drove, if it is still unfinished; whether it was."""
    if kind not in _TARGET_ROWS:
        return False
    table, unfinished = _TARGET_ROWS[kind]
    values: dict[str, object] = {"status": "failed", "error": error, "finished_at": now()}
    if "progress" in table.c:
        values["progress"] = None
    changed = conn.execute(
        table.update().where(table.c.id == target, table.c.status.in_(unfinished)).values(**values)
    )
    return bool(changed.rowcount)


def _busy(conn: sa.Connection, lane: str) -> bool:
    query = sa.select(jobs.c.id).where(jobs.c.lane == lane, jobs.c.status == "running").limit(1)
    return conn.execute(query).first() is not None


def enqueue(conn: sa.Connection, kind: str, target: str | None) -> str:
    """A queued job of ``kind`` on ``target`` (a run id); returns its id."""
    job_id = _new_id()
    conn.execute(
        jobs.insert().values(
            id=job_id, kind=kind, lane=LANES[kind], target=target, status="queued", created_at=now()
        )
    )
    return job_id


def claim(engine: sa.Engine, job_id: str) -> bool | None:
    """Start a queued job if its lane is free (in its own transaction): True when claimed, False
    when the lane is busy, None when the job is no longer queued (cancelled, failed)."""
    with engine.begin() as conn:
        lane = conn.execute(sa.select(jobs.c.lane).where(jobs.c.id == job_id)).scalar()
        if lane is None:
            return None
        _lock_lane(conn, lane)
        _fail_stale(conn, lane)
        if _busy(conn, lane):
            queued = conn.execute(sa.select(jobs.c.status).where(jobs.c.id == job_id)).scalar() == "queued"
            return False if queued else None
        at = now()
        started = conn.execute(
            jobs.update()
            .where(jobs.c.id == job_id, jobs.c.status == "queued")
            .values(status="running", owner=owner(), started_at=at, heartbeat_at=at)
        )
        return True if started.rowcount == 1 else None


def start(conn: sa.Connection, kind: str, target: str | None, started_by: int | None = None) -> str:
    """Start a job now, in the caller's transaction (work done in the request: an insurance run,
    an import), or raise ``Busy`` when its lane is taken. Call it before anything else writes in
    the transaction; run the work under ``running``. ``started_by``: the user starting it (who
    may cancel it, ``cancel_job``)."""
    lane = LANES[kind]
    _lock_lane(conn, lane)
    _fail_stale(conn, lane)
    if _busy(conn, lane):
        raise Busy(BUSY_OF.get(lane, BUSY))
    job_id = _new_id()
    at = now()
    conn.execute(
        jobs.insert().values(
            id=job_id,
            kind=kind,
            lane=lane,
            target=target,
            status="running",
            owner=owner(),
            started_by=started_by,
            created_at=at,
            started_at=at,
            heartbeat_at=at,
        )
    )
    return job_id


def set_target(conn: sa.Connection, job_id: str, target: str) -> None:
    """Name what a started job works on (a run id known only after ``start``)."""
    conn.execute(jobs.update().where(jobs.c.id == job_id).values(target=target))


def finish(engine: sa.Engine, job_id: str, error: str | None = None) -> None:
    """Record a job's end: done, failed with ``error``, or cancelled when cancellation was asked."""
    with engine.begin() as conn:
        asked = conn.execute(sa.select(jobs.c.cancel_requested).where(jobs.c.id == job_id)).scalar()
        status = "cancelled" if asked else ("failed" if error else "done")
        conn.execute(
            jobs.update()
            .where(jobs.c.id == job_id, jobs.c.status.in_(("queued", "running")))
            .values(status=status, error=error, finished_at=now())
        )


@contextlib.contextmanager
def running(engine: sa.Engine, job_id: str) -> Iterator[None]:
    """Beat while the body runs; then record the job done, or failed with the exception's message."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            with contextlib.suppress(Exception), engine.begin() as conn:
                conn.execute(jobs.update().where(jobs.c.id == job_id).values(heartbeat_at=now()))

    thread = threading.Thread(target=beat, name=f"job-heartbeat-{job_id[:8]}", daemon=True)
    thread.start()
    try:
        yield
    except BaseException as exc:
        stop.set()
        finish(engine, job_id, str(exc)[:2000] or type(exc).__name__)
        raise
    else:
        stop.set()
        finish(engine, job_id)
    finally:
        thread.join(timeout=HEARTBEAT_SECONDS)


@contextlib.contextmanager
def exclusive(engine: sa.Engine, kind: str, target: str | None = None) -> Iterator[str]:
    """Do work in the caller's thread as a job of ``kind`` (an import checked in the request):
    started in its own transaction (``Busy`` when its lane is taken, in any process), beating
    while the body runs, recorded done or failed after. The body must not hold a write
    transaction of its own across the end (SQLite: the job's end would wait for it)."""
    with engine.begin() as conn:
        job_id = start(conn, kind, target)
    with running(engine, job_id):
        yield job_id


def started(engine: sa.Engine, kind: str, target: str | None = None, started_by: int | None = None) -> str:
    """A job of ``kind`` started now in its own transaction (work done in the request by a
    service: run it under ``running``), or the refusal 409 ``job.busy`` when its lane is taken
    in any process (the same answer on the web, the API and the command line)."""
    try:
        with engine.begin() as conn:
            return start(conn, kind, target, started_by)
    except Busy as exc:
        raise refusal("conflict", "job.busy", str(exc)) from None


def progress(engine: sa.Engine, run_id: str, label: str) -> None:
    """Record the stage a run is in, in its own transaction (visible while the run goes on), and
    stop it (``Cancelled``) when cancellation was asked."""
    with engine.begin() as conn:
        conn.execute(runs.update().where(runs.c.id == run_id).values(progress=label))
        conn.execute(
            jobs.update()
            .where(jobs.c.target == run_id, jobs.c.status == "running")
            .values(progress=label[:200], heartbeat_at=now())
        )
        asked = conn.execute(
            sa.select(jobs.c.id).where(
                jobs.c.target == run_id, jobs.c.status == "running", jobs.c.cancel_requested.is_(True)
            )
        ).first()
    if asked is not None:
        raise Cancelled()


def step(engine: sa.Engine, job_id: str, label: str) -> None:
    """Record the stage a job is in (work done in the request, an import: ``started``), in
    its own transaction so that a page polling the job sees it, and stop the work
    (``Cancelled``) when cancellation was asked. Never call it inside a write transaction of the
    work (SQLite: it would wait for that transaction's lock)."""
    with engine.begin() as conn:
        conn.execute(
            jobs.update()
            .where(jobs.c.id == job_id, jobs.c.status == "running")
            .values(progress=label[:200], heartbeat_at=now())
        )
        asked = conn.execute(sa.select(jobs.c.cancel_requested).where(jobs.c.id == job_id)).scalar()
    if asked:
        raise Cancelled()


def running_job(conn: sa.Connection, lane: str) -> dict[str, object] | None:
    """The job running in ``lane`` now, in any process (its kind, stage and start), or None:
    what an import page shows (no owner, no target: an upload's token stays its uploader's), with
    its id and who started it (whether the page offers to cancel it)."""
    columns = (jobs.c.id, jobs.c.kind, jobs.c.progress, jobs.c.started_at, jobs.c.started_by)
    cutoff = now() - dt.timedelta(seconds=STALE_SECONDS)
    query = (
        sa.select(*columns)
        .where(jobs.c.lane == lane, jobs.c.status == "running", jobs.c.heartbeat_at >= cutoff)
        .limit(1)
    )
    row = conn.execute(query).mappings().first()
    return None if row is None else dict(row)


def cancel(conn: sa.Connection, target: str) -> str | None:
    """Ask the job working on ``target`` to stop: a queued job is cancelled at once, a running one
    at its next stage. Returns the job's status after the request, None when no job is unfinished."""
    row = conn.execute(
        sa.select(jobs.c.id, jobs.c.status, jobs.c.kind)
        .where(jobs.c.target == target, jobs.c.status.in_(("queued", "running")))
        .limit(1)
    ).first()
    if row is None:
        return None
    if row.status == "queued":
        conn.execute(
            jobs.update()
            .where(jobs.c.id == row.id)
            .values(status="cancelled", cancel_requested=True, finished_at=now())
        )
        _fail_target(conn, row.kind, target, CANCELLED)
        return "cancelled"
    conn.execute(jobs.update().where(jobs.c.id == row.id).values(cancel_requested=True))
    return "running"


def cancel_job(conn: sa.Connection, job_id: str) -> str | None:
    """Ask the running job ``job_id`` to stop (work done in the request, an import): it stops
    at its next ``step`` and is recorded ``cancelled``. Its status after the request, or None."""
    changed = conn.execute(
        jobs.update().where(jobs.c.id == job_id, jobs.c.status == "running").values(cancel_requested=True)
    )
    return "running" if changed.rowcount else None


def job_of(conn: sa.Connection, target: str) -> dict[str, object] | None:
    """The latest job working on ``target`` (status, progress, owner, times), or None."""
    row = (
        conn.execute(
            sa.select(jobs).where(jobs.c.target == target).order_by(jobs.c.created_at.desc()).limit(1)
        )
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


class Jobs:
    """This process's runner of queued jobs of one kind: each waits for its lane (which another
    process may hold), runs in a background thread, and records its end in ``jobs``."""

    def __init__(
        self, engine: sa.Engine, var_dir: Path, work: Work, name: str = "shidian-run", kind: str = "drg.run"
    ):
        self.engine = engine
        self.var_dir = var_dir
        self.work = work
        self.name = name
        self.kind = kind
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self.futures: dict[str, Future[None]] = {}

    def submit(self, target: str) -> Future[None]:
        """Queue the job of ``target`` (its run row must be committed); RuntimeError once shut down."""
        with self._lock:
            if self._closing.is_set():
                raise RuntimeError("cannot schedule new futures after shutdown")
            with self.engine.begin() as conn:
                job_id = enqueue(conn, self.kind, target)
            future = self._pool.submit(self._run, job_id, target)
            self.futures[target] = future
            return future

    def _run(self, job_id: str, target: str) -> None:
        while True:
            claimed = claim(self.engine, job_id)
            if claimed is None:  # cancelled while queued
                return
            if claimed:
                break
            if self._closing.wait(POLL_SECONDS):  # shutting down: the job never started
                with self.engine.begin() as conn:
                    _fail_jobs(conn, _queued_row(conn, job_id))
                return
        with running(self.engine, job_id):
            self.work(self.engine, self.var_dir, target)

    def shutdown(self) -> None:
        """Take no more jobs; fail those still waiting for their lane; wait for the running one."""
        self._closing.set()
        self._pool.shutdown(wait=True)

    def fresh(self) -> Jobs:
        """A new runner for the same work (the app's runner after a shutdown)."""
        return Jobs(self.engine, self.var_dir, self.work, self.name, self.kind)


def _queued_row(conn: sa.Connection, job_id: str) -> Sequence[Any]:
    query = sa.select(jobs.c.id, jobs.c.kind, jobs.c.target).where(
        jobs.c.id == job_id, jobs.c.status == "queued"
    )
    return conn.execute(query).all()


def fail_interrupted_runs(conn: sa.Connection) -> list[str]:
    """Fail every job left queued or running by a stopped server, and every DRG or insurance run
    left unfinished (with or without a job); returns the runs' ids.

    ``shidian serve`` calls this once, before it starts its worker processes (one server per
    database): no job can be running then.
    """
    left = conn.execute(
        sa.select(jobs.c.id, jobs.c.kind, jobs.c.target).where(jobs.c.status.in_(("queued", "running")))
    ).all()
    failed = _fail_jobs(conn, left)
    for kind, (table, unfinished) in _TARGET_ROWS.items():
        stuck = conn.execute(sa.select(table.c.id).where(table.c.status.in_(unfinished))).scalars()
        failed.extend(str(run_id) for run_id in stuck if _fail_target(conn, kind, str(run_id), INTERRUPTED))
    return failed
