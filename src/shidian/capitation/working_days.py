"""Working days (工作日): Monday to Friday, less the policy's holidays, plus its make-up days.

001 第十七篇 七(二): "每季度前10个工作日内及时足额预拨到位" — the prepayment of a quarter is
due by its ``n``-th working day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection


def is_working_day(day: dt.date, holidays: Collection[dt.date], workdays: Collection[dt.date]) -> bool:
    """A working day: a weekday that is no holiday, or a weekend day the calendar makes one (调休)."""
    if day in workdays:
        return True
    return day.weekday() < 5 and day not in holidays


def nth_working_day(
    start: dt.date, n: int, holidays: Collection[dt.date], workdays: Collection[dt.date]
) -> dt.date:
    """The ``n``-th working day counted from ``start`` (``start`` itself is the first if it works)."""
    if n < 1:
        raise ValueError("n must be at least 1")
    day, seen = start, 0
    while True:
        if is_working_day(day, holidays, workdays):
            seen += 1
            if seen == n:
                return day
        day += dt.timedelta(days=1)


def quarter_start(year: int, quarter: int) -> dt.date:
    """The first day of ``quarter`` (1–4) of ``year``."""
    return dt.date(year, 3 * (quarter - 1) + 1, 1)
