"""File adapters for pilot plans: the hierarchy, indicator values and findings as CSV/xlsx tables.

Read through ``shidian.tables`` (UTF-8 or GBK CSV, or xlsx, English or Chinese headers). The
hierarchy is checked by ``hierarchy.check_units``; values are turned into ``model.VALUES_SCHEMA``.
Results are written as CSV (UTF-8 with BOM, so Excel opens Chinese text) or xlsx.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pyarrow as pa
import xlsxwriter

from shidian.cells import XLSX_OPTIONS, csv_row
from shidian.pilots.hierarchy import check_units
from shidian.pilots.model import NUMBER, VALUES_SCHEMA, Plan, Scorecard
from shidian.pilots.supervision import SEVERITIES, severity_code
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
        Column(
            "severity",
            "str",
            ("严重程度", "问题严重程度"),
            nullable=True,
            default="",
            label="严重程度",
        ),
        # read as text and checked row by row here, so that a bad deduction is reported together
        # with the rows whose severity is unknown (every problem at once)
        Column(
            "points",
            "str",
            ("扣分", "deduction_points", "扣分值"),
            required=False,
            nullable=True,
            label="扣分",
        ),
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


def read_findings(
    path: Path, card: Scorecard | None, scored: Mapping[str, str] | None = None
) -> tuple[pa.Table | None, list[Problem]]:
    """Supervision findings (督导发现问题): ``unit_code, severity, points``, one row per finding.

    A severity is the card's own word or any word of ``supervision.SEVERITY_WORDS`` (严重 / 较重 /
    一般 / 轻微, serious / major / minor) for a severity the card lists; the optional deduction
    column (扣分 / deduction_points, 0–100, two decimals) gives the finding's own points. A row
    whose severity the card does not list and that gives no deduction, or a deduction that is not
    such a number, is a Problem naming the file, row and column; every problem at once.

    ``scored`` maps the code of every unit of the plan to its level: a finding of a unit the plan
    does not have is an error (its deduction would vanish); one of a unit at another level than
    the score card's is a warning (the card does not score it, so it deducts nothing).
    """
    table, problems = read_table(path, FINDINGS)
    if table is None:
        return None, problems
    listed = [d.severity for d in card.deductions] if card is not None else []
    by_code = {severity_code(s) or s: s for s in reversed(listed)}
    severities: list[str] = []
    points: list[Decimal | None] = []
    for row in table.select(["unit_code", "severity", "points", "_row"]).to_pylist():
        word, line = (row["severity"] or "").strip(), int(row["_row"])
        if scored is not None:
            problems += _unit_problems(row["unit_code"], scored, card, Source(path.name, line, "unit_code"))
        given, problem = _deduction(row["points"], Source(path.name, line, "points"))
        if problem is not None:
            problems.append(problem)
        severity = word if word in listed else by_code.get(severity_code(word) or word, word)
        if severity not in listed and given is None and problem is None:
            choices = " / ".join(f"{s} ({SEVERITIES.get(s, s)})" for s in listed) or "评分表未列扣分等级"
            problems.append(
                Problem(
                    "pilots.findings.unknown_severity",
                    f"严重程度 {word or '(空)'} 不是评分表的扣分等级 ({choices}), 也没有给出扣分 "
                    "(扣分 / deduction_points): 这条问题会不扣分",
                    Source(path.name, line, "severity"),
                )
            )
        severities.append(severity)
        points.append(given)
    if any(p.severity == "error" for p in problems):
        return None, problems
    found = pa.table(
        {
            "unit_code": table["unit_code"],
            "severity": pa.array(severities, pa.string()),
            "points": pa.array(points, pa.decimal128(38, 8)).cast(pa.decimal128(18, 2)),
        }
    )
    return found, problems


def _unit_problems(
    code: str | None, scored: Mapping[str, str], card: Scorecard | None, where: Source
) -> list[Problem]:
    """A finding's unit must be one of the plan's, at the level the score card scores."""
    if code is None or code not in scored:
        return [
            Problem(
                "pilots.findings.unknown_unit",
                f"单位代码 {code or '(空)'} 不在方案的单位中: 这条问题会不扣分 (unknown unit)",
                where,
            )
        ]
    level = card.level if card is not None else ""
    if level and scored[code] != level:
        return [
            Problem(
                "pilots.findings.other_level",
                f"单位 {code} 属于 {scored[code]} 层级, 评分表只考核 {level} 层级: 这条问题不扣分",
                where,
                "warning",
            )
        ]
    return []


def _deduction(text: str | None, where: Source) -> tuple[Decimal | None, Problem | None]:
    """A finding's own deduction (扣分): blank, or a number from 0 to 100 with at most two decimals."""
    if text is None or not text.strip():
        return None, None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        return None, Problem("pilots.findings.points_invalid", f"扣分 {text} 不是数字", where)
    if not Decimal(0) <= value <= Decimal(100):
        return None, Problem("pilots.findings.points_invalid", f"扣分 {text} 应在 0 到 100 之间", where)
    if value != value.quantize(Decimal("0.01")):
        return None, Problem("pilots.findings.points_invalid", f"扣分 {text} 最多两位小数", where)
    return value, None


def write_table(table: pa.Table, path: Path, headers: dict[str, str] | None = None) -> None:
    """Write a table as CSV (UTF-8 with BOM) or xlsx by the suffix; ``headers`` renames columns."""
    names = [headers.get(c, c) if headers else c for c in table.column_names]
    rows = table.to_pylist()
    if path.suffix.lower() == ".xlsx":
        wb = xlsxwriter.Workbook(str(path), {"in_memory": True, **XLSX_OPTIONS})
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
        writer.writerow(csv_row(names))
        for row in rows:
            writer.writerow(csv_row("" if v is None else str(v) for v in row.values()))
