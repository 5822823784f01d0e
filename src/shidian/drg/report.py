"""report.xlsx (结算报告): the settlement for people, with Chinese headers.

Sheets: 汇总 (summary, invariant checks and the hospitals at or near the year-end caps of
000 篇6 第十九条(三), ``shidian.drg.caps``), 月度点值, 月度拨付, 年终清算, and when their inputs
were given 险种记账 (第六条), 年度预付 (第十七条) and 医共体打包支付 (第八条), then 病组标准,
差异系数, 警告, and 病例 only when asked for and the cases fit in one sheet (Excel holds 1,048,576
rows); otherwise the summary names the CSV and Parquet files and the hospital workbooks
(``shidian.drg.hospital_books``) that hold them. Numbers are written as Excel
numbers for people to sum and sort; the exact values are in the CSV files. The file's
creation date is fixed so that the same run gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import xlsxwriter

from shidian.cells import XLSX_OPTIONS
from shidian.drg.caps import near_caps, year_amounts
from shidian.drg.model import CATEGORY_LABELS, SettlementResult
from shidian.drg.policy import DrgPolicy

EXCEL_MAX_ROWS = 1_048_576

#: (column, Chinese header, format) per sheet; format is "money", "points", "point_value",
#: "exact" (coefficients), "int" or "text".
MONTHLY_COLUMNS = (
    ("scheme", "险种", "text"),  # only with per-scheme point values (000 篇6 第六条)
    ("month", "月份", "int"),
    ("budget", "月度预算(元)", "money"),
    ("total_points", "月度总点数", "points"),
    ("non_fund", "非统筹支付(元)", "money"),
    ("point_value", "月度点值(元/点)", "point_value"),
)
PAYMENT_COLUMNS = (
    ("hospital_id", "医疗机构编码", "text"),
    ("month", "月份", "int"),
    ("scheme", "险种", "text"),  # only with per-scheme point values (000 篇6 第六条)
    ("cases", "病例数", "int"),
    ("prepay_points", "预拨点数", "points"),
    ("point_value", "月度点值", "point_value"),
    ("patient_cash", "患者现金支付(元)", "money"),
    ("non_fund", "非统筹支付(元)", "money"),
    ("allocation", "月度分配额(元)", "money"),
    ("withheld", "留存(质量保证金/激励基金)(元)", "money"),
    ("review_points", "特病单议追加点数", "points"),
    ("review_amount", "特病单议追加拨付(元)", "money"),
    ("deducted_points", "扣除点数", "points"),
    ("deducted_points_amount", "扣除点数金额(元)", "money"),
    ("audit_deduction", "审核扣款(元)", "money"),
    ("amount", "月度拨付金额(元)", "money"),
)
ANNUAL_COLUMNS = (
    ("hospital_id", "医疗机构编码", "text"),
    ("cases", "病例数", "int"),
    ("final_points", "核准总点数", "points"),
    ("deducted_points", "扣除点数", "points"),
    ("year_points", "年度总点数", "points"),
    ("year_point_value", "年度点值", "point_value"),
    ("assessment_coefficient", "考核系数", "exact"),
    ("entitlement", "应得金额(元)", "money"),
    ("total_cost", "医疗总费用(元)", "money"),
    ("surplus_cut", "结余超限扣减(元)", "money"),
    ("self_pay", "自费费用(元)", "money"),
    ("self_pay_cut", "自费超限扣减(元)", "money"),
    ("patient_cash", "非统筹支付(元)", "money"),
    ("monthly_paid", "已预拨(元)", "money"),
    ("audit_deductions", "审核扣款(元)", "money"),
    ("incentive", "年终激励(元)", "money"),
    ("settlement", "年终清算金额(元)", "money"),
)
#: 000 篇6 第六条: each hospital's payments charged to the schemes' funds (scheme_payments.csv).
SCHEME_COLUMNS = (
    ("hospital_id", "医疗机构编码", "text"),
    ("scheme", "险种", "text"),
    ("cases", "病例数", "int"),
    ("final_points", "核准总点数", "points"),
    ("year_point_value", "年度点值", "point_value"),
    ("patient_cash", "患者现金支付(元)", "money"),
    ("value", "险种应付(点数×年度点值×考核系数−现金)(元)", "money"),
    ("monthly_paid", "已预拨(元)", "money"),
    ("settlement", "年终清算(元)", "money"),
    ("fund_payment", "记入该险种基金(元)", "money"),
)
#: 000 篇6 第十七条: the annual advance (advances.csv).
ADVANCE_COLUMNS = (
    ("hospital_id", "医疗机构编码", "text"),
    ("last_year_fund_paid", "上年度统筹基金支付(元)", "money"),
    ("advance", "本年1月预付(元)", "money"),
    ("previous_advance", "上年1月预付(元)", "money"),
    ("january_payment", "1月差额补退后拨付(元)", "money"),
    ("year_fund_paid", "本年度统筹基金支付(元)", "money"),
    ("next_advance", "次年1月预付(元)", "money"),
    ("next_true_up", "次年1月差额补退(元)", "money"),
)
#: 000 篇6 第八条: the 医共体 package (packages.csv).
PACKAGE_COLUMNS = (
    ("hospital_id", "医疗机构编码", "text"),
    ("payee", "收款机构(牵头医疗机构)", "text"),
    ("monthly_paid", "已预拨(元)", "money"),
    ("settlement", "年终清算(元)", "money"),
    ("fund_payment", "统筹基金支付(元)", "money"),
    ("payee_total", "收款机构合计(元)", "money"),
)
SCHEME_LABELS = {"employee": "职工医保", "resident": "居民医保"}
#: Codes shown by their Chinese names in text cells: case categories and schemes.
TEXT_LABELS = {**CATEGORY_LABELS, **SCHEME_LABELS}
STANDARD_COLUMNS = (
    ("drg_code", "DRG编码", "text"),
    ("name", "DRG名称", "text"),
    ("n_drg", "参考病例数", "int"),
    ("region_avg_cost", "全区例均费用(元)", "points"),
    ("weight", "权重", "exact"),
    ("base_points", "基准点数", "points"),
    ("stable", "稳定病组", "text"),
    ("basic", "基础病组", "text"),
)
COEFFICIENT_COLUMNS = (
    ("drg_code", "DRG编码", "text"),
    ("level", "医院等级", "int"),
    ("n_level", "同级别参考病例数", "int"),
    ("level_avg_cost", "同级别例均费用(元)", "points"),
    ("coefficient", "差异系数", "exact"),
    ("high_multiple", "高倍率判定倍数", "exact"),
)
CASE_COLUMNS = (
    ("case_id", "病案号", "text"),
    ("hospital_id", "医疗机构编码", "text"),
    ("month", "月份", "int"),
    ("scheme", "险种", "text"),  # when the cases carry one (000 篇6 第六条)
    ("drg_code", "DRG编码", "text"),
    ("category", "病例类型", "text"),
    ("base_points", "基准点数", "points"),
    ("coefficient", "差异系数", "exact"),
    ("cost", "合规费用(元)", "money"),
    ("prepay_points", "预拨点数", "points"),
    ("final_points", "病例点数", "points"),
    ("year_end_grouping", "年底入组 (1=是)", "int"),
    ("review_pay_month", "追加点数拨付月份", "int"),
)


def write_report(
    result: SettlementResult,
    path: Path,
    *,
    policy: DrgPolicy,
    hospitals: pa.Table,
    report_cases: bool | None,
) -> None:
    fits = result.case_points.num_rows + 1 <= EXCEL_MAX_ROWS
    include_cases = fits if report_cases is None else (report_cases and fits)
    # constant_memory spools each sheet's rows (cases) to files: beside the report (the run's own
    # staging folder), never the system's temporary directory
    book = xlsxwriter.Workbook(
        str(path), {"constant_memory": True, "tmpdir": str(path.parent), **XLSX_OPTIONS}
    )
    book.set_properties({"title": "DRG点数法付费结算报告", "created": dt.datetime(2000, 1, 1)})
    formats = {
        "money": book.add_format({"num_format": "#,##0.00"}),
        # shown as pages show them (shidian.display); each cell keeps its value, the CSVs every digit
        "points": book.add_format({"num_format": "#,##0.00"}),
        "point_value": book.add_format({"num_format": "#,##0.0000"}),
        "exact": book.add_format({"num_format": "0.00000000"}),
        "int": book.add_format({"num_format": "#,##0"}),
        "text": None,
        "header": book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True}),
    }
    names = _names(hospitals)
    _summary(book, result, policy, names, include_cases, fits, formats)
    _table(book, "月度点值", result.monthly, MONTHLY_COLUMNS, formats)
    _table(book, "月度拨付", result.monthly_payments, PAYMENT_COLUMNS, formats)
    annual = _with_names(result.annual, names)
    _table(book, "年终清算", annual, (("name", "医疗机构名称", "text"), *ANNUAL_COLUMNS), formats)
    if result.scheme_payments is not None:
        labelled = result.scheme_payments.set_column(
            1,
            "scheme",
            pa.array([SCHEME_LABELS.get(x, x) for x in result.scheme_payments.column("scheme").to_pylist()]),
        )
        _table(book, "险种记账", labelled, SCHEME_COLUMNS, formats)
    if result.advances is not None:
        _table(book, "年度预付", result.advances, ADVANCE_COLUMNS, formats)
    if result.packages is not None:
        _table(book, "医共体打包支付", result.packages, PACKAGE_COLUMNS, formats)
    _table(book, "病组标准", result.standards, STANDARD_COLUMNS, formats)
    _table(book, "差异系数", result.coefficients, COEFFICIENT_COLUMNS, formats)
    warnings = pa.table(
        {
            "code": [w.code for w in result.warnings],
            "where": [str(w.where) for w in result.warnings],
            "message": [w.message for w in result.warnings],
        }
    )
    _table(
        book,
        "警告",
        warnings,
        (("code", "代码", "text"), ("where", "位置", "text"), ("message", "说明", "text")),
        formats,
    )
    if include_cases:
        _table(book, "病例", result.case_points, CASE_COLUMNS, formats)
    book.close()


def _year_point_values(t: Any) -> list[tuple[str, Any]]:
    """The year point value, or each scheme's when each has its own (000 篇6 第六条)."""
    if "year_point_value" in t:
        return [("年度点值", Decimal(t["year_point_value"]))]
    rows: list[tuple[str, Any]] = [("点值", "分险种点值: 各险种DRG预算 ÷ 本险种病例点数 (000 篇6 第六条)")]
    for scheme, label in SCHEME_LABELS.items():
        if f"scheme.{scheme}.year_point_value" in t:
            rows.append((f"年度点值 ({label})", Decimal(t[f"scheme.{scheme}.year_point_value"])))
    return rows


