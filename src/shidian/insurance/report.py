"""Excel reports for people (报表): fund ledger, institution statements, village notices.

Chinese headers; numbers are written as Excel numbers for people to sum and sort, the exact
values are in the CSV files. The workbook creation date is fixed so that the same run gives
the same bytes.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import xlsxwriter

from shidian.cells import XLSX_OPTIONS
from shidian.insurance.model import KIND_LABELS, POOL_LABELS, POOLS, ReimbursementResult
from shidian.insurance.policy import InsurancePolicy

Columns = tuple[tuple[str, str, str], ...]  # (column, Chinese header, format: money/ratio/int/text/date)

CONTRIBUTION_COLUMNS: Columns = (
    ("source_label", "筹资来源", "text"),
    ("category_label", "人员类别", "text"),
    ("persons", "参合人数", "int"),
    ("per_person", "人均标准(元)", "money"),
    ("amount", "金额(元)", "money"),
    ("to_inpatient", "划入大病统筹(元)", "money"),
    ("to_outpatient", "划入门诊统筹(元)", "money"),
)
REIMBURSEMENT_COLUMNS: Columns = (
    ("pool_label", "支付基金", "text"),
    ("type_label", "补偿类型", "text"),
    ("level", "医疗机构等级", "int"),
    ("claims", "人次", "int"),
    ("total_cost", "医疗总费用(元)", "money"),
    ("amount", "补偿金额(元)", "money"),
)
MONTHLY_COLUMNS: Columns = (
    ("month", "月份", "int"),
    ("reimbursements", "当月补偿支出(元)", "money"),
    ("cumulative", "累计支出(元)", "money"),
    ("income_to_date", "按月均摊收入(元)", "money"),
    ("pace_limit", "预警线(元)", "money"),
    ("use_ratio", "累计基金使用率", "ratio"),
    ("ahead", "支出快于收入", "flag"),
    ("received_to_date", "累计到账筹资(元)", "money"),
    ("overdrawn", "基金透支", "flag"),
)
RECEIPT_COLUMNS: Columns = (
    ("source_label", "筹资来源", "text"),
    ("due", "应筹(元)", "money"),
    ("received", "到账(元)", "money"),
    ("outstanding", "未到账(元)", "money"),
    ("overpaid", "多到账(元)", "money"),
    ("received_inpatient", "到账划入大病统筹(元)", "money"),
    ("received_outpatient", "到账划入门诊统筹(元)", "money"),
)
POOL_COLUMNS: Columns = (
    ("pool_label", "基金", "text"),
    ("income", "收入(元)", "money"),
    ("reimbursements", "补偿支出(元)", "money"),
    ("balance", "当年结余(元)", "money"),
    ("use_ratio", "基金使用率", "ratio"),
    ("months_ahead", "支出快于收入的月数", "int"),
    ("received", "到账(元)", "money"),
    ("outstanding", "未到账(元)", "money"),
    ("cash_balance", "按到账计结余(元)", "money"),
)
POOL_MONTHLY_COLUMNS: Columns = (("pool_label", "基金", "text"), *MONTHLY_COLUMNS)
STATEMENT_COLUMNS: Columns = (
    ("month", "月份", "int"),
    ("claims", "就诊人次", "int"),
    ("paid_claims", "补偿人次", "int"),
    ("rejected_claims", "拒付人次", "int"),
    ("total_cost", "医疗总费用(元)", "money"),
    ("advanced", "窗口垫付(元)", "money"),
    ("rejected_amount", "拒付金额(元)", "money"),
    ("adjustment", "垫付差额调整(元)", "money"),
    ("approved", "审核补偿(元)", "money"),
    ("drug_cost", "药品费用(元)", "money"),
    ("external_drug_cost", "目录外药品费用(元)", "money"),
    ("external_limit", "目录外药品比例上限", "ratio"),
    ("external_allowed", "目录外药品允许额(元)", "money"),
    ("catalogue_deduction", "目录外药品超标扣款(元)", "money"),
    ("payable", "应拨付(元)", "money"),
)
REJECTED_COLUMNS: Columns = (
    ("claim_id", "就诊编号", "text"),
    ("person_id", "人员编号", "text"),
    ("kind", "就诊类型", "kind"),
    ("start_date", "开始日期", "date"),
    ("end_date", "结束日期", "date"),
    ("total_cost", "医疗总费用(元)", "money"),
    ("desk_paid", "窗口垫付(元)", "money"),
    ("reason", "拒付原因", "text"),
)
NOTICE_COLUMNS: Columns = (
    ("masked_name", "姓名", "text"),
    ("masked_id_number", "身份证号", "text"),
    ("institution_name", "就诊医疗机构", "text"),
    ("item", "补偿类别", "text"),
    ("visits", "次数", "int"),
    ("start_date", "开始日期", "date"),
    ("end_date", "结束日期", "date"),
    ("total_cost", "医疗总费用(元)", "money"),
    ("reimbursable", "可补偿费用(元)", "money"),
    ("reimbursement", "补偿金额(元)", "money"),
)


class _Book:
    """An xlsxwriter workbook with Shidian's formats and a fixed creation date."""

    def __init__(self, path: Path, title: str):
        # Statements and notices are small: in memory is faster than constant_memory's temp files.
        self.book = xlsxwriter.Workbook(str(path), {"in_memory": True, **XLSX_OPTIONS})
        self.book.set_properties({"title": title, "created": dt.datetime(2000, 1, 1)})
        self.formats: dict[str, Any] = {
            "money": self.book.add_format({"num_format": "#,##0.00"}),
            "ratio": self.book.add_format({"num_format": "0.00%"}),
            "int": self.book.add_format({"num_format": "0"}),
            "header": self.book.add_format(
                {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True}
            ),
            "title": self.book.add_format({"bold": True, "font_size": 14}),
        }

    def table(self, title: str, table: pa.Table, columns: Columns, heading: list[str] | None = None) -> Any:
        sheet = self.book.add_worksheet(title)
        row = 0
        for line in heading or []:
            sheet.write(row, 0, line, self.formats["title"] if row == 0 else None)
            row += 1
        if heading:
            row += 1
        for j, (_, header, kind) in enumerate(columns):
            sheet.write(row, j, header, self.formats["header"])
            sheet.set_column(j, j, 40 if header in ("拒付原因",) else (16 if kind != "text" else 14))
        sheet.freeze_panes(row + 1, 0)
        for j, (name, _, kind) in enumerate(columns):  # column by column: one conversion per column
            values, number = self._display(table.column(name), kind)
            write, style = (
                (sheet.write_number, self.formats.get(kind)) if number else (sheet.write_string, None)
            )
            for i, value in enumerate(values, start=row + 1):
                if value is not None:
                    write(i, j, value, style)
        return sheet

    @staticmethod
    def _display(column: pa.ChunkedArray, kind: str) -> tuple[list[Any], bool]:
        """A column's cell values (numbers as float: display only, exact in the CSV) and whether numeric."""
        if kind == "kind":
            return [None if v is None else KIND_LABELS.get(v, v) for v in column.to_pylist()], False
        if kind == "flag":
            return [None if v is None else ("是" if v else "否") for v in column.to_pylist()], False
        if kind in ("date", "text"):
            return column.cast(pa.string()).to_pylist(), False
        return column.cast(pa.float64()).to_pylist(), True

    def cell(self, sheet: Any, row: int, col: int, value: Any, kind: str) -> None:
        if value is None:
            return
        if kind == "kind":
            sheet.write_string(row, col, KIND_LABELS.get(str(value), str(value)))
        elif kind == "flag":
            sheet.write_string(row, col, "是" if value else "否")
        elif kind == "date":
            sheet.write_string(row, col, value.isoformat())
        elif isinstance(value, Decimal):
            sheet.write_number(row, col, float(value), self.formats[kind])  # display only: exact in the CSV
        elif kind == "text":
            sheet.write_string(row, col, str(value))
        else:
            sheet.write_number(row, col, value, self.formats.get(kind))

    def close(self) -> None:
        self.book.close()


