"""/api/capitation: the runs and one run as JSON, scoped like the pages (the one error shape)."""

from __future__ import annotations

from tests.web.capitation.test_pages import upload


def test_the_api_answers_what_the_pages_show(client_for):
    officer = client_for("officer")
    answer = upload(officer)
    assert answer.status_code == 303, answer.text
    run_id = answer.headers["location"].rsplit("/", 1)[1]

    listed = officer.get("/api/capitation/runs")
    assert listed.status_code == 200
    assert run_id in [r["run_id"] for r in listed.json()]
    run = officer.get(f"/api/capitation/runs/{run_id}").json()
    assert run["full"] is True
    lines = {line["code"]: line for line in run["budget"]}
    assert lines["pot"]["amount"] == "91140000.00"  # the pot of test_year_end, by hand
    assert lines["pot"]["article"].startswith("001 第十七篇")
    assert {p["due_on"] for p in run["prepayments"] if p["quarter"] == 4} == {"2020-10-21"}
    assert {e["community_id"] for e in run["year_ends"]} == {"A", "B"}
    assert all(c["ok"] for c in run["checks"])

    own = client_for("h1").get(f"/api/capitation/runs/{run_id}").json()
    assert own["full"] is False
    assert {e["community_id"] for e in own["year_ends"]} == {"A"}
    assert {s["community_id"] for s in own["shares"]} == {"A"}
    assert "pot:B" not in {line["code"] for line in own["budget"]}
    assert "pot_yuan" not in own["totals"] and own["checks"] == []

    hidden = client_for("h3").get(f"/api/capitation/runs/{run_id}")
    assert hidden.status_code == 404
    assert hidden.json()["problems"][0]["code"] == "capitation.run.not_found"
    assert run_id not in [r["run_id"] for r in client_for("h3").get("/api/capitation/runs").json()]
    assert client_for("reporter").get("/api/capitation/runs").status_code == 403