def _names(hospitals: pa.Table) -> dict[str, str]:
    return dict(
        zip(hospitals.column("hospital_id").to_pylist(), hospitals.column("name").to_pylist(), strict=True)
    )


def _with_names(annual: pa.Table, names: dict[str, str]) -> pa.Table:
    return annual.append_column(
        "name", pa.array([names.get(h, "") for h in annual.column("hospital_id").to_pylist()])
    )


def _cell(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "text":
        if isinstance(value, bool):
            return "是" if value else "否"
        return TEXT_LABELS.get(str(value), str(value))
    if isinstance(value, Decimal):
        return float(value)  # display only: the exact value is in the CSV
    return value


def _table(
    book: Any, title: str, table: pa.Table, columns: tuple[tuple[str, str, str], ...], formats: dict[str, Any]
) -> None:
    sheet = book.add_worksheet(title)
    present = [c for c in columns if c[0] in table.column_names]
    for j, (_, header, kind) in enumerate(present):
        sheet.write(0, j, header, formats["header"])
        sheet.set_column(j, j, 16 if kind != "text" else 14, formats[kind])
    sheet.freeze_panes(1, 0)
    data = [table.column(name).to_pylist() for name, _, _ in present]
    kinds = [kind for _, _, kind in present]
    for i in range(table.num_rows):
        for j, column in enumerate(data):
            value = _cell(column[i], kinds[j])
            if value is not None:
                sheet.write(i + 1, j, value, formats[kinds[j]])


def _summary(
    book: Any,
    result: SettlementResult,
    policy: DrgPolicy,
    names: dict[str, str],
    include_cases: bool,
    fits: bool,
    formats: dict[str, Any],
) -> None:
    sheet = book.add_worksheet("汇总")
    sheet.set_column(0, 0, 28)
    sheet.set_column(1, 1, 60)
    t = result.totals
    meta = policy.source.meta
    rows: list[tuple[str, Any]] = [
        ("政策", f"{meta.name} ({meta.id}, 版本 {meta.version}, 依据 {meta.seed})"),
        ("结算年度", t["year"]),
        ("DRG总额预算(元)", Decimal(t["drg_budget"])),
        ("病例数", int(t["cases"])),
        ("正常病例", int(t["normal"])),
        ("高倍率病例", int(t["high"])),
        ("低倍率病例", int(t["low"])),
        ("整组单议病例", int(t["whole_group"])),
        ("年底入组病例", int(t.get("year_end_grouping", "0"))),
        ("医疗总费用(元)", Decimal(t["total_cost"])),
        ("统筹基金支付(元)", Decimal(t["fund_paid"])),
        ("年度总点数", Decimal(t["final_points"])),
        *_year_point_values(t),
        ("应得金额合计(元)", Decimal(t["entitlement"])),
        ("已预拨合计(元)", Decimal(t["monthly_paid"])),
        ("年终清算合计(元)", Decimal(t["settlement"])),
        (
            "自检",
            "全部通过" if result.ok else "未通过: " + ", ".join(c.name for c in result.checks if not c.ok),
        ),
        ("警告数", len(result.warnings)),
    ]
    if not include_cases:
        where = "超过 Excel 单表行数上限, " if not fits else ""
        rows.append(
            (
                "病例明细",
                f"{where}见同目录 case_points.csv / case_points.parquet, 各机构见 hospitals/<编码>.xlsx",
            )
        )
    sheet.write(0, 0, "项目", formats["header"])
    sheet.write(0, 1, "数值", formats["header"])
    for i, (label, value) in enumerate(rows, start=1):
        sheet.write(i, 0, label)
        if isinstance(value, Decimal):
            kind = (
                "money" if value.as_tuple().exponent != -8 else "point_value" if "点值" in label else "points"
            )
            sheet.write(i, 1, float(value), formats[kind])
        else:
            sheet.write(i, 1, value)
    start = len(rows) + 2
    sheet.write(start, 0, "自检项目", formats["header"])
    sheet.write(start, 1, "结果", formats["header"])
    for i, check in enumerate(result.checks, start=start + 1):
        sheet.write(i, 0, check.name)
        sheet.write(i, 1, ("通过 " if check.ok else "未通过 ") + f"{check.description}: {check.detail}")
    if policy.apply_caps:
        start += len(result.checks) + 2
        sheet.write(start, 0, "接近年终清算限制 (第十九条(三))", formats["header"])
        sheet.write(start, 1, "情况", formats["header"])
        near = near_caps(year_amounts(result.annual, names), policy)
        for i, cap in enumerate(near, start=start + 1):
            sheet.write(i, 0, f"{cap.hospital_id} {cap.name}")
            sheet.write(i, 1, cap.message)
        if not near:
            sheet.write(start + 1, 0, "无")