def write_ledger_workbook(result: ReimbursementResult, path: Path, *, policy: InsurancePolicy) -> None:
    """ledger.xlsx: 基金收支 summary (the two pools and their sum), 分基金收支, 筹资 (and 筹资到账 with a
    contributions file), 补偿支出, 月度进度 (the sum) and 分基金月度进度 (each pool, 以收定支)."""
    s = result.ledger.summary
    book = _Book(path, f"{policy.year}年新农合基金台账")
    summary = book.book.add_worksheet("基金收支")
    summary.set_column(0, 0, 30)
    summary.set_column(1, 1, 20)
    rows: list[tuple[str, Any, str]] = [
        ("政策", f"{policy.source.meta.name} ({policy.name}, 依据 {policy.source.meta.seed})", "text"),
        ("年度", s["year"], "text"),
        ("参合人数", int(s["insured"]), "int"),
        ("基金收入(元)", Decimal(s["income"]), "money"),
        ("补偿支出(元)", Decimal(s["reimbursements"]), "money"),
        ("当年结余(元)", Decimal(s["balance"]), "money"),
        *(
            (f"{POOL_LABELS[pool]} {label}(元)", Decimal(s[f"{pool}_{key}"]), "money")
            for pool in POOLS
            for key, label in (("income", "收入"), ("reimbursements", "补偿支出"), ("balance", "当年结余"))
        ),
        *(
            [
                ("筹资到账(元)", Decimal(s["received"]), "money"),
                ("筹资未到账(元)", Decimal(s["outstanding"]), "money"),
                ("筹资多到账(元)", Decimal(s["overpaid"]), "money"),
                ("按到账计结余(元)", Decimal(s["cash_balance"]), "money"),
                *(
                    (f"{POOL_LABELS[pool]} {label}(元)", Decimal(s[f"{pool}_{key}"]), "money")
                    for pool in POOLS
                    for key, label in (("received", "到账"), ("cash_balance", "按到账计结余"))
                ),
            ]
            if "received" in s
            else []
        ),
        ("基金使用率", Decimal(s["use_ratio"]) if s["use_ratio"] else None, "ratio"),
        ("补偿人次", int(s["claims_paid"]), "int"),
        ("拒付人次", int(s["claims_rejected"]), "int"),
    ]
    summary.write(0, 0, "项目", book.formats["header"])
    summary.write(0, 1, "数值", book.formats["header"])
    for i, (label, value, kind) in enumerate(rows, start=1):
        summary.write_string(i, 0, label)
        book.cell(summary, i, 1, value, kind)
    start = len(rows) + 2
    summary.write(start, 0, "自检项目", book.formats["header"])
    summary.write(start, 1, "结果", book.formats["header"])
    for i, check in enumerate(result.checks, start=start + 1):
        summary.write_string(i, 0, check.name)
        summary.write_string(
            i, 1, ("通过 " if check.ok else "未通过 ") + f"{check.description}: {check.detail}"
        )
    book.table("分基金收支", result.ledger.pools, POOL_COLUMNS)
    book.table("筹资", result.ledger.contributions, CONTRIBUTION_COLUMNS)
    if result.ledger.receipts is not None:
        book.table("筹资到账", result.ledger.receipts, RECEIPT_COLUMNS)
    book.table("补偿支出", result.ledger.reimbursements, REIMBURSEMENT_COLUMNS)
    book.table("月度进度", result.ledger.monthly, MONTHLY_COLUMNS)
    book.table("分基金月度进度", result.ledger.pool_monthly, POOL_MONTHLY_COLUMNS)
    book.close()


