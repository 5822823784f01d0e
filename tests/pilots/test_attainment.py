"""Attainment (目标达成进度): status around milestones and deadlines, per population, RYG.

Issue #5: "Attainment of every target per unit and aggregated, with a path to the deadline
(time-prorated or by milestones): on track / lagging / achieved / overdue, in red-yellow-green."
"""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from shidian.pilots.aggregate import aggregate
from shidian.pilots.attainment import attainment, expected_value, lagging_units
from shidian.pilots.model import Milestone, Target
from tests.pilots.helpers import (
    COUNTY,
    TOWN_A,
    TOWN_B,
    UNITS,
    VILLAGE_A1,
    VILLAGE_B1,
    VILLAGE_B2,
    by_key,
    small_plan,
    values,
)

START = date(2020, 1, 1)  # the small plan's start
DEADLINE = date(2021, 12, 31)
#: 50% by the end of 2020, 80% by the end of 2021 (issue #5's example milestones)
STAGED = Target(Decimal(80), ">=", DEADLINE, milestones=(Milestone(date(2020, 12, 31), Decimal(50)),))


def test_linear_path_is_prorated_by_days() -> None:
    target = Target(Decimal(80), ">=", DEADLINE)
    # 2020-01-01 → 2021-12-31 is 730 days; 2021-01-01 is day 366: 80 × 366 / 730 = 40.10958904…
    assert expected_value(target, START, date(2021, 1, 1)) == Decimal("40.10958904")
    assert expected_value(target, START, START) == Decimal(0)
    assert expected_value(target, START, date(2022, 3, 1)) == Decimal(80)


def test_path_through_milestones() -> None:
    # 2020-01-01 → 2020-12-31 is 365 days; 2020-07-01 is day 182: 50 × 182 / 365 = 24.93150685
    assert expected_value(STAGED, START, date(2020, 7, 1)) == Decimal("24.93150685")
    assert expected_value(STAGED, START, date(2020, 12, 31)) == Decimal(50)
    # 2020-12-31 → 2021-12-31 is 365 days; 2021-07-02 is day 183: 50 + 30 × 183 / 365 = 65.04109589
    assert expected_value(STAGED, START, date(2021, 7, 2)) == Decimal("65.04109589")
    step = dataclasses.replace(STAGED, path="step")
    assert expected_value(step, START, date(2020, 12, 30)) == Decimal(0)
    assert expected_value(step, START, date(2021, 7, 2)) == Decimal(50)


def test_a_decreasing_target_runs_down_from_its_baseline() -> None:
    target = Target(Decimal(10), "<=", DEADLINE, baseline=Decimal(30))
    # 30 − 20 × 366 / 730 = 19.97260274
    assert expected_value(target, START, date(2021, 1, 1)) == Decimal("19.97260274")


def plan_with_rate_target(target: Target):  # type: ignore[no-untyped-def]
    plan = small_plan()
    rate = dataclasses.replace(plan.indicator("RATE"), targets=(target,))
    return dataclasses.replace(plan, indicators=(rate,))


@pytest.mark.parametrize(
    ("as_of", "numerator", "status", "colour"),
    [
        # before the milestone: expected 24.93 on 2020-07-01; 30% is on track, 20% lags
        (date(2020, 7, 1), 30, "on_track", "green"),
        (date(2020, 7, 1), 20, "lagging", "yellow"),
        # on the milestone day the path asks 50
        (date(2020, 12, 31), 50, "on_track", "green"),
        (date(2020, 12, 31), 49, "lagging", "yellow"),
        # after the milestone: 2021-03-01 expects 50 + 30 × 60 / 365 = 54.93150685
        (date(2021, 3, 1), 55, "on_track", "green"),
        (date(2021, 3, 1), 54, "lagging", "yellow"),
        # the target itself reached: achieved at any date
        (date(2020, 7, 1), 80, "achieved", "green"),
        # on the deadline day not reached: lagging; the day after: overdue
        (DEADLINE, 79, "lagging", "yellow"),
        (date(2022, 1, 1), 79, "overdue", "red"),
        (date(2022, 1, 1), 80, "achieved", "green"),
    ],
)
def test_status_around_milestones_and_deadline(as_of: date, numerator: int, status: str, colour: str) -> None:
    plan = plan_with_rate_target(STAGED)
    rows = [(VILLAGE_A1, "RATE", date(2020, 6, 1), "", numerator, 100)]
    got = by_key(attainment(plan, aggregate(plan, UNITS, values(rows)), as_of), "unit_code")
    assert (got[VILLAGE_A1]["status"], got[VILLAGE_A1]["colour"]) == (status, colour)
    assert got[COUNTY]["value"] == Decimal(numerator)


