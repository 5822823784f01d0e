"""Case classes and case points (病例分类与病例点数).

000 篇6 第十一条 (高倍率/低倍率/正常病例), 第十四条 (整组单议), 第十六条 (病例点数),
第十八条(二) (预拨点数). Builds ``case_calc`` in the settlement's DuckDB connection: one row
per case with its category, the standards it used, its final and prepayment points (a case's
points are DECIMAL(18,8): below 10^10 points, a larger value is an error, never a wrap).

Each rule is declared once in ``RULES`` (id, article, formula) for explanations; the SQL
below implements the same formulas, rounding once per article quantity (half up, 8 decimals).
"""

from __future__ import annotations

from dataclasses import dataclass

from shidian.dialect import Engine
from shidian.drg.policy import DrgPolicy
from shidian.money import CASE_POINTS_SQL_TYPE, POINTS_SQL_TYPE, sql_div, sql_round


@dataclass(frozen=True)
class Rule:
    """A rule as users read it: stable id, the article, the formula in Chinese."""

    id: str
    article: str
    title: str
    formula: str


RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule(
            "drg.points.normal",
            "000 篇6 第十六条(一)",
            "正常病例",
            "病例点数 = 基准点数 × 差异系数",
        ),
        Rule(
            "drg.points.low",
            "000 篇6 第十六条(二)",
            "低倍率病例",
            "病例点数 = 基准点数 × (合规费用 ÷ 全区本DRG例均费用), 最高不超过基准点数",
        ),
        Rule(
            "drg.points.high",
            "000 篇6 第十六条(三)",
            "高倍率病例",
            "病例点数 = 基准点数 × 差异系数 + 核准追加点数; 核准追加点数 = 核准追加倍数 × 基准点数 × 差异系数; "
            "核准追加倍数 = 合规费用 ÷ 同级别DRG例均费用 − 高倍率判定倍数",
        ),
        Rule(
            "drg.points.whole_group",
            "000 篇6 第十四条、第十六条(四)",
            "整组单议病例",
            "病例点数 = (实际总费用 − 不合理费用) ÷ 全区DRG例均费用 × 100",
        ),
    )
}


