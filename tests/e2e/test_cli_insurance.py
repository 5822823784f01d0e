"""``shidian insurance`` end to end: the hand-worked county, the batch contract, bad input.

The county (tests/insurance/data/county) has 8 persons, 6 institutions and 17 claims; the
amounts below are worked by hand from 004 篇6 with the reference policy county-2010.
"""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from shidian.cli import app
from tests.e2e.conftest import copy_of, run_twice_identically

runner = CliRunner()
COUNTY = Path(__file__).parents[1] / "insurance" / "data" / "county"
CONTRACT = ["claim_id", "status", "deductible", "reimbursable", "reimbursement", "reason"]


def reimburse(data: Path, out: Path, *extra: str):
    return runner.invoke(app, ["insurance", "reimburse", str(data), "--out", str(out), *extra])


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return copy_of(COUNTY, tmp_path)


def test_reimburse_writes_the_contract_and_is_reproducible(data: Path, tmp_path: Path):
    out = run_twice_identically(["insurance", "reimburse", str(data)], tmp_path)
    names = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert {"claims_out.csv", "ledger.xlsx", "settlement.csv", "health_checks.csv", "run.json"} <= names
    assert {
        "statements/C2.xlsx",
        "statements/T1.xlsx",
        "notices/152922001001.pdf",
        "notices/152922001002.xlsx",
    } <= names
    assert "statements/A3.xlsx" not in names  # not designated: its certificate claim is paid to the insured
    claims = rows(tmp_path / "out1" / "claims_out.csv")
    assert list(claims[0])[: len(CONTRACT)] != [] and set(CONTRACT) <= set(claims[0])
    assert {r["status"] for r in claims} == {"paid", "rejected"}
    record = json.loads((tmp_path / "out1" / "run.json").read_text(encoding="utf-8"))
    assert record["policy"]["id"] == "county-2010" and all(c["ok"] for c in record["checks"])
    assert record["inputs"]["claims.csv"]["rows"] == 17
    pdf = (tmp_path / "out1" / "notices" / "152922001002.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and b"STSong-Light" in pdf
    book = openpyxl.load_workbook(tmp_path / "out1" / "statements" / "C2.xlsx", read_only=True)
    assert book.sheetnames == ["月度结算", "拒付明细"]
    headers = [c.value for c in next(iter(book["月度结算"].iter_rows(min_row=4, max_row=4)))]
    assert headers[:3] == ["月份", "就诊人次", "补偿人次"] and "目录外药品超标扣款(元)" in headers


def test_hand_worked_county(data: Path, tmp_path: Path):
    """K01 乡镇卫生院 2000.00, 自费 200, 特检 1500 (counted 1000 × 60% + 500 × 50% = 850):
         reimbursable 2000 − 200 − 650 = 1150.00; (1150 − 50) × 75% = 825.00
    K02 transfer from K01 to 市中心医院, 20000.00, 自费 1000: deductible 500 − 50 = 450;
         (19000 − 450) × 40% = 7420.00
    K03 县医院 3000.00 in June (another disease, county rule): 3000 × 65% = 1950.00
    K04 五保户 at 县医院 4000.00, other insurer 1000: 4000 × 65% = 2600.00 ≤ 3000.00
    K05 正常产 300.00; K06 残疾人 at 县中医院 with 70% TCM: 1000 × 75% = 750.00
    K07 外地医院 (3) with a certificate: (2000 − 500) × 40% = 600.00
    K08 not insured, K16 county-hospital outpatient, K17 discharged 2011-01-03: rejected
    K09 村卫生室 50.00 (10.00 of it 一般诊疗费, which county-2010 does not apply: issue 16 item 7,
         三(四)3 “每次门诊补偿比例为门诊费用的30%”): 50 × 30% = 15.00 (15.00 of the 300.00 outpatient cap);
         K10 600.00: 180.00; K11 600.00: 180.00 computed, 300 − 15 − 180 = 105.00 left → 105.00
    K12–K14 高血压 250.00 each: 250, 250, 100 (annual 600); K15 cataract 2 eyes: 1000.00
    """
    assert reimburse(data, tmp_path / "out").exit_code == 0
    claims = {r["claim_id"]: r for r in rows(tmp_path / "out" / "claims_out.csv")}
    expected = {
        "K01": "825.00", "K02": "7420.00", "K03": "1950.00", "K04": "2600.00", "K05": "300.00", "K06": "750.00",
        "K07": "600.00", "K08": "0.00", "K09": "15.00", "K10": "180.00", "K11": "105.00", "K12": "250.00",
        "K13": "250.00", "K14": "100.00", "K15": "1000.00", "K16": "0.00", "K17": "0.00",
    }  # fmt: skip
    assert {k: claims[k]["reimbursement"] for k in expected} == expected
    assert claims["K01"]["reimbursable"] == "1150.00" and claims["K02"]["deductible"] == "450.00"
    assert [k for k in claims if claims[k]["status"] == "rejected"] == ["K08", "K16", "K17"]
    assert "未参合" in claims["K08"]["reason"] and "2011-01-03" in claims["K17"]["reason"]
    assert [r["person_id"] for r in rows(tmp_path / "out" / "health_checks.csv")] == ["P08"]
    statements = {(r["institution_id"], r["month"]): r for r in rows(tmp_path / "out" / "settlement.csv")}
    # S3, January: drugs 9000, external 2500, allowed 25% × 9000 = 2250 → deduct 250.00
    assert (
        statements["S3", "1"]["catalogue_deduction"] == "250.00"
        and statements["S3", "1"]["payable"] == "7170.00"
    )
    # C2, August: the desk advanced 300.00 to an uninsured person: not settled
    assert statements["C2", "8"]["rejected_amount"] == "300.00" and statements["C2", "8"]["payable"] == "0.00"
    notice = rows(tmp_path / "out" / "notice.csv")
    assert all("*" in r["masked_name"] and "********" in r["masked_id_number"] for r in notice)
    assert {r["masked_name"] for r in notice} >= {"张*三", "欧**明"}
    total = sum(Decimal(r["reimbursement"]) for r in claims.values())
    ledger = rows(tmp_path / "out" / "ledger_reimbursements.csv")
    assert sum(Decimal(r["amount"]) for r in ledger) == total == Decimal("16345.00")


def test_002p4_general_fee_variant_pays_the_fee_in_full(data: Path, tmp_path: Path):
    """002 篇四 二(二): 一般诊疗费 “收费标准暂定为 10 元, 在医保基金中支付”, applied by the shipped
    variant county-2010-general-fee: K09 村卫生室 50.00 with 10.00 一般诊疗费: 10.00 + 40 × 30% = 22.00
    (12.00 of the 300.00 outpatient cap); K11: 300 − 12 − 180 = 108.00; the year 16345.00 + 7.00 + 3.00
    = 16355.00."""
    result = reimburse(data, tmp_path / "out", "--policy", "county-2010-general-fee")
    assert result.exit_code == 0, result.output
    claims = {r["claim_id"]: r for r in rows(tmp_path / "out" / "claims_out.csv")}
    assert (claims["K09"]["reimbursement"], claims["K11"]["reimbursement"]) == ("22.00", "108.00")
    assert claims["K09"]["general_fee_paid"] == "10.00" and "一般诊疗费" in claims["K09"]["reason"]
    assert sum(Decimal(r["reimbursement"]) for r in claims.values()) == Decimal("16355.00")
    record = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    assert record["policy"]["id"] == "county-2010-general-fee" and all(c["ok"] for c in record["checks"])


def test_004p6_3_3_1_two_pools_in_the_csv_the_workbook_and_the_summary(data: Path, tmp_path: Path):
    """三(二)3 “各级财政补助资金全部划入大病统筹基金”, 三(三)1 “分别对住院和门诊费用进行补偿”.
    7 insured (P07 is not): 大病统筹 income (60 + 30 + 15 + 15) × 7 = 840.00; 门诊统筹 30 × 7 = 210.00
    (P03 五保户's 30.00 paid by civil affairs, into 门诊统筹 like the individual share).
    大病统筹 spends K01–K07: 825 + 7420 + 1950 + 2600 + 300 + 750 + 600 = 14445.00, balance −13605.00;
    门诊统筹 K09–K15: 15 + 180 + 105 + 250 + 250 + 100 + 1000 = 1900.00, balance −1690.00;
    the sum 1050.00 − 16345.00 = −15295.00."""
    result = reimburse(data, tmp_path / "out")
    assert result.exit_code == 0, result.output
    pools = {r["pool"]: r for r in rows(tmp_path / "out" / "ledger_pools.csv")}
    assert [(pools[p]["income"], pools[p]["reimbursements"], pools[p]["balance"]) for p in pools] == [
        ("840.00", "14445.00", "-13605.00"),
        ("210.00", "1900.00", "-1690.00"),
        ("1050.00", "16345.00", "-15295.00"),
    ]
    summary = " ".join(result.output.split())
    assert (
        "大病统筹基金 (住院) 收入 / 支出 / 结余(元)" in summary
        and "840.00 / 14,445.00 / -13,605.00" in summary
    )
    assert "210.00 / 1,900.00 / -1,690.00" in summary  # one formatter: separators (issue 19)
    book = openpyxl.load_workbook(tmp_path / "out" / "ledger.xlsx", read_only=True)
    assert {"分基金收支", "分基金月度进度"} <= set(book.sheetnames)
    sheet = [[c.value for c in r] for r in book["分基金收支"].iter_rows()]
    assert sheet[0][:4] == ["基金", "收入(元)", "补偿支出(元)", "当年结余(元)"]
    assert [r[0] for r in sheet[1:]] == ["大病统筹基金 (住院)", "门诊统筹基金 (门诊)", "合计"]
    assert sheet[3][3] == -15295.0
    record = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    assert {c["name"]: c["ok"] for c in record["checks"]}["pools_reconcile"] is True
    assert record["totals"]["inpatient_balance"] == "-13605.00"


def test_gbk_csv_with_chinese_headers_gives_the_same_result(data: Path, tmp_path: Path):
    assert reimburse(data, tmp_path / "utf8").exit_code == 0
    chinese = {"claim_id": "就诊编号", "person_id": "人员编号", "institution_id": "医疗机构编码", "kind": "就诊类型",
               "start_date": "入院日期", "end_date": "出院日期", "total_cost": "医疗总费用", "self_pay": "自费费用",
               "special_exam": "特检费", "special_treatment": "特治费", "blood": "血液费", "special_material": "特材费",
               "tcm_cost": "中医药费用", "delivery": "分娩类型", "cataract_eyes": "白内障患眼数",
               "other_insurance_paid": "其他保险已付", "transfer_of": "转诊来源", "certificate": "外出务工或上学证明",
               "chronic_disease": "慢性病病种", "general_fee": "一般诊疗费", "drug_cost": "药品费用",
               "catalogue_external_drug_cost": "目录外药品费用", "desk_paid": "窗口垫付"}  # fmt: skip
    table = list(csv.reader((data / "claims.csv").read_text(encoding="utf-8").splitlines()))
    with (data / "claims.csv").open("w", encoding="gbk", newline="") as handle:
        csv.writer(handle).writerows([[chinese[h] for h in table[0]], *table[1:]])
    persons = (
        (data / "persons.csv")
        .read_text(encoding="utf-8")
        .replace("person_id,id_number,name", "人员编号,身份证号,姓名")
    )
    (data / "persons.csv").write_bytes(persons.encode("gbk"))
    result = reimburse(data, tmp_path / "gbk")
    assert result.exit_code == 0, result.output
    for name in ("claims_out.csv", "settlement.csv", "notice.csv"):
        assert (tmp_path / "utf8" / name).read_bytes() == (tmp_path / "gbk" / name).read_bytes(), name


def test_excel_input_gives_the_same_result(data: Path, tmp_path: Path):
    assert reimburse(data, tmp_path / "csv").exit_code == 0
    for name in ("institutions", "claims"):
        book = openpyxl.Workbook()
        sheet = book.active
        for row in csv.reader((data / f"{name}.csv").read_text(encoding="utf-8").splitlines()):
            sheet.append(row)
        book.save(data / f"{name}.xlsx")
        (data / f"{name}.csv").unlink()
    result = reimburse(data, tmp_path / "xlsx")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "csv" / "claims_out.csv").read_bytes() == (
        tmp_path / "xlsx" / "claims_out.csv"
    ).read_bytes()


