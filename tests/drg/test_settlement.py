"""Monthly prepayment (第十八条) and year-end settlement (第十九条; 篇5 incentive pool).

The region: two level-2 hospitals P1, P2, one DRG A with six cases of 1000 yuan (fund 700,
patient cash 300), one per hospital in each of January–March. The year's cases are the
reference (第十九条(五)): A's average is 1000 = the all-case average → weight 1, base points
100, coefficient 1; every case is normal with 100 points. Year points 300 per hospital.
"""

from __future__ import annotations

from decimal import Decimal as D

from shidian.drg.settlement import settle
from tests.conftest import case, drg_policy, region, rows_by


def six_cases(self_pay_p2: str = "50") -> list[dict[str, object]]:
    return [
        case(f"{h}-{m}", h, "A", "1000", month=m, fund_paid="700", patient_cash="300", self_pay=sp)
        for m in (1, 2, 3)
        for h, sp in (("P1", "50"), ("P2", self_pay_p2))
    ]


def run(policy_name: str = "guigang-2020", budget: str = "4800.00", **kwargs):
    overrides = kwargs.pop("overrides", {})
    inputs = region(
        [("P1", 2), ("P2", 2)], [("A", None, 0)], kwargs.pop("cases", six_cases()), budget, **kwargs
    )
    result, problems = settle(inputs, drg_policy(policy_name, **overrides))
    assert result is not None, problems
    assert result.ok, [c for c in result.checks if not c.ok]
    return result


def payment(result, hospital: str, month: int):
    return next(
        r for r in result.monthly_payments.to_pylist() if r["hospital_id"] == hospital and r["month"] == month
    )


def test_000p6_art18_monthly_budget_follows_last_years_shares():
    """月度预算 = DRG总额预算 × 该月份占比; 12 budgets sum to the annual budget to the fen."""
    shares = tuple(D(s) for s in ["0.1", "0.05", *["0.085"] * 10])
    result = run(budget="1000.01", shares=shares)
    budgets = result.monthly.column("budget").to_pylist()
    # 1000.01 × 0.1 = 100.001; × 0.05 = 50.0005; × 0.085 = 85.00085: truncated they sum to 1000.00.
    # The fen left over goes to the largest remainder: January's 0.1 fen (others 0.05 and 0.085 fen).
    assert budgets == [D("100.01"), D("50.00"), *[D("85.00")] * 10]
    assert sum(budgets) == D("1000.01")


def test_000p6_art18_monthly_point_value_as_written():
    """月度点值 = 月度预算 ÷ 月度总点数 = 400 ÷ 200 = 2; 拨付 = (100 × 2 − 300) × 90% = −90."""
    result = run()
    january = result.monthly.to_pylist()[0]
    assert january["budget"] == D("400.00") and january["total_points"] == D(200)
    assert january["point_value"] == D(2)
    assert payment(result, "P1", 1)["amount"] == D("-90.00")
    assert any(w.code == "drg.payment.negative_month" for w in result.warnings)
    assert result.monthly.to_pylist()[3]["point_value"] == 0  # April: no cases
    assert any(w.code == "drg.month.no_cases" for w in result.warnings)


def test_000p6_art18_monthly_point_value_non_fund_inclusive():
    """(400 + 600 非统筹) ÷ 200 = 5; 分配额 = 100 × 5 − 300 = 200; 预拨 = 200 × 90% = 180, 留存 20."""
    result = run(overrides={"monthly_formula": '"non_fund_inclusive"'})
    p1 = payment(result, "P1", 1)
    assert result.monthly.to_pylist()[0]["point_value"] == D(5)
    assert (p1["allocation"], p1["amount"], p1["withheld"]) == (D(200), D(180), D(20))


def test_000p6_art18_3_deductions_in_the_month():
    """扣除5点 × 点值5 = 25, 审核扣款10: 二月拨付 = 180 − 25 − 10 = 145."""
    result = run(overrides={"monthly_formula": '"non_fund_inclusive"'}, deductions=[("P1", 2, "10", "5")])
    assert payment(result, "P1", 2)["amount"] == D(145)


def test_000p6_art19_year_end_point_value_settlement():
    """年度点值 = (6000 − 4200 + 4800) ÷ 600 = 11; 应得 = 300 × 11 = 3300;
    清算 = 3300 − 非统筹900 − 已预拨(3 × 180 = 540) = 1860; 两院合计 3720 + 预拨 1080 = 预算 4800."""
    result = run(overrides={"monthly_formula": '"non_fund_inclusive"'})
    p1 = rows_by(result.annual, "hospital_id")["P1"]
    assert p1["year_point_value"] == D(11)
    assert (p1["entitlement"], p1["patient_cash"], p1["monthly_paid"]) == (D(3300), D(900), D(540))
    assert p1["settlement"] == D(1860)
    assert sum(r["settlement"] + r["monthly_paid"] for r in result.annual.to_pylist()) == D(4800)


