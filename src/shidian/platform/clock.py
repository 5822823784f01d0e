"""The clock (时钟): the one place that reads the time.

Times are stored in UTC (``now``). The business date (``today``), the date a deadline, a
follow-up or a report period is judged by, is the date in the bureau's time zone: Beijing time
by default, another zone with ``SHIDIAN_TIMEZONE`` (read once, at import). A UTC date would
roll over at 08:00 Beijing time, and a host's local date depends on the host.
"""

from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo

#: The bureau's time zone (``SHIDIAN_TIMEZONE``, default Asia/Shanghai).
TIME_ZONE = ZoneInfo(os.environ.get("SHIDIAN_TIMEZONE", "Asia/Shanghai"))


def now() -> dt.datetime:
    """The current instant, timezone-aware, in UTC (what the database stores)."""
    return dt.datetime.now(dt.UTC)


def today() -> dt.date:
    """The business date: today's date in ``TIME_ZONE``."""
    return now().astimezone(TIME_ZONE).date()


def local(value: dt.datetime) -> dt.datetime:
    """A stored instant in ``TIME_ZONE``; a naive value is UTC (SQLite returns what was written)."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    return aware.astimezone(TIME_ZONE)
