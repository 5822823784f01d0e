"""money.py: half-up rounding, exact division, largest remainder, and the SQL twins agree."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shidian.money import D, div_round, round_fen, round_points, split_largest_remainder, sql_div, sql_round
from tests.properties import examples

amounts = st.decimals(
    min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=2, allow_nan=False, allow_infinity=False
)
positive = st.decimals(
    min_value=Decimal("0.01"), max_value=Decimal("1e9"), places=2, allow_nan=False, allow_infinity=False
)
points = st.decimals(
    min_value=Decimal("0"), max_value=Decimal("1e6"), places=8, allow_nan=False, allow_infinity=False
)


def test_round_half_up_is_not_bankers_rounding():
    """四舍五入: 0.125 → 0.13 and 2.5 → 3 (banker's rounding would give 0.12 and 2)."""
    assert round_fen(Decimal("0.125")) == Decimal("0.13")
    assert Decimal("0.125").quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN) == Decimal("0.12")
    assert round_points(Decimal("64.842105265")) == Decimal("64.84210527")
    assert round_fen(Decimal("-0.125")) == Decimal("-0.13")  # ties away from zero


def test_D_refuses_floats_and_reads_text():
    assert D("1,234.50") == Decimal("1234.50")
    assert D("") == 0
    with pytest.raises(TypeError):
        D(0.1)
    with pytest.raises(ValueError):
        D("12a")


@given(amounts, positive, st.integers(min_value=0, max_value=8))
def test_div_round_is_exact_half_up(n, d, scale):
    """Against Decimal division at 80 digits of precision, quantized half up."""
    with localcontext() as ctx:
        ctx.prec = 80
        expected = (n / d).quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)
    assert div_round(n, d, scale) == expected


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(st.tuples(points, positive), min_size=1, max_size=20))
def test_sql_div_and_round_match_python(pairs):
    """The columnar core (DuckDB) and the scalar helpers round identically."""
    con = duckdb.connect()
    values = ", ".join(f"({n}::DECIMAL(38,8), {d}::DECIMAL(38,2))" for n, d in pairs)
    rows = con.execute(
        f"SELECT {sql_div('n', 'd', 8)}, {sql_round('n * d', 2)}, {sql_div('d', 'n', 2)} FROM (VALUES {values}) t(n, d)"
    ).fetchall()
    for (n, d), (q, r, inverse) in zip(pairs, rows, strict=True):
        assert q == div_round(n, d, 8)
        assert r == round_fen(n * d)
        assert inverse == (div_round(d, n, 2) if n != 0 else None)


@given(
    positive,
    st.lists(st.decimals(min_value=0, max_value=1000, places=4, allow_nan=False), min_size=1, max_size=30),
)
def test_largest_remainder_conserves_the_total(total, weights):
    if sum(weights) == 0:
        return
    parts = split_largest_remainder(total, weights)
    assert sum(parts) == total
    for part, weight in zip(parts, weights, strict=True):
        exact = total * weight / sum(weights)
        assert abs(part - exact) < Decimal("0.01")  # no part moves by a whole fen or more
