"""Hand-worked allocations, one per seed case; the arithmetic is written out in each docstring."""

from __future__ import annotations

from decimal import Decimal as D

from tests.rewards.helpers import amounts, people, run, shipped, units


def test_002p2_art6_2_upfront_half_then_settlement_by_score():
    """002 篇二 六(二): "上半年下拨50%, 剩余经费根据考核结果进行结算".

    Pot 10,000,000.00 → each stage 5,000,000.00.
    Upfront by approved funds A 1,000,000, B 3,000,000, C 6,000,000 (Σ 10,000,000):
      A 1/10 × 5,000,000 = 500,000.00; B 1,500,000.00; C 3,000,000.00.
    Settlement by score × approved funds, 60-point pass mark, cut amounts returned:
      weights A 90×1,000,000 = 90,000,000; B 55×3,000,000 = 165,000,000; C 80×6,000,000 = 480,000,000;
      Σ 735,000,000 (B is still in the sum: in "return" mode its share is computed, then returned).
      In fen: A 500,000,000 × 90/735 = 61,224,489.79…; B 112,244,897.95…; C 326,530,612.24…;
      floors Σ 499,999,998 → 2 fen to the largest remainders B (.95), A (.79):
      A 612,244.90, B 1,122,448.98, C 3,265,306.12.
      B scored 55 < 60: nothing (1,122,448.98 returned).
      Caps: 50% of approved funds: A 500,000 (cut 112,244.90), C 3,000,000 (cut 265,306.12).
    Totals A 1,000,000.00, B 1,500,000.00, C 6,000,000.00; returned 1,500,000.00.
    """
    rules = shipped("eldercare-2017")
    allocation = run(
        rules,
        units(
            [("A", "1000000", "90"), ("B", "3000000", "55"), ("C", "6000000", "80")],
            ("approved_amount", "score"),
        ),
    )
    assert amounts(allocation, "upfront_yuan") == {
        "A": D("500000.00"),
        "B": D("1500000.00"),
        "C": D("3000000.00"),
    }
    assert amounts(allocation, "evaluation_yuan") == {
        "A": D("500000.00"),
        "B": D("0.00"),
        "C": D("3000000.00"),
    }
    assert amounts(allocation) == {"A": D("1000000.00"), "B": D("1500000.00"), "C": D("6000000.00")}
    evaluation = allocation.stages[1]
    assert evaluation.cut_threshold == D("1122448.98")
    assert evaluation.cut_cap == D("112244.90") + D("265306.12")
    assert allocation.returned == D("1500000.00")
    text = dict(
        zip(
            allocation.units["unit_code"].to_pylist(),
            allocation.units["explanation"].to_pylist(),
            strict=True,
        )
    )
    assert "核定项目资金 1,000,000 ÷ 各单位合计 10,000,000 × 5,000,000.00 元 = 500,000.00 元" in text["A"]
    assert "考核得分 55 < 60分" in text["B"] and "1,122,448.98 元不予拨付 (退回资金)" in text["B"]
    assert "90×1,000,000 ÷ 各单位合计 735,000,000 × 5,000,000.00 元 = 612,244.90 元" in text["A"]
    assert "结算封顶 500,000.00 元: 核减 112,244.90 元 (退回资金)" in text["A"]
    assert text["C"].endswith("合计 6,000,000.00 元")


def test_002p4_score_times_base_with_threshold_cap_and_redistribution():
    """002 篇四 "将考核结果与资金安排和拨付挂钩": pot 2,000,000 shared by score × population.

    T1 90×10,000 = 900,000; T2 score 50 < 60: out; T3 80×5,000 = 400,000; T4 70×3,000 = 210,000.
    Cap 1,000,000 per unit (override), excess redistributed (the file's cut_amounts):
      round 1: T1 900,000/1,510,000 × 2,000,000 = 1,192,052.98 > 1,000,000 → held at the cap;
      round 2: 1,000,000 left for T3, T4 (Σ 610,000): T3 655,737.70…, T4 344,262.29… both under.
      In fen: T3 100,000,000 × 400/610 = 65,573,770.49…, T4 34,426,229.50…; floors Σ 99,999,999,
      the 1 fen left goes to T4 (.50 > .49): T3 655,737.70, T4 344,262.30.
    Σ = 1,000,000 + 655,737.70 + 344,262.30 = 2,000,000.00: the pot is conserved.
    """
    rules = shipped("township-performance", stages__performance__steps__cap__max="1000000.00")
    allocation = run(
        rules,
        units(
            [("T1", "10000", "90"), ("T2", "20000", "50"), ("T3", "5000", "80"), ("T4", "3000", "70")],
            ("population", "score"),
        ),
    )
    assert amounts(allocation) == {
        "T1": D("1000000.00"),
        "T2": D("0.00"),
        "T3": D("655737.70"),
        "T4": D("344262.30"),
    }
    assert allocation.returned == D("0.00")
    text = dict(
        zip(
            allocation.units["unit_code"].to_pylist(),
            allocation.units["explanation"].to_pylist(),
            strict=True,
        )
    )
    assert "按封顶 1,000,000.00 元计 (在其他单位间再分配)" in text["T1"]
    assert "考核得分 50 < 60分, 考核门槛: 未达门槛, 不参与本阶段分配" in text["T2"]
    assert "70×3,000 ÷ 达到门槛的单位合计 610,000 × 1,000,000.00 元" in text["T4"]


