"""Reference statistics, weights, base points and level coefficients (病组标准与差异系数).

000 篇6 第十条 (权重), 第十一条 (稳定/不稳定病组), 第十三条 (等级差异系数), 第十五条 (基准点数),
第十九条(五) (用当年数据重新计算). Builds two tables in the settlement's DuckDB connection:

* ``standards``: one row per DRG of ``groups``: reference counts and cost sums, region average,
  weight, base points, stable, basic;
* ``coefficients``: one row per DRG and hospital level (1–3): the level's reference count and
  sum, the coefficient, and the count and sum its class thresholds use.

Averages are kept as exact (sum, count) pairs; every ratio is rounded once, to 8 decimals.
"""

from __future__ import annotations

from shidian.dialect import Engine
from shidian.drg.policy import DrgPolicy
from shidian.money import POINTS_SQL_TYPE, sql_div, sql_round

LEVELS = (1, 2, 3)


def build_reference(con: Engine, has_reference: bool) -> None:
    """``ref``: grouped reference cases (drg_code, level, total_cost).

    From ``reference`` when given, else from the settlement year's ``cases`` (第十九条(五)).
    """
    if has_reference:
        source = "SELECT drg_code, level, total_cost FROM reference WHERE drg_code IS NOT NULL"
    else:
        source = (
            "SELECT c.drg_code, h.level, c.total_cost FROM cases c "
            "JOIN hospitals h USING (hospital_id) WHERE c.drg_code IS NOT NULL"
        )
    con.execute(f"CREATE TABLE ref AS {source}")


def build_standards(con: Engine, policy: DrgPolicy) -> None:
    """``standards``: weight (第十条), base points (第十五条), stability (第十一条) per DRG."""
    computed_weight = sql_div("r.sum_drg * a.n_all", "r.n_drg * a.sum_all", 8, 2, con.dialect)
    con.execute(
        f"""
        CREATE TABLE all_stats AS
        SELECT count(*)::BIGINT AS n_all, coalesce(sum(total_cost), 0)::DECIMAL(38,2) AS sum_all FROM ref;
        CREATE TABLE standards AS
        WITH r AS (
            SELECT drg_code, count(*)::BIGINT AS n_drg, sum(total_cost)::DECIMAL(38,2) AS sum_drg
            FROM ref GROUP BY drg_code
        ), w AS (
            SELECT g.drg_code, g.name, coalesce(g.basic, 0) = 1 AS basic,
                   coalesce(r.n_drg, 0) AS n_drg, coalesce(r.sum_drg, 0)::DECIMAL(38,2) AS sum_drg,
                   g.weight IS NOT NULL AS weight_given,
                   {sql_round(f"coalesce(g.weight, CASE WHEN r.n_drg > 0 THEN {computed_weight} END)", 8)}
                       AS weight
            FROM groups g LEFT JOIN r USING (drg_code) CROSS JOIN all_stats a
        )
        SELECT drg_code, name, basic, n_drg, sum_drg,
               {sql_div("sum_drg", "n_drg", 8, 2, con.dialect)} AS region_avg_cost,
               weight_given, weight,
               {sql_round("weight * 100", 8)} AS base_points,
               n_drg > {policy.unstable_max_cases} AS stable
        FROM w
        """
    )


def band_multiple_sql(policy: DrgPolicy, base_points: str) -> str:
    """SQL CASE giving the high-ratio multiple (高倍率判定倍数) for a base-points expression."""
    arms = " ".join(
        f"WHEN {base_points} <= {band.max_base_points} THEN CAST({band.multiple} AS {POINTS_SQL_TYPE})"
        for band in policy.high_ratio_bands[:-1]
    )
    last = policy.high_ratio_bands[-1].multiple
    return f"(CASE {arms} ELSE CAST({last} AS {POINTS_SQL_TYPE}) END)"


def build_coefficients(con: Engine, policy: DrgPolicy) -> None:
    """``coefficients``: the level difference coefficient (等级差异系数, 第十三条) per DRG × level."""
    level_coefficient = sql_div("l.sum_level * s.n_drg", "l.n_level * s.sum_drg", 8, 2, con.dialect)
    levels = ", ".join(f"({level})" for level in LEVELS)
    con.execute(
        f"""
        CREATE TABLE level_coefficients AS
        WITH l AS (
            SELECT drg_code, level, count(*)::BIGINT AS n_level, sum(total_cost)::DECIMAL(38,2) AS sum_level
            FROM ref GROUP BY drg_code, level
        )
        SELECT s.drg_code, lv.level,
               coalesce(l.n_level, 0) AS n_level,
               {sql_div("l.sum_level", "l.n_level", 8, 2, con.dialect)} AS level_avg_cost,
               CAST(CASE
                   WHEN NOT s.stable THEN 1
                   WHEN s.basic THEN {policy.basic_coefficient}
                   WHEN l.n_level IS NULL THEN {policy.missing_level_coefficient}
                   ELSE {level_coefficient}
               END AS {POINTS_SQL_TYPE}) AS coefficient,
               coalesce(l.n_level, s.n_drg) AS threshold_n,
               coalesce(l.sum_level, s.sum_drg)::DECIMAL(38,2) AS threshold_sum,
               {band_multiple_sql(policy, "s.base_points")} AS high_multiple
        FROM standards s CROSS JOIN (VALUES {levels}) AS lv(level)
        LEFT JOIN l ON l.drg_code = s.drg_code AND l.level = lv.level
        """
    )
    # What depends on the DRG and level only is computed here once per (DRG, level) rather than
    # once per case: 第十六条(一) 正常病例点数 = 基准点数 × 差异系数, and the class thresholds of
    # 第十一条 as exact sums (multiple × Σcost of the level; a case compares cost × n with them).
    # (A new table rather than ALTER … ADD and UPDATE … FROM, which Spark has not.)
    con.execute(
        f"""
        CREATE TABLE coefficients AS
        SELECT k.*,
               CAST({sql_round("s.base_points * k.coefficient", 8)} AS {POINTS_SQL_TYPE}) AS normal_points,
               CAST(k.high_multiple * k.threshold_sum AS DECIMAL(38,10)) AS high_threshold_sum,
               CAST(CAST({policy.low_ratio} AS {POINTS_SQL_TYPE}) * k.threshold_sum AS DECIMAL(38,10))
                   AS low_threshold_sum
        FROM level_coefficients k JOIN standards s USING (drg_code)
        """
    )


def level_inversions(con: Engine) -> list[tuple[str, int, str, int, str]]:
    """DRGs where a lower level's coefficient exceeds the next level's (第十三条(一): 专家讨论).

    "上一级" is the nearest higher level that has reference cases of the DRG. Returns
    (drg_code, lower level, its coefficient, higher level, its coefficient), ordered.
    """
    rows = con.execute(
        """
        WITH present AS (
            SELECT k.drg_code, k.level, k.coefficient,
                   lead(k.level) OVER w AS next_level, lead(k.coefficient) OVER w AS next_coefficient
            FROM coefficients k JOIN standards s USING (drg_code)
            WHERE s.stable AND NOT s.basic AND k.n_level > 0
            WINDOW w AS (PARTITION BY k.drg_code ORDER BY k.level)
        )
        SELECT drg_code, level, coefficient, next_level, next_coefficient
        FROM present WHERE next_level IS NOT NULL AND coefficient > next_coefficient
        ORDER BY drg_code, level
        """
    ).fetchall()
    return [(str(r[0]), int(r[1]), format(r[2], "f"), int(r[3]), format(r[4], "f")) for r in rows]
