"""Monthly budgets, point values and prepayments; the year point value (点值与月度预拨).

000 篇6 第十八条 (月度预付: 月度预算, 月度点值, 费用拨付) and 第十九条(一) (年度点值).
Scalars (twelve monthly point values, one year point value) are computed in Python Decimal;
per-hospital amounts in SQL with the same half-up rounding.
"""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa

from shidian.dialect import Engine
from shidian.drg.model import MONEY, POINTS, SettlementParams
from shidian.drg.policy import DrgPolicy
from shidian.money import ONE, ZERO, div_round, split_largest_remainder, sql_round

MONTHS = tuple(range(1, 13))


def monthly_budgets(params: SettlementParams) -> list[Decimal]:
    """月度预算 = DRG总额预算 × 该月份上年度住院统筹基金费用占比 (第十八条(二)).

    Split with the largest-remainder method so the twelve budgets sum to the annual budget
    to the fen; equal twelfths when no shares are given. With per-scheme point values
    (``schemes.point_value``) ``params`` carries one scheme's budget and each scheme's budget is
    split on its own.
    """
    shares = list(params.monthly_shares) if params.monthly_shares else [ONE] * 12
    return split_largest_remainder(params.drg_budget, shares, scale=2)


def monthly_point_values(con: Engine, params: SettlementParams, policy: DrgPolicy, sfx: str = "") -> pa.Table:
    """``monthly``: budget, prepayment points, non-fund payments and point value per month.

    ``as_written``: 月度点值 = 月度预算 ÷ 月度总点数; ``non_fund_inclusive`` adds the month's
    non-fund payments (total_cost − fund_paid) to the numerator, as the year point value does.
    A month without points has point value 0. ``sfx``: the table suffix of one scheme's cases
    (``case_calc_<scheme>``) when each scheme has its own point value; ``params`` then carries
    that scheme's budget.
    """
    sums = {
        int(m): (Decimal(p), Decimal(n))
        for m, p, n in con.execute(
            f"""
            SELECT month, sum(prepay_points)::DECIMAL(38,8), sum(total_cost - fund_paid)::DECIMAL(38,2)
            FROM case_calc{sfx} WHERE NOT year_end_grouping GROUP BY month
            """
        ).fetchall()
    }
    rows: dict[str, list[object]] = {
        "month": [],
        "budget": [],
        "total_points": [],
        "non_fund": [],
        "point_value": [],
    }
    for month, budget in zip(MONTHS, monthly_budgets(params), strict=True):
        points, non_fund = sums.get(month, (ZERO, ZERO))
        numerator = budget + non_fund if policy.monthly_formula == "non_fund_inclusive" else budget
        value = div_round(numerator, points, 8) if points > 0 else ZERO
        rows["month"].append(month)
        rows["budget"].append(budget)
        rows["total_points"].append(points)
        rows["non_fund"].append(non_fund)
        rows["point_value"].append(value)
    return pa.table(
        rows,
        schema=pa.schema(
            [
                ("month", pa.int32()),
                ("budget", MONEY),
                ("total_points", POINTS),
                ("non_fund", MONEY),
                ("point_value", POINTS),
            ]
        ),
    )


