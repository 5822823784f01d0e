"""``shidian demo``: generate realistic demo data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shidian.cli.output import err, progress_steps

app = typer.Typer(help="演示数据 (demo data).", no_args_is_help=True)


@app.command("generate")
def generate(
    out_dir: Annotated[Path, typer.Argument(help="写入演示数据的目录 (created if missing)")],
    cases: Annotated[
        int, typer.Option(min=0, help="DRG 病例数 (cases of the DRG region; 0: none)")
    ] = 100_000,
    hospitals: Annotated[int, typer.Option(min=3, help="DRG 医疗机构数 (hospitals of the DRG region)")] = 40,
    persons: Annotated[
        int,
        typer.Option(
            min=0, help="新农合演示县参合人数, 写入 OUT_DIR/insurance (insured of the county; 0: none)"
        ),
    ] = 500_000,
    seed: Annotated[int, typer.Option(help="随机种子: 同一种子生成相同文件")] = 2020,
    year: Annotated[
        int, typer.Option(help="DRG 结算年度 (the demo year; the county's year is always 2020, its policy's)")
    ] = 2020,
) -> None:
    """生成演示数据: 一个DRG付费地区 (OUT_DIR)、一个新农合县 (OUT_DIR/insurance) 及其两个医共体 (OUT_DIR/capitation).

    The DRG region: hospitals, groups, cases, reference cases, budget (``shidian drg settle
    OUT_DIR``). The county (平南县 450821, the web demo's county: its townships and villages):
    villages, insured persons, institutions, the year 2020's outpatient and inpatient claims,
    last year's reimbursements (``shidian insurance reimburse OUT_DIR/insurance --policy
    demo-county-2020``). The county's two 医共体: ``shidian capitation settle OUT_DIR/capitation
    --policy demo-county-2020 --claims <the insurance run>``.
    """
    if cases < 100 and cases != 0:
        raise typer.BadParameter(
            "至少 100 个病例, 或 0 (at least 100 cases, or 0 for none)", param_hint="--cases"
        )
    if persons < 100 and persons != 0:
        raise typer.BadParameter(
            "至少 100 人, 或 0 (at least 100 persons, or 0 for none)", param_hint="--persons"
        )
    counts: dict[str, int] = {}
    with progress_steps() as step:
        if cases:
            from shidian.demo.drg import generate_drg_region

            step(f"生成 DRG 地区 {cases:,} 个病例 generating the DRG region")
            counts |= generate_drg_region(out_dir, cases=cases, hospitals=hospitals, seed=seed, year=year)
        if persons:
            from shidian.demo.insurance_web import generate_demo_county

            step(f"生成新农合县 {persons:,} 名参合人员及其就诊 generating the county")
            county = generate_demo_county(out_dir / "insurance", persons=persons, seed=seed)
            counts |= {f"insurance/{name}": rows for name, rows in county.items()}
            from shidian.demo.capitation import generate_capitation_county

            step("生成两个医共体 (001 第十七篇 四(一)2) generating the county's two 医共体")
            from shidian.demo.area import DEMO_YEAR

            communities = generate_capitation_county(
                out_dir / "insurance", out_dir / "capitation", seed=seed, year=DEMO_YEAR
            )
            counts |= {f"capitation/{name}": rows for name, rows in communities.items()}
    for name, rows in counts.items():
        err.print(f"  {name}: {rows:,}")
    err.print(f"演示数据已写入 {out_dir}")
