"""The 医共体 package (000 篇6 第八条): members accounted separately, paid through the lead.

The region of test_caps: P1 and P2 each have a fund payment of 2910.00 (3810.00 − 900.00, see
test_schemes); P2 is a member of the 医共体 led by P1 and its payments go to P1: P1 receives
2910.00 + 2910.00 = 5820.00; each hospital's own accounts (annual.csv) are unchanged.
"""

from __future__ import annotations

import csv

from shidian.drg.service import settle_folder
from tests.drg.test_caps import write_region


def test_000p6_art8_a_members_payments_are_packaged_to_its_lead(tmp_path):
    plain, _ = settle_folder(write_region(tmp_path / "a"), tmp_path / "out-a", "guigang-2020")
    data = write_region(tmp_path / "b")
    (data / "hospitals.csv").write_text(
        "hospital_id,name,level,打包支付至\nP1,第一医院,2,\nP2,第二医院,2,P1\n", encoding="utf-8"
    )
    run, problems = settle_folder(data, tmp_path / "out-b", "guigang-2020")
    assert plain is not None and run is not None, problems
    assert run.result.annual.equals(plain.result.annual)
    with (tmp_path / "out-b" / "packages.csv").open(encoding="utf-8") as f:
        got = [(r["hospital_id"], r["payee"], r["fund_payment"], r["payee_total"]) for r in csv.DictReader(f)]
    assert got == [("P1", "P1", "2910.00", "5820.00"), ("P2", "P1", "2910.00", "5820.00")]
    assert not (tmp_path / "out-a" / "packages.csv").exists()


def test_000p6_art8_the_package_goes_to_a_known_lead_directly(tmp_path):
    data = write_region(tmp_path / "in")
    (data / "hospitals.csv").write_text(
        "hospital_id,name,level,package_to\nP1,第一医院,2,P2\nP2,第二医院,2,P9\n", encoding="utf-8"
    )
    run, problems = settle_folder(data, tmp_path / "out", "guigang-2020")
    assert run is None
    assert sorted((p.code, p.where.row) for p in problems) == [
        ("drg.hospital.package_chain", 2),
        ("drg.hospital.unknown_package_lead", 3),
    ]


def test_the_report_has_a_sheet_for_each_given_input(tmp_path):
    """险种记账 (第六条), 年度预付 (第十七条), 医共体打包支付 (第八条) appear only when given."""
    import openpyxl

    from tests.drg.test_schemes import with_schemes

    data = with_schemes(write_region(tmp_path / "in"))
    (data / "hospitals.csv").write_text(
        "hospital_id,name,level,package_to\nP1,第一医院,2,\nP2,第二医院,2,P1\n", encoding="utf-8"
    )
    (data / "advances.csv").write_text("hospital_id,last_year_fund_paid\nP1,12000.00\n", encoding="utf-8")
    run, problems = settle_folder(data, tmp_path / "out", "guigang-2020")
    assert run is not None, problems
    book = openpyxl.load_workbook(tmp_path / "out" / "report.xlsx")
    assert {"险种记账", "年度预付", "医共体打包支付"} <= set(book.sheetnames)
    assert book["险种记账"]["B2"].value == "职工医保"
    assert book["年度预付"]["C2"].value == 2000  # 12000 × 2 ÷ 12
    assert book["医共体打包支付"]["B3"].value == "P1"
    plain, _ = settle_folder(write_region(tmp_path / "in2"), tmp_path / "out2", "guigang-2020")
    assert plain is not None
    names = openpyxl.load_workbook(tmp_path / "out2" / "report.xlsx").sheetnames
    assert not {"险种记账", "年度预付", "医共体打包支付"} & set(names)
