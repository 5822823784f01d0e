"""Per-scheme point values (分险种点值), 000 篇6 第六条 read per scheme.

"职工医保和居民医保的基金分别纳入DRG总额预算". Read literally (the default, ``schemes.point_value =
"joint"``) both funds enter one DRG budget settled with one monthly and one year point value
(``shidian.drg.schemes`` then charges each hospital's payments to the funds). With
``"per_scheme"`` each scheme's DRG budget (``[fund_budget.<scheme>]``, 第六条(一)(二)) is divided
by the points of its own cases:

* month (第十八条(二)(三)): the scheme's budget split by the monthly shares (largest remainder);
  本险种月度点值 = 本险种月度预算 ÷ 本险种病例月度预拨总点数; each hospital's prepayment is computed
  per scheme from its cases of that scheme, rounded per scheme, and its month is the sum;
* year (第十九条(一)): 本险种年度点值 = (本险种住院总费用 − 本险种统筹基金费用 + 本险种DRG预算) ÷
  本险种年度总点数; each hospital's entitlement per scheme (and, for 篇5's incentive pool, each
  scheme's pool among that scheme's hospitals);
* the caps (第十九条(三)) are the hospital's: computed on its summed entitlement and total cost,
  then shared among its schemes by largest remainder (the surplus cut by entitlement, the
  self-pay cut by self-pay), so each fund's charge is exact to the fen;
* deductions (扣除点数, 审核扣款) name the scheme of the case they concern (``deductions.scheme``).

Every step is the joint step of ``point_value`` and ``year_end`` run on one scheme's tables
(``case_calc_<scheme>``, ``deductions_<scheme>``, ``monthly_<scheme>``, …): columnar SQL, one
pass per scheme. Without a ``scheme`` column on the cases there is one scheme and the joint
settlement runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal

import pyarrow as pa

from shidian.dialect import Engine
from shidian.drg import checks, point_value, year_end
from shidian.drg.fund_budget import SCHEMES
from shidian.drg.model import DrgInputs, SettlementParams
from shidian.drg.policy import DrgPolicy
from shidian.drg.schemes import SCHEME_PAYMENTS_SCHEMA, has_schemes, scheme_sql
from shidian.money import ONE, ZERO, split_largest_remainder
from shidian.problems import Problem, Source
from shidian.runs import Check

ARTICLE = "000 篇6 第六条"
PER_SCHEME = "per_scheme"
_LIMIT = 20  # problems listed per kind


def scheme_budgets(params: SettlementParams) -> dict[str, Decimal]:
    """Each scheme's DRG budget from the build-up (empty when ``drg_budget`` was given)."""
    return {
        scheme: amount
        for scheme, item, _, amount, _ in params.budget_lines
        if item == "drg_budget" and scheme != "total"
    }


def plan(
    con: Engine, inputs: DrgInputs, policy: DrgPolicy
) -> tuple[dict[str, Decimal] | None, list[Problem]]:
    """The schemes settled each with its own point value and their budgets, in the article's
    order, or None when one point value applies (the policy's ``joint``, or cases without a
    scheme: a warning); and the errors that stop a per-scheme settlement (requires ``cases``,
    ``deductions``)."""
    if policy.scheme_point_value != PER_SCHEME:
        return None, []
    if not has_schemes(con):
        return None, [
            Problem(
                "drg.scheme.single",
                "政策按险种分别计算点值 (schemes.point_value = per_scheme), 但病例未注明险种: "
                "按一个险种结算, 即联合点值 (000 篇6 第六条)",
                Source(inputs.source("cases"), column="scheme"),
                "warning",
            )
        ]
    problems: list[Problem] = []
    budgets = scheme_budgets(inputs.params)
    settlement = inputs.source("settlement")
    present = {
        str(s) for (s,) in con.execute(f"SELECT DISTINCT {scheme_sql('scheme')} FROM cases").fetchall() if s
    }
    if not budgets:
        problems.append(
            Problem(
                "drg.scheme.budget_by_scheme",
                "政策参数 schemes.point_value = per_scheme (分险种点值): settlement.toml 须按险种给出 "
                "[fund_budget.employee] / [fund_budget.resident] (000 篇6 第六条), 不能只给 drg_budget",
                Source(settlement, key="drg_budget"),
            )
        )
    else:
        for scheme in SCHEMES:
            if scheme in present and scheme not in budgets:
                problems.append(
                    Problem(
                        "drg.scheme.budget_missing",
                        f"病例中有{SCHEMES[scheme]}病例, 但 settlement.toml 无 [fund_budget.{scheme}]: "
                        "分险种点值须有该险种的DRG预算 (000 篇6 第六条)",
                        Source(settlement, key=f"fund_budget.{scheme}"),
                    )
                )
    problems += _blank_schemes(con, inputs, "cases", "case_id")
    problems += _blank_schemes(con, inputs, "deductions", "hospital_id")
    if problems:
        return None, problems
    return {s: budgets[s] for s in SCHEMES if s in budgets or s in present}, []