def write_statement(
    path: Path,
    *,
    institution_id: str,
    name: str,
    months: pa.Table,
    rejected: pa.Table,
    policy: InsurancePolicy,
) -> None:
    """One institution's statement (定点医疗机构月度结算单): months, then the rejected claims."""
    book = _Book(path, f"{name} {policy.year}年新农合月度结算单")
    heading = [
        f"{name} ({institution_id}) {policy.year}年新农合月度结算单",
        "应拨付 = 窗口垫付 − 拒付金额 − 垫付差额调整 − 目录外药品超标扣款 (004 篇6 三(四)1、三(四)4)",
    ]
    book.table("月度结算", months, STATEMENT_COLUMNS, heading)
    book.table("拒付明细", rejected, REJECTED_COLUMNS)
    book.close()


def write_notice_workbook(
    path: Path, *, summary: dict[str, Any], rows: pa.Table, policy: InsurancePolicy
) -> None:
    """One village's notice (新农合补偿公示), masked."""
    book = _Book(path, f"{summary['village_name']} {policy.year}年新农合补偿公示")
    outpatient = (
        ""
        if policy.notice_list_outpatient
        else f"; 普通门诊统筹 {summary['outpatient_visits']} 人次 {summary['outpatient_amount']} 元按村汇总, 不逐笔公示"
    )
    heading = [
        f"{summary['village_name'] or summary['village_code']} ({summary['village_code']}) {policy.year}年新农合补偿公示",
        f"参合 {summary['insured']} 人; 获补偿 {summary['persons_reimbursed']} 人, 合计 {summary['reimbursement']} 元"
        f"{outpatient}。姓名与身份证号已作遮盖。",
    ]
    book.table("公示", rows, NOTICE_COLUMNS, heading)
    book.close()
