"""A plan as an Excel workbook (方案填报表) officials can fill in, and back.

One sheet per section with Chinese headers (方案, 工作目标, 层级, 地区, 人群, 成员单位, 领导小组,
阶段, 责任清单, 指标, 目标, 评分表, 扣分, 备注). Choices are written in Chinese (率, 求和, ≥ …)
and read in Chinese or English; lists inside a cell are separated by ``、`` (units) or ``；``
(steps, milestones ``2020-12-31:50；2021-12-31:80``, thresholds ``80:1；70:0.6``). The workbook
is read into the same plain data as the YAML file and validated by ``plan_file.plan_from_data``;
a problem names the sheet and row (``plan.xlsx#指标:5``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.styles import Alignment, Font, PatternFill

from shidian.cells import openpyxl_text
from shidian.pilots.model import Plan
from shidian.pilots.plan_file import load_plan, plan_from_data, plan_to_data
from shidian.problems import Problem, ProblemsError, Source

KIND_LABELS = {"count": "数量", "rate": "率", "amount": "金额", "yes_no": "是否"}
AGGREGATION_LABELS = {"sum": "求和", "ratio": "分子分母分别求和", "share": "是的比例", "none": "不汇总"}
SOURCE_LABELS = {"report": "报表", "registry": "登记系统"}
ACCUMULATE_LABELS = {"latest": "最新值", "cumulative": "累计"}
PERIOD_LABELS = {"month": "月", "quarter": "季", "year": "年"}
PATH_LABELS = {"linear": "线性", "step": "阶梯"}
RULE_LABELS = {"linear": "线性", "thresholds": "阈值", "achieved": "达标"}
PLAN_KIND_LABELS = {"plan": "试点方案", "campaign": "专项行动"}

#: Sheet name → (section key, [(header, field)]).
SHEETS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "工作目标": ("objectives", [("目标", "text")]),
    "层级": ("levels", [("代码", "code"), ("名称", "name"), ("代码位数", "digits")]),
    "地区": ("areas", [("代码", "code"), ("名称", "name"), ("上级代码", "parent"), ("层级", "level")]),
    "人群": ("populations", [("代码", "code"), ("名称", "name")]),
    "成员单位": ("units", [("代码", "code"), ("名称", "name")]),
    "阶段": (
        "phases",
        [
            ("代码", "code"),
            ("名称", "name"),
            ("开始日期", "start"),
            ("结束日期", "end"),
            ("工作步骤", "steps"),
        ],
    ),
    "责任清单": (
        "tasks",
        [
            ("任务代码", "code"),
            ("任务名称", "name"),
            ("牵头单位", "lead"),
            ("配合单位", "partners"),
            ("完成期限", "deadline"),
            ("阶段", "phase"),
            ("说明", "description"),
        ],
    ),
    "指标": (
        "indicators",
        [
            ("指标代码", "code"),
            ("指标名称", "name"),
            ("计量单位", "unit"),
            ("类型", "kind"),
            ("报告层级", "reported_by"),
            ("汇总方式", "aggregation"),
            ("数据来源", "source"),
            ("换算倍数", "scale"),
            ("累计方式", "accumulate"),
            ("关联任务", "task"),
            ("依据", "basis"),
        ],
    ),
    "目标": (
        "targets",
        [
            ("指标代码", "indicator"),
            ("人群", "population"),
            ("适用层级", "level"),
            ("目标值", "value"),
            ("方向", "direction"),
            ("完成期限", "deadline"),
            ("基线值", "baseline"),
            ("起始日期", "start"),
            ("进度路径", "path"),
            ("阶段目标", "milestones"),
            ("依据", "basis"),
        ],
    ),
    "评分表": (
        "items",
        [
            ("指标代码", "indicator"),
            ("项目名称", "name"),
            ("分值", "weight"),
            ("计分规则", "rule"),
            ("人群", "population"),
            ("阈值", "thresholds"),
        ],
    ),
    "扣分": ("deductions", [("问题严重程度", "severity"), ("每项扣分", "points"), ("扣分上限", "cap")]),
    "备注": ("notes", [("备注", "text")]),
}

_PLAN_FIELDS = [
    ("方案代码", "code"),
    ("方案名称", "name"),
    ("来源", "seed"),
    ("类型", "kind"),
    ("开始日期", "start"),
    ("结束日期", "end"),
    ("报告周期", "period"),
    ("评分满分", "scorecard.total"),
    ("评分层级", "scorecard.level"),
]
_GROUP_FIELDS = [
    ("名称", "name"),
    ("组长", "head"),
    ("办公室", "office"),
    ("办公室所在单位", "office_unit"),
    ("成员单位", "members"),
]
_LABELS = {
    "kind": KIND_LABELS,
    "aggregation": AGGREGATION_LABELS,
    "source": SOURCE_LABELS,
    "accumulate": ACCUMULATE_LABELS,
    "period": PERIOD_LABELS,
    "path": PATH_LABELS,
    "rule": RULE_LABELS,
    "plan_kind": PLAN_KIND_LABELS,
}
_LIST_FIELDS = {"lead", "partners", "members"}
_HEADER = Font(bold=True)
_FILL = PatternFill("solid", fgColor="DDEBF7")


# ---------------------------------------------------------------------------------------------
# Writing


def write_plan_xlsx(plan: Plan, path: Path) -> None:
    """Write the plan as a workbook, one sheet per section."""
    data = plan_to_data(plan)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "方案"
    _header(ws, ["项目", "内容"])
    card = data.get("scorecard", {})
    for label, key in _PLAN_FIELDS:
        value = card.get(key.split(".")[1], "") if key.startswith("scorecard.") else data.get(key, "")
        if key == "kind":
            value = PLAN_KIND_LABELS.get(str(value), value)
        elif key == "period":
            value = PERIOD_LABELS.get(str(value), value)
        ws.append([label, _cell(value)])
    ws.column_dimensions["A"].width = 14
    ws.column_dimensions["B"].width = 60
    group = data.get("leading_group") or {}
    gs = wb.create_sheet("领导小组")
    _header(gs, ["项目", "内容"])
    for label, key in _GROUP_FIELDS:
        gs.append([label, _cell(group.get(key, ""), key)])
    for sheet, (section, columns) in SHEETS.items():
        ws = wb.create_sheet(sheet)
        _header(ws, [h for h, _ in columns])
        for row in _section_rows(data, section):
            ws.append([_cell(row.get(field, ""), field) for _, field in columns])
        for n, (header, _) in enumerate(columns):
            ws.column_dimensions[openpyxl.utils.get_column_letter(n + 1)].width = max(10, len(header) * 3)
    for sheet in wb.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                openpyxl_text(cell)
    wb.save(path)


def _section_rows(data: dict[str, Any], section: str) -> Iterable[dict[str, Any]]:
    if section in ("objectives", "notes"):
        return [{"text": t} for t in data.get(section, [])]
    if section == "targets":
        return [
            {"indicator": i["code"], **t} for i in data.get("indicators", []) for t in i.get("targets", [])
        ]
    if section in ("items", "deductions"):
        return list(data.get("scorecard", {}).get(section, []))
    rows: list[dict[str, Any]] = data.get(section, [])
    return rows


def _header(ws: Any, headers: list[str]) -> None:
    ws.append(headers)
    for cell in ws[1]:
        cell.font = _HEADER
        cell.fill = _FILL
        cell.alignment = Alignment(horizontal="center")
    ws.freeze_panes = "A2"


def _cell(value: Any, field: str = "") -> Any:
    if field in _LABELS and isinstance(value, str):
        return _LABELS[field].get(value, value)
    if field in _LIST_FIELDS and isinstance(value, list):
        return "、".join(str(v) for v in value)
    if field == "steps" and isinstance(value, list):
        return "；".join(str(v) for v in value)
    if field == "milestones" and isinstance(value, list):
        return "；".join(f"{m['due']}:{m['value']}" for m in value)
    if field == "thresholds" and isinstance(value, list):
        return "；".join(f"{a}:{b}" for a, b in value)
    if isinstance(value, Decimal):
        return str(value)
    if value is None:
        return ""
    return value


# ---------------------------------------------------------------------------------------------
# Reading


def load_plan_file(path: Path | str) -> Plan:
    """Read and validate a plan file, YAML (``plan_file.load_plan``) or .xlsx/.xlsm (this
    module); raise ``ProblemsError`` with every problem when it has errors."""
    path = Path(path)
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        return load_plan(path)
    plan, problems = read_plan_xlsx(path)
    if plan is None:
        raise ProblemsError(problems)
    return plan


def read_plan_xlsx(path: Path) -> tuple[Plan | None, list[Problem]]:
    """Read a workbook written by ``write_plan_xlsx`` (or filled in by hand) and validate it."""
    name = path.name
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        return None, [Problem("pilots.plan.unreadable", f"无法读取 Excel 方案: {exc}", Source(name))]
    problems: list[Problem] = []
    lines: dict[str, int] = {}
    data: dict[str, Any] = {}
    if "方案" not in wb.sheetnames:
        return None, [Problem("pilots.plan.sheet_missing", "缺少工作表 方案", Source(name))]
    card: dict[str, Any] = {}
    for row in _rows(wb["方案"]):
        label = str(row[0] or "").strip()
        key = next((k for lab, k in _PLAN_FIELDS if lab == label), None)
        value = row[1] if len(row) > 1 else None
        if key is None or value in (None, ""):
            continue
        if key.startswith("scorecard."):
            card[key.split(".")[1]] = value
        elif key == "kind":
            data[key] = _unlabel("plan_kind", value)
        elif key == "period":
            data[key] = _unlabel("period", value)
        else:
            data[key] = value
    if "领导小组" in wb.sheetnames:
        group: dict[str, Any] = {}
        for row in _rows(wb["领导小组"]):
            label = str(row[0] or "").strip()
            key = next((k for lab, k in _GROUP_FIELDS if lab == label), None)
            value = row[1] if len(row) > 1 else None
            if key and value not in (None, ""):
                group[key] = _split(value, "、") if key == "members" else value
        if group:
            data["leading_group"] = group
    targets: list[tuple[int, dict[str, Any]]] = []
    for sheet, (section, columns) in SHEETS.items():
        if sheet not in wb.sheetnames:
            continue
        ws = wb[sheet]
        rows = list(ws.iter_rows(values_only=True))
        if not rows:
            continue
        headers = [str(h or "").strip() for h in rows[0]]
        index = {h: n for n, h in enumerate(headers)}
        missing = [h for h, _ in columns[:1] if h not in index]
        if missing:
            problems.append(
                Problem(
                    "pilots.plan.column_missing",
                    f"工作表 {sheet} 缺少列 {missing[0]}",
                    Source(f"{name}#{sheet}", 1),
                )
            )
            continue
        records = []
        for excel_row, values in enumerate(rows[1:], start=2):
            if all(v in (None, "") for v in values):
                continue
            record: dict[str, Any] = {}
            for header, field in columns:
                n = index.get(header)
                value = values[n] if n is not None and n < len(values) else None
                if value in (None, ""):
                    continue
                record[field] = _read_value(field, value)
            records.append((excel_row, record))
        if section in ("objectives", "notes"):
            data[section] = [r.get("text", "") for _, r in records]
            for i, (excel_row, _) in enumerate(records):
                lines[f"{section}[{i}]"] = excel_row
        elif section == "targets":
            targets = records
        elif section in ("items", "deductions"):
            card[section] = [r for _, r in records]
            for i, (excel_row, _) in enumerate(records):
                lines[f"scorecard.{section}[{i}]"] = excel_row
        else:
            data[section] = [r for _, r in records]
            for i, (excel_row, _) in enumerate(records):
                lines[f"{section}[{i}]"] = excel_row
    by_code = {ind.get("code"): ind for ind in data.get("indicators", [])}
    for excel_row, target in targets:
        code = target.pop("indicator", None)
        indicator = by_code.get(code)
        if indicator is None:
            problems.append(
                Problem(
                    "pilots.plan.unknown_indicator",
                    f"目标所属指标 {code} 未在 指标 工作表中列出",
                    Source(f"{name}#目标", excel_row, "指标代码"),
                )
            )
            continue
        indicator.setdefault("targets", []).append(target)
        position = list(by_code).index(code)
        lines[f"indicators[{position}].targets[{len(indicator['targets']) - 1}]"] = excel_row
    if card.get("items"):
        data["scorecard"] = card
    plan, found = plan_from_data(data, name, lines)
    return (plan if not problems else None), problems + found


def _rows(ws: Any) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in ws.iter_rows(min_row=2, values_only=True)]


def _unlabel(field: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip()
    reverse = {label: code for code, label in _LABELS[field].items()}
    return reverse.get(text, text)


def _split(value: Any, sep: str) -> list[str]:
    text = str(value).replace(",", sep).replace("，", sep).replace(";", sep).replace("；", sep)
    return [part.strip() for part in text.split(sep) if part.strip()]


def _read_value(field: str, value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date()
    if field in _LABELS:
        return _unlabel(field, value)
    if field in _LIST_FIELDS:
        return _split(value, "、")
    if field == "steps":
        return _split(value, "；")
    if field == "milestones":
        out = []
        for part in _split(value, "；"):
            due, _, amount = part.partition(":")
            out.append({"due": due.strip(), "value": amount.strip()})
        return out
    if field == "thresholds":
        pairs = []
        for part in _split(value, "；"):
            at, _, share = part.partition(":")
            pairs.append([at.strip(), share.strip()])
        return pairs
    if isinstance(value, float) and value == int(value):
        return int(value)
    if isinstance(value, date):
        return value
    return value
