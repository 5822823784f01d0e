"""Properties of a DRG settlement over random regions (hypothesis)."""

from __future__ import annotations

import random
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from shidian.drg.settlement import settle
from shidian.money import POINT
from tests.conftest import case, drg_policy, region
from tests.properties import property_settings

GROUPS = ["A", "B", "C"]


@st.composite
def regions(draw, scale: int = 1):
    hospitals = [(f"H{i}", draw(st.integers(1, 3))) for i in range(draw(st.integers(2, 5)))]
    n = draw(st.integers(8, 40))
    cases = []
    for i in range(n):
        hospital = draw(st.sampled_from(hospitals))[0]
        group = draw(st.sampled_from([*GROUPS, None]))
        cost = draw(st.integers(50_00, 50_000_00)) * scale  # in fen
        fund = cost * draw(st.integers(40, 80)) // 100
        cases.append(
            case(
                f"C{i:03}",
                hospital,
                group,
                str(Decimal(cost) / 100),
                month=draw(st.integers(1, 12)),
                fund_paid=str(Decimal(fund) / 100),
                patient_cash=str(Decimal(cost - fund) / 100),
                self_pay=str(Decimal(cost * draw(st.integers(0, 15)) // 100) / 100),
                review_approved=draw(st.integers(0, 1)),
                new_technology=int(draw(st.integers(0, 30)) == 0),
            )
        )
    budget = Decimal(draw(st.integers(1_000_00, 10_000_000_00))) / 100
    groups = [
        (g, draw(st.sampled_from([None, None, "0.85", "1.7"])), draw(st.integers(0, 1))) for g in GROUPS
    ]
    return hospitals, groups, cases, str(budget)


PROPERTY = property_settings(25)


@PROPERTY
@given(regions())
def test_budget_is_distributed_exactly_with_neutral_coefficients_and_no_caps(data):
    """Σ(entitlement − patient cash) = budget, up to the roundings the rules make:
    half a fen per hospital (entitlement) and half a point unit per year point (year point value)."""
    hospitals, groups, cases, budget = data
    policy = drg_policy(apply_caps="false")
    result, problems = settle(region(hospitals, groups, cases, budget), policy)
    assert result is not None, problems
    assert result.ok, [c for c in result.checks if not c.ok]
    annual = result.annual.to_pylist()
    distributed = sum(r["entitlement"] - r["patient_cash"] for r in annual)
    year_points = sum(r["year_points"] for r in annual)
    tolerance = Decimal("0.005") * len(annual) + year_points * POINT / 2
    assert abs(distributed - Decimal(budget)) <= tolerance


@PROPERTY
@given(regions())
def test_each_month_points_times_value_is_the_budget(data):
    hospitals, groups, cases, budget = data
    result, _ = settle(region(hospitals, groups, cases, budget), drg_policy())
    assert result is not None
    for month in result.monthly.to_pylist():
        if month["total_points"] > 0:
            assert (
                abs(month["total_points"] * month["point_value"] - month["budget"])
                <= month["total_points"] * POINT / 2
            )


@PROPERTY
@given(regions(), st.integers(2, 5))
def test_scaling_every_cost_leaves_points_unchanged(data, k):
    hospitals, groups, cases, budget = data
    scaled = [
        {
            **c,
            **{
                f: c[f] * k
                for f in ("total_cost", "fund_paid", "patient_cash", "self_pay", "unreasonable_cost")
            },
        }
        for c in cases
    ]
    first, _ = settle(region(hospitals, groups, cases, budget), drg_policy())
    second, _ = settle(region(hospitals, groups, scaled, budget), drg_policy())
    assert first is not None and second is not None
    columns = ["case_id", "category", "base_points", "coefficient", "prepay_points", "final_points"]
    assert first.case_points.select(columns).equals(second.case_points.select(columns))


@PROPERTY
@given(regions(), st.randoms(use_true_random=False))
def test_row_order_is_irrelevant(data, rnd: random.Random):
    hospitals, groups, cases, budget = data
    shuffled = list(cases)
    rnd.shuffle(shuffled)
    first, _ = settle(region(hospitals, groups, cases, budget), drg_policy())
    second, _ = settle(region(hospitals, groups, shuffled, budget), drg_policy())
    assert first is not None and second is not None
    for name in ("case_points", "monthly", "monthly_payments", "annual", "standards", "coefficients"):
        assert getattr(first, name).equals(getattr(second, name)), name
