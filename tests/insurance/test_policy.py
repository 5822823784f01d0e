"""The reference policy reproduces 004 篇6; bad policy files name the key and line."""

from __future__ import annotations

from decimal import Decimal

from shidian.insurance.policy import parse_insurance_policy
from shidian.policy import read_reference_policy
from tests.insurance.helpers import insurance_policy


def test_reference_policy_reproduces_004p6():
    p = insurance_policy()
    assert p.year == 2010 and p.name == "county-2010"
    assert dict(p.funding) == {
        "individual": Decimal(30),
        "central": Decimal(60),
        "region": Decimal(30),
        "city": Decimal(15),
        "county": Decimal(15),
    }
    assert p.civil_affairs_categories == ("wubao", "dibao", "tekun")
    assert [(t.levels, t.places, t.deductible, t.bands) for t in p.tiers] == [
        ((1,), None, Decimal(50), ((0, Decimal("0.75")),)),
        ((2,), None, Decimal(100), ((0, Decimal("0.65")),)),
        ((3,), None, Decimal(500), ((0, Decimal("0.40")),)),
    ]
    assert dict(p.external_drug_limits) == {1: Decimal("0.05"), 2: Decimal("0.10"), 3: Decimal("0.25")}
    assert (p.cap_scope, p.floor_ratio, p.uplifts, p.outpatient_visit_cap) == ("shared", None, (), None)
    assert p.inpatient_cap == Decimal(45000)
    assert set(p.waived_categories) == {"wubao", "dibao", "disabled", "tekun", "orphan"}
    assert (p.partial_reading, p.partial_bands) == ("sentence", "banded")
    assert (p.outpatient_ratio, p.delivery_amount, p.cataract_amount_per_eye) == (Decimal("0.30"), 300, 500)
    assert (p.tcm_share, p.tcm_ratio_increase, p.tcm_fracture_cap) == (Decimal("0.70"), Decimal("0.10"), 200)
    assert p.general_fee_amount == Decimal(10)


def test_every_parameter_line_quotes_the_seed():
    """Each parameter line is preceded by a comment naming its section of 004 篇6 (or 002 篇四)."""
    text, _ = read_reference_policy("insurance", "county-2010")
    assert text.count("三(四)1") >= 8 and "002 篇四" in text and "“住院补偿封顶线4.5万元。”" in text


def test_bad_values_and_unknown_keys_name_the_line():
    text, _ = read_reference_policy("insurance", "county-2010")
    bad = text.replace("annual_cap = 45000", "annual_cap = 450.005").replace(
        "pace_ratio = 1.00", "pace_ratio = 1.00\nspeed = 3"
    )
    policy, problems = parse_insurance_policy(bad, "my.toml")
    assert policy is None
    line = next(i for i, t in enumerate(bad.splitlines(), start=1) if t.startswith("annual_cap = 450.005"))
    shown = [str(p) for p in problems]
    assert any(s.startswith(f"my.toml:{line}:inpatient.annual_cap: policy.param.invalid") for s in shown), (
        shown
    )
    assert any("policy.param.unknown" in s and "ledger.speed" in s for s in shown)


def test_duplicate_chronic_codes_are_refused():
    text, _ = read_reference_policy("insurance", "county-2010")
    policy, problems = parse_insurance_policy(text.replace('code = "DM"', 'code = "HBP"'), "p.toml")
    assert policy is None and problems[0].code == "policy.param.invalid"
