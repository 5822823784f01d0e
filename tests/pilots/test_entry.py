"""Validation on entry (填报校验): each rule, and messages naming indicator, field and reason.

Issue #5 "Reporting": "validation on entry (a rate's numerator ≤ its denominator, ranges,
required fields) with clear messages".
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from shidian.pilots.entry import (
    Entry,
    IndicatorSpec,
    check_entries,
    check_period,
    is_period_start,
    period_end,
    period_label,
    period_start_of,
    periods_between,
)

RATE = IndicatorSpec("SMD_REGULAR_MGMT_RATE", "在册患者规范管理率", "rate")
ROOMS = IndicatorSpec("PSY_COUNSELLING_ROOMS", "心理咨询室数", "count", maximum=Decimal(50))
CLINIC = IndicatorSpec("PSY_CLINIC_OPEN", "精神科门诊已开设", "yes_no")
AWARE = IndicatorSpec(
    "MH_AWARENESS_RATE", "心理健康核心知识知晓率", "rate", populations=("students", "rural")
)
SPECS = (RATE, ROOMS, CLINIC, AWARE)


def e(
    code: str, num: str | None, den: str | None = None, population: str = "", row: int | None = None
) -> Entry:
    return Entry(
        code, population, None if num is None else Decimal(num), None if den is None else Decimal(den), row
    )


def codes(problems: list) -> list[str]:  # type: ignore[type-arg]
    return [p.code for p in problems]


def test_issue5_rate_numerator_above_denominator_is_refused_with_names() -> None:
    """规范管理率 45/40: 分子大于分母, 率不能超过 100%."""
    problems = check_entries(SPECS, [e(RATE.code, "45", "40", row=3)], source="form.xlsx")
    assert codes(problems) == ["pilots.entry.numerator_above_denominator"]
    p = problems[0]
    assert "SMD_REGULAR_MGMT_RATE" in p.message and "在册患者规范管理率" in p.message
    assert "分子" in p.message and "45" in p.message and "40" in p.message
    assert (p.where.file, p.where.row, p.where.column) == ("form.xlsx", 3, "分子/数值")


def test_rate_equal_and_zero_over_zero_are_fine() -> None:
    assert check_entries(SPECS, [e(RATE.code, "40", "40")]) == []
    assert check_entries(SPECS, [e(RATE.code, "0", "0")]) == []


def test_rate_needs_its_denominator() -> None:
    problems = check_entries(SPECS, [e(RATE.code, "3")])
    assert codes(problems) == ["pilots.entry.required"]
    assert problems[0].where.column == "分母" and "分母" in problems[0].message


def test_negative_values_are_refused() -> None:
    assert codes(check_entries(SPECS, [e(ROOMS.code, "-1")])) == ["pilots.entry.negative"]
    assert codes(check_entries(SPECS, [e(RATE.code, "1", "-2")])) == ["pilots.entry.negative"]


def test_yes_no_is_zero_or_one() -> None:
    assert check_entries(SPECS, [e(CLINIC.code, "1")]) == []
    assert check_entries(SPECS, [e(CLINIC.code, "0")]) == []
    problems = check_entries(SPECS, [e(CLINIC.code, "2")])
    assert codes(problems) == ["pilots.entry.not_yes_no"] and "精神科门诊已开设" in problems[0].message


def test_counts_are_whole_and_within_range() -> None:
    assert codes(check_entries(SPECS, [e(ROOMS.code, "2.5")])) == ["pilots.entry.not_integer"]
    problems = check_entries(SPECS, [e(ROOMS.code, "51")])
    assert codes(problems) == ["pilots.entry.above_max"] and "50" in problems[0].message
    assert check_entries(SPECS, [e(ROOMS.code, "50")]) == []


def test_a_count_has_no_denominator() -> None:
    assert codes(check_entries(SPECS, [e(ROOMS.code, "3", "4")])) == ["pilots.entry.denominator_not_allowed"]


def test_population_groups_and_unknown_indicators() -> None:
    """知晓率按人群分别填报: students and rural only; the whole population is not a row."""
    assert check_entries(SPECS, [e(AWARE.code, "90", "100", "students")]) == []
    problems = check_entries(SPECS, [e(AWARE.code, "9", "10", "")])
    assert codes(problems) == ["pilots.entry.unknown_population"] and "学生" in problems[0].message
    assert codes(check_entries(SPECS, [e("NOPE", "1")])) == ["pilots.entry.unknown_indicator"]
    assert codes(check_entries(SPECS, [e(ROOMS.code, "1"), e(ROOMS.code, "2")])) == ["pilots.entry.duplicate"]


def test_submit_requires_every_value_draft_does_not() -> None:
    """提交时必须填全: RATE + ROOMS + CLINIC + AWARE×2 = 5 values; 2 given → 3 missing."""
    entries = [e(RATE.code, "1", "2"), e(ROOMS.code, "1")]
    assert check_entries(SPECS, entries) == []
    problems = check_entries(SPECS, entries, complete=True)
    assert codes(problems) == ["pilots.entry.required"] * 3
    messages = " ".join(p.message for p in problems)
    assert "PSY_CLINIC_OPEN" in messages and "学生" in messages and "农村居民" in messages
    assert check_entries(SPECS, [e(ROOMS.code, None)]) and codes(
        check_entries(SPECS, [e(ROOMS.code, None)])
    ) == ["pilots.entry.required"]


def test_periods_boundaries_and_labels() -> None:
    assert period_start_of(date(2020, 5, 17), "quarter") == date(2020, 4, 1)
    assert period_end(date(2020, 2, 1), "month") == date(2020, 2, 29)  # 2020 is a leap year
    assert period_end(date(2020, 10, 1), "quarter") == date(2020, 12, 31)
    assert is_period_start(date(2020, 4, 1), "quarter") and not is_period_start(date(2020, 5, 1), "quarter")
    assert periods_between(date(2020, 11, 15), date(2021, 2, 1), "month") == [
        date(2020, 11, 1),
        date(2020, 12, 1),
        date(2021, 1, 1),
        date(2021, 2, 1),
    ]
    assert period_label(date(2020, 7, 1), "quarter") == "2020年第3季度"


def test_period_checks() -> None:
    first, last, today = date(2020, 10, 1), date(2022, 12, 31), date(2021, 3, 15)
    assert check_period(date(2021, 3, 1), "month", first, last, today) == []
    assert codes(check_period(date(2021, 3, 2), "month", first, last, today)) == ["pilots.period.not_a_start"]
    assert codes(check_period(date(2021, 4, 1), "month", first, last, today)) == ["pilots.period.future"]
    assert codes(check_period(date(2020, 9, 1), "month", first, last, today)) == [
        "pilots.period.outside_plan"
    ]


@given(st.integers(0, 10_000), st.integers(0, 10_000))
def test_rate_accepted_exactly_when_numerator_at_most_denominator(num: int, den: int) -> None:
    problems = check_entries(SPECS, [e(RATE.code, str(num), str(den))])
    assert (problems == []) == (num <= den)
