"""Rule files: the shipped ones are valid; bad ones are refused with file, key, line and reason."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from shidian.policy import reference_policy_names
from shidian.rewards import parse_rules
from tests.rewards.helpers import shipped

GOOD = """\
[meta]
id = "t"
name = "测试"
region = "测试"
version = "1"
effective_from = 2020-01-01
seed = "002 篇二"

[fund]
name = "测试资金"
pot = 1000.00

[facts.score]
label = "得分"
max = 100

[stages.one]
name = "第一阶段"
pot_ratio = 0.5

[stages.one.steps.share]
kind = "share"
weight = ["score"]

[stages.two]
name = "第二阶段"
pot_ratio = 0.5

[stages.two.steps.share]
kind = "share"
weight = ["score"]
"""


def parse(text: str, overrides: list[tuple[str, str]] | None = None):
    return parse_rules(text, "bad.toml", overrides or [])


def test_every_shipped_rule_file_is_valid_and_cites_its_seed():
    names = reference_policy_names("rewards")
    assert {"eldercare-2017", "sludge-chongqing", "village-clinic", "guardian-reward"} <= set(names)
    for name in names:
        rules = shipped(name)
        assert rules.meta.seed
        for stage in rules.stages:
            assert stage.article, f"{name}: stage {stage.id} names no article"


def test_good_file_parses_and_splits_the_pot_by_stage():
    rules, problems = parse(GOOD)
    assert problems == [] and rules is not None
    assert [rules.stage_pot(s) for s in rules.stages] == [D("500.00"), D("500.00")]


def only(text: str, code: str, overrides: list[tuple[str, str]] | None = None):
    rules, problems = parse(text, overrides)
    assert rules is None
    assert [p.code for p in problems] == [code], [str(p) for p in problems]
    assert problems[0].where.file == "bad.toml"
    return problems[0]


def test_unknown_step_kind_names_the_key_and_line():
    problem = only(GOOD.replace('kind = "share"', 'kind = "lottery"', 1), "rewards.rules.unknown_step_kind")
    assert problem.where.key == "stages.one.steps.share.kind"
    assert problem.where.row == 22
    assert "lottery" in problem.message


def test_missing_pot_is_refused():
    problem = only(GOOD.replace("pot = 1000.00\n", ""), "rewards.rules.missing_pot")
    assert problem.where.key == "fund"
    assert "open_ended" in problem.message


def test_negative_rate_is_refused():
    text = GOOD.replace(
        'kind = "share"\nweight = ["score"]', 'kind = "rate"\nquantity = "score"\nrate = -80', 1
    )
    problem = only(text, "rewards.rules.negative")
    assert problem.where.key == "stages.one.steps.share.rate"
    assert problem.where.row == 24  # [stages.one.steps.share] is line 21, kind 22, quantity 23, rate 24


def test_stage_shares_must_sum_to_one():
    problem = only(GOOD.replace("pot_ratio = 0.5", "pot_ratio = 0.6", 1), "rewards.rules.shares_not_one")
    assert "1.1" in problem.message


def test_unknown_fact_and_bad_order_and_unknown_key():
    only(GOOD.replace('weight = ["score"]', 'weight = ["population"]', 1), "rewards.rules.unknown_fact")
    cap_first = GOOD.replace(
        "[stages.one.steps.share]",
        '[stages.one.steps.cap]\nkind = "cap"\nmax = 10.00\n\n[stages.one.steps.share]',
    )
    only(cap_first, "rewards.rules.step_order")
    problem = only(
        GOOD.replace('name = "测试资金"', 'name = "测试资金"\nbonus = 1'), "rewards.rules.unknown_key"
    )
    assert problem.where.key == "fund.bonus"


def test_two_allocators_in_one_stage_are_refused():
    text = GOOD.replace(
        "[stages.two.steps.share]",
        '[stages.two.steps.rate]\nkind = "rate"\nquantity = "score"\nrate = 1\n\n[stages.two.steps.share]',
    )
    only(text, "rewards.rules.step_order")


def test_money_with_more_than_two_decimals_is_refused():
    only(GOOD.replace("pot = 1000.00", "pot = 1000.001"), "rewards.rules.invalid_value")


@pytest.mark.parametrize(
    ("override", "code"),
    [
        (("fund.nothing.deep", "1"), "rewards.rules.override_unknown"),
        (("fund.pot", "-5"), "rewards.rules.negative"),
    ],
)
def test_overrides_are_validated_like_the_file(override, code):
    only(GOOD, code, [override])


def test_override_changes_a_value():
    rules, _ = parse(
        GOOD, [("fund.pot", "2000"), ("stages.one.pot_ratio", "0.25"), ("stages.two.pot_ratio", "0.75")]
    )
    assert rules is not None
    assert [rules.stage_pot(s) for s in rules.stages] == [D("500.00"), D("1500.00")]
    assert rules.overrides == (
        ("fund.pot", "2000"),
        ("stages.one.pot_ratio", "0.25"),
        ("stages.two.pot_ratio", "0.75"),
    )


def test_every_problem_at_once():
    text = GOOD.replace("pot = 1000.00\n", "").replace('"share"', '"lottery"')
    rules, problems = parse(text)
    assert rules is None
    assert sorted({p.code for p in problems}) == [
        "rewards.rules.missing_pot",
        "rewards.rules.unknown_step_kind",
    ]


OWN = GOOD.replace(
    '[stages.one.steps.share]\nkind = "share"\nweight = ["score"]',
    '[stages.one.steps.half]\nkind = "own_funds"\nbase = "score"\nratio = 0.5',
).replace(
    '[stages.two.steps.share]\nkind = "share"\nweight = ["score"]',
    '[stages.two.steps.rest]\nkind = "own_funds"\nbase = "score"\nrest = true\n\n'
    '[stages.two.steps.bands]\nkind = "bands"\nfact = "score"\nbands = [{ min = 90, ratio = 1 }, { min = 80, ratio = 0.9 }]',
)


def test_002p2_art6_2_own_funds_and_bands_parse_and_are_validated():
    """002 篇二 六(二): own_funds (本项目经费 × ratio, or rest = true) and a bands table; a rest stage
    needs an earlier stage on the same base, band mins must fall, bands only settle own funds."""
    rules, problems = parse(OWN)
    assert problems == [] and rules is not None
    assert rules.stages[1].allocator.rest and rules.stages[1].bands is not None
    assert rules.stages[1].bands.bands == ((D(90), D(1)), (D(80), D("0.9")))
    rest_first = OWN.replace("\nratio = 0.5", "\nrest = true", 1)
    assert only(rest_first, "rewards.rules.invalid_value").where.key == "stages.one.steps.half.rest"
    rising = OWN.replace("{ min = 80, ratio = 0.9 }", "{ min = 95, ratio = 0.9 }")
    assert "从高到低" in only(rising, "rewards.rules.invalid_value").message
    over_one = OWN.replace("\nratio = 0.5", "\nratio = 1.5", 1)
    assert only(over_one, "rewards.rules.invalid_value").where.key == "stages.one.steps.half.ratio"
    bands_on_share = (
        GOOD
        + '\n[stages.two.steps.bands]\nkind = "bands"\nfact = "score"\nbands = [{ min = 60, ratio = 1 }]\n'
    )
    assert "own_funds" in only(bands_on_share, "rewards.rules.step_order").message
    with_cap = OWN + '\n[stages.two.steps.cap]\nkind = "cap"\nmax = 10.00\n'
    only(with_cap, "rewards.rules.step_order")