def edit_cell(path: Path, row: int, column: str, value: str) -> None:
    table = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    table[row - 1][table[0].index(column)] = value
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(table)


@pytest.mark.parametrize(
    ("file", "row", "column", "value", "expected"),
    [
        ("persons.csv", 3, "id_number", "152922197001010028", "persons.csv:3:id_number: insurance.person.bad_id_number"),
        ("persons.csv", 4, "category", "poor", "persons.csv:4:category: table.cell.not_allowed"),
        ("persons.csv", 2, "village_code", "15292200100", "persons.csv:2:village_code: insurance.person.bad_village_code"),
        ("persons.csv", 5, "person_id", "P01", "persons.csv:5:person_id: table.row.duplicate_key"),
        ("institutions.csv", 2, "level", "4", "institutions.csv:2:level: table.cell.above_max"),
        ("claims.csv", 2, "total_cost", "12a", "claims.csv:2:total_cost: table.cell.not_number"),
        ("claims.csv", 3, "total_cost", "-5.00", "claims.csv:3:total_cost: table.cell.below_min"),
        ("claims.csv", 4, "self_pay", "1.005", "claims.csv:4:self_pay: table.cell.too_many_decimals"),
        ("claims.csv", 5, "kind", "emergency", "claims.csv:5:kind: table.cell.not_allowed"),
        ("claims.csv", 6, "start_date", "2010-02-30", "claims.csv:6:start_date: table.cell.not_date"),
        ("claims.csv", 7, "claim_id", "K01", "claims.csv:7:claim_id: table.row.duplicate_key"),
        ("claims.csv", 10, "delivery", "normal", "claims.csv:10:delivery: insurance.claim.delivery_outpatient"),
        ("claims.csv", 4, "transfer_of", "K07", "claims.csv:4:transfer_of: insurance.claim.transfer_other_person"),
        ("claims.csv", 13, "chronic_disease", "FLU", "claims.csv:13:chronic_disease: insurance.claim.unknown_chronic_disease"),
        ("claims.csv", 2, "end_date", "2010-01-01", "claims.csv:2:start_date: insurance.claim.dates_reversed"),
        ("claims.csv", 8, "certificate", "maybe", "claims.csv:8:certificate: table.cell.not_flag"),
    ],
)  # fmt: skip
def test_bad_input_names_file_row_column_and_writes_nothing(
    data, tmp_path, file, row, column, value, expected
):
    edit_cell(data / file, row, column, value)
    out = tmp_path / "out"
    result = reimburse(data, out)
    assert result.exit_code == 1
    assert expected in result.output
    assert "未写入任何文件" in result.output
    assert not out.exists()


