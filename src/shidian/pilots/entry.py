"""Validation on entry (填报校验): every value a reporting unit enters, checked before it is saved.

Issue #5 "Reporting": "validation on entry (a rate's numerator ≤ its denominator, ranges,
required fields) with clear messages". Each message names the indicator (code and Chinese
name), the population group, the field (分子/数值, 分母) and the reason; a form row or an
Excel sheet row is carried in ``Source.row`` so an uploaded file's problems point at cells.

Rules (docs/pilots.md "Reporting and supervision"):

* every value is ≥ 0; a count (计数) is a whole number; a yes/no (是否) value is 0 or 1;
* a rate (率) needs its denominator (分母); numerator ≤ denominator; 0/0 is allowed (no cases
  in the period, e.g. no patient on the register) and aggregates as nothing;
* other kinds have no denominator;
* ``minimum``/``maximum`` of an indicator bound its value (a count or amount);
* on submit (``complete=True``) every indicator × population group the unit reports needs a
  value; a draft may be partial;
* the period starts on a period boundary of the plan (month, quarter, year), lies inside the
  plan's reporting window and has started (not in the future) on ``as_of``.

Pure: takes specs, entries and dates; returns Problems.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from shidian.money import ZERO
from shidian.problems import Problem, Source

PeriodKind = Literal["month", "quarter", "year"]
IndicatorKind = Literal["count", "rate", "amount", "yes_no"]

PERIOD_KINDS: dict[str, str] = {"month": "月", "quarter": "季度", "year": "年"}
KIND_LABELS: dict[str, str] = {"count": "计数", "rate": "率", "amount": "金额", "yes_no": "是否"}
NUMERATOR_LABEL = "分子/数值"
DENOMINATOR_LABEL = "分母"
#: Population group labels (人群); '' is the whole population.
POPULATION_LABELS: dict[str, str] = {
    "": "全人群",
    "officials": "党政机关干部",
    "students": "学生",
    "urban": "城市居民",
    "rural": "农村居民",
}


@dataclass(frozen=True)
class IndicatorSpec:
    """What a form row asks for (填报指标): code, Chinese name, kind, population groups, bounds."""

    code: str
    name: str
    kind: str
    populations: tuple[str, ...] = ("",)
    unit: str = ""
    minimum: Decimal | None = None
    maximum: Decimal | None = None


@dataclass(frozen=True)
class Entry:
    """One entered value (填报值); ``row`` is the form or sheet row it came from, if any."""

    indicator_code: str
    population: str
    numerator: Decimal | None
    denominator: Decimal | None
    row: int | None = None


def population_label(code: str) -> str:
    return POPULATION_LABELS.get(code, code)


def shown(value: Decimal) -> str:
    """A value as the officer typed it: ``600`` not ``600.00000000``, ``0.5`` not ``5E-1``."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _where(source: str, entry: Entry, field: str | None) -> Source:
    return Source(source, row=entry.row, column=field)


def _name(spec: IndicatorSpec, population: str) -> str:
    group = f" ({population_label(population)})" if population else ""
    return f"指标 {spec.code} {spec.name}{group}"


def check_entries(
    specs: Sequence[IndicatorSpec],
    entries: Iterable[Entry],
    *,
    source: str = "<form>",
    complete: bool = False,
) -> list[Problem]:
    """Every problem of ``entries`` against ``specs``; ``complete`` also requires every value."""
    by_code = {s.code: s for s in specs}
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for entry in entries:
        spec = by_code.get(entry.indicator_code)
        if spec is None:
            problems.append(
                Problem(
                    "pilots.entry.unknown_indicator",
                    f"指标 {entry.indicator_code} 不是本单位本期应填报的指标 (unknown indicator)",
                    _where(source, entry, "指标编码"),
                )
            )
            continue
        if entry.population not in spec.populations:
            allowed = "、".join(population_label(p) for p in spec.populations)
            problems.append(
                Problem(
                    "pilots.entry.unknown_population",
                    f"指标 {spec.code} {spec.name}: 人群 {entry.population!r} 不适用, 应为 {allowed} "
                    "(unknown population group)",
                    _where(source, entry, "人群"),
                )
            )
            continue
        key = (entry.indicator_code, entry.population)
        if key in seen:
            problems.append(
                Problem(
                    "pilots.entry.duplicate",
                    f"{_name(spec, entry.population)} 重复填报 (duplicate value)",
                    _where(source, entry, "指标编码"),
                )
            )
            continue
        seen.add(key)
        problems += _check_value(spec, entry, source)
    if complete:
        for spec in specs:
            for population in spec.populations:
                if (spec.code, population) not in seen:
                    problems.append(
                        Problem(
                            "pilots.entry.required",
                            f"{_name(spec, population)}: {NUMERATOR_LABEL} 未填写, 提交前必须填写 (required)",
                            Source(source, column=NUMERATOR_LABEL),
                        )
                    )
    return problems


