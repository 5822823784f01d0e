"""DRG settlement runs (结算批次): start, progress, publish, correct, compare, download, access.

On SQLite and PostgreSQL (the ``web_app`` fixture). PRODUCT.md principle 4: a published run is
never edited; a correction is a new run that references the old one.
"""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import openpyxl
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shidian.drg.service import start_run
from shidian.platform.db.schema import audit_events
from tests.waiting import PATIENCE
from tests.web.conftest import handworked_files
from tests.web.fuzz import fuzz_api
from tests.web.test_operations import officer as officer_user

#: The API operations of this page family (runs, datasets, imports).
MY_API = r"^/api/"  # the whole API: dashboards, runs, imports, policies


def _audit(app: FastAPI, action: str, target: str) -> list[dict[str, object]]:
    with app.state.engine.connect() as conn:
        query = sa.select(audit_events).where(
            audit_events.c.action == action, audit_events.c.target == target
        )
        return [dict(r) for r in conn.execute(query).mappings()]


def _finish(app: FastAPI, run_id: str) -> None:
    app.state.executor.futures[run_id].result(timeout=PATIENCE)


def _start(client: TestClient, app: FastAPI, **fields: str) -> str:
    """Start a run through the page form and wait until it has finished."""
    data = {
        "dataset_id": str(app.state.test_dataset_id),
        "policy_id": "guigang-2020",
        "note": "test",
    } | fields
    response = client.post("/drg/runs", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    run_id = response.headers["location"].rsplit("/", 1)[1]
    _finish(app, run_id)
    return run_id


def _annual(app: FastAPI, run_id: str) -> dict[str, dict[str, Decimal]]:
    """annual.csv of a run, read independently of the page (csv + Decimal)."""
    path = app.state.settings.runs_dir / run_id / "annual.csv"
    with path.open(encoding="utf-8") as handle:
        return {
            r["hospital_id"]: {
                "entitlement": Decimal(r["entitlement"]),
                "settlement": Decimal(r["settlement"]),
            }
            for r in csv.DictReader(handle)
        }


def test_a_run_is_started_followed_published_and_then_read_only(web_app, client_for):
    officer = client_for("officer")
    run_id = _start(officer, web_app, note="复核")
    status = officer.get(f"/drg/runs/{run_id}/status", headers={"HX-Request": "true"})
    assert status.status_code == 200 and "hx-trigger" not in status.text  # finished: polling stops
    assert status.headers["HX-Refresh"] == "true"
    page = officer.get(f"/drg/runs/{run_id}")
    assert 'class="badge draft"' in page.text and f'action="/drg/runs/{run_id}/publish"' in page.text
    assert "24,800.01" in page.text  # entitlement total of the hand-worked region (docs/drg-outputs.md)
    assert "report.xlsx" in page.text and "warnings.csv" in page.text
    assert '<span class="ok">' in page.text and '<span class="error">' not in page.text  # checks passed
    # the seeded run of the same year is published: this one must name it and say why (issue 19)
    seeded = str(web_app.state.test_run_id)
    assert 'id="publish-correction"' in page.text and f'<option value="{seeded}"' in page.text
    unnamed = officer.post(f"/api/drg/runs/{run_id}/publish")
    assert unnamed.status_code == 409
    assert unnamed.json()["problems"][0]["code"] == "drg.publish.correction_required"
    no_reason = officer.post(f"/api/drg/runs/{run_id}/publish", json={"corrects_run_id": seeded})
    assert no_reason.status_code == 422
    assert no_reason.json()["problems"][0]["code"] == "drg.publish.reason_required"
    published = officer.post(
        f"/drg/runs/{run_id}/publish",
        data={"corrects_run_id": seeded, "reason": "复核后更正"},
        follow_redirects=False,
    )
    assert published.status_code == 303
    again = officer.post(f"/drg/runs/{run_id}/publish")
    assert again.status_code == 409 and "only a draft can be published" in again.text
    api_again = officer.post(f"/api/drg/runs/{run_id}/publish")
    assert api_again.status_code == 409 and api_again.json()["status"] == 409
    page = officer.get(f"/drg/runs/{run_id}")
    assert 'class="badge published"' in page.text and f'action="/drg/runs/{run_id}/publish"' not in page.text
    assert f'name="corrects_run_id" value="{run_id}"' in page.text  # the correction form
    run = officer.get(f"/api/drg/runs/{run_id}").json()
    assert (
        run["status"] == "published" and run["published_at"] and run["note"] == "复核；更正原因: 复核后更正"
    )
    assert run["corrects_run_id"] == seeded
    assert (
        _audit(web_app, "drg.run_started", run_id) and len(_audit(web_app, "drg.run_published", run_id)) == 1
    )


def test_a_queued_run_polls_its_status_every_second(web_app, client_for):
    with web_app.state.engine.begin() as conn:  # queued, never submitted: stays queued
        run_id = start_run(conn, officer_user(conn), str(web_app.state.test_dataset_id), "guigang-2020")
    officer = client_for("officer")
    status = officer.get(f"/drg/runs/{run_id}/status", headers={"HX-Request": "true"})
    assert f'hx-get="/drg/runs/{run_id}/status"' in status.text and 'hx-trigger="every 1s"' in status.text
    assert "HX-Refresh" not in status.headers
    page = officer.get(f"/drg/runs/{run_id}")
    assert 'hx-trigger="every 1s"' in page.text and "/publish" not in page.text
    assert officer.post(f"/api/drg/runs/{run_id}/publish").status_code == 409
    assert officer.get(f"/drg/runs/{run_id}/files/report.xlsx").status_code == 409  # no results yet


def test_a_correction_names_the_run_it_corrects(web_app, client_for, run_id):
    officer = client_for("officer")
    body = {
        "dataset_id": web_app.state.test_dataset_id,
        "policy_id": "guigang-2020",
        "corrects_run_id": run_id,
    }
    created = officer.post("/api/drg/runs", json=body | {"note": "更正"})
    assert created.status_code == 201, created.text
    correction = created.json()
    assert correction["corrects_run_id"] == run_id and correction["status"] in ("queued", "running")
    _finish(web_app, correction["id"])
    assert officer.get(f"/api/drg/runs/{correction['id']}").json()["status"] == "draft"
    page = officer.get(f"/drg/runs/{correction['id']}")
    assert f'href="/drg/runs/{run_id}"' in page.text  # names the corrected run
    corrected = officer.get(f"/drg/runs/{run_id}")
    assert f'href="/drg/runs/{correction["id"]}"' in corrected.text  # and is named by it
    assert officer.get(f"/api/drg/runs/{run_id}").json()["status"] == "published"  # unchanged
    # only a published run can be corrected
    draft = officer.post("/api/drg/runs", json=body | {"corrects_run_id": correction["id"]})
    assert draft.status_code == 422 and "published" in draft.json()["problems"][0]["message"]
    listed = officer.get("/drg/runs")
    assert correction["id"][:8] in listed.text
    # the correction form on a published run starts a correction too
    form = _start(officer, web_app, corrects_run_id=run_id)
    assert officer.get(f"/api/drg/runs/{form}").json()["corrects_run_id"] == run_id


def test_compare_shows_both_runs_and_the_difference_per_hospital(web_app, client_for, run_id):
    officer = client_for("officer")
    files = dict(handworked_files())
    files["settlement.toml"] = files["settlement.toml"].replace(b'"12000.00"', b'"15000.00"')
    upload = [("files", (n, c, "application/octet-stream")) for n, c in files.items()]
    dataset = officer.post("/api/drg/imports", data={"name": "预算 15000"}, files=upload).json()
    other = _start(officer, web_app, dataset_id=dataset["id"])  # a draft: compare takes drafts too
    page = officer.get(f"/drg/compare?a={run_id}&b={other}")
    assert page.status_code == 200
    assert run_id[:8] in page.text and other[:8] in page.text
    a, b = _annual(web_app, run_id), _annual(web_app, other)
    assert a.keys() == b.keys() == {"H1", "H3"}
    for hospital in a:
        row = re.search(rf"<tr><td>{hospital}</td>(.*?)</tr>", page.text, re.S)
        assert row, hospital
        cells = re.findall(r'<td class="num">([^<]*)</td>', row.group(1))
        expected = [
            a[hospital]["entitlement"], b[hospital]["entitlement"], b[hospital]["entitlement"] - a[hospital]["entitlement"],
            a[hospital]["settlement"], b[hospital]["settlement"], b[hospital]["settlement"] - a[hospital]["settlement"],
        ]  # fmt: skip
        assert cells == [f"{v:,f}" for v in expected]
        assert b[hospital]["entitlement"] != a[hospital]["entitlement"]  # a bigger budget pays more
    assert 'data-chart="compare-chart"' in page.text and "/static/vendor/echarts.min.js" in page.text
    assert "http://" not in page.text and "https://" not in page.text
    assert officer.get(f"/drg/compare?a={run_id}&b={'0' * 32}").status_code == 404
    assert officer.get(f"/drg/compare?a={run_id}&b=../x").status_code == 404
    assert officer.get("/drg/compare").status_code == 200  # the choice of runs only


def test_report_and_csv_downloads_are_audited(web_app, client_for, run_id):
    officer = client_for("officer")
    report = officer.get(f"/drg/runs/{run_id}/files/report.xlsx")
    assert report.status_code == 200
    assert report.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in report.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(report.content), read_only=True)
    assert "汇总" in book.sheetnames and "年终清算" in book.sheetnames
    annual = officer.get(f"/drg/runs/{run_id}/files/annual.csv")
    assert annual.status_code == 200 and annual.text.startswith("hospital_id,")
    downloads = {e["detail"]["file"] for e in _audit(web_app, "drg.run_downloaded", run_id)}  # type: ignore[index]
    assert {"report.xlsx", "annual.csv"} <= downloads
    for bad in ("settings.py", "..%2Frun.json", "case_points.parquet"):
        assert officer.get(f"/drg/runs/{run_id}/files/{bad}").status_code == 404
    assert officer.get(f"/drg/runs/{'0' * 32}/files/report.xlsx").status_code == 404


