"""The year-end settlement (年终清算), 000 篇6 第十九条 and 篇5 三(四) (激励基金池).

``build_annual`` settles the year with one (joint) year point value; ``annual_base`` and
``cut_sql`` are its parts, which ``shidian.drg.scheme_values`` runs once per scheme when each
scheme has its own point value (``schemes.point_value = "per_scheme"``, 第六条).
"""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa

from shidian.dialect import Engine
from shidian.drg import point_value
from shidian.drg.policy import DrgPolicy
from shidian.money import ZERO, split_largest_remainder, sql_round


def build_annual(con: Engine, drg_budget: Decimal, policy: DrgPolicy) -> Decimal:
    """``annual``: the year-end settlement per hospital (第十九条 / 篇5 激励基金池).

    Returns the year point value.
    """
    year_value = annual_base(con, policy, drg_budget)
    surplus_cut, self_pay_cut = cut_sql(policy)
    con.execute(
        f"""
        CREATE TABLE annual AS
        WITH cuts AS (
            SELECT *, CAST({year_value} AS DECIMAL(38,8)) AS year_point_value,
                   ({surplus_cut})::DECIMAL(38,2) AS surplus_cut,
                   ({self_pay_cut})::DECIMAL(38,2) AS self_pay_cut
            FROM annual_base
        )
        SELECT {ANNUAL_SELECT}
        FROM cuts
        """
    )
    return year_value


#: The columns of ``annual`` in their documented order (docs/drg-outputs.md).
ANNUAL_SELECT = """hospital_id, year_points, year_point_value, assessment_coefficient, entitlement,
               surplus_cut, self_pay_cut, patient_cash, monthly_paid,
               (entitlement - surplus_cut - self_pay_cut - patient_cash - monthly_paid - audit_deductions)
                   ::DECIMAL(38,2) AS settlement,
               audit_deductions, cases, final_points, deducted_points, total_cost, fund_paid, self_pay,
               withheld, incentive"""


def cut_sql(policy: DrgPolicy) -> tuple[str, str]:
    """The year-end caps of 第十九条(三) as SQL over ``entitlement``, ``total_cost``, ``self_pay``."""
    if not policy.apply_caps:
        return "0", "0"
    surplus_cut = sql_round(
        f"greatest(0, entitlement - total_cost - total_cost * {policy.surplus_cap_ratio})", 2
    )
    self_pay_cut = sql_round(f"greatest(0, self_pay - total_cost * {policy.self_pay_cap_ratio})", 2)
    return surplus_cut, self_pay_cut


