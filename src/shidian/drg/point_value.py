"""Monthly budgets, point values and prepayments; the year point value (点值与月度预拨).

000 篇6 第十八条 (月度预付: 月度预算, 月度点值, 费用拨付) and 第十九条(一) (年度点值).
Scalars (twelve monthly point values, one year point value) are computed in Python Decimal;
per-hospital amounts in SQL with the same half-up rounding.
"""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pyarrow as pa

from shidian.drg.model import MONEY, POINTS, SettlementParams
from shidian.drg.policy import DrgPolicy
from shidian.money import ONE, ZERO, div_round, split_largest_remainder, sql_round

MONTHS = tuple(range(1, 13))


def monthly_budgets(params: SettlementParams) -> list[Decimal]:
    """月度预算 = DRG总额预算 × 该月份上年度住院统筹基金费用占比 (第十八条(二)).

    Split with the largest-remainder method so the twelve budgets sum to the annual budget
    to the fen; equal twelfths when no shares are given.
    """
    shares = list(params.monthly_shares) if params.monthly_shares else [ONE] * 12
    return split_largest_remainder(params.drg_budget, shares, scale=2)


def monthly_point_values(
    con: duckdb.DuckDBPyConnection, params: SettlementParams, policy: DrgPolicy
) -> pa.Table:
    """``monthly``: budget, prepayment points, non-fund payments and point value per month.

    ``as_written``: 月度点值 = 月度预算 ÷ 月度总点数; ``non_fund_inclusive`` adds the month's
    non-fund payments (total_cost − fund_paid) to the numerator, as the year point value does.
    A month without points has point value 0.
    """
    sums = {
        int(m): (Decimal(p), Decimal(n))
        for m, p, n in con.execute(
            """
            SELECT month, sum(prepay_points)::DECIMAL(38,8), sum(total_cost - fund_paid)::DECIMAL(38,2)
            FROM case_calc GROUP BY month
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


def build_monthly_payments(con: duckdb.DuckDBPyConnection, policy: DrgPolicy) -> None:
    """``monthly_payments``: each hospital's prepayment for each month (第十八条(三)).

    amount = round_fen((预拨总点数 × 月度点值 − 减项) × 预拨比例) − round_fen(扣除点数 × 月度点值) − 审核扣款,
    rounded once as the article writes it, the subtracted amount being the month's patient cash
    (as_written) or non-fund payments (non_fund_inclusive); allocation = round_fen(预拨总点数 ×
    月度点值 − 减项) and withheld = allocation − the prepaid part (质量保证金 or 激励基金池).
    Requires ``case_calc``, ``monthly`` (registered), ``hospitals`` and ``deductions``.
    """
    subtracted = "patient_cash" if policy.monthly_formula == "as_written" else "non_fund"
    value = f"(prepay_points * point_value - {subtracted})"
    allocation = sql_round(value, 2)
    prepaid = sql_round(f"{value} * {policy.prepay_ratio}", 2)
    con.execute(
        f"""
        CREATE TABLE monthly_payments AS
        WITH grid AS (
            SELECT h.hospital_id, m.month, m.point_value FROM hospitals h CROSS JOIN monthly m
        ), hm AS (
            SELECT hospital_id, month,
                   sum(prepay_points)::DECIMAL(38,8) AS prepay_points,
                   sum(patient_cash)::DECIMAL(38,2) AS patient_cash,
                   sum(total_cost - fund_paid)::DECIMAL(38,2) AS non_fund,
                   count(*)::BIGINT AS cases
            FROM case_calc GROUP BY hospital_id, month
        ), d AS (
            SELECT hospital_id, month, sum(amount)::DECIMAL(38,2) AS audit_deduction,
                   sum(points)::DECIMAL(38,8) AS deducted_points
            FROM deductions GROUP BY hospital_id, month
        ), base AS (
            SELECT g.hospital_id, g.month, g.point_value,
                   coalesce(hm.cases, 0) AS cases,
                   coalesce(hm.prepay_points, 0)::DECIMAL(38,8) AS prepay_points,
                   coalesce(hm.patient_cash, 0)::DECIMAL(38,2) AS patient_cash,
                   coalesce(hm.non_fund, 0)::DECIMAL(38,2) AS non_fund,
                   coalesce(d.audit_deduction, 0)::DECIMAL(38,2) AS audit_deduction,
                   coalesce(d.deducted_points, 0)::DECIMAL(38,8) AS deducted_points
            FROM grid g
            LEFT JOIN hm USING (hospital_id, month)
            LEFT JOIN d USING (hospital_id, month)
        ), alloc AS (
            SELECT *, {allocation} AS allocation FROM base
        )
        SELECT hospital_id, month, cases, prepay_points, point_value, patient_cash, non_fund,
               allocation, {prepaid} AS prepaid_allocation,
               (allocation - {prepaid})::DECIMAL(38,2) AS withheld,
               {sql_round("deducted_points * point_value", 2)} AS deducted_points_amount,
               deducted_points, audit_deduction,
               ({prepaid} - {sql_round("deducted_points * point_value", 2)} - audit_deduction)::DECIMAL(38,2)
                   AS amount
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
