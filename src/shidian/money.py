"""The only door for numbers (金额与点数): Decimal, rounding, and their SQL twins.

Amounts are yuan with fen precision; points, weights, coefficients and point values keep
8 decimals (000 篇6 第十三条、第十五条: "计算结果四舍五入后保留8位小数"). 四舍五入 is
ROUND_HALF_UP: ties go away from zero, never to even. Floats never enter: parse with ``D``.

The SQL twins produce SQL expressions with the same semantics, so the columnar core and
the scalar helpers round identically, on DuckDB and on Spark (issue 21; pinned by a
hypothesis test run on both engines):

* ``CAST(x AS DECIMAL(38, s))`` rounds ties away from zero, like ROUND_HALF_UP, in DuckDB and
  in Spark (which must run with ``spark.sql.decimalOperations.allowPrecisionLoss=false`` and
  ANSI mode, ``shidian.dialect``: then a DECIMAL result is exact or an error, never cut);
* DuckDB turns ``/`` on DECIMAL into DOUBLE, so ``sql_div`` divides scaled wide integers with
  an explicit half-up step instead: HUGEINT and ``//`` in DuckDB; DECIMAL(38,0) in Spark,
  where ``sign()`` returns DOUBLE and ``DIV`` returns a wrapping BIGINT, so the quotient is
  taken from a DECIMAL division and corrected exactly by its remainder.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Literal

ZERO = Decimal(0)
ONE = Decimal(1)
FEN = Decimal("0.01")
POINT_SCALE = 8
MONEY_SCALE = 2
POINT = Decimal(1).scaleb(-POINT_SCALE)  # 0.00000001

MONEY_SQL_TYPE = "DECIMAL(18,2)"
POINTS_SQL_TYPE = "DECIMAL(38,8)"
#: One case's points, weights and coefficients: int64-backed, twice as fast as DECIMAL(38,8).
CASE_POINTS_SQL_TYPE = "DECIMAL(18,8)"
WIDE_MONEY_SQL_TYPE = "DECIMAL(38,2)"

#: The SQL engines the columnar rules run on (``shidian.dialect`` holds the engines).
Dialect = Literal["duckdb", "spark"]
#: The widest exact integer of each dialect: 128 bits in DuckDB, 38 digits in Spark.
WIDE_INT_SQL_TYPE: dict[Dialect, str] = {"duckdb": "HUGEINT", "spark": "DECIMAL(38,0)"}


def D(value: object) -> Decimal:
    """Parse a number into Decimal without passing through float.

    Accepts Decimal, int, and strings (thousands separators and surrounding blanks allowed;
    an empty string is zero). A float is refused: it has already lost the exact value.
    """
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError("a bool is not a number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        raise TypeError(f"refusing float {value!r}: pass a string or Decimal")
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        if not text:
            return ZERO
        try:
            result = Decimal(text)
        except InvalidOperation as exc:
            raise ValueError(f"not a number: {value!r}") from exc
        if not result.is_finite():
            raise ValueError(f"not a finite number: {value!r}")
        return result
    raise TypeError(f"cannot make a Decimal of {type(value).__name__}")


def round_to(value: Decimal, scale: int) -> Decimal:
    """Round half up (四舍五入, ties away from zero) to ``scale`` decimals."""
    return value.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)


def round_fen(value: Decimal) -> Decimal:
    """Round an amount in yuan to the fen, half up (四舍五入到分)."""
    return round_to(value, MONEY_SCALE)


def round_points(value: Decimal) -> Decimal:
    """Round points, weights, coefficients and point values to 8 decimals, half up."""
    return round_to(value, POINT_SCALE)


def to_fen(value: Decimal) -> int:
    """Yuan as a whole number of fen, rounded half up to the fen first (四舍五入到分):
    ``12.345`` → 1235. The one conversion; ``from_fen`` is its inverse."""
    return int(round_fen(value).scaleb(MONEY_SCALE))


def from_fen(fen: int) -> Decimal:
    """A whole number of fen as yuan with two decimals: 1235 → ``Decimal("12.35")``."""
    return Decimal(fen).scaleb(-MONEY_SCALE)


def div_round(numerator: Decimal, denominator: Decimal, scale: int) -> Decimal:
    """Exact ``numerator ÷ denominator`` rounded half up to ``scale`` decimals."""
    if denominator == 0:
        raise ZeroDivisionError("division by zero")
    n_int, n_exp = _as_scaled_int(numerator)
    d_int, d_exp = _as_scaled_int(denominator)
    # value = (n_int / d_int) * 10^(n_exp - d_exp); want q = round(value * 10^scale)
    shift = n_exp - d_exp + scale
    num = n_int * 10**shift if shift >= 0 else n_int
    den = d_int if shift >= 0 else d_int * 10 ** (-shift)
    sign = -1 if (num < 0) != (den < 0) else 1
    num, den = abs(num), abs(den)
    q = (2 * num + den) // (2 * den)
    return Decimal(sign * q).scaleb(-scale)


def _as_scaled_int(value: Decimal) -> tuple[int, int]:
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    magnitude = int("".join(map(str, digits))) if digits else 0
    return (-magnitude if sign else magnitude), exponent


def split_largest_remainder(total: Decimal, weights: list[Decimal], scale: int = 2) -> list[Decimal]:
    """Split ``total`` in proportion to ``weights`` so the parts sum to ``total`` exactly.

    Each part is first truncated toward zero to ``scale`` decimals; the units left over go,
    one each, to the parts with the largest remainders (ties: earlier position first). This is
    the largest-remainder (Hamilton) method; the order of ``weights`` is the tie-break order.
    Weights must be non-negative with a positive sum.
    """
    if any(w < 0 for w in weights):
        raise ValueError("weights must be non-negative")
    weight_sum = sum(weights, ZERO)
    if weight_sum <= 0:
        raise ValueError("weights must have a positive sum")
    unit = Decimal(1).scaleb(-scale)
    total_units = int((total / unit).to_integral_value(rounding=ROUND_HALF_UP))
    if Decimal(total_units) * unit != total:
        raise ValueError(f"total {total} has more than {scale} decimals")
    sign = -1 if total_units < 0 else 1
    total_units = abs(total_units)
    w_int = [_as_scaled_int(w) for w in weights]
    min_exp = min(e for _, e in w_int)
    ints = [m * 10 ** (e - min_exp) for m, e in w_int]
    int_sum = sum(ints)
    floors = [total_units * w // int_sum for w in ints]
    remainders = [total_units * w % int_sum for w in ints]
    left = total_units - sum(floors)
    order = sorted(range(len(ints)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        floors[i] += 1
    return [Decimal(sign * f).scaleb(-scale) for f in floors]


# ---- SQL twins (DuckDB and Spark) ---------------------------------------------------------


def sql_round(expr: str, scale: int) -> str:
    """SQL twin of ``round_to``: a DECIMAL cast rounds ties away from zero (DuckDB and Spark)."""
    return f"CAST(({expr}) AS DECIMAL(38,{scale}))"


def sql_scaled_int(expr: str, scale: int = POINT_SCALE, dialect: Dialect = "duckdb") -> str:
    """The exact value of a DECIMAL expression times 10^scale, as the dialect's wide integer."""
    return f"CAST(CAST(({expr}) AS DECIMAL(38,{scale})) * {10**scale} AS {WIDE_INT_SQL_TYPE[dialect]})"


