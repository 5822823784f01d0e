"""Properties of every allocation (hypothesis): the pot is conserved to the fen, amounts are never
negative, caps and thresholds hold, and a higher score never gets less under the proportional rule."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from shidian.rewards import parse_rules
from tests.properties import property_settings
from tests.rewards.helpers import amounts, run, units

RULES = """\
[meta]
id = "prop"
name = "性质测试"
region = "测试"
version = "1"
effective_from = 2020-01-01
seed = "002 篇二"

[fund]
name = "测试资金"
pot = {pot}
cut_amounts = "{cut}"

[facts.base]
label = "基数"

[facts.score]
label = "得分"
max = 100

[stages.upfront]
name = "预拨"
pot_ratio = {ratio}

[stages.upfront.steps.share]
kind = "share"
weight = ["base"]

[stages.evaluation]
name = "考核"
pot_ratio = {rest}

[stages.evaluation.steps.pass]
kind = "threshold"
fact = "score"
min = {threshold}

[stages.evaluation.steps.share]
kind = "share"
weight = ["score", "base"]
{cap}"""

CAP = """
[stages.evaluation.steps.cap]
kind = "cap"
max = {cap}
"""

money = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False)
scores = st.decimals(min_value=0, max_value=100, places=1, allow_nan=False, allow_infinity=False)
bases = st.one_of(st.integers(0, 10**6).map(Decimal), st.decimals(min_value=0, max_value=10**6, places=2))
unit_rows = st.lists(st.tuples(bases, scores), min_size=1, max_size=25)
settings_ = property_settings(25)


def make(pot, cut, ratio, threshold, cap):
    text = RULES.format(
        pot=pot,
        cut=cut,
        ratio=ratio,
        rest=Decimal(1) - ratio,
        threshold=threshold,
        cap="" if cap is None else CAP.format(cap=cap),
    )
    rules, problems = parse_rules(text, "prop.toml")
    assert rules is not None, problems
    return rules


def table(rows):
    return units([(f"U{i:03d}", str(b), str(s)) for i, (b, s) in enumerate(rows)], ("base", "score"))


@settings_
@given(
    rows=unit_rows,
    pot=money,
    cut=st.sampled_from(["return", "redistribute"]),
    ratio=st.sampled_from([Decimal("0.5"), Decimal("0.3"), Decimal("1"), Decimal("0")]),
    threshold=st.sampled_from([Decimal(0), Decimal(60), Decimal("85.5")]),
    cap=st.one_of(st.none(), money),
)
def test_pot_conserved_no_negative_caps_and_thresholds_respected(rows, pot, cut, ratio, threshold, cap):
    rules = make(pot, cut, ratio, threshold, cap)
    allocation = run(rules, table(rows))  # run() asserts every check passed
    paid = amounts(allocation)
    assert sum(paid.values(), Decimal(0)) + allocation.returned == pot
    assert all(v >= 0 for v in paid.values())
    evaluation = amounts(allocation, "evaluation_yuan")
    for i, (_base, score) in enumerate(rows):
        code = f"U{i:03d}"
        if score < threshold:
            assert evaluation[code] == 0
        if cap is not None:
            assert evaluation[code] <= cap
    total_weight = sum((b for b, _ in rows), Decimal(0))
    if total_weight > 0:  # the upfront stage is fully paid whenever someone has a base
        assert allocation.stages[0].allocated == allocation.stages[0].pot
    if cut == "redistribute" and cap is None and any(b * s > 0 and s >= threshold for b, s in rows):
        assert allocation.returned == 0


@settings_
@given(
    rows=unit_rows,
    pot=money,
    cut=st.sampled_from(["return", "redistribute"]),
    threshold=st.sampled_from([Decimal(0), Decimal(60)]),
    cap=st.one_of(st.none(), money),
    who=st.integers(0, 24),
    raise_by=st.decimals(min_value="0.1", max_value=100, places=1),
)
def test_a_higher_score_never_gets_less(rows, pot, cut, threshold, cap, who, raise_by):
    """All else equal, raising one unit's score never lowers its amount (largest remainder keeps
    this: its quota grows, the others' shrink). Caps with redistribution are left out: there the
    amount of a unit is the cap or its share of what the capped units leave."""
    if cut == "redistribute":
        cap = None
    who = who % len(rows)
    rules = make(pot, cut, Decimal("0.5"), threshold, cap)
    before = amounts(run(rules, table(rows)))
    base, score = rows[who]
    higher = list(rows)
    higher[who] = (base, min(Decimal(100), score + raise_by))
    after = amounts(run(rules, table(higher)))
    code = f"U{who:03d}"
    assert after[code] >= before[code]


@settings_
@given(rows=unit_rows, pot=money)
def test_row_order_does_not_matter(rows, pot):
    rules = make(pot, "redistribute", Decimal("0.5"), Decimal(60), None)
    forward = run(rules, table(rows))
    backward = run(rules, table(rows).take(list(reversed(range(len(rows))))))
    assert amounts(forward) == amounts(backward)
    assert forward.units.column("explanation").to_pylist() == backward.units.column("explanation").to_pylist()


@settings_
@given(
    quantities=st.lists(st.decimals(min_value=0, max_value=10**6, places=3), min_size=1, max_size=20),
    rate=st.decimals(min_value=0, max_value=10**4, places=2),
    budget=st.one_of(st.none(), money),
)
def test_rate_is_quantity_times_rate_half_up_and_budget_holds(quantities, rate, budget):
    from shidian.money import round_fen, split_largest_remainder

    text = RULES.split("[fund]")[0] + (
        '[fund]\nname = "按量"\nopen_ended = true\n\n[facts.tonnes]\nlabel = "吨数"\n\n'
        '[stages.subsidy]\nname = "补贴"\n\n'
        f'[stages.subsidy.steps.rate]\nkind = "rate"\nquantity = "tonnes"\nrate = {rate}\n'
    )
    if budget is not None:
        text += f'\n[stages.subsidy.steps.budget]\nkind = "budget"\namount = {budget}\n'
    rules, problems = parse_rules(text, "rate.toml")
    assert rules is not None, problems
    allocation = run(rules, units([(f"U{i:03d}", str(q)) for i, q in enumerate(quantities)], ("tonnes",)))
    expected = [round_fen(q * rate) for q in quantities]
    total = sum(expected, Decimal(0))
    if budget is not None and total > budget:
        expected = split_largest_remainder(budget, expected)  # the Python twin, ties by unit order
    assert list(amounts(allocation).values()) == expected


@settings_
@given(rows=unit_rows, pot=money)
def test_share_equals_the_python_largest_remainder(rows, pot):
    """The SQL split is the twin of ``shidian.money.split_largest_remainder`` (ties: unit order)."""
    from shidian.money import split_largest_remainder

    rules = make(pot, "return", Decimal("0.5"), Decimal(0), None)
    allocation = run(rules, table(rows))
    weights = [b * s for b, s in rows]
    evaluation = list(amounts(allocation, "evaluation_yuan").values())
    stage_pot = allocation.stages[1].pot
    assert stage_pot is not None
    if sum(weights, Decimal(0)) > 0:
        assert evaluation == split_largest_remainder(stage_pot, weights)
    else:
        assert all(v == 0 for v in evaluation)


@settings_
@given(rows=unit_rows, pot=money, cap=money, threshold=st.sampled_from([Decimal(0), Decimal(60)]))
def test_redistributed_caps_pay_the_pot_or_every_cap(rows, pot, cap, threshold):
    """Water-filling: the eligible units with a weight get min(pot, Σ caps) between them."""
    rules = make(pot, "redistribute", Decimal(0), threshold, cap)
    allocation = run(rules, table(rows))
    pool = sum(1 for b, s in rows if b * s > 0 and s >= threshold)
    if pool:
        assert allocation.stages[1].allocated == min(pot, cap * pool)


OWN_RULES = (
    RULES.split("[stages.upfront]")[0]
    + """[stages.upfront]
