"""DRG settlement (DRG点数法结算): composes the rules into one year's run for a pooling region.

``settle(inputs, policy)`` validates the inputs, then runs, in one in-memory DuckDB
connection: reference statistics and standards (第十、十一、十三、十五条), case classes and
points (第十一、十四、十六条), monthly point values and prepayments (第十八条), and the year-end
settlement (第十九条, or 篇5's incentive pool). It returns Arrow tables in a documented total
order, so equal inputs give byte-identical outputs, with warnings and invariant checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

import pyarrow as pa

from shidian.dialect import DuckDBEngine, Engine
from shidian.drg import (
    advance,
    checks,
    package,
    point_value,
    points,
    reference,
    scheme_values,
    schemes,
    year_end,
)
from shidian.drg.fund_budget import SCHEMES
from shidian.drg.model import (
    ASSESSMENT_SCHEMA,
    DEDUCTIONS_SCHEMA,
    REGROUPED_SCHEMA,
    DrgInputs,
    SettlementResult,
)
from shidian.drg.policy import DrgPolicy
from shidian.drg.validate import validate_inputs
from shidian.money import ZERO
from shidian.problems import Problem, Source, has_errors

Progress = Callable[[str], None]


def settle(
    inputs: DrgInputs, policy: DrgPolicy, progress: Progress | None = None, engine: Engine | None = None
) -> tuple[SettlementResult | None, list[Problem]]:
    """Settle one year. Returns (None, problems) when the inputs have any error.

    ``engine``: where the SQL runs (``shidian.dialect``): an in-memory DuckDB by default, or a
    ``SparkEngine``; the same rules give the same tables on both (issue 21).
    """
    step = progress or (lambda _label: None)
    step("校验输入 validating inputs")
    problems = validate_inputs(inputs)
    if has_errors(problems):
        return None, problems
    con = engine if engine is not None else DuckDBEngine()
    try:
        _register_inputs(con, inputs)
        step("病组标准与差异系数 reference statistics")
        reference.build_reference(con, inputs.reference is not None)
        reference.build_standards(con, policy)
        reference.build_coefficients(con, policy)
        step("病例分类与点数 case points")
        points.build_case_points(con, policy, inputs.params.year)
        step("月度点值与预拨 monthly prepayment")
        plan, plan_problems = scheme_values.plan(con, inputs, policy)
        problems = problems + plan_problems
        if has_errors(plan_problems):
            return None, problems
        year_values: dict[str, Decimal] = {}
        if plan is None:  # one point value (联合点值, 第六条 read literally)
            monthly = point_value.monthly_point_values(con, inputs.params, policy)
            con.register("monthly", monthly)
            point_value.build_monthly_payments(con, policy, inputs.params.year)
            step("年终清算 year-end settlement")
            year_value: Decimal | None = year_end.build_annual(con, inputs.params.drg_budget, policy)
            payment_order = "hospital_id, month"
        else:  # each scheme's budget over its own cases' points (分险种点值)
            problems = problems + scheme_values.idle_budgets(con, inputs, plan)
            monthly, year_values = scheme_values.settle_schemes(con, inputs, policy, plan)
            year_value, payment_order = None, "hospital_id, month, scheme"
        step("自检 invariant checks")
        if not schemes.has_schemes(con):
            by_scheme = None
        elif year_value is not None:
            by_scheme = schemes.scheme_payments(con, year_value)
        else:
            by_scheme = scheme_values.scheme_payments(con)
        packages = package.build_packages(con) if package.has_packages(con) else None
        advances = advance.build_advances(con, policy.advance_months) if inputs.advances is not None else None
        # registering a table needs no unfinished result: the scheme checks first (checks use fetchone)
        later = [schemes.scheme_check(con, by_scheme)] if by_scheme is not None else []
        if plan is not None:
            later = scheme_values.scheme_checks(con, inputs.params, policy, plan, year_values) + later
        found_checks = (
            checks.run_checks(con, inputs.params, policy, year_value or ZERO, joint=plan is None) + later
        )
        result = SettlementResult(
            case_points=_case_points(con, by_scheme is not None),
            monthly=monthly,
            monthly_payments=con.arrow(f"SELECT * FROM monthly_payments ORDER BY {payment_order}"),
            annual=con.arrow("SELECT * FROM annual ORDER BY hospital_id"),
            standards=con.arrow("SELECT * FROM standards ORDER BY drg_code"),
            coefficients=con.arrow("SELECT * FROM coefficients ORDER BY drg_code, level"),
            warnings=tuple(problems + _warnings(con, monthly, inputs, policy)),
            checks=tuple(found_checks),
            totals=_totals(con, inputs, year_value),
            scheme_payments=by_scheme,
            advances=advances,
            packages=packages,
        )
        if advances is not None:
            result = replace(result, totals={**result.totals, **_advance_totals(advances)})
        if by_scheme is not None:
            budgets = scheme_values.scheme_budgets(inputs.params)
            totals = schemes.scheme_totals(by_scheme, budgets, year_values)
            result = replace(result, totals={**result.totals, **totals})
    finally:
        con.close()
    return result, problems


def _with_column(table: pa.Table, name: str, kind: pa.DataType) -> pa.Table:
    """``table`` with an optional column added as all-null when its source did not have it."""
    if name in table.column_names:
        return table
    return table.append_column(name, pa.nulls(table.num_rows, kind))


def _register_inputs(con: Engine, inputs: DrgInputs) -> None:
    cases = _with_column(_with_column(inputs.cases, "review_date", pa.date32()), "scheme", pa.string())
    con.register("cases", cases)
    con.register(
        "regrouped", inputs.regrouped if inputs.regrouped is not None else REGROUPED_SCHEMA.empty_table()
    )
    con.register("hospitals", _with_column(inputs.hospitals, "package_to", pa.string()))
    con.register("groups", inputs.groups)
    if inputs.reference is not None:
        con.register("reference", inputs.reference)
    con.register(
        "assessment", inputs.assessment if inputs.assessment is not None else ASSESSMENT_SCHEMA.empty_table()
    )
    deductions = inputs.deductions if inputs.deductions is not None else DEDUCTIONS_SCHEMA.empty_table()
    con.register(
        "deductions", _with_column(_with_column(deductions, "audit_date", pa.date32()), "scheme", pa.string())
    )
    if inputs.advances is not None:
        con.register("advances", _with_column(inputs.advances, "previous_advance", pa.decimal128(18, 2)))


def _advance_totals(table: pa.Table) -> dict[str, str]:
    """The annual advance's sums (000 篇6 第十七条) for run.json."""
    return {
        f"advance.{name}": str(sum((v for v in table.column(name).to_pylist()), ZERO))
        for name in ("advance", "january_payment", "next_advance", "next_true_up")
    }