def _blank_schemes(con: Engine, inputs: DrgInputs, table: str, key: str) -> list[Problem]:
    """Rows of ``table`` without a scheme: under per-scheme point values each row is one fund's."""
    source = inputs.cases if table == "cases" else inputs.deductions
    row = "_row" if source is not None and "_row" in source.column_names else "NULL::BIGINT"
    rows = con.execute(
        f"SELECT {row} AS r, {key} FROM {table} WHERE scheme IS NULL ORDER BY r, {key} LIMIT {_LIMIT}"
    ).fetchall()
    what = "病例" if table == "cases" else "审核扣款 (扣除点数与扣款记入该病例险种的基金)"
    return [
        Problem(
            f"drg.scheme.{'case' if table == 'cases' else 'deduction'}_missing",
            f"{what}未注明险种 ({key} {k}): 政策按险种分别计算点值 (schemes.point_value = per_scheme, "
            "000 篇6 第六条), 每行须注明职工医保或居民医保",
            Source(inputs.source(table), row=int(r) if r is not None else None, column="scheme"),
        )
        for r, k in rows
    ]


def idle_budgets(con: Engine, inputs: DrgInputs, budgets: Mapping[str, Decimal]) -> list[Problem]:
    """A warning for each scheme with a budget and no case: its budget is not paid out."""
    counts = dict(con.execute(f"SELECT {scheme_sql('scheme')}, count(*) FROM cases GROUP BY 1").fetchall())
    return [
        Problem(
            "drg.scheme.no_cases",
            f"{SCHEMES[scheme]}无病例: 其DRG预算 {budget} 元按分险种点值不分配 (000 篇6 第六条)",
            Source(inputs.source("settlement"), key=f"fund_budget.{scheme}"),
            "warning",
        )
        for scheme, budget in budgets.items()
        if not counts.get(scheme)
    ]


