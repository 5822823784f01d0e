"""File adapters for pilot plans: the hierarchy, indicator values and findings as CSV/xlsx tables.

Read through ``shidian.tables`` (UTF-8 or GBK CSV, or xlsx, English or Chinese headers). The
hierarchy is checked by ``hierarchy.check_units``; values are turned into ``model.VALUES_SCHEMA``.
Results are written as CSV (UTF-8 with BOM, so Excel opens Chinese text) or xlsx.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import xlsxwriter

from shidian.pilots.hierarchy import check_units
from shidian.pilots.model import NUMBER, VALUES_SCHEMA, Plan
from shidian.problems import Problem, Source
from shidian.tables import Column, TableSpec, read_table

UNITS = TableSpec(
    "units",
    (
        Column("unit_code", "str", ("单位代码", "区划代码", "代码"), label="单位代码"),
        Column(
            "parent_code",
            "str",
            ("上级代码", "上级单位代码"),
            required=False,
            nullable=True,
            default="",
            label="上级代码",
        ),
        Column("level", "str", ("层级",), label="层级"),
        Column("name", "str", ("名称", "单位名称"), required=False, nullable=True, default="", label="名称"),
    ),
    key=("unit_code",),
)
VALUES = TableSpec(
    "values",
    (
        Column("unit_code", "str", ("单位代码", "区划代码"), label="单位代码"),
        Column("indicator_code", "str", ("指标代码",), label="指标代码"),
        Column("period_start", "date", ("报告期", "报告期开始日期", "期间"), label="报告期"),
        Column("population", "str", ("人群",), required=False, nullable=True, default="", label="人群"),
        Column("numerator", "decimal", ("分子", "数值", "数量"), label="分子"),
        Column("denominator", "decimal", ("分母",), required=False, nullable=True, label="分母"),
    ),
    key=("unit_code", "indicator_code", "period_start", "population"),
)
FINDINGS = TableSpec(
    "findings",
    (
        Column("unit_code", "str", ("单位代码",), label="单位代码"),
        Column("severity", "str", ("严重程度", "问题严重程度"), label="严重程度"),
    ),
)


def read_units(path: Path, plan: Plan) -> tuple[pa.Table | None, dict[str, str], list[Problem]]:
    """The hierarchy (``unit_code, parent_code, level``), the unit names, and every problem."""
    table, problems = read_table(path, UNITS)
    if table is None:
        return None, {}, problems
    problems += check_units(table, plan.levels, path.name)
    if any(p.severity == "error" for p in problems):
        return None, {}, problems
    names = dict(zip(table["unit_code"].to_pylist(), table["name"].to_pylist(), strict=True))
    return (
        table.select(["unit_code", "parent_code", "level"]),
        {k: v or "" for k, v in names.items()},
        problems,
    )


def read_values(path: Path, plan: Plan) -> tuple[pa.Table | None, list[Problem]]:
    """Indicator values in ``VALUES_SCHEMA``; unknown indicator codes are problems."""
    table, problems = read_table(path, VALUES)
    if table is None:
        return None, problems
    known = {i.code for i in plan.indicators}
    rows = table.select(["indicator_code", "_row"]).to_pylist()
    unknown = [r for r in rows if r["indicator_code"] not in known][:200]
    problems += [
        Problem(
            "pilots.values.unknown_indicator",
            f"指标代码 {r['indicator_code']} 不在方案中",
            Source(path.name, int(r["_row"]), "indicator_code"),
        )
        for r in unknown
    ]
    if unknown:
        return None, problems
    values = pa.table(
        {
            "unit_code": table["unit_code"],
            "indicator_code": table["indicator_code"],
            "period_start": table["period_start"],
            "population": table["population"],
            "numerator": table["numerator"].cast(NUMBER),
            "denominator": table["denominator"].cast(NUMBER),
        },
        schema=VALUES_SCHEMA,
    )
    return values, problems


def read_findings(path: Path) -> tuple[pa.Table | None, list[Problem]]:
    table, problems = read_table(path, FINDINGS)
    if table is None:
        return None, problems
    return table.select(["unit_code", "severity"]), problems


def write_table(table: pa.Table, path: Path, headers: dict[str, str] | None = None) -> None:
    """Write a table as CSV (UTF-8 with BOM) or xlsx by the suffix; ``headers`` renames columns."""
    names = [headers.get(c, c) if headers else c for c in table.column_names]
    rows = table.to_pylist()
    if path.suffix.lower() == ".xlsx":
        wb = xlsxwriter.Workbook(str(path))
        ws = wb.add_worksheet("结果")
        bold = wb.add_format({"bold": True})
        ws.write_row(0, 0, names, bold)
        for r, row in enumerate(rows, start=1):
            for c, v in enumerate(row.values()):
                if isinstance(v, bool) or v is None:
                    ws.write_string(r, c, "" if v is None else ("是" if v else "否"))
                elif isinstance(v, (int, Decimal)):
                    ws.write_number(r, c, float(v))  # display only: the CSV keeps the exact digits
                else:
                    ws.write_string(r, c, str(v))
        ws.freeze_panes(1, 0)
        wb.close()
        return
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(names)
        for row in rows:
            writer.writerow(["" if v is None else str(v) for v in row.values()])