def test_id_numbers_are_checked_with_their_reason_and_a_lower_case_x_is_read_as_x(data: Path, tmp_path: Path):
    from shidian.insurance.id_number import check_char

    # 17 digits whose GB 11643 check character is X (Σ digit × weight ≡ 2 mod 11)
    first17 = next(f"15292219800101{n:03}" for n in range(1000) if check_char(f"15292219800101{n:03}") == "X")
    edit_cell(data / "persons.csv", 3, "id_number", first17 + "x")
    result = reimburse(data, tmp_path / "out")
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(next((tmp_path / "out" / "notices").glob("*.xlsx")), read_only=True)
    cells = {str(c) for row in book.active.iter_rows(values_only=True) for c in row}
    assert not any(c.endswith("x") and c[:6].isdigit() for c in cells)  # masked, with its X upper-cased
    edit_cell(data / "persons.csv", 3, "id_number", first17 + "0")
    wrong = reimburse(data, tmp_path / "out2")
    assert wrong.exit_code == 1 and "persons.csv:3:id_number" in wrong.output and "校验码不对" in wrong.output
    edit_cell(data / "persons.csv", 3, "id_number", first17[:16] + "Y")
    shape = reimburse(data, tmp_path / "out3")
    assert shape.exit_code == 1 and "末位为数字或 X" in shape.output