def test_hospital_users_reach_no_run_page_or_api(client_for, run_id):
    hospital = client_for("h1")
    for path in (
        "/drg/runs",
        f"/drg/runs/{run_id}",
        f"/drg/runs/{run_id}/status",
        f"/drg/runs/{run_id}/files/report.xlsx",
        f"/drg/compare?a={run_id}&b={run_id}",
    ):
        assert hospital.get(path).status_code == 403, path
    for path in ("/api/drg/runs", f"/api/drg/runs/{run_id}"):
        response = hospital.get(path)
        assert response.status_code == 403 and response.json()["problems"][0]["code"] == "auth.forbidden"
    assert (
        hospital.post("/api/drg/runs", json={"dataset_id": "0" * 32, "policy_id": "guigang-2020"}).status_code
        == 403
    )
    assert hospital.post(f"/api/drg/runs/{run_id}/publish").status_code == 403
    assert hospital.post(f"/drg/runs/{run_id}/publish").status_code == 403


def test_a_leader_reads_runs_but_does_not_start_or_publish(web_app, client_for, run_id):
    leader = client_for("leader")
    listing = leader.get("/drg/runs")
    assert listing.status_code == 200 and 'action="/drg/runs"' not in listing.text
    assert leader.get(f"/drg/runs/{run_id}").status_code == 200
    assert any(r["id"] == run_id for r in leader.get("/api/drg/runs").json())
    body = {"dataset_id": web_app.state.test_dataset_id, "policy_id": "guigang-2020"}
    assert leader.post("/api/drg/runs", json=body).status_code == 403
    assert leader.post(f"/api/drg/runs/{run_id}/publish").status_code == 403


