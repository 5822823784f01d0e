"""The insurance flow in a real browser: an officer imports a county (first with a bad ID
number, then clean), runs the year's reimbursement and sees the fund ledger and its chart; a
hospital user sees its own statement only."""

from __future__ import annotations

import re
from pathlib import Path

from tests.browser.conftest import screenshot, sign_in
from tests.insurance.helpers import id_number
from tests.web.insurance.conftest import county_files

CLAIMS = (
    "claim_id,person_id,institution_id,kind,start_date,end_date,total_cost,self_pay\n"
    "C1,P01,H1,inpatient,2010-02-01,2010-02-06,2000,0\n"
    "C2,P03,H1,outpatient,2010-03-01,2010-03-01,100,0\n"
)


def _write(folder: Path, bad: bool) -> list[str]:
    folder.mkdir()
    paths = []
    for name, content in [*county_files(), ("claims.csv", CLAIMS.encode())]:
        text = content.decode()
        if bad and name == "persons.csv":
            text = text.replace(id_number(2), id_number(2)[:-1] + "Z")
        (folder / name).write_text(text, encoding="utf-8")
        paths.append(str(folder / name))
    return paths


def _upload(page, paths: list[str], name: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/insurance")
    page.fill("form[action='/insurance/imports'] input[name=name]", name)
    page.set_input_files("form[action='/insurance/imports'] input[name=files]", paths)
    page.click("form[action='/insurance/imports'] button[type=submit]")
    page.wait_for_load_state("networkidle")


def test_officer_imports_runs_and_sees_the_ledger(page, tmp_path):
    sign_in(page, "officer")
    _upload(page, _write(tmp_path / "bad", bad=True), "浏览器医保 bad")
    report = page.locator("#import-problems")
    report.wait_for()
    # the reason in Chinese; the code in the cell's title, not a column of codes (issue 19 item 7)
    assert report.locator("[data-code='insurance.person.bad_id_number']").count() == 1
    assert "persons.csv" in report.inner_text() and "问题代码" not in report.inner_text()
    screenshot(page, "insurance-import-report")

    _upload(page, _write(tmp_path / "good", bad=False), "浏览器医保")
    dataset = page.locator("select[name=dataset_id] option", has_text="浏览器医保").first.get_attribute(
        "value"
    )
    page.select_option("select[name=dataset_id]", dataset)
    page.click("form[action='/insurance/runs'] button[type=submit]")
    page.wait_for_url(re.compile(r"/insurance/runs/[0-9a-f]{32}$"))
    run_url = page.url
    assert "1,350.00" in page.content() and "110.56%" in page.content()
    page.locator("#pace-warning").wait_for()
    page.locator("[data-chart='chart-ledger'][data-drawn='1']").wait_for()  # ECharts drew it
    screenshot(page, "insurance-run")
    # the statements: institutions by name, a totals row, filtered by month (issue 19 items 7, 8)
    statements = page.locator("#statements")
    assert "平南县第一卫生院" in statements.inner_text()
    assert "1,492.50" in page.locator("#statements tfoot").inner_text()  # 1,462.50 + 30.00
    page.select_option("select[name=st_month]", "3")
    page.click("form:has(select[name=st_month]) button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "30.00" in page.locator("#statements tfoot").inner_text()
    assert "1,462.50" not in page.locator("#statements").inner_text()
    assert page.locator(".pager[data-list='st']").inner_text().startswith("第 1–1 条, 共 1 条")

    page.context.clear_cookies()
    sign_in(page, "h1")
    page.goto(run_url)
    assert "statements/H1.xlsx" in page.content()
    assert "1,350.00" not in page.content() and "statements/H3.xlsx" not in page.content()
    screenshot(page, "insurance-run-hospital")
