"""Payments charged to each scheme's fund (分险种记账), 000 篇6 第二、六条.

"职工医保和居民医保的基金分别纳入DRG总额预算" (第六条): the DRG budget is the sum of the two schemes'
DRG budgets and, read literally, settled with one point value (联合点值, the policy's
``schemes.point_value = "joint"``; with ``"per_scheme"`` each scheme has its own point value and
``shidian.drg.scheme_values`` builds these rows from each scheme's own year end). Each case carries its
scheme (``cases.scheme``: employee/resident, 职工/居民; absent = one scheme, nothing here), and
each hospital's fund payments are charged to the schemes' funds so each fund can be reconciled
against its own budget:

* a scheme's value at the hospital = max(0, round_fen(the scheme's final points × year point
  value × assessment coefficient) − its cases' patient cash): what the fund owes for those
  cases by 第十九条's formula;
* the hospital's fund payment (monthly prepayments + year-end settlement, after the caps and
  audit deductions, which are the hospital's) and its monthly prepayments are each split
  between its schemes in proportion to those values, largest remainder to the fen (ties: the
  article's order, employee first); by final points when every value is 0.

The split is per hospital × scheme (at most two rows a hospital): the cases stay in SQL.
"""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa

from shidian.dialect import Engine
from shidian.drg.fund_budget import SCHEMES
from shidian.drg.model import MONEY, POINTS
from shidian.money import ONE, ZERO, split_largest_remainder, sql_round
from shidian.runs import Check

ARTICLE = "000 篇6 第六条"
#: The accepted spellings of a scheme in ``cases.scheme`` → its code.
SCHEME_ALIASES: dict[str, str] = {
    "employee": "employee",
    "职工": "employee",
    "职工医保": "employee",
    "resident": "resident",
    "居民": "resident",
    "居民医保": "resident",
}

SCHEME_PAYMENTS_SCHEMA = pa.schema(
    [
        ("hospital_id", pa.string()),
        ("scheme", pa.string()),
        ("cases", pa.int64()),
        ("final_points", POINTS),
        ("patient_cash", MONEY),
        ("value", MONEY),
        ("monthly_paid", MONEY),
        ("settlement", MONEY),
        ("fund_payment", MONEY),
        ("year_point_value", POINTS),  # the point value the scheme's cases were valued at
    ]
)


def scheme_sql(column: str) -> str:
    """SQL mapping ``column``'s spellings to employee/resident (NULL stays NULL)."""
    whens = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in SCHEME_ALIASES.items())
    return f"CASE {column} {whens} END"


def has_schemes(con: Engine) -> bool:
    """Whether the cases carry a scheme (the optional column given)."""
    ((count,),) = con.execute("SELECT count(scheme) FROM cases").fetchall()
    return bool(count)


