"""``POST /api/capitation/runs``: the settlement the page does, for a machine client — the same
service (``capitation.service.settle_uploads``), multipart like the page (or with a finished
insurance run's ``claims_run_id`` for the spending), errors in the one shape."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from shidian.platform import jobs
from shidian.platform.db.capitation_schema import capitation_runs
from tests.capitation.test_cli import FUND
from tests.web.capitation.test_pages import MEMBERS, actions_of, upload

ERROR_KEYS = {"ok", "status", "problems"}


def _files(tables: dict[str, str] = MEMBERS, fund: str = FUND) -> list[tuple[str, tuple[str, bytes, str]]]:
    files = [("files", ("fund.toml", fund.encode("utf-8"), "text/plain"))]
    files += [("files", (f"{name}.csv", text.encode("utf-8"), "text/csv")) for name, text in tables.items()]
    return files


def settle(client: TestClient, tables: dict[str, str] = MEMBERS, **data: str):  # type: ignore[no-untyped-def]
    return client.post("/api/capitation/runs", data={"policy": "langxi-2020", **data}, files=_files(tables))


def test_the_api_settles_as_the_page_does(client_for, web_app):
    officer = client_for("officer")
    answer = settle(officer)
    assert answer.status_code == 201, answer.text
    run = answer.json()
    assert (run["status"], run["year"], run["policy"]) == ("draft", "2020", "langxi-2020")
    # 001 第十七篇: the pot of tests/capitation (test_year_end), worked by hand: 91,140,000.00 元
    assert run["pot"] == "91140000.00"
    assert "capitation.settle" in actions_of(web_app, run["run_id"])
    # the page settles the same files to the same run (one service behind both doors)
    page = upload(officer)
    assert page.status_code == 303
    by_page = officer.get(page.headers["location"].replace("/capitation/", "/api/capitation/")).json()
    by_api = officer.get(f"/api/capitation/runs/{run['run_id']}").json()
    for part in ("budget", "prepayments", "year_ends", "shares", "totals"):
        assert by_api[part] == by_page[part], part


def test_bad_files_answer_422_in_the_one_shape_and_the_run_is_recorded_failed(client_for, web_app):
    officer = client_for("officer")
    with web_app.state.engine.connect() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(capitation_runs)).scalar_one()
    bad = {**MEMBERS, "scores": MEMBERS["scores"].replace("A2,80", "A2,120")}
    answer = settle(officer, bad)
    assert answer.status_code == 422
    body = answer.json()
    assert set(body) == ERROR_KEYS and body["ok"] is False and body["status"] == 422
    (problem,) = [p for p in body["problems"] if p["code"] == "table.cell.above_max"]
    assert problem["where"]["file"] == "scores.csv" and problem["where"]["row"] >= 2
    with web_app.state.engine.connect() as conn:
        rows = conn.execute(sa.select(capitation_runs.c.status).order_by(capitation_runs.c.created_at)).all()
    assert len(rows) == before + 1 and rows[-1].status == "failed"  # recorded, never lost
    unknown_file = officer.post(
        "/api/capitation/runs",
        data={"policy": "langxi-2020"},
        files=[("files", ("evil.sh", b"rm -rf /", "text/plain"))],
    )
    assert unknown_file.status_code == 422 and set(unknown_file.json()) == ERROR_KEYS
    policy = settle(officer, policy="no-such-policy")
    assert policy.status_code == 422 and policy.json()["problems"][0]["where"]["column"] == "policy"
    claims = settle(officer, claims_run_id="0" * 32)
    assert claims.status_code == 422
    assert [p["code"] for p in claims.json()["problems"]] == ["capitation.claims_run.unknown"]


def test_only_the_bureau_settles_with_the_csrf_token_and_one_run_at_a_time(client_for, web_app):
    for name in ("leader", "h1"):
        refused = settle(client_for(name))
        assert refused.status_code == 403 and set(refused.json()) == ERROR_KEYS
    officer = client_for("officer")
    forged = TestClient(web_app, cookies=officer.cookies).post(
        "/api/capitation/runs", data={"policy": "langxi-2020"}, files=_files()
    )
    assert forged.status_code == 403 and set(forged.json()) == ERROR_KEYS
    engine = web_app.state.engine
    with engine.begin() as conn:
        held = jobs.start(conn, "drg.run", None)  # another run holds the lane
    try:
        busy = settle(officer)
        assert busy.status_code == 409
        assert [p["code"] for p in busy.json()["problems"]] == ["job.busy"]
    finally:
        jobs.finish(engine, held)
