"""``shidian capitation settle`` and ``explain``: files in (UTF-8, GBK, Excel), outputs, problems."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import openpyxl
from typer.testing import CliRunner

from shidian.cli import app

runner = CliRunner()

FUND = """year = 2020
funding_total = 100000000
funding_last_year = 90000000
catastrophic = 5000000
accident = 1000000
"""
TABLES = {
    "communities": "community_id,name,lead_institution_id\nA,县人民医院医共体,A1\nB,县中医院医共体,B1\n",
    "members": (
        "institution_id,name,community_id,tier\nA1,县人民医院,A,县级\nA2,新发镇卫生院,A,乡镇\n"
        "A3,建平镇卫生院,A,乡镇\nA4,甲村卫生室,A,村\nB1,县中医院,B,county\nB2,十字镇卫生院,B,township\n"
        "B3,乙村卫生室,B,village\n"
    ),
    "population": "community_id,insured\nA,60000\nB,40000\n",
    "spending": "community_id,fund_paid\nA,50000000\nB,39000000\n",
    "scores": "institution_id,score\nA1,90\nA2,80\nA3,50\nA4,70\nB1,85\nB2,75\nB3,95\n",
}


def data_dir(tmp_path: Path, **replace: str) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "fund.toml").write_text(FUND, encoding="utf-8")
    for name, text in {**TABLES, **replace}.items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_settle_writes_every_output_and_explain_reads_the_run(tmp_path):
    """The hand-worked county of test_year_end (pot 9114 万, A 5468.4 万, B 3645.6 万) end to end."""
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["capitation", "settle", str(data_dir(tmp_path)), "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)["run"]
    assert record["kind"] == "capitation.settlement"
    assert record["totals"]["pot_yuan"] == "91140000.00"
    assert all(c["ok"] for c in record["checks"])
    assert {p.name for p in out.iterdir()} == {
        "budget.csv",
        "prepayments.csv",
        "settlement.csv",
        "distribution.csv",
        "report.xlsx",
        "policy.toml",
        "run.json",
    }
    settlement = {r["community_id"]: r for r in _rows(out / "settlement.csv")}
    assert settlement["A"]["surplus"] == "4684000.00"
    assert settlement["B"]["overspend"] == "2544000.00"
    assert settlement["B"]["fund_share"] == "911400.00"
    prepay = _rows(out / "prepayments.csv")
    assert [(r["quarter"], r["due_on"], r["amount"]) for r in prepay if r["community_id"] == "A"] == [
        ("1", "2020-01-15", "13671000.00"),
        ("2", "2020-04-15", "13671000.00"),
        ("3", "2020-07-14", "13671000.00"),
        ("4", "2020-10-21", "13671000.00"),
    ]
    shares = {r["institution_id"]: r["amount"] for r in _rows(out / "distribution.csv")}
    assert shares["A2"] == "1070628.57"
    book = openpyxl.load_workbook(out / "report.xlsx")
    assert book.sheetnames == ["预算构成", "季度预拨", "年终结算", "成员分配", "自检"]

    explained = runner.invoke(app, ["capitation", "explain", "B", "--run", str(out), "--json"])
    assert explained.exit_code == 0, explained.output
    steps = {s["label"]: s for s in json.loads(explained.output)["steps"]}
    assert steps["医保基金分担"]["amount"] == "911400.00"
    assert steps["合理超支"]["article"] == "001 第十七篇 四(二)1(1)"
    assert "医共体 A 预算基金" not in steps
    a = runner.invoke(app, ["capitation", "explain", "A", "--run", str(out), "--json"])
    shares = [s for s in json.loads(a.output)["steps"] if s["label"] == "A3 分得结余"]
    assert shares[0]["amount"] == "334571.43"
    assert shares[0]["article"] == "001 第十七篇 四(四)3"
    assert "低于合格分 60" in shares[0]["formula"]
    assert runner.invoke(app, ["capitation", "explain", "A", "--run", str(out)]).exit_code == 0


def test_gbk_csv_and_excel_with_chinese_headers(tmp_path):
    folder = data_dir(tmp_path)
    (folder / "members.csv").unlink()
    (folder / "members.csv").write_bytes(
        TABLES["members"]
        .replace("institution_id,name,community_id,tier", "机构编号,机构名称,医共体编号,层级")
        .encode("gbk")
    )
    (folder / "scores.csv").unlink()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["机构编号", "考核得分"])
    for line in TABLES["scores"].splitlines()[1:]:
        iid, score = line.split(",")
        sheet.append([iid, int(score)])
    book.save(folder / "scores.xlsx")
    out = tmp_path / "out"
    result = runner.invoke(app, ["capitation", "settle", str(folder), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    shares = {r["institution_id"]: r["amount"] for r in _rows(out / "distribution.csv")}
    assert shares["A3"] == "334571.43"


def test_bad_input_names_file_row_and_column_and_writes_nothing(tmp_path):
    folder = data_dir(
        tmp_path,
        members=TABLES["members"]
        .replace("A4,甲村卫生室,A,村", "A4,甲村卫生室,Z,村")
        .replace("B3,乙村卫生室,B,village", "B3,乙村卫生室,B,town"),
        scores=TABLES["scores"].replace("A2,80", "A2,120"),
        spending="community_id,fund_paid\nA,50000000\n",
    )
    out = tmp_path / "out"
    result = runner.invoke(app, ["capitation", "settle", str(folder), "--out", str(out)])
    assert result.exit_code == 1
    assert "members.csv:8:tier: table.cell.not_allowed" in result.output
    assert "scores.csv:3:score: table.cell.above_max" in result.output
    assert not out.exists()


def test_cross_file_problems(tmp_path):
    folder = data_dir(
        tmp_path,
        members=TABLES["members"].replace("A4,甲村卫生室,A,村", "A4,甲村卫生室,Z,村"),
        communities="community_id,name,lead_institution_id\nA,县人民医院医共体,B1\nB,县中医院医共体,B1\n",
        spending="community_id,fund_paid\nA,50000000\n",
        scores=TABLES["scores"].replace("B3,95\n", "X9,95\n"),
    )
    out = tmp_path / "out"
    result = runner.invoke(app, ["capitation", "settle", str(folder), "--out", str(out), "--json"])
    assert result.exit_code == 1
    found = {
        (p["code"], p["where"]["file"], p["where"].get("row")) for p in json.loads(result.output)["problems"]
    }
    assert ("capitation.members.unknown_community", "members.csv", 5) in found
    assert ("capitation.communities.unknown_lead", "communities.csv", 2) in found
    assert ("capitation.spending.missing", "spending.csv", None) in found
    assert ("capitation.scores.unknown_institution", "scores.csv", 8) in found
    assert ("capitation.scores.missing", "scores.csv", None) in found
    assert not out.exists()


def test_fund_problems_name_the_key(tmp_path):
    folder = data_dir(tmp_path)
    (folder / "fund.toml").write_text(
        "year = 2020\nfunding_total = -5\nfunding_last_year = 1.234\nextra = 1\n", encoding="utf-8"
    )
    result = runner.invoke(app, ["capitation", "settle", str(folder), "--out", str(tmp_path / "o"), "--json"])
    assert result.exit_code == 1
    found = {(p["code"], p["where"].get("key")) for p in json.loads(result.output)["problems"]}
    assert found == {
        ("capitation.fund.invalid", "funding_total"),
        ("capitation.fund.invalid", "funding_last_year"),
        ("capitation.fund.missing", "catastrophic"),
        ("capitation.fund.missing", "accident"),
        ("capitation.fund.unknown", "extra"),
    }


def test_a_year_outside_the_policy_is_refused(tmp_path):
    folder = data_dir(tmp_path)
    (folder / "fund.toml").write_text(FUND.replace("2020", "2021"), encoding="utf-8")
    result = runner.invoke(app, ["capitation", "settle", str(folder), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "capitation.fund.year_outside_policy" in result.output


def test_policy_shows_every_parameter():
    result = runner.invoke(app, ["capitation", "policy", "--json"])
    assert result.exit_code == 0, result.output
    values = json.loads(result.output)["policy"]
    assert values["pot.ratio"] == "0.98"
    assert values["surplus.tier_weight.county"] == "6"
