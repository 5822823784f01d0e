"""Browser tests: the real app served by uvicorn on loopback, driven by Debian's Chromium.

Playwright is told to use ``/usr/bin/chromium`` (never ``playwright install``). Screenshots of
the main pages are written to ``var/screenshots/``. Skipped, with the reason, where Chromium
is not installed (``make install`` installs it).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from shidian.platform.settings import Settings
from shidian.web.app import create_app
from tests.waiting import PATIENCE, PATIENCE_MS, wait_until
from tests.web.conftest import PASSWORD, seed

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).parents[2] / "var" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served_app(
    var_dir: Path, *seeders: Callable[[FastAPI], object], fixture_users: bool = True
) -> Iterator[tuple[str, FastAPI]]:
    """The app on a fresh SQLite database in ``var_dir``, seeded with the web fixture's users and
    published run (unless ``fixture_users`` is false: the demo brings its own) and then by each
    of ``seeders``, served by uvicorn on a free loopback port."""
    settings = Settings(
        database_url=f"sqlite:///{var_dir / 'shidian.db'}", var_dir=var_dir, secret_key="b" * 48
    )
    app = create_app(settings)
    if fixture_users:
        seed(app)
    for seeder in seeders:
        seeder(app)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    wait_until(lambda: instance.started, "uvicorn did not start")
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        instance.should_exit = True
        thread.join(timeout=PATIENCE)
        app.state.engine.dispose()
        shutil.rmtree(var_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on a fresh SQLite database with seeded users and a published run; its base URL."""
    with served_app(tmp_path_factory.mktemp("browser-var")) as (base, _):
        yield base


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} not installed (make install installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, server):  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=server, locale="zh-CN", viewport={"width": 1400, "height": 900})
    context.set_default_timeout(PATIENCE_MS)
    page = context.new_page()
    external: list[str] = []
    page.on("request", lambda r: external.append(r.url) if not r.url.startswith(server) else None)
    yield page
    context.close()
    assert not external, f"the page requested outside the server: {external}"


def sign_in(page, username: str, password: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def screenshot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def screenshot_widths(page, name: str, widths: tuple[int, ...] = (1366, 390)) -> None:  # type: ignore[no-untyped-def]
    """Full-page screenshots of ``page`` at each width (issue 19: landing pages and the desk slip)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in widths:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": widths[0], "height": 900})
