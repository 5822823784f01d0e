"""/rewards: the pilot office allocates from uploaded facts; a reporting unit sees its own unit only."""

from __future__ import annotations

import io

import openpyxl
import pytest

UNITS = (
    "unit_code,unit_name,核定项目资金,考核得分\n"
    "A,甲项目,1000000,90\n450821100002,乙项目,3000000,55\nC,丙项目,6000000,80\n"
)


def allocate(client, files, rules="eldercare-2017", overrides=""):
    return client.post(
        "/rewards/allocate",
        data={"rules": rules, "overrides": overrides},
        files=[("files", (name, text.encode("utf-8"), "text/csv")) for name, text in files],
        follow_redirects=False,
    )


def test_pilot_office_allocates_sees_every_unit_and_downloads_excel(rewards_client):
    client = rewards_client("rw_office")
    page = client.get("/rewards")
    assert page.status_code == 200 and "eldercare-2017" in page.text
    response = allocate(client, [("units.csv", UNITS)])
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    run = client.get(location)
    assert run.status_code == 200
    # 002 篇二 hand-worked (tests/rewards/test_seed_cases.py): A 1,000,000.00; B 1,500,000.00; C 6,000,000.00
    assert "1,000,000.00" in run.text and "6,000,000.00" in run.text
    # the totals row (issue 19 item 8): 1,000,000.00 + 1,500,000.00 + 6,000,000.00
    assert '<td class="num" id="allocation-total"><b>8,500,000.00</b></td>' in run.text
    assert 'data-chart="rewards-chart"' in run.text
    unit = client.get(f"{location}/units/450821100002")
    assert unit.status_code == 200 and "考核得分 55 &lt; 60分" in unit.text
    book = client.get(f"{location}/allocations.xlsx")
    assert book.status_code == 200
    assert openpyxl.load_workbook(io.BytesIO(book.content)).sheetnames[-1] == "自检"


def test_bad_facts_are_listed_and_nothing_is_stored(rewards_client):
    client = rewards_client("rw_office")
    before = client.get("/rewards").text.count("/rewards/runs/")
    response = allocate(client, [("units.csv", "unit_code,approved_amount,score\nA,-1,101\n")])
    assert response.status_code == 422
    assert "table.cell.below_min" in response.text and "table.cell.above_max" in response.text
    assert client.get("/rewards").text.count("/rewards/runs/") == before


def test_reporting_unit_sees_only_its_own_unit(rewards_client):
    office = rewards_client("rw_office")
    location = allocate(office, [("units.csv", UNITS)], overrides="fund.pot=12000000").headers["location"]
    village = rewards_client("rw_village")
    page = village.get(location)
    assert page.status_code == 200
    assert "450821100002" in page.text and "甲项目" not in page.text and "丙项目" not in page.text
    assert "rewards-chart" not in page.text
    assert village.get(f"{location}/units/A").status_code == 404
    assert village.get(f"{location}/allocations.xlsx").status_code == 403
    assert allocate(village, [("units.csv", UNITS)]).status_code == 403


def test_hospital_has_no_access(client_for, rewards_app):
    assert client_for("h1").get("/rewards").status_code == 403


def test_what_if_compare_lists_the_units_that_change(rewards_client):
    client = rewards_client("rw_office")
    base = allocate(client, [("units.csv", UNITS)]).headers["location"].rsplit("/", 1)[1]
    lower = allocate(client, [("units.csv", UNITS)], overrides="stages.evaluation.steps.pass.min=50")
    changed = lower.headers["location"].rsplit("/", 1)[1]
    assert base != changed
    page = client.get(f"/rewards/compare?a={base}&b={changed}")
    assert page.status_code == 200
    # 乙项目 (55 points) now passes 50: + its own remainder 3,000,000 − 1,500,000 (002 篇二 六(二),
    # hand-worked in tests/rewards)
    assert "+1,500,000.00" in page.text
    assert "甲项目" not in page.text  # unchanged units are not listed
    assert rewards_client("rw_village").get(f"/rewards/compare?a={base}&b={changed}").status_code == 403


def test_uploads_are_staged_in_the_data_directory_not_the_system_temp(
    rewards_client, rewards_app, monkeypatch
):
    """Issue 22 finding 6: uploaded fact tables are written under ``var/staging`` (owner only,
    swept at start-up), never into the system's temporary directory, and removed after."""
    seen = []

    def spy(rule_name, paths, overrides, names):
        seen.append(list(paths))
        raise RuntimeError("stop here")

    monkeypatch.setattr("shidian.rewards.service.allocate_files", spy)
    client = rewards_client("rw_office")
    with pytest.raises(RuntimeError):
        allocate(client, [("units.csv", UNITS)])
    ((path,),) = seen
    assert path.is_relative_to(rewards_app.state.settings.var_dir / "staging") and not path.exists()