def build_monthly_payments(con: Engine, policy: DrgPolicy, year: int, sfx: str = "") -> None:
    """``monthly_payments``: each hospital's prepayment for each month (第十八条(三)(四)).

    amount = round_fen((预拨总点数 × 月度点值 − 减项) × 预拨比例) + review_amount
    − round_fen(扣除点数 × 对应月月度点值) − 审核扣款, rounded once as the article writes it, the
    subtracted amount being the month's patient cash (as_written) or non-fund payments
    (non_fund_inclusive), cases held to the year end (年底入组) left out; allocation =
    round_fen(预拨总点数 × 月度点值 − 减项).

    review_amount = round_fen(Σ 特病单议核准追加点数 × 病例所在月月度点值 × 预拨比例) over the
    extras approved the month before (``case_calc.review_pay_month``); review_allocation the
    same without the ratio. A deduction is taken in the month after its audit date
    (``prepayment.deduction_month_after_audit``), else in its own month, at its own month's point
    value; one audited in December or later waits for the year end. withheld = allocation −
    the prepaid part + review_allocation − review_amount (质量保证金 or 激励基金池).
    Requires ``case_calc``, ``monthly`` (registered), ``hospitals`` and ``deductions``; with
    ``sfx`` (one scheme's point value) ``case_calc<sfx>``, ``monthly<sfx>`` and ``deductions<sfx>``,
    and it builds ``monthly_payments<sfx>``.
    """
    if policy.deduction_month_after_audit:
        pay_month = f"""CASE WHEN audit_date IS NULL THEN month::INTEGER
                             WHEN year(audit_date) = {int(year)} AND month(audit_date) < 12
                             THEN month(audit_date)::INTEGER + 1 END"""
    else:
        pay_month = "month::INTEGER"
    subtracted = "patient_cash" if policy.monthly_formula == "as_written" else "non_fund"
    value = f"(prepay_points * point_value - {subtracted})"
    allocation = sql_round(value, 2)
    prepaid = sql_round(f"{value} * {policy.prepay_ratio}", 2)
    con.execute(
        f"""
        CREATE TABLE monthly_payments{sfx} AS
        WITH grid AS (
            SELECT h.hospital_id, m.month, m.point_value FROM hospitals h CROSS JOIN monthly{sfx} m
        ), hm AS (
            SELECT hospital_id, month,
                   sum(prepay_points)::DECIMAL(38,8) AS prepay_points,
                   sum(patient_cash)::DECIMAL(38,2) AS patient_cash,
                   sum(total_cost - fund_paid)::DECIMAL(38,2) AS non_fund,
                   count(*)::BIGINT AS cases
            FROM case_calc{sfx} WHERE NOT year_end_grouping GROUP BY hospital_id, month
        ), d AS (
            SELECT x.hospital_id, x.pay_month AS month, sum(x.amount)::DECIMAL(38,2) AS audit_deduction,
                   sum(x.points)::DECIMAL(38,8) AS deducted_points,
                   sum(x.points * m.point_value) AS deducted_value
            FROM (SELECT *, {pay_month} AS pay_month FROM deductions{sfx}) x
            JOIN monthly{sfx} m ON m.month = x.month
            WHERE x.pay_month IS NOT NULL GROUP BY x.hospital_id, x.pay_month
        ), r AS (
            SELECT c.hospital_id, c.review_pay_month AS month, sum(c.extra_points)::DECIMAL(38,8) AS review_points,
                   sum(c.extra_points * m.point_value) AS review_value
            FROM case_calc{sfx} c JOIN monthly{sfx} m ON m.month = c.month
            WHERE c.review_pay_month IS NOT NULL GROUP BY c.hospital_id, c.review_pay_month
        ), base AS (
            SELECT g.hospital_id, g.month, g.point_value,
                   coalesce(hm.cases, 0) AS cases,
                   coalesce(hm.prepay_points, 0)::DECIMAL(38,8) AS prepay_points,
                   coalesce(hm.patient_cash, 0)::DECIMAL(38,2) AS patient_cash,
                   coalesce(hm.non_fund, 0)::DECIMAL(38,2) AS non_fund,
                   coalesce(d.audit_deduction, 0)::DECIMAL(38,2) AS audit_deduction,
                   coalesce(d.deducted_points, 0)::DECIMAL(38,8) AS deducted_points,
                   coalesce(d.deducted_value, 0) AS deducted_value,
                   coalesce(r.review_points, 0)::DECIMAL(38,8) AS review_points,
                   coalesce(r.review_value, 0) AS review_value
            FROM grid g
            LEFT JOIN hm USING (hospital_id, month)
            LEFT JOIN d USING (hospital_id, month)
            LEFT JOIN r USING (hospital_id, month)
        ), alloc AS (
            SELECT *, {allocation} AS allocation, {prepaid} AS prepaid_allocation,
                   {sql_round("deducted_value", 2)} AS deducted_points_amount,
                   {sql_round("review_value", 2)} AS review_allocation,
                   {sql_round(f"review_value * {policy.prepay_ratio}", 2)} AS review_amount
            FROM base
        )
        SELECT hospital_id, month, cases, prepay_points, point_value, patient_cash, non_fund,
               allocation, prepaid_allocation,
               (allocation - prepaid_allocation + review_allocation - review_amount)::DECIMAL(38,2) AS withheld,
               deducted_points_amount, deducted_points, audit_deduction,
               (prepaid_allocation + review_amount - deducted_points_amount - audit_deduction)::DECIMAL(38,2)
                   AS amount,
               review_points, review_allocation, review_amount
        FROM alloc
        """
    )


def year_point_value(
    total_cost: Decimal, fund_paid: Decimal, drg_budget: Decimal, year_points: Decimal
) -> Decimal:
    """年度点值 = (年度住院医疗总费用 − 年度住院统筹基金费用 + DRG基金总额) ÷ 年度总点数 (第十九条(一))."""
    if year_points <= 0:
        return ZERO
    return div_round(total_cost - fund_paid + drg_budget, year_points, 8)
