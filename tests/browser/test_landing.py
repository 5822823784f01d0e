"""Each role's landing page in a real browser (issue 19 item 5), screenshotted at 1366 and 390 px
into var/screenshots/ (kept out of the repository): the role lands on its own work, the unread
count of its notifications appears in the navigation, and nothing of the page needs another
server."""

from __future__ import annotations

import pytest

from tests.browser.conftest import SCREENSHOTS, sign_in

LANDINGS = {
    "officer": "/drg/runs",
    "leader": "/drg/overview",
    "admin": "/drg/overview",
    "h1": "/drg/hospitals/H1",
    "reporter": "/pilots/reports",
}


@pytest.mark.parametrize(("username", "landing"), LANDINGS.items())
def test_each_role_lands_on_its_work(page, username, landing):
    sign_in(page, username)
    assert page.url.split("?")[0].endswith(landing), page.url
    page.locator("#notifications-link").wait_for()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SCREENSHOTS / f"landing-{username}-{width}.png"), full_page=True)
