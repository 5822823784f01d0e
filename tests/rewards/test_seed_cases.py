"""Hand-worked allocations, one per seed case; the arithmetic is written out in each docstring."""

from __future__ import annotations

from decimal import Decimal as D

from shidian.policy import read_reference_policy
from shidian.rewards import parse_rules
from tests.rewards.helpers import amounts, fixture, people, run, shipped, units


def test_002p2_art6_2_upfront_half_then_settlement_by_score():
    """002 篇二 六(二): "上半年下拨50%, 剩余经费根据考核结果进行结算" — each project its own funds.

    Pot 10,000,000.00 → each stage's budget 5,000,000.00.
    Stage 1, 50% of each project's own approved funds: A 1,000,000 × 0.5 = 500,000.00;
      B 3,000,000 × 0.5 = 1,500,000.00; C 6,000,000 × 0.5 = 3,000,000.00 (Σ 5,000,000 ≤ budget).
    Stage 2, each project's own remainder on its own result (pass mark 60):
      A 90 ≥ 60: 1,000,000 − 500,000 = 500,000.00; C 80 ≥ 60: 6,000,000 − 3,000,000 = 3,000,000.00;
      B 55 < 60: its remainder 1,500,000.00 is not paid and is returned to the fund.
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
    assert evaluation.cut_threshold == D("1500000.00") and evaluation.cut_cap == D("0.00")
    assert allocation.returned == D("1500000.00")
    text = explanations(allocation)
    assert "核定项目资金 1,000,000.00 元 × 0.5 = 500,000.00 元" in text["A"]
    assert "核定项目资金 3,000,000.00 元 − 前阶段应拨 1,500,000.00 元 = 剩余 1,500,000.00 元" in text["B"]
    assert "考核得分 55 < 60分" in text["B"] and "1,500,000.00 元不予拨付 (退回资金)" in text["B"]
    assert "未拨付 1,500,000.00 元退回资金 (不分给其他单位)" in text["B"]
    assert text["C"].endswith("合计 6,000,000.00 元")


def test_002p2_art6_2_stage1_is_half_of_each_projects_own_funds_not_half_the_pot():
    """002 篇二 六(二) "上半年下拨50%": 50% of each project's OWN approved funds.

    Shipped pot 10,000,000; three projects approved at 1,000,000 each.
    Stage 1: 1,000,000 × 0.5 = 500,000.00 each (not 5,000,000 ÷ 3 = 1,666,666.67, which is 167% of
    a project's approved funds); Σ 1,500,000 ≤ the stage's budget 5,000,000, so no reduction;
    5,000,000 − 1,500,000 = 3,500,000.00 stays in the fund (unallocated).
    """
    allocation = run(
        shipped("eldercare-2017"),
        units(
            [("A", "1000000", "90"), ("B", "1000000", "80"), ("C", "1000000", "70")],
            ("approved_amount", "score"),
        ),
    )
    assert amounts(allocation, "upfront_yuan") == {
        "A": D("500000.00"),
        "B": D("500000.00"),
        "C": D("500000.00"),
    }
    upfront = allocation.stages[0]
    assert upfront.allocated == D("1500000.00") and upfront.unallocated == D("3500000.00")


def test_002p2_art6_2_stage1_pro_rata_only_when_the_pot_cannot_cover_half():
    """002 篇二 六(二) "上半年下拨50%", with a pot smaller than the approved funds.

    Pot 2,000,000 → stage budgets 1,000,000 each. Approved A 1,000,000, B 1,500,000, C 1,500,000.
    Stage 1 claims 500,000 + 750,000 + 750,000 = 2,000,000 > 1,000,000: pro rata × 1/2 →
      A 250,000.00, B 375,000.00, C 375,000.00 (exact, no remainder).
    Stage 2 (all pass): claims A 1,000,000 − 500,000 = 500,000, B 750,000, C 750,000, Σ 2,000,000 >
      1,000,000 → × 1/2: A 250,000.00, B 375,000.00, C 375,000.00.
    Stage 2 again with C failing (score 50): A and B are unchanged (250,000.00, 375,000.00) — the
      pro-rata reduction runs over every project's claim before results — and C's 375,000.00 is
      returned, not handed to A and B.
    """
    table = [("A", "1000000", "90"), ("B", "1500000", "80"), ("C", "1500000", "70")]
    allocation = run(
        shipped("eldercare-2017", fund__pot="2000000"), units(table, ("approved_amount", "score"))
    )
    half = {"A": D("250000.00"), "B": D("375000.00"), "C": D("375000.00")}
    assert amounts(allocation, "upfront_yuan") == half
    assert amounts(allocation, "evaluation_yuan") == half
    assert (
        "各单位应拨合计 2,000,000.00 元超出本阶段资金 1,000,000.00 元, 按比例核减为 250,000.00 元"
        in (explanations(allocation)["A"])
    )
    table[2] = ("C", "1500000", "50")
    failing = run(shipped("eldercare-2017", fund__pot="2000000"), units(table, ("approved_amount", "score")))
    assert amounts(failing, "evaluation_yuan") == {"A": D("250000.00"), "B": D("375000.00"), "C": D("0.00")}
    assert failing.stages[1].cut_threshold == D("375000.00")
    assert failing.returned == D("375000.00")


def test_002p2_art6_2_stage2_a_passing_project_gets_its_whole_remainder():
    """002 篇二 六(二) "剩余经费根据考核结果进行结算": each project's own remainder on its own result.

    Scores 90 / 80 / 70, approved 1,000,000 each, pot = the approved total 3,000,000 (stage budgets
    1,500,000). Stage 1: 500,000.00 each (Σ 1,500,000 = budget). Stage 2: every project passes 60,
    so each gets its whole remainder 1,000,000 − 500,000 = 500,000.00 — the 70-point project too
    (not 437,500 of its 500,000, as a share by score × funds gave). Totals 1,000,000.00 each;
    nothing returned.
    """
    allocation = run(
        shipped("eldercare-2017", fund__pot="3000000"),
        units(
            [("A", "1000000", "90"), ("B", "1000000", "80"), ("C", "1000000", "70")],
            ("approved_amount", "score"),
        ),
    )
    assert amounts(allocation, "evaluation_yuan") == {
        "A": D("500000.00"),
        "B": D("500000.00"),
        "C": D("500000.00"),
    }
    assert amounts(allocation) == {"A": D("1000000.00"), "B": D("1000000.00"), "C": D("1000000.00")}
    assert allocation.returned == D("0.00")


def test_002p2_art6_2_score_bands_option_settles_each_remainder_by_its_band():
    """A score-band table (an option of the rule format, not the article's text) on 002 篇二 六(二).

    Bands ≥ 90 → all, 80–89 → 90%, 60–79 → 80%, below 60 → none. Approved 1,000,000 each, pot
    4,000,000 (stage budgets 2,000,000); remainders 500,000 each.
      A 95: 500,000 × 1 = 500,000.00; B 85: 500,000 × 0.9 = 450,000.00;
      C 65: 500,000 × 0.8 = 400,000.00; D 50: 0.00.
    Returned: 50,000 + 100,000 + 500,000 = 650,000.00 (stage 2); nothing in stage 1 (Σ 2,000,000).
    """
    text, source = read_reference_policy("rewards", "eldercare-2017")
    text = text.replace(
        """[stages.evaluation.steps.pass]
kind = "threshold"
name = "考核及格门槛"
name_en = "pass mark"
fact = "score"
min = 60                     # 及格分数: 原文未规定, 取 60 分 (可改)
""",
        "",
    ) + (
        '\n[stages.evaluation.steps.bands]\nkind = "bands"\nname = "按考核得分分档结算"\nfact = "score"\n'
        "bands = [{ min = 90, ratio = 1 }, { min = 80, ratio = 0.9 }, { min = 60, ratio = 0.8 }]\n"
    )
    rules, problems = parse_rules(text, source, [("fund.pot", "4000000")])
    assert rules is not None, problems
    allocation = run(
        rules,
        units(
            [("A", "1000000", "95"), ("B", "1000000", "85"), ("C", "1000000", "65"), ("D", "1000000", "50")],
            ("approved_amount", "score"),
        ),
    )
    assert amounts(allocation, "evaluation_yuan") == {
        "A": D("500000.00"),
        "B": D("450000.00"),
        "C": D("400000.00"),
        "D": D("0.00"),
    }
    assert allocation.stages[1].cut_threshold == D("650000.00")
    assert allocation.returned == D("650000.00")
    text_b = explanations(allocation)["B"]
    assert "考核得分 85 ≥ 80分, 拨付 × 0.9 = 450,000.00 元" in text_b
    assert "未拨付 50,000.00 元退回资金 (不分给其他单位)" in text_b
    assert "低于最低档 60分, 不予拨付 = 0.00 元" in explanations(allocation)["D"]


def explanations(allocation) -> dict[str, str]:
    return dict(
        zip(
            allocation.units["unit_code"].to_pylist(),
            allocation.units["explanation"].to_pylist(),
            strict=True,
        )
    )


def test_score_times_base_with_threshold_cap_and_redistribution():
    """The vocabulary's threshold, product weight, cap and redistribution (the fixture
    score-times-base; 002 篇四 itself is `capitation primary-care`): pot 2,000,000 shared by
    score × population.

    T1 90×10,000 = 900,000; T2 score 50 < 60: out; T3 80×5,000 = 400,000; T4 70×3,000 = 210,000.
    Cap 1,000,000 per unit (override), excess redistributed (the file's cut_amounts):
      round 1: T1 900,000/1,510,000 × 2,000,000 = 1,192,052.98 > 1,000,000 → held at the cap;
      round 2: 1,000,000 left for T3, T4 (Σ 610,000): T3 655,737.70…, T4 344,262.29… both under.
      In fen: T3 100,000,000 × 400/610 = 65,573,770.49…, T4 34,426,229.50…; floors Σ 99,999,999,
      the 1 fen left goes to T4 (.50 > .49): T3 655,737.70, T4 344,262.30.
    Σ = 1,000,000 + 655,737.70 + 344,262.30 = 2,000,000.00: the pot is conserved.
    """
    rules = fixture("score-times-base", stages__performance__steps__cap__max="1000000.00")
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
