"""The one formatter (显示格式): numbers, money, ratios and times as people read them.

Every page, export and CLI summary formats through this module; files meant for machines
(CSV, Parquet, run.json) keep exact values as ``format(x, "f")``. No float on the way: every
function takes Decimal (or int) and formats its exact digits.

* ``plain``   exact digits, no exponent: ``0.00000000``, never ``0E-8``; None as a dash;
* ``grouped`` exact digits with thousands separators: ``19,055,897.00838765``;
* ``yuan``    an amount at the fen, half up, with separators: ``500,000.00``;
* ``number``  separators, trailing zeros dropped: ``86.5``, ``12,345``;
* ``percent`` a ratio (0–1) as a percentage: ``0.825`` → ``82.5%``;
* ``date_time`` a stored UTC instant in the bureau's time zone.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from shidian.money import round_fen

DASH = "—"


def plain(value: object) -> str:
    """A number as people and JSON read it: ``0.00000000``, never ``0E-8``; None as a dash."""
    if value is None:
        return DASH
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def grouped(value: Decimal | int) -> str:
    """Exact digits with thousands separators: ``12,000.00`` (no rounding)."""
    return format(value, ",f") if isinstance(value, Decimal) else format(value, ",")


def yuan(value: Decimal | int, *, signed: bool = False) -> str:
    """An amount in yuan at the fen (四舍五入), with separators: 500000 → ``500,000.00``;
    ``signed`` shows a plus sign on a positive change (``+1,200.00``)."""
    text = format(round_fen(Decimal(value)), ",f")
    return "+" + text if signed and value > 0 else text


def number(value: Decimal | int) -> str:
    """12345 → ``12,345``; 86.50 → ``86.5`` (separators, no trailing zeros)."""
    text = grouped(value)
    return text.rstrip("0").rstrip(".") if "." in text else text


def trimmed(value: Decimal | int) -> str:
    """Exact digits without separators or trailing zeros: ``86.5``, ``12345``."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def percent(ratio: Decimal | int) -> str:
    """A ratio as a percentage, exact: 0.75 → ``75%``; 0.825 → ``82.5%``."""
    return trimmed(Decimal(ratio) * 100) + "%"


def date_time(value: dt.datetime | dt.date | None, zone: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored time as users read it: in ``zone`` (a naive value is UTC, as SQLite returns
    what was written in UTC); a date is shown as it is, without a time."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(zone).strftime(fmt)
    return value.strftime(fmt if "%H" not in fmt else "%Y-%m-%d")


#: The formatters templates call by name: ``{{ plain(x) }}``, ``{{ yuan(x) }}`` …
TEMPLATE_FUNCTIONS: dict[str, Any] = {
    "plain": plain,
    "grouped": grouped,
    "yuan": yuan,
    "number": number,
    "percent": percent,
}