def sql_div(
    numerator: str,
    denominator: str,
    scale: int,
    input_scale: int = POINT_SCALE,
    dialect: Dialect = "duckdb",
) -> str:
    """SQL twin of ``div_round``: exact DECIMAL division rounded half up to ``scale`` decimals.

    Both operands are read exactly at ``input_scale`` decimals (the default 8 holds every money,
    points and coefficient column), turned into scaled wide integers n and d and divided with an
    explicit half-up step, q = ⌊(2|n|·10^scale + |d|) ÷ 2|d|⌋, so no DOUBLE is involved. A zero
    denominator yields NULL. Anything that does not fit (more than 38 digits) is an error on both
    engines, never a wrapped value.
    """
    n = sql_scaled_int(numerator, input_scale, dialect)
    d = sql_scaled_int(denominator, input_scale, dialect)
    if dialect == "duckdb":
        q = f"(sign({n}) * sign({d}) * ((2 * abs({n}) * {10**scale} + abs({d})) // (2 * abs({d}))))"
    else:
        q = _spark_half_up_quotient(n, d, numerator, denominator, scale)
    return (
        f"(CASE WHEN ({denominator}) = 0 THEN NULL ELSE "
        f"CAST({q} AS DECIMAL(38,0)) * CAST({Decimal(1).scaleb(-scale)} AS DECIMAL(18,{scale})) END)"
        if scale > 0
        else f"(CASE WHEN ({denominator}) = 0 THEN NULL ELSE CAST({q} AS DECIMAL(38,0)) END)"
    )


def _spark_half_up_quotient(n: str, d: str, numerator: str, denominator: str, scale: int) -> str:
    """The signed half-up quotient on Spark, in DECIMAL(38,0) only.

    a = 2|n|·10^scale + |d| and b = 2|d| are exact DECIMAL(38,0) (below 10^38, else Spark
    raises). With allowPrecisionLoss=false Spark types a ÷ b as DECIMAL(38,18) and a ÷ b read
    as DECIMAL(19,0) as DECIMAL(38,9), rounded half up: the floor q0 of the one whose integer
    digits hold the quotient (b below 10^19: up to 29 digits; else the quotient is below 10^19)
    is ⌊a ÷ b⌋ or one off, and the exact remainder r = a − q0·b says which. The sign comes from
    comparisons, as Spark's ``sign()`` returns DOUBLE; ``DIV`` (a wrapping BIGINT) is not used.
    """
    a = f"(2 * abs({n}) * {10**scale} + abs({d}))"
    b = f"(2 * abs({d}))"
    q0 = f"(CASE WHEN {b} < {10**19} THEN floor({a} / CAST({b} AS DECIMAL(19,0))) ELSE floor({a} / {b}) END)"
    r = f"({a} - {q0} * {b})"
    q = f"({q0} + CASE WHEN {r} < 0 THEN -1 WHEN {r} >= {b} THEN 1 ELSE 0 END)"
    return f"(CASE WHEN (({numerator}) < 0) <> (({denominator}) < 0) THEN -{q} ELSE {q} END)"