def test_all_problems_at_once_and_json(data: Path, tmp_path: Path):
    edit_cell(data / "claims.csv", 3, "total_cost", "abc")
    edit_cell(data / "persons.csv", 2, "category", "rich")
    result = reimburse(data, tmp_path / "out")
    assert result.exit_code == 1
    assert "claims.csv:3:total_cost" in result.output and "persons.csv:2:category" in result.output
    json_result = reimburse(data, tmp_path / "out", "--json")
    payload = json.loads(json_result.stdout)
    assert payload["ok"] is False and len(payload["problems"]) == 2
    assert payload["problems"][0]["where"]["file"] in ("persons.csv", "claims.csv")


def test_missing_files_and_directory(data: Path, tmp_path: Path):
    (data / "institutions.csv").unlink()
    result = reimburse(data, tmp_path / "out")
    assert (
        result.exit_code == 1
        and "insurance.input.missing_file" in result.output
        and "institutions" in result.output
    )
    missing = reimburse(tmp_path / "nowhere", tmp_path / "out")
    assert missing.exit_code == 1 and "insurance.input.missing_dir" in missing.output


def test_bad_policy_file_names_key_and_line(data: Path, tmp_path: Path):
    from shidian.policy import read_reference_policy

    text, _ = read_reference_policy("insurance", "county-2010")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("ratio = 0.30", "ratio = 3.0"), encoding="utf-8")
    result = reimburse(data, tmp_path / "out", "--policy-file", str(bad))
    assert result.exit_code == 1
    line = next(i for i, t in enumerate(text.splitlines(), start=1) if t.startswith("ratio = 0.30"))
    assert f"bad.toml:{line}:outpatient.ratio: policy.param.invalid" in result.output
    unknown = reimburse(data, tmp_path / "o", "--policy", "nowhere-1999")
    assert unknown.exit_code == 1 and "county-2010" in unknown.output


