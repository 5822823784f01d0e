"""One job mechanism for long work (issue 22 finding 7), on SQLite and PostgreSQL: one run at a
time across server processes, a process killed mid-run recovered at start-up (and by the next
claim once its heartbeat stops), progress and cancellation — and over HTTP: a DRG run queued
behind another is cancelled, an insurance run while another runs answers 409."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from shidian.platform import clock, jobs
from shidian.platform.db.engine import make_engine, upgrade
from shidian.platform.db.insurance_schema import insurance_runs
from shidian.platform.db.schema import datasets, runs
from shidian.platform.db.schema import jobs as jobs_table
from tests.web.conftest import fresh_database

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database of its own (jobs left running would block a shared one)."""
    with fresh_database(request.param, tmp_path, "shidian_jobs") as url:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url


def test_two_server_processes_never_run_two_runs_at_once(db_url: str, tmp_path: Path):
    """Two runners on two engines (two worker processes: each its own connections) share one lane."""
    intervals: list[tuple[float, float]] = []
    guard = threading.Lock()

    def work(engine: sa.Engine, var_dir: Path, target: str) -> None:
        start = time.monotonic()
        time.sleep(0.3)
        with guard:
            intervals.append((start, time.monotonic()))

    engines = [make_engine(db_url), make_engine(db_url)]
    runners = [jobs.Jobs(e, tmp_path, work, kind="drg.run") for e in engines]
    futures = [runner.submit(uuid.uuid4().hex) for runner in runners for _ in range(2)]
    for future in futures:
        future.result(timeout=60)
    for runner, engine in zip(runners, engines, strict=True):
        runner.shutdown()
        engine.dispose()
    assert len(intervals) == 4
    ordered = sorted(intervals)
    assert all(earlier[1] <= later[0] for earlier, later in itertools.pairwise(ordered))
    engine = make_engine(db_url)
    with engine.connect() as conn:
        statuses = conn.execute(sa.select(jobs_table.c.status)).scalars().all()
    engine.dispose()
    assert statuses == ["done"] * 4


KILLED = """
import os, signal, sys, datetime as dt
import sqlalchemy as sa
from shidian.platform import clock, jobs
from shidian.platform.db.engine import make_engine
from shidian.platform.db.schema import datasets
from shidian.platform.db.insurance_schema import insurance_runs
engine = make_engine(sys.argv[1])
now = clock.now()
with engine.begin() as conn:
    job = jobs.start(conn, "insurance.run", None)
    conn.execute(datasets.insert().values(id="d" * 32, domain="insurance", name="x", year=2010,
                                          uploaded_at=now, manifest={}))
    conn.execute(insurance_runs.insert().values(id="r" * 32, dataset_id="d" * 32, year=2010,
                                                policy_id="county-2010", status="running", created_at=now))
    jobs.set_target(conn, job, "r" * 32)
with jobs.running(engine, job):
    os.kill(os.getpid(), signal.SIGKILL)  # kill -9 in the middle of the run
"""


def _killed_insurance_run(db_url: str) -> None:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    done = subprocess.run([sys.executable, "-c", KILLED, db_url], env=env, capture_output=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]


def _insurance_run(engine: sa.Engine) -> dict[str, object]:
    with engine.connect() as conn:
        return dict(
            conn.execute(sa.select(insurance_runs).where(insurance_runs.c.id == "r" * 32)).mappings().one()
        )


def test_an_insurance_run_killed_mid_way_is_failed_at_start_up(db_url: str):
    _killed_insurance_run(db_url)
    engine = make_engine(db_url)
    assert _insurance_run(engine)["status"] == "running"  # what the finding saw after the restart
    with engine.begin() as conn, pytest.raises(jobs.Busy):  # its heartbeat is fresh: the lane is held
        jobs.start(conn, "insurance.run", None)
    with engine.begin() as conn:  # shidian serve, at start-up
        assert jobs.fail_interrupted_runs(conn) == ["r" * 32]
    run = _insurance_run(engine)
    assert (run["status"], run["error"]) == ("failed", jobs.INTERRUPTED)
    with engine.begin() as conn:  # the lane is free again
        jobs.start(conn, "insurance.run", None)
    engine.dispose()


def test_a_killed_job_whose_heartbeat_stopped_is_failed_by_the_next_claim(db_url: str):
    _killed_insurance_run(db_url)
    engine = make_engine(db_url)
    old = clock.now() - dt.timedelta(seconds=jobs.STALE_SECONDS + 5)
    with engine.begin() as conn:
        conn.execute(jobs_table.update().values(heartbeat_at=old))
    with engine.begin() as conn:  # another worker, without a restart
        jobs.start(conn, "drg.run", None)
    run = _insurance_run(engine)
    assert (run["status"], run["error"]) == ("failed", jobs.INTERRUPTED)
    engine.dispose()


