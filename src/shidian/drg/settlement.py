"""DRG settlement (DRG点数法结算): composes the rules into one year's run for a pooling region.

``settle(inputs, policy)`` validates the inputs, then runs, in one in-memory DuckDB
connection: reference statistics and standards (第十、十一、十三、十五条), case classes and
points (第十一、十四、十六条), monthly point values and prepayments (第十八条), and the year-end
settlement (第十九条, or 篇5's incentive pool). It returns Arrow tables in a documented total
order, so equal inputs give byte-identical outputs, with warnings and invariant checks.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import duckdb
import pyarrow as pa

from shidian.drg import checks, point_value, points, reference
from shidian.drg.model import (
    ASSESSMENT_SCHEMA,
    DEDUCTIONS_SCHEMA,
    REGROUPED_SCHEMA,
    DrgInputs,
    SettlementResult,
)
from shidian.drg.policy import DrgPolicy
from shidian.drg.validate import validate_inputs
from shidian.money import ZERO, split_largest_remainder, sql_round
from shidian.problems import Problem, Source, has_errors

Progress = Callable[[str], None]


def settle(
    inputs: DrgInputs, policy: DrgPolicy, progress: Progress | None = None
) -> tuple[SettlementResult | None, list[Problem]]:
    """Settle one year. Returns (None, problems) when the inputs have any error."""
    step = progress or (lambda _label: None)
    step("校验输入 validating inputs")
    problems = validate_inputs(inputs)
    if has_errors(problems):
        return None, problems
    con = duckdb.connect(":memory:")
    try:
        _register_inputs(con, inputs)
        step("病组标准与差异系数 reference statistics")
        reference.build_reference(con, inputs.reference is not None)
        reference.build_standards(con, policy)
        reference.build_coefficients(con, policy)
        step("病例分类与点数 case points")
        points.build_case_points(con, policy, inputs.params.year)
        step("月度点值与预拨 monthly prepayment")
        monthly = point_value.monthly_point_values(con, inputs.params, policy)
        con.register("monthly", monthly)
        point_value.build_monthly_payments(con, policy, inputs.params.year)
        step("年终清算 year-end settlement")
        year_value = _build_annual(con, inputs, policy)
        step("自检 invariant checks")
        result = SettlementResult(
            case_points=_case_points(con),
            monthly=monthly,
            monthly_payments=con.sql(
                "SELECT * FROM monthly_payments ORDER BY hospital_id, month"
            ).to_arrow_table(),
            annual=con.sql("SELECT * FROM annual ORDER BY hospital_id").to_arrow_table(),
            standards=con.sql("SELECT * FROM standards ORDER BY drg_code").to_arrow_table(),
            coefficients=con.sql("SELECT * FROM coefficients ORDER BY drg_code, level").to_arrow_table(),
            warnings=tuple(problems + _warnings(con, monthly, inputs, policy)),
            checks=tuple(checks.run_checks(con, inputs.params, policy, year_value)),
            totals=_totals(con, inputs, year_value),
        )
    finally:
        con.close()
    return result, problems


def _with_column(table: pa.Table, name: str, kind: pa.DataType) -> pa.Table:
    """``table`` with an optional column added as all-null when its source did not have it."""
    if name in table.column_names:
        return table
    return table.append_column(name, pa.nulls(table.num_rows, kind))


def _register_inputs(con: duckdb.DuckDBPyConnection, inputs: DrgInputs) -> None:
    con.register("cases", _with_column(inputs.cases, "review_date", pa.date32()))
    con.register(
        "regrouped", inputs.regrouped if inputs.regrouped is not None else REGROUPED_SCHEMA.empty_table()
    )
    con.register("hospitals", inputs.hospitals)
    con.register("groups", inputs.groups)
    if inputs.reference is not None:
        con.register("reference", inputs.reference)
    con.register(
        "assessment", inputs.assessment if inputs.assessment is not None else ASSESSMENT_SCHEMA.empty_table()
    )
    deductions = inputs.deductions if inputs.deductions is not None else DEDUCTIONS_SCHEMA.empty_table()
    con.register("deductions", _with_column(deductions, "audit_date", pa.date32()))


def _build_annual(con: duckdb.DuckDBPyConnection, inputs: DrgInputs, policy: DrgPolicy) -> Decimal:
    """``annual``: the year-end settlement per hospital (第十九条 / 篇5 激励基金池).

    Returns the year point value.
    """
    con.execute(
        """
        CREATE TABLE hospital_year AS
        WITH c AS (
            SELECT hospital_id, count(*)::BIGINT AS cases,
                   sum(final_points)::DECIMAL(38,8) AS final_points,
                   sum(total_cost)::DECIMAL(38,2) AS total_cost,
                   sum(fund_paid)::DECIMAL(38,2) AS fund_paid,
                   sum(total_cost - fund_paid)::DECIMAL(38,2) AS non_fund,
                   sum(self_pay)::DECIMAL(38,2) AS self_pay
            FROM case_calc GROUP BY hospital_id
        ), m AS (
            SELECT hospital_id, sum(amount)::DECIMAL(38,2) AS monthly_paid,
                   sum(withheld)::DECIMAL(38,2) AS withheld
            FROM monthly_payments GROUP BY hospital_id
        ), d AS (  -- every deduction of the year, taken monthly or waiting for the year end
            SELECT hospital_id, sum(amount)::DECIMAL(38,2) AS audit_deductions,
                   sum(points)::DECIMAL(38,8) AS deducted_points
            FROM deductions GROUP BY hospital_id
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
        "SELECT sum(total_cost), sum(fund_paid), sum(year_points) FROM hospital_year"
    ).fetchone() or (ZERO, ZERO, ZERO)
    year_value = point_value.year_point_value(
        Decimal(total_cost or 0), Decimal(fund_paid or 0), inputs.params.drg_budget, Decimal(year_points or 0)
    )
    if policy.year_end_method == "point_value":
        entitlement = sql_round(f"year_points * {year_value} * assessment_coefficient", 2)
        con.execute(
            f"CREATE TABLE annual_base AS SELECT *, NULL::DECIMAL(38,2) AS incentive, {entitlement} AS entitlement "
            "FROM hospital_year"
        )
    else:
        _incentive_pool(con, year_value)
    surplus_cut, self_pay_cut = "0", "0"
    if policy.apply_caps:
        surplus_cut = sql_round(
            f"greatest(0, entitlement - total_cost - total_cost * {policy.surplus_cap_ratio})", 2
        )
        self_pay_cut = sql_round(f"greatest(0, self_pay - total_cost * {policy.self_pay_cap_ratio})", 2)
    con.execute(
        f"""
        CREATE TABLE annual AS
        WITH cuts AS (
            SELECT *, CAST({year_value} AS DECIMAL(38,8)) AS year_point_value,
                   ({surplus_cut})::DECIMAL(38,2) AS surplus_cut,
                   ({self_pay_cut})::DECIMAL(38,2) AS self_pay_cut
            FROM annual_base
        )
        SELECT hospital_id, year_points, year_point_value, assessment_coefficient, entitlement,
               surplus_cut, self_pay_cut, patient_cash, monthly_paid,
               (entitlement - surplus_cut - self_pay_cut - patient_cash - monthly_paid - audit_deductions)
                   ::DECIMAL(38,2) AS settlement,
               audit_deductions, cases, final_points, deducted_points, total_cost, fund_paid, self_pay,
               withheld, incentive
        FROM cuts
        """
    )
    return year_value


