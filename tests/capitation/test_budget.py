"""The budget build-up, 001 第十七篇 四(二)1(1): reserve, base, 98% pot, headcount shares."""

from __future__ import annotations

from decimal import Decimal

from shidian.capitation.budget import build_budget, risk_reserve
from shidian.capitation.model import Fund

from .helpers import fund, policy


def test_001p17_4_2_1_1_reserve_is_ten_percent_of_the_funding_increase():
    """“扣除增量资金风险金(与上一年相比筹资增量10%)”: 筹资 1.2 亿, 上年 1.0 亿 → 增量 2000 万 × 10% = 200 万."""
    assert risk_reserve(fund("120000000", "100000000"), Decimal("0.10")) == Decimal("2000000.00")


def test_001p17_4_2_1_1_no_reserve_when_funding_fell():
    """筹资下降时没有增量: 风险金为 0 (不为负)."""
    assert risk_reserve(fund("90000000", "100000000"), Decimal("0.10")) == Decimal("0")


def test_001p17_4_2_1_1_reserve_rounds_half_up_to_the_fen():
    """增量 0.05 元 × 10% = 0.005 元 → 四舍五入 0.01 元."""
    assert risk_reserve(fund("100.05", "100.00"), Decimal("0.10")) == Decimal("0.01")


def test_001p17_4_2_1_1_budget_base_pot_and_adjustment_reserve():
    """筹资 1 亿, 上年 9000 万 → 风险金 100 万; 大病保险 500 万, 意外伤害 100 万, 其他 200 万;
    基数 = 1 亿 − 100 万 − 800 万 = 9100 万; 98% = 8918 万作医共体预算基金, 其余 182 万为调节金;
    按人头 60000 : 40000 → 5350.8 万与 3567.2 万."""
    f = Fund(
        2020,
        Decimal("100000000"),
        Decimal("90000000"),
        Decimal("5000000"),
        Decimal("1000000"),
        (("门诊统筹", Decimal("2000000")),),
    )
    b = build_budget(f, {"A": 60000, "B": 40000}, ["A", "B"], policy())
    assert b.reserve == Decimal("1000000.00")
    assert b.deductions == Decimal("8000000")
    assert b.base == Decimal("91000000.00")
    assert b.pot == Decimal("89180000.00")
    assert b.adjustment == Decimal("1820000.00")
    assert dict(b.pots) == {"A": Decimal("53508000.00"), "B": Decimal("35672000.00")}
    codes = [line.code for line in b.lines]
    assert codes.index("risk_reserve") < codes.index("base") < codes.index("pot") < codes.index("pot:A")


def test_001p17_4_2_1_1_headcount_split_keeps_every_fen():
    """预算基金 100.00 元分给人头相同的三个医共体: 33.34 + 33.33 + 33.33 (最大余数法, 先到者先得)."""
    f = fund("10000", "10000", catastrophic="9897.96")  # base 102.04 → pot 99.9992 → 100.00
    b = build_budget(f, {"A": 5, "B": 5, "C": 5}, ["A", "B", "C"], policy())
    assert b.base == Decimal("102.04")
    assert b.pot == Decimal("100.00")  # 102.04 × 0.98 = 99.9992 → 100.00
    assert b.adjustment == Decimal("2.04")
    assert [b.pots[c] for c in "ABC"] == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]
