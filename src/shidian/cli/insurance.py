"""``shidian insurance``: resident medical insurance (城乡居民医保 / 新农合)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from shidian.cli.output import (
    EngineOption,
    SparkMasterOption,
    fail_with_problems,
    print_policy,
    print_summary,
    progress_steps,
)
from shidian.insurance.model import POOL_LABELS, POOLS
from shidian.insurance.policy import POLICIES
from shidian.problems import Problem, Source

if TYPE_CHECKING:  # the engine is imported by the commands that use it: a fast CLI start-up
    from shidian.insurance.policy import InsurancePolicy

app = typer.Typer(help="城乡居民医保/新农合补偿 (resident medical insurance).", no_args_is_help=True)

DEFAULT_POLICY = "county-2010"
PolicyOption = Annotated[str, typer.Option("--policy", help="参考政策名, 如 county-2010")]
PolicyFileOption = Annotated[
    Path | None, typer.Option("--policy-file", help="自定义政策文件 (TOML), 优先于 --policy")
]


@app.command("reimburse")
def reimburse_command(
    data_dir: Annotated[
        Path, typer.Argument(help="输入目录: persons, institutions, claims (及可选 villages, prior_year)")
    ],
    out_dir: Annotated[Path, typer.Option("--out", help="输出目录 (只在全部成功后写入)")],
    policy: PolicyOption = DEFAULT_POLICY,
    policy_file: PolicyFileOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出结果或问题")] = False,
    engine: EngineOption = "duckdb",
    spark_master: SparkMasterOption = None,
) -> None:
    """结算一个县一个年度的补偿: 逐笔补偿、基金台账、机构月度结算、村级公示、健康体检名单."""
    from shidian.insurance.batch_files import reimburse_files

    loaded, problems = POLICIES.load(policy, policy_file)
    if loaded is None:
        fail_with_problems(problems, as_json)
    assert loaded is not None
    if not data_dir.is_dir():
        missing = Problem("insurance.input.missing_dir", f"输入目录不存在: {data_dir}", Source(str(data_dir)))
        fail_with_problems([missing], as_json)
    with progress_steps(not as_json) as step:
        outcome = reimburse_files(
            data_dir, out_dir, loaded, progress=step, engine=engine, spark_master=spark_master
        )
    result = outcome.result
    if result is None:
        fail_with_problems(outcome.problems, as_json)
    assert result is not None
    failed = [
        Problem(
            "insurance.check.failed", f"自检未通过: {c.description}: {c.detail}", Source("<run>", key=c.name)
        )
        for c in result.checks
        if not c.ok
    ]
    if failed:
        fail_with_problems(failed, as_json, exit_code=3)
    if as_json:
        typer.echo(json.dumps({"ok": True, "run": outcome.record}, ensure_ascii=False, indent=2))
        return
    _print_summary(result.totals, loaded, out_dir, len(result.warnings))


def _print_summary(t: Mapping[str, str], policy: InsurancePolicy, out_dir: Path, warnings: int) -> None:
    from shidian.display import number as n
    from shidian.display import percent
    from shidian.display import yuan as y

    rows = [
        ("参合人数", n(t["insured"])),
        ("就诊笔数", n(t["claims"])),
        ("补偿 / 拒付", f"{n(t['paid'])} / {n(t['rejected'])}"),
        ("基金收入(元)", y(t["income"])),
        ("补偿支出(元)", y(t["reimbursements"])),
        ("当年结余(元)", y(t["balance"])),
        *(
            (
                f"{POOL_LABELS[pool]} 收入 / 支出 / 结余(元)",
                f"{y(t[f'{pool}_income'])} / {y(t[f'{pool}_reimbursements'])} / {y(t[f'{pool}_balance'])}",
            )
            for pool in POOLS
        ),
        *(
            [
                ("筹资到账(元)", y(t["received"])),
                ("筹资未到账(元)", y(t["outstanding"])),
                ("筹资多到账(元)", y(t["overpaid"])),
                ("按到账计结余(元)", y(t["cash_balance"])),
                *(
                    (
                        f"{POOL_LABELS[pool]} 到账 / 按到账计结余(元)",
                        f"{y(t[f'{pool}_received'])} / {y(t[f'{pool}_cash_balance'])}",
                    )
                    for pool in POOLS
                ),
            ]
            if "received" in t
            else []
        ),
        ("基金使用率", percent(t["use_ratio"], 2)),
        ("目录外药品超标扣款(元)", y(t["catalogue_deduction"])),
        ("机构应拨付合计(元)", y(t["payable"])),
        ("公示行数", n(t["notice_rows"])),
        ("健康体检名单(人)", n(t["health_checks"])),
    ]
    title = f"新农合补偿 {t['year']} · {policy.source.meta.name} ({policy.name})"
    print_summary(title, rows, out_dir, warnings)


@app.command("policy")
def policy_command(
    name: Annotated[str, typer.Argument(help="参考政策名")] = DEFAULT_POLICY,
    policy_file: PolicyFileOption = None,
) -> None:
    """显示医保政策参数及其依据 (show a policy's parameters and the seed sentences behind them)."""
    from shidian.insurance.policy import PARAMS

    loaded, problems = POLICIES.load(name, policy_file)
    if loaded is None:
        fail_with_problems(problems, False)
    assert loaded is not None
    print_policy(loaded.source, PARAMS, _show_value)


def _show_value(value: object) -> str:
    if isinstance(value, tuple) and value and isinstance(value[0], Mapping):
        if "annual_amount" in value[0]:  # chronic diseases
            return "; ".join(f"{r['code']} {r['name']}: {r['annual_amount']} × {r['ratio']}" for r in value)
        # inpatient tiers and uplifts: every key given, in the file's order
        return "; ".join(
            " ".join(f"{k}={_show_value(v)}" for k, v in r.items() if v is not None) for r in value
        )
    if isinstance(value, tuple) and value and isinstance(value[0], tuple):  # bands: [[下限, 比例], ...]
        return "[" + ", ".join("[" + ", ".join(str(x) for x in v) + "]" for v in value) + "]"
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value)
    return str(value)
