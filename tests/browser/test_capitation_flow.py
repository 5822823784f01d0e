"""The 医共体 capitation workflow in a real browser: the bureau settles a year, publishes it
(confirming), settles it again and publishes the correction naming the first run with a reason,
records a quarterly prepayment as paid; the lead hospital of 医共体 A sees its own 医共体 only."""

from __future__ import annotations

import re
from pathlib import Path

from tests.browser.conftest import screenshot, sign_in
from tests.capitation.test_cli import FUND, TABLES
from tests.waiting import PATIENCE_MS

# H1 (the hospital user h1's institution) leads 医共体 A; H3 is no member.
MEMBERS = {name: text.replace("A1", "H1") for name, text in TABLES.items()}


def _inputs(folder: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fund.toml").write_text(FUND, encoding="utf-8")
    for name, text in MEMBERS.items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return [str(p) for p in sorted(folder.iterdir())]


def _settle(page, files: list[str]) -> str:  # type: ignore[no-untyped-def]
    page.goto("/capitation")
    page.select_option("select[name=policy]", "langxi-2020")
    page.set_input_files("form[action='/capitation/settle'] input[name=files]", files)
    page.click("form[action='/capitation/settle'] button[type=submit]")
    page.wait_for_url(re.compile(r"/capitation/runs/[0-9a-f]{32}$"))
    return page.url.rsplit("/", 1)[1]


def _publish(page) -> None:  # type: ignore[no-untyped-def]
    asked: list[str] = []

    def accept(dialog) -> None:  # type: ignore[no-untyped-def]
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.click("form[action$='/publish'] button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert asked and "发布" in asked[0]  # the publication asked for confirmation


def test_officer_settles_publishes_corrects_and_records_a_payment(page, browser, server, tmp_path):
    sign_in(page, "officer")
    files = _inputs(tmp_path / "inputs")
    first = _settle(page, files)
    assert "草稿" in page.content() and "91,140,000.00" in page.content()
    screenshot(page, "capitation-draft")
    if page.locator("#publish-correction").count():  # a run of 2020 was published before
        page.fill("form[action$='/publish'] input[name=reason]", "浏览器测试")
    _publish(page)
    assert page.locator("form[action$='/publish']").count() == 0
    assert "已发布" in page.content()

    # the same year again: the draft must name the run it corrects and say why
    second = _settle(page, files)
    page.locator("#publish-correction").wait_for()
    assert page.locator(f"select[name=corrects_run_id] option[value='{first}']").count() == 1
    page.select_option("select[name=corrects_run_id]", first)
    page.fill("form[action$='/publish'] input[name=reason]", "参保人数更正")
    _publish(page)
    assert "更正原因: 参保人数更正" in page.content()
    assert page.locator(f"a[href='/capitation/runs/{first}']").count() >= 1
    screenshot(page, "capitation-corrected")

    # record 医共体 A's first-quarter prepayment (54,684,000.00 ÷ 4 = 13,671,000.00) as paid
    page.click(f"a[href='/capitation/runs/{second}/prepayments']")
    page.wait_for_url(re.compile(r"/prepayments$"))
    row = page.locator("tr[data-prepayment='A-1']")
    assert "13,671,000.00" in row.inner_text() and "逾期" in row.inner_text()
    page.select_option("form[action$='/prepayments'] select[name=community_id]", "A")
    page.select_option("form[action$='/prepayments'] select[name=quarter]", "1")
    page.fill("form[action$='/prepayments'] input[name=paid_on]", "2020-01-15")
    page.fill("form[action$='/prepayments'] input[name=amount]", "13671000.00")
    page.fill("form[action$='/prepayments'] input[name=reference]", "国库 2020-001")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("form[action$='/prepayments'] button[type=submit]")
    page.wait_for_load_state("networkidle")
    row = page.locator("tr[data-prepayment='A-1']")
    assert "及时足额" in row.inner_text() and "逾期" not in row.inner_text()
    assert "国库 2020-001" in page.locator("#capitation-payments").inner_text()
    screenshot(page, "capitation-prepayments")

    # the lead hospital of A: the published runs, its own 医共体 only, no forms
    context = browser.new_context(base_url=server, locale="zh-CN", viewport={"width": 1366, "height": 900})
    context.set_default_timeout(PATIENCE_MS)
    member = context.new_page()
    try:
        sign_in(member, "h1")
        member.goto(f"/capitation/runs/{second}")
        text = member.content()
        assert "54,684,000.00" in text and "36,456,000.00" not in text  # A's pot, not B's
        assert member.locator("form[action$='/publish']").count() == 0
        member.goto(f"/capitation/runs/{second}/prepayments")
        assert member.locator("tr[data-prepayment^='B-']").count() == 0
        assert member.locator("form[action$='/prepayments']").count() == 0
        screenshot(member, "capitation-member")
    finally:
        context.close()
