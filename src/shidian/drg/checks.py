"""Invariants every DRG settlement verifies about itself (结算自检).

Each check is a plain function of the settlement's connection returning one ``Check``; they
run on every settlement (those about a point value once per scheme, on that scheme's tables
``<table>_<scheme>``, when each scheme has its own point value: ``shidian.drg.scheme_values``) and their results go into ``run.json``. Tolerances are derived from
the rounding the rules perform (half a unit of the last kept decimal per rounding), never an
arbitrary epsilon; reconciliations that involve no rounding are exact.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from shidian.dialect import Engine
from shidian.drg.model import SettlementParams
from shidian.drg.point_value import monthly_budgets
from shidian.drg.policy import DrgPolicy
from shidian.money import POINT, ZERO
from shidian.runs import Check

HALF_POINT = POINT / 2  # half a unit of the 8th decimal
HALF_FEN = Decimal("0.005")

CheckFn = Callable[[Engine, SettlementParams, DrgPolicy, Decimal], Check]


def _one(con: Engine, sql: str) -> tuple[object, ...]:
    rows = con.execute(sql).fetchall()  # all: no result left open on the connection
    assert len(rows) == 1
    return tuple(rows[0])


def budgets_sum_to_annual(
    con: Engine, params: SettlementParams, policy: DrgPolicy, _: Decimal, sfx: str = ""
) -> Check:
    total = sum(monthly_budgets(params), ZERO)
    return Check(
        "monthly_budgets_sum",
        "12个月度预算之和等于DRG总额预算 (第十八条(二))",
        total == params.drg_budget,
        f"Σ月度预算 {total} = 年度预算 {params.drg_budget}",
    )


def every_case_classified(con: Engine, params: SettlementParams, policy: DrgPolicy, _: Decimal) -> Check:
    cases, calc, bad = _one(
        con,
        """
        SELECT (SELECT count(*) FROM cases), count(*),
               count(*) FILTER (WHERE category NOT IN ('normal','high','low','whole_group')
                                OR final_points IS NULL OR final_points < 0 OR prepay_points IS NULL
                                OR prepay_points < 0 OR prepay_points > final_points
                                OR (category = 'low' AND final_points > base_points))
        FROM case_calc
        """,
    )
    return Check(
        "cases_classified",
        "每个病例恰有一个类型, 点数非负, 低倍率点数不超过基准点数, 预拨点数不超过病例点数 (第十一、十六、十八条)",
        cases == calc and bad == 0,
        f"输入病例 {cases}, 计算病例 {calc}, 异常 {bad}",
    )


def monthly_points_value_budget(
    con: Engine, params: SettlementParams, policy: DrgPolicy, _: Decimal, sfx: str = ""
) -> Check:
    """Σ(points × point value) over the month's cases equals the month's point-value numerator."""
    rows = con.execute(
        f"SELECT month, budget, non_fund, total_points, point_value FROM monthly{sfx} WHERE total_points > 0"
    ).fetchall()
    worst = ZERO
    ok = True
    for _month, budget, non_fund, points_total, value in rows:
        numerator = Decimal(budget) + (
            Decimal(non_fund) if policy.monthly_formula == "non_fund_inclusive" else ZERO
        )
        gap = abs(Decimal(points_total) * Decimal(value) - numerator)
        tolerance = Decimal(points_total) * HALF_POINT  # the point value is rounded to 8 decimals
        worst = max(worst, gap)
        ok = ok and gap <= tolerance
    return Check(
        "monthly_value_conserved",
        "每月 Σ预拨点数 × 月度点值 = 月度预算 (月度点值计入非统筹支付时另加非统筹支付), 误差不超过点值舍入",
        ok,
        f"最大偏差 {worst} 元",
    )


def year_value_conserved(
    con: Engine, params: SettlementParams, policy: DrgPolicy, year_value: Decimal, sfx: str = ""
) -> Check:
    total_cost, fund_paid, points_total = _one(
        con, f"SELECT sum(total_cost), sum(fund_paid), sum(year_points) FROM hospital_year{sfx}"
    )
    if sfx and not Decimal(str(points_total or 0)):  # one scheme without a case: nothing to value
        return Check(
            "year_value_conserved",
            "Σ医疗机构年度点数 × 年度点值 = 总费用 − 统筹基金费用 + DRG总额预算 (第十九条(一))",
            True,
            f"本险种无年度点数, 年度点值为0, DRG预算 {params.drg_budget} 元未分配",
        )
    numerator = Decimal(str(total_cost)) - Decimal(str(fund_paid)) + params.drg_budget
    gap = abs(Decimal(str(points_total)) * year_value - numerator)
    tolerance = Decimal(str(points_total)) * HALF_POINT
    return Check(
        "year_value_conserved",
        "Σ医疗机构年度点数 × 年度点值 = 总费用 − 统筹基金费用 + DRG总额预算 (第十九条(一)), 误差不超过点值舍入",
        gap <= tolerance,
        f"偏差 {gap} 元, 容许 {tolerance} 元",
    )


def annual_reconciles(con: Engine, params: SettlementParams, policy: DrgPolicy, _: Decimal) -> Check:
    bad, points_bad = _one(
        con,
        """
        SELECT count(*) FILTER (WHERE settlement <> entitlement - surplus_cut - self_pay_cut - patient_cash
                                                   - monthly_paid - audit_deductions),
               count(*) FILTER (WHERE year_points <> final_points - deducted_points)
        FROM annual
        """,
    )
    return Check(
        "annual_reconciles",
        "每家医疗机构: 清算金额 = 应得 − 结余扣减 − 自费扣减 − 患者现金 − 已预拨 − 审核扣款; 年度点数 = 核准点数 − 扣除点数",
        bad == 0 and points_bad == 0,
        f"不平衡机构 {bad}, 点数不符 {points_bad}",
    )


def case_points_add_up(con: Engine, params: SettlementParams, policy: DrgPolicy, _: Decimal) -> Check:
    (gap,) = _one(
        con,
        """
        SELECT count(*) FROM annual a
        LEFT JOIN (SELECT hospital_id, sum(final_points) AS p FROM case_calc GROUP BY hospital_id) c USING (hospital_id)
        WHERE coalesce(c.p, 0) <> a.final_points
        """,
    )
    return Check(
        "case_points_add_up",
        "各医疗机构病例点数之和等于其年度核准点数",
        gap == 0,
        f"不符机构 {gap}",
    )


def incentive_pool_conserved(
    con: Engine, params: SettlementParams, policy: DrgPolicy, _: Decimal, sfx: str = ""
) -> Check:
    table = f"annual_base{sfx}" if sfx else "annual"  # one scheme's pool (分险种点值)
    withheld, incentive = _one(con, f"SELECT sum(withheld), sum(coalesce(incentive, 0)) FROM {table}")
    if policy.year_end_method != "incentive_pool":
        return Check("incentive_pool_conserved", "激励基金池 (篇5): 本政策不适用", True, "不适用")
    # A pool that no hospital may share (every weight zero) stays in the pool.
    ok = Decimal(str(incentive)) in (Decimal(str(withheld)), ZERO)
    return Check(
        "incentive_pool_conserved",
        "激励基金池全额分配: Σ年终激励 = Σ月度留存 (篇5 三(四)3)",
        ok,
        f"留存 {withheld} 元, 激励 {incentive} 元",
    )


CHECKS: tuple[CheckFn, ...] = (
    budgets_sum_to_annual,
    every_case_classified,
    monthly_points_value_budget,
    year_value_conserved,
    annual_reconciles,
    case_points_add_up,
    incentive_pool_conserved,
)


#: The checks about a point value: run once per scheme when each scheme has its own.
POINT_VALUE_CHECKS = (
    budgets_sum_to_annual,
    monthly_points_value_budget,
    year_value_conserved,
    incentive_pool_conserved,
)


def run_checks(
    con: Engine, params: SettlementParams, policy: DrgPolicy, year_value: Decimal, *, joint: bool = True
) -> list[Check]:
    """Every check (``joint``), or those that do not concern a point value (per-scheme values)."""
    return [
        check(con, params, policy, year_value) for check in CHECKS if joint or check not in POINT_VALUE_CHECKS
    ]
