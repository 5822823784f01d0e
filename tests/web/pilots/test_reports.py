"""Reporting (填报) in the web app: the form, the workflow, locking, access, audit — both databases.

Issue #5 "Reporting": reporting units enter values for their own unit and period; submit →
approve by the level above → locked (changes after lock need the approver).
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from shidian.platform.db.pilots_schema import pilot_plans, pilot_report_values, pilot_reports
from shidian.platform.db.schema import audit_events, units
from tests.web.pilots.conftest import COUNTY, TOWN_A, TOWN_B


def report_of(app, unit_code: str, period: str):  # type: ignore[no-untyped-def]
    from datetime import date

    with app.state.engine.connect() as conn:
        return conn.execute(
            sa.select(pilot_reports)
            .join(units, units.c.id == pilot_reports.c.unit_id)
            .join(pilot_plans, pilot_plans.c.id == pilot_reports.c.plan_id)
            .where(
                units.c.code == unit_code,
                pilot_reports.c.period_start == date.fromisoformat(period),
                pilot_plans.c.code == "psy-service",  # other test modules load other plans
            )
        ).first()


def values_of(app, report_id: int) -> dict[tuple[str, str], tuple[object, object]]:  # type: ignore[no-untyped-def]
    with app.state.engine.connect() as conn:
        rows = conn.execute(
            sa.select(pilot_report_values).where(pilot_report_values.c.report_id == report_id)
        ).all()
    return {(r.indicator_code, r.population): (r.numerator, r.denominator) for r in rows}


def audit_actions(app, target: str) -> list[str]:  # type: ignore[no-untyped-def]
    with app.state.engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(audit_events.c.action)
                .where(audit_events.c.target == target)
                .order_by(audit_events.c.id)
            ).scalars()
        )


def town_values(workgroup: str, staff: str) -> dict[str, str]:
    return {"num|TOWNSHIP_WORKGROUP|": workgroup, "num|TOWNSHIP_HC_PSY_STAFF|": staff}


def test_issue5_township_submits_the_level_above_approves_and_the_report_locks(
    pilots_app, plan_id, pilot_client
):
    """乡镇填报并提交 → 县试点办审核通过 → 锁定; every step audited."""
    path = f"/pilots/reports/{plan_id}/{TOWN_A}/2020-01-01"
    town = pilot_client("town_a")
    page = town.get(path)
    assert page.status_code == 200
    assert "TOWNSHIP_WORKGROUP" in page.text and 'name="num|TOWNSHIP_WORKGROUP|"' in page.text
    saved = town.post(path, data={**town_values("1", ""), "action": "save"}, follow_redirects=False)
    assert saved.status_code == 303
    report = report_of(pilots_app, TOWN_A, "2020-01-01")
    assert report.status == "draft" and report.first_submitted_at is None
    # submit needs every value: one is missing → 422, status unchanged
    refused = town.post(path, data={**town_values("1", ""), "action": "submit"})
    assert refused.status_code == 422 and "TOWNSHIP_HC_PSY_STAFF" in refused.text
    assert report_of(pilots_app, TOWN_A, "2020-01-01").status == "draft"
    submitted = town.post(path, data={**town_values("1", "0"), "action": "submit"}, follow_redirects=False)
    assert submitted.status_code == 303
    report = report_of(pilots_app, TOWN_A, "2020-01-01")
    assert report.status == "submitted" and report.first_submitted_at is not None
    # a submitted report is not editable until returned
    assert town.post(path, data={**town_values("0", "0"), "action": "save"}).status_code == 409
    # the approver sees it in the queue and approves
    office = pilot_client("pilot_office")
    queue = office.get("/pilots/reports")
    assert path in queue.text
    assert office.post(f"{path}/approve", follow_redirects=False).status_code == 303
    report = report_of(pilots_app, TOWN_A, "2020-01-01")
    assert report.status == "approved" and report.approved_at is not None
    # locked: no save, no submit, no second approval
    assert town.post(path, data={**town_values("0", "0"), "action": "save"}).status_code == 409
    assert office.post(f"{path}/approve").status_code == 409
    assert values_of(pilots_app, report.id) == {
        ("TOWNSHIP_WORKGROUP", ""): (1, None),
        ("TOWNSHIP_HC_PSY_STAFF", ""): (0, None),
    }
    locked = town.get(path)
    assert 'name="num|' not in locked.text and 'data-status="approved"' in locked.text
    assert audit_actions(pilots_app, f"pilot_report/{report.id}") == [
        "pilots.report_saved",
        "pilots.report_submitted",
        "pilots.report_approved",
    ]


def test_issue5_change_after_lock_only_through_a_granted_request(pilots_app, plan_id, pilot_client):
    path = f"/pilots/reports/{plan_id}/{TOWN_A}/2020-04-01"
    town, office = pilot_client("town_a"), pilot_client("pilot_office")
    assert (
        town.post(
            path, data={**town_values("1", "1"), "action": "submit"}, follow_redirects=False
        ).status_code
        == 303
    )
    # the parent unit (the county's user) may approve as well: the level above
    assert pilot_client("county_user").post(f"{path}/approve", follow_redirects=False).status_code == 303
    # a sibling township may not grant anything
    assert pilot_client("town_b").post(f"{path}/change-request/grant").status_code == 404
    # no pending request → nothing to grant
    assert office.post(f"{path}/change-request/grant").status_code == 409
    asked = town.post(
        f"{path}/change-request", data={"reason": "乡镇卫生院心理专干填错"}, follow_redirects=False
    )
    assert asked.status_code == 303
    assert town.post(f"{path}/change-request", data={"reason": "again"}).status_code == 409
    assert town.post(f"{path}/change-request/grant").status_code == 403  # not its own approver
    assert "乡镇卫生院心理专干填错" in office.get("/pilots/reports").text
    assert office.post(f"{path}/change-request/grant", follow_redirects=False).status_code == 303
    report = report_of(pilots_app, TOWN_A, "2020-04-01")
    assert report.status == "draft" and report.approved_at is None
    assert (
        town.post(path, data={**town_values("1", "0"), "action": "save"}, follow_redirects=False).status_code
        == 303
    )
    actions = audit_actions(pilots_app, f"pilot_report/{report.id}")
    assert actions[-3:] == ["pilots.change_requested", "pilots.change_granted", "pilots.report_saved"]


def test_issue5_return_needs_a_comment_and_reopens_the_form(pilots_app, plan_id, pilot_client):
    path = f"/pilots/reports/{plan_id}/{TOWN_A}/2020-07-01"
    town, office = pilot_client("town_a"), pilot_client("pilot_office")
    town.post(path, data={**town_values("1", "1"), "action": "submit"})
    assert office.post(f"{path}/return", data={"comment": ""}).status_code == 422
    assert (
        office.post(
            f"{path}/return", data={"comment": "工作小组文件未上传"}, follow_redirects=False
        ).status_code
        == 303
    )
    page = town.get(path)
    assert "工作小组文件未上传" in page.text and 'name="num|TOWNSHIP_WORKGROUP|"' in page.text
    assert report_of(pilots_app, TOWN_A, "2020-07-01").status == "returned"


def test_issue5_entry_validation_names_indicator_field_and_reason_nothing_saved(
    pilots_app, plan_id, pilot_client
):
    """县级填报: 知晓率 (学生) 分子 950 > 分母 900 → 422; 是否指标填 2 → 422; 什么也不保存."""
    path = f"/pilots/reports/{plan_id}/{COUNTY}/2020-10-01"
    county = pilot_client("county_user")
    page = county.post(
        path,
        data={
            "num|PSY_LITERACY_RATE|students": "950",
            "den|PSY_LITERACY_RATE|students": "900",
            "num|PSY_HOTLINE_24H|": "2",
            "num|REHAB_STATIONS|": "abc",
            "action": "save",
        },
    )
    assert page.status_code == 422
    assert (
        "PSY_LITERACY_RATE" in page.text
        and "心理健康知识知晓率" in page.text
        and "950 大于分母 900" in page.text
    )
    assert "PSY_HOTLINE_24H" in page.text and "1 (是) 或 0 (否)" in page.text
    assert "abc" in page.text and "不是数字" in page.text
    assert 'value="950"' in page.text  # what the officer typed stays in the form
    assert report_of(pilots_app, COUNTY, "2020-10-01") is None
    ok = county.post(
        path,
        data={
            "num|PSY_LITERACY_RATE|students": "850",
            "den|PSY_LITERACY_RATE|students": "900",
            "action": "save",
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303
    report = report_of(pilots_app, COUNTY, "2020-10-01")
    assert values_of(pilots_app, report.id) == {("PSY_LITERACY_RATE", "students"): (850, 900)}


def test_periods_outside_the_plan_or_not_a_period_start_are_refused(pilots_app, plan_id, pilot_client):
    town = pilot_client("town_a")
    # 2022-01-01 is after the plan's end (2021-12-31); 2020-02-01 is not a quarter start
    for period, code in (
        ("2022-01-01", "pilots.period.outside_plan"),
        ("2020-02-01", "pilots.period.not_a_start"),
    ):
        page = town.post(
            f"/pilots/reports/{plan_id}/{TOWN_A}/{period}", data={**town_values("1", "1"), "action": "save"}
        )
        assert page.status_code == 422 and code in page.text, period
    assert town.get(f"/pilots/reports/{plan_id}/{TOWN_A}/not-a-date").status_code == 404


def test_a_unit_cannot_read_or_write_another_units_reports(pilots_app, plan_id, pilot_client, client_for):
    """本单位数据: 丹竹镇 sees nothing of 平南镇, in pages and in the API."""
    path = f"/pilots/reports/{plan_id}/{TOWN_A}/2021-01-01"
    town_a, town_b = pilot_client("town_a"), pilot_client("town_b")
    town_a.post(path, data={**town_values("1", "1"), "action": "save"})
    report = report_of(pilots_app, TOWN_A, "2021-01-01")
    assert town_b.get(path).status_code == 404
    assert town_b.post(path, data={**town_values("0", "0"), "action": "save"}).status_code == 404
    assert town_b.get(f"{path}/form.xlsx").status_code == 404
    assert town_b.get(f"/api/pilots/reports/{report.id}").status_code == 404
    assert all(r["unit_code"] != TOWN_A for r in town_b.get("/api/pilots/reports").json())
    body = {"plan_id": plan_id, "unit_code": TOWN_A, "period_start": "2021-01-01", "action": "save",
            "values": [{"indicator_code": "TOWNSHIP_WORKGROUP", "numerator": "0"}]}  # fmt: skip
    answer = town_b.post("/api/pilots/reports", json=body)
    assert answer.status_code == 404 and answer.json()["ok"] is False
    assert values_of(pilots_app, report.id)[("TOWNSHIP_WORKGROUP", "")] == (1, None)
    # the unit itself reads it through the API; a leader reads it but cannot change it
    own = town_a.get(f"/api/pilots/reports/{report.id}").json()
    assert own["unit_code"] == TOWN_A and own["status"] == "draft"
    leader = client_for("leader")
    assert leader.get(f"/api/pilots/reports/{report.id}").status_code == 200
    assert 'name="num|' not in leader.get(path).text
    assert leader.post(path, data={**town_values("0", "0"), "action": "save"}).status_code == 403
    # a hospital user has no pilot pages at all
    assert client_for("h1").get("/pilots/reports").status_code == 403
    assert client_for("h1").get("/api/pilots/reports").status_code == 403
    # the own unit's own page lists its periods (2019 Q4 … 2021 Q4: 9 quarters)
    index = town_a.get("/pilots/reports").text
    assert len(re.findall(rf"/pilots/reports/{plan_id}/{TOWN_A}/\d{{4}}-\d\d-01\"", index)) == 9
    assert f"/{TOWN_B}/" not in index


def test_api_saves_and_refuses_with_the_one_error_shape(pilots_app, plan_id, pilot_client):
    town = pilot_client("town_b")
    body = {"plan_id": plan_id, "unit_code": TOWN_B, "period_start": "2021-04-01", "action": "submit",
            "values": [{"indicator_code": "TOWNSHIP_WORKGROUP", "numerator": "3"}]}  # fmt: skip
    refused = town.post("/api/pilots/reports", json=body)
    assert refused.status_code == 422
    codes = sorted(p["code"] for p in refused.json()["problems"])
    assert codes == ["pilots.entry.not_yes_no", "pilots.entry.required"]  # 3 ∉ {0,1}; the other value missing
    assert report_of(pilots_app, TOWN_B, "2021-04-01") is None
    body["values"] = [
        {"indicator_code": "TOWNSHIP_WORKGROUP", "numerator": "1"},
        {"indicator_code": "TOWNSHIP_HC_PSY_STAFF", "numerator": "0"},
    ]
    saved = town.post("/api/pilots/reports", json=body)
    assert saved.status_code == 200, saved.text
    assert saved.json()["status"] == "submitted" and len(saved.json()["values"]) == 2


def test_approved_reports_feed_the_indicator_values_shape(pilots_app, plan_id, pilot_client):
    """Interfaces §1: unit_code, indicator_code, period_start (date32), population, numerator and
    denominator as decimal128(38, 8); only approved (locked) reports count."""
    from datetime import date
    from decimal import Decimal

    from shidian.pilots.model import VALUES_SCHEMA
    from shidian.pilots.store.values import indicator_values

    path = f"/pilots/reports/{plan_id}/{COUNTY}/2021-10-01"
    county = pilot_client("county_user")
    data = {"num|PSY_LITERACY_RATE|rural": "455", "den|PSY_LITERACY_RATE|rural": "1000", "action": "save"}
    assert county.post(path, data=data, follow_redirects=False).status_code == 303
    with pilots_app.state.engine.connect() as conn:
        before = indicator_values(conn, plan_id)
    assert before.schema == VALUES_SCHEMA
    assert not [
        r for r in before.to_pylist() if r["unit_code"] == COUNTY and r["period_start"] == date(2021, 10, 1)
    ]
    report = report_of(pilots_app, COUNTY, "2021-10-01")
    with pilots_app.state.engine.begin() as conn:  # approved by the office (the form would need every value)
        conn.execute(pilot_reports.update().where(pilot_reports.c.id == report.id).values(status="approved"))
    with pilots_app.state.engine.connect() as conn:
        rows = [
            r for r in indicator_values(conn, plan_id).to_pylist() if r["period_start"] == date(2021, 10, 1)
        ]
    assert {
        "unit_code": COUNTY,
        "indicator_code": "PSY_LITERACY_RATE",
        "period_start": date(2021, 10, 1),
        "population": "rural",
        "numerator": Decimal("455"),
        "denominator": Decimal("1000"),
    } in rows


def test_signed_out_visitors_are_sent_to_login_and_the_api_answers_401(pilots_app, plan_id, anonymous):
    for path in ("/pilots/reports", f"/pilots/reports/{plan_id}/{TOWN_A}/2020-01-01", "/pilots/supervision"):
        answer = anonymous.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login"), path
    answer = anonymous.get("/api/pilots/reports")
    assert answer.status_code == 401 and answer.json()["problems"][0]["code"] == "auth.required"


def test_a_unit_sees_only_the_plans_that_apply_to_it(pilots_app, plan_id, pilot_client):
    from shidian.pilots.plan_file import TEMPLATES
    from shidian.pilots.service.plans import load_plan_text
    from shidian.platform.units import all_units

    text = (
        TEMPLATES["psy-service"]
        .read_text(encoding="utf-8")
        .replace("code: psy-service", "code: psy-town-a", 1)
    )
    with pilots_app.state.engine.begin() as conn:
        town_a = next(u.id for u in all_units(conn).values() if u.code == TOWN_A)
        other, count, _ = load_plan_text(conn, text, "psy-town-a.yaml", None, scope={town_a})
    assert other is not None and count == 1  # only 平南镇 reports under it
    option = f'<option value="{other}"'
    assert option in pilot_client("town_a").get("/pilots/reports/completeness").text
    assert option not in pilot_client("town_b").get("/pilots/reports/completeness").text
    assert option not in pilot_client("town_b").get("/pilots/supervision").text
    assert pilot_client("town_b").get(f"/pilots/reports/{other}/{TOWN_A}/2020-01-01").status_code == 404


def test_issue19_the_approver_approves_or_returns_many_reports_at_once(pilots_app, plan_id, pilot_client):
    """批量审核/退回: ticked reports are reviewed together, each audited; all or nothing."""
    paths = {
        (TOWN_A, "2019-10-01"): f"/pilots/reports/{plan_id}/{TOWN_A}/2019-10-01",
        (TOWN_A, "2020-10-01"): f"/pilots/reports/{plan_id}/{TOWN_A}/2020-10-01",
        (TOWN_A, "2021-04-01"): f"/pilots/reports/{plan_id}/{TOWN_A}/2021-04-01",
    }
    town = pilot_client("town_a")  # 平南镇's own quarters that no other test uses
    for path in paths.values():
        assert town.post(path, data={**town_values("1", "1"), "action": "submit"}).status_code in (200, 303)
    office = pilot_client("pilot_office")
    queue = office.get("/pilots/reports")
    assert 'id="bulk-review"' in queue.text
    assert 'id="pending-approvals"' in office.get("/pilots/supervision").text  # where the office lands
    ticked = [f"{plan_id}|{unit}|{period}" for unit, period in paths]
    # a return needs a comment: nothing changes
    no_comment = office.post("/pilots/reports/review", data={"report": ticked[:2], "action": "return"})
    assert no_comment.status_code == 422
    assert {report_of(pilots_app, u, p).status for u, p in paths} == {"submitted"}
    # one report that is not the approver's to review (a draft) refuses the whole batch
    draft = f"/pilots/reports/{plan_id}/{TOWN_A}/2021-07-01"
    pilot_client("town_a").post(draft, data={**town_values("1", ""), "action": "save"})
    mixed = office.post(
        "/pilots/reports/review",
        data={"report": [*ticked, f"{plan_id}|{TOWN_A}|2021-07-01"], "action": "approve"},
    )
    assert mixed.status_code == 422 and "2021-07-01" in mixed.text
    assert {report_of(pilots_app, u, p).status for u, p in paths} == {"submitted"}
    approved = office.post(
        "/pilots/reports/review", data={"report": ticked[:2], "action": "approve"}, follow_redirects=False
    )
    assert (
        approved.status_code == 303 and approved.headers["location"] == "/pilots/reports?reviewed=approve-2"
    )
    returned = office.post(
        "/pilots/reports/review",
        data={"report": ticked[2:], "action": "return", "comment": "数据需核实"},
        follow_redirects=False,
    )
    assert returned.status_code == 303
    statuses = {key: report_of(pilots_app, *key).status for key in paths}
    assert statuses == {
        (TOWN_A, "2019-10-01"): "approved",
        (TOWN_A, "2020-10-01"): "approved",
        (TOWN_A, "2021-04-01"): "returned",
    }
    first = report_of(pilots_app, TOWN_A, "2019-10-01")
    assert audit_actions(pilots_app, f"pilot_report/{first.id}")[-1] == "pilots.report_approved"
    # a reporting unit may not review
    assert pilot_client("town_a").post(
        "/pilots/reports/review", data={"report": ticked, "action": "approve"}
    ).status_code in (403, 422)
