"""Cross-table checks of DRG inputs (输入校验): what a single file's types cannot catch.

Unknown hospitals and DRG codes, discharge dates outside the settlement year, amounts that
exceed the total cost, monthly shares that do not sum to 1. Every problem names the file, the
row (from the ``_row`` column the file adapter adds; else the position + 2) and the column.
Columnar: each check is one query returning at most ``limit`` offending rows.
"""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa

from shidian import duck
from shidian.drg.model import DrgInputs
from shidian.money import ONE, ZERO
from shidian.problems import Problem, Source, problems_from_rows

#: A national institution code (国家医保信息业务编码, 定点医药机构): H + the 6-digit administrative
#: division (行政区划) of its county + a 5-digit serial, e.g. H45080200011 (港北区 of 贵港 4508).
_NATIONAL_CODE = "regexp_full_match({0}, 'H[0-9]{{11}}')"
#: The prefecture (地市, the division's first 4 digits) most hospitals with a national code are in.
_POOL_PREFECTURE = (
    "(SELECT substr(hospital_id, 2, 4) FROM hospitals WHERE "
    + _NATIONAL_CODE.format("hospital_id")
    + " GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1)"
)

#: (code, table, column, SQL condition over the table aliased t, message template)
_ROW_CHECKS: tuple[tuple[str, str, str, str, str], ...] = (
    (
        "drg.hospital.other_region",
        "hospitals",
        "hospital_id",
        f"{_NATIONAL_CODE.format('t.hospital_id')} AND substr(t.hospital_id, 2, 4) <> {_POOL_PREFECTURE}",
        "医疗机构编码 {hospital_id} 的行政区划不在本统筹区 (其他机构的编码多在同一地市): "
        "国家编码 H+行政区划+序号 (institution of another prefecture)",
    ),
    (
        "drg.case.unknown_hospital",
        "cases",
        "hospital_id",
        "t.hospital_id NOT IN (SELECT hospital_id FROM hospitals)",
        "医疗机构编码 {hospital_id} 不在 hospitals 中 (unknown hospital)",
    ),
    (
        "drg.case.unknown_drg",
        "cases",
        "drg_code",
        "t.drg_code IS NOT NULL AND t.drg_code NOT IN (SELECT drg_code FROM groups)",
        "DRG编码 {drg_code} 不在 drg_groups 中 (unknown DRG)",
    ),
    (
        "drg.case.date_outside_year",
        "cases",
        "discharge_date",
        "year(t.discharge_date) <> $year",
        "出院日期 {discharge_date} 不在结算年度内 (outside the settlement year)",
    ),
    (
        "drg.case.fund_above_total",
        "cases",
        "fund_paid",
        "t.fund_paid > t.total_cost",
        "统筹基金支付 {fund_paid} 大于医疗总费用 {total_cost}",
    ),
    (
        "drg.case.self_pay_above_total",
        "cases",
        "self_pay",
        "t.self_pay > t.total_cost",
        "自费费用 {self_pay} 大于医疗总费用 {total_cost}",
    ),
    (
        "drg.case.cash_above_total",
        "cases",
        "patient_cash",
        "t.fund_paid + t.patient_cash > t.total_cost",
        "统筹基金支付 {fund_paid} 与个人现金支付 {patient_cash} 之和大于医疗总费用 {total_cost}",
    ),
    (
        "drg.case.unreasonable_above_total",
        "cases",
        "unreasonable_cost",
        "t.unreasonable_cost > t.total_cost",
        "不合理费用 {unreasonable_cost} 大于医疗总费用 {total_cost}",
    ),
    (
        "drg.case.review_before_discharge",
        "cases",
        "review_date",
        "t.review_date < t.discharge_date",
        "特病单议核准日期 {review_date} 早于出院日期 {discharge_date}",
    ),
    (
        "drg.regrouped.unknown_case",
        "regrouped",
        "case_id",
        "t.case_id NOT IN (SELECT case_id FROM cases)",
        "病案号 {case_id} 不在 cases 中 (unknown case)",
    ),
    (
        "drg.regrouped.not_ungrouped",
        "regrouped",
        "case_id",
        "t.case_id IN (SELECT case_id FROM cases WHERE drg_code IS NOT NULL)",
        "病案 {case_id} 已按月入组, 年底入组只补录未能入组的病案 (000 篇6 第十八条(一)5)",
    ),
    (
        "drg.regrouped.unknown_drg",
        "regrouped",
        "drg_code",
        "t.drg_code NOT IN (SELECT drg_code FROM groups)",
        "DRG编码 {drg_code} 不在 drg_groups 中 (unknown DRG)",
    ),
    (
        "drg.deduction.audit_before_month",
        "deductions",
        "audit_date",
        "CASE WHEN t.month BETWEEN 1 AND 12 THEN t.audit_date < make_date($year, t.month::INTEGER, 1) END",
        "审核日期 {audit_date} 早于扣款所属月份 {month} 月",
    ),
    (
        "drg.deduction.unknown_hospital",
        "deductions",
        "hospital_id",
        "t.hospital_id NOT IN (SELECT hospital_id FROM hospitals)",
        "医疗机构编码 {hospital_id} 不在 hospitals 中 (unknown hospital)",
    ),
    (
        "drg.deduction.bad_month",
        "deductions",
        "month",
        "t.month NOT BETWEEN 1 AND 12",
        "月份 {month} 应在 1–12 之间",
    ),
    (
        "drg.assessment.unknown_hospital",
        "assessment",
        "hospital_id",
        "t.hospital_id NOT IN (SELECT hospital_id FROM hospitals)",
        "医疗机构编码 {hospital_id} 不在 hospitals 中 (unknown hospital)",
    ),
    (
        "drg.advance.unknown_hospital",
        "advances",
        "hospital_id",
        "t.hospital_id NOT IN (SELECT hospital_id FROM hospitals)",
        "医疗机构编码 {hospital_id} 不在 hospitals 中 (unknown hospital)",
    ),
    (
        "drg.hospital.unknown_package_lead",
        "hospitals",
        "package_to",
        "t.package_to IS NOT NULL AND t.package_to NOT IN (SELECT hospital_id FROM hospitals)",
        "打包支付至 {package_to} 不在 hospitals 中 (000 篇6 第八条: 应为医共体牵头医疗机构)",
    ),
    (
        "drg.hospital.package_chain",
        "hospitals",
        "package_to",
        """t.package_to IS NOT NULL AND t.package_to <> t.hospital_id AND t.package_to IN
           (SELECT hospital_id FROM hospitals WHERE package_to IS NOT NULL AND package_to <> hospital_id)""",
        "打包支付至 {package_to}, 但该机构自身又打包支付给其他机构: 应直接填写医共体牵头医疗机构 (000 篇6 第八条)",
    ),
    (
        "drg.hospital.bad_level",
        "hospitals",
        "level",
        "t.level NOT IN (1, 2, 3)",
        "医院等级 {level} 应为 1、2 或 3",
    ),
)


