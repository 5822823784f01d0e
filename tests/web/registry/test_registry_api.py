"""The registry API and pages: scoping, audit, masking, bad input (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from shidian.platform import clock
from shidian.platform.db.registry_schema import registry_followups, registry_patients
from shidian.platform.db.schema import audit_events
from tests.web.registry.conftest import V1, V2, V3, id_number


def register(client, village=V1, icd10="F20.0", name="张小三", number=None, registered_on=None, **extra):
    body = {
        "name": name,
        "id_number": number or id_number(),
        "village_code": village,
        "icd10": icd10,
        "registered_on": str(registered_on or clock.today() - dt.timedelta(days=200)),
        "guardian_name": "张大山",
        "guardian_phone": "13800000000",
        **extra,
    }
    return client.post("/api/registry/patients", json=body), body


def audits(app, action, target=None):
    with app.state.engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(audit_events).where(audit_events.c.action == action)
        if target is not None:
            query = query.where(audit_events.c.target == target)
        return int(conn.execute(query).scalar_one())


def test_a_doctor_registers_and_sees_the_patient_masked_in_the_list(reg_client, registry_app):
    doc = reg_client("reg_doc_a")
    response, body = register(doc)
    assert response.status_code == 201, response.text
    no = response.json()["registry_no"]
    listed = doc.post("/api/registry/patients/search", json={"q": body["id_number"]}).json()
    assert [p["registry_no"] for p in listed["patients"]] == [no]
    row = listed["patients"][0]
    assert row["name"] == "张*三"
    assert row["id_number"] == body["id_number"][:4] + "*" * 10 + body["id_number"][-4:]
    detail = doc.get(f"/api/registry/patients/{no}").json()
    assert detail["patient"]["name"] == "张小三" and not detail["masked"]  # the doctor sees clear names
    assert audits(registry_app, "registry.patient_viewed", no) == 1
    assert audits(registry_app, "registry.patient_registered", no) == 1


def test_identifiers_are_encrypted_at_rest(reg_client, registry_app):
    doc = reg_client("reg_doc_a")
    response, body = register(doc, name="李四光")
    no = response.json()["registry_no"]
    with registry_app.state.engine.connect() as conn:
        row = conn.execute(sa.select(registry_patients).where(registry_patients.c.registry_no == no)).one()
    assert body["id_number"].encode() not in bytes(row.id_enc)
    assert "李四光".encode() not in bytes(row.name_enc)
    assert row.id_hmac != body["id_number"] and len(row.id_hmac) == 64


def test_scoping_doctor_township_county_in_the_api(reg_client):
    doc_a = reg_client("reg_doc_a")
    doc_b = reg_client("reg_doc_b")
    in_v1 = register(doc_a)[0].json()["registry_no"]
    in_v3 = register(doc_b, village=V3)[0].json()["registry_no"]
    assert doc_a.get(f"/api/registry/patients/{in_v3}").status_code == 404
    assert doc_b.get(f"/api/registry/patients/{in_v1}").status_code == 404
    town = reg_client("reg_town")  # 平南镇: 东村, 西村
    assert town.get(f"/api/registry/patients/{in_v1}").status_code == 200
    assert town.get(f"/api/registry/patients/{in_v3}").status_code == 404
    town_detail = town.get(f"/api/registry/patients/{in_v1}").json()
    assert town_detail["masked"] and "*" in town_detail["patient"]["name"]
    county = reg_client("reg_county")
    assert county.get(f"/api/registry/patients/{in_v3}").status_code == 200
    nos = {
        p["registry_no"]
        for p in doc_a.get("/api/registry/patients", params={"page_size": 500}).json()["patients"]
    }
    assert in_v1 in nos and in_v3 not in nos


def test_a_doctor_cannot_register_in_another_area_and_nothing_is_saved(reg_client, registry_app):
    doc_a = reg_client("reg_doc_a")
    with registry_app.state.engine.connect() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(registry_patients)).scalar_one()
    response, _ = register(doc_a, village=V2)
    assert response.status_code == 422
    assert [p["code"] for p in response.json()["problems"]] == ["registry.patient.outside_area"]
    with registry_app.state.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(registry_patients)).scalar_one() == before


def test_bad_registrations_are_refused_with_every_problem(reg_client):
    doc = reg_client("reg_doc_a")
    number = id_number()
    wrong_check = number[:17] + ("0" if number[17] != "0" else "1")
    response, _ = register(
        doc, number=wrong_check, icd10="F32.1", registered_on=clock.today() + dt.timedelta(days=1)
    )
    assert response.status_code == 422
    codes = {p["code"] for p in response.json()["problems"]}
    assert codes == {
        "registry.patient.invalid_id",
        "registry.patient.unknown_diagnosis",
        "registry.patient.in_future",
    }
    first, body = register(doc)
    assert first.status_code == 201
    again, _ = register(doc, number=body["id_number"])
    assert [p["code"] for p in again.json()["problems"]] == ["registry.patient.duplicate"]


def test_follow_up_classification_due_date_and_bad_input(reg_client, registry_app):
    doc = reg_client("reg_doc_a")
    no = register(doc, registered_on=clock.today() - dt.timedelta(days=100))[0].json()["registry_no"]
    day = clock.today() - dt.timedelta(days=30)
    # 持刀自杀未遂 → 建议 4 级; 4 级为不稳定 → 2 周内随访 (day + 14)
    response = doc.post(
        f"/api/registry/patients/{no}/followups",
        json={
            "followed_on": str(day),
            "risk_level": 4,
            "behaviours": ["self_harm"],
            "treatment": "medication",
        },
    )
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["suggested_level"] == 4 and result["classification"] == "unstable"
    assert result["next_due_on"] == str(day + dt.timedelta(days=14))
    assert result["refer_now"] and result["needs_team"]
    bad = [
        (
            {"followed_on": str(clock.today() - dt.timedelta(days=101)), "risk_level": 0},
            "registry.followup.before_registration",
        ),
        (
            {"followed_on": str(clock.today() + dt.timedelta(days=1)), "risk_level": 0},
            "registry.followup.in_future",
        ),
        ({"followed_on": str(day), "risk_level": 6}, "registry.followup.invalid_risk"),
        ({"followed_on": str(day), "risk_level": -1}, "registry.followup.invalid_risk"),
        (
            {"followed_on": str(day), "risk_level": 1, "behaviours": ["dancing"]},
            "registry.followup.unknown_behaviour",
        ),
    ]
    with registry_app.state.engine.connect() as conn:
        count = sa.select(sa.func.count()).select_from(registry_followups)
        before = conn.execute(count).scalar_one()
    for body, code in bad:
        refused = doc.post(f"/api/registry/patients/{no}/followups", json=body)
        assert refused.status_code == 422, body
        assert code in {p["code"] for p in refused.json()["problems"]}
    with registry_app.state.engine.connect() as conn:
        assert conn.execute(count).scalar_one() == before
    other = reg_client("reg_doc_b")
    assert (
        other.post(
            f"/api/registry/patients/{no}/followups", json={"followed_on": str(day), "risk_level": 0}
        ).status_code
        == 404
    )
    town = reg_client("reg_town")  # township users view, they do not record follow-ups
    assert (
        town.post(
            f"/api/registry/patients/{no}/followups", json={"followed_on": str(day), "risk_level": 0}
        ).status_code
        == 403
    )


def test_team_members_and_actions_are_recorded(reg_client, registry_app):
    doc = reg_client("reg_doc_a")
    no = register(doc)[0].json()["registry_no"]
    member = doc.post(f"/api/registry/patients/{no}/team", json={"role": "police", "member_name": "王警官"})
    assert member.status_code == 201
    action = doc.post(
        f"/api/registry/patients/{no}/team/actions",
        json={"member_id": member.json()["id"], "acted_on": str(clock.today()), "action": "联合走访"},
    )
    assert action.status_code == 201
    detail = doc.get(f"/api/registry/patients/{no}").json()
    assert [m["role"] for m in detail["team"]] == ["police"]
    assert [a["action"] for a in detail["actions"]] == ["联合走访"]
    assert audits(registry_app, "registry.team_member_added", no) == 1
    assert audits(registry_app, "registry.team_action_recorded", no) == 1


def test_worklist_shows_overdue_and_a_follow_up_moves_the_patient_off(reg_client):
    doc = reg_client("reg_doc_a")
    # registered 200 days ago, never followed: due 186 days ago → overdue
    no = register(doc)[0].json()["registry_no"]
    items = {i["registry_no"]: i for i in doc.get("/api/registry/worklist").json()["items"]}
    assert items[no]["state"] == "overdue"
    assert items[no]["days_overdue"] == 200 - 14
    doc.post(
        f"/api/registry/patients/{no}/followups", json={"followed_on": str(clock.today()), "risk_level": 0}
    )
    items = {i["registry_no"] for i in doc.get("/api/registry/worklist").json()["items"]}
    assert no not in items  # stable: next due in 3 months


def test_other_roles_are_forbidden(reg_client, client_for):
    officer = client_for("officer")
    assert officer.get("/api/registry/patients").status_code == 403
    assert officer.get("/api/registry/worklist").status_code == 403
    assert officer.get("/registry").status_code == 403


def test_the_office_assigns_a_doctor_an_area_and_the_doctor_then_sees_it(reg_client, registry_app):
    doc_b = reg_client("reg_doc_b")
    office = reg_client("reg_office")
    in_v2 = register(reg_client("reg_doc_a"), village=V1)[0].json()["registry_no"]
    assert doc_b.get(f"/api/registry/patients/{in_v2}").status_code == 404
    assigned = office.post("/api/registry/assignments", json={"username": "reg_doc_b", "unit_code": V1})
    assert assigned.status_code == 200
    assert {
        "username": "reg_doc_b",
        "unit_code": V1,
        "unit_name": "东村",
        "unit_kind": "village",
    } in assigned.json()
    assert doc_b.get(f"/api/registry/patients/{in_v2}").status_code == 200
    office.post("/api/registry/assignments/remove", json={"username": "reg_doc_b", "unit_code": V1})
    assert doc_b.get(f"/api/registry/patients/{in_v2}").status_code == 404
    bad = office.post("/api/registry/assignments", json={"username": "reg_town", "unit_code": "nowhere"})
    assert {p["code"] for p in bad.json()["problems"]} == {
        "registry.assignment.not_a_doctor",
        "registry.assignment.unknown_area",
    }
    assert (
        doc_b.post("/api/registry/assignments", json={"username": "reg_doc_b", "unit_code": V1}).status_code
        == 403
    )
    assert audits(registry_app, "registry.area_assigned", "reg_doc_b") >= 1


def test_the_patient_page_counts_the_years_follow_ups_and_health_checks(reg_client):
    """规范: 每年至少随访 4 次 (每次含危险性评估), 每年健康体检 1 次。"""
    doc = reg_client("reg_doc_a")
    no = register(doc, registered_on=clock.today() - dt.timedelta(days=200))[0].json()["registry_no"]
    days = [clock.today() - dt.timedelta(days=n) for n in (0, 1)]
    for i, day in enumerate(days):
        body = {"followed_on": str(day), "risk_level": 0, "health_check": i == 0}
        assert doc.post(f"/api/registry/patients/{no}/followups", json=body).status_code == 201
    detail = doc.get(f"/api/registry/patients/{no}").json()
    this_year = sum(1 for d in days if d.year == clock.today().year)
    assert (detail["assessed_this_year"], detail["required_per_year"]) == (this_year, 4)
    assert (detail["health_checks_12_months"], detail["required_health_checks"]) == (1, 1)
