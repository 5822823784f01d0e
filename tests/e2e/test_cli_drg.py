"""``shidian drg`` end to end: settle the hand-worked region, explain a case, reject bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from shidian.cli import app
from tests.conftest import HANDWORKED
from tests.e2e.conftest import copy_of, run_twice_identically

runner = CliRunner()

CONTRACT = {
    "case_points.csv": [
        "case_id", "hospital_id", "month", "drg_code", "category", "base_points", "coefficient",
        "prepay_points", "final_points",
    ],
    "monthly.csv": ["month", "budget", "total_points", "point_value"],
    "monthly_payments.csv": ["hospital_id", "month", "prepay_points", "patient_cash", "amount"],
    "annual.csv": [
        "hospital_id", "year_points", "year_point_value", "assessment_coefficient", "entitlement", "surplus_cut",
        "self_pay_cut", "patient_cash", "monthly_paid", "settlement",
    ],
}  # fmt: skip


def settle(data: Path, out: Path, *extra: str):
    return runner.invoke(app, ["drg", "settle", str(data), "--out", str(out), *extra])


def header(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as handle:
        return next(csv.reader(handle))


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return copy_of(HANDWORKED, tmp_path)


def test_settle_writes_the_contract_and_is_reproducible(data: Path, tmp_path: Path):
    out = run_twice_identically(["drg", "settle", str(data)], tmp_path, except_files=("run.json",))
    for name, columns in CONTRACT.items():
        assert header(out / name)[: len(columns)] == columns or set(columns) <= set(header(out / name)), name
    record = json.loads((tmp_path / "out1" / "run.json").read_text(encoding="utf-8"))
    assert record["policy"]["id"] == "guigang-2020" and len(record["policy"]["sha256"]) == 64
    assert all(check["ok"] for check in record["checks"])
    assert record["inputs"]["cases.csv"]["rows"] == 12
    book = openpyxl.load_workbook(tmp_path / "out1" / "report.xlsx", read_only=True)
    assert book.sheetnames == [
        "汇总",
        "月度点值",
        "月度拨付",
        "年终清算",
        "病组标准",
        "差异系数",
        "警告",
    ]
    assert [c.value for c in next(book["年终清算"].iter_rows(max_row=1))][:2] == [
        "医疗机构名称",
        "医疗机构编码",
    ]


def test_report_cases_gives_the_old_single_workbook(data: Path, tmp_path: Path):
    result = settle(data, tmp_path / "out", "--report-cases", "--no-hospital-books")
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(tmp_path / "out" / "report.xlsx", read_only=True)
    assert book.sheetnames[-1] == "病例"
    assert len(list(book["病例"].iter_rows(values_only=True))) == 1 + 12
    assert not (tmp_path / "out" / "hospitals").exists()


def test_each_hospital_gets_its_statement_and_its_cases(data: Path, tmp_path: Path):
    """hospitals/<编码>.xlsx: 年终清算 (its annual.csv row), 月度拨付 (its months), 病例 (its
    cases by case_id): the same numbers as the CSV files, as Excel numbers; blank stays blank."""
    assert settle(data, tmp_path / "out").exit_code == 0
    out = tmp_path / "out"
    with (out / "case_points.csv").open(encoding="utf-8") as handle:
        cases = list(csv.DictReader(handle))
    with (out / "annual.csv").open(encoding="utf-8") as handle:
        annual = {row["hospital_id"]: row for row in csv.DictReader(handle)}
    books = sorted(p.name for p in (out / "hospitals").iterdir())
    assert books == sorted(f"{h}.xlsx" for h in annual)
    labels = {"normal": "正常病例", "high": "高倍率病例", "low": "低倍率病例", "whole_group": "整组单议病例"}
    for hospital_id, year in annual.items():
        book = openpyxl.load_workbook(out / "hospitals" / f"{hospital_id}.xlsx")
        assert book.sheetnames == ["年终清算", "月度拨付", "病例"]
        head, *rows = list(book["病例"].iter_rows(values_only=True))
        assert head[:5] == ("病案号", "月份", "DRG编码", "病例类型", "基准点数")
        mine = sorted((c for c in cases if c["hospital_id"] == hospital_id), key=lambda c: c["case_id"])
        assert [r[0] for r in rows] == [c["case_id"] for c in mine]
        for row, case in zip(rows, mine, strict=True):
            assert row[3] == labels[case["category"]]
            assert row[head.index("病例点数")] == float(case["final_points"])
            pay_month = row[head.index("追加点数拨付月份")]
            assert pay_month == (int(case["review_pay_month"]) if case["review_pay_month"] else None)
        head, values = list(book["年终清算"].iter_rows(values_only=True))
        assert values[head.index("年终清算金额(元)")] == float(year["settlement"])
        assert len(list(book["月度拨付"].iter_rows(values_only=True))) == 1 + 12


def test_report_without_cases_says_where_they_are(data: Path, tmp_path: Path):
    result = settle(data, tmp_path / "out", "--no-report-cases")
    assert result.exit_code == 0
    assert (tmp_path / "out" / "case_points.parquet").is_file()
    book = openpyxl.load_workbook(tmp_path / "out" / "report.xlsx", read_only=True)
    assert "病例" not in book.sheetnames
    values = [row[1] for row in book["汇总"].iter_rows(values_only=True)]
    assert any(isinstance(v, str) and "case_points.csv" in v for v in values)


def test_gbk_csv_with_chinese_headers_settles_the_same(data: Path, tmp_path: Path):
    assert settle(data, tmp_path / "utf8").exit_code == 0
    rows = list(csv.reader((data / "cases.csv").read_text(encoding="utf-8").splitlines()))
    chinese = ["病案号", "医疗机构编码", "出院日期", "DRG编码", "医疗总费用", "统筹基金支付", "个人现金支付", "自费费用",
               "不合理费用", "特病单议核准", "新技术"]  # fmt: skip
    with (data / "cases.csv").open("w", encoding="gbk", newline="") as handle:
        csv.writer(handle).writerows([chinese, *rows[1:]])
    result = settle(data, tmp_path / "gbk")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "utf8" / "annual.csv").read_bytes() == (tmp_path / "gbk" / "annual.csv").read_bytes()


def test_excel_input_settles_the_same(data: Path, tmp_path: Path):
    assert settle(data, tmp_path / "csv").exit_code == 0
    book = openpyxl.Workbook()
    sheet = book.active
    for row in csv.reader((data / "hospitals.csv").read_text(encoding="utf-8").splitlines()):
        sheet.append([int(v) if v.isdigit() and len(v) == 1 else v for v in row])
    book.save(data / "hospitals.xlsx")
    (data / "hospitals.csv").unlink()
    result = settle(data, tmp_path / "xlsx")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "csv" / "annual.csv").read_bytes() == (tmp_path / "xlsx" / "annual.csv").read_bytes()


def test_explain_shows_the_arithmetic_with_articles(data: Path, tmp_path: Path):
    assert settle(data, tmp_path / "out").exit_code == 0
    result = runner.invoke(app, ["drg", "explain", "K02", "--run", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "高倍率病例" in result.output and "第十六条(三)" in result.output
    assert "核准追加倍数 = 3000.01 ÷ 1000.00000000 − 3" in result.output
    for case_id in ("K01", "K04", "K07", "K08", "K12"):
        explained = runner.invoke(app, ["drg", "explain", case_id, "--run", str(tmp_path / "out")])
        assert explained.exit_code == 0, explained.output  # exit 3 would mean the recomputation disagrees
    missing = runner.invoke(app, ["drg", "explain", "NOPE", "--run", str(tmp_path / "out")])
    assert missing.exit_code == 1 and "NOPE" in missing.output


def test_policy_command_lists_articles():
    result = runner.invoke(app, ["drg", "policy", "shanwei-2021"])
    assert result.exit_code == 0
    assert "incentive_pool" in result.output and "篇5" in result.output


def edit_cell(path: Path, row: int, column: str, value: str) -> None:
    rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    rows[row - 1][rows[0].index(column)] = value
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)


@pytest.mark.parametrize(
    ("file", "row", "column", "value", "expected"),
    [
        ("cases.csv", 3, "hospital_id", "H9", "cases.csv:3:hospital_id: drg.case.unknown_hospital"),
        ("cases.csv", 4, "drg_code", "ZZ99", "cases.csv:4:drg_code: drg.case.unknown_drg"),
        ("cases.csv", 5, "case_id", "K01", "cases.csv:5:case_id: table.row.duplicate_key"),
        ("cases.csv", 6, "total_cost", "-5.00", "cases.csv:6:total_cost: table.cell.below_min"),
        ("cases.csv", 7, "total_cost", "12a.5", "cases.csv:7:total_cost: table.cell.not_number"),
        ("cases.csv", 8, "self_pay", "99999.00", "cases.csv:8:self_pay: drg.case.self_pay_above_total"),
        ("cases.csv", 9, "fund_paid", "99999.00", "cases.csv:9:fund_paid: drg.case.fund_above_total"),
        (
            "cases.csv",
            10,
            "discharge_date",
            "2021-01-03",
            "cases.csv:10:discharge_date: drg.case.date_outside_year",
        ),
        ("hospitals.csv", 2, "level", "4", "hospitals.csv:2:level: table.cell.above_max"),
    ],
)
def test_bad_input_names_file_row_column_and_writes_nothing(
    data, tmp_path, file, row, column, value, expected
):
    edit_cell(data / file, row, column, value)
    out = tmp_path / "out"
    result = settle(data, out)
    assert result.exit_code == 1
    assert expected in result.output
    assert not out.exists()


def test_all_problems_are_reported_at_once(data: Path, tmp_path: Path):
    edit_cell(data / "cases.csv", 3, "hospital_id", "H9")
    edit_cell(data / "cases.csv", 5, "total_cost", "abc")
    result = settle(data, tmp_path / "out")
    assert result.exit_code == 1
    assert "cases.csv:5:total_cost" in result.output
    # the cross-table check runs once the files themselves are valid; the file problem is reported first
    json_result = settle(data, tmp_path / "out", "--json")
    assert json.loads(json_result.stdout)["ok"] is False


@pytest.mark.parametrize(
    ("content", "code"),
    [
        ('year = 2020\ndrg_budget = "abc"\n', "drg.settlement.bad_budget"),
        (
            'year = 2020\ndrg_budget = "1000.00"\nmonthly_shares = ["0.5", "0.5"]\n',
            "drg.settlement.bad_shares",
        ),
        (
            'year = 2020\ndrg_budget = "1000.00"\nmonthly_shares = [' + ", ".join(['"0.1"'] * 12) + "]\n",
            "drg.settlement.bad_shares",
        ),
        ("year = \n", "drg.settlement.syntax"),
    ],
)
def test_bad_settlement_file(data: Path, tmp_path: Path, content: str, code: str):
    (data / "settlement.toml").write_text(content, encoding="utf-8")
    result = settle(data, tmp_path / "out")
    assert result.exit_code == 1 and code in result.output
    assert not (tmp_path / "out").exists()


def test_missing_file_and_undecodable_file(data: Path, tmp_path: Path):
    (data / "drg_groups.csv").unlink()
    (data / "hospitals.csv").write_bytes(b"hospital_id,name,level\nH1,\xff\xfe\xfd\x80,1\n")
    result = settle(data, tmp_path / "out")
    assert result.exit_code == 1
    assert "drg.input.missing_file" in result.output and "drg_groups" in result.output
    assert "hospitals.csv" in result.output
    assert not (tmp_path / "out").exists()


def test_bad_policy_file_names_key_and_line(data: Path, tmp_path: Path):
    from shidian.policy import read_reference_policy

    text, _ = read_reference_policy("drg", "guigang-2020")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("low_ratio = 0.3", "low_ratio = 3"), encoding="utf-8")
    result = settle(data, tmp_path / "out", "--policy-file", str(bad))
    assert result.exit_code == 1
    line = next(i for i, t in enumerate(text.splitlines(), start=1) if t.startswith("low_ratio"))
    assert f"bad.toml:{line}:classes.low_ratio: policy.param.invalid" in result.output
    unknown = runner.invoke(
        app, ["drg", "settle", str(data), "--out", str(tmp_path / "o"), "--policy", "nowhere-1999"]
    )
    assert unknown.exit_code == 1 and "guigang-2020" in unknown.output