def _case_points(con: Engine, with_scheme: bool = False) -> pa.Table:
    """One row per case, by case id (the documented order of case_points.csv); with the case's
    scheme (``scheme``, 000 篇6 第六条) when the cases carry one."""
    scheme = f", {schemes.scheme_sql('k.scheme')} AS scheme" if with_scheme else ""
    source = "case_calc c JOIN cases k USING (case_id)" if with_scheme else "case_calc c"
    return con.arrow(
        f"""
            SELECT c.case_id, c.hospital_id, c.month, c.drg_code, c.category, c.base_points, c.coefficient,
                   c.prepay_points, c.final_points, c.level, c.cost, c.unreasonable_cost, c.extra_points,
                   c.review_approved::TINYINT AS review_approved, c.new_technology::TINYINT AS new_technology,
                   c.year_end_grouping::TINYINT AS year_end_grouping, c.review_pay_month{scheme}
            FROM {source} ORDER BY c.case_id
        """
    )


def _timing_warnings(con: Engine, inputs: DrgInputs, policy: DrgPolicy) -> list[Problem]:
    """When money waits for the year end (第十八条(一)5, (四)), and why."""
    found: list[Problem] = []
    held, regrouped, whole = con.execute(
        """
        SELECT count(*), count(*) FILTER (WHERE category <> 'whole_group'),
               count(*) FILTER (WHERE category = 'whole_group')
        FROM case_calc WHERE year_end_grouping
        """
    ).fetchone() or (0, 0, 0)
    ids = _first_ids(
        con, "SELECT case_id FROM case_calc WHERE year_end_grouping AND category = 'whole_group'", whole
    )
    if held:
        found.append(
            Problem(
                "drg.case.year_end_grouping",
                f"{held} 例病案未能入组, 归于年底入组、清算时拨付, 不预拨、不计入月度总点数 (000 篇6 第十八条(一)5); "
                f"其中 {regrouped} 例已补录DRG编码按病组结算"
                + (f", 其余按整组单议结算: {ids}" if ids else ""),
                Source(inputs.source("cases"), column="drg_code"),
                "warning",
                {"cases": str(held), "regrouped": str(regrouped)},
            )
        )
    if policy.review_month_after_approval:
        undated = """
            SELECT case_id FROM case_calc
            WHERE extra_points > 0 AND NOT year_end_grouping AND review_date IS NULL
        """
        (count,) = con.execute(f"SELECT count(*) FROM ({undated}) u").fetchone() or (0,)
        ids = _first_ids(con, undated, count)
        if count:
            found.append(
                Problem(
                    "drg.review.no_date",
                    f"{count} 例特病单议核准病例无核准日期 (review_date), 追加点数于年终清算时拨付, "
                    f"而非评审确认次月 (000 篇6 第十八条(四)): {ids}",
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


def _ignored_inputs(con: Engine, inputs: DrgInputs, policy: DrgPolicy) -> list[Problem]:
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
    if policy.scheme_point_value != "per_scheme":
        (named,) = con.execute("SELECT count(scheme) FROM deductions").fetchone() or (0,)
        if named:  # the hospital's deductions: joint point values (000 篇6 第六条)
            ignored.append(("deductions", "scheme", "schemes.point_value"))
    return [
        Problem(
            "drg.input.ignored",
            f"政策参数 {switch} 为 {'joint' if switch == 'schemes.point_value' else 'false'}, 本次结算不使用 "
            f"{column} (按该参数{'为联合点值' if switch == 'schemes.point_value' else '关闭'}时的规则结算)",
            Source(inputs.source(table), column=column),
            "warning",
        )
        for table, column, switch in ignored
    ]


def _first_ids(con: Engine, query: str, count: int, limit: int = 20) -> str:
    """The first ``limit`` case ids of ``query`` (a SELECT of case_id), by id, and the count of the rest."""
    if not count:
        return ""
    rows = con.execute(f"SELECT case_id FROM ({query}) q ORDER BY case_id LIMIT {limit}").fetchall()
    return ", ".join(str(r[0]) for r in rows) + (f" … (共 {count} 例)" if count > limit else "")


def _warnings(con: Engine, monthly: pa.Table, inputs: DrgInputs, policy: DrgPolicy) -> list[Problem]:
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
    schemes_of = (
        monthly.column("scheme").to_pylist()
        if "scheme" in monthly.column_names
        else [None] * monthly.num_rows
    )
    for scheme, month, points_total in zip(
        schemes_of,
        monthly.column("month").to_pylist(),
        monthly.column("total_points").to_pylist(),
        strict=True,
    ):
        if points_total == 0:
            found.append(
                Problem(
                    "drg.month.no_cases",
                    f"{_scheme_label(scheme)}{month}月无出院病例, 当月点值为0, 月度预算留待年终清算",
                    Source("<run>", key=f"monthly.{scheme}.{month}" if scheme else f"monthly.{month}"),
                    "warning",
                )
            )
    by_scheme = "scheme" in monthly.column_names
    negative = (
        "SELECT hospital_id, month, scheme, amount FROM monthly_payments WHERE amount < 0 "
        "ORDER BY hospital_id, month, scheme"
        if by_scheme
        else "SELECT hospital_id, month, NULL, amount FROM monthly_payments WHERE amount < 0 ORDER BY hospital_id, month"
    )
    for hospital_id, month, scheme, amount in con.execute(negative).fetchall():
        found.append(
            Problem(
                "drg.payment.negative_month",
                f"医疗机构 {hospital_id} {month}月{_scheme_label(scheme, ' ')}预拨金额为负 ({amount} 元): "
                "患者现金或扣款超过点数价值",
                Source(
                    "<run>", key=f"monthly_payments.{hospital_id}.{month}" + (f".{scheme}" if scheme else "")
                ),
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


def _scheme_label(scheme: object, before: str = "") -> str:
    """``职工医保`` etc. for a month of one scheme's point value (分险种点值), else nothing."""
    return f"{before}{SCHEMES[str(scheme)]} " if scheme else ""


def _totals(con: Engine, inputs: DrgInputs, year_value: Decimal | None) -> dict[str, str]:
    """run.json's totals; ``year_value`` None: each scheme has its own (``scheme.<s>.year_point_value``)."""
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
            # one year point value, or each scheme its own (scheme.<s>.year_point_value, 第六条)
            **(
                {"year_point_value": str(year_value)}
                if year_value is not None
                else {"scheme_point_value": "per_scheme"}
            ),
            "entitlement": str(annual[0]),
            "monthly_paid": str(annual[1]),
            "settlement": str(annual[2]),
            "surplus_cut": str(annual[3]),
            "self_pay_cut": str(annual[4]),
        }
    )
    return totals