def test_json_output_and_policy_command(data: Path, tmp_path: Path):
    result = reimburse(data, tmp_path / "out", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["run"]["totals"]["paid"] == "14"
    shown = runner.invoke(app, ["insurance", "policy", "county-2010"])
    assert shown.exit_code == 0 and "45000" in shown.stdout and "三(四)3" in shown.stdout


def test_contributions_received_give_receipts_and_the_cash_balance(data: Path, tmp_path: Path):
    """筹资到账 in GBK with Chinese headers: central 300.00 on 1 February and 100.00 on 1 July.
    Due from the centre: 60.00 per insured person (三(二)3); outstanding = due − 400.00; the other
    sources received nothing. Received to date: January 0, February to June 300.00, from July
    400.00; the spending (16345.00 in the year, from January) is above it in every month."""
    people = rows(data / "persons.csv")
    insured = sum(1 for r in people if r.get("insured", "1") == "1")
    (data / "contributions.csv").write_bytes(
        "资金来源,到账日期,到账金额,凭证号\ncentral,2010-02-01,300.00,财社[2010]1号\ncentral,2010-07-01,100.00,\n".encode(
            "gbk"
        )
    )
    result = reimburse(data, tmp_path / "out")
    assert result.exit_code == 0
    by = {r["source"]: r for r in rows(tmp_path / "out" / "ledger_receipts.csv")}
    # per pool (三(二)3: 财政补助 all into 大病统筹): the centre's 400.00 is the inpatient pool's;
    # cash balances 400 − 14445.00 = −14045.00 and 0 − 1900.00 = −1900.00 (K01–K07 and K09–K15)
    assert (by["central"]["received_inpatient"], by["central"]["received_outpatient"]) == ("400.00", "0.00")
    pools = {r["pool"]: r for r in rows(tmp_path / "out" / "ledger_pools.csv")}
    assert [
        (pools[p]["received"], pools[p]["cash_balance"]) for p in ("inpatient", "outpatient", "total")
    ] == [
        ("400.00", "-14045.00"),
        ("0.00", "-1900.00"),
        ("400.00", "-15945.00"),
    ]
    assert "400.00 / -14,045.00" in " ".join(result.output.split())
    assert Decimal(by["central"]["due"]) == 60 * insured
    assert by["central"]["received"] == "400.00"
    assert Decimal(by["central"]["outstanding"]) == 60 * insured - 400
    assert by["region"]["received"] == "0.00"
    record = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    assert "contributions.csv" in json.dumps(record["inputs"], ensure_ascii=False)
    assert {c["name"]: c["ok"] for c in record["checks"]}["receipts_reconcile"] is True
    months = rows(tmp_path / "out" / "ledger_monthly.csv")
    assert [months[m]["received_to_date"] for m in (0, 1, 5, 6, 11)] == [
        "0.00",
        "300.00",
        "300.00",
        "400.00",
        "400.00",
    ]
    # January already pays out (K01 825.00 …) with nothing received; 400.00 never covers 16345.00
    assert [m["overdrawn"] for m in months] == ["1"] * 12
    assert "筹资到账" in openpyxl.load_workbook(tmp_path / "out" / "ledger.xlsx").sheetnames


def test_a_bad_contributions_row_names_file_row_column_and_writes_nothing(data: Path, tmp_path: Path):
    (data / "contributions.csv").write_text(
        "source,received_date,amount\ncentral,2010-02-01,300.00\nprovince,2010-03-01,5.00\ncounty,2010-13-01,1\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    result = reimburse(data, out)
    assert result.exit_code == 1 and not out.exists()
    assert (
        "contributions.csv:3:source" in result.output and "contributions.csv:4:received_date" in result.output
    )


def test_receipts_outside_the_years_or_with_a_repeated_reference_are_warned_by_row(
    data: Path, tmp_path: Path
):
    (data / "contributions.csv").write_text(
        "source,received_date,amount,reference\n"
        "central,2010-02-01,300.00,A-1\n"
        "central,2007-05-01,10.00,A-2\n"
        "city,2010-03-01,15.00,A-1\n",
        encoding="utf-8",
    )
    result = reimburse(data, tmp_path / "out", "--json")
    assert result.exit_code == 0
    warnings = rows(tmp_path / "out" / "warnings.csv")
    where = {w["code"]: w["where"] for w in warnings if w["code"].startswith("insurance.contribution.")}
    assert where == {
        "insurance.contribution.outside_years": "contributions.csv:3:received_date",
        "insurance.contribution.duplicate_reference": "contributions.csv:4:reference",
    }


def test_a_cell_of_the_wrong_type_does_not_hide_the_other_files_problems(data: Path, tmp_path: Path):
    """One round reports everything: a date that is not a date in claims.csv, and in persons.csv
    (read fine) an ID number whose check character is wrong."""
    edit_cell(data / "claims.csv", 2, "end_date", "2010-02-30")
    number = rows(data / "persons.csv")[1]["id_number"]
    edit_cell(data / "persons.csv", 3, "id_number", number[:17] + ("0" if number[17] != "0" else "1"))
    result = reimburse(data, tmp_path / "out")
    assert result.exit_code == 1 and not (tmp_path / "out").exists()
    assert "claims.csv:2:end_date" in result.output
    assert "persons.csv:3:id_number" in result.output and "校验码不对" in result.output
