"""Pilot reporting in a real browser: a township fills and submits its quarterly form, the pilot
office approves it, and the form is locked (no inputs, no save button, status 已审核)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.conftest import screenshot, screenshot_widths, served_app, sign_in
from tests.waiting import PATIENCE_MS
from tests.web.pilots.conftest import TOWN_A, seed_pilots


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app with the web fixture's users plus the pilots hierarchy, users and loaded plan."""
    with served_app(tmp_path_factory.mktemp("browser-pilots")) as (base, app):
        yield f"{base}|{seed_pilots(app)}"


@pytest.fixture
def page(browser, server):  # type: ignore[no-untyped-def]
    base = server.split("|")[0]
    context = browser.new_context(base_url=base, locale="zh-CN", viewport={"width": 1400, "height": 900})
    context.set_default_timeout(PATIENCE_MS)
    page = context.new_page()
    external: list[str] = []
    page.on("request", lambda r: external.append(r.url) if not r.url.startswith(base) else None)
    yield page
    context.close()
    assert not external, f"the page requested outside the server: {external}"


def test_township_submits_office_approves_form_locks(page, server):  # type: ignore[no-untyped-def]
    plan_id = server.split("|")[1]
    form_path = f"/pilots/reports/{plan_id}/{TOWN_A}/2021-10-01"
    sign_in(page, "town_a")
    page.goto("/pilots/reports")
    page.click(f"a[href='{form_path}']")
    page.wait_for_url(f"**{form_path}")
    # a wrong value first: 2 is not a yes/no answer
    page.fill("input[name='num|TOWNSHIP_WORKGROUP|']", "2")
    page.fill("input[name='num|TOWNSHIP_HC_PSY_STAFF|']", "1")
    page.click("button[name=action][value=submit]")
    page.locator("#problems").wait_for()
    assert "TOWNSHIP_WORKGROUP" in page.locator("#problems").inner_text()
    screenshot(page, "pilots-report-problems")
    page.fill("input[name='num|TOWNSHIP_WORKGROUP|']", "1")
    page.click("button[name=action][value=submit]")
    page.wait_for_url("**done=submitted")
    assert page.locator("#report-status").get_attribute("data-status") == "submitted"
    assert page.locator("input[name='num|TOWNSHIP_WORKGROUP|']").count() == 0
    page.click("form[action='/logout'] button")
    page.wait_for_load_state("networkidle")

    sign_in(page, "pilot_office")
    page.goto("/pilots/reports")
    page.locator("#approval-queue").get_by_role("link").first.click()
    page.wait_for_url(f"**{form_path}")
    screenshot(page, "pilots-report-review")
    asked: list[str] = []  # approving locks the report: the page asks first (issue 19)

    def answer(dialog):  # type: ignore[no-untyped-def]
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", answer)
    page.click("#approve")
    page.wait_for_url("**done=approved")
    assert asked and page.locator("#report-status").get_attribute("data-status") == "approved"
    page.click("form[action='/logout'] button")
    page.wait_for_load_state("networkidle")

    sign_in(page, "town_a")
    page.goto(form_path)
    assert page.locator("#report-status").get_attribute("data-status") == "approved"
    assert page.locator("#report-form input[name^='num|']").count() == 0
    assert page.locator("button[name=action]").count() == 0
    assert page.locator("form[action$='/change-request']").count() == 1  # only a change request remains
    screenshot(page, "pilots-report-locked")


def test_the_monitoring_chart_is_drawn(page, server):  # type: ignore[no-untyped-def]
    """The monitoring page asks for no chart library itself: app.js loads ECharts and draws."""
    plan_id = server.split("|")[1]
    sign_in(page, "pilot_office")
    page.goto(f"/pilots/plans/{plan_id}/monitoring?as_of=2021-12-31")
    page.locator("[data-chart='monitoring-chart'] canvas").wait_for()
    screenshot(page, "pilots-monitoring")


def test_the_pilot_office_lands_on_supervision(page):  # type: ignore[no-untyped-def]
    """Issue 19 item 5: the pilot office lands on its work (rectifications; approvals linked)."""
    sign_in(page, "pilot_office")
    assert page.url.split("?")[0].endswith("/pilots/supervision"), page.url
    screenshot_widths(page, "landing-pilot_office")
