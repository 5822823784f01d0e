"""Cancelling an import (issue 22 finding 7: cancellation of long work): a DRG or registry import
running in the request stops at its next stage once its importer (or an administrator) asks,
lands nothing — no dataset row, no files, no patient — and its job is recorded ``cancelled``;
on both databases. Over HTTP: the import pages offer the button to the importer and an
administrator only, the route needs the CSRF token, and anyone else gets the answer an unknown
job gets (404)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shidian.drg.service import import_uploads
from shidian.drg.service.datasets import Upload
from shidian.platform import jobs
from shidian.platform.accounts import User, create_user, get_user
from shidian.platform.db.engine import make_engine
from shidian.platform.db.registry_schema import registry_patients
from shidian.platform.db.schema import audit_events, datasets, users
from shidian.platform.db.schema import jobs as jobs_table
from shidian.platform.import_jobs import cancel_import
from shidian.problems import Refused
from shidian.registry import service as registry
from tests.web import test_jobs
from tests.web.test_import_jobs import KEYS, _count, _jobs, _registry_file, _uploads, _users

db_url = test_jobs.db_url  # a fresh, migrated database of its own, SQLite and PostgreSQL


def _admin(engine: sa.Engine) -> User:
    with engine.begin() as conn:
        unit = conn.execute(sa.text("select id from units where code = 'BUREAU'")).scalar_one()
        user = get_user(conn, create_user(conn, "boss", "secret-pass-2020", "admin", unit, "管理员"))
    assert user is not None
    return user


def _paused(
    run: Callable[[], object],
) -> tuple[threading.Thread, threading.Event, threading.Event, list[object]]:
    """``run`` in a thread; the caller's patch sets ``reached`` and waits for ``release``."""
    reached, release = threading.Event(), threading.Event()
    outcome: list[object] = []

    def body() -> None:
        try:
            outcome.append(run())
        except BaseException as exc:  # the outcome to check
            outcome.append(exc)

    return threading.Thread(target=body), reached, release, outcome


def test_a_cancelled_drg_import_lands_nothing_and_its_job_is_cancelled(db_url: str, tmp_path: Path):
    engine, other = make_engine(db_url), make_engine(db_url)  # the import, another server process
    people, var_dir = _users(engine), tmp_path / "var"
    thread, reached, release, outcome = _paused(
        lambda: import_uploads(engine, people["officer"], var_dir, files, "取消")
    )

    def slow(read: Callable[[], bytes]) -> Callable[[], bytes]:
        def wait_then_read() -> bytes:
            reached.set()
            assert release.wait(30)
            return read()

        return wait_then_read

    files = [Upload(u.filename, u.size, slow(u.read)) for u in _uploads()]
    thread.start()
    try:
        assert reached.wait(30)
        with other.begin() as conn:
            running = jobs.running_job(conn, "imports")
            assert running is not None and running["started_by"] == people["officer"].id
            job_id = str(running["id"])
            with pytest.raises(Refused) as refused:  # not the importer: as if there were no such job
                cancel_import(conn, people["doc"], job_id)
            assert refused.value.reason == "not_found"
            assert cancel_import(conn, people["officer"], job_id) == "drg.import"
    finally:
        release.set()
        thread.join(60)
    assert len(outcome) == 1 and isinstance(outcome[0], jobs.Cancelled)
    assert _count(engine, datasets) == 0
    assert not (var_dir / "datasets").exists() or not any((var_dir / "datasets").iterdir())
    assert not (var_dir / "uploads").exists() or not any((var_dir / "uploads").iterdir())
    assert not any((var_dir / "staging").iterdir())
    (job,) = _jobs(engine)
    assert (job["kind"], job["status"], job["cancel_requested"]) == ("drg.import", "cancelled", True)
    with engine.connect() as conn:
        audited = conn.execute(
            sa.select(audit_events.c.target).where(audit_events.c.action == "jobs.import_cancelled")
        ).scalars()
        assert list(audited) == [f"job/{job['id']}"]
    # the lane is free again: the same files import
    dataset, problems = import_uploads(engine, people["officer"], var_dir, _uploads(), "再导入")
    assert problems == [] and dataset is not None
    other.dispose()
    engine.dispose()


def test_an_administrator_cancels_a_registry_import_that_lands_nothing(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    engine, other = make_engine(db_url), make_engine(db_url)
    people = _users(engine)
    admin = _admin(engine)
    path = _registry_file(tmp_path, 3)
    thread, reached, release, outcome = _paused(
        lambda: registry.import_registry(engine, KEYS, people["doc"], path, "名册.csv")
    )
    read = registry.imports.read_registry

    def slow_read(*args: object, **kwargs: object) -> object:
        reached.set()
        assert release.wait(30)
        return read(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("shidian.registry.service.imports.read_registry", slow_read)
    thread.start()
    try:
        assert reached.wait(30)
        with other.begin() as conn:
            running = jobs.running_job(conn, "imports")
            assert running is not None
            assert cancel_import(conn, admin, str(running["id"])) == "registry.import"
    finally:
        release.set()
        thread.join(60)
    assert len(outcome) == 1 and isinstance(outcome[0], jobs.Cancelled)
    assert _count(engine, registry_patients) == 0
    (job,) = _jobs(engine)
    assert (job["kind"], job["status"]) == ("registry.import", "cancelled")
    with other.begin() as conn, pytest.raises(Refused):  # finished: nothing left to cancel
        cancel_import(conn, admin, str(job["id"]))
    other.dispose()
    engine.dispose()


def _user_id(app: FastAPI, username: str) -> int:
    with app.state.engine.connect() as conn:
        return int(conn.execute(sa.select(users.c.id).where(users.c.username == username)).scalar_one())


def test_the_import_page_cancels_the_importers_running_import(
    web_app: FastAPI, client_for: Callable[[str], TestClient]
):
    engine = web_app.state.engine
    officer, admin = client_for("officer"), client_for("admin")
    held = jobs.started(engine, "drg.import", None, _user_id(web_app, "officer"))
    try:
        jobs.step(engine, held, "读取并校验 5 个文件")
        page = officer.get("/drg/imports")
        assert 'id="import-running"' in page.text and f'action="/imports/{held}/cancel"' in page.text
        assert 'id="import-cancel"' in admin.get("/drg/imports").text  # an administrator may too
        no_csrf = TestClient(web_app, cookies=officer.cookies).post(
            f"/imports/{held}/cancel", data={"back": "/drg/imports"}
        )
        assert no_csrf.status_code == 403
        leader = client_for("leader")  # neither the importer nor an administrator: as if unknown
        assert leader.post(f"/imports/{held}/cancel", data={"back": "/drg/imports"}).status_code == 404
        unknown = officer.post(f"/imports/{'0' * 32}/cancel", data={"back": "/drg/imports"})
        assert unknown.status_code == 404
        with engine.connect() as conn:
            asked = conn.execute(sa.select(jobs_table.c.cancel_requested).where(jobs_table.c.id == held))
            assert asked.scalar_one() is False
        done = officer.post(f"/imports/{held}/cancel", data={"back": "/drg/imports"}, follow_redirects=False)
        assert done.status_code == 303 and done.headers["location"] == "/drg/imports?cancelled=1"
        assert 'id="import-cancelled"' in officer.get("/drg/imports?cancelled=1").text
        with pytest.raises(jobs.Cancelled):  # the import stops at its next stage
            jobs.step(engine, held, "登记数据集")
    finally:
        jobs.finish(engine, held)
    with engine.connect() as conn:
        status = conn.execute(sa.select(jobs_table.c.status).where(jobs_table.c.id == held)).scalar_one()
    assert status == "cancelled"
