"""The business date is Beijing's, and nothing but the clock reads the host's time.

A test that took its date from the host (``date.today()``) disagreed with the app's Beijing date
between 16:00 and 24:00 UTC and failed CI there; this keeps every reader on ``platform.clock``.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from shidian.platform import clock
from tests.conftest import MIDNIGHT_MARGIN, skip_to_midnight_if_close

ROOT = Path(__file__).resolve().parents[2]
HOST_CLOCK = re.compile(r"\bdate\.today\(|\bdatetime\.now\(|\butcnow\(|\bdatetime\.today\(")


@pytest.mark.parametrize(
    ("instant", "business_date"),
    [
        (dt.datetime(2026, 12, 7, 15, 59, 59, tzinfo=dt.UTC), dt.date(2026, 12, 7)),  # 23:59:59 北京时间
        (dt.datetime(2026, 12, 7, 16, 0, 0, tzinfo=dt.UTC), dt.date(2026, 12, 8)),  # 00:00 北京时间
        (dt.datetime(2026, 12, 31, 16, 0, 0, tzinfo=dt.UTC), dt.date(2027, 1, 1)),  # 元旦, a new year
    ],
)
def test_the_business_date_turns_at_midnight_in_beijing(monkeypatch, instant, business_date):
    monkeypatch.setattr(clock, "now", lambda: instant)
    assert clock.today() == business_date


def test_only_the_clock_reads_the_host_time():
    readers = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("src", "tests", "bench")
        for path in (ROOT / folder).rglob("*.py")
        if path.name != "clock.py" and path != Path(__file__).resolve()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if HOST_CLOCK.search(line)
    ]
    assert readers == [], "read the time through shidian.platform.clock (Beijing date), not the host"


def test_pages_show_stored_instants_in_the_bureaus_time_zone():
    """Issue 19 item 9: a stored instant (``*_at``, UTC) reaches a page only through the
    ``local_time`` filter (or the run pages' ``when``), never by formatting it as stored: the
    pending-reports list showed 19:02 (UTC) where the DRG pages showed 02:59 for one moment."""
    import re
    from pathlib import Path

    templates = Path(__file__).parents[2] / "src" / "shidian" / "web" / "templates"
    raw = re.compile(r"_at\s*\.\s*(strftime|isoformat)|_at\s*}}")
    offenders = [
        f"{path.relative_to(templates)}:{n}"
        for path in sorted(templates.rglob("*.html"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if raw.search(line)
    ]
    assert offenders == []


def test_a_started_clock_reads_its_instant_and_runs_on(monkeypatch):
    monkeypatch.setattr(clock, "_offset", clock._offset)  # restored after the test
    clock.start_at(dt.datetime(2026, 12, 7, 15, 59, 59, tzinfo=dt.UTC))
    first = clock.now()
    assert (
        dt.timedelta(0)
        <= first - dt.datetime(2026, 12, 7, 15, 59, 59, tzinfo=dt.UTC)
        < dt.timedelta(minutes=5)
    )
    assert clock.now() >= first
    assert clock.local(first).date() in (dt.date(2026, 12, 7), dt.date(2026, 12, 8))
    with pytest.raises(ValueError):
        clock.start_at(dt.datetime(2026, 12, 7, 16, 0))  # naive: which zone?
    clock.reset()
    assert clock._offset == dt.timedelta(0)


def test_only_tests_move_the_clock():
    """A server cannot run on a moved clock: no code starts it and no setting names it."""
    movers = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in (ROOT / "src").rglob("*.py")
        if path.name != "clock.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "start_at(" in line or "SHIDIAN_CLOCK_AT" in line or "clock._offset" in line
    ]
    assert movers == []


@pytest.mark.parametrize(
    ("beijing", "after"),
    [
        ("2026-12-07T23:55:00+08:00", "2026-12-08T00:00:00+08:00"),  # 5 minutes before midnight: skipped
        ("2026-12-31T23:59:59+08:00", "2027-01-01T00:00:00+08:00"),
        ("2026-12-07T23:45:00+08:00", None),  # 15 minutes before: left alone
        ("2026-12-08T00:00:00+08:00", None),
        ("2026-12-08T05:00:00+08:00", None),  # 21:00 UTC, the hour issue 22's failure happened
    ],
)
def test_no_test_starts_just_before_midnight_in_beijing(monkeypatch, beijing, after):
    monkeypatch.setattr(clock, "_offset", clock._offset)  # restored after the test
    start = dt.datetime.fromisoformat(beijing)
    clock.start_at(start)
    skip_to_midnight_if_close()
    now = clock.now()
    expected = dt.datetime.fromisoformat(after) if after else start
    assert dt.timedelta(0) <= now - expected < MIDNIGHT_MARGIN / 2, (now, expected)