def test_latest_value_before_as_of_and_cumulative_flows() -> None:
    plan = small_plan()
    rows = [
        (VILLAGE_A1, "RATE", date(2021, 1, 1), "", 70, 100),
        (VILLAGE_A1, "RATE", date(2021, 2, 1), "", 85, 100),
        (VILLAGE_A1, "RATE", date(2021, 3, 1), "", 10, 100),  # after as-of: not used
        (VILLAGE_A1, "FLOW", date(2021, 1, 1), "", 40, None),
        (VILLAGE_A1, "FLOW", date(2021, 2, 1), "", 50, None),
        (VILLAGE_A1, "FLOW", date(2021, 3, 1), "", 60, None),
    ]
    got = by_key(
        attainment(plan, aggregate(plan, UNITS, values(rows)), date(2021, 2, 15)),
        "unit_code",
        "indicator_code",
    )
    rate = got[(VILLAGE_A1, "RATE")]
    assert (rate["value"], rate["period_start"], rate["status"]) == (
        Decimal(85),
        date(2021, 2, 1),
        "achieved",
    )
    # FLOW is cumulative: 40 + 50 = 90 by 2021-02-15; the path asks 120 × 411 / 730 = 67.56164384
    flow = got[(VILLAGE_A1, "FLOW")]
    assert (flow["value"], flow["expected"], flow["status"]) == (
        Decimal(90),
        Decimal("67.56164384"),
        "on_track",
    )


def test_per_population_targets() -> None:
    """知晓率 90% for officials, 50% for rural residents (000 篇3 具体目标 8)."""
    plan = small_plan()
    rows = [
        (COUNTY, "LIT", date(2021, 6, 1), "officials", 85, 100),
        (COUNTY, "LIT", date(2021, 6, 1), "rural", 55, 100),
    ]
    got = by_key(
        attainment(plan, aggregate(plan, UNITS, values(rows)), date(2022, 1, 1)),
        "unit_code",
        "indicator_code",
        "population",
    )
    # officials 85 < 90 after the deadline: overdue; rural 55 ≥ 50: achieved
    assert got[(COUNTY, "LIT", "officials")]["status"] == "overdue"
    assert got[(COUNTY, "LIT", "rural")]["status"] == "achieved"
    assert got[(COUNTY, "LIT", "rural")]["target"] == Decimal(50)


def test_missing_values_lag_and_the_supervision_list() -> None:
    plan = small_plan()
    rows = [
        (VILLAGE_A1, "COUNT", date(2021, 1, 1), "", 12, None),
        (VILLAGE_B1, "COUNT", date(2021, 1, 1), "", 1, None),
    ]
    attained = attainment(plan, aggregate(plan, UNITS, values(rows)), date(2021, 1, 15))
    got = by_key(attained, "unit_code", "indicator_code")
    # 小松镇二村 (B2) reported nothing but is a unit of the table's tree only if it has values:
    assert (VILLAGE_B2, "COUNT") not in got
    # 琴江镇一村 has no RATE value: lagging without data
    assert (got[(VILLAGE_A1, "RATE")]["status"], got[(VILLAGE_A1, "RATE")]["has_data"]) == ("lagging", False)
    # COUNT 10 by 2021-12-31: A1 has 12 (achieved); B1 has 1 < 10 × 380 / 730 = 5.20547945 (lagging)
    assert got[(VILLAGE_A1, "COUNT")]["status"] == "achieved"
    assert got[(VILLAGE_B1, "COUNT")]["status"] == "lagging"
    supervision = lagging_units(attained, level="township").to_pylist()
    assert [r["unit_code"] for r in supervision] == [TOWN_B, TOWN_A]
    # 小松镇: COUNT 1 lags, FLOW/RATE/YN have no value; 琴江镇: COUNT achieved, three without value
    # (LIT is reported by the county only: no township target)
    assert (supervision[0]["indicators"], supervision[0]["lagging"]) == ("COUNT、FLOW、RATE、YN", 4)
    assert (supervision[1]["indicators"], supervision[1]["lagging"]) == ("FLOW、RATE、YN", 3)
