"""The clock (时钟): the one place that reads the time.

Times are stored in UTC (``now``). The business date (``today``), the date a deadline, a
follow-up or a report period is judged by, is the date in the bureau's time zone: Beijing time
by default, another zone with ``SHIDIAN_TIMEZONE`` (read once, at import). A UTC date would
roll over at 08:00 Beijing time, and a host's local date depends on the host.

Tests can move the clock (``start_at``): the test suite runs under ``SHIDIAN_CLOCK_AT`` (see
``tests/conftest.py``) to check both sides of midnight in Beijing. Nothing in ``shidian`` calls
``start_at`` and no setting reads that variable (``tests/platform/test_clock.py`` checks both), so
a server's clock is always the host's; a moved clock is logged as a warning.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from zoneinfo import ZoneInfo

#: The bureau's time zone (``SHIDIAN_TIMEZONE``, default Asia/Shanghai).
TIME_ZONE = ZoneInfo(os.environ.get("SHIDIAN_TIMEZONE", "Asia/Shanghai"))

#: How far the clock is moved from the host's (``start_at``; zero outside tests).
_offset = dt.timedelta(0)


def now() -> dt.datetime:
    """The current instant, timezone-aware, in UTC (what the database stores)."""
    return dt.datetime.now(dt.UTC) + _offset


def start_at(instant: dt.datetime) -> None:
    """Tests only: the clock reads ``instant`` now and runs on from there (an aware instant)."""
    global _offset
    if instant.tzinfo is None:
        raise ValueError(f"the clock needs an instant with a time zone, not {instant.isoformat()}")
    _offset = instant - dt.datetime.now(dt.UTC)
    logging.getLogger(__name__).warning("the clock is moved for tests: it started at %s", instant.isoformat())


def reset() -> None:
    """Tests only: the clock is the host's again."""
    global _offset
    _offset = dt.timedelta(0)


def today() -> dt.date:
    """The business date: today's date in ``TIME_ZONE``."""
    return now().astimezone(TIME_ZONE).date()


def local(value: dt.datetime) -> dt.datetime:
    """A stored instant in ``TIME_ZONE``; a naive value is UTC (SQLite returns what was written)."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    return aware.astimezone(TIME_ZONE)
