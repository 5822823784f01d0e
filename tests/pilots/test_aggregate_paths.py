"""The fast int64 paths of aggregation and attainment against the exact DECIMAL (DuckDB) paths.

``aggregate`` reads whole numbers straight from the decimal128 buffers and sums them with integer
scatter-adds; ``attainment`` picks each unit's latest value and cumulative sums the same way.
Both fall back to exact DECIMAL SQL for fractions, huge numbers or sparse keys. These properties
say the two give the same table on any input (nulls, zero denominators, rates without a
denominator, duplicate reports, reports at the wrong level or by unknown units, several
populations and periods), and check a few values by hand.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shidian.pilots import aggregate as aggregate_module
from shidian.pilots import attainment as attainment_module
from shidian.pilots.aggregate import aggregate, decimal_words, number_array, whole_numbers, whole_value
from shidian.pilots.attainment import attainment
from shidian.pilots.model import NUMBER, VALUES_SCHEMA
from tests.pilots.helpers import COUNTY, TOWN_A, TOWN_B, UNITS, VILLAGE_A1, VILLAGE_B1, VILLAGE_B2, small_plan
from tests.properties import examples

KEYS = ["unit_code", "indicator_code", "period_start", "population"]
MONTHS = [date(2021, 1, 1), date(2021, 2, 1), date(2021, 3, 1)]

row = st.tuples(
    st.sampled_from([VILLAGE_A1, VILLAGE_B1, VILLAGE_B2, TOWN_A, COUNTY, "999999999999"]),
    st.sampled_from(["RATE", "COUNT", "YN", "FLOW", "LIT"]),
    st.sampled_from(MONTHS),
    st.sampled_from(["", "officials", "rural"]),
    st.one_of(st.none(), st.integers(0, 10**6)),
    st.one_of(st.none(), st.integers(0, 10**6)),
)


def _values(rows: list[tuple[str, str, date, str, int | None, int | None]]) -> pa.Table:
    return pa.table(
        {
            "unit_code": [r[0] for r in rows],
            "indicator_code": [r[1] for r in rows],
            "period_start": [r[2] for r in rows],
            "population": [r[3] for r in rows],
            "numerator": [None if r[4] is None else Decimal(r[4]) for r in rows],
            "denominator": [None if r[5] is None else Decimal(r[5]) for r in rows],
        },
        schema=VALUES_SCHEMA,
    )


def _rows(table: pa.Table, keys: list[str]) -> list[tuple[object, ...]]:
    """The rows as tuples of plain values, in key order (duplicates keep every row)."""
    plain = table.cast(
        pa.schema(
            [
                pa.field(f.name, pa.string() if pa.types.is_dictionary(f.type) else f.type)
                for f in table.schema
            ]
        )
    )
    return sorted((tuple(r[k] for k in keys), tuple(str(v) for v in r.values())) for r in plain.to_pylist())  # type: ignore[return-value]


@settings(
    max_examples=examples(30),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(row, max_size=25, unique_by=lambda r: r[:4]))
def test_whole_path_equals_decimal_path(monkeypatch: pytest.MonkeyPatch, rows: list[tuple]) -> None:  # type: ignore[type-arg]
    plan = small_plan()
    values = _values(rows)
    fast = aggregate(plan, UNITS, values)
    with monkeypatch.context() as patch:
        patch.setattr(aggregate_module, "WHOLE_LIMIT", 0)  # no number qualifies: DuckDB DECIMAL path
        exact = aggregate(plan, UNITS, values)
    assert fast.schema == exact.schema == aggregate_module.AGGREGATED_SCHEMA
    assert _rows(fast, KEYS) == _rows(exact, KEYS)
    with monkeypatch.context() as patch:
        patch.setattr(aggregate_module, "DENSE_SLACK", -(10**9))  # every key space sparse: np.unique
        assert _rows(aggregate(plan, UNITS, values), KEYS) == _rows(fast, KEYS)
    for as_of in (date(2021, 1, 15), date(2021, 2, 1), date(2022, 1, 1)):
        got = attainment(plan, fast, as_of)
        with monkeypatch.context() as patch:
            patch.setattr(attainment_module, "_picked", lambda *args: None)  # the SQL GROUP BY
            want = attainment(plan, fast, as_of)
        assert got.equals(want)


def test_zero_denominator_and_missing_numerator_give_null_values() -> None:
    rows = [
        (VILLAGE_A1, "RATE", MONTHS[0], "", 5, 0),  # 5 of 0: no rate
        (VILLAGE_B1, "RATE", MONTHS[0], "", None, 10),  # no numerator
        (VILLAGE_B2, "RATE", MONTHS[0], "", 3, 10),
    ]
    got = {
        r["unit_code"]: r
        for r in aggregate(small_plan(), UNITS, _values(rows)).to_pylist()
        if r["indicator_code"]
    }
    assert got[VILLAGE_A1]["value"] is None
    assert got[VILLAGE_B1]["value"] is None
    # 小松镇: numerators 3 (the null is not summed), denominators 10 + 10 = 20: 3 / 20 = 15%
    assert (got[TOWN_B]["numerator"], got[TOWN_B]["denominator"], got[TOWN_B]["value"]) == (
        Decimal(3),
        Decimal(20),
        Decimal(15),
    )
    # 石城县: (5 + 3) / (0 + 10 + 10) = 8 / 20 = 40%
    assert got[COUNTY]["value"] == Decimal(40)


def test_the_int64_long_division_rounds_half_up() -> None:
    # 2 × 100 / 3 = 66.666666666… → 66.66666667; 1 × 100 / 8 = 12.5; 1 × 100 / 6 = 16.666666666… → 16.66666667
    # 1 × 100 / 16 = 6.25; 1 / 200000000 × 100 = 0.0000005 → 0.00000050; 1 × 100 / 3e9 = 3.33e-8 → 0.00000003
    nums = [2, 1, 1, 1, 1, 1]
    dens = [3, 8, 6, 16, 200_000_000, 3_000_000_000]
    got = whole_value(
        *_ints(nums),
        *_ints(dens),
        scale=pa.array([100]).to_numpy(),
        ind=pa.array([0] * 6, pa.int32()).to_numpy(),
    )
    assert got is not None
    assert got.to_pylist() == [
        Decimal("66.66666667"),
        Decimal("12.5"),
        Decimal("16.66666667"),
        Decimal("6.25"),
        Decimal("0.0000005"),
        Decimal("0.00000003"),
    ]


def test_decimal_buffers_are_read_exactly() -> None:
    array = pa.array([Decimal("12"), None, Decimal("0"), Decimal("8999999999")], NUMBER)
    # the total 12 + 0 + 8,999,999,999 = 9,000,000,011 is past the int64 path's limit (9·10⁹)
    assert whole_numbers(array) is None
    got = whole_numbers(array.slice(0, 3))
    assert got is not None
    ints, valid = got
    assert ints.tolist() == [12, 0, 0]  # the null reads as 0 ...
    assert valid is not None and valid.tolist() == [True, False, True]  # ... and stays null
    assert whole_numbers(pa.array([Decimal("1.5")], NUMBER)) is None  # a fraction
    assert whole_numbers(pa.array([Decimal("-1")], NUMBER)) is None  # a negative
    # a slice starts at its offset: 2 is 2·10⁸ unscaled, high word 0
    low, high = decimal_words(pa.array([Decimal("-1"), Decimal("2")], NUMBER).slice(1))
    assert (low.tolist(), high.tolist()) == ([2 * 10**8], [0])
    assert number_array(low, None).to_pylist() == [Decimal(2)]


def _ints(numbers: list[int]) -> tuple:  # type: ignore[type-arg]
    got = whole_numbers(pa.array([Decimal(n) for n in numbers], NUMBER))
    assert got is not None
    return got
