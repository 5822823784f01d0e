"""``shidian capitation``: the 医共体 per-capita global prepayment (医共体按人头总额预付)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from shidian.capitation.policy import PARAMS, POLICIES
from shidian.capitation.service import explain_community, primary_care_folder, settle_folder
from shidian.cli.output import err, fail_with_problems, out, print_policy
from shidian.display import plain, yuan

app = typer.Typer(help="医共体按人头总额预付 (county medical community capitation).", no_args_is_help=True)

PolicyOption = Annotated[str, typer.Option("--policy", help="参考政策名, 如 langxi-2020")]
PolicyFileOption = Annotated[
    Path | None, typer.Option("--policy-file", help="自定义政策文件 (TOML), 优先于 --policy")
]
JsonOption = Annotated[bool, typer.Option("--json", help="以 JSON 输出结果或问题")]


@app.command("settle")
def settle_command(
    data_dir: Annotated[
        Path, typer.Argument(help="输入目录: fund.toml, communities, members, population, spending, scores")
    ],
    out_dir: Annotated[Path, typer.Option("--out", help="输出目录 (只在全部成功后写入)")],
    policy: PolicyOption = "langxi-2020",
    policy_file: PolicyFileOption = None,
    claims: Annotated[
        Path | None,
        typer.Option(
            "--claims",
            help="城乡居民医保结算输出目录 (shidian insurance reimburse --out): 按 villages 对照表取各医共体基金支出, 代替 spending 表",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """预算、季度预拨、年终结算与成员分配, 写出 budget/prepayments/settlement/distribution.csv、report.xlsx."""
    settled, problems = settle_folder(data_dir, out_dir, policy, policy_file, claims)
    if settled is None:
        failed_check = any(p.code == "capitation.check.failed" for p in problems)
        fail_with_problems(problems, as_json, exit_code=3 if failed_check else 1)
    assert settled is not None
    for problem in problems:
        err.print(f"[yellow]{problem}[/]")
    if as_json:
        typer.echo(json.dumps({"ok": True, "run": settled.record}, ensure_ascii=False, indent=2))
        return
    s = settled.settlement
    budget = Table(title=f"医共体按人头总额预算 {s.inputs.fund.year} · {s.policy.source.meta.name}")
    for header in ("项目", "金额(元)", "依据", "计算"):
        budget.add_column(header)
    for line in s.budget.lines:
        budget.add_row(line.label, yuan(line.amount), line.article, line.formula)
    out.print(budget)
    ends = Table(title="年终结算 (year end per 医共体)")
    for header in (
        "医共体",
        "参保人数",
        "预算基金",
        "基金支出",
        "结余",
        "超支",
        "基金分担",
        "医共体承担",
        "结余留用",
    ):
        ends.add_column(header, justify="right")
    for e in s.year_ends:
        ends.add_row(
            e.community_id,
            plain(e.insured),
            yuan(e.pot),
            yuan(e.spending),
            yuan(e.surplus),
            yuan(e.overspend),
            yuan(e.fund_share),
            yuan(e.community_share),
            yuan(e.retained),
        )
    out.print(ends)
    out.print(f"自检全部通过; 结果已写入 {out_dir}")


@app.command("explain")
def explain_command(
    community_id: Annotated[str, typer.Argument(help="医共体编号")],
    run: Annotated[Path, typer.Option("--run", help="结算输出目录 (shidian capitation settle --out)")],
    as_json: JsonOption = False,
) -> None:
    """逐步说明一个医共体的预算、预拨、年终结算与成员分配, 每一步注明依据 (explain a 医共体)."""
    explained, problems = explain_community(run, community_id)
    if explained is None:
        fail_with_problems(problems, as_json)
    assert explained is not None
    if as_json:
        steps = [
            {
                "label": s.label,
                "amount": None if s.amount is None else str(s.amount),
                "formula": s.formula,
                "article": s.article,
            }
            for s in explained.steps
        ]
        typer.echo(
            json.dumps(
                {"ok": True, "community_id": community_id, "steps": steps}, ensure_ascii=False, indent=2
            )
        )
        return
    table = Table(title=f"医共体 {community_id} 结算说明 (运行 {explained.run_id})")
    for header in ("步骤", "金额(元)", "计算", "依据"):
        table.add_column(header)
    for s in explained.steps:
        table.add_row(s.label, "" if s.amount is None else yuan(s.amount), s.formula, s.article)
    out.print(table)


@app.command("policy")
def policy_command(
    name: Annotated[str, typer.Argument(help="参考政策名")] = "langxi-2020",
    policy_file: PolicyFileOption = None,
    as_json: JsonOption = False,
) -> None:
    """显示一份医共体政策的全部参数及其依据 (show a policy)."""
    loaded, problems = POLICIES.load(name, policy_file)
    if loaded is None:
        fail_with_problems(problems, as_json)
    assert loaded is not None
    if as_json:
        values = {k: str(v) for k, v in loaded.source.values.items()}
        typer.echo(json.dumps({"ok": True, "policy": values}, ensure_ascii=False, indent=2))
        return
    print_policy(loaded.source, PARAMS, plain)


@app.command("primary-care")
def primary_care_command(
    data_dir: Annotated[Path, typer.Argument(help="输入目录: health, villages, townships (至少一张)")],
    out_dir: Annotated[Path, typer.Option("--out", help="输出目录 (只在全部成功后写入)")],
    policy: Annotated[str, typer.Option("--policy", help="参考政策名, 如 shaanxi-2011")] = "shaanxi-2011",
    policy_file: PolicyFileOption = None,
    as_json: JsonOption = False,
) -> None:
    """基本公共卫生经费 (按医共体人头、不低于40%到村、考核扣减与奖励)、村卫生室补助下限、乡镇卫生院差额补助 (002 篇四)."""
    done, problems = primary_care_folder(data_dir, out_dir, policy, policy_file)
    if done is None:
        failed_check = any(p.code == "capitation.check.failed" for p in problems)
        fail_with_problems(problems, as_json, exit_code=3 if failed_check else 1)
    assert done is not None
    run, record = done
    if as_json:
        typer.echo(json.dumps({"ok": True, "run": record}, ensure_ascii=False, indent=2))
        return
    for problem in problems:
        err.print(f"[yellow]{problem}[/]")
    if run.public_health is not None:
        table = Table(title="基本公共卫生服务经费 (按医共体常住人口)")
        for header in (
            "医共体",
            "常住人口",
            "预算",
            "年初预拨",
            "考核扣减",
            "奖励",
            "应得",
            "考核后拨付",
            "村卫生室",
        ):
            table.add_column(header, justify="right")
        for r in run.public_health:
            table.add_row(
                r.community_id,
                plain(r.residents),
                yuan(r.budget),
                yuan(r.prepaid),
                yuan(r.deduction),
                yuan(r.reward),
                yuan(r.entitlement),
                yuan(r.after_assessment, signed=True),
                yuan(r.village_amount),
            )
        out.print(table)
    for label, value in run.totals.items():
        out.print(f"{label}: {value}")
    out.print(f"自检全部通过; 警告 {len(problems)} 条 (warnings.csv); 结果已写入 {out_dir}")