def validate_inputs(inputs: DrgInputs, limit: int = 200, *, check_year: bool = True) -> list[Problem]:
    """All cross-table problems of ``inputs`` (errors), at most ``limit`` per check.

    ``check_year=False`` leaves out the checks that need ``settlement.toml`` (its year).
    """
    problems = _param_problems(inputs) if check_year else []
    con = duck.connect()
    try:
        tables = {
            "cases": inputs.cases,
            "hospitals": inputs.hospitals,
            "groups": inputs.groups,
            "deductions": inputs.deductions,
            "assessment": inputs.assessment,
            "reference": inputs.reference,
            "regrouped": inputs.regrouped,
            "advances": inputs.advances,
        }
        for name, table in tables.items():
            if table is not None:
                con.register(name, _with_optional(name, _with_rows(table)))
        params = {"year": inputs.params.year}
        suspect = set()  # one scan per table finds whether any row needs the per-check queries
        for table_name in dict.fromkeys(check[1] for check in _ROW_CHECKS):
            if tables[table_name] is None:
                continue
            conditions = [check[3] for check in _ROW_CHECKS if check[1] == table_name]
            any_bad = " OR ".join(
                f"coalesce({c}, false)" for c in conditions if check_year or "$year" not in c
            )
            query = f"SELECT EXISTS (SELECT 1 FROM {table_name} t WHERE {any_bad})"
            found = con.execute(query, params if "$year" in any_bad else None).fetchone()
            if found is not None and found[0]:
                suspect.add(table_name)
        for code, table_name, column, condition, template in _ROW_CHECKS:
            if table_name not in suspect or (not check_year and "$year" in condition):
                continue
            cursor = con.execute(
                f"SELECT * FROM {table_name} t WHERE {condition} ORDER BY _row LIMIT {limit}",
                params if "$year" in condition else None,
            )
            problems += problems_from_rows(
                [d[0] for d in cursor.description],
                cursor.fetchall(),
                code,
                template,
                inputs.source(table_name),
                column,
            )
        reference_name = "reference" if inputs.reference is not None else "cases"
        grouped = con.execute(f"SELECT count(*) FROM {reference_name} WHERE drg_code IS NOT NULL").fetchone()
        if (
            grouped is not None
            and grouped[0] == 0
            and not any(p.code == "drg.case.unknown_drg" for p in problems)
        ):
            problems.append(
                Problem(
                    "drg.reference.empty",
                    "没有可用于计算例均费用的已入组参考病例 (no grouped reference cases)",
                    Source(inputs.source(reference_name)),
                )
            )
    finally:
        con.close()
    return problems