name = "预拨"
pot_ratio = 0.5

[stages.upfront.steps.half]
kind = "own_funds"
base = "base"
ratio = 0.5

[stages.evaluation]
name = "考核"
pot_ratio = 0.5

[stages.evaluation.steps.rest]
kind = "own_funds"
base = "base"
rest = true

[stages.evaluation.steps.bands]
kind = "bands"
fact = "score"
bands = [{{ min = 90, ratio = 1 }}, {{ min = 80, ratio = 0.9 }}, {{ min = 60, ratio = 0.8 }}]
"""
)


@settings_
@given(rows=unit_rows, pot=money, who=st.integers(0, 24), other_score=scores)
def test_002p2_art6_2_own_funds_never_depend_on_the_others_results(rows, pot, who, other_score):
    """002 篇二 六(二) "剩余经费根据考核结果进行结算": a project's payments depend on its own funds and
    result (and, when the pot is short, on the others' claims, never on their results); it never
    gets more than its own funds; the checks (pot conserved, own funds respected) hold."""
    text = OWN_RULES.format(pot=pot, cut="return")
    rules, problems = parse_rules(text, "prop.toml")
    assert rules is not None, problems
    before = run(rules, table(rows))
    if len(rows) > 1:
        who = who % len(rows)
        other = (who + 1) % len(rows)
        changed = list(rows)
        changed[other] = (rows[other][0], other_score)
        after = run(rules, table(changed))
        code = f"U{who:03d}"
        assert amounts(after)[code] == amounts(before)[code]
    for i, (base, _) in enumerate(rows):
        assert amounts(before)[f"U{i:03d}"] <= base.quantize(Decimal("0.01"))
