"""``shidian rewards``: reward in lieu of subsidy (以奖代补) — allocate a fund by results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from shidian.cli.output import err, fail_with_problems, out, show
from shidian.problems import Problem, Source

if TYPE_CHECKING:
    from shidian.rewards import Allocation

app = typer.Typer(help="以奖代补资金分配 (reward in lieu of subsidy).", no_args_is_help=True)

RulesArg = Annotated[
    str, typer.Argument(help="规则文件: 内置名称 (见 shidian rewards rules) 或 TOML 文件路径")
]
FactsArg = Annotated[
    list[Path], typer.Argument(help="事实表 (CSV/xlsx): 第一张为单位名单; 按人计奖时为受益人名单")
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="修改规则参数再计算, 如 --set fund.pot=6000000 --set stages.evaluation.steps.pass.min=70",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="以 JSON 输出结果或问题")]


def _overrides(values: list[str] | None, as_json: bool) -> list[tuple[str, str]]:
    pairs = []
    for value in values or []:
        key, sep, text = value.partition("=")
        if not sep or not key.strip():
            fail_with_problems(
                [
                    Problem(
                        "rewards.rules.override_unknown",
                        f"--set 应写作 键=值, 实际为 {value!r}",
                        Source("--set"),
                    )
                ],
                as_json,
                exit_code=2,
            )
        pairs.append((key.strip(), text.strip()))
    return pairs


def _run(
    rules_name: str, facts: list[Path], overrides: list[tuple[str, str]], as_json: bool
) -> tuple[Allocation, dict[str, dict[str, object]]]:
    from shidian.rewards.service import allocate_files, failed_checks

    allocation, manifest, problems = allocate_files(rules_name, facts, overrides)
    if allocation is None:
        fail_with_problems(problems, as_json)
    assert allocation is not None
    for problem in problems:
        err.print(f"[yellow]{problem}[/]")
    failed = failed_checks(allocation)
    if failed:
        fail_with_problems(failed, as_json)
    return allocation, dict(manifest)


@app.command("rules")
def rules_command(as_json: JsonOption = False) -> None:
    """列出内置的以奖代补规则文件 (policies/rewards/)."""
    from shidian.display import yuan as format_yuan
    from shidian.rewards.io import shipped_rules

    found = shipped_rules()
    if as_json:
        rows = [
            {
                "name": r.meta.id,
                "title": r.meta.name,
                "seed": r.meta.seed,
                "pot": None if r.fund.pot is None else str(r.fund.pot),
                "stages": [s.id for s in r.stages],
            }
            for r in found
        ]
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table(title="以奖代补规则文件 (shidian rewards allocate NAME FACTS...)")
    for header in ("名称", "资金", "资金总额(元)", "阶段", "依据"):
        table.add_column(header)
    for r in found:
        pot = "不设总额 (据实奖补)" if r.fund.pot is None else format_yuan(r.fund.pot)
        stages = "; ".join(f"{s.name}: {', '.join(step.name for step in s.steps)}" for s in r.stages)
        table.add_row(r.meta.id, r.meta.name, pot, stages, r.meta.seed)
    show(table)


@app.command("allocate")
def allocate_command(
    rules: RulesArg,
    facts: FactsArg,
    out_dir: Annotated[Path, typer.Option("--out", help="输出目录 (只在全部成功后写入)")],
    set_: SetOption = None,
    as_json: JsonOption = False,
) -> None:
    """按规则分配资金: allocations.csv, explanations.csv, allocations.xlsx (含自检), run.json."""
    from shidian.display import yuan as format_yuan
    from shidian.rewards.io import stage_rows, write_allocation

    allocation, manifest = _run(rules, facts, _overrides(set_, as_json), as_json)
    record = write_allocation(allocation, out_dir, manifest)
    if as_json:
        typer.echo(json.dumps({"ok": True, "run": record}, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"{allocation.rules.meta.name} ({allocation.rules.meta.id})")
    for header in ("阶段", "本阶段资金", "已分配", "门槛核减", "封顶核减", "退回/未分配"):
        table.add_column(header, justify="right")
    for row in stage_rows(allocation):
        shown = [
            format_yuan(row[k]) if row[k] is not None else "—"
            for k in ("pot", "allocated", "cut_threshold", "cut_cap", "returned")
        ]
        table.add_row(row["stage"], *shown)
    show(table)
    out.print(
        f"合计分配 {format_yuan(allocation.total)} 元, {allocation.units.num_rows} 个单位; 输出目录 {out_dir}"
    )


@app.command("explain")
def explain_command(
    rules: RulesArg,
    facts: FactsArg,
    unit: Annotated[str, typer.Option("--unit", help="单位代码")],
    set_: SetOption = None,
    as_json: JsonOption = False,
) -> None:
    """显示一个单位的金额是怎样算出来的 (每个阶段、每一步的算式)."""
    import pyarrow.compute as pc

    allocation, _ = _run(rules, facts, _overrides(set_, as_json), as_json)
    rows = allocation.units.filter(pc.equal(allocation.units.column("unit_code"), unit)).to_pylist()
    if not rows:
        fail_with_problems([Problem("rewards.unit.unknown", f"没有单位 {unit}", Source("--unit"))], as_json)
    row = rows[0]
    people = []
    if allocation.recipients is not None:
        people = allocation.recipients.filter(
            pc.equal(allocation.recipients.column("unit_code"), unit)
        ).to_pylist()
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "unit": {k: str(v) for k, v in row.items()},
                    "recipients": [{k: str(v) for k, v in p.items()} for p in people],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    out.print(f"[bold]{row['unit_code']} {row['unit_name']}[/]  合计 {row['total_yuan']} 元")
    for part in str(row["explanation"]).split(" | "):
        out.print(f"  • {part}", highlight=False)
    for person in people:
        out.print(f"    - {person['recipient_id']}: {person['explanation']}", highlight=False)


@app.command("whatif")
def whatif_command(
    rules: RulesArg,
    facts: FactsArg,
    set_: SetOption = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="把逐单位差异写入 CSV")] = None,
    limit: Annotated[int, typer.Option("--limit", help="最多显示多少个单位")] = 30,
    as_json: JsonOption = False,
) -> None:
    """模拟测算: 修改参数 (--set) 后各单位金额的变化."""
    from shidian.display import yuan as format_yuan
    from shidian.rewards import compare
    from shidian.rewards.io import write_comparison

    overrides = _overrides(set_, as_json)
    if not overrides:
        fail_with_problems(
            [Problem("rewards.rules.override_unknown", "请用 --set 键=值 给出要修改的参数", Source("--set"))],
            as_json,
            exit_code=2,
        )
    before, _ = _run(rules, facts, [], as_json)
    after, _ = _run(rules, facts, overrides, as_json)
    diff = compare(before, after)
    if out_file is not None:
        write_comparison(diff, out_file)
    changed = [r for r in diff.to_pylist() if r["change_yuan"] != 0]
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "before_total": str(before.total),
                    "after_total": str(after.total),
                    "changed": [{k: str(v) for k, v in r.items()} for r in changed],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    table = Table(title=f"模拟测算: {', '.join(f'{k}={v}' for k, v in overrides)}")
    for header in ("单位代码", "单位名称", "原金额", "新金额", "变化"):
        table.add_column(header, justify="right")
    for r in changed[:limit]:
        table.add_row(
            r["unit_code"],
            r["unit_name"],
            format_yuan(r["before_yuan"]),
            format_yuan(r["after_yuan"]),
            format_yuan(r["change_yuan"], signed=True),
        )
    show(table)
    out.print(
        f"合计 {format_yuan(before.total)} → {format_yuan(after.total)} 元; {len(changed)} 个单位金额变化"
    )
