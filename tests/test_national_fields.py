"""Files exported from the 医保信息平台 (issue 20): the national interface's field names and codes
are accepted as aliases of our columns (docs/national-fields.md). The files below are shaped like
a real export: the platform's lower-case names, extra fields we do not read (psn_no, mdtrt_id,
insutype in a DRG file), date-times, and 12-character institution codes (H + 行政区划 + 序号)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from shidian.drg.io import CASES, HOSPITALS
from shidian.insurance.io import CLAIMS, PERSONS
from shidian.problems import Source
from shidian.tables import TableSpec, read_table

SETTLEMENT_EXPORT = [
    "setl_id,mdtrt_id,psn_no,psn_name,insutype,fixmedins_code,fixmedins_name,dscg_time,"
    "medfee_sumamt,hifp_pay,psn_cash_pay,fulamt_ownpay_amt,setl_time,DRG编码",
    "450800G0000000123401,450800M0000000991201,45000000000000000011,张三,390,H45080200011,贵港市人民医院,"
    "2020-03-05 10:22:31,12345.67,8000.00,4045.67,300.00,2020-03-05 11:02:00,GB19",
    "450800G0000000123402,450800M0000000991202,45000000000000000012,李四,310,H45080200011,贵港市人民医院,"
    "2020-03-06 09:00:00,800.5,600.40,200.10,0,2020-03-06 09:30:00,",
]


def test_drg_cases_from_a_national_settlement_export(tmp_path: Path) -> None:
    """A settlement export with the grouper's DRG编码 added: setl_id is the case, dscg_time the discharge, the four money fields map to
    总费用 / 统筹基金支付 / 个人现金支付 / 自费费用; psn_no, insutype, setl_time … are not read."""
    path = tmp_path / "cases.csv"
    path.write_bytes(("\r\n".join(SETTLEMENT_EXPORT) + "\r\n").encode("gbk"))
    table, problems = read_table(path, CASES)
    assert problems == []
    assert table is not None
    rows = table.to_pylist()
    assert [r["case_id"] for r in rows] == ["450800G0000000123401", "450800G0000000123402"]
    assert [r["hospital_id"] for r in rows] == ["H45080200011", "H45080200011"]
    assert [r["discharge_date"] for r in rows] == [dt.date(2020, 3, 5), dt.date(2020, 3, 6)]
    assert [r["total_cost"] for r in rows] == [Decimal("12345.67"), Decimal("800.50")]
    assert [r["fund_paid"] for r in rows] == [Decimal("8000.00"), Decimal("600.40")]
    assert [r["patient_cash"] for r in rows] == [Decimal("4045.67"), Decimal("200.10")]
    assert [r["self_pay"] for r in rows] == [Decimal("300.00"), Decimal("0.00")]
    assert [r["drg_code"] for r in rows] == ["GB19", None]  # the grouper's result, added by the bureau


def test_drg_problems_name_the_national_header(tmp_path: Path) -> None:
    path = tmp_path / "cases.csv"
    lines = [SETTLEMENT_EXPORT[0], SETTLEMENT_EXPORT[1].replace("8000.00", "8000.001")]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    problems = read_table(path, CASES)[1]
    assert [(p.code, p.where) for p in problems] == [
        ("table.cell.too_many_decimals", Source("cases.csv", 2, "hifp_pay"))
    ]


def test_hospitals_with_national_institution_codes(tmp_path: Path) -> None:
    path = tmp_path / "hospitals.csv"
    path.write_text(
        "fixmedins_code,fixmedins_name,医院等级\nH45080200011,贵港市人民医院,3\n", encoding="utf-8"
    )
    table, problems = read_table(path, HOSPITALS)
    assert problems == []
    assert table is not None
    assert table.to_pylist()[0]["hospital_id"] == "H45080200011"


CLAIMS_EXPORT = [
    "setl_id,psn_no,fixmedins_code,med_type,insutype,begndate,enddate,medfee_sumamt,fulamt_ownpay_amt",
    "S001,P001,H45080200011,21,390,2020-05-01,2020-05-09,5000.00,120.00",
    "S002,P002,H45080200011,11,390,2020-05-02,2020-05-02,86.5,0",
]


def test_insurance_claims_from_a_national_export_map_med_type(tmp_path: Path) -> None:
    """医疗类别 21 普通住院 → inpatient, 11 普通门诊 → outpatient; 险种 390 城乡居民 is this scheme."""
    path = tmp_path / "claims.csv"
    path.write_text("\n".join(CLAIMS_EXPORT) + "\n", encoding="utf-8")
    table, problems = read_table(path, CLAIMS)
    assert problems == []
    assert table is not None
    rows = table.to_pylist()
    assert [(r["claim_id"], r["person_id"], r["institution_id"]) for r in rows] == [
        ("S001", "P001", "H45080200011"),
        ("S002", "P002", "H45080200011"),
    ]
    assert [r["kind"] for r in rows] == ["inpatient", "outpatient"]
    assert [(r["start_date"], r["end_date"]) for r in rows] == [
        (dt.date(2020, 5, 1), dt.date(2020, 5, 9)),
        (dt.date(2020, 5, 2), dt.date(2020, 5, 2)),
    ]
    assert [(r["total_cost"], r["self_pay"]) for r in rows] == [
        (Decimal("5000.00"), Decimal("120.00")),
        (Decimal("86.50"), Decimal("0.00")),
    ]


def test_employee_insurance_and_unmapped_medical_categories_are_refused(tmp_path: Path) -> None:
    """险种 310 (职工基本医疗保险) is not the resident scheme; 医疗类别 14 (门诊慢特病) has no
    automatic mapping: both are refused at their cell, with the code as written."""
    lines = [*CLAIMS_EXPORT[:2], "S003,P003,H45080200011,14,310,2020-05-03,2020-05-03,10,0"]
    path = tmp_path / "claims.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    table, problems = read_table(path, CLAIMS)
    assert table is None
    assert [(p.code, p.where, p.details["value"]) for p in problems] == [
        ("table.cell.not_allowed", Source("claims.csv", 3, "med_type"), "14"),
        ("table.cell.not_allowed", Source("claims.csv", 3, "insutype"), "310"),
    ]


def test_insurance_persons_from_national_names(tmp_path: Path) -> None:
    path = tmp_path / "persons.csv"
    header = "psn_no,certno,psn_name,家庭编号,人员类别,行政村代码"
    path.write_text(f"{header}\nP001,450802199001011234,张三,F01,general,V01\n", encoding="utf-8")
    table, problems = read_table(path, PERSONS)
    assert problems == []
    assert table is not None
    row = table.to_pylist()[0]
    assert (row["person_id"], row["id_number"], row["name"]) == ("P001", "450802199001011234", "张三")


def test_a_national_institution_code_of_another_prefecture_is_refused(tmp_path: Path) -> None:
    """H + 行政区划 + 序号: two hospitals of 贵港 (4508: 450802 港北区, 450881 桂平市) and one of
    广州 (4401): the third is not of this pooling region; a local code is not checked."""
    from shidian.drg.io import GROUPS
    from shidian.drg.model import DrgInputs, SettlementParams
    from shidian.drg.validate import validate_inputs

    def table(name: str, text: str, spec: TableSpec) -> pa.Table:
        (tmp_path / name).write_text(text, encoding="utf-8")
        read, problems = read_table(tmp_path / name, spec)
        assert problems == [] and read is not None
        return read

    hospitals = table(
        "hospitals.csv",
        "hospital_id,name,level\nH45080200011,贵港市人民医院,3\nH45088100002,桂平市人民医院,2\n"
        "H44010400003,广州某医院,3\nLOCAL9,本地编码医院,1\n",
        HOSPITALS,
    )
    inputs = DrgInputs(
        params=SettlementParams(year=2020, drg_budget=Decimal("1000.00")),
        hospitals=hospitals,
        groups=table("drg_groups.csv", "drg_code,name\nGB19,x\n", GROUPS),
        cases=table(
            "cases.csv",
            "case_id,hospital_id,discharge_date,drg_code,total_cost,fund_paid,patient_cash,self_pay\n"
            "C1,H45080200011,2020-01-02,GB19,100,80,20,0\n",
            CASES,
        ),
        sources={"hospitals": "hospitals.csv"},
    )
    problems = validate_inputs(inputs)
    assert [(p.code, p.where) for p in problems] == [
        ("drg.hospital.other_region", Source("hospitals.csv", 4, "hospital_id"))
    ]
