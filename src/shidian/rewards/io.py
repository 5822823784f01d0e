"""Reward files (以奖代补文件): rule files, fact tables in, allocations out (all or nothing).

Fact tables are CSV (UTF-8 or GBK) or ``.xlsx`` with English or Chinese headers, read through
``shidian.tables``: a unit table has ``unit_code`` (单位代码), optionally ``unit_name`` (单位名称),
and any of the rule file's facts, by name or Chinese label; the recipient list of a per-person
rule has ``recipient_id, unit_code, category, basis`` (interfaces.md shape 3). Outputs:
``allocations.csv``, ``explanations.csv``, ``recipients.csv`` (per-person rules),
``allocations.xlsx`` (Chinese headers; sheets 分配结果, 分配说明, 受益人, 阶段汇总, 自检) and
``run.json``, written together or not at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import xlsxwriter

from shidian.cells import XLSX_OPTIONS
from shidian.policy import read_reference_policy, reference_policy_names
from shidian.problems import Problem, Source
from shidian.rewards.allocation import Allocation
from shidian.rewards.facts import Facts, FactTable, check_facts
from shidian.rewards.model import STEP_LABELS
from shidian.rewards.rules import CUT_LABELS, RewardRules, Step, parse_rules
from shidian.runs import (
    file_sha256,
    output_hashes,
    run_record,
    staged_output,
    write_csv_tables,
    write_run_json,
)
from shidian.tables import Column, TableSpec, read_table

DOMAIN = "rewards"
#: Facts larger than this are refused (a trillion units is no county's fact).
FACT_MAX = Decimal("1e15")
UNIT_CODE = Column(
    "unit_code", "str", ("单位代码", "代码", "区划代码", "村代码", "机构代码"), label="单位代码"
)
UNIT_NAME = Column(
    "unit_name", "str", ("单位名称", "名称", "单位"), required=False, nullable=True, label="单位名称"
)
RECIPIENT_ID = Column("recipient_id", "str", ("受益人编号", "患者编号", "人员编号"), label="受益人编号")


def load_rules(
    name_or_path: str, overrides: Sequence[tuple[str, str]] = ()
) -> tuple[RewardRules | None, list[Problem]]:
    """A shipped rule file by name (``eldercare-2017``) or a TOML file by path."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            return None, [Problem("rewards.rules.file_missing", f"规则文件不存在: {path}", Source(str(path)))]
        return parse_rules(path.read_text(encoding="utf-8"), str(path), overrides)
    try:
        text, source = read_reference_policy(DOMAIN, name_or_path)
    except FileNotFoundError:
        known = ", ".join(reference_policy_names(DOMAIN))
        return None, [
            Problem(
                "rewards.rules.unknown",
                f"没有名为 {name_or_path} 的规则文件 (可选: {known})",
                Source("RULES"),
            )
        ]
    return parse_rules(text, source, overrides)


def shipped_rules() -> list[RewardRules]:
    """Every rule file shipped in ``policies/rewards/``, parsed (they are tested to be valid)."""
    found = []
    for name in reference_policy_names(DOMAIN):
        rules, _ = parse_rules(*read_reference_policy(DOMAIN, name))
        if rules is not None:
            found.append(rules)
    return found


def units_spec(rules: RewardRules) -> TableSpec:
    """A unit table: unit_code, unit_name and every fact, each optional (a table gives some)."""
    facts = tuple(
        Column(
            f.name,
            "decimal",
            (f.label,),
            required=False,
            min=f.min,
            max=f.max if f.max is not None else FACT_MAX,
            label=f.label,
        )
        for f in rules.facts
    )
    return TableSpec("units", (*_unit_columns(rules), *facts), key=("unit_code",))


