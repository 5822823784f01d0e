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


def test_the_bureau_records_prepayments_paid_against_those_due(client_for, web_app):
    """001 第十七篇 七(二) "每季度前10个工作日内及时足额预拨到位": A's pot 54,684,000.00 (test_pages)
    is due in four quarters of 54,684,000.00 ÷ 4 = 13,671,000.00. Q1 paid in full on its due day:
    及时足额; Q2 part paid 1,000.00: 未足额, 13,670,000.00 outstanding; Q3, Q4: 未拨付."""
    import sqlalchemy as sa

    from shidian.platform.db.schema import audit_events

    officer = client_for("officer")
    run_id = upload(officer).headers["location"].rsplit("/", 1)[1]
    url = f"/api/capitation/runs/{run_id}/payments"
    due = {
        (p["community_id"], p["quarter"]): p
        for p in officer.get(f"/api/capitation/runs/{run_id}").json()["paid"]
    }
    assert due[("A", 1)]["due"] == "13671000.00" and due[("A", 1)]["status"] == "unpaid"
    first = officer.post(
        url,
        json={"community_id": "A", "quarter": 1, "amount": "13671000.00", "paid_on": due[("A", 1)]["due_on"]},
    )
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "on_time" and first.json()["outstanding"] == "0.00"
    part = officer.post(
        url, json={"community_id": "A", "quarter": 2, "amount": "1000.00", "paid_on": "2020-04-01"}
    )
    assert part.json()["status"] == "part_paid" and part.json()["outstanding"] == "13670000.00"
    over = officer.post(
        url, json={"community_id": "A", "quarter": 1, "amount": "0.01", "paid_on": "2020-01-20"}
    )
    assert over.status_code == 422 and over.json()["problems"][0]["code"] == "capitation.prepayment.overpaid"
    unknown = officer.post(
        url, json={"community_id": "Z", "quarter": 1, "amount": "1.00", "paid_on": "2020-01-20"}
    )
    assert (
        unknown.status_code == 422
        and unknown.json()["problems"][0]["code"] == "capitation.prepayment.unknown"
    )
    assert (
        client_for("h1")
        .post(url, json={"community_id": "A", "quarter": 3, "amount": "1.00", "paid_on": "2020-07-01"})
        .status_code
        == 403
    )
    page = officer.get(f"/capitation/runs/{run_id}").text
    assert "及时足额" in page and "未足额" in page and "未拨付" in page
    with web_app.state.engine.connect() as conn:
        actions = (
            conn.execute(sa.select(audit_events.c.action).where(audit_events.c.target == run_id))
            .scalars()
            .all()
        )
    assert actions.count("capitation.prepayment_paid") == 2
