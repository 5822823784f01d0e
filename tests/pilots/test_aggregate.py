"""Aggregation up the hierarchy (逐级汇总): Σ numerators ÷ Σ denominators, never an average of rates.

Issue #5: "how it aggregates up the hierarchy (sum numerators and denominators; never average
rates)". The tree is 石城县 → 琴江镇 (1 village) and 小松镇 (2 villages).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from shidian.pilots.aggregate import aggregate
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
from tests.properties import examples

JAN = date(2021, 1, 1)


def test_rate_is_sum_of_numerators_over_sum_of_denominators() -> None:
    rows = [
        (VILLAGE_A1, "RATE", JAN, "", 9, 10),  # 90%
        (VILLAGE_B1, "RATE", JAN, "", 1, 45),  # 2.22%
        (VILLAGE_B2, "RATE", JAN, "", 0, 45),  # 0%
    ]
    got = by_key(aggregate(small_plan(), UNITS, values(rows)), "unit_code", "indicator_code")
    # 小松镇: (1 + 0) / (45 + 45) = 1/90 = 1.111111111…% → 1.11111111 (8 decimals, half up)
    assert got[(TOWN_B, "RATE")]["numerator"] == Decimal(1)
    assert got[(TOWN_B, "RATE")]["denominator"] == Decimal(90)
    assert got[(TOWN_B, "RATE")]["value"] == Decimal("1.11111111")
    # 石城县: (9 + 1 + 0) / (10 + 45 + 45) = 10/100 = 10%; the average of the village rates
    # (90 + 2.22 + 0) / 3 = 30.74% and of the township rates (90 + 1.11) / 2 = 45.56% are both wrong.
    county = got[(COUNTY, "RATE")]
    assert (county["numerator"], county["denominator"], county["value"]) == (
        Decimal(10),
        Decimal(100),
        Decimal(10),
    )
    assert county["reporting_units"] == 3
    assert got[(VILLAGE_A1, "RATE")]["value"] == Decimal(90)


def test_counts_sum_and_yes_no_share() -> None:
    rows = [
        (VILLAGE_A1, "COUNT", JAN, "", 3, None),
        (VILLAGE_B1, "COUNT", JAN, "", 4, None),
        (VILLAGE_B2, "COUNT", JAN, "", 5, None),
        (VILLAGE_A1, "YN", JAN, "", 1, None),
        (VILLAGE_B1, "YN", JAN, "", 0, None),
        (VILLAGE_B2, "YN", JAN, "", 1, None),
    ]
    got = by_key(aggregate(small_plan(), UNITS, values(rows)), "unit_code", "indicator_code")
    assert got[(TOWN_B, "COUNT")]["value"] == Decimal(9)  # 4 + 5
    assert got[(TOWN_B, "COUNT")]["denominator"] is None
    assert got[(COUNTY, "COUNT")]["value"] == Decimal(12)  # 3 + 4 + 5
    # yes/no share: 小松镇 1 of 2 villages = 50%; 石城县 2 of 3 = 66.666666666…% → 66.66666667
    assert got[(TOWN_B, "YN")]["value"] == Decimal(50)
    assert got[(COUNTY, "YN")]["value"] == Decimal("66.66666667")
    assert got[(VILLAGE_B1, "YN")]["value"] == Decimal(0)


def test_values_at_another_level_and_unknown_units_are_ignored() -> None:
    rows = [
        (VILLAGE_A1, "COUNT", JAN, "", 3, None),
        (TOWN_B, "COUNT", JAN, "", 100, None),  # COUNT is reported by villages
        ("999999999999", "COUNT", JAN, "", 7, None),  # not in the hierarchy
    ]
    got = by_key(aggregate(small_plan(), UNITS, values(rows)), "unit_code", "indicator_code")
    assert got[(COUNTY, "COUNT")]["value"] == Decimal(3)
    assert (TOWN_B, "COUNT") not in got


def test_periods_and_populations_stay_apart() -> None:
    feb = date(2021, 2, 1)
    rows = [
        (COUNTY, "LIT", JAN, "officials", 85, 100),
        (COUNTY, "LIT", JAN, "rural", 30, 100),
        (VILLAGE_A1, "COUNT", JAN, "", 1, None),
        (VILLAGE_A1, "COUNT", feb, "", 2, None),
    ]
    got = by_key(
        aggregate(small_plan(), UNITS, values(rows)),
        "unit_code",
        "indicator_code",
        "period_start",
        "population",
    )
    assert got[(COUNTY, "LIT", JAN, "officials")]["value"] == Decimal(85)
    assert got[(COUNTY, "LIT", JAN, "rural")]["value"] == Decimal(30)
    assert got[(COUNTY, "COUNT", JAN, "")]["value"] == Decimal(1)
    assert got[(COUNTY, "COUNT", feb, "")]["value"] == Decimal(2)


def test_fractional_numbers_take_the_exact_decimal_path() -> None:
    rows = [(VILLAGE_A1, "RATE", JAN, "", "1.5", "4"), (VILLAGE_B1, "RATE", JAN, "", "0.25", "2")]
    got = by_key(aggregate(small_plan(), UNITS, values(rows)), "unit_code", "indicator_code")
    # 1.5 / 4 = 37.5%; county (1.5 + 0.25) / (4 + 2) = 1.75 / 6 = 29.1666666…% → 29.16666667
    assert got[(VILLAGE_A1, "RATE")]["value"] == Decimal("37.5")
    assert got[(COUNTY, "RATE")]["value"] == Decimal("29.16666667")


def test_empty_values_give_an_empty_table() -> None:
    assert aggregate(small_plan(), UNITS, values([])).num_rows == 0


@settings(max_examples=examples(40), deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 500), st.integers(1, 500)), min_size=3, max_size=3),
    st.lists(st.integers(0, 10**6), min_size=3, max_size=3),
)
def test_sum_of_children_equals_parent(rates: list[tuple[int, int]], counts: list[int]) -> None:
    """Property: at every unit, the numerator and denominator are the sums of its children's."""
    villages = [VILLAGE_A1, VILLAGE_B1, VILLAGE_B2]
    rows = [(v, "RATE", JAN, "", n, n + d) for v, (n, d) in zip(villages, rates, strict=True)]
    rows += [(v, "COUNT", JAN, "", c, None) for v, c in zip(villages, counts, strict=True)]
    table = aggregate(small_plan(), UNITS, values(rows))
    got = by_key(table, "unit_code", "indicator_code")
    children = {COUNTY: [TOWN_A, TOWN_B], TOWN_A: [VILLAGE_A1], TOWN_B: [VILLAGE_B1, VILLAGE_B2]}
    for parent, kids in children.items():
        for code in ("RATE", "COUNT"):
            assert got[(parent, code)]["numerator"] == sum(got[(k, code)]["numerator"] for k in kids)
            if code == "RATE":
                den = sum(got[(k, code)]["denominator"] for k in kids)
                assert got[(parent, code)]["denominator"] == den
                expected = (got[(parent, code)]["numerator"] * 100 / den).quantize(
                    Decimal("0.00000001"), "ROUND_HALF_UP"
                )
                assert got[(parent, code)]["value"] == expected
    assert table.schema.field("numerator").type == pa.decimal128(38, 8)


def test_every_key_appears_once_at_every_level() -> None:
    """A value reported above the bottom level (知晓率 by the county) is not duplicated."""
    rows = [(COUNTY, "LIT", JAN, "officials", 85, 100), (VILLAGE_A1, "COUNT", JAN, "", 1, None)]
    table = aggregate(small_plan(), UNITS, values(rows))
    keys = [
        (r["unit_code"], r["indicator_code"], r["period_start"], r["population"]) for r in table.to_pylist()
    ]
    assert len(keys) == len(set(keys))
    # COUNT: village, township, county = 3 rows; LIT: the county = 1 row
    assert len(keys) == 4