def annual_base(con: Engine, policy: DrgPolicy, drg_budget: Decimal, sfx: str = "") -> Decimal:
    """``hospital_year<sfx>`` and ``annual_base<sfx>`` (entitlement before the caps) from
    ``case_calc<sfx>``, ``monthly_payments<sfx>`` and ``deductions<sfx>`` with the budget
    ``drg_budget`` (the DRG budget, or one scheme's with per-scheme point values). Returns the
    year point value (第十九条(一))."""
    con.execute(
        f"""
        CREATE TABLE hospital_year{sfx} AS
        WITH c AS (
            SELECT hospital_id, count(*)::BIGINT AS cases,
                   sum(final_points)::DECIMAL(38,8) AS final_points,
                   sum(total_cost)::DECIMAL(38,2) AS total_cost,
                   sum(fund_paid)::DECIMAL(38,2) AS fund_paid,
                   sum(total_cost - fund_paid)::DECIMAL(38,2) AS non_fund,
                   sum(self_pay)::DECIMAL(38,2) AS self_pay
            FROM case_calc{sfx} GROUP BY hospital_id
        ), m AS (
            SELECT hospital_id, sum(amount)::DECIMAL(38,2) AS monthly_paid,
                   sum(withheld)::DECIMAL(38,2) AS withheld
            FROM monthly_payments{sfx} GROUP BY hospital_id
        ), d AS (  -- every deduction of the year, taken monthly or waiting for the year end
            SELECT hospital_id, sum(amount)::DECIMAL(38,2) AS audit_deductions,
                   sum(points)::DECIMAL(38,8) AS deducted_points
            FROM deductions{sfx} GROUP BY hospital_id
        )
        SELECT h.hospital_id, coalesce(c.cases, 0) AS cases,
               coalesce(c.final_points, 0)::DECIMAL(38,8) AS final_points,
               coalesce(d.deducted_points, 0)::DECIMAL(38,8) AS deducted_points,
               (coalesce(c.final_points, 0) - coalesce(d.deducted_points, 0))::DECIMAL(38,8) AS year_points,
               coalesce(c.total_cost, 0)::DECIMAL(38,2) AS total_cost,
               coalesce(c.fund_paid, 0)::DECIMAL(38,2) AS fund_paid,
               coalesce(c.non_fund, 0)::DECIMAL(38,2) AS patient_cash,
               coalesce(c.self_pay, 0)::DECIMAL(38,2) AS self_pay,
               m.monthly_paid, coalesce(d.audit_deductions, 0)::DECIMAL(38,2) AS audit_deductions, m.withheld,
               coalesce(a.coefficient, 1)::DECIMAL(38,8) AS assessment_coefficient
        FROM hospitals h
        LEFT JOIN c USING (hospital_id)
        JOIN m USING (hospital_id)
        LEFT JOIN d USING (hospital_id)
        LEFT JOIN assessment a USING (hospital_id)
        """
    )
    total_cost, fund_paid, year_points = con.execute(
        f"SELECT sum(total_cost), sum(fund_paid), sum(year_points) FROM hospital_year{sfx}"
    ).fetchone() or (ZERO, ZERO, ZERO)
    year_value = point_value.year_point_value(
        Decimal(total_cost or 0), Decimal(fund_paid or 0), drg_budget, Decimal(year_points or 0)
    )
    if policy.year_end_method == "point_value":
        entitlement = sql_round(f"year_points * {year_value} * assessment_coefficient", 2)
        con.execute(
            f"CREATE TABLE annual_base{sfx} AS SELECT *, NULL::DECIMAL(38,2) AS incentive, "
            f"{entitlement} AS entitlement FROM hospital_year{sfx}"
        )
    else:
        incentive_pool(con, year_value, sfx)
    return year_value


def incentive_pool(con: Engine, year_value: Decimal, sfx: str = "") -> None:
    """000 篇5 三(四)3: settle the year on final points, then share the 激励机制基金池.

    The year is settled like 贵港's (第十九条): ``round_fen(year points × year point value)``, so
    approved extra points, whole-group points held back in the months and cases grouped at the
    year end are paid to their hospital. The money withheld each month (the pool) is then shared
    by withheld × 鼓励系数 (largest remainder) instead of being returned as withheld:
    entitlement = round_fen(year points × year point value) − withheld + incentive. With
    per-scheme point values (``sfx``) each scheme's pool is shared among that scheme's hospitals.
    """
    rows = con.execute(
        f"SELECT hospital_id, withheld, assessment_coefficient FROM hospital_year{sfx} ORDER BY hospital_id"
    ).fetchall()
    pool = sum((Decimal(r[1]) for r in rows), ZERO)
    weights = [max(ZERO, Decimal(r[1])) * Decimal(r[2]) for r in rows]
    if rows and sum(weights, ZERO) > 0:
        shares = split_largest_remainder(pool, weights, scale=2)
    else:
        shares = [ZERO] * len(rows)
    con.register(
        f"incentives{sfx}",
        pa.table(
            {"hospital_id": [r[0] for r in rows], "incentive": shares},
            schema=pa.schema([("hospital_id", pa.string()), ("incentive", pa.decimal128(38, 2))]),
        ),
    )
    con.execute(
        f"""
        CREATE TABLE annual_base{sfx} AS
        SELECT y.*, i.incentive,
               ({sql_round(f"y.year_points * {year_value}", 2)} - y.withheld + i.incentive)::DECIMAL(38,2)
                   AS entitlement
        FROM hospital_year{sfx} y JOIN incentives{sfx} i USING (hospital_id)
        """
    )
