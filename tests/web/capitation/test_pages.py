"""/capitation: the bureau settles from uploaded files; a member institution sees its own 医共体 only."""

from __future__ import annotations

import sqlalchemy as sa

from shidian.platform.db.schema import audit_events
from tests.capitation.test_cli import FUND, TABLES

# H1 (a hospital user's institution) is the lead hospital of 医共体 A; H3 is no member.
MEMBERS = {name: text.replace("A1", "H1") for name, text in TABLES.items()}


def upload(client, tables=MEMBERS, fund=FUND):
    files = [("files", ("fund.toml", fund.encode("utf-8"), "text/plain"))]
    files += [("files", (f"{name}.csv", text.encode("utf-8"), "text/csv")) for name, text in tables.items()]
    return client.post(
        "/capitation/settle", data={"policy": "langxi-2020"}, files=files, follow_redirects=False
    )


def test_officer_settles_and_every_reader_sees_what_it_may(client_for, web_app):
    officer = client_for("officer")
    assert "医共体按人头总额预付" in officer.get("/capitation").text
    answer = upload(officer)
    assert answer.status_code == 303, answer.text
    url = answer.headers["location"]
    run_id = url.rsplit("/", 1)[1]
    page = officer.get(url)
    assert page.status_code == 200
    assert "91,140,000.00" in page.text  # the pot of test_year_end, by hand
    assert "2020-10-21" in page.text and "capitation-chart" in page.text
    assert run_id in officer.get("/capitation").text

    h1 = client_for("h1")
    own = h1.get(url)
    assert own.status_code == 200
    assert "54,684,000.00" in own.text and "36,456,000.00" not in own.text  # A's pot only, not B's
    assert run_id in h1.get("/capitation").text
    h3 = client_for("h3")
    assert h3.get(url).status_code == 404
    assert run_id not in h3.get("/capitation").text
    assert client_for("reporter").get("/capitation").status_code == 403
    with web_app.state.engine.connect() as conn:
        actions = (
            conn.execute(sa.select(audit_events.c.action).where(audit_events.c.target == run_id))
            .scalars()
            .all()
        )
    assert "capitation.settle" in actions


def test_bad_files_are_listed_and_nothing_is_stored(client_for):
    officer = client_for("officer")
    before = officer.get("/capitation").text.count("/capitation/runs/")
    bad = {**MEMBERS, "scores": MEMBERS["scores"].replace("A2,80", "A2,120")}
    answer = upload(officer, bad)
    assert answer.status_code == 422
    assert "table.cell.above_max" in answer.text
    assert officer.get("/capitation").text.count("/capitation/runs/") == before


def test_only_the_bureau_settles(client_for):
    assert upload(client_for("leader")).status_code == 403
    assert upload(client_for("h1")).status_code == 403


def test_uploads_are_staged_in_the_data_directory_not_the_system_temp(client_for, web_app, monkeypatch):
    """Issue 22 finding 6: a settlement's uploaded files are written under ``var/staging`` (owner
    only, swept at start-up), never into the system's temporary directory, and removed after."""
    seen = []

    def spy(data, staging, policy):
        seen.append((data, sorted(p.name for p in data.iterdir())))
        return None, []

    monkeypatch.setattr("shidian.capitation.service.settle_folder", spy)
    upload(client_for("officer"))
    ((folder, names),) = seen
    assert folder.is_relative_to(web_app.state.settings.var_dir / "staging")
    assert "fund.toml" in names and not folder.exists()
