"""Issue 16 items 10–12 through the doors (SQLite and PostgreSQL): the confirmed risk level
starts at the checklist's suggestion and a lower one needs a reason (000 篇3 第11、12项), the
guardian list shows the assessment each amount rests on (第11项), 民政专干 (000 篇7 (八)), and
migration 0005 both ways."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
import sqlalchemy as sa

from shidian.platform import clock
from shidian.platform.db.engine import make_engine, upgrade
from tests.web.conftest import fresh_database
from tests.web.registry.test_registry_api import audits, register
from tests.web.registry.test_registry_pages import csrf


def test_000p3_item10_api_refuses_a_lowered_level_without_a_reason(reg_client, registry_app):
    """“明显打砸财物” suggests 3级; confirming 0级 without a reason is a 422 naming ``lowered_reason``;
    with a reason it is saved (0级 → 病情稳定), audited and on the township's review list."""
    doc, town = reg_client("reg_doc_a"), reg_client("reg_town")
    no = register(doc)[0].json()["registry_no"]
    body = {"followed_on": str(clock.today()), "risk_level": 0, "behaviours": ["smash_anywhere"]}
    refused = doc.post(f"/api/registry/patients/{no}/followups", json=body)
    assert refused.status_code == 422
    assert [(p["code"], p["where"]["column"]) for p in refused.json()["problems"]] == [
        ("registry.assessment.lowered_without_reason", "lowered_reason")
    ]
    saved = doc.post(f"/api/registry/patients/{no}/followups", json={**body, "lowered_reason": "监护人否认"})
    assert saved.status_code == 201, saved.text
    result = saved.json()
    assert (result["suggested_level"], result["risk_level"], result["classification"]) == (3, 0, "stable")
    assert audits(registry_app, "registry.risk_level_lowered", no) == 1
    listed = town.get("/api/registry/lowered", params={"year": clock.today().year}).json()["rows"]
    assert [(r["registry_no"], r["lowered_reason"]) for r in listed if r["registry_no"] == no] == [
        (no, "监护人否认")
    ]
    assert no not in reg_client("reg_doc_b").get("/registry/lowered").text  # another area
    page = town.get("/registry/lowered")
    assert page.status_code == 200 and f'data-registry-no="{no}"' in page.text and "监护人否认" in page.text
    patient = doc.get(f"/registry/patients/{no}").text
    assert 'class="lowered"' in patient and "监护人否认" in patient
    # no level given: the suggestion (3级) is confirmed → 病情不稳定
    default = doc.post(
        f"/api/registry/patients/{no}/followups",
        json={"followed_on": str(clock.today()), "behaviours": ["smash_anywhere"]},
    ).json()
    assert (default["risk_level"], default["classification"]) == (3, "unstable")


def test_000p3_item10_form_prefills_the_suggestion_and_asks_for_the_reason(reg_client):
    """The checklist's suggestion re-selects the confirmed level (out-of-band select); the form
    posting 0级 under a 3级 suggestion without a reason is refused and keeps the ticked boxes."""
    doc = reg_client("reg_doc_a")
    no = register(doc)[0].json()["registry_no"]
    fragment = doc.get("/registry/suggest", params={"behaviours": ["smash_anywhere"]}).text
    assert 'data-level="3"' in fragment and 'hx-swap-oob="true"' in fragment
    assert '<option value="3" selected>' in fragment
    page = doc.get(f"/registry/patients/{no}")
    assert '<option value="0" selected>' in page.text and 'name="lowered_reason"' in page.text
    form = {
        "csrf_token": csrf(page.text),
        "followed_on": str(clock.today()),
        "risk_level": "0",
        "behaviours": ["smash_anywhere"],
    }
    refused = doc.post(f"/registry/patients/{no}/followups", data=form)
    assert refused.status_code == 422 and "registry.assessment.lowered_without_reason" in refused.text
    saved = doc.post(f"/registry/patients/{no}/followups", data={**form, "lowered_reason": "已服药控制"})
    assert saved.status_code == 200 and 'id="lowered-reason"' in saved.text and "已服药控制" in saved.text


def test_000p3_item11_rewards_show_the_assessment_each_amount_rests_on(reg_client):
    """Last year: 3-1 3级 then 10-1 1级, none marked → the year's last (10-1, 1级) → 三级以下,
    ≥ 500.00 元; marking 6-1 (3级) as the year's periodic assessment → 三级以上, ≥ 3,000.00 元."""
    year = clock.today().year - 1
    doc = reg_client("reg_doc_a")
    no = register(doc, registered_on=dt.date(year, 1, 2))[0].json()["registry_no"]
    for day, level in ((dt.date(year, 3, 1), 3), (dt.date(year, 10, 1), 1)):
        response = doc.post(
            f"/api/registry/patients/{no}/followups", json={"followed_on": str(day), "risk_level": level}
        )
        assert response.status_code == 201, response.text

    def row():
        body = doc.get("/api/registry/rewards", params={"year": year}).json()
        assert body["basis"] == "annual"
        found = [r for r in body["rows"] if r["recipient_id"] == no]
        assert len(found) == 1
        return found[0]

    r = row()
    assert (r["category"], r["assessed_on"], r["risk_level"], r["annual_assessment"], r["min_yuan"]) == (
        "risk_below_3",
        f"{year}-10-01",
        1,
        False,
        "500.00",
    )
    page = doc.get("/registry/rewards", params={"year": year}).text
    assert f'<td class="assessed-on">{year}-10-01</td>' in page
    marked = {"followed_on": f"{year}-06-01", "risk_level": 3, "annual_assessment": True}
    assert doc.post(f"/api/registry/patients/{no}/followups", json=marked).status_code == 201
    r = row()
    assert (r["category"], r["assessed_on"], r["annual_assessment"], r["min_yuan"]) == (
        "risk_3_plus",
        f"{year}-06-01",
        True,
        "3000.00",
    )
    sheet = openpyxl.load_workbook(
        io.BytesIO(doc.get("/registry/rewards.xlsx", params={"year": year}).content)
    )
    rows = {x[0]: x for x in sheet.active.iter_rows(values_only=True)}
    assert rows[no][4:8] == (f"{year}-06-01", 3, "是", 3000)


def test_000p7_8_team_role_civil_affairs_officer(reg_client):
    """000 篇7 (八): 民政专干 is a member role of the case-management team, labelled on the page."""
    doc = reg_client("reg_doc_a")
    no = register(doc)[0].json()["registry_no"]
    added = doc.post(
        f"/api/registry/patients/{no}/team", json={"role": "civil_affairs", "member_name": "李华"}
    )
    assert added.status_code == 201, added.text
    page = doc.get(f"/registry/patients/{no}").text
    assert "<td>民政专干</td><td>李华</td>" in page


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_0005_adds_and_drops_the_assessment_columns(backend, tmp_path):
    """Down to 0004 drops ``lowered_reason`` and ``annual``; back to head adds them again."""
    from alembic import command

    from shidian.platform.db.engine import alembic_config

    with fresh_database(backend, tmp_path, "shidian_m") as url:
        engine = make_engine(url)

        def columns() -> set[str]:
            return {c["name"] for c in sa.inspect(engine).get_columns("registry_assessments")}

        try:
            upgrade(engine)
            assert {"lowered_reason", "annual"} <= columns()
            command.downgrade(alembic_config(engine), "0004")
            assert not {"lowered_reason", "annual"} & columns()
            upgrade(engine)
            assert {"lowered_reason", "annual"} <= columns()
        finally:
            engine.dispose()