def scheme_payments(con: Engine, year_value: Decimal) -> pa.Table:
    """Each hospital's fund payments charged to its schemes (requires ``case_calc``, ``cases``
    with ``scheme`` and ``annual``), by hospital and scheme in the article's order."""
    value = sql_round(f"s.final_points * {year_value} * a.assessment_coefficient", 2)
    rows = con.execute(
        f"""
        WITH s AS (
            SELECT c.hospital_id, {scheme_sql("k.scheme")} AS scheme, count(*)::BIGINT AS cases,
                   sum(c.final_points)::DECIMAL(38,8) AS final_points,
                   sum(c.patient_cash)::DECIMAL(38,2) AS patient_cash
            FROM case_calc c JOIN cases k USING (case_id) GROUP BY ALL
        )
        SELECT s.hospital_id, s.scheme, s.cases, s.final_points, s.patient_cash,
               greatest(0, {value} - s.patient_cash)::DECIMAL(38,2) AS value,
               a.monthly_paid, a.settlement
        FROM s JOIN annual a USING (hospital_id)
        ORDER BY s.hospital_id, CASE s.scheme WHEN 'employee' THEN 0 ELSE 1 END
        """
    ).fetchall()
    by_hospital: dict[str, list[tuple[object, ...]]] = {}
    for row in rows:
        by_hospital.setdefault(str(row[0]), []).append(row)
    out: dict[str, list[object]] = {name: [] for name in SCHEME_PAYMENTS_SCHEMA.names}
    for hospital_id, group in by_hospital.items():
        values = [Decimal(str(r[5])) for r in group]
        weights = values if sum(values, ZERO) > 0 else [Decimal(str(r[3])) for r in group]
        if sum(weights, ZERO) <= 0:
            weights = [ONE] * len(group)
        monthly_paid, settlement = Decimal(str(group[0][6])), Decimal(str(group[0][7]))
        payments = split_largest_remainder(monthly_paid + settlement, weights)
        monthly = split_largest_remainder(monthly_paid, weights)
        for r, pay, month in zip(group, payments, monthly, strict=True):
            out["hospital_id"].append(hospital_id)
            out["scheme"].append(r[1])
            out["cases"].append(r[2])
            out["final_points"].append(Decimal(str(r[3])))
            out["year_point_value"].append(year_value)
            out["patient_cash"].append(Decimal(str(r[4])))
            out["value"].append(Decimal(str(r[5])))
            out["monthly_paid"].append(month)
            out["settlement"].append(pay - month)
            out["fund_payment"].append(pay)
    return pa.table(out, schema=SCHEME_PAYMENTS_SCHEMA)


def scheme_totals(
    table: pa.Table, budgets: dict[str, Decimal], year_values: dict[str, Decimal] | None = None
) -> dict[str, str]:
    """Per scheme: cases, final points, fund payment, and its DRG budget and the difference
    (budget − payment) when the budget was derived by scheme (第六条); its year point value when
    each scheme has its own (``year_values``, ``shidian.drg.scheme_values``)."""
    totals: dict[str, str] = {}
    rows = table.to_pylist()
    for scheme in SCHEMES:
        mine = [r for r in rows if r["scheme"] == scheme]
        if not mine and scheme not in budgets:
            continue
        paid = sum((r["fund_payment"] for r in mine), ZERO)
        totals[f"scheme.{scheme}.cases"] = str(sum(r["cases"] for r in mine))
        totals[f"scheme.{scheme}.final_points"] = str(sum((r["final_points"] for r in mine), ZERO))
        totals[f"scheme.{scheme}.fund_payment"] = str(paid)
        if year_values and scheme in year_values:
            totals[f"scheme.{scheme}.year_point_value"] = str(year_values[scheme])
        if scheme in budgets:
            totals[f"scheme.{scheme}.drg_budget"] = str(budgets[scheme])
            totals[f"scheme.{scheme}.balance"] = str(budgets[scheme] - paid)
    return totals


def scheme_check(con: Engine, table: pa.Table) -> Check:
    """Each hospital's scheme charges sum to its fund payment and its monthly prepayments, to
    the fen, and every case of a hospital with a year end is charged to a scheme."""
    con.register("scheme_payments_out", table)
    try:
        bad, cases, charged = con.execute(
            """
            WITH s AS (
                SELECT hospital_id, sum(fund_payment) AS pay, sum(monthly_paid) AS monthly,
                       sum(cases) AS cases
                FROM scheme_payments_out GROUP BY hospital_id
            )
            SELECT count(*) FILTER (WHERE s.pay <> a.monthly_paid + a.settlement
                                       OR s.monthly <> a.monthly_paid),
                   (SELECT count(*) FROM case_calc), coalesce(sum(s.cases), 0)
            FROM s JOIN annual a USING (hospital_id)
            """
        ).fetchall()[0]
    finally:
        con.unregister("scheme_payments_out")
    return Check(
        "scheme_payments_conserved",
        "各医疗机构按险种记账之和等于其统筹基金支付 (月度预拨 + 年终清算), 每例病例记入其险种 (000 篇6 第六条)",
        bad == 0 and cases == charged,
        f"{bad} 家医疗机构不平; 病例 {charged}/{cases}",
    )
