"""The Spark engine (issue 21): same money as DuckDB to the fen, refused without exact decimals.

Runs on a real local Spark (the session fixture in tests/conftest.py); skipped without Java.
The DRG settlement's engine equivalence is in tests/drg/test_engines.py.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shidian.dialect import SparkEngine, SparkSettingsError, check_spark_settings, statements
from shidian.money import Dialect, div_round, round_fen, sql_div, sql_round
from tests.properties import property_settings

#: A province's largest quantities: amounts to 10^12 yuan, points to 10^10 (8 decimals).
amounts = st.decimals(
    min_value=Decimal("0.01"), max_value=Decimal("1e12"), places=2, allow_nan=False, allow_infinity=False
)
points = st.decimals(
    min_value=Decimal("-1e10"), max_value=Decimal("1e10"), places=8, allow_nan=False, allow_infinity=False
)


def _exact(n: Decimal, d: Decimal, scale: int) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 100
        return (n / d).quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)


def _query(spark: object, dialect: Dialect, pairs: list[tuple[Decimal, Decimal]]) -> list[tuple[object, ...]]:
    values = ", ".join(f"(CAST({n:f} AS DECIMAL(38,8)), CAST({d:f} AS DECIMAL(38,2)))" for n, d in pairs)
    sql = (
        f"SELECT {sql_div('n', 'd', 8, dialect=dialect)}, {sql_round('n * d', 2)}, "
        f"{sql_div('d', 'n', 2, dialect=dialect)}, {sql_div('n', 'd', 0, dialect=dialect)} "
        f"FROM (VALUES {values}) AS t(n, d)"
    )
    if dialect == "duckdb":
        return duckdb.connect().execute(sql).fetchall()
    return [tuple(r) for r in spark.sql(sql).collect()]  # type: ignore[attr-defined]


@pytest.mark.parametrize("dialect", ["duckdb", "spark"])
def test_the_issues_examples_divide_exactly(request, dialect):
    """Issue 21: Spark's sign() (DOUBLE) gave …62000130 and DIV (BIGINT) wrapped to −84467440737.10…"""
    spark = request.getfixturevalue("spark") if dialect == "spark" else None
    rows = _query(
        spark, dialect, [(Decimal("123456789012.34"), Decimal("7")), (Decimal("99999999999.99"), Decimal(1))]
    )
    assert rows[0][0] == Decimal("17636684144.62000000")  # 123456789012.34 ÷ 7 = 17636684144.62 exactly
    assert rows[1][0] == Decimal("99999999999.99000000")
    assert rows[0][2] == Decimal("0.00")  # 7 ÷ 123456789012.34, to the fen
    assert rows[0][3] == Decimal("17636684145")  # half up at 0 decimals


@property_settings(60)
@given(st.lists(st.tuples(points, amounts), min_size=1, max_size=20))
def test_sql_twins_match_python_on_both_engines(spark, pairs):
    """The money property on DuckDB and Spark, up to a province's largest amounts: sql_div and
    sql_round equal div_round and round_fen (exact division at 100 digits, half up)."""
    pairs = [(n, d) if abs(n) >= Decimal("0.0001") or n == 0 else (Decimal("0.0001"), d) for n, d in pairs]
    for dialect in ("duckdb", "spark"):
        rows = _query(spark, dialect, pairs)
        for (n, d), (q, r, inverse, whole) in zip(pairs, rows, strict=True):
            assert q == div_round(n, d, 8) == _exact(n, d, 8), dialect
            assert r == round_fen(n * d), dialect
            assert inverse == (div_round(d, n, 2) if n != 0 else None), dialect
            assert whole == _exact(n, d, 0), dialect


def test_a_quotient_too_wide_is_an_error_not_a_wrap(spark):
    """Spark holds a quotient of up to 29 digits (10^21 at 8 decimals) exactly and raises beyond
    (ANSI), where its DIV would have wrapped; beyond 38 digits DuckDB raises too."""
    wide = [(Decimal("9999999999999.99999999"), Decimal("0.01"))]  # quotient ~10^15: 24 digits at 8 decimals
    for dialect in ("duckdb", "spark"):
        assert _query(spark, dialect, wide)[0][0] == _exact(*wide[0], 8)
    wider = [(Decimal("1e20"), Decimal("0.01"))]  # 10^22: 31 digits at 8 decimals
    assert _query(spark, "duckdb", wider)[0][0] == Decimal("1e22")
    overflow = "(?i)overflow|out_of_range|out of range|cannot be represented"
    with pytest.raises(Exception, match=overflow):
        _query(spark, "spark", wider)
    too_wide = [(Decimal("1e25"), Decimal("0.01"))]  # 2·|n|·10^16 needs 42 digits
    for dialect in ("duckdb", "spark"):
        with pytest.raises(Exception, match=overflow):
            _query(spark, dialect, too_wide)


@pytest.mark.parametrize(
    ("key", "value"),
    [("spark.sql.decimalOperations.allowPrecisionLoss", "true"), ("spark.sql.ansi.enabled", "false")],
)
def test_spark_without_exact_decimals_is_refused(spark, key, value):
    """Spark's default allowPrecisionLoss=true cuts DECIMAL scale to 6 digits; without ANSI an
    overflow is NULL: either setting gives different money, so the engine refuses the session."""
    check_spark_settings(spark)
    SparkEngine(spark)  # the fixture's session is accepted
    spark.conf.set(key, value)
    try:
        with pytest.raises(SparkSettingsError, match=key):
            SparkEngine(spark)
    finally:
        spark.conf.set(key, {"true": "false", "false": "true"}[value])
    check_spark_settings(spark)


def test_statements_split_at_semicolons_outside_string_literals():
    """A rule trail's text has '; ' in it (insurance ``reason``): Spark runs one statement at a
    time, so the text is split only where a semicolon ends a statement."""
    sql = "CREATE TABLE t AS SELECT concat_ws('; ', 'a', 'it''s; b') AS r; SELECT * FROM t;\n"
    assert statements(sql) == [
        "CREATE TABLE t AS SELECT concat_ws('; ', 'a', 'it''s; b') AS r",
        " SELECT * FROM t",
    ]
