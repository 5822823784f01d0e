"""The year end, 001 第十七篇 四(二)1(1) “结余留用,合理超支分担” and 四(四)3 “按6:3:1进行再分配”."""

from __future__ import annotations

from decimal import Decimal

from shidian.capitation.settlement import settle

from .helpers import fund, inputs, member, policy

MEMBERS = [
    member("A1", "A", "county", "90"),
    member("A2", "A", "township", "80"),
    member("A3", "A", "township", "50"),
    member("A4", "A", "village", "70"),
    member("B1", "B", "county", "85"),
    member("B2", "B", "township", "75"),
    member("B3", "B", "village", "95"),
]


def _run(spending: dict[str, str], total: str = "100000000", last: str = "90000000", **changes: str):
    data = inputs(fund(total, last, "5000000", "1000000"), {"A": 60000, "B": 40000}, spending, MEMBERS)
    s, problems = settle(data, policy(**changes))
    assert s is not None, problems
    assert all(c.ok for c in s.checks), s.checks
    return s


def test_001p17_4_4_3_surplus_shared_6_3_1_and_by_score_within_a_tier():
    """基数 = 1 亿 − 100 万 − 600 万 = 9300 万; 预算基金 9114 万; A 占 60% = 5468.4 万.
    A 支出 5000 万 → 结余 468.4 万, 全部留用; 县 6/10 = 281.04 万, 乡 3/10 = 140.52 万, 村 1/10 = 46.84 万.
    乡镇: A2 80 分 (权重 80), A3 50 分不合格 (权重 50 × 0.5 = 25):
    A2 = 1,405,200 × 80/105 = 1,070,628.571… → 1,070,628.57; A3 = 334,571.428… → 334,571.43."""
    s = _run({"A": "50000000", "B": "36456000"})
    a = next(e for e in s.year_ends if e.community_id == "A")
    assert a.pot == Decimal("54684000.00")
    assert a.surplus == Decimal("4684000.00") == a.retained
    amounts = {sh.institution_id: sh.amount for sh in s.shares}
    assert amounts["A1"] == Decimal("2810400.00")
    assert amounts["A2"] == Decimal("1070628.57")
    assert amounts["A3"] == Decimal("334571.43")
    assert amounts["A4"] == Decimal("468400.00")
    b = next(e for e in s.year_ends if e.community_id == "B")
    assert b.pot == Decimal("36456000.00") and b.surplus == 0 and b.overspend == 0
    assert amounts["B1"] == amounts["B2"] == amounts["B3"] == 0


def test_001p17_4_2_1_1_reasonable_overspend_shared_and_drawn_from_the_reserve():
    """B 预算基金 3645.6 万, 支出 3900 万 → 超支 254.4 万; 合理上限 5% × 3645.6 万 = 182.28 万;
    基金分担 182.28 万 × 50% = 91.14 万, 从风险金 (100 万) 列支; 医共体承担 254.4 − 91.14 = 163.26 万."""
    s = _run({"A": "54684000", "B": "39000000"})
    b = next(e for e in s.year_ends if e.community_id == "B")
    assert b.overspend == Decimal("2544000.00")
    assert b.reasonable == Decimal("1822800.00")
    assert b.fund_share == Decimal("911400.00") == b.reserve_drawn
    assert b.community_share == Decimal("1632600.00")


def test_001p17_4_2_1_1_reserve_split_when_fund_shares_exceed_it():
    """筹资增量 100 万 × 10% = 10 万风险金 (筹资 1 亿, 上年 9900 万). 两个医共体都超支到合理上限:
    基数 1 亿 − 10 万 − 600 万 = 9390 万, 预算基金 9202.2 万; A 5521.32 万, B 3680.88 万;
    A 基金分担 = 5521.32 万 × 5% × 50% = 138.033 万, B = 92.022 万, 合计 230.055 万 > 10 万:
    风险金按 138.033 : 92.022 分: A 60,000.00, B 40,000.00 (其余由基金另行支付)."""
    s = _run({"A": "70000000", "B": "50000000"}, last="99000000")
    assert s.budget.reserve == Decimal("100000.00")
    a, b = s.year_ends
    assert (a.pot, b.pot) == (Decimal("55213200.00"), Decimal("36808800.00"))
    assert (a.fund_share, b.fund_share) == (Decimal("1380330.00"), Decimal("920220.00"))
    assert (a.reserve_drawn, b.reserve_drawn) == (Decimal("60000.00"), Decimal("40000.00"))


def test_below_pass_factor_zero_gives_nothing_to_a_failing_member():
    """政策可规定不合格单位不参与分配 (below_pass_factor = 0): A3 得 0, 乡镇份额全归 A2."""
    s = _run({"A": "50000000", "B": "36456000"}, below_pass_factor="0")
    amounts = {sh.institution_id: sh.amount for sh in s.shares}
    assert amounts["A3"] == 0
    assert amounts["A2"] == Decimal("1405200.00")


def test_a_tier_without_members_leaves_its_part_to_the_others():
    """B 无村卫生室时, 结余按 县:乡 = 6:3 分: 结余 90.00 → 县 60.00, 乡 30.00."""
    members = [member("B1", "B", "county", "80"), member("B2", "B", "township", "80")]
    data = inputs(fund("10000", "10000", "9908.16"), {"B": 1}, {"B": "0.00"}, members)
    s, problems = settle(data, policy())
    assert s is not None, problems
    assert s.budget.pot == Decimal("90.00")  # 91.84 × 0.98 = 90.0032
    assert {sh.institution_id: sh.amount for sh in s.shares} == {
        "B1": Decimal("60.00"),
        "B2": Decimal("30.00"),
    }