def _check_value(spec: IndicatorSpec, entry: Entry, source: str) -> list[Problem]:
    name = _name(spec, entry.population)
    num, den = entry.numerator, entry.denominator

    def problem(code: str, field: str, reason: str) -> Problem:
        return Problem(f"pilots.entry.{code}", f"{name}: {field} {reason}", _where(source, entry, field))

    found: list[Problem] = []
    if num is None:
        found.append(problem("required", NUMERATOR_LABEL, "未填写 (required)"))
    elif num < ZERO:
        found.append(problem("negative", NUMERATOR_LABEL, f"为 {shown(num)}, 不能为负数 (negative)"))
    if spec.kind == "rate":
        if den is None:
            found.append(problem("required", DENOMINATOR_LABEL, "未填写, 率指标必须填写分母 (required)"))
        elif den < ZERO:
            found.append(problem("negative", DENOMINATOR_LABEL, f"为 {shown(den)}, 不能为负数 (negative)"))
        if found:
            return found
        assert num is not None and den is not None
        if num > den:
            found.append(
                problem(
                    "numerator_above_denominator",
                    NUMERATOR_LABEL,
                    f"{shown(num)} 大于分母 {shown(den)}, 率不能超过 100% (numerator > denominator)",
                )
            )
        return found
    if den is not None:
        found.append(
            problem(
                "denominator_not_allowed",
                DENOMINATOR_LABEL,
                f"为 {shown(den)}, {KIND_LABELS.get(spec.kind, spec.kind)}指标不填分母 (no denominator)",
            )
        )
    if num is None or num < ZERO:
        return found
    if spec.kind == "yes_no" and num not in (ZERO, Decimal(1)):
        found.append(
            problem(
                "not_yes_no", NUMERATOR_LABEL, f"为 {shown(num)}, 是否指标只能填 1 (是) 或 0 (否) (not 0/1)"
            )
        )
    if spec.kind == "count" and num != num.to_integral_value():
        found.append(
            problem("not_integer", NUMERATOR_LABEL, f"为 {shown(num)}, 计数指标应为整数 (not a whole number)")
        )
    if spec.minimum is not None and num < spec.minimum:
        found.append(
            problem(
                "below_min",
                NUMERATOR_LABEL,
                f"为 {shown(num)}, 小于下限 {shown(spec.minimum)} (below minimum)",
            )
        )
    if spec.maximum is not None and num > spec.maximum:
        found.append(
            problem(
                "above_max",
                NUMERATOR_LABEL,
                f"为 {shown(num)}, 大于上限 {shown(spec.maximum)} (above maximum)",
            )
        )
    return found


# ---- periods ------------------------------------------------------------------------------------


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


PERIOD_MONTHS: dict[str, int] = {"month": 1, "quarter": 3, "year": 12}


def is_period_start(day: date, kind: str) -> bool:
    """Whether ``day`` is the first day of a month, calendar quarter or year."""
    if day.day != 1:
        return False
    return (day.month - 1) % PERIOD_MONTHS[kind] == 0


def period_start_of(day: date, kind: str) -> date:
    """The first day of the period holding ``day``."""
    step = PERIOD_MONTHS[kind]
    return date(day.year, (day.month - 1) // step * step + 1, 1)


def period_end(start: date, kind: str) -> date:
    """The last day of the period starting on ``start``."""
    return _add_months(start, PERIOD_MONTHS[kind]) - timedelta(days=1)


def next_period(start: date, kind: str) -> date:
    return _add_months(start, PERIOD_MONTHS[kind])


def periods_between(first_day: date, last_day: date, kind: str) -> list[date]:
    """The starts of every period overlapping [first_day, last_day], in order."""
    starts: list[date] = []
    start = period_start_of(first_day, kind)
    while start <= last_day:
        starts.append(start)
        start = next_period(start, kind)
    return starts


def period_label(start: date, kind: str) -> str:
    """``2020年3月``, ``2020年第1季度``, ``2020年``."""
    if kind == "month":
        return f"{start.year}年{start.month}月"
    if kind == "quarter":
        return f"{start.year}年第{(start.month - 1) // 3 + 1}季度"
    return f"{start.year}年"


def check_period(
    start: date, kind: str, plan_first: date, plan_last: date, as_of: date, *, source: str = "<form>"
) -> list[Problem]:
    """The period must start on a boundary, overlap the plan's window, and have started."""
    where = Source(source, column="报告期")
    if kind not in PERIOD_MONTHS:
        return [Problem("pilots.period.unknown_kind", f"未知的报告周期 {kind!r}", where)]
    if not is_period_start(start, kind):
        return [
            Problem(
                "pilots.period.not_a_start",
                f"报告期 {start.isoformat()} 不是{PERIOD_KINDS[kind]}的第一天 (not a period start)",
                where,
            )
        ]
    problems: list[Problem] = []
    if period_end(start, kind) < plan_first or start > plan_last:
        problems.append(
            Problem(
                "pilots.period.outside_plan",
                f"报告期 {period_label(start, kind)} 不在方案填报期 {plan_first.isoformat()} 至 "
                f"{plan_last.isoformat()} 内 (outside the plan's reporting period)",
                where,
            )
        )
    if start > as_of:
        problems.append(
            Problem(
                "pilots.period.future",
                f"报告期 {period_label(start, kind)} 尚未开始, 不能填报未来的数据 (future period)",
                where,
            )
        )
    return problems
