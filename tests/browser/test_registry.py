"""The registry in a real browser: a doctor registers a patient, records a follow-up with the
checklist, sees the work list update; a doctor of another area cannot open the patient."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest

from shidian.platform import clock
from tests.browser.conftest import screenshot, screenshot_widths, served_app, sign_in
from tests.web.registry.conftest import V1, id_number, seed_registry


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Like the shared server, plus the registry's county, villages and doctors."""
    with served_app(tmp_path_factory.mktemp("browser-registry"), seed_registry) as (base, _):
        yield base


def test_doctor_records_a_follow_up_and_the_work_list_updates(page):
    today = clock.today()
    sign_in(page, "reg_doc_a")
    page.goto("/registry/new")
    page.fill("input[name=name]", "黄小明")
    page.fill("input[name=id_number]", id_number())
    page.fill("input[name=village_code]", V1)
    page.fill("input[name=icd10]", "F20.0")
    page.fill("input[name=registered_on]", str(today - dt.timedelta(days=100)))
    page.fill("input[name=guardian_name]", "黄大明")
    page.click("form[action='/registry/new'] button[type=submit]")
    page.wait_for_url(re.compile(r"/registry/patients/P[0-9A-F]{10}$"))
    registry_no = page.url.rsplit("/", 1)[1]
    patient_url = page.url

    page.goto("/registry/worklist")
    row = page.locator(f"tr[data-registry-no='{registry_no}']")
    assert "overdue" in (row.get_attribute("class") or "")  # first follow-up was due 86 days ago
    screenshot(page, "registry-worklist")

    page.goto(patient_url)
    page.check("input[name=behaviours][value=self_harm]")  # 持刀自杀未遂 → 4 级, 不是 5 级
    page.locator("#suggested[data-level='4']").wait_for()
    page.wait_for_function(
        "document.querySelector('#risk_level').value === '4'"
    )  # pre-filled (000 篇3 item 10)
    page.select_option("select[name=risk_level]", "0")
    page.uncheck("input[name=behaviours][value=self_harm]")
    page.locator("#suggested[data-level='0']").wait_for()
    page.click("#followup-form button[type=submit]")
    page.locator("#followup-result").wait_for()
    due = page.locator("#next-due").inner_text()
    month = today.month + 3
    assert due.startswith(f"{today.year + (month - 1) // 12}-{(month - 1) % 12 + 1:02d}")  # 稳定: 3 个月
    screenshot(page, "registry-patient")

    page.goto("/registry/worklist")
    assert page.locator(f"tr[data-registry-no='{registry_no}']").count() == 0

    page.context.clear_cookies()
    sign_in(page, "reg_doc_b")
    response = page.goto(patient_url)
    assert response is not None and response.status == 404
    assert "黄小明" not in page.content()


def test_the_doctor_lands_on_the_work_list(page):  # type: ignore[no-untyped-def]
    """Issue 19 item 5: the doctor lands on the work list."""
    sign_in(page, "reg_doc_a")
    assert page.url.split("?")[0].endswith("/registry/worklist"), page.url
    screenshot_widths(page, "landing-doctor")
