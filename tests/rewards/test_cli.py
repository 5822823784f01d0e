"""``shidian rewards``: rules, allocate (files, workbook, run.json), explain, whatif."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import openpyxl
from typer.testing import CliRunner

from shidian.cli import app

runner = CliRunner()
UNITS = "unit_code,unit_name,核定项目资金,考核得分\nA,甲项目,1000000,90\nB,乙项目,3000000,55\nC,丙项目,6000000,80\n"


def facts(tmp_path: Path) -> Path:
    path = tmp_path / "units.csv"
    path.write_text(UNITS, encoding="utf-8")
    return path


def test_rules_lists_the_shipped_files():
    result = runner.invoke(app, ["rewards", "rules", "--json"])
    assert result.exit_code == 0, result.output
    names = {r["name"] for r in json.loads(result.output)}
    assert {
        "eldercare-2017",
        "sludge-chongqing",
        "village-clinic",
        "guardian-reward",
    } <= names
    # issue 17: replaced by `shidian capitation primary-care` (002 篇四 follows the text there)
    assert "township-performance" not in names


def test_allocate_writes_every_output(tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["rewards", "allocate", "eldercare-2017", str(facts(tmp_path)), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "allocations.csv",
        "allocations.xlsx",
        "explanations.csv",
        "run.json",
    ]
    with (out / "allocations.csv").open(encoding="utf-8") as f:
        rows = {r["unit_code"]: r for r in csv.DictReader(f)}
    assert rows["A"]["total_yuan"] == "1000000.00" and rows["B"]["evaluation_yuan"] == "0.00"
    book = openpyxl.load_workbook(out / "allocations.xlsx")
    assert book.sheetnames == ["分配结果", "分配说明", "阶段汇总", "自检"]
    assert book["分配结果"]["A1"].value == "项目单位代码"
    assert all(row[1].value == "通过" for row in book["自检"].iter_rows(min_row=3))
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert record["kind"] == "rewards.allocation" and record["totals"]["total_yuan"] == "8500000.00"
    assert all(c["ok"] for c in record["checks"])
    again = tmp_path / "again"
    runner.invoke(app, ["rewards", "allocate", "eldercare-2017", str(facts(tmp_path)), "--out", str(again)])
    assert (again / "allocations.csv").read_bytes() == (out / "allocations.csv").read_bytes()
    assert json.loads((again / "run.json").read_text())["outputs"] == record["outputs"]


def test_explain_one_unit(tmp_path):
    result = runner.invoke(app, ["rewards", "explain", "eldercare-2017", str(facts(tmp_path)), "--unit", "B"])
    assert result.exit_code == 0, result.output
    assert "考核得分 55 < 60分" in result.output
    result = runner.invoke(app, ["rewards", "explain", "eldercare-2017", str(facts(tmp_path)), "--unit", "Q"])
    assert result.exit_code == 1 and "rewards.unit.unknown" in result.output


def test_whatif_shows_the_units_that_change(tmp_path):
    result = runner.invoke(
        app,
        [
            "rewards",
            "whatif",
            "eldercare-2017",
            str(facts(tmp_path)),
            "--set",
            "stages.evaluation.steps.pass.min=50",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    # 002 篇二 六(二): B (55 points) now passes 50 and gets its own remainder,
    # 3,000,000 − 1,500,000 = 1,500,000.00; A and C unchanged; total 8,500,000 + 1,500,000
    assert [(r["unit_code"], r["change_yuan"]) for r in data["changed"]] == [("B", "1500000.00")]
    assert data["after_total"] == "10000000.00"


def test_set_needs_key_equals_value(tmp_path):
    result = runner.invoke(
        app, ["rewards", "whatif", "eldercare-2017", str(facts(tmp_path)), "--set", "fund.pot"]
    )
    assert result.exit_code == 2


def test_the_summary_never_cuts_an_amount_at_80_columns(tmp_path, monkeypatch):
    """Issue 19 item 6: six money columns at 80 columns printed ``5,000,000…``; the stage pots
    of eldercare-2017 (5,000,000.00 each) print whole."""
    monkeypatch.setenv("COLUMNS", "80")
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["rewards", "allocate", "eldercare-2017", str(facts(tmp_path)), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "5,000,000.00" in result.output and "…" not in result.output
