"""Signing in and out in a real browser."""

from __future__ import annotations

from tests.browser.conftest import screenshot, sign_in


def test_sign_in_wrong_password_then_right(page):
    page.goto("/login")
    screenshot(page, "login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "wrong-password-1")
    page.click("button[type=submit]")
    assert page.locator(".error").is_visible()
    sign_in(page, "admin")
    page.goto("/admin/users")
    assert page.locator("table.data").is_visible()
    assert "h1" in page.content()
    screenshot(page, "admin-users")


def test_language_switch_to_english(page):
    sign_in(page, "admin")
    page.goto("/admin/audit?lang=en")
    assert page.locator("html").get_attribute("lang") == "en"