def test_signed_out_api_is_401_json_and_missing_csrf_is_403(web_app, anonymous, client_for, run_id):
    for response in (
        anonymous.get(f"/api/drg/runs/{run_id}"),
        anonymous.get("/api/drg/runs"),
    ):
        assert response.status_code == 401
        assert response.json()["problems"] == [
            {
                "code": "auth.required",
                "message": "请先登录 (login required)",
                "where": {"file": "<request>"},
                "severity": "error",
            }
        ]
    officer = client_for("officer")
    del officer.headers["X-CSRF-Token"]
    body = {"dataset_id": web_app.state.test_dataset_id, "policy_id": "guigang-2020"}
    assert officer.post("/api/drg/runs", json=body).status_code == 403
    assert officer.post(f"/api/drg/runs/{run_id}/publish").status_code == 403
    assert officer.post("/drg/runs", data=body).status_code == 403


def test_bad_requests_get_deliberate_4xx_in_the_error_shape(web_app, client_for):
    officer = client_for("officer")
    dataset_id = str(web_app.state.test_dataset_id)
    cases = [
        ({"dataset_id": dataset_id, "policy_id": "nowhere-1999"}, 422),
        ({"dataset_id": "f" * 32, "policy_id": "guigang-2020"}, 422),
        ({"dataset_id": "not-hex", "policy_id": "guigang-2020"}, 422),
        ({"dataset_id": dataset_id, "policy_id": "guigang-2020", "note": "a\x00b"}, 422),
        ({"policy_id": "guigang-2020"}, 422),
    ]
    for body, status in cases:
        response = officer.post("/api/drg/runs", json=body)
        assert response.status_code == status, (body, response.text)
        assert response.json()["ok"] is False and response.json()["problems"]
    assert officer.get(f"/api/drg/runs/{'0' * 32}").status_code == 404
    assert officer.get("/api/drg/runs/xyz").status_code == 422
    assert officer.get(f"/drg/runs/{'0' * 32}").status_code == 404
    bad_form = officer.post("/drg/runs", data={"dataset_id": dataset_id, "policy_id": "nowhere-1999"})
    assert bad_form.status_code == 422 and "unknown policy" in bad_form.text


def test_run_pages_load_nothing_from_outside(client_for, run_id):
    officer = client_for("officer")
    for path in ("/drg/runs", f"/drg/runs/{run_id}", "/drg/compare"):
        page = officer.get(path)
        assert page.status_code == 200, path
        assert "http://" not in page.text and "https://" not in page.text, path


# ---- the OpenAPI schema under fuzzing: every answer is a deliberate 2xx/4xx, never a 500 -------


@pytest.mark.slow
def test_the_api_never_answers_500(web_app, client_for):
    paths = fuzz_api(web_app, client_for("officer"), MY_API)
    assert paths >= {"/api/drg/runs", "/api/drg/runs/{run_id}", "/api/drg/imports"}


def test_the_app_owns_one_executor_and_shuts_it_down_on_shutdown(tmp_path):
    from shidian.platform.settings import Settings
    from shidian.web.app import create_app

    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/db.sqlite", var_dir=tmp_path / "var", secret_key="x" * 48
    )
    app = create_app(settings)
    first = app.state.executor
    assert first.var_dir == settings.var_dir
    with TestClient(app):
        assert app.state.executor is first
    with pytest.raises(RuntimeError):  # shut down: takes no more work
        first.submit("0" * 32)
    assert app.state.executor is not first  # the app object can be started again
    app.state.engine.dispose()
