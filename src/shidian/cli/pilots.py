"""``shidian pilots``: pilot plans (试点方案) — templates, checks, attainment and score cards."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from shidian.cli.output import err, fail_with_problems, out, show
from shidian.problems import Problem, ProblemsError, Source, format_problems

if TYPE_CHECKING:
    import pyarrow as pa

    from shidian.pilots.model import Plan

app = typer.Typer(
    help="试点方案: 模板、校验、目标进度 (红黄绿) 与考核评分 (pilot plans).", no_args_is_help=True
)

UnitsOption = Annotated[
    Path, typer.Option("--units", help="层级表 units.csv/xlsx: 单位代码, 上级代码, 层级, 名称")
]
ValuesOption = Annotated[
    Path,
    typer.Option("--values", help="指标数据 values.csv/xlsx: 单位代码, 指标代码, 报告期, 人群, 分子, 分母"),
]
AsOfOption = Annotated[str, typer.Option("--as-of", help="统计截止日期 YYYY-MM-DD")]
JsonOption = Annotated[bool, typer.Option("--json", help="以 JSON 输出问题")]

_ATTAINMENT_HEADERS = {
    "unit_code": "单位代码",
    "unit_name": "单位名称",
    "level": "层级",
    "indicator_code": "指标代码",
    "indicator_name": "指标名称",
    "population": "人群",
    "target_index": "目标序号",
    "period_start": "数据期",
    "value": "实际值",
    "target": "目标值",
    "direction": "方向",
    "deadline": "完成期限",
    "expected": "应达进度值",
    "status": "状态",
    "colour": "颜色",
    "status_label": "状态说明",
    "has_data": "有数据",
}


def _load(plan_path: Path, as_json: bool) -> Plan:
    from shidian.pilots.plan_excel import load_plan_file

    try:
        return load_plan_file(plan_path)
    except ProblemsError as exc:
        fail_with_problems(exc.problems, as_json)
        raise  # unreachable: fail_with_problems exits


def _as_of(text: str, as_json: bool) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail_with_problems(
            [Problem("pilots.cli.as_of", f"--as-of 应是日期 YYYY-MM-DD, 实为 {text}", Source("<cli>"))],
            as_json,
        )
        raise


def _inputs(
    plan: Plan, units: Path, values: Path, as_json: bool
) -> tuple[pa.Table, pa.Table, dict[str, str]]:
    from shidian.pilots.io import read_units, read_values

    unit_table, names, problems = read_units(units, plan)
    value_table, more = read_values(values, plan)
    problems += more
    if unit_table is None or value_table is None:
        fail_with_problems(problems, as_json)
    assert unit_table is not None and value_table is not None
    return unit_table, value_table, names


@app.command("template")
def template_command(
    name: Annotated[
        str,
        typer.Argument(
            help="模板名: psy-service, county-medical-community, drg-reform, medical-beauty-campaign"
        ),
    ],
    out_path: Annotated[Path, typer.Argument(help="输出文件: .yaml (含种子原文注释) 或 .xlsx (填报表)")],
) -> None:
    """写出一个内置方案模板 (write a shipped plan template as YAML or an Excel form)."""
    from shidian.pilots.plan_excel import write_plan_xlsx
    from shidian.pilots.plan_file import TEMPLATES, load_template

    if name not in TEMPLATES:
        fail_with_problems(
            [
                Problem(
                    "pilots.template.unknown",
                    f"没有模板 {name} (可用: {', '.join(TEMPLATES)})",
                    Source("<cli>"),
                )
            ],
            False,
        )
    if out_path.suffix.lower() == ".xlsx":
        write_plan_xlsx(load_template(name), out_path)
    else:
        shutil.copyfile(TEMPLATES[name], out_path)
    out.print(f"模板 {name} 已写入 {out_path}")


@app.command("check")
def check_command(
    plan_path: Annotated[Path, typer.Argument(help="方案文件 (.yaml 或 .xlsx)")], as_json: JsonOption = False
) -> None:
    """校验方案文件, 列出全部问题 (validate a plan file; exit 1 on errors)."""
    from shidian.pilots.plan_excel import load_plan_file
    from shidian.pilots.plan_file import parse_plan

    if plan_path.suffix.lower() in (".yaml", ".yml") and plan_path.is_file():
        plan, problems = parse_plan(plan_path.read_text(encoding="utf-8"), plan_path.name)
    else:
        try:
            plan, problems = load_plan_file(plan_path), []
        except ProblemsError as exc:
            plan, problems = None, exc.problems
    if plan is None:
        fail_with_problems(problems, as_json)
    assert plan is not None
    if as_json:
        typer.echo(json.dumps({"ok": True, "problems": [p.to_dict() for p in problems]}, ensure_ascii=False))
        return
    if problems:
        typer.echo(format_problems(problems), err=True)
    targets = sum(len(i.targets) for i in plan.indicators)
    out.print(
        f"方案 {plan.code} {plan.name}: {len(plan.phases)} 个阶段, {len(plan.tasks)} 项任务, "
        f"{len(plan.indicators)} 个指标, {targets} 个目标 — 校验通过"
    )


@app.command("status")
def status_command(
    plan_path: Annotated[Path, typer.Argument(help="方案文件 (.yaml 或 .xlsx)")],
    units: UnitsOption,
    values: ValuesOption,
    as_of: AsOfOption,
    out_path: Annotated[Path | None, typer.Option("--out", help="写出目标进度表 (.csv 或 .xlsx)")] = None,
    level: Annotated[str | None, typer.Option("--level", help="只显示此层级的单位")] = None,
    as_json: JsonOption = False,
) -> None:
    """各单位各目标的达成进度 (红黄绿) 与督导名单 (attainment per unit, and the lagging units)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from shidian.pilots.aggregate import aggregate
    from shidian.pilots.attainment import attainment, lagging_units
    from shidian.pilots.io import write_table

    plan = _load(plan_path, as_json)
    day = _as_of(as_of, as_json)
    unit_table, value_table, names = _inputs(plan, units, values, as_json)
    attained = attainment(plan, aggregate(plan, unit_table, value_table), day)
    if level:
        attained = attained.filter(pc.equal(attained["level"], level))
    named = attained.add_column(
        1, "unit_name", pa.array([names.get(u, "") for u in attained["unit_code"].to_pylist()], pa.string())
    )
    if out_path is not None:
        write_table(named, out_path, _ATTAINMENT_HEADERS)
    counts = {s: 0 for s in ("achieved", "on_track", "lagging", "overdue")}
    for s in attained["status"].to_pylist():
        counts[s] += 1
    table = Table(title=f"{plan.name} · 截至 {day}")
    for header in ("已达标", "进度正常", "进度滞后", "逾期未达标"):
        table.add_column(header, justify="right")
    table.add_row(*(str(counts[s]) for s in ("achieved", "on_track", "lagging", "overdue")))
    show(table)
    lagging = lagging_units(attained).slice(0, 20).to_pylist()
    if lagging:
        lt = Table(title="督导名单 (前 20)")
        for header in ("单位代码", "单位名称", "层级", "逾期", "滞后", "指标"):
            lt.add_column(header)
        for r in lagging:
            lt.add_row(
                r["unit_code"],
                names.get(r["unit_code"], ""),
                r["level"],
                str(r["overdue"]),
                str(r["lagging"]),
                r["indicators"],
            )
        out.print(lt)
    if out_path is not None:
        out.print(f"目标进度表已写入 {out_path}")