def _unit_columns(rules: RewardRules) -> tuple[Column, Column]:
    """unit_code and unit_name, also under the fund's own word for a unit (区县代码, 行政村名称…)."""
    label = rules.fund.unit_label
    code = tuple(dict.fromkeys((*UNIT_CODE.aliases, f"{label}代码")))
    name = tuple(dict.fromkeys((*UNIT_NAME.aliases, f"{label}名称")))
    return (
        Column("unit_code", "str", code, label=f"{label}代码"),
        Column("unit_name", "str", name, required=False, nullable=True, label=f"{label}名称"),
    )


def recipients_spec(rules: RewardRules) -> TableSpec:
    """The recipient list of interfaces.md shape 3."""
    return TableSpec(
        "recipients",
        (
            RECIPIENT_ID,
            _unit_columns(rules)[0],
            Column("category", "str", ("类别", "奖励类别", "危险等级类别"), label="类别"),
            Column(
                "basis", "str", ("依据", "评估依据"), required=False, nullable=True, default="", label="依据"
            ),
        ),
        key=("recipient_id",),
    )


def _has_recipient_ids(path: Path, name: str) -> bool:
    probe = TableSpec(
        "probe", (Column("recipient_id", "str", RECIPIENT_ID.aliases, required=False, nullable=True),)
    )
    table, _ = read_table(path, probe, display_name=name, limit=1)
    return (
        table is not None and table.num_rows > 0 and table.column("recipient_id").null_count < table.num_rows
    )


def read_fact_tables(
    rules: RewardRules, paths: Sequence[Path], names: Sequence[str] | None = None
) -> tuple[Facts | None, list[Problem], dict[str, dict[str, Any]]]:
    """Read and join the fact tables; every problem of every file, or the joined facts.

    ``names`` are the display names (uploaded file names); default: the file names."""
    problems: list[Problem] = []
    tables: list[FactTable] = []
    manifest: dict[str, dict[str, Any]] = {}
    for index, path in enumerate(paths):
        name = names[index] if names else path.name
        if not path.is_file():
            problems.append(Problem("rewards.facts.file_missing", f"事实表不存在: {path}", Source(name)))
            continue
        people = rules.per_person and _has_recipient_ids(path, name)
        spec = recipients_spec(rules) if people else units_spec(rules)
        table, found = read_table(path, spec, display_name=name)
        problems += found
        if table is None:
            continue
        provided: tuple[str, ...] = ()
        if not people:
            provided = tuple(
                f.name
                for f in rules.facts
                if table.num_rows == 0 or table.column(f.name).null_count < table.num_rows
            )
        tables.append(FactTable(name, "recipients" if people else "units", provided, table))
        manifest[name] = {"sha256": file_sha256(path), "rows": table.num_rows}
    if problems:
        return None, problems, manifest
    facts, problems = check_facts(rules, tables)
    return facts, problems, manifest


# ---- outputs -----------------------------------------------------------------------------------


def units_csv(allocation: Allocation) -> pa.Table:
    return allocation.units.drop(["explanation"])


def explanations_csv(allocation: Allocation) -> pa.Table:
    return allocation.units.select(["unit_code", "unit_name", "total_yuan", "explanation"])