def test_000p6_art19_2_assessment_coefficient():
    """考核系数 0.9: 应得 = 300 × 11 × 0.9 = 2970; 清算 = 2970 − 900 − 540 = 1530."""
    result = run(overrides={"monthly_formula": '"non_fund_inclusive"'}, assessment={"P2": "0.9"})
    p2 = rows_by(result.annual, "hospital_id")["P2"]
    assert (p2["entitlement"], p2["settlement"]) == (D(2970), D(1530))


def test_000p6_art19_1_deducted_points_leave_the_year_points():
    """P1 扣除5点: 年度点数 295; 年度点值 = 6600 ÷ 595 = 11.092436974… → 11.09243697;
    应得 = 295 × 11.09243697 = 3272.26890615 → 3272.27; 已预拨 540 − 25 − 10 = 505;
    清算 = 3272.27 − 900 − 505 − 审核扣款10 = 1857.27."""
    result = run(overrides={"monthly_formula": '"non_fund_inclusive"'}, deductions=[("P1", 2, "10", "5")])
    p1 = rows_by(result.annual, "hospital_id")["P1"]
    assert p1["year_points"] == D(295) and p1["year_point_value"] == D("11.09243697")
    assert (p1["entitlement"], p1["monthly_paid"], p1["settlement"]) == (D("3272.27"), D(505), D("1857.27"))


def test_000p6_art19_3_self_pay_cap():
    """P2 自费 3 × 400 = 1200 > 10% × 3000 = 300: 扣减 900."""
    result = run(overrides={"monthly_formula": '"non_fund_inclusive"'}, cases=six_cases(self_pay_p2="400"))
    p2 = rows_by(result.annual, "hospital_id")["P2"]
    assert p2["self_pay_cut"] == D(900)
    assert p2["settlement"] == D(3300 - 900 - 900 - 540)


def test_000p6_art19_3_surplus_cap():
    """预算 9600: 年度点值 = (1800 + 9600) ÷ 600 = 19; 应得 5700; 结余 2700 > 30% × 3000 = 900: 扣减 1800."""
    result = run(budget="9600.00", overrides={"monthly_formula": '"non_fund_inclusive"'})
    p1 = rows_by(result.annual, "hospital_id")["P1"]
    assert (p1["entitlement"], p1["surplus_cut"]) == (D(5700), D(1800))
    assert any(w.code == "drg.annual.cap_applied" for w in result.warnings)


def test_000p6_art19_4_negative_settlement_is_a_recovery():
    """考核系数 0.3: 应得 = 300 × 11 × 0.3 = 990; 清算 = 990 − 900 − 540 = −450, 予以回收 (kept negative)."""
    result = run(overrides={"monthly_formula": '"non_fund_inclusive"'}, assessment={"P1": "0.3"})
    assert rows_by(result.annual, "hospital_id")["P1"]["settlement"] == D(-450)


def test_000p5_incentive_pool_returns_withheld_money_by_encouragement_coefficient():
    """汕尾: 每月留存10% (20元 × 3) 入激励基金池 120; 鼓励系数 1 与 0.5 → 权重 60 : 30 → 80 / 40.

    Issue 16 item 3 (000 篇5 三(四)3, 年终决算 on the year's final points like 第十九条): 年度点值 =
    (6000 − 4200 + 4800) ÷ 600 = 11; P1 应得 = 300 × 11 − 留存 60 + 激励 80 = 3320;
    清算 = 3320 − 非统筹 900 − 已预拨 540 = 1880 (was 80: the budgets of April–December, months
    without cases, were never paid). P2: 3300 − 60 + 40 − 900 − 540 = 1840; 1880 + 1840 + 2 × 540 = 4800."""
    result = run("shanwei-2021", assessment={"P2": "0.5"})
    annual = rows_by(result.annual, "hospital_id")
    assert annual["P1"]["incentive"] == D(80) and annual["P2"]["incentive"] == D(40)
    assert annual["P1"]["entitlement"] == D(3320)
    assert annual["P1"]["settlement"] == D(1880) and annual["P2"]["settlement"] == D(1840)
    neutral = rows_by(run("shanwei-2021").annual, "hospital_id")
    assert neutral["P1"]["incentive"] == neutral["P1"]["withheld"] == D(60)


def test_000p6_art18_3_prepayment_is_rounded_once():
    """预算 4800.12 → 每月 400.01; 点值 (400.01 + 600) ÷ 200 = 5.00005;
    (100 × 5.00005 − 300) × 90% = 200.005 × 0.9 = 180.0045 → 180.00 (rounding 200.005 first would give 180.01)."""
    result = run(budget="4800.12", overrides={"monthly_formula": '"non_fund_inclusive"'})
    p1 = payment(result, "P1", 1)
    assert result.monthly.to_pylist()[0]["point_value"] == D("5.00005")
    assert p1["amount"] == D("180.00")
    assert (p1["allocation"], p1["withheld"]) == (D("200.01"), D("20.01"))
