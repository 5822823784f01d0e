"""Background jobs (后台任务): one job at a time per process, its state in the ``runs`` table.

A job is a callable ``work(engine, var_dir, run_id)`` that reads its run row, does the work
and records the outcome in the row (a domain's service, e.g. ``shidian.drg.service.execute_run``).
``Jobs`` runs the submitted jobs one after another in a background thread; ``progress`` lets
the job say which stage it is in (a page polls it). A job runs in a thread of the server process
that created it, so when a server starts no job can still be running: ``fail_interrupted_runs``
marks runs left queued or running by a stopped server as failed (``shidian serve`` calls it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import sqlalchemy as sa

from shidian.platform.clock import now
from shidian.platform.db.schema import runs

#: The work of one job: (engine, var_dir, run id). It records its own outcome in the run's row.
Work = Callable[[sa.Engine, Path, str], None]

INTERRUPTED = "服务停止时结算未完成, 请重新发起 (interrupted when the server stopped; start the run again)"


class Jobs:
    """Runs jobs one at a time in a background thread; state lives in the ``runs`` table."""

    def __init__(self, engine: sa.Engine, var_dir: Path, work: Work, name: str = "shidian-run"):
        self.engine = engine
        self.var_dir = var_dir
        self.work = work
        self.name = name
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._lock = threading.Lock()
        self.futures: dict[str, Future[None]] = {}

    def submit(self, run_id: str) -> Future[None]:
        """Queue the job of ``run_id`` (its row must be committed); RuntimeError once shut down."""
        with self._lock:
            future = self._pool.submit(self.work, self.engine, self.var_dir, run_id)
            self.futures[run_id] = future
            return future

    def shutdown(self) -> None:
        """Take no more jobs and wait for the running one."""
        self._pool.shutdown(wait=True)

    def fresh(self) -> Jobs:
        """A new runner for the same work (the app's runner after a shutdown)."""
        return Jobs(self.engine, self.var_dir, self.work, self.name)


def progress(engine: sa.Engine, run_id: str, label: str) -> None:
    """Record the stage a run is in, in its own transaction (visible while the run goes on)."""
    with engine.begin() as conn:
        conn.execute(runs.update().where(runs.c.id == run_id).values(progress=label))


def fail_interrupted_runs(conn: sa.Connection) -> list[str]:
    """Mark runs left queued or running by a stopped server as failed; returns their ids.

    ``shidian serve`` calls this once, before it starts its worker processes (one server per
    database).
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