def _incentive_pool(con: duckdb.DuckDBPyConnection, year_value: Decimal) -> None:
    """000 篇5 三(四)3: settle the year on final points, then share the 激励机制基金池.

    The year is settled like 贵港's (第十九条): ``round_fen(year points × year point value)``, so
    approved extra points, whole-group points held back in the months and cases grouped at the
    year end are paid to their hospital. The money withheld each month (the pool) is then shared
    by withheld × 鼓励系数 (largest remainder) instead of being returned as withheld:
    entitlement = round_fen(year points × year point value) − withheld + incentive.
    """
    rows = con.execute(
        "SELECT hospital_id, withheld, assessment_coefficient FROM hospital_year ORDER BY hospital_id"
    ).fetchall()
    pool = sum((Decimal(r[1]) for r in rows), ZERO)
    weights = [max(ZERO, Decimal(r[1])) * Decimal(r[2]) for r in rows]
    if rows and sum(weights, ZERO) > 0:
        shares = split_largest_remainder(pool, weights, scale=2)
    else:
        shares = [ZERO] * len(rows)
    con.register(
        "incentives",
        pa.table(
            {"hospital_id": [r[0] for r in rows], "incentive": shares},
            schema=pa.schema([("hospital_id", pa.string()), ("incentive", pa.decimal128(38, 2))]),
        ),
    )
    con.execute(
        f"""
        CREATE TABLE annual_base AS
        SELECT y.*, i.incentive,
               ({sql_round(f"y.year_points * {year_value}", 2)} - y.withheld + i.incentive)::DECIMAL(38,2)
                   AS entitlement
        FROM hospital_year y JOIN incentives i USING (hospital_id)
        """
    )


