"""Supervision (督导) and completeness (完整性与及时性) pages: visits, findings, evidence,
rectifications with deadlines (限期整改), overdue warnings, the supervision list; access."""

from __future__ import annotations

import re
from datetime import date, timedelta

import sqlalchemy as sa

from shidian.platform import clock
from shidian.platform.db.pilots_schema import (
    pilot_evidence,
    pilot_findings,
    pilot_rectifications,
    pilot_visits,
)
from shidian.platform.db.schema import audit_events
from tests.web.pilots.conftest import TOWN_A, TOWN_B, VILLAGE_A

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _new_visit(office, plan_id: int, unit: str, on: str = "2021-03-15") -> int:  # type: ignore[no-untyped-def]
    answer = office.post(
        "/pilots/supervision/visits",
        data={
            "plan_id": str(plan_id),
            "unit_code": unit,
            "visited_on": on,
            "team": "县试点办 陈静、李明",
            "summary": "季度督导",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return int(answer.headers["location"].rsplit("/", 1)[1])


def _last_id(app, table) -> int:  # type: ignore[no-untyped-def]
    with app.state.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.max(table.c.id))).scalar())


def test_issue5_visit_finding_evidence_and_overdue_rectification_warning(pilots_app, plan_id, pilot_client):
    """督导发现问题 → 限期整改; past the deadline and still open → a warning on the office's page."""
    office, town = pilot_client("pilot_office"), pilot_client("town_a")
    visit_id = _new_visit(office, plan_id, TOWN_A)
    answer = office.post(
        f"/pilots/supervision/visits/{visit_id}/findings",
        data={
            "description": "工作小组未按季度召开会议",
            "severity": "major",
            "deduction_points": "2.5",
            "indicator_code": "TOWNSHIP_WORKGROUP",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303
    finding_id = _last_id(pilots_app, pilot_findings)
    # evidence: a PNG is accepted and stored by its hash; a text file posing as PDF is refused
    ok = office.post(f"/pilots/supervision/findings/{finding_id}/evidence", files={"file": ("会议照片.png", PNG, "image/png")},
                     follow_redirects=False)  # fmt: skip
    assert ok.status_code == 303
    fake = office.post(
        f"/pilots/supervision/findings/{finding_id}/evidence",
        files={"file": ("x.pdf", b"hello", "application/pdf")},
    )
    assert fake.status_code == 422 and "pilots.evidence.type" in fake.text
    with pilots_app.state.engine.connect() as conn:
        stored = conn.execute(
            sa.select(pilot_evidence).where(pilot_evidence.c.finding_id == finding_id)
        ).all()
    assert [(e.filename, e.content_type, e.size) for e in stored] == [("会议照片.png", "image/png", len(PNG))]
    download = town.get(f"/pilots/supervision/evidence/{stored[0].id}")
    assert download.status_code == 200 and download.content == PNG
    assert pilot_client("town_b").get(f"/pilots/supervision/evidence/{stored[0].id}").status_code == 404
    # a rectification item whose deadline has passed (yesterday) and one not yet due
    later = clock.today() + timedelta(days=30)
    for action, deadline in (("补开工作小组会议并上传纪要", date(2021, 3, 20)), ("建立会议台账", later)):
        answer = office.post(
            f"/pilots/supervision/findings/{finding_id}/rectifications",
            data={"action": action, "deadline": deadline.isoformat()},
            follow_redirects=False,
        )
        assert answer.status_code == 303
    # a deadline before the visit is refused
    assert (
        office.post(
            f"/pilots/supervision/findings/{finding_id}/rectifications",
            data={"action": "x", "deadline": "2021-03-01"},
        ).status_code
        == 422
    )
    page = office.get("/pilots/supervision")
    assert page.status_code == 200
    warnings = page.text[
        page.text.index('id="overdue-warnings"') : page.text.index(
            "</section>", page.text.index('id="overdue-warnings"')
        )
    ]
    assert (
        "补开工作小组会议并上传纪要" in warnings and "平南镇" in warnings and "建立会议台账" not in warnings
    )
    days = (clock.today() - date(2021, 3, 20)).days
    assert f"已逾期 {days} 天" in warnings
    # the visited unit marks the item done: no longer overdue; the office verifies it
    item_id = _last_id(pilots_app, pilot_rectifications) - 1
    assert (
        pilot_client("town_b").post(f"/pilots/supervision/rectifications/{item_id}/mark_done").status_code
        == 404
    )
    assert town.post(f"/pilots/supervision/rectifications/{item_id}/verify").status_code == 403
    assert (
        town.post(
            f"/pilots/supervision/rectifications/{item_id}/mark_done", follow_redirects=False
        ).status_code
        == 303
    )
    assert "补开工作小组会议并上传纪要" not in office.get("/pilots/supervision").text.split('id="visits"')[0]
    assert (
        office.post(
            f"/pilots/supervision/rectifications/{item_id}/verify", follow_redirects=False
        ).status_code
        == 303
    )
    assert office.post(f"/pilots/supervision/rectifications/{item_id}/verify").status_code == 409
    with pilots_app.state.engine.connect() as conn:
        item = conn.execute(sa.select(pilot_rectifications).where(pilot_rectifications.c.id == item_id)).one()
        assert item.status == "verified" and item.closed_at is not None
        actions = set(
            conn.execute(
                sa.select(audit_events.c.action).where(audit_events.c.action.like("pilots.%"))
            ).scalars()
        )
    assert {"pilots.visit_created", "pilots.finding_created", "pilots.evidence_uploaded", "pilots.evidence_viewed",
            "pilots.rectification_created", "pilots.rectification_mark_done", "pilots.rectification_verify"} <= actions  # fmt: skip
    visit_page = office.get(f"/pilots/supervision/visits/{visit_id}")
    assert 'id="total-deduction">2.50<' in visit_page.text


def test_visits_are_scoped_to_the_visited_unit_and_the_office(pilots_app, plan_id, pilot_client, client_for):
    office = pilot_client("pilot_office")
    visit_id = _new_visit(office, plan_id, VILLAGE_A, "2021-05-06")
    assert pilot_client("town_b").get(f"/pilots/supervision/visits/{visit_id}").status_code == 404
    assert pilot_client("village_a").get(f"/pilots/supervision/visits/{visit_id}").status_code == 200
    # the parent township sees its village's visit; the leader reads everything
    assert pilot_client("town_a").get(f"/pilots/supervision/visits/{visit_id}").status_code == 200
    assert client_for("leader").get(f"/pilots/supervision/visits/{visit_id}").status_code == 200
    # only the office records visits and findings
    town = pilot_client("town_a")
    answer = town.post("/pilots/supervision/visits", data={"plan_id": str(plan_id), "unit_code": TOWN_A,
                                                           "visited_on": "2021-05-06", "team": "x"})  # fmt: skip
    assert answer.status_code == 403
    assert (
        town.post(f"/pilots/supervision/visits/{visit_id}/findings", data={"description": "x"}).status_code
        == 403
    )
    # a visit in the future is refused
    future = (clock.today() + timedelta(days=2)).isoformat()
    assert office.post("/pilots/supervision/visits", data={"plan_id": str(plan_id), "unit_code": TOWN_B,
                                                           "visited_on": future, "team": "x"}).status_code == 422  # fmt: skip
    assert client_for("h1").get("/pilots/supervision").status_code == 403
    with pilots_app.state.engine.connect() as conn:
        assert (
            conn.execute(
                sa.select(sa.func.count())
                .select_from(pilot_visits)
                .where(pilot_visits.c.visited_on > clock.today())
            ).scalar()
            == 0
        )


def _grid_row(text: str, unit: str) -> str:
    grid = text[text.index('id="completeness-grid"') :]
    start = grid.index(f"<code>{unit}</code>")
    return grid[start : grid.index("</tr>", start)]


def test_completeness_page_marks_late_and_missing_in_red(pilots_app, plan_id, pilot_client):
    """Quarterly plan, due the 10th of the month after the quarter. 丹竹镇 submits 2019 Q4 (due
    2020-01-10) today — long after: late. Every quarter without a report is missing."""
    town_b = pilot_client("town_b")
    path = f"/pilots/reports/{plan_id}/{TOWN_B}/2019-10-01"
    values = {"num|TOWNSHIP_WORKGROUP|": "1", "num|TOWNSHIP_HC_PSY_STAFF|": "1", "action": "submit"}
    assert town_b.post(path, data=values, follow_redirects=False).status_code == 303
    office = pilot_client("pilot_office")
    page = office.get(f"/pilots/reports/completeness?plan={plan_id}&year=2019")
    assert page.status_code == 200
    # 2019 has one quarter of the plan (Q4): late by today − 2020-01-10 days
    cells = re.findall(r'<td class="([^"]*)" data-status="([^"]*)"', _grid_row(page.text, TOWN_B))
    assert cells == [("error", "late")]
    days = (clock.today() - date(2020, 1, 10)).days
    assert f"({days}" in _grid_row(page.text, TOWN_B)
    # 2020: four quarters, none submitted by 丹竹镇 → four missing, in red
    page = office.get(f"/pilots/reports/completeness?plan={plan_id}&year=2020")
    cells = re.findall(r'<td class="([^"]*)" data-status="([^"]*)"', _grid_row(page.text, TOWN_B))
    assert cells == [("error", "missing")] * 4
    # the default is the latest year (2021: four quarters)
    page = office.get(f"/pilots/reports/completeness?plan={plan_id}")
    assert len(re.findall(r'data-status="', _grid_row(page.text, TOWN_B))) == 4
    # a reporting unit sees only its own row
    own = town_b.get(f"/pilots/reports/completeness?plan={plan_id}").text
    assert f"<code>{TOWN_B}</code>" in own and f"<code>{TOWN_A}</code>" not in own


def test_supervision_list_shows_lagging_units_from_approved_reports(pilots_app, plan_id, pilot_client):
    """平南镇城东社区 reports no 心理咨询室 (0) for 2021 Q4, approved: the 80% target (deadline
    2021-12-31) is not met and the deadline has passed → overdue, on the supervision list."""
    village, town = pilot_client("village_a"), pilot_client("town_a")
    path = f"/pilots/reports/{plan_id}/{VILLAGE_A}/2021-10-01"
    assert (
        village.post(
            path, data={"num|PSY_ROOM_RATE|": "0", "action": "submit"}, follow_redirects=False
        ).status_code
        == 303
    )
    assert (
        town.post(f"{path}/approve", follow_redirects=False).status_code == 303
    )  # the parent township approves
    page = pilot_client("pilot_office").get(f"/pilots/supervision?plan={plan_id}")
    listing = page.text[
        page.text.index('id="supervision-list"') : page.text.index(
            "</table>", page.text.index('id="supervision-list"')
        )
    ]
    assert VILLAGE_A in listing and "PSY_ROOM_RATE" in listing
