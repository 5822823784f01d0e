"""The hierarchy table checks (GB/T 2260 codes, cycles) and the ``shidian pilots`` commands."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pyarrow as pa
from typer.testing import CliRunner

from shidian.cli import app
from shidian.pilots.hierarchy import check_units, find_cycles
from shidian.pilots.plan_file import load_template
from tests.pilots.helpers import UNITS

runner = CliRunner()
LEVELS = load_template("psy-service").levels  # county 6, township 9, village 12


def test_a_good_hierarchy_has_no_problems() -> None:
    assert check_units(UNITS, LEVELS) == []


def test_hierarchy_problems_name_row_and_column() -> None:
    units = pa.table(
        {
            "unit_code": [
                "360730",
                "360730100",
                "36073010",
                "360799101201",
                "360730100201",
                "360730100201",
                "360730102",
            ],
            "parent_code": ["", "360730", "360730", "360730100", "360730100", "360730100", "360731"],
            "level": ["county", "township", "township", "village", "village", "village", "district"],
        }
    )
    found = {(p.code, p.where.row, p.where.column) for p in check_units(units, LEVELS, "units.csv")}
    assert found == {
        ("pilots.units.code_length", 4, "unit_code"),  # 8 digits for a township
        ("pilots.units.code_prefix", 5, "unit_code"),  # 360799… is not under 360730100
        ("pilots.units.duplicate", 7, "unit_code"),
        ("pilots.units.unknown_level", 8, "level"),
        ("pilots.units.unknown_parent", 8, "parent_code"),
    }


def test_cycles_are_found() -> None:
    units = pa.table(
        {
            "unit_code": ["360730", "360730100", "360730100201"],
            "parent_code": ["360730100201", "360730", "360730100"],
            "level": ["county", "township", "village"],
        }
    )
    codes = {(p.code, p.where.row) for p in check_units(units, LEVELS)}
    assert {("pilots.units.cycle", 2), ("pilots.units.cycle", 3), ("pilots.units.cycle", 4)} <= codes
    assert find_cycles({"a": "b", "b": "c", "c": "a", "d": "a"}) == [["a", "b", "c"]]
    assert find_cycles({"a": "", "b": "a"}) == []


def test_cli_template_check_status_scorecard(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    result = runner.invoke(app, ["pilots", "template", "psy-service", str(plan)])
    assert result.exit_code == 0, result.output
    assert "000 篇3" in plan.read_text(encoding="utf-8")
    result = runner.invoke(app, ["pilots", "check", str(plan)])
    assert result.exit_code == 0 and "校验通过" in result.output
    xlsx = tmp_path / "plan.xlsx"
    assert runner.invoke(app, ["pilots", "template", "psy-service", str(xlsx)]).exit_code == 0
    assert runner.invoke(app, ["pilots", "check", str(xlsx)]).exit_code == 0
    units = tmp_path / "units.csv"
    units.write_text(
        "单位代码,上级代码,层级,名称\n360730,,county,石城县\n360730100,360730,township,琴江镇\n"
        "360730100201,360730100,village,东门社区\n",
        encoding="utf-8",
    )
    values = tmp_path / "values.csv"
    values.write_text(
        "单位代码,指标代码,报告期,人群,分子,分母\n360730100201,SMD_TREATMENT_RATE,2021-04-01,,9,10\n"
        "360730100201,PSY_ROOM_RATE,2021-04-01,,1,\n",
        encoding="utf-8",
    )
    out = tmp_path / "status.csv"
    args = ["--units", str(units), "--values", str(values), "--as-of", "2021-06-30"]
    result = runner.invoke(app, ["pilots", "status", str(plan), *args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8-sig")
    assert text.startswith("单位代码,单位名称,层级,指标代码")
    assert "360730100201,东门社区,village,SMD_TREATMENT_RATE" in text
    card = tmp_path / "score.xlsx"
    result = runner.invoke(app, ["pilots", "scorecard", str(plan), *args, "--out", str(card)])
    assert result.exit_code == 0, result.output
    assert openpyxl.load_workbook(card)["考核评分表"]["C4"].value == "琴江镇"


def test_cli_check_reports_problems(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "code: x\nname: x\nstart: 2020-01-01\nend: 2021-01-01\nindicators:\n"
        "  - {code: R, name: r, kind: rate, reported_by: county, aggregation: mean}\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["pilots", "check", str(bad)])
    assert result.exit_code == 1
    assert "bad.yaml:6:indicators[0].aggregation: pilots.plan.rate_averaged" in result.output
    result = runner.invoke(app, ["pilots", "template", "nope", str(tmp_path / "x.yaml")])
    assert result.exit_code == 1