def write_allocation(
    allocation: Allocation, out_dir: Path, manifest: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Write every output into ``out_dir`` together, or nothing; returns the run record."""
    with staged_output(out_dir) as folder:
        tables = {"allocations.csv": units_csv(allocation), "explanations.csv": explanations_csv(allocation)}
        if allocation.recipients is not None:
            tables["recipients.csv"] = allocation.recipients
        write_csv_tables(folder, tables)
        write_workbook(allocation, folder / "allocations.xlsx")
        rules = allocation.rules
        record = run_record(
            "rewards.allocation",
            rules.as_policy(),
            manifest,
            output_hashes(folder),
            {
                "total_yuan": str(allocation.total),
                "returned_yuan": str(allocation.returned),
                "units": str(allocation.units.num_rows),
                "overrides": "; ".join(f"{k}={v}" for k, v in rules.overrides),
            },
            allocation.checks,
            0,
        )
        write_run_json(folder, record)
    return record


def stage_rows(allocation: Allocation) -> list[dict[str, Any]]:
    """One summary row per stage (阶段汇总), shared by the workbook, the CLI and the web page."""
    rules = allocation.rules
    rows = []
    for stage, result in zip(rules.stages, allocation.stages, strict=True):
        rows.append(
            {
                "stage": stage.title,
                "kind": stage.allocator.name,
                "pot": result.pot,
                "allocated": result.allocated,
                "cut_threshold": result.cut_threshold,
                "cut_cap": result.cut_cap,
                "returned": (result.pot - result.allocated) if result.pot is not None else None,
                "eligible": result.eligible,
                "capped": result.capped,
            }
        )
    return rows


def write_workbook(allocation: Allocation, path: Path) -> None:
    """allocations.xlsx: Chinese headers, amounts as Excel numbers (exact values in the CSV)."""
    rules = allocation.rules
    book = xlsxwriter.Workbook(str(path), {"in_memory": True, **XLSX_OPTIONS})
    book.set_properties({"title": rules.meta.name, "created": dt.datetime(2000, 1, 1)})
    bold = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
    money = book.add_format({"num_format": "#,##0.00"})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    label = rules.fund.unit_label

    def sheet(
        title: str, headers: list[str], rows: list[list[Any]], kinds: list[str], widths: list[int]
    ) -> None:
        ws = book.add_worksheet(title)
        for c, (h, w) in enumerate(zip(headers, widths, strict=True)):
            ws.write(0, c, h, bold)
            ws.set_column(c, c, w)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if kinds[c] == "money":
                    ws.write_number(r, c, float(value), money)
                elif kinds[c] == "number":
                    ws.write_number(r, c, float(value))
                else:
                    ws.write_string(r, c, str(value), wrap if kinds[c] == "wrap" else None)
        ws.freeze_panes(1, 0)

    units = allocation.units.to_pydict()
    facts = list(rules.facts)
    headers = [
        f"{label}代码",
        f"{label}名称",
        *[f.label for f in facts],
        *[f"{s.name}(元)" for s in rules.stages],
        "合计(元)",
    ]
    kinds = ["text", "text", *["number"] * len(facts), *["money"] * (len(rules.stages) + 1)]
    columns = [
        "unit_code",
        "unit_name",
        *[f.name for f in facts],
        *[f"{s.id}_yuan" for s in rules.stages],
        "total_yuan",
    ]
    rows = [list(r) for r in zip(*(units[c] for c in columns), strict=True)] if units["unit_code"] else []
    sheet("分配结果", headers, rows, kinds, [14, 18, *[14] * len(facts), *[18] * (len(rules.stages) + 1)])
    sheet(
        "分配说明",
        [f"{label}代码", f"{label}名称", "合计(元)", "计算说明"],
        [
            list(r)
            for r in zip(
                units["unit_code"], units["unit_name"], units["total_yuan"], units["explanation"], strict=True
            )
        ],
        ["text", "text", "money", "wrap"],
        [14, 18, 16, 120],
    )
    if allocation.recipients is not None:
        people = allocation.recipients.to_pydict()
        amount_cols = [f"{s.id}_yuan" for s in rules.stages if s.allocator.kind == "per_person"]
        sheet(
            "受益人",
            ["受益人编号", f"{label}代码", "类别", "依据", *["金额(元)"] * len(amount_cols), "计算说明"],
            [
                list(r)
                for r in zip(
                    *(
                        people[c]
                        for c in [
                            "recipient_id",
                            "unit_code",
                            "category",
                            "basis",
                            *amount_cols,
                            "explanation",
                        ]
                    ),
                    strict=True,
                )
            ],
            ["text", "text", "text", "text", *["money"] * len(amount_cols), "wrap"],
            [16, 14, 14, 40, *[14] * len(amount_cols), 80],
        )
    stage_headers = [
        "阶段",
        "分配方式",
        "本阶段资金(元)",
        "已分配(元)",
        "门槛核减(元)",
        "封顶核减(元)",
        "退回/未分配(元)",
        "达到门槛单位数",
        "封顶单位数",
    ]
    sheet(
        "阶段汇总",
        stage_headers,
        [list(r.values()) for r in stage_rows(allocation)],
        ["text", "text", "money", "money", "money", "money", "money", "number", "number"],
        [30, 24, 16, 16, 16, 16, 16, 14, 12],
    )
    checks = [[c.description, "通过" if c.ok else "未通过", c.detail] for c in allocation.checks]
    checks.insert(
        0,
        [
            "资金总额 / 核减去向",
            "",
            f"{rules.fund.pot if rules.fund.pot is not None else '不设总额 (据实奖补)'}; "
            f"核减资金{CUT_LABELS[rules.fund.cut]}",
        ],
    )
    sheet("自检", ["检查项", "结果", "说明"], checks, ["wrap", "text", "wrap"], [70, 10, 60])
    book.close()


def write_comparison(table: pa.Table, path: Path) -> None:
    """The what-if difference per unit as one CSV file."""
    with staged_output(path.parent) as folder:
        write_csv_tables(folder, {path.name: table})


def reference_markdown() -> str:
    """docs/policies/rewards.md: every shipped rule file, its facts, stages and steps."""
    lines = [
        "# Reward rule files (以奖代补规则文件)",
        "",
        "Generated from `src/shidian/policies/rewards/*.toml` by `make docs`; `tests/test_docs.py` checks it",
        "is current. The vocabulary and every choice made: [../rewards.md](../rewards.md).",
    ]
    for rules in shipped_rules():
        fund = rules.fund
        pot = "不设总额 (open-ended)" if fund.pot is None else f"{fund.pot} 元"
        lines += [
            "",
            f"## `{rules.meta.id}` — {rules.meta.name}",
            "",
            f"Seed: {rules.meta.seed}. Fund: {fund.name}, {pot}; cut amounts: `{fund.cut}` ({CUT_LABELS[fund.cut]}).",
            "",
        ]
        if rules.facts:
            lines += ["| fact | label | min | max | unit |", "| --- | --- | --- | --- | --- |"]
            for f in rules.facts:
                lines.append(
                    f"| `{f.name}` | {f.label} | {f.min} | {'' if f.max is None else f.max} | {f.unit} |"
                )
            lines.append("")
        lines += ["| stage | pot | step | kind | parameters |", "| --- | --- | --- | --- | --- |"]
        for stage in rules.stages:
            stage_pot = rules.stage_pot(stage)
            for step in stage.steps:
                lines.append(
                    f"| {stage.name} (`{stage.id}`) | {'' if stage_pot is None else stage_pot} | {step.name} (`{step.id}`) "
                    f"| `{step.kind}` {STEP_LABELS[step.kind]} | {_step_parameters(step)} |"
                )
    return "\n".join(lines) + "\n"


def _step_parameters(step: Step) -> str:
    if step.kind == "threshold":
        return f"`{step.fact}` ≥ {step.min}"
    if step.kind == "share":
        return " × ".join(f"`{w}`" for w in step.weight)
    if step.kind == "rate":
        return f"`{step.quantity}` × {step.rate} 元"
    if step.kind == "per_person":
        return ", ".join(f"{step.labels.get(c, c)} `{c}` {r} 元" for c, r in step.rates.items())
    if step.kind == "own_funds":
        return f"`{step.base}` − 前阶段应拨 (剩余经费)" if step.rest else f"`{step.base}` × {step.ratio}"
    if step.kind == "bands":
        return "; ".join(f"`{step.fact}` ≥ {low}: × {ratio}" for low, ratio in step.bands) + "; 其余 × 0"
    if step.kind == "cap":
        cut = f", `{step.cut}`" if step.cut else ""
        return (f"{step.max} 元" if step.max is not None else f"`{step.max_fact}` × {step.ratio}") + cut
    return "" if step.amount is None else f"{step.amount} 元"