def _case_points(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """One row per case, by case id (the documented order of case_points.csv)."""
    return con.sql(
        """
            SELECT case_id, hospital_id, month, drg_code, category, base_points, coefficient,
                   prepay_points, final_points, level, cost, unreasonable_cost, extra_points,
                   review_approved::TINYINT AS review_approved, new_technology::TINYINT AS new_technology,
                   year_end_grouping::TINYINT AS year_end_grouping, review_pay_month
            FROM case_calc ORDER BY case_id
        """
    ).to_arrow_table()


def _timing_warnings(con: duckdb.DuckDBPyConnection, inputs: DrgInputs, policy: DrgPolicy) -> list[Problem]:
    """When money waits for the year end (第十八条(一)5, (四)), and why."""
    found: list[Problem] = []
    held, regrouped, ids = con.execute(
        """
        SELECT count(*), count(*) FILTER (WHERE category <> 'whole_group'),
               string_agg(case_id, ', ' ORDER BY case_id) FILTER (WHERE category = 'whole_group')
        FROM case_calc WHERE year_end_grouping
        """
    ).fetchone() or (0, 0, None)
    if held:
        found.append(
            Problem(
                "drg.case.year_end_grouping",
                f"{held} 例病案未能入组, 归于年底入组、清算时拨付, 不预拨、不计入月度总点数 (000 篇6 第十八条(一)5); "
                f"其中 {regrouped} 例已补录DRG编码按病组结算"
                + (f", 其余按整组单议结算: {_first(ids)}" if ids else ""),
                Source(inputs.source("cases"), column="drg_code"),
                "warning",
                {"cases": str(held), "regrouped": str(regrouped)},
            )
        )
    if policy.review_month_after_approval:
        (count, ids) = con.execute(
            """
            SELECT count(*), string_agg(c.case_id, ', ' ORDER BY c.case_id)
            FROM case_calc c JOIN cases_in i USING (case_id)
            WHERE c.extra_points > 0 AND NOT c.year_end_grouping AND i.review_date IS NULL
            """
        ).fetchone() or (0, None)
        if count:
            found.append(
                Problem(
                    "drg.review.no_date",
                    f"{count} 例特病单议核准病例无核准日期 (review_date), 追加点数于年终清算时拨付, "
                    f"而非评审确认次月 (000 篇6 第十八条(四)): {_first(ids)}",
                    Source(inputs.source("cases"), column="review_date"),
                    "warning",
                    {"cases": str(count)},
                )
            )
    if policy.deduction_month_after_audit:
        (count,) = con.execute("SELECT count(*) FROM deductions WHERE audit_date IS NULL").fetchone() or (0,)
        if count:
            found.append(
                Problem(
                    "drg.deduction.no_date",
                    f"{count} 条审核扣款无审核日期 (audit_date), 于扣款所属月份扣减, 而非审核次月 (000 篇6 第十八条(四))",
                    Source(inputs.source("deductions"), column="audit_date"),
                    "warning",
                    {"rows": str(count)},
                )
            )
    found += _ignored_inputs(con, inputs, policy)
    return found


def _ignored_inputs(con: duckdb.DuckDBPyConnection, inputs: DrgInputs, policy: DrgPolicy) -> list[Problem]:
    """An input that a switched-off rule does not read is named, so nothing is ignored without a word."""
    ignored: list[tuple[str, str, str]] = []
    if not policy.ungroupable_at_year_end and inputs.regrouped is not None and inputs.regrouped.num_rows:
        ignored.append(("year_end_groups", "drg_code", "prepayment.ungroupable_at_year_end"))
    if not policy.review_month_after_approval:
        (dated,) = con.execute("SELECT count(review_date) FROM cases_in").fetchone() or (0,)
        if dated:
            ignored.append(("cases", "review_date", "prepayment.review_month_after_approval"))
    if not policy.deduction_month_after_audit:
        (dated,) = con.execute("SELECT count(audit_date) FROM deductions").fetchone() or (0,)
        if dated:
            ignored.append(("deductions", "audit_date", "prepayment.deduction_month_after_audit"))
    return [
        Problem(
            "drg.input.ignored",
            f"政策参数 {switch} 为 false, 本次结算不使用 {column} (按该参数关闭时的规则结算)",
            Source(inputs.source(table), column=column),
            "warning",
        )
        for table, column, switch in ignored
    ]


def _first(ids: str | None, limit: int = 20) -> str:
    parts = (ids or "").split(", ")
    return ", ".join(parts[:limit]) + (f" … (共 {len(parts)} 例)" if len(parts) > limit else "")


def _warnings(
    con: duckdb.DuckDBPyConnection, monthly: pa.Table, inputs: DrgInputs, policy: DrgPolicy
) -> list[Problem]:
    found: list[Problem] = _timing_warnings(con, inputs, policy)
    for drg_code, level, lower, higher_level, higher in reference.level_inversions(con):
        found.append(
            Problem(
                "drg.coefficient.level_inversion",
                f"病组 {drg_code}: {level}级医疗机构差异系数 {lower} 高于 {higher_level}级的 {higher}, "
                "须由医保经办机构组织专家讨论确定 (000 篇6 第十三条(一))",
                Source("<run>", key=f"coefficients.{drg_code}.{level}"),
                "warning",
                {"drg_code": drg_code, "level": str(level)},
            )
        )
    for month, points_total in zip(
        monthly.column("month").to_pylist(), monthly.column("total_points").to_pylist(), strict=True
    ):
        if points_total == 0:
            found.append(
                Problem(
                    "drg.month.no_cases",
                    f"{month}月无出院病例, 当月点值为0, 月度预算留待年终清算",
                    Source("<run>", key=f"monthly.{month}"),
                    "warning",
                )
            )
    for hospital_id, month, amount in con.execute(
        "SELECT hospital_id, month, amount FROM monthly_payments WHERE amount < 0 ORDER BY hospital_id, month"
    ).fetchall():
        found.append(
            Problem(
                "drg.payment.negative_month",
                f"医疗机构 {hospital_id} {month}月预拨金额为负 ({amount} 元): 患者现金或扣款超过点数价值",
                Source("<run>", key=f"monthly_payments.{hospital_id}.{month}"),
                "warning",
            )
        )
    for hospital_id, surplus_cut, self_pay_cut in con.execute(
        "SELECT hospital_id, surplus_cut, self_pay_cut FROM annual "
        "WHERE surplus_cut > 0 OR self_pay_cut > 0 ORDER BY hospital_id"
    ).fetchall():
        found.append(
            Problem(
                "drg.annual.cap_applied",
                f"医疗机构 {hospital_id}: 结余超限扣减 {surplus_cut} 元, 自费超限扣减 {self_pay_cut} 元 (000 篇6 第十九条(三))",
                Source("<run>", key=f"annual.{hospital_id}"),
                "warning",
            )
        )
    return found


def _totals(con: duckdb.DuckDBPyConnection, inputs: DrgInputs, year_value: Decimal) -> dict[str, str]:
    row = con.execute(
        """
        SELECT count(*), sum(total_cost), sum(fund_paid), sum(final_points),
               count(*) FILTER (WHERE category = 'normal'), count(*) FILTER (WHERE category = 'high'),
               count(*) FILTER (WHERE category = 'low'), count(*) FILTER (WHERE category = 'whole_group'),
               count(*) FILTER (WHERE year_end_grouping)
        FROM case_calc
        """
    ).fetchone()
    annual = con.execute(
        "SELECT sum(entitlement), sum(monthly_paid), sum(settlement), sum(surplus_cut), sum(self_pay_cut) FROM annual"
    ).fetchone()
    assert row is not None and annual is not None
    names = (
        "cases",
        "total_cost",
        "fund_paid",
        "final_points",
        "normal",
        "high",
        "low",
        "whole_group",
        "year_end_grouping",
    )
    totals = {k: str(v) for k, v in zip(names, row, strict=True)}
    n_all, sum_all = con.execute("SELECT n_all, sum_all FROM all_stats").fetchone() or (0, 0)
    totals.update({"reference_cases": str(n_all), "reference_cost": str(sum_all)})
    totals.update(
        {
            "year": str(inputs.params.year),
            "drg_budget": str(inputs.params.drg_budget),
            # 000 篇6 第六条: derived from the schemes' fund budgets (drg_budget.csv) or given
            "drg_budget_source": "fund" if inputs.params.budget_lines else "given",
            "year_point_value": str(year_value),
            "entitlement": str(annual[0]),
            "monthly_paid": str(annual[1]),
            "settlement": str(annual[2]),
            "surplus_cut": str(annual[3]),
            "self_pay_cut": str(annual[4]),
        }
    )
    return totals
