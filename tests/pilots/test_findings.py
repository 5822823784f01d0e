"""``shidian pilots scorecard … --findings``: supervision findings never vanish (issue 16 item 13).

The psy-service template's card deducts per finding: serious (严重) 5, cap 20; major (较重) 3, cap 15;
minor (一般) 1, cap 10 — the severities as the supervision pages record them
(``supervision.SEVERITIES``); 轻微 is read as the lowest level, minor (docs/pilots.md).
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from shidian.cli import app
from shidian.pilots.io import read_findings
from shidian.pilots.model import Deduction, Scorecard, ScoreItem
from shidian.pilots.plan_file import load_template

runner = CliRunner()
TOWN = "360730100"


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, list[str]]:
    plan = tmp_path / "plan.yaml"
    assert runner.invoke(app, ["pilots", "template", "psy-service", str(plan)]).exit_code == 0
    units = tmp_path / "units.csv"
    units.write_text(
        "单位代码,上级代码,层级,名称\n360730,,county,石城县\n360730100,360730,township,琴江镇\n"
        "360730100201,360730100,village,东门社区\n",
        encoding="utf-8",
    )
    values = tmp_path / "values.csv"
    values.write_text(
        "单位代码,指标代码,报告期,人群,分子,分母\n360730100201,SMD_TREATMENT_RATE,2021-04-01,,9,10\n",
        encoding="utf-8",
    )
    return plan, ["--units", str(units), "--values", str(values), "--as-of", "2021-06-30"]


def totals(path: Path) -> dict[str, dict[str, str]]:
    with path.open(encoding="utf-8-sig") as f:
        return {r["unit_code"]: r for r in csv.DictReader(f)}


def test_issue16_13_chinese_severities_and_an_explicit_deduction_are_deducted(tmp_path, inputs):
    """Findings for 琴江镇: 严重 → serious 5; 一般 → minor 1; 轻微 → minor 1; 较重 with 扣分 2.5 → its
    own 2.5 (not the card's 3). Deduction 5 + (1 + 1) + 2.5 = 9.5 (each under its cap), where the
    same file deducted 0.00 before; total = points − 9.5 (never below 0)."""
    plan, args = inputs
    findings = tmp_path / "findings.csv"
    findings.write_text(
        f"单位代码,严重程度,扣分\n{TOWN},严重,\n{TOWN},一般,\n{TOWN},轻微,\n{TOWN},较重,2.5\n",
        encoding="utf-8",
    )
    base, card = tmp_path / "base.csv", tmp_path / "card.csv"
    assert runner.invoke(app, ["pilots", "scorecard", str(plan), *args, "--out", str(base)]).exit_code == 0
    result = runner.invoke(
        app, ["pilots", "scorecard", str(plan), *args, "--findings", str(findings), "--out", str(card)]
    )
    assert result.exit_code == 0, result.output
    before, after = totals(base)[TOWN], totals(card)[TOWN]
    assert Decimal(before["deduction"]) == 0 and Decimal(after["deduction"]) == Decimal("9.5")
    assert Decimal(after["total"]) == max(Decimal(0), Decimal(before["points"]) - Decimal("9.5"))
    assert after["findings"] == "4"
    assert "9.50" in result.output


def test_issue16_13_english_header_deduction_points_alone(tmp_path):
    """``deduction_points`` with a blank severity: the finding's own points (3.25) are deducted."""
    card = Scorecard((ScoreItem("X", Decimal(100)),), (Deduction("serious", Decimal(5), Decimal(20)),))
    path = tmp_path / "findings_en.csv"
    path.write_text(f"unit_code,severity,deduction_points\n{TOWN},,3.25\n{TOWN},SERIOUS,\n", encoding="utf-8")
    found, problems = read_findings(path, card)
    assert problems == [] and found is not None
    assert found.to_pylist() == [
        {"unit_code": TOWN, "severity": "", "points": Decimal("3.25")},
        {"unit_code": TOWN, "severity": "serious", "points": None},
    ]
    assert found.schema.field("points").type == pa.decimal128(18, 2)


def test_issue16_13_a_card_written_in_chinese_matches_the_codes(tmp_path):
    """A card whose severities are the Chinese words (严重 / 一般) matches findings written as codes."""
    card = Scorecard(
        (ScoreItem("X", Decimal(100)),), (Deduction("严重", Decimal(5)), Deduction("一般", Decimal(1)))
    )
    path = tmp_path / "f.csv"
    path.write_text("单位代码,严重程度\nA,serious\nB,minor\nC,轻微\n", encoding="utf-8")
    found, problems = read_findings(path, card)
    assert problems == [] and found is not None
    assert found["severity"].to_pylist() == ["严重", "一般", "一般"]


def test_issue16_13_unknown_severities_and_bad_deductions_are_problems_all_at_once(tmp_path, inputs):
    """Each bad row is named by file, row and column, all at once, and nothing is written:
    row 2 "很严重" (not a severity, no 扣分), row 3 blank severity and blank 扣分, row 4 扣分 1.234
    (three decimals), row 5 扣分 -1 (below 0), row 6 扣分 "两分" (not a number)."""
    plan, args = inputs
    findings = tmp_path / "findings.csv"
    findings.write_text(
        f"单位代码,严重程度,扣分\n{TOWN},很严重,\n{TOWN},,\n{TOWN},严重,1.234\n{TOWN},一般,-1\n{TOWN},严重,两分\n",
        encoding="utf-8",
    )
    out = tmp_path / "card.csv"
    result = runner.invoke(
        app,
        ["pilots", "scorecard", str(plan), *args, "--findings", str(findings), "--out", str(out), "--json"],
    )
    assert result.exit_code == 1
    assert not out.exists()
    found, problems = read_findings(findings, load_template("psy-service").scorecard)
    assert found is None
    where = sorted((p.code, p.where.file, p.where.row, p.where.column) for p in problems)
    assert where == [
        ("pilots.findings.points_invalid", "findings.csv", 4, "points"),
        ("pilots.findings.points_invalid", "findings.csv", 5, "points"),
        ("pilots.findings.points_invalid", "findings.csv", 6, "points"),
        ("pilots.findings.unknown_severity", "findings.csv", 2, "severity"),
        ("pilots.findings.unknown_severity", "findings.csv", 3, "severity"),
    ]


def test_issue16_13_a_finding_of_an_unknown_unit_is_refused_and_another_levels_is_warned(tmp_path, inputs):
    """A typo'd unit code would deduct 0.00 without a word (the card scores units by code): it is
    an error naming row and column, and nothing is written. A village's finding on the township
    card is a warning (the card does not score villages), and the township keeps its deduction:
    严重 5 → deduction 5.00."""
    plan, args = inputs
    findings = tmp_path / "findings.csv"
    findings.write_text(f"单位代码,严重程度\n36073010,严重\n{TOWN},严重\n", encoding="utf-8")
    out = tmp_path / "card.csv"
    result = runner.invoke(
        app,
        ["pilots", "scorecard", str(plan), *args, "--findings", str(findings), "--out", str(out), "--json"],
    )
    assert result.exit_code == 1, result.output
    assert not out.exists()
    assert "pilots.findings.unknown_unit" in result.output
    card = load_template("psy-service").scorecard
    levels = {"360730": "county", TOWN: "township", "360730100201": "village"}
    _found, problems = read_findings(findings, card, levels)
    assert [(p.code, p.where.row, p.where.column) for p in problems] == [
        ("pilots.findings.unknown_unit", 2, "unit_code")
    ]
    findings.write_text(f"单位代码,严重程度\n360730100201,严重\n{TOWN},严重\n", encoding="utf-8")
    result = runner.invoke(
        app, ["pilots", "scorecard", str(plan), *args, "--findings", str(findings), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "pilots.findings.other_level" in result.output
    assert totals(out)[TOWN]["deduction"] == "5.00"
