"""Issue 16, DRG items: the money the seed text allows, when it allows it (000 篇6 第十八条, 000 篇5 三(四)).

Expected values are the articles' arithmetic worked by hand (in each docstring), never the code's output.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import replace
from decimal import Decimal as D
from pathlib import Path

import pyarrow as pa

from shidian.drg.io import read_inputs
from shidian.drg.model import DEDUCTIONS_SCHEMA, REGROUPED_SCHEMA
from shidian.drg.policy import PARAMS
from shidian.drg.settlement import settle
from tests.conftest import case, drg_policy, region, rows_by

HANDWORKED = Path(__file__).parent / "data" / "handworked"


def test_000p5_3_4_incentive_pool_cites_part_three_section_four():
    """篇5 "三、工作步骤 … (四)组织实施阶段(2021年7月起) … 2.按月核算费用 3.年终决算费用": 三(四), not 四(四)."""
    method = next(p for p in PARAMS if p.key == "year_end.method")
    assert "篇5 三(四)" in method.article and "四(四)" not in method.article.replace("三(四)", "")
    docs = (Path(__file__).parents[2] / "docs" / "drg.md").read_text(encoding="utf-8")
    assert "篇5 四(四)" not in docs and "000 篇5 三(四)" in docs


def test_every_input_problem_in_one_round(tmp_path: Path):
    """A cases file with a duplicate case id (row 3), a negative total cost (row 4) and an unknown
    hospital (row 5): the three problems come in one round, each naming its file, row and column."""
    data = tmp_path / "data"
    shutil.copytree(HANDWORKED, data)
    lines = (data / "cases.csv").read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].replace("K02,", "K01,", 1)  # row 3 repeats K01
    lines[3] = lines[3].replace(",3000.00,", ",-3000.00,", 1)  # row 4: negative cost
    lines[4] = lines[4].replace(",H1,", ",H9,", 1)  # row 5: hospital H9 is not in hospitals.csv
    (data / "cases.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    inputs, problems, _ = read_inputs(data)
    assert inputs is None
    found = {(p.code, p.where.file, p.where.row, p.where.column) for p in problems}
    assert ("table.row.duplicate_key", "cases.csv", 3, "case_id") in found
    assert any(
        code.startswith("table.cell") and (row, col) == (4, "total_cost") for code, _f, row, col in found
    )
    assert ("drg.case.unknown_hospital", "cases.csv", 5, "hospital_id") in found
    assert len(problems) == 3, problems


# ---- 000 篇6 第十八条(一)5: ungroupable cases wait for the year end ---------------------------------
#
# The region of tests/drg/test_settlement.py: two level-2 hospitals P1, P2, DRG A with six cases of
# 1000 yuan (fund 700, cash 300), one per hospital in each of January–March; base points 100,
# coefficient 1, all normal. Budget 4800 in twelfths of 400; policy non_fund_inclusive.


def six_cases() -> list[dict[str, object]]:
    return [
        case(f"{h}-{m}", h, "A", "1000", month=m, fund_paid="700", patient_cash="300", self_pay="50")
        for m in (1, 2, 3)
        for h in ("P1", "P2")
    ]


def settle_region(
    cases, policy_name="guigang-2020", regrouped=None, deductions=None, dated_deductions=None, **overrides
):
    inputs = region([("P1", 2), ("P2", 2)], [("A", None, 0)], cases, "4800.00", deductions=deductions)
    if dated_deductions is not None:
        inputs = replace(inputs, deductions=pa.Table.from_pylist(dated_deductions, schema=DEDUCTIONS_SCHEMA))
    if regrouped is not None:
        inputs = replace(
            inputs,
            regrouped=pa.Table.from_pylist(
                [{"case_id": c, "drg_code": d} for c, d in regrouped], schema=REGROUPED_SCHEMA
            ),
        )
    result, problems = settle(
        inputs, drg_policy(policy_name, monthly_formula='"non_fund_inclusive"', **overrides)
    )
    assert result is not None, problems
    assert result.ok, [c for c in result.checks if not c.ok]
    return result


def month_row(result, hospital: str, month: int):
    return next(
        r for r in result.monthly_payments.to_pylist() if r["hospital_id"] == hospital and r["month"] == month
    )


UNGROUPED = case("P1-X", "P1", None, "2000", month=1, fund_paid="1400", patient_cash="600")


def test_000p6_art18_1_5_ungroupable_case_waits_for_year_end():
    """第十八条(一)5 "仍不能入组的病案 … 全部归于年底进行入组, 并于清算时拨付": P1-X (January, no DRG,
    2000 yuan, fund 1400) earns no prepayment and adds no monthly points.
    January: points 100 + 100 = 200 (not 200 + 70% × 200), non-fund 300 + 300 = 600 (its 600 left out);
    point value (400 + 600) ÷ 200 = 5, P1's January: allocation 100 × 5 − 300 = 200, prepaid 180.
    Year end, whole-group rule: reference all-case average = 6000 ÷ 6 = 1000 (the grouped cases);
    points = 2000 ÷ 1000 × 100 = 200; year points P1 300 + 200 = 500, P2 300;
    year point value = (8000 − 5600 + 4800) ÷ 800 = 9; P1 entitlement = 500 × 9 = 4500;
    settlement = 4500 − non-fund (900 + 600) − prepaid 3 × 180 = 2460."""
    result = settle_region([*six_cases(), UNGROUPED])
    x = rows_by(result.case_points, "case_id")["P1-X"]
    assert (x["category"], x["prepay_points"], x["final_points"], x["year_end_grouping"]) == (
        "whole_group",
        D(0),
        D(200),
        1,
    )
    january = result.monthly.to_pylist()[0]
    assert (january["total_points"], january["non_fund"], january["point_value"]) == (D(200), D(600), D(5))
    assert (month_row(result, "P1", 1)["allocation"], month_row(result, "P1", 1)["amount"]) == (
        D(200),
        D(180),
    )
    p1 = rows_by(result.annual, "hospital_id")["P1"]
    assert (p1["year_points"], p1["year_point_value"], p1["entitlement"]) == (D(500), D(9), D(4500))
    assert p1["settlement"] == D(2460)
    assert any(w.code == "drg.case.year_end_grouping" for w in result.warnings)
    assert result.totals["year_end_grouping"] == "1"


def test_000p6_art18_1_5_year_end_code_groups_the_case():
    """补录: P1-X gets DRG A at the year end → grouped with A's standards: cost 2000 vs level
    average 1000 is below the high multiple 3 (base 100 ≤ 100) and above 0.3 → normal, 100 points.
    Year points P1 400, P2 300; year point value = (8000 − 5600 + 4800) ÷ 700 = 10.28571428571… →
    10.28571429; P1 entitlement = 400 × 10.28571429 = 4114.285716 → 4114.29;
    settlement = 4114.29 − 1500 − 540 = 2074.29. No monthly prepayment either."""
    result = settle_region([*six_cases(), UNGROUPED], regrouped=[("P1-X", "A")])
    x = rows_by(result.case_points, "case_id")["P1-X"]
    assert (x["drg_code"], x["category"], x["prepay_points"], x["final_points"]) == (
        "A",
        "normal",
        D(0),
        D(100),
    )
    assert x["year_end_grouping"] == 1
    p1 = rows_by(result.annual, "hospital_id")["P1"]
    assert (p1["year_point_value"], p1["entitlement"], p1["settlement"]) == (
        D("10.28571429"),
        D("4114.29"),
        D("2074.29"),
    )
    assert month_row(result, "P1", 1)["amount"] == D(180)


def test_000p6_art18_2_5_switch_off_prepays_ungroupable_as_whole_group():
    """prepayment.ungroupable_at_year_end = false keeps the earlier reading: whole group, 70% prepaid:
    prepay points 200 × 0.7 = 140; January points 340."""
    result = settle_region([*six_cases(), UNGROUPED], ungroupable_at_year_end="false")
    assert rows_by(result.case_points, "case_id")["P1-X"]["prepay_points"] == D(140)
    assert result.monthly.to_pylist()[0]["total_points"] == D(340)


def test_000p6_art18_1_5_year_end_groups_with_the_switch_off_are_named_not_ignored_silently():
    """With prepayment.ungroupable_at_year_end = false the year-end codes are not read (P1-X stays whole
    group, prepay points 200 × 0.7 = 140): a warning names the file and column, nothing vanishes unsaid."""
    result = settle_region(
        [*six_cases(), UNGROUPED], regrouped=[("P1-X", "A")], ungroupable_at_year_end="false"
    )
    assert rows_by(result.case_points, "case_id")["P1-X"]["prepay_points"] == D(140)
    ignored = [w for w in result.warnings if w.code == "drg.input.ignored"]
    assert [(w.where.column, "prepayment.ungroupable_at_year_end" in w.message) for w in ignored] == [
        ("drg_code", True)
    ]


# ---- 000 篇6 第十八条(三)(四): approved extra points the month after approval -------------------------

#: P1-H: January, 6000 yuan (fund 4200, cash 1800), DRG A, approved for special review.


def high_case(review_date: dt.date | None) -> dict[str, object]:
    row = case("P1-H", "P1", "A", "6000", month=1, fund_paid="4200", patient_cash="1800", review_approved=1)
    row["review_date"] = review_date
    return row


def test_000p6_art18_3_approved_extra_points_paid_month_after_approval():
    """Seven cases of A: n = 7, sum = 12000; weight = 1 (the only DRG), base points 100, coefficient 1.
    P1-H: 6000 × 7 = 42000 > 3 × 12000 → high; 核准追加倍数 = 6000 × 7 ÷ 12000 − 3 = 3.5 − 3 = 0.5;
    追加点数 = 0.5 × 100 = 50. January points 300 (prepay: normal points 100 for P1-H);
    January non-fund 300 + 300 + 1800 = 2400; point value = (400 + 2400) ÷ 300 = 9.33333333.
    Approved 2020-03-10 → paid in April (第十八条(四) 评审确认次月) at January's value (对应月):
    (50 × 9.33333333) × 0.9 = 466.6666665 × 0.9 = 419.99999985 → 420.00; P1 April amount 420.00
    (no April cases); review allocation 466.67, withheld 46.67."""
    result = settle_region([*six_cases(), high_case(dt.date(2020, 3, 10))])
    h = rows_by(result.case_points, "case_id")["P1-H"]
    assert (h["category"], h["extra_points"], h["review_pay_month"]) == ("high", D(50), 4)
    assert result.monthly.to_pylist()[0]["point_value"] == D("9.33333333")
    april = month_row(result, "P1", 4)
    assert (april["review_points"], april["review_amount"], april["amount"]) == (
        D(50),
        D("420.00"),
        D("420.00"),
    )
    assert (april["review_allocation"], april["withheld"]) == (D("466.67"), D("46.67"))
    assert not any(w.code == "drg.review.no_date" for w in result.warnings)


def test_000p6_art18_4_approval_without_date_waits_for_year_end():
    """No approval date: today's reading, the extra is paid at the year end, and a warning says so;
    no month carries review points (Σ review_amount = 0)."""
    result = settle_region([*six_cases(), high_case(None)])
    assert rows_by(result.case_points, "case_id")["P1-H"]["review_pay_month"] is None
    assert sum(r["review_amount"] for r in result.monthly_payments.to_pylist()) == 0
    assert any(w.code == "drg.review.no_date" for w in result.warnings)


def test_000p6_art18_4_deduction_in_the_month_after_the_audit():
    """审核次月扣减: P1 deduction of February (5 points, 10 yuan) audited 2020-05-20 → taken in June at
    February's point value: February = (400 + 600) ÷ 200 = 5; 5 × 5 = 25; June amount = 0 − 25 − 10 = −35;
    February's amount stays 180. Undated, the same deduction is taken in February (180 − 25 − 10 = 145)
    with a warning."""
    dated = settle_region(six_cases(), deductions=[("P1", 2, "10", "5")])
    assert month_row(dated, "P1", 2)["amount"] == D(145)
    assert any(w.code == "drg.deduction.no_date" for w in dated.warnings)
    audited = {
        "hospital_id": "P1",
        "month": 2,
        "amount": D(10),
        "points": D(5),
        "audit_date": dt.date(2020, 5, 20),
    }
    result = settle_region(six_cases(), dated_deductions=[audited])
    assert month_row(result, "P1", 2)["amount"] == D(180)
    june = month_row(result, "P1", 6)
    assert (june["deducted_points_amount"], june["audit_deduction"], june["amount"]) == (D(25), D(10), D(-35))


# ---- 000 篇5 三(四): the 汕尾 year is settled on final points -----------------------------------------


def test_000p5_3_4_shanwei_pays_the_reviewed_points():
    """汕尾, P1-H approved without a date (extra 50 points at year end), every coefficient 1.
    Year points: P1 300 + 150 = 450, P2 300; total cost 12000, fund 8400;
    year point value = (12000 − 8400 + 4800) ÷ 750 = 11.2.
    With the approval P1 entitlement = 450 × 11.2 − withheld + incentive (= withheld) = 5040;
    without it (review_approved 0, year points 700, value 8400 ÷ 700 = 12) 400 × 12 = 4800.
    The approval moves P1's settlement by 5040 − 4800 = 240 (and P2's by 300 × 11.2 − 300 × 12 = −240):
    before issue 16 it moved neither."""
    approved = settle_region([*six_cases(), high_case(None)], "shanwei-2021")
    plain_case = high_case(None) | {"review_approved": 0}
    plain = settle_region([*six_cases(), plain_case], "shanwei-2021")
    a, p = rows_by(approved.annual, "hospital_id"), rows_by(plain.annual, "hospital_id")
    assert (a["P1"]["year_point_value"], p["P1"]["year_point_value"]) == (D("11.2"), D(12))
    assert a["P1"]["entitlement"] == D(5040) and p["P1"]["entitlement"] == D(4800)
    assert a["P1"]["settlement"] - p["P1"]["settlement"] == D(240)
    assert a["P2"]["settlement"] - p["P2"]["settlement"] == D(-240)


def test_000p6_art18_1_5_year_end_groups_file_is_read_and_checked(tmp_path: Path):
    """The handworked region's K08 (H3, January, no DRG) gets DRG A in year_end_groups.csv: it is read,
    held to the year end (prepay points 0) and grouped as A. Naming K01, a case grouped in its month,
    is refused with the file, row and column (第十八条(一)5 concerns only cases that could not be grouped)."""
    data = tmp_path / "data"
    shutil.copytree(HANDWORKED, data)
    (data / "year_end_groups.csv").write_text("case_id,drg_code\nK08,A\n", encoding="utf-8")
    inputs, problems, _ = read_inputs(data)
    assert inputs is not None, problems
    result, problems = settle(inputs, drg_policy("guigang-2020"))
    assert result is not None, problems
    k08 = rows_by(result.case_points, "case_id")["K08"]
    assert (k08["drg_code"], k08["prepay_points"], k08["year_end_grouping"]) == ("A", D(0), 1)
    (data / "year_end_groups.csv").write_text("case_id,drg_code\nK01,A\n", encoding="utf-8")
    inputs, problems, _ = read_inputs(data)
    assert inputs is not None
    _, problems = settle(inputs, drg_policy("guigang-2020"))
    assert [(p.code, p.where.file, p.where.row, p.where.column) for p in problems] == [
        ("drg.regrouped.not_ungrouped", "year_end_groups.csv", 2, "case_id")
    ]
