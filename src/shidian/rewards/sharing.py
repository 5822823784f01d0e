"""Sharing a pot (按权重分配资金) in SQL: exact weights, water-filling caps, largest remainder.

All amounts are integers of fen (HUGEINT); weights are exact integers (each fact scaled by the
fewest powers of ten that make it whole), so every comparison and quotient is exact:

* ``largest_remainder``: each unit of the pool gets ⌊T × w ÷ W⌋ fen; the fen left over go one
  each to the largest remainders (ties: smaller ``unit_code`` first). Σ parts = T exactly; the
  SQL twin of ``shidian.money.split_largest_remainder``;
* ``water_fill``: with per-unit caps whose excess is redistributed (超出封顶部分再分配), a unit is
  fixed at its cap while (pot − Σ fixed caps) × w > cap × Σ w of the free units; repeated until
  no new unit is fixed (the loop runs over rounds, never over units).
"""

from __future__ import annotations

import duckdb

#: The largest product T × w the HUGEINT arithmetic allows (2^126, with margin for the sums).
MAX_PRODUCT = 1 << 126


def scale_of(con: duckdb.DuckDBPyConnection, table: str, column: str, max_scale: int = 8) -> int:
    """The fewest decimals that hold every value of a DECIMAL column exactly."""
    cases = " ".join(f"WHEN {column} = round({column}, {k}) THEN {k}" for k in range(max_scale))
    row = con.sql(f"SELECT coalesce(max(CASE {cases} ELSE {max_scale} END), 0) FROM {table}").fetchall()[0]
    return int(row[0]) if row else 0


def weight_sql(columns: list[str], scales: list[int]) -> str:
    """The exact integer weight: the product of each column times 10^scale, as HUGEINT."""
    factors = [f"CAST({c} * {10**s} AS HUGEINT)" for c, s in zip(columns, scales, strict=True)]
    return " * ".join(factors) if factors else "CAST(1 AS HUGEINT)"


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.sql(sql).fetchall()[0]
    return int(row[0]) if row and row[0] is not None else 0


def largest_remainder(
    con: duckdb.DuckDBPyConnection, table: str, pool: str, weight: str, total_fen: int, target: str
) -> int:
    """Set ``target`` (fen) to each pool row's largest-remainder share of ``total_fen`` by
    ``weight``; 0 outside the pool. Returns Σ weight over the pool (0: nothing was shared)."""
    weight_sum = _scalar(con, f"SELECT sum({weight}) FROM {table} WHERE {pool}")
    if weight_sum <= 0 or total_fen <= 0:
        con.sql(f"UPDATE {table} SET {target} = 0")
        return weight_sum
    floors = _scalar(con, f"SELECT sum({total_fen} * ({weight}) // {weight_sum}) FROM {table} WHERE {pool}")
    left = total_fen - floors
    con.sql(
        f"""
        UPDATE {table} SET {target} = r._share FROM (
            SELECT unit_code AS _code,
                   CASE WHEN {pool} THEN {total_fen} * ({weight}) // {weight_sum}
                        + CASE WHEN row_number() OVER (
                                   ORDER BY CASE WHEN {pool} THEN {total_fen} * ({weight}) % {weight_sum} ELSE -1 END DESC,
                                            unit_code) <= {left} THEN 1 ELSE 0 END
                        ELSE 0 END AS _share
            FROM {table}
        ) r WHERE {table}.unit_code = r._code
        """
    )
    return weight_sum


def water_fill(
    con: duckdb.DuckDBPyConnection, table: str, pool: str, weight: str, cap: str, pot_fen: int, fixed: str
) -> int:
    """Mark in ``fixed`` the pool units held at their cap when the excess is redistributed;
    returns the fen left for the free units (pot − Σ caps of the fixed)."""
    con.sql(f"UPDATE {table} SET {fixed} = FALSE")
    remaining = pot_fen
    while True:
        free_weight = _scalar(con, f"SELECT sum({weight}) FROM {table} WHERE {pool} AND NOT {fixed}")
        if free_weight <= 0:
            return remaining
        newly = _scalar(
            con,
            f"SELECT count(*) FROM {table} WHERE {pool} AND NOT {fixed} AND {cap} IS NOT NULL "
            f"AND {remaining} * ({weight}) > {cap} * {free_weight}",
        )
        if newly == 0:
            return remaining
        con.sql(
            f"UPDATE {table} SET {fixed} = TRUE WHERE {pool} AND NOT {fixed} AND {cap} IS NOT NULL "
            f"AND {remaining} * ({weight}) > {cap} * {free_weight}"
        )
        remaining = pot_fen - _scalar(con, f"SELECT sum({cap}) FROM {table} WHERE {pool} AND {fixed}")
