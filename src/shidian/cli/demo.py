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
    cases: Annotated[int, typer.Option(min=100, help="病例数 (number of cases)")] = 100_000,
    hospitals: Annotated[int, typer.Option(min=3, help="医疗机构数 (number of hospitals)")] = 40,
    seed: Annotated[int, typer.Option(help="随机种子: 同一种子生成相同文件")] = 2020,
    year: Annotated[int, typer.Option(help="结算年度")] = 2020,
) -> None:
    """生成一个DRG付费演示地区: 医疗机构、病组、病例、参考病例、预算 (a demo DRG region)."""
    from shidian.demo.drg import generate_drg_region

    with progress_steps() as step:
        step(f"生成 {cases:,} 个病例 generating")
        counts = generate_drg_region(out_dir, cases=cases, hospitals=hospitals, seed=seed, year=year)
    for name, rows in counts.items():
        err.print(f"  {name}: {rows:,}")
    err.print(f"演示数据已写入 {out_dir}")


@app.command("generate-insurance")
def generate_insurance(
    out_dir: Annotated[Path, typer.Argument(help="写入演示数据的目录 (created if missing)")],
    persons: Annotated[int, typer.Option(min=100, help="参合人数 (number of insured persons)")] = 500_000,
    seed: Annotated[int, typer.Option(help="随机种子: 同一种子生成相同文件")] = 2010,
    year: Annotated[int, typer.Option(help="年度 (the reference policy county-2010 is for 2010)")] = 2010,
) -> None:
    """生成一个新农合演示县: 行政村、参合人员、医疗机构、一年的门诊与住院、上年度补偿 (a demo county)."""
    from shidian.demo.insurance import generate_insurance_county

    with progress_steps() as step:
        step(f"生成 {persons:,} 名参合人员及其就诊 generating")
        counts = generate_insurance_county(out_dir, persons=persons, seed=seed, year=year)
    for name, rows in counts.items():
        err.print(f"  {name}: {rows:,}")
    err.print(f"演示数据已写入 {out_dir}")