def settle_schemes(
    con: Engine, inputs: DrgInputs, policy: DrgPolicy, budgets: Mapping[str, Decimal]
) -> tuple[pa.Table, dict[str, Decimal]]:
    """Monthly point values, prepayments and the year end per scheme, then each hospital's sum.

    Builds ``monthly_payments`` (a row per hospital, month and scheme), ``annual_scheme`` (a row
    per hospital and scheme) and ``annual`` (a row per hospital, the schemes summed; its
    ``year_point_value`` blank: each scheme has its own). Returns ``monthly`` (a row per scheme
    and month) and each scheme's year point value. Requires ``case_calc``, ``cases``,
    ``deductions``, ``hospitals``, ``assessment``.
    """
    months: list[pa.Table] = []
    values: dict[str, Decimal] = {}
    for scheme, budget in budgets.items():
        sfx = f"_{scheme}"
        con.execute(
            f"""CREATE TABLE case_calc{sfx} AS SELECT c.* FROM case_calc c JOIN cases k USING (case_id)
                WHERE {scheme_sql("k.scheme")} = '{scheme}'"""
        )
        con.execute(
            f"CREATE TABLE deductions{sfx} AS SELECT * FROM deductions WHERE {scheme_sql('scheme')} = '{scheme}'"
        )
        monthly = point_value.monthly_point_values(
            con, replace(inputs.params, drg_budget=budget), policy, sfx
        )
        con.register(f"monthly{sfx}", monthly)
        point_value.build_monthly_payments(con, policy, inputs.params.year, sfx)
        values[scheme] = year_end.annual_base(con, policy, budget, sfx)
        months.append(monthly.append_column("scheme", pa.array([scheme] * monthly.num_rows, pa.string())))
    con.execute(  # the scheme last: the columns of the joint file keep their places (docs/drg-outputs.md)
        "CREATE TABLE monthly_payments AS "
        + " UNION ALL ".join(f"SELECT *, '{s}' AS scheme FROM monthly_payments_{s}" for s in budgets)
    )
    con.execute(
        "CREATE TABLE annual_scheme_base AS "
        + " UNION ALL ".join(
            f"SELECT '{s}' AS scheme, CAST({values[s]} AS DECIMAL(38,8)) AS year_point_value, * FROM annual_base_{s}"
            for s in budgets
        )
    )
    _hospital_caps(con, policy)
    con.execute(
        f"""
        CREATE TABLE annual_scheme AS
        WITH cuts AS (
            SELECT b.*, coalesce(x.surplus_cut, 0)::DECIMAL(38,2) AS surplus_cut,
                   coalesce(x.self_pay_cut, 0)::DECIMAL(38,2) AS self_pay_cut
            FROM annual_scheme_base b LEFT JOIN cut_shares x USING (hospital_id, scheme)
        )
        SELECT scheme, {year_end.ANNUAL_SELECT} FROM cuts
        """
    )
    money = "::DECIMAL(38,2)"
    con.execute(
        f"""
        CREATE TABLE annual AS
        SELECT hospital_id, sum(year_points)::DECIMAL(38,8) AS year_points,
               NULL::DECIMAL(38,8) AS year_point_value,
               max(assessment_coefficient)::DECIMAL(38,8) AS assessment_coefficient,
               sum(entitlement){money} AS entitlement, sum(surplus_cut){money} AS surplus_cut,
               sum(self_pay_cut){money} AS self_pay_cut, sum(patient_cash){money} AS patient_cash,
               sum(monthly_paid){money} AS monthly_paid, sum(settlement){money} AS settlement,
               sum(audit_deductions){money} AS audit_deductions, sum(cases)::BIGINT AS cases,
               sum(final_points)::DECIMAL(38,8) AS final_points,
               sum(deducted_points)::DECIMAL(38,8) AS deducted_points,
               sum(total_cost){money} AS total_cost, sum(fund_paid){money} AS fund_paid,
               sum(self_pay){money} AS self_pay, sum(withheld){money} AS withheld,
               sum(incentive){money} AS incentive
        FROM annual_scheme GROUP BY hospital_id
        """
    )
    return pa.concat_tables(months), values


def _hospital_caps(con: Engine, policy: DrgPolicy) -> None:
    """``cut_shares``: each hospital's caps (第十九条(三), on its summed entitlement and total cost)
    shared among its schemes by largest remainder; a row only where a cut bites."""
    surplus_cut, self_pay_cut = year_end.cut_sql(policy)
    rows = con.execute(
        f"""
        WITH h AS (
            SELECT hospital_id, sum(entitlement) AS entitlement, sum(total_cost) AS total_cost,
                   sum(self_pay) AS self_pay
            FROM annual_scheme_base GROUP BY hospital_id
        ), c AS (
            SELECT hospital_id, ({surplus_cut})::DECIMAL(38,2) AS surplus_cut,
                   ({self_pay_cut})::DECIMAL(38,2) AS self_pay_cut
            FROM h
        )
        SELECT b.hospital_id, b.scheme, b.entitlement, b.self_pay, c.surplus_cut, c.self_pay_cut
        FROM annual_scheme_base b JOIN c USING (hospital_id)
        WHERE c.surplus_cut > 0 OR c.self_pay_cut > 0
        ORDER BY b.hospital_id, b.scheme
        """
    ).fetchall()
    by_hospital: dict[str, list[tuple[object, ...]]] = {}
    for row in rows:
        by_hospital.setdefault(str(row[0]), []).append(row)
    out: dict[str, list[object]] = {"hospital_id": [], "scheme": [], "surplus_cut": [], "self_pay_cut": []}
    for hospital_id, group in by_hospital.items():
        surplus = _split(Decimal(str(group[0][4])), [Decimal(str(r[2])) for r in group])
        self_pay = _split(Decimal(str(group[0][5])), [Decimal(str(r[3])) for r in group])
        for r, cut, pay_cut in zip(group, surplus, self_pay, strict=True):
            out["hospital_id"].append(hospital_id)
            out["scheme"].append(str(r[1]))
            out["surplus_cut"].append(cut)
            out["self_pay_cut"].append(pay_cut)
    money = pa.decimal128(38, 2)
    schema = pa.schema(
        [
            ("hospital_id", pa.string()),
            ("scheme", pa.string()),
            ("surplus_cut", money),
            ("self_pay_cut", money),
        ]
    )
    con.register("cut_shares", pa.table(out, schema=schema))


