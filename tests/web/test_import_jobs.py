"""DRG and registry imports go through the one job mechanism (issue 22 finding 7), on SQLite and
PostgreSQL: one import at a time across server processes (a second is refused, 409 job.busy, and
lands nothing), its stages visible while it runs, and an import killed mid-way (kill -9) leaves a
running job that the next start-up fails — with nothing of it kept: no dataset row, no files, no
patient — after which imports work again. Over HTTP: the DRG page and API, the registry API."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shidian.drg import store
from shidian.drg.service import check_upload, import_uploads, recover_imports
from shidian.drg.service.datasets import Upload
from shidian.insurance.id_number import check_char
from shidian.platform import clock, jobs
from shidian.platform.accounts import User, create_unit, create_user, get_user
from shidian.platform.crypto import DataKeys
from shidian.platform.db.engine import make_engine
from shidian.platform.db.registry_schema import registry_doctor_areas, registry_patients
from shidian.platform.db.schema import datasets, sessions
from shidian.platform.db.schema import jobs as jobs_table
from shidian.problems import Refused
from shidian.registry import service as registry
from tests.conftest import HANDWORKED
from tests.web import test_jobs

ROOT = Path(__file__).resolve().parents[2]
KEYS = DataKeys.from_secret("k" * 48)
VILLAGE = "450881100001"

db_url = test_jobs.db_url  # a fresh, migrated database of its own, SQLite and PostgreSQL


def _users(engine: sa.Engine) -> dict[str, User]:
    """A settlement officer (DRG imports) and a doctor assigned one village (registry imports)."""
    with engine.begin() as conn:
        bureau = create_unit(conn, "BUREAU", "医疗保障局", "bureau")
        county = create_unit(conn, "450881", "桂平市", "county")
        town = create_unit(conn, "450881100", "平南镇", "township", parent_id=county)
        village = create_unit(conn, VILLAGE, "东村", "village", parent_id=town)
        officer = create_user(conn, "officer", "secret-pass-2020", "settlement_officer", bureau, "经办")
        doctor = create_user(conn, "doc", "secret-pass-2020", "mental_health_doctor", town, "医生")
        conn.execute(registry_doctor_areas.insert().values(user_id=doctor, unit_id=village))
        found = {name: get_user(conn, user_id) for name, user_id in (("officer", officer), ("doc", doctor))}
    return {name: user for name, user in found.items() if user is not None}


def _uploads(folder: Path = HANDWORKED) -> list[Upload]:
    return [Upload(p.name, p.stat().st_size, p.read_bytes) for p in sorted(folder.iterdir())]


def _registry_file(tmp_path: Path, rows: int) -> Path:
    lines = ["姓名,身份证号,村代码,诊断编码,登记日期"]
    for n in range(1, rows + 1):
        first17 = f"45082119800101{n:03d}"
        lines.append(f"患者{n},{first17 + check_char(first17)},{VILLAGE},F20,2020-03-01")
    path = tmp_path / "名册.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _jobs(engine: sa.Engine) -> list[dict[str, object]]:
    with engine.connect() as conn:
        query = sa.select(jobs_table).order_by(jobs_table.c.created_at)
        return [dict(r) for r in conn.execute(query).mappings()]


def _count(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_an_import_while_another_import_runs_is_refused_and_lands_nothing(db_url: str, tmp_path: Path):
    engine = make_engine(db_url)
    users, var_dir = _users(engine), tmp_path / "var"
    other = make_engine(db_url)  # another server process, importing insurance data
    with other.begin() as conn:
        held = jobs.start(conn, "insurance.import", None)
    for attempt in (
        lambda: import_uploads(engine, users["officer"], var_dir, _uploads(), "二"),
        lambda: check_upload(engine, users["officer"], var_dir, _uploads(), "二"),
        lambda: registry.import_registry(engine, KEYS, users["doc"], _registry_file(tmp_path, 2), "名册.csv"),
    ):
        with pytest.raises(Refused) as refused:
            attempt()
        assert refused.value.reason == "conflict"
        assert [p.code for p in refused.value.problems] == ["job.busy"]
        assert "另一项数据导入正在进行" in refused.value.problems[0].message
    assert (_count(engine, datasets), _count(engine, registry_patients)) == (0, 0)
    assert not (var_dir / "uploads").exists() and not (var_dir / "datasets").exists()
    assert [j["status"] for j in _jobs(engine)] == ["running"]  # the refused ones never started
    jobs.finish(other, held)
    dataset, problems = import_uploads(engine, users["officer"], var_dir, _uploads(), "二")
    assert problems == [] and dataset is not None and dataset["manifest"]["cases"] == 12
    imported, problems = registry.import_registry(
        engine, KEYS, users["doc"], _registry_file(tmp_path, 2), "名册.csv"
    )
    assert (imported, problems) == (2, [])
    assert [(j["kind"], j["status"]) for j in _jobs(engine)] == [
        ("insurance.import", "done"),
        ("drg.import", "done"),
        ("registry.import", "done"),
    ]
    other.dispose()
    engine.dispose()


def test_an_imports_stage_is_visible_to_other_processes_while_it_runs(db_url: str, tmp_path: Path):
    engine, watcher = make_engine(db_url), make_engine(db_url)
    users, var_dir = _users(engine), tmp_path / "var"
    reading, release = threading.Event(), threading.Event()

    def slow(read: Callable[[], bytes]) -> Callable[[], bytes]:
        def wait_then_read() -> bytes:
            reading.set()
            assert release.wait(30)
            return read()

        return wait_then_read

    files = [Upload(u.filename, u.size, slow(u.read)) for u in _uploads()]
    outcome: list[object] = []
    worker = threading.Thread(
        target=lambda: outcome.append(import_uploads(engine, users["officer"], var_dir, files, "慢")[0])
    )
    worker.start()
    try:
        assert reading.wait(30)
        with watcher.connect() as conn:
            seen = jobs.running_job(conn, "imports")
            shown = registry.import_running(conn, users["doc"])
        assert seen is not None and seen == shown
        assert seen["kind"] == "drg.import"
        assert str(seen["progress"]).startswith("读取并校验 5 个文件")
        assert set(seen) == {"id", "kind", "progress", "started_at", "started_by"}  # no owner, no token
        assert seen["started_by"] == users["officer"].id  # who may cancel it
    finally:
        release.set()
        worker.join(60)
    assert outcome and outcome[0] is not None
    (job,) = _jobs(engine)
    assert (job["status"], job["progress"]) == ("done", "登记数据集 (recording the dataset)")
    with watcher.connect() as conn:
        assert jobs.running_job(conn, "imports") is None
    watcher.dispose()
    engine.dispose()


KILLED_DRG = """
import os, signal, sys
from pathlib import Path
from shidian.drg import store
from shidian.drg.service import import_uploads
from shidian.drg.service.datasets import Upload
from shidian.platform.accounts import get_user
from shidian.platform.db.engine import make_engine

