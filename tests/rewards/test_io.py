"""Fact tables from files: bad input is refused with file, row, column and reason, nothing written."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

from typer.testing import CliRunner

from shidian.cli import app
from shidian.rewards import allocate
from shidian.rewards.io import read_fact_tables
from tests.rewards.helpers import shipped

runner = CliRunner()


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_text(text, encoding=encoding)
    return path


def codes_at(problems):
    return [(p.code, p.where.file, p.where.row, p.where.column) for p in problems]


def test_two_tables_joined_by_unit_code_with_chinese_headers_and_gbk(tmp_path):
    base = write(tmp_path, "base.csv", "单位代码,单位名称,核定项目资金\nA,甲,1000000\nB,乙,3000000\n", "gbk")
    scores = write(tmp_path, "scores.csv", "unit_code,考核得分\nB,55\nA,90.5\n")
    facts, problems, manifest = read_fact_tables(shipped("eldercare-2017"), [base, scores])
    assert problems == [] and facts is not None
    rows = facts.units.to_pylist()
    assert [(r["unit_code"], r["unit_name"], r["approved_amount"], r["score"]) for r in rows] == [
        ("A", "甲", D("1000000"), D("90.5")),
        ("B", "乙", D("3000000"), D("55")),
    ]
    assert set(manifest) == {"base.csv", "scores.csv"}


def test_bad_facts_each_named(tmp_path):
    base = write(tmp_path, "base.csv", "unit_code,approved_amount\nA,1000\nB,-5\nA,7\n")
    scores = write(tmp_path, "scores.csv", "unit_code,score\nA,101\nB,80\n")
    facts, problems, _ = read_fact_tables(shipped("eldercare-2017"), [base, scores])
    assert facts is None
    assert codes_at(problems) == [
        ("table.cell.below_min", "base.csv", 3, "approved_amount"),
        ("table.row.duplicate_key", "base.csv", 4, "unit_code"),
        ("table.cell.above_max", "scores.csv", 2, "score"),
    ]


def test_unknown_unit_and_missing_value_and_missing_column(tmp_path):
    base = write(tmp_path, "base.csv", "unit_code,approved_amount\nA,1000\nB,2000\n")
    scores = write(tmp_path, "scores.csv", "unit_code,score\nA,80\nZ,90\n")
    facts, problems, _ = read_fact_tables(shipped("eldercare-2017"), [base, scores])
    assert facts is None
    assert codes_at(problems) == [
        ("rewards.facts.unknown_unit", "scores.csv", 3, "unit_code"),
        ("rewards.facts.missing_value", "scores.csv", None, "score"),
    ]
    assert "Z" in problems[0].message and "B" in problems[1].message
    _, problems, _ = read_fact_tables(shipped("eldercare-2017"), [base])
    assert codes_at(problems) == [("rewards.facts.missing_fact", "base.csv", None, "score")]


def test_negative_quantity_is_refused(tmp_path):
    sludge = write(tmp_path, "sludge.csv", "区县代码,核定污泥处理处置量\n500101,12.5\n500102,-1\n")
    facts, problems, _ = read_fact_tables(shipped("sludge-chongqing"), [sludge])
    assert facts is None
    assert codes_at(problems) == [("table.cell.below_min", "sludge.csv", 3, "核定污泥处理处置量")]


def test_guardian_list_unknown_category_and_duplicate_recipient(tmp_path):
    people = write(
        tmp_path,
        "guardians.csv",
        "recipient_id,unit_code,category,basis\nP1,V1,risk_3_plus,a\nP2,V1,risk_5,b\nP1,V2,risk_below_3,c\n",
    )
    facts, problems, _ = read_fact_tables(shipped("guardian-reward"), [people])
    assert facts is None
    assert codes_at(problems) == [("table.row.duplicate_key", "guardians.csv", 4, "recipient_id")]
    fixed = write(
        tmp_path,
        "guardians.csv",
        "recipient_id,unit_code,category,basis\nP1,V1,risk_3_plus,a\nP2,V1,risk_5,b\n",
    )
    facts, problems, _ = read_fact_tables(shipped("guardian-reward"), [fixed])
    assert codes_at(problems) == [("rewards.facts.unknown_category", "guardians.csv", 3, "category")]


def test_guardian_list_with_a_village_list(tmp_path):
    villages = write(tmp_path, "villages.csv", "unit_code,unit_name\nV1,一村\nV2,二村\n")
    people = write(
        tmp_path, "guardians.csv", "recipient_id,unit_code,category\nP1,V1,risk_3_plus\nP2,V9,risk_below_3\n"
    )
    facts, problems, _ = read_fact_tables(shipped("guardian-reward"), [villages, people])
    assert codes_at(problems) == [("rewards.facts.unknown_unit", "guardians.csv", 3, "unit_code")]
    people = write(tmp_path, "guardians.csv", "recipient_id,unit_code,category\nP1,V1,risk_3_plus\n")
    facts, problems, _ = read_fact_tables(shipped("guardian-reward"), [villages, people])
    assert facts is not None
    allocation, _ = allocate(shipped("guardian-reward"), facts.units, facts.recipients)
    assert allocation is not None
    assert allocation.units["total_yuan"].to_pylist() == [
        D("3000.00"),
        D("0.00"),
    ]  # V2 has nobody on the list


def test_cli_bad_input_writes_nothing(tmp_path):
    base = write(tmp_path, "base.csv", "unit_code,approved_amount,score\nA,1000,101\n")
    out = tmp_path / "out"
    result = runner.invoke(app, ["rewards", "allocate", "eldercare-2017", str(base), "--out", str(out)])
    assert result.exit_code == 1
    assert "base.csv:2:score: table.cell.above_max" in result.output
    assert not out.exists()


def test_cli_bad_rule_file_writes_nothing(tmp_path):
    rules = write(
        tmp_path, "mine.toml", (Path(__file__).parent / "data" / "bad.toml").read_text(encoding="utf-8")
    )
    base = write(tmp_path, "base.csv", "unit_code,score\nA,1\n")
    out = tmp_path / "out"
    result = runner.invoke(app, ["rewards", "allocate", str(rules), str(base), "--out", str(out), "--json"])
    assert result.exit_code == 1
    assert '"rewards.rules.unknown_step_kind"' in result.output
    assert not out.exists()


def test_excel_fact_table(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["行政村代码", "行政村名称", "考核达标村卫生室数"])
    sheet.append(["450821100001", "城东社区", 1])
    sheet.append(["450821100002", "城西社区", 0])
    path = tmp_path / "clinics.xlsx"
    book.save(path)
    facts, problems, _ = read_fact_tables(shipped("village-clinic"), [path])
    assert problems == [] and facts is not None
    allocation, _ = allocate(shipped("village-clinic"), facts.units, facts.recipients)
    assert allocation is not None
    assert allocation.units["total_yuan"].to_pylist() == [D("5000.00"), D("0.00")]
