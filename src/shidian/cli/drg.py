"""``shidian drg``: DRG point-method settlement (总额预算下DRG点数法付费)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from shidian.cli.output import fail_with_problems, out, print_policy, progress_steps
from shidian.drg.io import read_inputs, write_outputs
from shidian.drg.policy import PARAMS, DrgPolicy, parse_drg_policy
from shidian.drg.run_files import load_case_explanation, read_run_record
from shidian.drg.settlement import settle
from shidian.policy import load_named_policy
from shidian.problems import Problem, Source

app = typer.Typer(help="DRG点数法付费 (DRG point-method payment).", no_args_is_help=True)

PolicyOption = Annotated[str, typer.Option("--policy", help="参考政策名, 如 guigang-2020 或 shanwei-2021")]
PolicyFileOption = Annotated[
    Path | None, typer.Option("--policy-file", help="自定义政策文件 (TOML), 优先于 --policy")
]


def load_drg_policy(name: str, policy_file: Path | None) -> tuple[DrgPolicy | None, list[Problem]]:
    """The policy named, or the file given; problems name the file, key and line."""
    return load_named_policy("drg", name, policy_file, parse_drg_policy)


@app.command("settle")
def settle_command(
    data_dir: Annotated[
        Path, typer.Argument(help="输入目录: hospitals, drg_groups, cases, settlement.toml …")
    ],
    out: Annotated[Path, typer.Option("--out", help="输出目录 (只在全部成功后写入)")],
    policy: PolicyOption = "guigang-2020",
    policy_file: PolicyFileOption = None,
    report_cases: Annotated[
        bool | None,
        typer.Option(
            "--report-cases/--no-report-cases", help="report.xlsx 是否包含病例明细 (默认: 放得下就包含)"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出结果或问题")] = False,
) -> None:
    """结算一个统筹区一个年度: 病例点数、月度点值与预拨、年终清算, 写出报表 (settle a year)."""
    loaded, problems = load_drg_policy(policy, policy_file)
    if loaded is None:
        fail_with_problems(problems, as_json)
    assert loaded is not None
    if not data_dir.is_dir():
        fail_with_problems(
            [Problem("drg.input.missing_dir", f"输入目录不存在: {data_dir}", Source(str(data_dir)))], as_json
        )
    with progress_steps(not as_json) as step:
        step("读取输入 reading inputs")
        inputs, problems, manifest = read_inputs(data_dir)
        result = None
        if inputs is not None:
            result, problems = settle(inputs, loaded, progress=step)
        if result is not None and result.ok and inputs is not None:
            step("写出结果 writing outputs")
            record = write_outputs(
                result,
                out,
                policy=loaded,
                manifest=manifest,
                hospitals=inputs.hospitals,
                report_cases=report_cases,
            )
    if result is None:
        fail_with_problems(problems, as_json)
    assert result is not None
    if not result.ok:
        failed = [
            Problem(
                "drg.check.failed", f"自检未通过: {c.description}: {c.detail}", Source("<run>", key=c.name)
            )
            for c in result.checks
            if not c.ok
        ]
        fail_with_problems(failed, as_json, exit_code=3)
    if as_json:
        typer.echo(json.dumps({"ok": True, "run": record}, ensure_ascii=False, indent=2))
        return
    _print_summary(result.totals, loaded, out, len(result.warnings))


def _print_summary(t: Mapping[str, str], policy: DrgPolicy, out_dir: Path, warnings: int) -> None:
    table = Table(title=f"DRG结算 {t['year']} · {policy.source.meta.name} ({policy.name})", show_header=False)
    table.add_column("项目")
    table.add_column("数值", justify="right")
    for label, key in (
        ("病例数", "cases"),
        ("正常 / 高倍率 / 低倍率 / 整组单议", None),
        ("DRG总额预算(元)", "drg_budget"),
        ("年度总点数", "final_points"),
        ("年度点值", "year_point_value"),
        ("应得金额合计(元)", "entitlement"),
        ("已预拨合计(元)", "monthly_paid"),
        ("年终清算合计(元)", "settlement"),
    ):
        value = f"{t['normal']} / {t['high']} / {t['low']} / {t['whole_group']}" if key is None else t[key]
        table.add_row(label, value)
    out.print(table)
    out.print(f"自检全部通过; 警告 {warnings} 条 (warnings.csv); 结果已写入 {out_dir}")


@app.command("explain")
def explain_command(
    case_id: Annotated[str, typer.Argument(help="病案号")],
    run: Annotated[Path, typer.Option("--run", help="结算输出目录 (含 run.json 和 case_points.csv)")],
    policy_file: PolicyFileOption = None,
) -> None:
    """说明一个病例的类型、例均费用、判定界值与点数计算 (explain one case)."""
    record_path = run / "run.json"
    if not record_path.is_file():
        fail_with_problems(
            [Problem("drg.run.missing", f"不是结算输出目录: 缺少 {record_path}", Source(str(run)))], False
        )
    record = read_run_record(run)
    loaded, problems = load_drg_policy(record["policy"]["id"], policy_file)
    if loaded is None:
        fail_with_problems(problems, False)
    assert loaded is not None
    found = load_case_explanation(run, case_id, loaded)
    if found is None:
        fail_with_problems(
            [
                Problem(
                    "drg.case.not_found",
                    f"结算结果中没有病案号 {case_id}",
                    Source(str(run / "case_points.csv")),
                )
            ],
            False,
        )
    assert found is not None
    explanation = found.explanation
    out.print(explanation.text(), markup=False, highlight=False)
    if not explanation.consistent:
        raise typer.Exit(3)


@app.command("policy")
def policy_command(
    name: Annotated[str, typer.Argument(help="参考政策名")] = "guigang-2020",
    policy_file: PolicyFileOption = None,
) -> None:
    """显示DRG政策参数及其依据条款 (show a policy's parameters and their articles)."""
    loaded, problems = load_drg_policy(name, policy_file)
    if loaded is None:
        fail_with_problems(problems, False)
    assert loaded is not None
    print_policy(loaded.source, PARAMS, _show_value)


def _show_value(value: object) -> str:
    if isinstance(value, tuple):  # the high-ratio bands
        return "; ".join(f"≤{r['max_base_points']}: {r['multiple']}" for r in value)
    return str(value)