#: Optional input columns a table built in code may lack (the file adapter always adds them).
_OPTIONAL = {
    "cases": ("review_date", pa.date32()),
    "deductions": ("audit_date", pa.date32()),
    "hospitals": ("package_to", pa.string()),
}


def _with_optional(name: str, table: pa.Table) -> pa.Table:
    if name not in _OPTIONAL or _OPTIONAL[name][0] in table.column_names:
        return table
    column, kind = _OPTIONAL[name]
    return table.append_column(column, pa.nulls(table.num_rows, kind))


def _with_rows(table: pa.Table) -> pa.Table:
    if "_row" in table.column_names:
        return table
    import pyarrow.compute as pc

    rows = pc.add(pa.array(range(table.num_rows), pa.int64()), 2)
    return table.append_column("_row", rows)


def _param_problems(inputs: DrgInputs) -> list[Problem]:
    params = inputs.params
    source = inputs.source("settlement")
    found: list[Problem] = []
    if params.drg_budget <= 0:
        found.append(
            Problem(
                "drg.settlement.bad_budget",
                f"DRG总额预算应为正数, 实际为 {params.drg_budget}",
                Source(source, key="drg_budget"),
            )
        )
    if params.drg_budget != params.drg_budget.quantize(Decimal("0.01")):
        found.append(
            Problem(
                "drg.settlement.bad_budget",
                f"DRG总额预算最多两位小数, 实际为 {params.drg_budget}",
                Source(source, key="drg_budget"),
            )
        )
    shares = params.monthly_shares
    if shares is not None:
        if len(shares) != 12:
            found.append(
                Problem(
                    "drg.settlement.bad_shares",
                    f"monthly_shares 应有12个月份占比, 实际为 {len(shares)} 个",
                    Source(source, key="monthly_shares"),
                )
            )
        elif any(s < 0 for s in shares):
            found.append(
                Problem(
                    "drg.settlement.bad_shares", "月份占比不得为负数", Source(source, key="monthly_shares")
                )
            )
        elif sum(shares, ZERO) != ONE:
            found.append(
                Problem(
                    "drg.settlement.bad_shares",
                    f"12个月份占比之和应为1, 实际为 {sum(shares, ZERO)}",
                    Source(source, key="monthly_shares"),
                )
            )
    return found
