"""The year-end caps (000 篇6 第十九条(三)), worked by hand from the article.

"定点医疗机构按点数结算年结余率不得高于实际消费总额的30%" and "自费费用比例原则上不得超过10%"
(guigang-2020: surplus_cap_ratio 0.3, self_pay_cap_ratio 0.1). A hospital is *near* a cap when
its self-pay is within one percentage point of 10%, or its surplus is at least 90% of its 30%.

The folder region: two level-2 hospitals P1, P2, one DRG A, six cases of 1000 yuan (fund 700,
patient cash 300), one per hospital in each of January–March. Every case is normal with 100
points (A's average is the all-case average: weight 1, base points 100), so each hospital has
300 year points and 3000 yuan total cost. With a budget of 5820.00 the year point value is
(6000 − 4200 + 5820) ÷ 600 = 12.7 (第十九条(一)), each entitlement 300 × 12.7 = 3810.00, and
each surplus 3810 − 3000 = 810 = 27% of total cost: exactly 90% of the 30% cap. P2's self-pay is
3 × 95 = 285 = 9.5% of 3000 (within a point of 10%); P1's 3 × 50 = 150 = 5% is not.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import openpyxl
import pyarrow as pa
from typer.testing import CliRunner

from shidian.cli import app
from shidian.drg.caps import NEAR_SELF_PAY_MARGIN, NEAR_SURPLUS_FRACTION, YearAmounts, near_caps, year_amounts
from tests.conftest import drg_policy

BUDGET = "5820.00"


def amounts(hid: str, total: str, self_pay: str, entitlement: str) -> YearAmounts:
    return YearAmounts(hid, f"医院{hid}", Decimal(total), Decimal(self_pay), Decimal(entitlement))


def write_region(folder: Path, budget: str = BUDGET) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hospitals.csv").write_text(
        "hospital_id,name,level\nP1,第一医院,2\nP2,第二医院,2\n", encoding="utf-8"
    )
    (folder / "drg_groups.csv").write_text("drg_code,name,weight,basic\nA,甲病组,,0\n", encoding="utf-8")
    header = "case_id,hospital_id,discharge_date,drg_code,total_cost,fund_paid,patient_cash,self_pay,unreasonable_cost,review_approved,new_technology"
    rows = [
        f"{h}-{m},{h},2020-0{m}-15,A,1000.00,700.00,300.00,{self_pay},0,0,0"
        for m in (1, 2, 3)
        for h, self_pay in (("P1", "50.00"), ("P2", "95.00"))
    ]
    (folder / "cases.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    (folder / "settlement.toml").write_text(f'year = 2020\ndrg_budget = "{budget}"\n', encoding="utf-8")
    return folder


def test_the_margins_are_the_documented_ones():
    assert Decimal("0.01") == NEAR_SELF_PAY_MARGIN and Decimal("0.9") == NEAR_SURPLUS_FRACTION


def test_near_caps_from_the_articles_arithmetic():
    policy = drg_policy("guigang-2020")  # surplus cap 30%, self-pay cap 10%
    found = near_caps(
        [
            amounts("A", "2000.00", "179.98", "2000.00"),  # 8.999%: more than one point below 10%
            amounts("B", "2000.00", "180.00", "2000.00"),  # 9.00% = 10% − 1 point
            amounts("C", "2000.00", "0.00", "2539.99"),  # surplus 539.99 < 0.9 × 600
            amounts("D", "2000.00", "0.00", "2540.00"),  # surplus 540.00 = 0.9 × 600 = 27%
            amounts("E", "0.00", "0.00", "100.00"),  # no cost: no share to speak of
        ],
        policy,
    )
    assert [(n.hospital_id, n.cap, n.actual_pct, n.cap_pct) for n in found] == [
        ("B", "self_pay", Decimal("9.00"), Decimal("10")),
        ("D", "surplus", Decimal("27.00"), Decimal("30")),
    ]
    assert found[1].message == "结余 540.00 元, 占实际消费总额 27.00%, 上限 30%"
    assert found[0].name == "医院B"


def test_no_caps_when_the_policy_does_not_apply_them():
    over = [amounts("E", "1000.00", "500.00", "5000.00")]
    assert near_caps(over, drg_policy(**{"apply_caps": "false"})) == []
    assert len(near_caps(over, drg_policy())) == 2


def test_year_amounts_read_an_annual_table():
    annual = pa.table(
        {
            "hospital_id": ["P1"],
            "total_cost": [Decimal("3000.00")],
            "self_pay": [Decimal("150.00")],
            "entitlement": [Decimal("3810.00")],
        }
    )
    assert year_amounts(annual, {"P1": "第一医院"}) == [
        YearAmounts("P1", "第一医院", Decimal("3000.00"), Decimal("150.00"), Decimal("3810.00"))
    ]


def test_cli_summary_and_report_show_the_same_hospitals_near_the_caps(tmp_path: Path):
    data = write_region(tmp_path / "region")
    result = CliRunner().invoke(app, ["drg", "settle", str(data), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    self_pay = "自费费用占医疗总费用 9.50%, 上限 10%"
    surplus = "结余 810.00 元, 占实际消费总额 27.00%, 上限 30%"
    shown = re.sub(r"[\s│]", "", result.output)  # the table wraps long cells at 80 columns
    for hospital, message in (("P1第一医院", surplus), ("P2第二医院", self_pay), ("P2第二医院", surplus)):
        assert f"接近年终清算限制{hospital}" + re.sub(r"\s", "", message) in shown
    book = openpyxl.load_workbook(tmp_path / "out" / "report.xlsx", read_only=True)
    rows = [tuple(r[:2]) for r in book["汇总"].iter_rows(values_only=True)]
    start = rows.index(("接近年终清算限制 (第十九条(三))", "情况"))
    assert rows[start + 1 :] == [
        ("P1 第一医院", surplus),
        ("P2 第二医院", self_pay),
        ("P2 第二医院", surplus),
    ]
