"""The one formatter (显示格式): numbers, money, ratios and times as people read them.

Every page, export and CLI summary formats through this module; files meant for machines
(CSV, Parquet, run.json) keep exact values as ``format(x, "f")``. No float on the way: every
function takes Decimal (or int) and formats its exact digits.

* ``plain``   exact digits, no exponent: ``0.00000000``, never ``0E-8``; None as a dash;
* ``grouped`` exact digits with thousands separators: ``19,055,897.00838765``;
* ``yuan``    an amount at the fen, half up, with separators: ``500,000.00``;
* ``number``  separators, trailing zeros dropped: ``86.5``, ``12,345``;
* ``percent`` a ratio (0–1) as a percentage: ``0.825`` → ``82.5%``;
* ``points``  points on a page: 2 decimals, half up, separators: ``19,055,897.01``
  (exact 8 decimals stay in files and explanations);
* ``point_value`` a point value (元/点) on a page: 4 decimals, half up: ``142.7521``;
* ``target``  a target as the plan writes it: ``86``, ``>= 100``, never ``86.00000000``;
* ``cell``    a result column by its name: points, point values, counts, ratios or yuan;
* ``date_time`` a stored UTC instant in the bureau's time zone.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from shidian.money import round_fen, round_to

DASH = "—"


def plain(value: object) -> str:
    """A number as people and JSON read it: ``0.00000000``, never ``0E-8``; None as a dash."""
    if value is None:
        return DASH
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def grouped(value: Decimal | int | None) -> str:
    """Exact digits with thousands separators: ``12,000.00`` (no rounding); None is a dash."""
    if value is None:
        return DASH
    return format(value, ",f") if isinstance(value, Decimal) else format(value, ",")


def yuan(value: Decimal | int | str | None, *, signed: bool = False) -> str:
    """An amount in yuan at the fen (四舍五入), with separators: 500000 → ``500,000.00``;
    ``signed`` shows a plus sign on a positive change (``+1,200.00``). Text (a cell of a
    run's CSV) is read exactly; None or blank is a dash."""
    if value is None or value == "":
        return DASH
    exact = Decimal(value)
    text = format(round_fen(exact), ",f")
    return "+" + text if signed and exact > 0 else text


def number(value: Decimal | int | str | None) -> str:
    """12345 → ``12,345``; 86.50 → ``86.5`` (separators, no trailing zeros); None or blank
    is a dash."""
    if value is None or value == "":
        return DASH
    text = grouped(Decimal(value) if isinstance(value, str) else value)
    return text.rstrip("0").rstrip(".") if "." in text else text


def trimmed(value: Decimal | int) -> str:
    """Exact digits without separators or trailing zeros: ``86.5``, ``12345``."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def percent(ratio: Decimal | int | str | None, places: int | None = None) -> str:
    """A ratio as a percentage, exact: 0.75 → ``75%``; 0.825 → ``82.5%``; with ``places``
    rounded half up to that many decimals: (0.91934, 2) → ``91.93%``."""
    if ratio is None or ratio == "":
        return DASH
    scaled = Decimal(ratio) * 100
    return (trimmed(scaled) if places is None else format(round_to(scaled, places), "f")) + "%"


def date_time(value: dt.datetime | dt.date | None, zone: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored time as users read it: in ``zone`` (a naive value is UTC, as SQLite returns
    what was written in UTC); a date is shown as it is, without a time."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(zone).strftime(fmt)
    return value.strftime(fmt if "%H" not in fmt else "%Y-%m-%d")


def _rounded(value: Decimal | int | str, places: int) -> str:
    return format(round_to(Decimal(value), places), ",f")


def points(value: Decimal | int | str | None) -> str:
    """Points as a page shows them: 2 decimals, half up, with separators:
    19055897.00838765 → ``19,055,897.01``. Files and explanations keep the 8 decimals."""
    return DASH if value is None or value == "" else _rounded(value, 2)


def point_value(value: Decimal | int | str | None) -> str:
    """A point value (元/点) on a page: 4 decimals, half up: 142.75214120 → ``142.7521``;
    0.0088287334616784 → ``0.0088``. Files and explanations keep every digit."""
    return DASH if value is None or value == "" else _rounded(value, 4)


def measured(value: Decimal | int | str | None, places: int = 2) -> str:
    """A reported or computed indicator value on a page: ``places`` decimals half up, trailing
    zeros dropped, separators: 86.00000000 → ``86``; 83.33333333 → ``83.33``."""
    if value is None or value == "":
        return DASH
    return number(round_to(Decimal(value), places))


def target(value: Decimal | int | str | None, direction: str = "") -> str:
    """A target as the plan writes it: 86.00000000 → ``86``, (100, ">=") → ``>= 100``;
    separators for large numbers (``12,000``)."""
    if value is None or value == "":
        return DASH
    text = number(Decimal(value))
    return f"{direction} {text}" if direction else text


#: Result columns kept exact on pages (coefficients, ratios the articles state to 8 places).
_EXACT_MARKS = ("coefficient", "ratio")
#: Result columns that are counts, months or levels: shown as whole numbers.
_COUNT_MARKS = ("cases", "month", "level", "count", "rows", "persons")


def cell(name: str, value: object) -> str:
    """A result column's value by the column's name: ``*points*`` → ``points``,
    ``*point_value*`` → ``point_value``, coefficients and ratios exact, counts as whole
    numbers, any other number as yuan; text as it is."""
    if value is None or value == "":
        return DASH
    if not isinstance(value, Decimal | int | str) or isinstance(value, bool):
        return str(value)
    try:
        exact = Decimal(value)
    except ArithmeticError:
        return str(value)
    if not exact.is_finite():
        return str(value)
    if "point_value" in name:
        return point_value(exact)
    if "points" in name:
        return points(exact)
    if any(mark in name for mark in _EXACT_MARKS):
        return plain(exact)
    if any(mark in name for mark in _COUNT_MARKS) or name.endswith("_id"):
        return number(exact) if name.endswith(("cases", "count", "rows", "persons")) else str(value)
    return yuan(exact)


#: The formatters templates call by name: ``{{ plain(x) }}``, ``{{ yuan(x) }}`` …
TEMPLATE_FUNCTIONS: dict[str, Any] = {
    "plain": plain,
    "grouped": grouped,
    "yuan": yuan,
    "number": number,
    "percent": percent,
    "points": points,
    "point_value": point_value,
    "target": target,
    "measured": measured,
    "cell": cell,
}
