"""The discharge desk in a real browser (issue 19 item 1): a hospital clerk finds the patient by
ID number, reads the standing, enters and prices a stay, confirms it, opens the slip, sees it in
today's claims and reverses it with a reason. Expected values are county-2010's worked by hand:
H3 is a level-3 hospital (起付线 500, 40%), so a first stay of 2000 pays (2000 − 500) × 40% = 600.00
and leaves 45000 − 600 = 44,400.00 of the inpatient cap; a second stay at a county-level hospital
charges no deductible (县级以上医院多次住院只计首次起付线). Screenshots at 1366 and 390 px."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from fastapi import FastAPI

from shidian.insurance.service.datasets import import_insurance_dataset
from shidian.platform.accounts import create_unit, create_user
from tests.browser.conftest import SCREENSHOTS, screenshot_widths, served_app, sign_in
from tests.insurance.helpers import id_number
from tests.web.conftest import PASSWORD


def _csv(header: list[str], rows: list[list[object]]) -> tuple[str, bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return header[0], buffer.getvalue().encode("utf-8")


def _county(app: FastAPI) -> None:
    persons = [
        ["D01", id_number(701), "王大明", "HH1", "general", "152922001001", 1],
        ["D02", id_number(702), "李小红", "HH2", "wubao", "152922001001", 1],
    ]
    institutions = [
        ["H3", "贵港市人民医院", 3, 1, 1],
        ["H1", "平南县第一卫生院", 1, 1, 1],
        ["C2", "县人民医院", 2, 1, 1],
    ]
    files = [
        (
            "persons.csv",
            _csv(
                ["person_id", "id_number", "name", "household_id", "category", "village_code", "insured"],
                persons,
            )[1],
        ),
        (
            "institutions.csv",
            _csv(["institution_id", "name", "level", "designated", "in_county"], institutions)[1],
        ),
    ]
    with app.state.engine.begin() as conn:
        unit = create_unit(conn, "C2", "县人民医院", "hospital", hospital_id="C2")
        create_user(conn, "desk", PASSWORD, "hospital", unit, "县人民医院 出院结算窗口")
        found, problems = import_insurance_dataset(
            conn, app.state.settings.var_dir, files, "county-2010", "窗口测试县", None
        )
    assert found is not None, problems


@pytest.fixture(scope="module")
def desk_server(tmp_path_factory):  # type: ignore[no-untyped-def]
    with served_app(tmp_path_factory.mktemp("desk-var"), _county) as (base, _):
        yield base


def _shoot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})


def test_a_clerk_settles_prints_and_reverses_a_stay(browser, desk_server):
    context = browser.new_context(
        base_url=desk_server, locale="zh-CN", viewport={"width": 1366, "height": 900}
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, "h3")
    page.goto("/insurance/desk")
    page.fill("#desk-search input[name=q]", id_number(701))
    page.click("#desk-search button[type=submit]")
    patient = page.locator("#desk-patient")
    patient.wait_for()
    assert "D01" in patient.inner_text() and "王*明" in patient.inner_text()
    assert id_number(701) not in page.content()  # the ID number is masked
    assert id_number(701) not in page.url  # posted, never in a URL (issue 22 finding 6)
    refused = page.request.get(f"/insurance/desk?q={id_number(701)}")
    assert refused.status == 422 and "身份证号不可放在网址中" in refused.text()
    assert page.locator("#desk-deductible").inner_text() == "500.00"
    assert "45,000.00" in page.locator("#desk-caps tr[data-bucket=inpatient]").inner_text()

    page.fill("#desk-claim input[name=claim_id]", "W-0001")
    page.fill("#desk-claim input[name=start_date]", "2010-05-01")
    page.fill("#desk-claim input[name=end_date]", "2010-05-06")
    page.fill("#desk-claim input[name=total_cost]", "2000")
    page.click("#desk-price")
    page.locator("#desk-priced").wait_for()
    assert page.locator("#desk-reimbursement").inner_text() == "600.00"
    assert "起付线500.00" in page.locator("#desk-priced").inner_text()
    _shoot(page, "desk-priced")
    page.click("#desk-confirm")
    page.wait_for_url(re.compile(r".*/insurance/desk/claims/W-0001/slip\?institution_id=\w+$"))
    assert page.locator("#slip-reimbursement").inner_text() == "600.00"
    assert "报销600.00元" in page.locator("#slip").inner_text()
    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible()  # the slip prints without the navigation
    _shoot(page, "desk-slip")
    page.emulate_media(media="screen")

    page.goto("/insurance/desk?q=D01")
    assert page.locator("#desk-deductible").inner_text() == "0.00"  # 只计首次起付线
    assert "44,400.00" in page.locator("#desk-caps tr[data-bucket=inpatient]").inner_text()
    row = page.locator("#desk-today tr[data-claim='W-0001']")
    assert "600.00" in row.inner_text()
    _shoot(page, "desk")
    row.locator("input[name=reason]").fill("患者信息录入错误")
    row.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/insurance/desk/claims/W-0001/slip\?institution_id=\w+$"))
    assert "患者信息录入错误" in page.locator("#slip-reversal").inner_text()
    page.goto("/insurance/desk?q=D01")
    assert page.locator("#desk-deductible").inner_text() == "500.00"
    assert "45,000.00" in page.locator("#desk-caps tr[data-bucket=inpatient]").inner_text()
    context.close()


def test_the_desk_refuses_what_is_not_the_clerks(browser, desk_server):
    context = browser.new_context(base_url=desk_server, locale="zh-CN")
    page = context.new_page()
    sign_in(page, "h3")
    page.goto("/insurance/desk?q=NOBODY")
    assert "NOBODY" in page.locator("#desk-problems").inner_text()
    response = page.goto("/insurance/desk?q=D02")
    assert response is not None and response.status == 200
    assert page.locator("#desk-deductible").inner_text() == "0.00"  # 五保户 waived
    page.context.clear_cookies()
    sign_in(page, "reporter")
    assert page.goto("/insurance/desk").status == 403  # type: ignore[union-attr]
    context.close()


def test_screens_are_kept_out_of_the_repository():
    assert Path(SCREENSHOTS).parts[-2:] == ("var", "screenshots")


def test_a_desk_only_hospital_lands_on_its_desk(browser, desk_server):
    """Issue 19 items 1 and 5: the desk user (a hospital of the resident insurance only, no DRG
    statement) lands on the desk, not on a 404; 县人民医院 is level 2: 起付线 100."""
    context = browser.new_context(
        base_url=desk_server, locale="zh-CN", viewport={"width": 1366, "height": 900}
    )
    page = context.new_page()
    sign_in(page, "desk")
    assert page.url.split("?")[0].endswith("/insurance/desk"), page.url
    page.goto("/insurance/desk?q=D01")
    assert page.locator("#desk-deductible").inner_text() == "100.00"  # no stay left this year
    screenshot_widths(page, "landing-desk")
    context.close()
