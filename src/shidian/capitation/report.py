"""report.xlsx of a capitation run (医共体结算报告): Chinese headers, one sheet per output.

Amounts are Excel numbers for reading; the exact values are in the CSV files.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import xlsxwriter

from shidian.capitation.model import TIER_LABELS
from shidian.capitation.settlement import Settlement


def write_report(s: Settlement, path: Path) -> None:
    book = xlsxwriter.Workbook(str(path), {"in_memory": True, "strings_to_numbers": False})
    book.set_properties({"title": "医共体按人头总额预付结算", "created": dt.datetime(2000, 1, 1)})
    header = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
    money = book.add_format({"num_format": "#,##0.00"})
    names = {c.community_id: c.name for c in s.inputs.communities}
    member_names = {m.institution_id: m.name for m in s.inputs.members}

    def sheet(title: str, columns: list[tuple[str, str]], rows: list[list[Any]]) -> None:
        ws = book.add_worksheet(title)
        for c, (label, kind) in enumerate(columns):
            ws.write_string(0, c, label, header)
            ws.set_column(c, c, 40 if kind == "wide" else 16)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row):
                kind = columns[c][1]
                if kind == "money":
                    ws.write_number(r, c, float(value), money)
                elif kind == "number":
                    ws.write_number(r, c, float(value))
                else:
                    ws.write_string(r, c, str(value))

    sheet(
        "预算构成",
        [("项目", "text"), ("金额(元)", "money"), ("依据", "text"), ("计算", "wide")],
        [[line.label, line.amount, line.article, line.formula] for line in s.budget.lines],
    )
    sheet(
        "季度预拨",
        [
            ("医共体编号", "text"),
            ("医共体名称", "text"),
            ("季度", "number"),
            ("最迟拨付日", "text"),
            ("金额(元)", "money"),
        ],
        [
            [p.community_id, names[p.community_id], p.quarter, p.due_on.isoformat(), p.amount]
            for p in s.prepayments
        ],
    )
    sheet(
        "年终结算",
        [
            ("医共体编号", "text"),
            ("医共体名称", "text"),
            ("参保人数", "number"),
            ("预算基金", "money"),
            ("已预拨", "money"),
            ("基金支出", "money"),
            ("结余", "money"),
            ("超支", "money"),
            ("合理超支", "money"),
            ("基金分担", "money"),
            ("其中风险金列支", "money"),
            ("医共体承担", "money"),
            ("结余留用", "money"),
        ],
        [
            [
                e.community_id,
                names[e.community_id],
                e.insured,
                e.pot,
                e.prepaid,
                e.spending,
                e.surplus,
                e.overspend,
                e.reasonable,
                e.fund_share,
                e.reserve_drawn,
                e.community_share,
                e.retained,
            ]
            for e in s.year_ends
        ],
    )
    sheet(
        "成员分配",
        [
            ("机构编号", "text"),
            ("机构名称", "text"),
            ("医共体编号", "text"),
            ("层级", "text"),
            ("考核得分", "number"),
            ("权重", "number"),
            ("本层级份额", "money"),
            ("分得结余(元)", "money"),
        ],
        [
            [
                sh.institution_id,
                member_names[sh.institution_id],
                sh.community_id,
                TIER_LABELS[sh.tier],
                sh.score,
                sh.weight,
                sh.tier_amount,
                sh.amount,
            ]
            for sh in s.shares
        ],
    )
    sheet(
        "自检",
        [("检查", "text"), ("说明", "wide"), ("通过", "text"), ("详情", "wide")],
        [[c.name, c.description, "是" if c.ok else "否", c.detail] for c in s.checks],
    )
    book.close()
