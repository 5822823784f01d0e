"""The pilot workflows without HTTP (``shidian.pilots.service``), on a fresh SQLite database.

The rules come from issue #5 and docs/pilots.md: a unit enters its own values; submit needs
every value; the level above approves (locked) or returns with a comment; a locked report
changes only through a granted change request; the visited unit reports a rectification done,
the pilot office verifies it; every change is audited, refusals of files too.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from shidian.pilots.entry import Entry
from shidian.pilots.plan_file import TEMPLATES
from shidian.pilots.service import overview, plans, supervision
from shidian.pilots.service import reports as service
from shidian.pilots.service.reports import ReportRef
from shidian.platform.accounts import User, create_unit, create_user, get_user
from shidian.platform.db.engine import make_engine, upgrade
from shidian.platform.db.pilots_schema import pilot_reports
from shidian.platform.db.schema import audit_events
from shidian.problems import Refused

PASSWORD = "Pilot-Service-2021"
CITY, COUNTY, TOWN_A, TOWN_B = "450800", "450821", "450821100", "450821101"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'pilots.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def world(engine: sa.Engine) -> dict[str, object]:
    """贵港市 → 平南县 → 平南镇, 丹竹镇; the pilot office under the city; the psy-service plan."""
    with engine.begin() as conn:
        city = create_unit(conn, CITY, "贵港市", "city", region_code=CITY)
        county = create_unit(conn, COUNTY, "平南县", "county", parent_id=city, region_code=COUNTY)
        town_a = create_unit(conn, TOWN_A, "平南镇", "township", parent_id=county, region_code=TOWN_A)
        town_b = create_unit(conn, TOWN_B, "丹竹镇", "township", parent_id=county, region_code=TOWN_B)
        office = create_unit(conn, "OFFICE-450800", "试点办", "office", parent_id=city)
        ids = {
            "office": create_user(conn, "office", PASSWORD, "pilot_office", office),
            "town_a": create_user(conn, "town_a", PASSWORD, "reporting_unit", town_a),
            "town_b": create_user(conn, "town_b", PASSWORD, "reporting_unit", town_b),
            "leader": create_user(conn, "leader", PASSWORD, "leader", city),
        }
        text = TEMPLATES["psy-service"].read_text(encoding="utf-8")
        plan_id, count, problems = plans.load_plan_text(conn, text, "psy-service.yaml", None)
        assert plan_id is not None, problems
        users = {name: get_user(conn, uid) for name, uid in ids.items()}
    return {"plan_id": plan_id, "units": count, **users}


def user(world: dict[str, object], name: str) -> User:
    found = world[name]
    assert isinstance(found, User)
    return found


def town_entries(workgroup: str | None, staff: str | None) -> list[Entry]:
    """The two yes/no indicators a township reports under the psy-service plan (None: left blank)."""
    values = {"TOWNSHIP_WORKGROUP": workgroup, "TOWNSHIP_HC_PSY_STAFF": staff}
    return [Entry(code, "", Decimal(v), None) for code, v in values.items() if v is not None]


def audit(engine: sa.Engine, target: str) -> list[tuple[str, dict[str, object]]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(audit_events.c.action, audit_events.c.detail)
            .where(audit_events.c.target == target)
            .order_by(audit_events.c.id)
        ).all()
    return [(a, d) for a, d in rows]


def status_of(engine: sa.Engine, report_id: int) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(sa.select(pilot_reports.c.status).where(pilot_reports.c.id == report_id)).scalar()
        )


def test_save_submit_approve_lock_one_workflow_for_form_and_api(engine, world):
    ref = ReportRef(world["plan_id"], TOWN_A, "2020-01-01")
    town, office = user(world, "town_a"), user(world, "office")
    with engine.begin() as conn:
        report_id, problems = service.save_report(conn, town, ref, town_entries("1", None), "save")
    assert report_id is not None and not problems
    with engine.begin() as conn:  # submit needs every value: nothing written
        refused, problems = service.save_report(conn, town, ref, town_entries("1", None), "submit", via="api")
    assert refused is None and any("TOWNSHIP_HC_PSY_STAFF" in p.message for p in problems)
    assert status_of(engine, report_id) == "draft"
    with engine.begin() as conn:
        again, _ = service.save_report(conn, town, ref, town_entries("1", "0"), "submit", via="api")
    assert again == report_id and status_of(engine, report_id) == "submitted"
    with engine.begin() as conn:
        status, problems = service.review_report(conn, office, ref, "approve", "")
    assert status == "approved" and not problems
    with engine.begin() as conn, pytest.raises(Refused) as locked:
        service.save_report(conn, town, ref, town_entries("0", "0"), "save")
    assert locked.value.reason == "conflict"
    logged = audit(engine, f"pilot_report/{report_id}")
    assert [a for a, _ in logged] == [
        "pilots.report_saved",
        "pilots.report_submitted",
        "pilots.report_approved",
    ]
    assert "via" not in logged[0][1] and logged[1][1]["via"] == "api"
    assert logged[1][1]["unit"] == TOWN_A and logged[1][1]["values"] == 2


def test_scope_and_permission_refusals(engine, world):
    ref = ReportRef(world["plan_id"], TOWN_A, "2020-01-01")
    with engine.begin() as conn, pytest.raises(Refused) as other_unit:
        service.open_report(conn, user(world, "town_b"), ref)  # a sibling: as if it did not exist
    assert other_unit.value.reason == "not_found"
    with engine.begin() as conn, pytest.raises(Refused) as not_own:
        service.save_report(conn, user(world, "office"), ref, town_entries("1", "1"), "save")
    assert not_own.value.reason == "forbidden"  # only the unit itself enters values
    with engine.begin() as conn:  # a leader reads every report
        assert service.open_report(conn, user(world, "leader"), ref).unit.code == TOWN_A


def test_return_needs_a_comment_and_a_change_request_reopens_a_locked_report(engine, world):
    ref = ReportRef(world["plan_id"], TOWN_A, "2020-04-01")
    town, office = user(world, "town_a"), user(world, "office")
    with engine.begin() as conn:
        report_id, _ = service.save_report(conn, town, ref, town_entries("1", "1"), "submit")
        status, problems = service.review_report(conn, office, ref, "return", "  ")
    assert status is None and [p.code for p in problems] == ["pilots.report.comment_required"]
    with engine.begin() as conn:
        assert service.review_report(conn, office, ref, "approve", "好")[0] == "approved"
        assert [p.code for p in service.request_change(conn, town, ref, "")] == [
            "pilots.report.reason_required"
        ]
        assert service.request_change(conn, town, ref, "专干人数填错") == []
    with engine.begin() as conn, pytest.raises(Refused) as twice:
        service.request_change(conn, town, ref, "again")
    assert twice.value.reason == "conflict"
    with engine.begin() as conn:
        service.decide_change(conn, office, ref, "grant", "同意")
    assert report_id is not None and status_of(engine, report_id) == "draft"
    assert [a for a, _ in audit(engine, f"pilot_report/{report_id}")][-2:] == [
        "pilots.change_requested",
        "pilots.change_granted",
    ]


def test_a_refused_upload_is_audited_and_writes_nothing(engine, world, tmp_path):
    ref = ReportRef(world["plan_id"], TOWN_A, "2020-07-01")
    data = "指标编码,人群编码,分子/数值\nTOWNSHIP_WORKGROUP,,abc\n".encode()
    with engine.begin() as conn:
        report_id, problems = service.upload_report_form(
            conn, user(world, "town_a"), ref, data, "form.csv", tmp_path
        )
        assert report_id is None and problems
        assert conn.execute(sa.select(pilot_reports.c.id)).first() is None
    logged = audit(engine, ref.path)
    assert [a for a, _ in logged] == ["pilots.report_upload_refused"]
    assert logged[0][1]["file"] == "form.csv"


def test_index_queue_and_completeness(engine, world):
    ref = ReportRef(world["plan_id"], TOWN_A, "2020-01-01")
    with engine.begin() as conn:
        service.save_report(conn, user(world, "town_a"), ref, town_entries("1", "1"), "submit")
        index = overview.reports_index(conn, user(world, "office"), date(2020, 5, 1))
        assert [q["path"] for q in index.queue] == [ref.path] and index.mine == []
        mine = overview.reports_index(conn, user(world, "town_a"), date(2020, 5, 1)).mine
        assert [p["start"] for p in mine[0]["periods"]] == [
            date(2020, 4, 1),
            date(2020, 1, 1),
            date(2019, 10, 1),
        ]
        grid = overview.completeness_grid(conn, user(world, "town_b"), None, date(2020, 5, 1))
        assert [code for code, _ in grid["units"]] == [TOWN_B]  # a unit sees itself (and below)


def test_plan_loading_refusals(engine, world, tmp_path):
    office = user(world, "office")
    with engine.begin() as conn:
        plan_id, problems = plans.load_template_plan(conn, office, "no-such", 10)
        assert plan_id is None and [p.code for p in problems] == ["pilots.template.unknown"]
        plan_id, problems = plans.upload_plan(conn, office, b"\xff\xfe bad", "plan.yaml", 10, tmp_path)
        assert plan_id is None and [p.code for p in problems] == ["pilots.plan.unreadable"]
        loaded, _ = plans.load_template_plan(conn, office, "psy-service", 15)
    assert loaded is not None
    assert [a for a, _ in audit(engine, "plan.yaml")] == ["pilots.plan_refused"]
    assert audit(engine, f"pilot_plan/{loaded}") == [
        ("pilots.plan_loaded", {"template": "psy-service", "units": world["units"], "due_day": 15})
    ]


def test_supervision_visit_findings_evidence_and_rectification_steps(engine, world, tmp_path):
    office, town_a, town_b = user(world, "office"), user(world, "town_a"), user(world, "town_b")
    with engine.begin() as conn:
        visit = supervision.create_visit(
            conn, office, world["plan_id"], TOWN_A, date(2021, 3, 1), "督导组", "", date(2021, 3, 2)
        )
        finding, problems = supervision.add_finding(
            conn, office, visit, "心理咨询室未建", "major", Decimal(2)
        )
        assert finding is not None and not problems
        assert supervision.add_rectification(conn, office, finding, "建设心理咨询室", date(2021, 2, 1))[1][
            0
        ].code == ("pilots.rectification.deadline")
        assert supervision.add_rectification(conn, office, finding, "建设心理咨询室", date(2021, 6, 30)) == (
            visit,
            [],
        )
        wrong = supervision.upload_evidence(conn, town_a, finding, b"not a pdf", "a.pdf", tmp_path)
        assert [p.code for p in wrong[1]] == ["pilots.evidence.type"]
        assert supervision.upload_evidence(conn, town_a, finding, b"%PDF-1.4 x", "a.pdf", tmp_path) == (
            visit,
            [],
        )
        item = supervision.overview(conn, office, world["plan_id"], date(2021, 7, 1)).rectifications[0]
        with pytest.raises(Refused) as unseen:
            supervision.visit_detail(conn, town_b, visit)
        assert unseen.value.reason == "not_found"
        with pytest.raises(Refused) as not_yours:
            supervision.step_rectification(conn, town_a, item.id, "verify")  # only the office verifies
        assert not_yours.value.reason == "forbidden"
        assert supervision.step_rectification(conn, town_a, item.id, "mark_done", "已建成") == visit
        assert supervision.step_rectification(conn, office, item.id, "verify") == visit
        with pytest.raises(Refused) as done:
            supervision.step_rectification(conn, office, item.id, "verify")
        assert done.value.reason == "conflict"
        detail = supervision.visit_detail(conn, town_a, visit)
        assert detail.is_visited_unit and not detail.may_manage and detail.total_deduction == Decimal(2)
    assert audit(engine, f"pilot_rectification/{item.id}")[-1] == (
        "pilots.rectification_verify",
        {"from": "done", "to": "verified"},
    )