engine, var_dir, folder = make_engine(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
with engine.connect() as conn:
    user = get_user(conn, int(sys.argv[4]))
insert = store.insert_dataset

def killed(*args, **kwargs):
    insert(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)  # kill -9 once the files moved and the row is written

store.insert_dataset = killed
import_uploads(engine, user, var_dir, [Upload(p.name, 0, p.read_bytes) for p in sorted(folder.iterdir())], "x")
"""

KILLED_REGISTRY = """
import os, signal, sys
from pathlib import Path
from shidian.platform.accounts import get_user
from shidian.platform.crypto import DataKeys
from shidian.platform.db.engine import make_engine
from shidian.registry.service import imports

engine, path = make_engine(sys.argv[1]), Path(sys.argv[2])
with engine.connect() as conn:
    user = get_user(conn, int(sys.argv[3]))
save, saved = imports.save_patient, []

def killed(*args, **kwargs):
    saved.append(save(*args, **kwargs))
    if len(saved) == 2:
        os.kill(os.getpid(), signal.SIGKILL)  # kill -9 with two of three patients registered

imports.save_patient = killed
imports.import_registry(engine, DataKeys.from_secret("k" * 48), user, path, path.name)
"""


def _killed(script: str, *args: object) -> None:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    command = [sys.executable, "-c", script, *map(str, args)]
    done = subprocess.run(command, env=env, capture_output=True, timeout=180)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]


def _stale(engine: sa.Engine) -> None:
    """The killed process's heartbeat, as old as a dead process's gets."""
    old = clock.now() - dt.timedelta(seconds=jobs.STALE_SECONDS + 5)
    with engine.begin() as conn:
        conn.execute(jobs_table.update().values(heartbeat_at=old))


def test_a_drg_import_killed_while_landing_is_failed_at_start_up_and_nothing_of_it_is_kept(
    db_url: str, tmp_path: Path
):
    engine = make_engine(db_url)
    users, var_dir = _users(engine), tmp_path / "var"
    _killed(KILLED_DRG, db_url, var_dir, HANDWORKED, users["officer"].id)
    (job,) = _jobs(engine)
    assert (job["kind"], job["status"]) == ("drg.import", "running")  # what a restart finds
    landed = [p for p in (var_dir / "datasets").iterdir()]
    assert len(landed) == 1 and _count(engine, datasets) == 0  # files moved, row rolled back
    with pytest.raises(Refused):  # its heartbeat is fresh: the lane is held
        check_upload(engine, users["officer"], var_dir, _uploads(), "x")
    with engine.begin() as conn:  # shidian serve, at start-up
        assert jobs.fail_interrupted_runs(conn) == []  # no run: an import has no run row
        assert recover_imports(conn, var_dir) == 1
        assert recover_imports(conn, var_dir) == 0
    (job,) = _jobs(engine)
    assert (job["status"], job["error"]) == ("failed", jobs.INTERRUPTED_IMPORT)
    assert job["progress"] == "登记数据集 (recording the dataset)"  # the stage it stopped at
    assert list((var_dir / "datasets").iterdir()) == []
    assert [p for p in (var_dir / "uploads").iterdir()] == []  # the staged upload is gone too
    dataset, problems = import_uploads(engine, users["officer"], var_dir, _uploads(), "再导入")
    assert problems == [] and dataset is not None
    with engine.begin() as conn:  # a landed dataset is never touched by the recovery
        assert recover_imports(conn, var_dir) == 0
        assert store.get_dataset(conn, dataset["id"]) is not None
    assert (var_dir / "datasets" / dataset["id"] / "cases.csv").is_file()
    engine.dispose()


def test_a_registry_import_killed_mid_way_registers_nobody_and_its_job_is_failed(db_url: str, tmp_path: Path):
    engine = make_engine(db_url)
    users = _users(engine)
    path = _registry_file(tmp_path, 3)
    _killed(KILLED_REGISTRY, db_url, path, users["doc"].id)
    (job,) = _jobs(engine)
    assert (job["kind"], job["status"]) == ("registry.import", "running")
    assert _count(engine, registry_patients) == 0  # its transaction never committed
    _stale(engine)  # another worker, without a restart: the next claim of the lane fails it
    imported, problems = registry.import_registry(engine, KEYS, users["doc"], path, path.name)
    assert (imported, problems) == (3, [])
    first, again = _jobs(engine)
    assert (first["status"], first["error"]) == ("failed", jobs.INTERRUPTED_IMPORT)
    assert str(first["progress"]).startswith("校验并登记 3 行")
    assert again["status"] == "done"
    assert _count(engine, registry_patients) == 3
    engine.dispose()


# ---- over HTTP, on the shared app --------------------------------------------------------------------


def _hold_imports(app: FastAPI, stage: str) -> str:
    """An import in another process: a running job of the lane ``imports`` at ``stage``."""
    held = jobs.started(app.state.engine, "insurance.import")
    jobs.step(app.state.engine, held, stage)
    return held


def test_a_drg_import_while_another_runs_answers_409_and_the_page_shows_the_running_one(
    web_app: FastAPI, client_for: Callable[[str], TestClient]
):
    officer = client_for("officer")
    files = [("files", (p.name, p.read_bytes(), "text/csv")) for p in sorted(HANDWORKED.iterdir())]
    before = _count(web_app.state.engine, datasets)
    held = _hold_imports(web_app, "校验参合人员")
    try:
        page = officer.get("/drg/imports")
        assert page.status_code == 200
        assert 'id="import-running"' in page.text and "校验参合人员" in page.text
        api = officer.post("/api/drg/imports", data={"name": "并发"}, files=files)
        assert api.status_code == 409, api.text
        assert api.json()["problems"][0]["code"] == "job.busy"
        check = officer.post(
            "/drg/imports/check",
            data={"name": "并发", "csrf_token": officer.headers["X-CSRF-Token"]},
            files=files,
        )
        assert check.status_code == 409 and "另一项数据导入正在进行" in check.text
        swapped = officer.post(  # the page's HTMX form swaps only 2xx answers: said in the report's place
            "/drg/imports/check",
            data={"name": "并发", "csrf_token": officer.headers["X-CSRF-Token"]},
            files=files,
            headers={"HX-Request": "true"},
        )
        assert swapped.status_code == 200 and 'id="import-busy-report"' in swapped.text
        assert 'data-code="job.busy"' in swapped.text and "import-preview" not in swapped.text
    finally:
        jobs.finish(web_app.state.engine, held)
    assert _count(web_app.state.engine, datasets) == before
    assert 'id="import-running"' not in officer.get("/drg/imports").text


def test_an_import_by_a_session_due_for_its_touch_does_not_wait_for_the_requests_own_lock(
    web_app: FastAPI, client_for: Callable[[str], TestClient]
):
    """The import works in transactions of its own: the request's session touch (once a minute)
    is committed at once, so on SQLite the import never waits 30 s for it ("database is locked")."""
    officer = client_for("officer")
    with web_app.state.engine.begin() as conn:  # the session was last seen two minutes ago
        conn.execute(sessions.update().values(last_seen_at=clock.now() - dt.timedelta(seconds=120)))
    files = [("files", (p.name, p.read_bytes(), "text/csv")) for p in sorted(HANDWORKED.iterdir())]
    answer = officer.post("/api/drg/imports", data={"name": "touch"}, files=files)
    assert answer.status_code == 201, answer.text
    with web_app.state.engine.connect() as conn:
        seen = conn.execute(sa.select(sa.func.max(sessions.c.last_seen_at))).scalar_one()
    seen = seen if seen.tzinfo else seen.replace(tzinfo=dt.UTC)
    assert clock.now() - seen < dt.timedelta(seconds=60)  # touched, and committed


def test_shidian_serve_fails_the_interrupted_import_and_removes_its_files_before_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The start-up path itself (``shidian serve``, uvicorn stubbed): the job a killed process left
    running is failed, and the folder its DRG import had moved without a row is removed."""
    import uvicorn
    from typer.testing import CliRunner

    from shidian.cli import app
    from shidian.drg.uploads import MARK
    from shidian.platform.db.engine import upgrade

    url, var_dir = f"sqlite:///{tmp_path / 'serve.db'}", tmp_path / "var"
    for name, value in (("DATABASE_URL", url), ("VAR_DIR", str(var_dir)), ("SECRET_KEY", "s" * 48)):
        monkeypatch.setenv(f"SHIDIAN_{name}", value)
    engine = make_engine(url)
    upgrade(engine)
    token = "ab" * 16
    jobs.started(engine, "drg.import", token)  # left running by a killed process
    landed = var_dir / "datasets" / ("cd" * 16)
    landed.mkdir(parents=True)
    (landed / MARK).write_text(token, encoding="utf-8")
    (landed / "cases.csv").write_text("case_id\n", encoding="utf-8")
    served: list[str] = []
    monkeypatch.setattr(uvicorn, "run", lambda target, **_: served.append(target))
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 0, result.output
    assert served == ["shidian.web.main:app"]
    assert "interrupted imports removed" in result.output
    (job,) = _jobs(engine)
    assert (job["status"], job["error"]) == ("failed", jobs.INTERRUPTED_IMPORT)
    assert not landed.exists()
    engine.dispose()