def build_case_points(con: Engine, policy: DrgPolicy, year: int) -> None:
    """``case_calc``: classify every case and compute its points.

    Requires ``cases``, ``regrouped``, ``hospitals``, ``standards``, ``coefficients`` and
    ``all_stats``. With ``prepayment.ungroupable_at_year_end`` a case uploaded without a DRG is
    held to the year end (``year_end_grouping``, 第十八条(一)5): no prepayment points; it is
    grouped by the DRG code supplied in ``regrouped`` when there is one, else it is a whole-group
    case. ``review_pay_month`` is the month an approved extra is paid (第十八条(四): the month
    after approval), NULL for the year end; ``review_date`` is the case's own (the warning of an
    approved extra without one reads it here, not through a second join of the cases).
    """
    held = "c.drg_code IS NULL" if policy.ungroupable_at_year_end else "false"
    review_month = (
        f"""CASE WHEN c.review_date IS NOT NULL AND year(c.review_date) = {int(year)}
                      AND month(c.review_date) < 12 THEN month(c.review_date)::INTEGER + 1 END"""
        if policy.review_month_after_approval
        else "NULL::INTEGER"
    )
    con.execute(
        f"""
        CREATE VIEW cases_in AS
        SELECT c.case_id, c.hospital_id, c.discharge_date, c.total_cost, c.fund_paid, c.patient_cash,
               c.self_pay, c.unreasonable_cost, c.review_approved, c.new_technology, c.review_date,
               ({held}) AS year_end_grouping,
               CASE WHEN {held} THEN r.drg_code ELSE c.drg_code END AS drg_code,
               ({review_month}) AS review_month
        FROM cases c LEFT JOIN regrouped r USING (case_id)
        """
    )
    con.execute(
        f"""
        CREATE VIEW case_base AS
        SELECT c.case_id, c.hospital_id, h.level, month(c.discharge_date)::INTEGER AS month, c.drg_code,
               c.year_end_grouping, c.review_month, c.review_date,
               c.total_cost, c.fund_paid, c.patient_cash, c.self_pay, c.unreasonable_cost,
               (c.total_cost - c.unreasonable_cost)::DECIMAL(18,2) AS cost,
               c.review_approved = 1 AS review_approved, c.new_technology = 1 AS new_technology,
               s.base_points, s.n_drg, s.sum_drg, coalesce(s.stable, false) AS stable,
               k.threshold_n, k.threshold_sum, k.high_multiple, k.high_threshold_sum, k.low_threshold_sum,
               CASE WHEN c.drg_code IS NOT NULL AND coalesce(s.stable, false) AND c.new_technology = 0
                    THEN k.coefficient ELSE CAST(1 AS {POINTS_SQL_TYPE}) END AS coefficient,
               k.normal_points
        FROM cases_in c
        JOIN hospitals h USING (hospital_id)
        LEFT JOIN standards s USING (drg_code)
        LEFT JOIN coefficients k ON k.drg_code = c.drg_code AND k.level = h.level
        """
    )
    con.execute(
        """
        CREATE VIEW case_class AS
        SELECT *,
               CASE
                   WHEN drg_code IS NULL OR NOT stable OR new_technology THEN 'whole_group'
                   WHEN cost * threshold_n > high_threshold_sum THEN 'high'
                   WHEN cost * threshold_n < low_threshold_sum THEN 'low'
                   ELSE 'normal'
               END AS category
        FROM case_base
        """
    )
    dialect = con.dialect
    low = f"least(base_points, {sql_div('base_points * cost * n_drg', 'sum_drg', 8, 10, dialect)})"
    extra_multiple = f"({sql_div('cost * threshold_n', 'threshold_sum', 8, 2, dialect)} - high_multiple)"
    extra = sql_round(f"{extra_multiple} * normal_points", 8)
    whole = sql_div("cost * a.n_all * 100", "a.sum_all", 8, 2, dialect)
    con.execute(
        f"""
        CREATE VIEW case_points_raw AS
        SELECT c.*,
               CASE WHEN category = 'high' AND review_approved THEN {extra_multiple} END AS extra_multiple,
               CAST(CASE WHEN category = 'high' AND review_approved THEN {extra} ELSE 0 END
                    AS {POINTS_SQL_TYPE}) AS extra_points,
               CAST(CASE category
                   WHEN 'normal' THEN normal_points
                   WHEN 'low' THEN {low}
                   WHEN 'high' THEN normal_points
                   ELSE {whole}
               END AS {POINTS_SQL_TYPE}) AS category_points
        FROM case_class c CROSS JOIN all_stats a
        """
    )
    con.execute(
        f"""
        CREATE TABLE case_calc AS
        SELECT case_id, hospital_id, level, month, drg_code, category,
               total_cost, fund_paid, patient_cash, self_pay, unreasonable_cost, cost,
               review_approved, new_technology, year_end_grouping, review_date,
               CASE WHEN extra_points > 0 AND NOT year_end_grouping THEN review_month END AS review_pay_month,
               CAST(base_points AS {CASE_POINTS_SQL_TYPE}) AS base_points,
               CAST(coefficient AS {CASE_POINTS_SQL_TYPE}) AS coefficient,
               CAST(extra_points AS {CASE_POINTS_SQL_TYPE}) AS extra_points,
               CAST(category_points + extra_points AS {CASE_POINTS_SQL_TYPE}) AS final_points,
               CAST(CASE
                   WHEN year_end_grouping THEN 0
                   WHEN category = 'whole_group' THEN {sql_round(f"category_points * {policy.whole_group_prepay_ratio}", 8)}
                   ELSE category_points
               END AS {CASE_POINTS_SQL_TYPE}) AS prepay_points
        FROM case_points_raw
        """
    )
