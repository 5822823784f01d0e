"""The DRG workflow in a real browser: import (with errors, then clean), run, publish, look at
the charts and a case explanation; a hospital user cannot open another hospital's case."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from tests.browser.conftest import screenshot, sign_in
from tests.conftest import HANDWORKED


def upload(page, folder: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto("/drg/imports")
    page.fill("input[name=name]", f"浏览器测试 {folder.name}")
    page.set_input_files("input[name=files]", [str(p) for p in sorted(folder.iterdir())])
    page.click("form[action='/drg/imports/check'] button[type=submit]")


def test_officer_imports_runs_and_publishes(page, tmp_path):
    sign_in(page, "officer")
    bad = tmp_path / "bad"
    shutil.copytree(HANDWORKED, bad)
    text = (bad / "cases.csv").read_text(encoding="utf-8").replace("K03,H1,", "K03,H9,")
    (bad / "cases.csv").write_text(text, encoding="utf-8")
    upload(page, bad)
    report = page.locator("#import-report")
    report.wait_for()
    assert "cases.csv" in report.inner_text()
    assert report.locator("[data-code='drg.case.unknown_hospital']").count() == 1  # the code in the title
    assert re.search(r"\b4\b", report.inner_text())  # K03 is on row 4 of cases.csv
    screenshot(page, "import-report")

    good = tmp_path / "good"
    shutil.copytree(HANDWORKED, good)
    upload(page, good)
    page.locator("#import-preview").wait_for()
    screenshot(page, "import-preview")
    page.click("#import-preview button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "浏览器测试 good" in page.content()

    page.goto("/drg/runs")
    dataset = page.locator("select[name=dataset_id] option", has_text="浏览器测试 good").first.get_attribute(
        "value"
    )
    page.select_option("select[name=dataset_id]", dataset)
    page.select_option("select[name=policy_id]", "guigang-2020")
    page.click("form[action='/drg/runs'] button[type=submit]")
    page.wait_for_url(re.compile(r"/drg/runs/[0-9a-f]+$"))
    publish = page.locator("form[action$='/publish'] button")
    publish.wait_for()  # the status partial polls until the run is a draft
    screenshot(page, "run-draft")
    # the seeded run of the year is published: this run names it and says why, and confirms
    page.locator("#publish-correction").wait_for()
    page.fill("form[action$='/publish'] input[name=reason]", "浏览器测试更正")
    page.once("dialog", lambda dialog: dialog.accept())
    publish.click()
    page.wait_for_load_state("networkidle")
    assert page.locator("form[action$='/publish']").count() == 0
    screenshot(page, "run-published")
    page.goto("/drg/runs")
    screenshot(page, "runs")


def test_overview_chart_and_case_explanation(page):
    sign_in(page, "officer")
    page.goto("/drg/overview")
    chart = page.locator("[data-chart] canvas").first
    chart.wait_for()
    assert chart.bounding_box()["width"] > 100
    screenshot(page, "overview")
    page.goto("/drg/hospitals/H1")
    page.locator("a[href*='/cases/K02']").first.click()
    page.wait_for_load_state("networkidle")
    assert "第十六条" in page.content() and "K02" in page.content()
    screenshot(page, "case-explanation")
    page.goto("/drg/hospitals/H1")
    screenshot(page, "hospital")
    page.goto("/policies/drg/guigang-2020")
    assert "第十一条" in page.content()
    screenshot(page, "policy")


def test_hospital_user_cannot_open_another_hospitals_case(page, server):
    sign_in(page, "h1")
    page.goto("/drg/hospitals/H1")
    assert "K01" in page.content() and "K05" not in page.content()
    screenshot(page, "hospital-own")
    run = page.locator("a[href*='/cases/K01']").first.get_attribute("href")
    assert run is not None
    other = run.replace("K01", "K05")  # K05 belongs to H3
    response = page.goto(other)
    assert response is not None and response.status == 404
    assert page.goto("/drg/hospitals/H3").status == 404
    run_id = re.search(r"/drg/runs/([0-9a-f]+)/", run).group(1)
    api = page.request.get(f"{server}/api/drg/runs/{run_id}/cases/K05")
    assert api.status == 404 and api.json()["ok"] is False
    own = page.request.get(f"{server}/api/drg/runs/{run_id}/cases/K01")
    assert own.status == 200
