"""Score cards as Excel in the officials' layout (考核评分表): merged multi-row Chinese headers.

Layout (xlsxwriter): row 1 the title (plan name, 考核评分表, as-of date) merged across; rows 2–3
the headers — 排名 / 单位代码 / 单位名称 merged over two rows, then for each item a group header
"指标名称 (分值 N)" merged over its three columns 实际值 / 目标值 / 得分, then 指标得分合计,
督导扣分 (问题数 / 扣分), 总分 merged over two rows; one row per unit, best first; a second sheet
with a bar chart of the totals.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import xlsxwriter

from shidian.cells import XLSX_OPTIONS
from shidian.pilots.model import Plan
from shidian.pilots.scoring import Scores


def write_scorecard_xlsx(
    plan: Plan,
    scores: Scores,
    path: Path | BinaryIO,
    as_of: date,
    unit_names: Mapping[str, str] | None = None,
) -> None:
    """Write the score card workbook (see the module doc) to a path or a binary stream; built in
    memory (xlsxwriter writes no temporary files)."""
    names = unit_names or {}
    card = plan.scorecard
    items = list(card.items) if card else []
    ind_names = {i.code: i.name for i in plan.indicators}
    by_unit: dict[str, dict[int, dict[str, object]]] = {}
    for row in scores.items.to_pylist():
        by_unit.setdefault(str(row["unit_code"]), {})[int(row["item"])] = row
    totals = scores.totals.to_pylist()
    wb = xlsxwriter.Workbook(
        path if not isinstance(path, Path) else str(path), {"in_memory": True, **XLSX_OPTIONS}
    )
    title = wb.add_format({"bold": True, "font_size": 14, "align": "center", "valign": "vcenter"})
    head = wb.add_format(
        {
            "bold": True,
            "align": "center",
            "valign": "vcenter",
            "border": 1,
            "text_wrap": True,
            "bg_color": "#DDEBF7",
        }
    )
    text = wb.add_format({"border": 1})
    number = wb.add_format({"border": 1, "num_format": "0.00"})
    ws = wb.add_worksheet("考核评分表")
    n_cols = 3 + 3 * len(items) + 4
    ws.merge_range(0, 0, 0, n_cols - 1, f"{plan.name} 考核评分表 (截至 {as_of.isoformat()})", title)
    ws.set_row(0, 28)
    for col, label in enumerate(["排名", "单位代码", "单位名称"]):
        ws.merge_range(1, col, 2, col, label, head)
    for n, item in enumerate(items):
        first = 3 + 3 * n
        label = f"{item.name or ind_names.get(item.indicator, item.indicator)}"
        if item.population:
            label += f" ({item.population})"
        ws.merge_range(1, first, 1, first + 2, f"{label}\n分值 {item.weight}", head)
        for k, sub in enumerate(["实际值", "目标值", "得分"]):
            ws.write(2, first + k, sub, head)
    tail = 3 + 3 * len(items)
    ws.merge_range(1, tail, 2, tail, "指标得分合计", head)
    ws.merge_range(1, tail + 1, 1, tail + 2, "督导扣分", head)
    ws.write(2, tail + 1, "问题数", head)
    ws.write(2, tail + 2, "扣分", head)
    ws.merge_range(1, tail + 3, 2, tail + 3, "总分", head)
    ws.set_row(1, 36)
    for r, total in enumerate(totals, start=3):
        unit = str(total["unit_code"])
        ws.write(r, 0, int(total["rank"]), text)
        ws.write_string(r, 1, unit, text)
        ws.write(r, 2, names.get(unit, ""), text)
        for n in range(len(items)):
            row = by_unit.get(unit, {}).get(n, {})
            first = 3 + 3 * n
            for k, key in enumerate(["value", "target", "points"]):
                value = row.get(key)
                if isinstance(value, Decimal):
                    ws.write_number(r, first + k, float(value), number)
                else:
                    ws.write_blank(r, first + k, None, text)
        ws.write_number(r, tail, float(total["points"]), number)
        ws.write_number(r, tail + 1, int(total["findings"]), text)
        ws.write_number(r, tail + 2, float(total["deduction"]), number)
        ws.write_number(r, tail + 3, float(total["total"]), number)
    ws.set_column(0, 0, 6)
    ws.set_column(1, 1, 14)
    ws.set_column(2, 2, 18)
    ws.set_column(3, n_cols - 1, 10)
    ws.freeze_panes(3, 3)
    if totals:
        chart = wb.add_chart({"type": "bar"})
        last = 3 + len(totals) - 1
        chart.add_series(
            {
                "name": "总分",
                "categories": ["考核评分表", 3, 1, last, 1],
                "values": ["考核评分表", 3, tail + 3, last, tail + 3],
            }
        )
        chart.set_title({"name": "总分排名"})
        chart.set_legend({"none": True})
        cs = wb.add_worksheet("图表")
        cs.insert_chart(1, 1, chart, {"x_scale": 1.6, "y_scale": max(1.0, len(totals) / 15)})
    wb.close()


def totals_table_names(totals: pa.Table, names: Mapping[str, str]) -> list[dict[str, object]]:
    """The totals as rows with the unit name added (for pages and CSV)."""
    rows: list[dict[str, object]] = totals.to_pylist()
    for row in rows:
        row["unit_name"] = names.get(str(row["unit_code"]), "")
    return rows
