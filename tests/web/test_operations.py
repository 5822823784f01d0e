"""Running the server: runs a stopped server left unfinished, and uploads above the size limit."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from shidian.drg.service import start_run
from shidian.platform import clock
from shidian.platform.accounts import User, get_user
from shidian.platform.db.schema import runs, users
from shidian.platform.jobs import INTERRUPTED, fail_interrupted_runs
from shidian.platform.settings import Settings
from shidian.problems import Refused
from shidian.web.app import create_app
from tests.web.conftest import login


def officer(conn: sa.Connection) -> User:
    user_id = conn.execute(sa.select(users.c.id).where(users.c.username == "officer")).scalar()
    user = get_user(conn, int(user_id))
    assert user is not None
    return user


def test_runs_left_queued_or_running_by_a_stopped_server_are_marked_failed(web_app):
    engine = web_app.state.engine
    with engine.begin() as conn:
        dataset_id = web_app.state.test_dataset_id
        queued = start_run(conn, officer(conn), dataset_id, "guigang-2020", None, "left queued")
        running = start_run(conn, officer(conn), dataset_id, "guigang-2020", None, "left running")
        conn.execute(runs.update().where(runs.c.id == running).values(status="running", progress="读取输入"))
        stuck = fail_interrupted_runs(conn)
    assert {queued, running} <= set(stuck)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(runs).where(runs.c.id.in_((queued, running)))).mappings().all()
        published = conn.execute(
            sa.select(runs.c.status).where(runs.c.id == web_app.state.test_run_id)
        ).scalar()
    assert {r["status"] for r in rows} == {"failed"}
    assert {r["error"] for r in rows} == {INTERRUPTED}
    assert all(r["finished_at"] is not None and r["progress"] is None for r in rows)
    assert published == "published"  # finished runs are left alone
    with engine.begin() as conn:
        assert fail_interrupted_runs(conn) == []


def test_an_upload_above_the_limit_is_refused_with_413_before_it_is_read(web_app, tmp_path):
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'limit.db'}",
        var_dir=tmp_path / "var",
        secret_key="limit-secret-" + "x" * 40,
        max_upload_bytes=64 * 1024,
    )
    app = create_app(settings)
    with app.state.engine.begin() as conn:
        from shidian.platform.accounts import create_unit, create_user
        from tests.web.conftest import PASSWORD

        unit = create_unit(conn, "BUREAU", "医疗保障局", "bureau")
        create_user(conn, "officer", PASSWORD, "settlement_officer", unit)
    officer = login(TestClient(app), "officer")
    big = b"case_id,hospital_id\n" + b"C1,H1\n" * 20_000  # 120 KB > 64 KiB
    response = officer.post("/api/drg/imports", files=[("files", ("cases.csv", big, "text/csv"))])
    assert response.status_code == 413
    body = response.json()
    assert body["ok"] is False and body["problems"][0]["code"] == "upload.too_large"
    # sent without a length (chunked): cut off once it passes the limit, same answer
    chunks = (b"--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"cases.csv\"\r\n\r\n",
              *([b"C1,H1\n" * 1000] * 20), b"\r\n--b--\r\n")  # fmt: skip
    chunked = officer.post(
        "/api/drg/imports", content=iter(chunks), headers={"content-type": "multipart/form-data; boundary=b"}
    )
    assert chunked.status_code == 413
    assert chunked.json()["problems"][0]["code"] == "upload.too_large"
    small = officer.post("/api/drg/imports", files=[("files", ("cases.csv", b"case_id\nC1\n", "text/csv"))])
    assert small.status_code != 413
    app.state.engine.dispose()


def test_times_are_stored_in_utc_and_shown_in_beijing_time():
    import datetime as dt

    from shidian.web.templating import local_time

    # 2020-12-31 16:30 UTC is 2021-01-01 00:30 in Beijing (UTC+8, no daylight saving)
    aware = dt.datetime(2020, 12, 31, 16, 30, tzinfo=dt.UTC)
    assert local_time(aware) == "2021-01-01 00:30"
    assert local_time(aware.replace(tzinfo=None)) == "2021-01-01 00:30"  # SQLite returns naive UTC
    assert local_time(aware, "%H:%M:%S") == "00:30:00"
    assert local_time(dt.date(2020, 6, 1)) == "2020-06-01"  # a date has no time zone
    assert local_time(None) == ""


def test_drg_pages_list_and_run_drg_datasets_only(web_app, client_for):

    import pytest

    from shidian.platform.db.schema import datasets

    with web_app.state.engine.begin() as conn:
        conn.execute(
            datasets.insert().values(
                id="ffffffffffffffffffffffffffff0001", domain="insurance", name="新农合参合数据", year=2020,
                uploaded_at=clock.now(), manifest={},
            )
        )  # fmt: skip
    listed = client_for("officer").get("/api/drg/datasets").json()
    assert "ffffffffffffffffffffffffffff0001" not in {d["id"] for d in listed}
    with web_app.state.engine.begin() as conn, pytest.raises(Refused):
        start_run(
            conn, officer(conn), "ffffffffffffffffffffffffffff0001", "guigang-2020", None, "not a DRG dataset"
        )


def test_read_uploads_refuses_a_file_above_the_routes_limit_and_skips_unnamed_parts():
    """The upload routes are sync (the thread pool): ``read_uploads`` reads the parsed form's
    files with plain reads, from memory or from the temporary file Starlette spooled to disk."""
    import contextlib
    import tempfile

    import pytest
    from fastapi import HTTPException
    from starlette.datastructures import UploadFile

    from shidian.web.fields import read_uploads

    with contextlib.ExitStack() as stack:

        def upload(name: str, content: bytes, in_memory: int) -> UploadFile:
            spooled = stack.enter_context(tempfile.SpooledTemporaryFile(max_size=in_memory))
            spooled.write(content)
            spooled.seek(0)
            return UploadFile(spooled, filename=name, size=len(content))

        files = [upload("fund.toml", b"year = 2020\n", 1024), upload("", b"no name", 1024),
                 upload("cases.csv", b"x" * 100, 10)]  # fmt: skip
        assert files[2].file._rolled  # type: ignore[attr-defined]  # on disk, as a large upload
        assert read_uploads(files, 100) == [("fund.toml", b"year = 2020\n"), ("cases.csv", b"x" * 100)]
        assert read_uploads(None, 100) == []
        with pytest.raises(HTTPException) as refused:
            read_uploads([upload("cases.csv", b"x" * 101, 10)], 100)
        assert refused.value.status_code == 413