def test_progress_is_recorded_and_a_running_job_stops_at_its_next_stage_when_cancelled(db_url: str):
    engine = make_engine(db_url)
    target = uuid.uuid4().hex
    with engine.begin() as conn:
        job = jobs.start(conn, "drg.run", target)
    jobs.progress(engine, target, "读取输入")
    with engine.begin() as conn:
        assert jobs.job_of(conn, target)["progress"] == "读取输入"  # type: ignore[index]
        assert jobs.cancel(conn, target) == "running"
    with pytest.raises(jobs.Cancelled), jobs.running(engine, job):
        jobs.progress(engine, target, "计算点数")
    with engine.connect() as conn:
        assert jobs.job_of(conn, target)["status"] == "cancelled"  # type: ignore[index]
        assert jobs.cancel(conn, target) is None  # nothing left to cancel
    engine.dispose()


# ---- over HTTP, on the shared app --------------------------------------------------------------------


def _hold_the_lane(app: FastAPI) -> str:
    """A run in another process: a running job of the lane ``runs`` with a fresh heartbeat."""
    with app.state.engine.begin() as conn:
        return jobs.start(conn, "drg.run", "held-" + uuid.uuid4().hex[:8])


def _release(app: FastAPI, job_id: str) -> None:
    jobs.finish(app.state.engine, job_id)


def test_a_drg_run_waits_for_the_running_one_and_can_be_cancelled(web_app: FastAPI, client_for):
    officer = client_for("officer")
    held = _hold_the_lane(web_app)
    try:
        started = officer.post(
            "/api/drg/runs", json={"dataset_id": web_app.state.test_dataset_id, "policy_id": "guigang-2020"}
        )
        assert started.status_code == 201, started.text
        run_id = started.json()["id"]
        time.sleep(jobs.POLL_SECONDS * 2)
        assert officer.get(f"/api/drg/runs/{run_id}").json()["status"] == "queued"  # not two at once
        leader = client_for("leader")
        assert leader.post(f"/api/drg/runs/{run_id}/cancel").status_code == 403
        cancelled = officer.post(f"/api/drg/runs/{run_id}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "failed"
        web_app.state.executor.futures[run_id].result(timeout=30)  # the waiting job gave up
        again = officer.post(f"/api/drg/runs/{run_id}/cancel")
        assert again.status_code == 409 and again.json()["problems"][0]["code"] == "conflict"
    finally:
        _release(web_app, held)
    with web_app.state.engine.connect() as conn:
        run = conn.execute(sa.select(runs.c.status, runs.c.error).where(runs.c.id == run_id)).one()
    assert tuple(run) == ("failed", jobs.CANCELLED)


def test_an_insurance_run_while_another_run_is_running_answers_409(web_app: FastAPI, client_for):
    officer = client_for("officer")
    with web_app.state.engine.connect() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(insurance_runs)).scalar_one()
        dataset = conn.execute(sa.select(datasets.c.id).limit(1)).scalar_one()
    held = _hold_the_lane(web_app)
    try:
        answer = officer.post(
            "/insurance/runs",
            data={"dataset_id": dataset, "csrf_token": officer.headers["X-CSRF-Token"]},
            follow_redirects=False,
        )
    finally:
        _release(web_app, held)
    assert answer.status_code == 409
    assert "另一项结算正在进行" in answer.text
    with web_app.state.engine.connect() as conn:
        after = conn.execute(sa.select(sa.func.count()).select_from(insurance_runs)).scalar_one()
    assert after == before  # nothing recorded


def test_a_large_import_while_another_import_runs_answers_409_and_lands_nothing(web_app: FastAPI, client_for):
    from tests.web.insurance.conftest import county_files

    officer = client_for("officer")
    with web_app.state.engine.begin() as conn:  # an import in another process
        held = jobs.start(conn, "insurance.import", None)
        before = conn.execute(sa.select(sa.func.count()).select_from(datasets)).scalar_one()
    try:
        answer = officer.post(
            "/insurance/imports",
            data={"name": "并发", "policy_id": "county-2010", "csrf_token": officer.headers["X-CSRF-Token"]},
            files=[("files", (name, content, "text/csv")) for name, content in county_files()],
            follow_redirects=False,
        )
    finally:
        _release(web_app, held)
    assert answer.status_code == 409 and "另一项" in answer.text
    with web_app.state.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(datasets)).scalar_one() == before
        done = conn.execute(sa.select(jobs_table.c.status).where(jobs_table.c.id == held)).scalar_one()
    assert done == "done"