def test_002p3_sludge_80_yuan_per_tonne_half_up():
    """002 篇三 "市财政局按 80元/吨进行污泥处理处置费用补贴" — open-ended, quantity × rate.

    D1 1,234.5 t × 80 = 98,760.00; D2 0.0000625 t × 80 = 0.005 → 0.01 (四舍五入, not to even);
    D3 3.33333 t × 80 = 266.6664 → 266.67; D4 0 t → 0.00.
    """
    rules = shipped("sludge-chongqing")
    allocation = run(
        rules,
        units([("D1", "1234.5"), ("D2", "0.0000625"), ("D3", "3.33333"), ("D4", "0")], ("sludge_tonnes",)),
    )
    assert amounts(allocation) == {"D1": D("98760.00"), "D2": D("0.01"), "D3": D("266.67"), "D4": D("0.00")}
    assert allocation.stages[0].pot is None
    text = allocation.units["explanation"].to_pylist()[0]
    assert "核定污泥处理处置量 1,234.5 吨 × 80 元/吨 = 98,760.00 元" in text


def test_002p3_sludge_with_budget_reduced_pro_rata():
    """The same rate under a budget of 100,000.00 (a budget step, reduced pro rata when exceeded).

    Raw: D1 1,000 t × 80 = 80,000; D2 500 t → 40,000; D3 250.5 t → 20,040; Σ 140,040 > 100,000.
    In fen: D1 8,000,000 × 10,000,000 ÷ 14,004,000 = 5,712,653.52…; D2 2,856,326.76…;
    D3 1,431,019.70…; floors Σ 9,999,998; 2 fen to D2 (.76) and D3 (.70):
    D1 57,126.53, D2 28,563.27, D3 14,310.20; Σ 100,000.00.
    """
    text, source = read_text("sludge-chongqing")
    text += '\n[stages.subsidy.steps.budget]\nkind = "budget"\nname = "年度预算封顶"\namount = 100000.00\n'
    from shidian.rewards import parse_rules

    rules, problems = parse_rules(text, source)
    assert rules is not None, problems
    allocation = run(rules, units([("D1", "1000"), ("D2", "500"), ("D3", "250.5")], ("sludge_tonnes",)))
    assert amounts(allocation) == {"D1": D("57126.53"), "D2": D("28563.27"), "D3": D("14310.20")}
    assert allocation.total == D("100000.00")
    assert "超出预算 100,000.00 元, 按比例核减" in allocation.units["explanation"].to_pylist()[0]


def test_002p4_village_clinic_5000_per_qualified_clinic():
    """002 篇四 "考核达标村卫生室 … 每个行政村一个卫生室每年 5000 元": 1 × 5,000; 0 × 5,000 = 0."""
    allocation = run(
        shipped("village-clinic"), units([("V1", "1"), ("V2", "0"), ("V3", "1")], ("qualified_clinics",))
    )
    assert amounts(allocation) == {"V1": D("5000.00"), "V2": D("0.00"), "V3": D("5000.00")}
    assert allocation.total == D("10000.00")


def test_000p3_item11_guardian_reward_by_risk_level():
    """000 篇3 (二)11 "三级以上患者监护奖励不少于每年3000元,三级以下患者不少于每年500元".

    V1: P1 risk 3+ (3,000) + P2 below 3 (500) = 3,500.00; V2: P3 and P4 below 3 = 2 × 500 = 1,000.00.
    """
    allocation = run(
        shipped("guardian-reward"),
        units([("V1",), ("V2",)], ()),
        people(
            [
                ("P1", "V1", "risk_3_plus"),
                ("P2", "V1", "risk_below_3"),
                ("P3", "V2", "risk_below_3"),
                ("P4", "V2", "risk_below_3"),
            ]
        ),
    )
    assert amounts(allocation) == {"V1": D("3500.00"), "V2": D("1000.00")}
    assert allocation.recipients is not None
    per_person = dict(
        zip(
            allocation.recipients["recipient_id"].to_pylist(),
            allocation.recipients["guardian_yuan"].to_pylist(),
            strict=True,
        )
    )
    assert per_person == {"P1": D("3000.00"), "P2": D("500.00"), "P3": D("500.00"), "P4": D("500.00")}
    v1 = allocation.units["explanation"].to_pylist()[0]
    assert "三级以上患者 1 人 × 3,000.00 元 + 三级以下患者 1 人 × 500.00 元 = 3,500.00 元" in v1


def read_text(name: str) -> tuple[str, str]:
    from shidian.policy import read_reference_policy

    return read_reference_policy("rewards", name)
