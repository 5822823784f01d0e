"""The registry's workflows without HTTP (shidian.registry.service) on a real SQLite database.

Expected values come from the rules: the standard's “2周内随访” for an unstable patient (14 days),
the policy's first follow-up 14 days after registration and 7 days of “due soon”, 000 篇3 第11项
(“三级以上” includes level 3), 第12项 (规范管理: at least 4 assessed follow-ups a year).
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
from dataclasses import dataclass

import openpyxl
import pytest
import sqlalchemy as sa

from shidian.insurance.id_number import check_char
from shidian.platform import clock
from shidian.platform.accounts import User, create_unit, create_user, get_user
from shidian.platform.audit import Client
from shidian.platform.crypto import DataKeys
from shidian.platform.db.engine import make_engine, upgrade
from shidian.platform.db.registry_schema import registry_doctor_areas
from shidian.platform.db.schema import audit_events
from shidian.problems import Refused
from shidian.registry import Period, registry_policy, service
from shidian.registry.records import AssignmentIn, FollowUpIn, PatientIn, TeamActionIn, TeamMemberIn

KEYS = DataKeys.from_secret("s" * 48)
POLICY = registry_policy("national-2018")
V1, V2, V3 = "450881100001", "450881100002", "450881101001"
_serial = itertools.count(1)


def id_number() -> str:
    first17 = f"45082119800101{next(_serial):03d}"
    return first17 + check_char(first17)


@dataclass
class World:
    engine: sa.Engine
    users: dict[str, int]

    def user(self, conn: sa.Connection, name: str) -> User:
        found = get_user(conn, self.users[name])
        assert found is not None
        return found


@pytest.fixture
def world(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/db.sqlite")
    upgrade(engine)
    with engine.begin() as conn:
        county = create_unit(conn, "450881", "桂平市", "county")
        office = create_unit(conn, "OFFICE", "试点办", "office")
        t1 = create_unit(conn, "450881100", "平南镇", "township", parent_id=county)
        t2 = create_unit(conn, "450881101", "大安镇", "township", parent_id=county)
        v1 = create_unit(conn, V1, "东村", "village", parent_id=t1)
        create_unit(conn, V2, "西村", "village", parent_id=t1)
        v3 = create_unit(conn, V3, "南村", "village", parent_id=t2)
        users = {
            "doc": create_user(conn, "doc", "secret-pass-2020", "mental_health_doctor", t1, "医生甲"),
            "doc_b": create_user(conn, "doc_b", "secret-pass-2020", "mental_health_doctor", t2, "医生乙"),
            "town": create_user(conn, "town", "secret-pass-2020", "reporting_unit", t1, "乡镇"),
            "office": create_user(conn, "office", "secret-pass-2020", "pilot_office", office, "试点办"),
        }
        conn.execute(registry_doctor_areas.insert().values(user_id=users["doc"], unit_id=v1))
        conn.execute(registry_doctor_areas.insert().values(user_id=users["doc_b"], unit_id=v3))
    yield World(engine, users)
    engine.dispose()


def audits(conn: sa.Connection, action: str) -> list[tuple[str | None, dict[str, object]]]:
    rows = conn.execute(
        sa.select(audit_events.c.target, audit_events.c.detail)
        .where(audit_events.c.action == action)
        .order_by(audit_events.c.id)
    ).all()
    return [(r.target, r.detail) for r in rows]


def register(conn: sa.Connection, user: User, days_ago: int = 0, **fields: object) -> str:
    data = PatientIn.model_validate(
        {
            "name": "周一",
            "id_number": id_number(),
            "village_code": V1,
            "icd10": "F20.0",
            "registered_on": clock.today() - dt.timedelta(days=days_ago),
            **fields,
        }
    )
    registry_no, problems = service.register_patient(conn, KEYS, user, data, Client("10.0.0.1", "pytest"))
    assert registry_no is not None, problems
    return registry_no


def test_register_a_patient_first_follow_up_in_14_days(world):
    with world.engine.begin() as conn:
        doc = world.user(conn, "doc")
        no = register(conn, doc, days_ago=3)
        total, rows = service.list_patients(conn, KEYS, doc, q=no)
        assert total == 1 and rows[0].registry_no == no and rows[0].name == "周*"
        # policy intervals.first_after_registration_days = 14: due 14 − 3 = 11 days from today
        assert rows[0].next_due_on == clock.today() + dt.timedelta(days=11)
        assert POLICY.first_followup_days == 14
        assert audits(conn, "registry.patient_registered") == [(no, {})]
        assert audits(conn, "registry.patients_listed") == [(None, {"q": True, "page": 1, "rows": 1})]


def test_registration_reports_every_problem_at_once(world):
    with world.engine.begin() as conn:
        doc = world.user(conn, "doc")
        bad = PatientIn(
            name=" ",
            id_number="450821198001011235",
            village_code=V3,
            icd10="F30",
            registered_on=clock.today() + dt.timedelta(days=1),
        )
        registry_no, problems = service.register_patient(conn, KEYS, doc, bad)
        assert registry_no is None
        assert sorted(p.code for p in problems) == [
            "registry.patient.in_future",
            "registry.patient.invalid_id",
            "registry.patient.name_required",
            "registry.patient.outside_area",  # 南村 is doc_b's, not doc's
            "registry.patient.unknown_diagnosis",  # F30 is not 双相 (F31)
        ]
        assert audits(conn, "registry.patient_registered") == []
        with pytest.raises(Refused) as refused:
            service.register_patient(conn, KEYS, world.user(conn, "town"), bad)  # not a doctor
        assert refused.value.reason == "forbidden"


def test_unstable_follow_up_due_in_two_weeks_and_needs_a_team(world):
    today = clock.today()
    with world.engine.begin() as conn:
        doc = world.user(conn, "doc")
        no = register(conn, doc, days_ago=30)
        result, problems = service.record_followup(
            conn, doc, no, FollowUpIn(followed_on=today, risk_level=3, behaviours=["smash_anywhere"])
        )
        assert problems == [] and result is not None
        # 危险性 3 级 → 病情不稳定 → 2周内随访, refer at once, a team is due (000 篇3 第12项)
        assert (result.classification, result.next_due_on) == ("unstable", today + dt.timedelta(days=14))
        assert result.refer_now and result.needs_team and result.suggested_level == 3
        detail = {"followup_id": result.followup_id, "risk_level": 3, "class": "unstable"}
        assert audits(conn, "registry.followup_recorded") == [(no, detail)]
        late, problems = service.record_followup(
            conn, doc, no, FollowUpIn(followed_on=today + dt.timedelta(days=1), risk_level=6)
        )
        assert late is None
        assert sorted(p.code for p in problems) == [
            "registry.followup.in_future",
            "registry.followup.invalid_risk",
        ]
        with pytest.raises(Refused) as refused:  # doc_b's area is 南村 only
            service.record_followup(
                conn, world.user(conn, "doc_b"), no, FollowUpIn(followed_on=today, risk_level=0)
            )
        assert refused.value.reason == "not_found"


def test_team_member_and_action(world):
    today = clock.today()
    with world.engine.begin() as conn:
        doc = world.user(conn, "doc")
        no = register(conn, doc, days_ago=5)
        member = service.add_team_member(
            conn, doc, no, TeamMemberIn(role="grid_worker", member_name=" 网格员 覃明 ", phone=None)
        )
        assert (member.member_name, member.added_on) == ("网格员 覃明", today)
        action, problems = service.add_team_action(
            conn, doc, no, TeamActionIn(member_id=member.id + 100, acted_on=today, action="走访")
        )
        assert action is None and [p.code for p in problems] == ["registry.team.unknown_member"]
        action, problems = service.add_team_action(
            conn, doc, no, TeamActionIn(member_id=member.id, acted_on=today, action=" 联合走访 ")
        )
        assert problems == [] and action is not None and action.action == "联合走访"
        assert audits(conn, "registry.team_member_added") == [
            (no, {"member_id": member.id, "role": "grid_worker"})
        ]
        assert audits(conn, "registry.team_action_recorded") == [(no, {"action_id": action.id})]
        detail = service.patient_detail(conn, KEYS, doc, no)
        assert [m.id for m in detail.team] == [member.id] and not detail.masked  # a doctor sees names


def test_patient_page_masked_for_the_township(world):
    with world.engine.begin() as conn:
        no = register(conn, world.user(conn, "doc"), guardian_name="周母")
        detail = service.patient_detail(conn, KEYS, world.user(conn, "town"), no)
        assert detail.masked and detail.patient.name == "周*" and detail.guardian_name == "周*"
        assert detail.required_per_year == 4 and detail.required_health_checks == 1  # 规范 3., 5.
        assert audits(conn, "registry.patient_viewed") == [(no, {"masked": True})]


def test_work_list_and_warnings(world):
    today = clock.today()
    with world.engine.begin() as conn:
        doc = world.user(conn, "doc")
        due = register(conn, doc, days_ago=10)  # first follow-up due in 4 days: within 7
        overdue = register(conn, doc, days_ago=20)  # due 6 days ago
        register(conn, doc, days_ago=0)  # due in 14 days: not yet on the list
        day, items = service.work_list(conn, doc)
        assert day == today
        assert [(i.registry_no, i.state, i.days_overdue) for i in items] == [
            (overdue, "overdue", 6),
            (due, "due", 0),
        ]
        assert audits(conn, "registry.worklist_viewed") == [(None, {"rows": 2})]
        rows = service.warnings(conn, world.user(conn, "town"))
        assert [(r.village_code, r.overdue, r.max_days_overdue) for r in rows] == [(V1, 1, 6)]
        assert service.warnings(conn, world.user(conn, "doc_b")) == []


def test_indicators_scoped_to_the_area(world):
    year = clock.today().year - 1
    with world.engine.begin() as conn:
        doc = world.user(conn, "doc")
        register(conn, doc, days_ago=(clock.today() - dt.date(year, 3, 1)).days)
        report = service.indicators(conn, world.user(conn, "town"), Period.parse(str(year)), V1)
        values = {r.indicator_code: (r.numerator, r.denominator, r.target) for r in report.rows}
        # on the register, no follow-up: 规范管理 0/1 against the 80% target (000 篇3 第12项)
        assert values["SMD_REGULAR_MGMT_RATE"] == ("0", "1", "≥ 80%")
        assert (report.area_code, report.area_name) == (V1, "东村")
        with pytest.raises(Refused) as refused:
            service.indicators(conn, world.user(conn, "doc_b"), Period.parse(str(year)), V1)
        assert refused.value.reason == "not_found"
        table = service.indicator_values(conn, "450881", Period.parse(str(year)))
        assert table is not None
        assert service.indicator_values(conn, "NOPE", Period.parse(str(year))) is None


def test_guardian_rewards_level_3_is_three_plus(world):
    today = clock.today()
    with world.engine.begin() as conn:
        doc = world.user(conn, "doc")
        no = register(conn, doc, guardian_name="周母")
        service.record_followup(conn, doc, no, FollowUpIn(followed_on=today, risk_level=3))
        rows = service.reward_list(conn, doc, today.year).to_pylist()
        assert [(r["recipient_id"], r["category"]) for r in rows] == [(no, "risk_3_plus")]
        assert audits(conn, "registry.rewards_listed") == [(str(today.year), {"rows": 1})]
        sheet = openpyxl.load_workbook(io.BytesIO(service.export_rewards(conn, doc, today.year))).active
        assert list(sheet.iter_rows(values_only=True))[1][2] == "三级以上"


def test_export_masked_unless_the_office(world):
    with world.engine.begin() as conn:
        register(conn, world.user(conn, "doc"), name="周一")
        for name, shown, unmasked in (("town", "周*", False), ("office", "周一", True)):
            body = service.export_patients(conn, KEYS, world.user(conn, name))
            rows = list(openpyxl.load_workbook(io.BytesIO(body)).active.iter_rows(values_only=True))
            assert rows[1][1] == shown
            assert audits(conn, "registry.exported")[-1] == (None, {"rows": 1, "unmasked": unmasked})


def test_import_all_rows_or_none(world, tmp_path):
    year = clock.today().year - 1
    good, other = id_number(), id_number()
    bad = tmp_path / "bad.csv"
    bad.write_text(
        f"姓名,身份证号,村代码,诊断编码,登记日期\n甲,{good},{V1},F20,{year}-03-01\n乙,{other[:17]}Y,{V1},F20,{year}-03-01\n",
        encoding="utf-8",
    )
    ok = tmp_path / "ok.csv"
    ok.write_bytes(
        f"姓名,身份证号,村代码,诊断编码,登记日期,治疗情况\n甲,{good},{V1},F20,{year}-03-01,服药\n乙,{other},{V1},F31,{year}-04-01,\n".encode(
            "gbk"
        )
    )
    with world.engine.begin() as conn:
        doc, town = world.user(conn, "doc"), world.user(conn, "town")
    imported, problems = service.import_registry(world.engine, KEYS, doc, bad, "bad.csv")
    assert imported == 0
    assert [(p.code, p.where.row, p.where.column) for p in problems] == [
        ("registry.patient.invalid_id", 3, "身份证号")
    ]
    with world.engine.begin() as conn:
        assert service.list_patients(conn, KEYS, doc)[0] == 0
    imported, problems = service.import_registry(world.engine, KEYS, doc, ok, "ok.csv", via="cli")
    assert (imported, problems) == (2, [])
    with pytest.raises(Refused):
        service.import_registry(world.engine, KEYS, town, ok, "ok.csv")
    with world.engine.begin() as conn:
        assert audits(conn, "registry.imported") == [("ok.csv", {"rows": 2, "via": "cli"})]
        assert service.acting_user(conn, "doc") == doc
        assert service.acting_user(conn, "nobody") is None


def test_assign_a_doctor_a_township(world):
    with world.engine.begin() as conn:
        office, doc = world.user(conn, "office"), world.user(conn, "doc")
        problems = service.assign(conn, office, AssignmentIn(username="town", unit_code="XX"))
        assert sorted(p.code for p in problems) == [
            "registry.assignment.not_a_doctor",
            "registry.assignment.unknown_area",
        ]
        assert service.assign(conn, office, AssignmentIn(username="doc", unit_code="450881101")) == []
        register(conn, doc, village_code=V3)  # 南村 is under 大安镇, now doc's
        assert {(a.username, a.unit_code) for a in service.list_assignments(conn, office)} >= {
            ("doc", V1),
            ("doc", "450881101"),
        }
        assert service.unassign(conn, office, AssignmentIn(username="doc", unit_code="450881101")) == []
        assert audits(conn, "registry.area_assigned") == [("doc", {"unit_code": "450881101"})]
        assert audits(conn, "registry.area_unassigned") == [("doc", {"unit_code": "450881101"})]
        with pytest.raises(Refused) as refused:
            service.list_assignments(conn, doc)
        assert refused.value.reason == "forbidden"


def test_000p3_item10_confirmed_level_starts_at_the_suggestion(world):
    """No level given: the checklist's “明显打砸财物” suggests 3级, so 3级 is confirmed → 病情不稳定
    (规范 4.分类干预(1): 危险性为3~5级) → next follow-up within 14 days, not 3 months."""
    today = clock.today()
    with world.engine.begin() as conn:
        doc = world.user(conn, "doc")
        no = register(conn, doc, days_ago=30)
        result, problems = service.record_followup(
            conn, doc, no, FollowUpIn(followed_on=today, behaviours=["smash_anywhere"])
        )
        assert problems == [] and result is not None
        assert (result.suggested_level, result.risk_level, result.classification) == (3, 3, "unstable")
        assert result.next_due_on == today + dt.timedelta(days=14)
        assert audits(conn, "registry.risk_level_lowered") == []


def test_000p3_item10_lowered_level_needs_a_reason_stored_audited_and_listed(world):
    """Suggested 3级 (明显打砸财物), confirmed 0级: without a reason refused, nothing saved; with one,
    saved as 0级 → 病情稳定 → 3 个月 (规范 4.(3)), the reason on the patient's page, in the audit
    log and on the township's review list (doc_b's area does not see it)."""
    today = clock.today()
    with world.engine.begin() as conn:
        doc = world.user(conn, "doc")
        no = register(conn, doc, days_ago=30)
        lowered = FollowUpIn(followed_on=today, risk_level=0, behaviours=["smash_anywhere"])
        result, problems = service.record_followup(conn, doc, no, lowered)
        assert result is None
        assert [(p.code, p.where.column) for p in problems] == [
            ("registry.assessment.lowered_without_reason", "lowered_reason")
        ]
        assert service.patient_detail(conn, KEYS, doc, no).assessments == []
        reason = "家属称系误操作, 未见打砸"
        result, problems = service.record_followup(
            conn, doc, no, lowered.model_copy(update={"lowered_reason": f" {reason} "})
        )
        assert problems == [] and result is not None
        assert (result.suggested_level, result.risk_level, result.lowered_reason) == (3, 0, reason)
        assert result.classification == "stable"
        detail = service.patient_detail(conn, KEYS, doc, no)
        assert [(a.suggested_level, a.risk_level, a.lowered_reason) for a in detail.assessments] == [
            (3, 0, reason)
        ]
        assert audits(conn, "registry.risk_level_lowered") == [
            (
                no,
                {
                    "assessment_id": result.assessment_id,
                    "followup_id": result.followup_id,
                    "suggested_level": 3,
                    "risk_level": 0,
                    "reason": reason,
                },
            )
        ]
        rows = service.lowered_levels(conn, world.user(conn, "town"), today.year)
        assert [(r.registry_no, r.suggested_level, r.risk_level, r.lowered_reason) for r in rows] == [
            (no, 3, 0, reason)
        ]
        assert rows[0].name == "周*" and rows[0].doctor == "医生甲"
        assert service.lowered_levels(conn, world.user(conn, "doc_b"), today.year) == []
        assert audits(conn, "registry.lowered_levels_listed")[-1] == (str(today.year), {"rows": 0})


def test_000p3_item10_import_lowered_level_without_reason_names_the_row(world, tmp_path):
    """Row 2: 建议等级 3, 确认等级 1, no 降级理由 → a Problem at row 2, column 降级理由; row 3: 建议
    等级 2, 确认等级 blank → 2 (the suggestion). Nothing imported until row 2 has a reason."""
    year = clock.today().year - 1
    a, b = id_number(), id_number()
    head = "姓名,身份证号,村代码,诊断编码,登记日期,建议等级,确认等级,降级理由\n"
    bad = tmp_path / "bad.csv"
    bad.write_text(
        head + f"甲,{a},{V1},F20,{year}-03-01,3,1,\n乙,{b},{V1},F20,{year}-03-01,2,,\n", encoding="utf-8"
    )
    ok = tmp_path / "ok.csv"
    ok.write_text(
        head + f"甲,{a},{V1},F20,{year}-03-01,3,1,已住院治疗\n乙,{b},{V1},F20,{year}-03-01,2,,\n",
        encoding="utf-8",
    )
    with world.engine.begin() as conn:
        doc = world.user(conn, "doc")
    imported, problems = service.import_registry(world.engine, KEYS, doc, bad, "bad.csv")
    assert imported == 0
    assert [(p.code, p.where.row, p.where.column) for p in problems] == [
        ("registry.assessment.lowered_without_reason", 2, "降级理由")
    ]
    imported, problems = service.import_registry(world.engine, KEYS, doc, ok, "ok.csv")
    assert (imported, problems) == (2, [])
    with world.engine.begin() as conn:
        rows = service.lowered_levels(conn, doc, year)
        assert [(r.assessed_on, r.suggested_level, r.risk_level, r.lowered_reason) for r in rows] == [
            (dt.date(year, 3, 1), 3, 1, "已住院治疗")
        ]
        assert len(audits(conn, "registry.risk_level_lowered")) == 1
        levels = {
            r["recipient_id"]: (r["risk_level"], r["min_yuan"])
            for r in service.reward_list(conn, doc, year).to_pylist()
        }
        assert levels == {}  # no guardian in the file: nobody on the guardian list


def test_000p3_item11_reward_list_shows_the_assessment_it_rests_on(world):
    """Last year: 3-1 3级 (明显打砸), 10-1 0级, none marked → the year's last, 10-1 0级 → 三级以下,
    minimum 500.00 元/年 (not 3,000); the list and the Excel export show the date and level."""
    year = clock.today().year - 1
    with world.engine.begin() as conn:
        doc = world.user(conn, "doc")
        no = register(conn, doc, days_ago=(clock.today() - dt.date(year, 1, 1)).days, guardian_name="周母")
        for day, level in ((dt.date(year, 3, 1), 3), (dt.date(year, 10, 1), 0)):
            _, problems = service.record_followup(
                conn, doc, no, FollowUpIn(followed_on=day, risk_level=level)
            )
            assert problems == []
        rows = service.reward_list(conn, doc, year).to_pylist()
        assert [
            (
                r["recipient_id"],
                r["category"],
                r["assessed_on"],
                r["risk_level"],
                r["annual_assessment"],
                r["min_yuan"],
            )
            for r in rows
        ] == [(no, "risk_below_3", dt.date(year, 10, 1), 0, False, "500.00")]
        # the reward goes to the guardian: the list names him, masked (issue 19 item 8)
        assert [(r["guardians"], r["village_name"] != "") for r in rows] == [("周*", True)]
        sheet = openpyxl.load_workbook(io.BytesIO(service.export_rewards(conn, doc, year))).active
        header, first = list(sheet.iter_rows(values_only=True))[:2]
        assert header[4:] == (
            "评估日期 assessed_on",
            "危险等级 risk_level",
            "年度定期评估 annual",
            "奖励下限(元/年) min_yuan",
            "村/社区名称 village",
            "监护人 guardians",
        )
        assert first[2] == "三级以下" and first[4:8] == (f"{year}-10-01", 0, None, 500)
        # marking the 3-1 assessment as the year's periodic one moves the basis to it: 三级以上, 3,000.00
        _, problems = service.record_followup(
            conn, doc, no, FollowUpIn(followed_on=dt.date(year, 6, 1), risk_level=3, annual_assessment=True)
        )
        rows = service.reward_list(conn, doc, year).to_pylist()
        assert [(r["category"], r["assessed_on"], r["annual_assessment"], r["min_yuan"]) for r in rows] == [
            ("risk_3_plus", dt.date(year, 6, 1), True, "3000.00")
        ]


def test_000p7_8_case_management_team_includes_civil_affairs_officer(world):
    """000 篇7 (八): 个案管理团队 由 “两委”成员、网格员、精防医生、民警、民政专干、助残员、志愿者 组成."""
    from shidian.registry.model import TEAM_ROLES

    assert list(TEAM_ROLES.values()) == [
        "村(居)两委成员",
        "网格员",
        "精防医生",
        "民警",
        "民政专干",
        "助残员",
        "志愿者",
    ]
    with world.engine.begin() as conn:
        doc = world.user(conn, "doc")
        no = register(conn, doc)
        member = service.add_team_member(
            conn, doc, no, TeamMemberIn(role="civil_affairs", member_name="民政专干 李华")
        )
        assert [m.role for m in service.patient_detail(conn, KEYS, doc, no).team] == ["civil_affairs"]
        assert member.role == "civil_affairs"
