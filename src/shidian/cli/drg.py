"""``shidian drg``: DRG point-method settlement (总额预算下DRG点数法付费)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from shidian.cli.output import (
    EngineOption,
    SparkMasterOption,
    fail_with_problems,
    out,
    print_policy,
    print_summary,
    progress_steps,
)
from shidian.drg.fund_budget import SCHEMES
from shidian.drg.policy import PARAMS, POLICIES
from shidian.drg.service.settle import CHECK_FAILED, Settled, settle_folder
from shidian.problems import Refused

app = typer.Typer(help="DRG点数法付费 (DRG point-method payment).", no_args_is_help=True)

PolicyOption = Annotated[str, typer.Option("--policy", help="参考政策名, 如 guigang-2020 或 shanwei-2021")]
PolicyFileOption = Annotated[
    Path | None, typer.Option("--policy-file", help="自定义政策文件 (TOML), 优先于 --policy")
]


@app.command("settle")
def settle_command(
    data_dir: Annotated[
        Path, typer.Argument(help="输入目录: hospitals, drg_groups, cases, settlement.toml …")
    ],
    out: Annotated[Path, typer.Option("--out", help="输出目录 (只在全部成功后写入)")],
    policy: PolicyOption = "guigang-2020",
    policy_file: PolicyFileOption = None,
    report_cases: Annotated[
        bool,
        typer.Option(
            "--report-cases/--no-report-cases",
            help="report.xlsx 也包含全部病例 (旧的单一工作簿, 限 Excel 单表行数); 默认不包含: "
            "病例在各医疗机构工作簿与 case_points.csv/.parquet 中",
        ),
    ] = False,
    hospital_books: Annotated[
        bool,
        typer.Option(
            "--hospital-books/--no-hospital-books",
            help="为每个医疗机构写 hospitals/<编码>.xlsx (结算单与病例), 默认写",
        ),
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出结果或问题")] = False,
    engine: EngineOption = "duckdb",
    spark_master: SparkMasterOption = None,
    cases_uri: Annotated[
        str | None,
        typer.Option(
            "--cases",
            help="病例 Parquet 的 URI (file:///…; --engine spark 时 Spark 可读的任何 URI, 如 s3a://、hdfs://), "
            "代替输入目录中的病例文件 (见 docs/scale.md)",
        ),
    ] = None,
) -> None:
    """结算一个统筹区一个年度: 病例点数、月度点值与预拨、年终清算, 写出报表 (settle a year)."""
    with progress_steps(not as_json) as step:
        settled, problems = settle_folder(
            data_dir,
            out,
            policy,
            policy_file,
            report_cases=None if report_cases else False,
            hospital_books=hospital_books,
            progress=step,
            engine=engine,
            spark_master=spark_master,
            cases_uri=cases_uri,
        )
    if settled is None:
        failed_check = any(p.code == CHECK_FAILED for p in problems)
        fail_with_problems(problems, as_json, exit_code=3 if failed_check else 1)
    assert settled is not None
    if as_json:
        typer.echo(json.dumps({"ok": True, "run": settled.record}, ensure_ascii=False, indent=2))
        return
    _print_summary(settled, out)


def _print_summary(settled: Settled, out_dir: Path) -> None:
    t = settled.result.totals
    from shidian.display import number as n
    from shidian.display import point_value, points
    from shidian.display import yuan as y

    rows = [
        ("病例数", n(t["cases"])),
        (
            "正常 / 高倍率 / 低倍率 / 整组单议",
            f"{n(t['normal'])} / {n(t['high'])} / {n(t['low'])} / {n(t['whole_group'])}",
        ),
        ("年底入组病例 (000 篇6 第十八条(一)5)", n(t.get("year_end_grouping", "0"))),
        ("DRG总额预算(元)", y(t["drg_budget"])),
        ("年度总点数 (精确值见 run.json)", points(t["final_points"])),
        *(
            [("年度点值 (精确值见 run.json)", point_value(t["year_point_value"]))]
            if "year_point_value" in t
            else [
                (
                    f"{label}年度点值 (分险种点值, 000 篇6 第六条)",
                    point_value(t[f"scheme.{scheme}.year_point_value"]),
                )
                for scheme, label in SCHEMES.items()
                if f"scheme.{scheme}.year_point_value" in t
            ]
        ),
        ("应得金额合计(元)", y(t["entitlement"])),
        ("已预拨合计(元)", y(t["monthly_paid"])),
        ("年终清算合计(元)", y(t["settlement"])),
    ]
    rows += [(f"接近年终清算限制 {n.hospital_id} {n.name}", n.message) for n in settled.near_caps]
    policy = settled.policy
    title = f"DRG结算 {t['year']} · {policy.source.meta.name} ({policy.name})"
    print_summary(title, rows, out_dir, len(settled.result.warnings))


@app.command("explain")
def explain_command(
    case_id: Annotated[str, typer.Argument(help="病案号")],
    run: Annotated[Path, typer.Option("--run", help="结算输出目录 (含 run.json 和 case_points.csv)")],
    policy_file: PolicyFileOption = None,
) -> None:
    """说明一个病例的类型、例均费用、判定界值与点数计算 (explain one case)."""
    from shidian.drg.service import explain_case  # the run's files reader, loaded for this command only

    try:
        explained = explain_case(run, case_id, policy_file=policy_file)
    except Refused as refused:
        fail_with_problems(refused.problems, False)
        raise  # not reached: fail_with_problems exits
    explanation = explained.found.explanation
    out.print(explanation.text(), markup=False, highlight=False)
    if not explanation.consistent:
        raise typer.Exit(3)


@app.command("policy")
def policy_command(
    name: Annotated[str, typer.Argument(help="参考政策名")] = "guigang-2020",
    policy_file: PolicyFileOption = None,
) -> None:
    """显示DRG政策参数及其依据条款 (show a policy's parameters and their articles)."""
    loaded, problems = POLICIES.load(name, policy_file)
    if loaded is None:
        fail_with_problems(problems, False)
    assert loaded is not None
    print_policy(loaded.source, PARAMS, _show_value)


def _show_value(value: object) -> str:
    if isinstance(value, tuple):  # the high-ratio bands
        return "; ".join(f"≤{r['max_base_points']}: {r['multiple']}" for r in value)
    return str(value)
