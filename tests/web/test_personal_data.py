"""Personal data stays out of logs and temporary files (issue 22 finding 6), on both databases:
uploads are staged inside the data directory (never the system's temporary directory), removed
when refused or when the check crashes, swept at start-up; a failed statement's message (what a
traceback logs) carries none of its values — no argon2 hash, no name."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from shidian.platform.accounts import create_user
from shidian.platform.db.schema import users
from shidian.platform.files import sweep_staging
from shidian.platform.settings import Settings
from shidian.web.app import STAGING_MAX_AGE_SECONDS, create_app
from tests.web.conftest import PASSWORD, handworked_files
from tests.web.insurance.conftest import county_files


def staged(app: FastAPI) -> list[str]:
    root = app.state.settings.var_dir / "staging"
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The system's temporary directory, watched: the app must leave nothing there."""
    folder = tmp_path / "system-tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _multipart(files: list[tuple[str, bytes]]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (name, content, "application/octet-stream")) for name, content in files]


def test_a_refused_drg_upload_leaves_no_staging_folder_anywhere(web_app, client_for, private_tmp):
    officer = client_for("officer")
    files = dict(handworked_files())
    files["hospitals.csv"] = files["hospitals.csv"].replace(b"H1,", b"H1,,", 1)
    answer = officer.post("/api/drg/imports", data={"name": "坏"}, files=_multipart(list(files.items())))
    assert answer.status_code == 422
    assert staged(web_app) == [] and list(private_tmp.iterdir()) == []


def test_a_check_that_crashes_removes_its_staging_folder(web_app, client_for, private_tmp, monkeypatch):
    def crash(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the reader failed")

    monkeypatch.setattr("shidian.drg.uploads.read_inputs", crash)
    monkeypatch.setattr("shidian.insurance.service.datasets.read_inputs", crash)
    officer = client_for("officer")
    with pytest.raises(RuntimeError):
        officer.post("/api/drg/imports", data={"name": "x"}, files=_multipart(handworked_files()))
    with pytest.raises(RuntimeError):
        officer.post(
            "/insurance/imports",
            data={"name": "x", "policy_id": "county-2010", "csrf_token": officer.headers["X-CSRF-Token"]},
            files=[("files", (name, content, "text/csv")) for name, content in county_files()],
        )
    assert staged(web_app) == [] and list(private_tmp.iterdir()) == []


def test_what_a_crash_left_is_swept_at_start_up(tmp_path: Path):
    var_dir = tmp_path / "var"
    root = var_dir / "staging"
    for name in ("shidian-insurance-old", "shidian-upload-new"):
        (root / name).mkdir(parents=True)
        (root / name / "persons.csv").write_text("person_id,id_number,name\nP1,450821198001010011,张三\n")
    old = time.time() - STAGING_MAX_AGE_SECONDS - 60
    os.utime(root / "shidian-insurance-old", (old, old))
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", var_dir=var_dir, secret_key="x" * 48
    )
    app = create_app(settings)  # a worker: only what no other worker can be using
    app.state.engine.dispose()
    assert sorted(p.name for p in root.iterdir()) == ["shidian-upload-new"]
    assert sweep_staging(var_dir) == 1  # shidian serve, before its workers: everything
    assert list(root.iterdir()) == []


def test_a_failed_statement_names_none_of_its_values(web_app: FastAPI):
    with web_app.state.engine.begin() as conn:
        unit = conn.execute(sa.select(users.c.unit_id).limit(1)).scalar_one()
        create_user(conn, "hash_leak_probe", PASSWORD, "leader", unit, "张三丰")
    row = {
        "username": "hash_leak_probe",  # a duplicate: the insert fails
        "display_name": "张三丰",
        "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2VjcmV0$c2VjcmV0",
        "role": "leader",
        "unit_id": unit,
        "active": True,
        "created_at": sa.func.now(),
        "password_changed_at": sa.func.now(),
    }
    with pytest.raises(sa.exc.IntegrityError) as failed, web_app.state.engine.begin() as conn:
        conn.execute(users.insert().values(**row))
    message = str(failed.value)
    assert "$argon2" not in message and "张三丰" not in message
    assert "hidden" in message
