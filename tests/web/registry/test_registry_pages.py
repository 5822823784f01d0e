"""Registry pages, exports, indicators, rewards and imports (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import io
import re

import openpyxl
import sqlalchemy as sa

from shidian.platform import clock
from shidian.platform.db.registry_schema import registry_patients, registry_services
from shidian.platform.db.schema import units
from tests.web.registry.conftest import V1, V2, V3, id_number
from tests.web.registry.test_registry_api import audits, register


def csrf(page_text: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page_text)
    assert match
    return match.group(1)


def test_patient_page_follow_up_form_and_work_list(reg_client, registry_app):
    doc = reg_client("reg_doc_a")
    no = register(doc)[0].json()["registry_no"]
    page = doc.get(f"/registry/patients/{no}")
    assert page.status_code == 200 and "张小三" in page.text
    assert "5级: 持械针对人的任何暴力行为" in page.text  # the levels, verbatim
    assert no in doc.get("/registry/worklist").text
    response = doc.post(
        f"/registry/patients/{no}/followups",
        data={
            "csrf_token": csrf(page.text),
            "followed_on": str(clock.today()),
            "risk_level": "2",
            "behaviours": ["smash_home_stoppable"],
            "treatment": "medication",
            "symptoms": "remitted",
            "insight": "good",
            "social_function": "good",
        },
    )
    assert response.status_code == 200, response.text
    # 2 级 → 基本稳定 → 2 周时随访
    assert f'id="next-due">{clock.today() + dt.timedelta(days=14)}<' in response.text
    # due in 14 days, beyond the work list's 7-day horizon (worklist.due_soon_days): off the list
    assert no not in doc.get("/registry/worklist").text
    suggestion = doc.get("/registry/suggest", params={"behaviours": ["self_harm", "verbal_threat"]})
    assert 'data-level="4"' in suggestion.text


def test_follow_up_form_refuses_a_future_date(reg_client):
    doc = reg_client("reg_doc_a")
    no = register(doc)[0].json()["registry_no"]
    page = doc.get(f"/registry/patients/{no}")
    response = doc.post(
        f"/registry/patients/{no}/followups",
        data={
            "csrf_token": csrf(page.text),
            "followed_on": str(clock.today() + dt.timedelta(days=3)),
            "risk_level": "0",
        },
    )
    assert response.status_code == 422
    assert "registry.followup.in_future" in response.text


def test_pages_are_scoped(reg_client):
    doc_a, doc_b, town = reg_client("reg_doc_a"), reg_client("reg_doc_b"), reg_client("reg_town")
    no = register(doc_b, village=V3)[0].json()["registry_no"]
    assert doc_a.get(f"/registry/patients/{no}").status_code == 404
    assert town.get(f"/registry/patients/{no}").status_code == 404
    assert no not in doc_a.get("/registry/worklist").text
    assert no in doc_b.get("/registry").text
    assert town.get("/registry/new").status_code == 403


def test_exports_are_masked_unless_the_role_may_unmask(reg_client, registry_app):
    doc = reg_client("reg_doc_a")
    _, body = register(doc, name="赵钱孙")

    def sheet(client):
        response = client.get("/registry/export.xlsx")
        assert response.status_code == 200
        rows = list(openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
        return {r[2]: r for r in rows[1:]}

    masked = sheet(doc)
    assert body["id_number"] not in masked
    assert body["id_number"][:4] + "*" * 10 + body["id_number"][-4:] in masked
    clear = sheet(reg_client("reg_office"))  # the county pilot office: registry.export_unmasked
    assert clear[body["id_number"]][1] == "赵钱孙"
    assert audits(registry_app, "registry.exported") >= 2
    leader = sheet(reg_client("reg_leader"))
    assert body["id_number"] not in leader


def test_indicators_for_a_village_with_numbers(reg_client, registry_app):
    """西村 (V2), 2 patients registered last year by the county office's data:
    A 4 assessed follow-ups with medication and rehab; B 1 follow-up without treatment.
    规范管理 1/2, 治疗 1/2, 精神分裂症 (A only) 1/1, 康复 1/2, 心理支持 0/2."""
    year = clock.today().year - 1
    engine = registry_app.state.engine
    with engine.begin() as conn:
        exists = conn.execute(
            sa.select(sa.func.count())
            .select_from(registry_patients)
            .join(units, units.c.id == registry_patients.c.village_id)
            .where(units.c.code == V2)
        ).scalar_one()
    town = reg_client("reg_town")
    if not exists:
        _seed_v2(registry_app, year)
    response = town.get("/api/registry/indicators", params={"period": str(year), "area": V2})
    assert response.status_code == 200, response.text
    values = {r["indicator_code"]: (r["numerator"], r["denominator"]) for r in response.json()["rows"]}
    assert values["SMD_REGULAR_MGMT_RATE"] == ("1", "2")
    assert values["SMD_TREATMENT_RATE"] == ("1", "2")
    assert values["SMD_SCHIZ_TREATMENT_RATE"] == ("1", "1")
    assert values["SMD_REHAB_RATE"] == ("1", "2")
    assert values["SMD_PSY_SUPPORT_RATE"] == ("0", "2")
    assert values["PSY_COUNSELLING_ROOMS"] == ("2", None)
    # against national-2018's targets (000 篇3 第12、14项): 50% < 80% and 50% < 60% are below,
    # 1/1 = 100% ≥ 80% is met; counselling rooms have no target (issue 19: coloured on the page)
    below = {r["indicator_code"]: r["below_target"] for r in response.json()["rows"]}
    assert below["SMD_REGULAR_MGMT_RATE"] is True and below["SMD_REHAB_RATE"] is True
    assert below["SMD_SCHIZ_TREATMENT_RATE"] is False and below["PSY_COUNSELLING_ROOMS"] is None
    page = town.get("/registry/indicators", params={"period": str(year), "area": V2})
    assert "1/2 = 50.0%" in page.text
    assert 'class="below-target" data-code="SMD_REGULAR_MGMT_RATE"' in page.text
    assert 'class="on-target" data-code="SMD_SCHIZ_TREATMENT_RATE"' in page.text
    assert (
        reg_client("reg_doc_b")
        .get("/api/registry/indicators", params={"period": str(year), "area": V2})
        .status_code
        == 404
    )
    assert town.get("/api/registry/indicators", params={"period": "2020-13"}).status_code == 422


def _seed_v2(app, year):
    from shidian.platform.accounts import get_user
    from shidian.platform.crypto import DataKeys
    from shidian.registry import registry_policy
    from shidian.registry.records import FollowUpIn, PatientIn
    from shidian.registry.service import check_patient, save_followup
    from shidian.registry.store.patients import insert_patient
    from shidian.registry.store.scope import Scope
    from tests.web.registry.conftest import user_id

    data_keys = DataKeys.from_env(app.state.settings.secret_key)
    with app.state.engine.begin() as conn:
        doctor = get_user(conn, user_id(app, "reg_doc_a"))
        assert doctor is not None
        for icd, visits, treatment, rehab in (("F20", 4, "medication", True), ("F31", 1, "none", False)):
            data = PatientIn(
                name="测试",
                id_number=id_number(),
                village_code=V2,
                icd10=icd,
                registered_on=dt.date(year - 1, 6, 1),
            )
            values, problems = check_patient(conn, data_keys, Scope(None), data, clock.today())
            assert values is not None, problems
            insert_patient(conn, data_keys, values, data, None)
            for i in range(visits):
                result, problems = save_followup(
                    conn,
                    doctor,
                    Scope(None),
                    registry_policy(),
                    values["registry_no"],
                    FollowUpIn(
                        followed_on=dt.date(year, 1 + 3 * i, 10),
                        risk_level=0,
                        treatment=treatment,
                        rehab=rehab,
                    ),
                    clock.today(),
                )
                assert result is not None, problems
        v2 = conn.execute(sa.select(units.c.id).where(units.c.code == V2)).scalar_one()
        conn.execute(
            registry_services.insert().values(unit_id=v2, month=dt.date(year, 3, 1), counselling_rooms=2)
        )


def test_guardian_rewards_list_and_excel(reg_client, registry_app):
    doc = reg_client("reg_doc_a")
    no = register(doc, registered_on=clock.today() - dt.timedelta(days=60))[0].json()["registry_no"]
    day = clock.today() - dt.timedelta(days=1)
    if day.year != clock.today().year:
        day = clock.today()
    doc.post(f"/api/registry/patients/{no}/followups", json={"followed_on": str(day), "risk_level": 3})
    rows = {
        r["recipient_id"]: r
        for r in doc.get("/api/registry/rewards", params={"year": day.year}).json()["rows"]
    }
    assert rows[no]["category"] == "risk_3_plus"
    assert rows[no]["basis"].startswith(f"{day} 危险性评估 3级 (评估记录 ")
    assert rows[no]["unit_code"] == V1
    export = doc.get("/registry/rewards.xlsx", params={"year": day.year})
    sheet = list(openpyxl.load_workbook(io.BytesIO(export.content)).active.iter_rows(values_only=True))
    assert any(r[0] == no and r[2] == "三级以上" for r in sheet)


def test_import_good_file_gbk_csv(reg_client, registry_app):
    doc = reg_client("reg_doc_a")
    a, b = id_number(), id_number()
    text = (
        "姓名,身份证号,村代码,诊断编码,登记日期,治疗情况,监护人姓名\n"
        f"周一,{a},{V1},F20.1,2019-03-01,服药,周父\n"
        f"吴二,{b},{V1},F31,2019/4/2,,\n"
    )
    response = doc.post("/api/registry/imports", files={"file": ("名册.csv", text.encode("gbk"), "text/csv")})
    assert response.status_code == 200, response.text
    assert response.json()["imported"] == 2
    found = doc.post("/api/registry/patients/search", json={"q": b}).json()["patients"]
    assert found[0]["disorder"] == "bipolar" and found[0]["registered_on"] == "2019-04-02"


def test_import_bad_file_reports_rows_and_imports_nothing(reg_client, registry_app):
    doc = reg_client("reg_doc_a")
    good = id_number()
    bad_id = good[:17] + ("0" if good[17] != "0" else "1")
    text = (
        "姓名,身份证号,村代码,诊断编码,登记日期\n"
        f"郑三,{id_number()},{V1},F20,2019-03-01\n"
        f"王四,{bad_id},{V1},F20,2019-03-01\n"
        f"冯五,{id_number()},{V1},F41,2019-03-01\n"
        f"陈六,{id_number()},{V3},F20,2019-03-01\n"
        f"褚七,{id_number()},{V1},F20,2019-13-01\n"
    )
    with registry_app.state.engine.connect() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(registry_patients)).scalar_one()
    response = doc.post(
        "/api/registry/imports", files={"file": ("old.csv", text.encode("utf-8"), "text/csv")}
    )
    assert response.status_code == 422
    problems = response.json()["problems"]
    by_row = {(p["where"].get("row"), p["code"]) for p in problems}
    assert (6, "table.cell.not_date") in by_row
    with registry_app.state.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(registry_patients)).scalar_one() == before
    # with the date fixed, the row-level checks report rows 3, 4, 5
    text = text.replace("2019-13-01", "2019-12-01")
    response = doc.post(
        "/api/registry/imports", files={"file": ("old.csv", text.encode("utf-8"), "text/csv")}
    )
    by_row = {(p["where"].get("row"), p["code"]) for p in response.json()["problems"]}
    assert by_row == {
        (3, "registry.patient.invalid_id"),
        (4, "registry.patient.unknown_diagnosis"),
        (5, "registry.patient.outside_area"),
    }
    page = doc.post(
        "/registry/import",
        data={"csrf_token": csrf(doc.get("/registry/import").text)},
        files={"file": ("old.csv", text.encode("utf-8"), "text/csv")},
    )
    assert page.status_code == 422 and "registry.patient.invalid_id" in page.text
    with registry_app.state.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(registry_patients)).scalar_one() == before


def test_township_warnings_cover_its_villages_only(reg_client):
    doc_a, doc_b = reg_client("reg_doc_a"), reg_client("reg_doc_b")
    register(doc_a)  # 东村, registered 200 days ago, never followed: overdue
    register(doc_b, village=V3)  # 南村, another township
    rows = {r["village_code"]: r for r in reg_client("reg_town").get("/api/registry/warnings").json()}
    assert V1 in rows and V3 not in rows
    assert rows[V1]["overdue"] >= 1 and rows[V1]["max_days_overdue"] >= 200 - 14
    page = reg_client("reg_town").get("/registry/warnings")
    assert "东村" in page.text and "南村" not in page.text
    county = {r["village_code"] for r in reg_client("reg_county").get("/api/registry/warnings").json()}
    assert {V1, V3} <= county


def test_the_registry_policy_is_on_the_policy_pages(reg_client):
    page = reg_client("reg_doc_a").get("/policies/registry/national-2018")
    assert page.status_code == 200
    assert "intervals.unstable_days" in page.text


def test_the_assignments_page(reg_client):
    office = reg_client("reg_office")
    page = office.get("/registry/assignments")
    assert page.status_code == 200 and "reg_doc_a" in page.text
    bad = office.post(
        "/registry/assignments", data={"csrf_token": csrf(page.text), "username": "reg_town", "unit_code": V2}
    )
    assert bad.status_code == 422 and "registry.assignment.not_a_doctor" in bad.text
    assert reg_client("reg_doc_a").get("/registry/assignments").status_code == 403
