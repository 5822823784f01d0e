"""/capitation: the bureau settles (a job of the lane ``runs``), publishes and corrects runs like
DRG runs, and records prepayments paid; a member institution sees the published runs of its own
医共体 only."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from shidian.platform import clock, jobs
from shidian.platform.db.capitation_schema import capitation_runs
from shidian.platform.db.schema import audit_events
from shidian.platform.db.schema import jobs as jobs_table
from tests.capitation.test_cli import FUND, TABLES
from tests.web.conftest import fresh_database

# H1 (a hospital user's institution) is the lead hospital of 医共体 A; H3 is no member.
MEMBERS = {name: text.replace("A1", "H1") for name, text in TABLES.items()}


def upload(client, tables=MEMBERS, fund=FUND, **data):
    files = [("files", ("fund.toml", fund.encode("utf-8"), "text/plain"))]
    files += [("files", (f"{name}.csv", text.encode("utf-8"), "text/csv")) for name, text in tables.items()]
    return client.post(
        "/capitation/settle", data={"policy": "langxi-2020", **data}, files=files, follow_redirects=False
    )


def settled(client) -> str:
    answer = upload(client)
    assert answer.status_code == 303, answer.text
    return answer.headers["location"].rsplit("/", 1)[1]


def newest_published(web_app) -> str | None:
    """The newest published run of 2020 (the session's tests share one database), or None."""
    with web_app.state.engine.connect() as conn:
        return conn.execute(
            sa.select(capitation_runs.c.id)
            .where(capitation_runs.c.year == 2020, capitation_runs.c.status == "published")
            .order_by(capitation_runs.c.published_at.desc())
        ).scalar()


def publish_over(client, web_app, run_id: str, reason: str) -> None:
    """Publish a draft of 2020 through the API, correcting the year's newest published run if any."""
    newest = newest_published(web_app)
    body = {} if newest is None else {"corrects_run_id": newest, "reason": reason}
    answer = client.post(f"/api/capitation/runs/{run_id}/publish", json=body)
    assert answer.status_code == 200, answer.text


def actions_of(web_app, target: str) -> list[str]:
    with web_app.state.engine.connect() as conn:
        query = (
            sa.select(audit_events.c.action)
            .where(audit_events.c.target == target)
            .order_by(audit_events.c.id)
        )
        return list(conn.execute(query).scalars())


def test_a_run_is_a_draft_until_published_and_members_read_their_own(client_for, web_app):
    officer = client_for("officer")
    assert "医共体按人头总额预付" in officer.get("/capitation").text
    run_id = settled(officer)
    url = f"/capitation/runs/{run_id}"
    page = officer.get(url)
    assert page.status_code == 200
    assert "91,140,000.00" in page.text  # the pot of test_year_end, by hand
    assert "2020-10-21" in page.text and "capitation-chart" in page.text
    assert "草稿" in page.text and f"/capitation/runs/{run_id}/publish" in page.text
    assert run_id in officer.get("/capitation").text

    # the run went through the one job mechanism: kind capitation.run, lane runs, done
    with web_app.state.engine.connect() as conn:
        job = conn.execute(sa.select(jobs_table).where(jobs_table.c.target == run_id)).mappings().one()
    assert (job["kind"], job["lane"], job["status"]) == ("capitation.run", "runs", "done")

    # a draft is the bureau's: a member institution neither lists nor opens it
    h1 = client_for("h1")
    assert h1.get(url).status_code == 404
    assert run_id not in h1.get("/capitation").text
    assert client_for("leader").get(url).status_code == 200  # leaders read every run

    # publishing the first run of the year needs no correction (the page asks to confirm); a
    # later one names the run it corrects (when another test of the session published first)
    assert "data-confirm" in page.text
    newest = newest_published(web_app)
    assert ('id="publish-correction"' in page.text) == (newest is not None)
    form = {} if newest is None else {"corrects_run_id": newest, "reason": "会话中已有发布的结算"}
    published = officer.post(f"{url}/publish", data=form, follow_redirects=False)
    assert published.status_code == 303, published.text
    assert "已发布" in officer.get(url).text

    own = h1.get(url)
    assert own.status_code == 200
    assert "54,684,000.00" in own.text and "36,456,000.00" not in own.text  # A's pot only, not B's
    assert run_id in h1.get("/capitation").text
    h3 = client_for("h3")
    assert h3.get(url).status_code == 404
    assert run_id not in h3.get("/capitation").text
    assert client_for("reporter").get("/capitation").status_code == 403
    assert client_for("h1").post(f"{url}/publish", data={}).status_code == 403
    assert actions_of(web_app, run_id) == ["capitation.settle", "capitation.publish"]
    # a published run never changes
    again = officer.post(f"{url}/publish", data={}, follow_redirects=False)
    assert again.status_code == 409


def test_a_second_run_of_the_year_names_the_run_it_corrects_and_why(client_for, web_app):
    officer = client_for("officer")
    first_id = newest_published(web_app)
    if first_id is None:  # run alone: publish one first
        first_id = settled(officer)
        publish_over(officer, web_app, first_id, "")
    second = settled(officer)
    url = f"/capitation/runs/{second}"
    assert 'id="publish-correction"' in officer.get(url).text
    silent = officer.post(f"/api/capitation/runs/{second}/publish", json={})
    assert silent.status_code == 409
    assert silent.json()["problems"][0]["code"] == "capitation.publish.correction_required"
    no_reason = officer.post(f"/api/capitation/runs/{second}/publish", json={"corrects_run_id": first_id})
    assert no_reason.status_code == 422
    assert no_reason.json()["problems"][0]["code"] == "capitation.publish.reason_required"
    done = officer.post(
        f"{url}/publish", data={"corrects_run_id": first_id, "reason": "更正参保人数"}, follow_redirects=False
    )
    assert done.status_code == 303, done.text
    page = officer.get(url).text
    assert "更正原因: 更正参保人数" in page and f"/capitation/runs/{first_id}" in page
    assert f"/capitation/runs/{second}" in officer.get(f"/capitation/runs/{first_id}").text  # corrected by
    with web_app.state.engine.connect() as conn:
        detail = conn.execute(
            sa.select(audit_events.c.detail).where(
                audit_events.c.target == second, audit_events.c.action == "capitation.publish"
            )
        ).scalar_one()
    assert detail == {"corrects_run_id": first_id, "reason": "更正参保人数"} or (
        isinstance(detail, str) and "更正参保人数" in detail
    )


def test_prepayments_paid_are_recorded_against_those_due(client_for, web_app):
    """001 第十七篇 七(二) "每季度前10个工作日内及时足额预拨到位": B's pot 36,456,000.00 (100,000,000
    funding − 1,000,000 reserve − 5,000,000 − 1,000,000 = 93,000,000 base; × 98% = 91,140,000; × 40,000
    of 100,000 insured) is due in four quarters of 36,456,000.00 ÷ 4 = 9,114,000.00. Q1 paid in full on
    its due day (2020-01-15: the 10th working day, 元旦 off: 2, 3, 6–10, 13–15 January): 及时足额; Q2 part paid 1,000.00: 未足额,
    9,113,000.00 outstanding and overdue (the business date is years later); more than is
    outstanding needs a reason, and is then 超额拨付."""
    officer = client_for("officer")
    draft = settled(officer)
    refused = officer.post(
        f"/api/capitation/runs/{draft}/payments",
        json={"community_id": "B", "quarter": 1, "amount": "1.00", "paid_on": "2020-01-14", "reference": "X"},
    )
    assert refused.status_code == 409
    assert refused.json()["problems"][0]["code"] == "capitation.prepayment.not_published"
    run_id = draft
    publish_over(officer, web_app, run_id, "测试")

    url = f"/api/capitation/runs/{run_id}/payments"
    due = {
        (p["community_id"], p["quarter"]): p
        for p in officer.get(f"/api/capitation/runs/{run_id}").json()["paid"]
    }
    before = due[("B", 1)]
    assert before["due"] == "9114000.00" and before["due_on"] == "2020-01-15"
    paid_before = {q: due[("B", q)]["paid"] for q in (1, 2)}  # payments of 2020 by earlier tests: none for B
    assert paid_before == {1: "0.00", 2: "0.00"}
    assert before["status"] == "unpaid" and before["overdue"] is True
    first = officer.post(
        url,
        json={
            "community_id": "B",
            "quarter": 1,
            "amount": "9114000.00",
            "paid_on": "2020-01-15",
            "reference": "国库 2020-001",
        },
    )
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "on_time" and first.json()["outstanding"] == "0.00"
    assert first.json()["overdue"] is False

    # the page form: part of Q2, with its reference
    form = {
        "community_id": "B",
        "quarter": "2",
        "amount": "1,000.00",
        "paid_on": "2020-04-01",
        "reference": "国库 2020-002",
    }
    answer = officer.post(f"/capitation/runs/{run_id}/prepayments", data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    page = officer.get(f"/capitation/runs/{run_id}/prepayments").text
    assert "9,113,000.00" in page and "未足额" in page and "逾期" in page and "国库 2020-002" in page

    over = officer.post(
        url,
        json={"community_id": "B", "quarter": 1, "amount": "0.01", "paid_on": "2020-01-20", "reference": "R"},
    )
    assert over.status_code == 422 and over.json()["problems"][0]["code"] == "capitation.prepayment.overpaid"
    with_reason = officer.post(
        url,
        json={
            "community_id": "B",
            "quarter": 1,
            "amount": "0.01",
            "paid_on": "2020-01-20",
            "reference": "R",
            "reason": "银行多划一分, 下季抵扣",
        },
    )
    assert with_reason.status_code == 201 and with_reason.json()["status"] == "overpaid"
    tomorrow = (clock.today() + dt.timedelta(days=1)).isoformat()
    future = officer.post(f"/capitation/runs/{run_id}/prepayments", data={**form, "paid_on": tomorrow})
    assert future.status_code == 422 and "capitation.prepayment.future_date" in future.text
    no_ref = officer.post(
        url,
        json={"community_id": "B", "quarter": 3, "amount": "1.00", "paid_on": "2020-07-01", "reference": ""},
    )
    assert no_ref.status_code == 422
    unknown = officer.post(
        url,
        json={"community_id": "Z", "quarter": 1, "amount": "1.00", "paid_on": "2020-01-20", "reference": "R"},
    )
    assert (
        unknown.status_code == 422
        and unknown.json()["problems"][0]["code"] == "capitation.prepayment.unknown"
    )
    h1 = client_for("h1")
    assert (
        h1.post(
            url,
            json={
                "community_id": "A",
                "quarter": 3,
                "amount": "1.00",
                "paid_on": "2020-07-01",
                "reference": "R",
            },
        ).status_code
        == 403
    )
    # the member of A sees A's prepayments only, and no form
    own = h1.get(f"/capitation/runs/{run_id}/prepayments")
    assert own.status_code == 200 and "capitation-payment" not in own.text and "9,114,000.00" not in own.text
    assert actions_of(web_app, run_id).count("capitation.prepayment_paid") == 3


def test_bad_files_are_listed_and_the_run_is_recorded_failed(client_for):
    officer = client_for("officer")
    bad = {**MEMBERS, "scores": MEMBERS["scores"].replace("A2,80", "A2,120")}
    answer = upload(officer, bad)
    assert answer.status_code == 422
    assert "table.cell.above_max" in answer.text
    assert "失败" in answer.text  # the failed run is listed, never lost


def test_only_the_bureau_settles(client_for):
    assert upload(client_for("leader")).status_code == 403
    assert upload(client_for("h1")).status_code == 403


def test_a_run_is_refused_while_another_holds_the_lane(client_for, web_app):
    engine = web_app.state.engine
    with engine.begin() as conn:
        job_id = jobs.start(conn, "drg.run", None)  # another run holds the lane
    try:
        answer = upload(client_for("officer"))
        assert answer.status_code == 409
        assert "another run is in progress" in answer.text
    finally:
        jobs.finish(engine, job_id)


def test_a_run_left_running_by_a_killed_server_is_failed_at_start_up(web_app):
    engine = web_app.state.engine
    with engine.begin() as conn:
        job_id = jobs.start(conn, "capitation.run", None)
        run_id = "f" * 32
        conn.execute(
            capitation_runs.insert().values(
                id=run_id, policy_id="langxi-2020", status="running", created_at=clock.now()
            )
        )
        jobs.set_target(conn, job_id, run_id)
    with engine.begin() as conn:
        failed = jobs.fail_interrupted_runs(conn)
        row = conn.execute(sa.select(capitation_runs).where(capitation_runs.c.id == run_id)).mappings().one()
    assert run_id in failed
    assert row["status"] == "failed" and row["error"] == jobs.INTERRUPTED


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_0011_creates_and_drops_the_capitation_tables(backend, tmp_path):
    """Down to 0008 drops ``capitation_runs`` and ``capitation_payments``; back to head adds them."""
    from alembic import command

    from shidian.platform.db.engine import alembic_config, make_engine, upgrade

    tables = {"capitation_runs", "capitation_payments"}
    with fresh_database(backend, tmp_path, "shidian_m") as url:
        engine = make_engine(url)
        try:
            upgrade(engine)
            assert tables <= set(sa.inspect(engine).get_table_names())
            command.downgrade(alembic_config(engine), "0008")
            assert not tables & set(sa.inspect(engine).get_table_names())
            upgrade(engine)
            assert tables <= set(sa.inspect(engine).get_table_names())
        finally:
            engine.dispose()


def test_two_officers_paying_the_same_quarter_at_once_never_overpay_unseen(client_for, web_app):
    """Both pay the whole of B's fourth quarter (9,114,000.00) at the same moment without a reason:
    the year's runs are locked first, so the second sees the first's payment and is refused."""
    import threading

    from shidian.capitation import service
    from shidian.capitation.payments import Payment
    from shidian.platform.accounts import get_user
    from shidian.platform.db.schema import users
    from shidian.problems import Refused

    engine, var_dir = web_app.state.engine, web_app.state.settings.var_dir
    officer = client_for("officer")
    run_id = settled(officer)
    with engine.connect() as conn:
        officer_id = conn.execute(sa.select(users.c.id).where(users.c.username == "officer")).scalar_one()
        user = get_user(conn, officer_id)
    publish_over(officer, web_app, run_id, "并发测试")
    before = {
        (p["community_id"], p["quarter"]): p
        for p in officer.get(f"/api/capitation/runs/{run_id}").json()["paid"]
    }[("B", 4)]
    outstanding = before["outstanding"]
    assert before["status"] in ("unpaid", "part_paid", "on_time", "late", "overpaid")
    if Decimal(outstanding) <= 0:  # paid in full by an earlier test of the session: nothing to race for
        return
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def pay(reference: str) -> None:
        barrier.wait()
        try:
            with engine.begin() as conn:
                payment = Payment("B", 4, Decimal(outstanding), dt.date(2020, 10, 21), reference)
                service.record_prepayment(conn, user, var_dir, run_id, payment)
            outcomes.append("paid")
        except Refused as refused:
            outcomes.append(refused.problems[0].code)

    threads = [threading.Thread(target=pay, args=(f"并发 {n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["capitation.prepayment.overpaid", "paid"]


def test_published_runs_and_overdue_prepayments_are_notified(client_for, web_app):
    """A member of A hears of the published run of its 医共体; H3 (no member) does not; the bureau
    hears of every prepayment of the year's current run not paid in full after its due day (the
    business date is years after 2020: B's fourth quarter, due 2020-10-21, is overdue unless a
    test of the session paid it in full)."""
    officer = client_for("officer")
    run_id = settled(officer)
    publish_over(officer, web_app, run_id, "通知测试")
    paid = {
        (p["community_id"], p["quarter"]): p
        for p in officer.get(f"/api/capitation/runs/{run_id}").json()["paid"]
    }
    overdue = [key for key, p in paid.items() if p["overdue"]]
    assert overdue  # the session's payments never pay every quarter in full
    notices = officer.get("/notifications").text
    assert f"/capitation/runs/{run_id}" in notices and "医共体按人头总额预付结算已发布" in notices
    community, quarter = overdue[0]
    assert f"医共体 {community} 2020 年第 {quarter} 季度预拨逾期未足额" in notices
    member = client_for("h1").get("/notifications").text
    assert f"/capitation/runs/{run_id}" in member and "预拨逾期" not in member
    assert f"/capitation/runs/{run_id}" not in client_for("h3").get("/notifications").text