@app.command("scorecard")
def scorecard_command(
    plan_path: Annotated[Path, typer.Argument(help="方案文件 (含 scorecard 评分表)")],
    units: UnitsOption,
    values: ValuesOption,
    as_of: AsOfOption,
    out_path: Annotated[Path, typer.Option("--out", help="考核评分表 .xlsx (或 .csv 只写总分)")],
    findings: Annotated[
        Path | None,
        typer.Option(
            "--findings",
            help="督导发现问题 findings.csv: 单位代码, 严重程度 (严重/较重/一般/轻微), 扣分 (可选)",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """考核评分与排名, 写出考核评分表 Excel (score card, ranking, officials' Excel layout)."""
    from shidian.pilots.aggregate import aggregate
    from shidian.pilots.attainment import attainment
    from shidian.pilots.io import read_findings, write_table
    from shidian.pilots.scorecard_excel import write_scorecard_xlsx
    from shidian.pilots.scoring import score

    plan = _load(plan_path, as_json)
    if plan.scorecard is None:
        fail_with_problems(
            [
                Problem(
                    "pilots.scorecard.missing",
                    "方案没有 scorecard (考核评分表)",
                    Source(plan_path.name, key="scorecard"),
                )
            ],
            as_json,
        )
    day = _as_of(as_of, as_json)
    unit_table, value_table, names = _inputs(plan, units, values, as_json)
    attained = attainment(plan, aggregate(plan, unit_table, value_table), day)
    found = None
    if findings is not None:
        levels = dict(zip(attained["unit_code"].to_pylist(), attained["level"].to_pylist(), strict=True))
        found, problems = read_findings(findings, plan.scorecard, levels)
        if found is None:
            fail_with_problems(problems, as_json)
        for problem in problems:  # warnings: findings the card does not score
            err.print(str(problem))
    scores = score(plan, attained, found)
    if out_path.suffix.lower() == ".xlsx":
        write_scorecard_xlsx(plan, scores, out_path, day, names)
    else:
        write_table(scores.totals, out_path)
    table = Table(title=f"{plan.name} 考核评分 (截至 {day})")
    for header in ("排名", "单位代码", "单位名称", "指标得分", "扣分", "总分"):
        table.add_column(header)
    for r in scores.totals.slice(0, 20).to_pylist():
        table.add_row(
            str(r["rank"]),
            r["unit_code"],
            names.get(r["unit_code"], ""),
            str(r["points"]),
            str(r["deduction"]),
            str(r["total"]),
        )
    show(table)
    out.print(f"考核评分表已写入 {out_path}")