def _split(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """``total`` shared by the non-negative part of ``weights``, largest remainder (equal shares
    when none is positive; the article's order breaks ties)."""
    if total == 0:
        return [ZERO] * len(weights)
    positive = [max(ZERO, w) for w in weights]
    return split_largest_remainder(total, positive if sum(positive, ZERO) > 0 else [ONE] * len(weights))


def scheme_payments(con: Engine) -> pa.Table:
    """Each hospital's fund payments by scheme (requires ``annual_scheme``): what the fund owes
    for the scheme's cases (entitlement − the cuts charged to it − patient cash − its audit
    deductions), its monthly prepayments and its year-end settlement; rows with no case and no
    money are left out."""
    return con.arrow(
        """
        SELECT hospital_id, scheme, cases, final_points, patient_cash,
               (entitlement - surplus_cut - self_pay_cut - patient_cash - audit_deductions)::DECIMAL(18,2)
                   AS value,
               monthly_paid::DECIMAL(18,2) AS monthly_paid, settlement::DECIMAL(18,2) AS settlement,
               (monthly_paid + settlement)::DECIMAL(18,2) AS fund_payment, year_point_value
        FROM annual_scheme WHERE cases > 0 OR monthly_paid <> 0 OR settlement <> 0
        ORDER BY hospital_id, scheme
        """
    ).cast(SCHEME_PAYMENTS_SCHEMA)


def scheme_checks(
    con: Engine,
    params: SettlementParams,
    policy: DrgPolicy,
    budgets: Mapping[str, Decimal],
    values: Mapping[str, Decimal],
) -> list[Check]:
    """The invariants of ``shidian.drg.checks`` that concern a point value, per scheme (named
    ``<check>.<scheme>``), and the shares of the hospitals' caps."""
    found: list[Check] = []
    for scheme, budget in budgets.items():
        scheme_params = replace(params, drg_budget=budget)
        for check in checks.POINT_VALUE_CHECKS:
            c = check(con, scheme_params, policy, values[scheme], sfx=f"_{scheme}")
            found.append(Check(f"{c.name}.{scheme}", f"{SCHEMES[scheme]}: {c.description}", c.ok, c.detail))
    bad, cut_bad = con.execute(
        """
        WITH s AS (
            SELECT hospital_id, sum(settlement) AS settlement, sum(monthly_paid) AS monthly_paid,
                   sum(entitlement) AS entitlement
            FROM annual_scheme GROUP BY hospital_id
        )
        SELECT count(*) FILTER (WHERE s.settlement <> a.settlement OR s.monthly_paid <> a.monthly_paid
                                   OR s.entitlement <> a.entitlement),
               (SELECT count(*) FROM annual_scheme
                WHERE settlement <> entitlement - surplus_cut - self_pay_cut - patient_cash - monthly_paid
                                    - audit_deductions)
        FROM s JOIN annual a USING (hospital_id)
        """
    ).fetchall()[0]
    found.append(
        Check(
            "scheme_year_end_adds_up",
            "分险种点值: 各险种年终清算各自平衡, 各险种之和等于医疗机构的应得、已预拨与清算金额 (000 篇6 第六条、第十九条)",
            bad == 0 and cut_bad == 0,
            f"合计不符机构 {bad}, 不平衡险种行 {cut_bad}",
        )
    )
    return found
