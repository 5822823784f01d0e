"""The desk's scalar twin (``desk.price_claim``) against the columnar ``price_claims``.

The rules exist twice on purpose (docs/insurance.md, "The discharge desk"): these properties
pin the two together to the fen, every column including the rule trail, and the hand-worked
examples check the twin on its own against 004 篇6.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from shidian.insurance.claims import price_claims, state_after
from shidian.insurance.desk import (
    DeskInstitution,
    DeskPerson,
    DeskState,
    claim_problems,
    price_claim,
    refusal,
)
from shidian.insurance.model import claims_table
from tests.insurance.helpers import (
    CITY_TIERS,
    COUNTY_FLOOR,
    GENERAL_FEE,
    INSTITUTIONS,
    claim,
    insurance_policy,
    persons,
)
from tests.insurance.test_invariants import order_key, years
from tests.properties import property_settings

POLICY = insurance_policy()
VARIANTS = [
    {},
    {"inpatient.annual_cap": "3000"},
    {"inpatient.repeat_deductible": '"first_admission"'},
    {"partial_pay.reading": '"formula_line"'},
    {"partial_pay.bands": '"step"', "tcm.increase_mode": '"relative"', "tcm.waive_deductible": "false"},
    {"outpatient.annual_cap": "20", "tcm.fracture_cap": "15"},
]
#: Every shipped policy: county-2010 (no 一般诊疗费), its variant that applies 002 篇四's, and
#: the two illustrative ones of issue 18 (tiers by place, bands, floor, uplifts, tier caps).
BASES = ("county-2010", GENERAL_FEE, CITY_TIERS, COUNTY_FLOOR)
PROPERTY = property_settings(40)


def lookups(people: pa.Table) -> tuple[dict[str, DeskPerson], dict[str, DeskInstitution]]:
    who = {r["person_id"]: DeskPerson(r["category"], r["insured"]) for r in people.to_pylist()}
    where = {
        r["institution_id"]: DeskInstitution(r["level"], r["designated"], r["in_county"], r["place"])
        for r in INSTITUTIONS.to_pylist()
    }
    return who, where


def desk_year(
    rows: list[dict[str, Any]], people: pa.Table, policy: Any
) -> tuple[list[dict[str, Any]], dict[str, DeskState]]:
    """Price ``rows`` one by one in discharge order, each after its person's desk state."""
    who, where = lookups(people)
    states: dict[str, DeskState] = {}
    out = []
    for row in sorted(rows, key=order_key):
        pid = str(row["person_id"])
        priced = price_claim(
            row, who.get(pid), where.get(str(row["institution_id"])), policy, states.get(pid)
        )
        states[pid] = states.get(pid, DeskState()).after(priced)
        out.append(priced)
    return sorted(out, key=lambda r: r["claim_id"]), states


@PROPERTY
@given(years(), st.sampled_from(VARIANTS), st.sampled_from(BASES))
def test_desk_claim_by_claim_equals_the_batch_to_the_fen(year, overrides, base):
    people, rows = year
    policy = insurance_policy(base, **overrides)
    batch = price_claims(claims_table(rows), people, INSTITUTIONS, policy).to_pylist()
    desk, states = desk_year(rows, people, policy)
    assert len(desk) == len(batch)
    for mine, theirs in zip(desk, batch, strict=True):
        assert mine.keys() == theirs.keys()
        for key in theirs:  # one column at a time, so a failure names it
            assert mine[key] == theirs[key], (key, mine["claim_id"], mine[key], theirs[key])
    # the desk's state is the batch's state_after, person by person
    after = state_after(price_claims(claims_table(rows), people, INSTITUTIONS, policy))
    for pid, state in states.items():
        prior = state.to_prior(pid)
        usage = [u for u in after.usage.to_pylist() if u["person_id"] == pid]
        episodes = [e for e in after.episodes.to_pylist() if e["person_id"] == pid]
        assert prior.usage.to_pylist() == usage
        assert prior.episodes.to_pylist() == episodes


@PROPERTY
@given(years(), st.data(), st.sampled_from(BASES))
def test_desk_after_a_state_equals_price_claims_after_its_prior(year, data, base):
    """Any claim, after any desk state: the twin equals ``price_claims(prior=state.to_prior())``,
    under both shipped policies."""
    policy = insurance_policy(base)
    people, rows = year
    ordered = sorted(rows, key=order_key)
    split = data.draw(st.integers(0, len(ordered) - 1))
    target = ordered[split]
    pid = str(target["person_id"])
    before = [r for r in ordered[:split] if r["person_id"] == pid]
    _, states = desk_year(before, people, policy)
    state = states.get(pid, DeskState())
    who, where = lookups(people)
    mine = price_claim(target, who.get(pid), where.get(str(target["institution_id"])), policy, state)
    theirs = price_claims(
        claims_table([target]), people, INSTITUTIONS, policy, state.to_prior(pid)
    ).to_pylist()[0]
    assert mine == theirs
    # the desk refuses before locking the year: the refusal is the priced row's, whatever the state
    refused = refusal(target, who.get(pid), where.get(str(target["institution_id"])), policy)
    if mine["status"] == "rejected":
        assert refused == (mine["reject_code"], mine["reason"])
    else:
        assert refused is None


def test_hand_worked_transfer_and_cap():
    """004 篇6 三(四)1, 三(四)3: a transfer chain pays the highest level's deductible once.

    P1 (general) stays at T1 (level 1): total 2,000, deductible 50, ratio 75%:
    (2000 − 50) × 0.75 = 1462.50. Transferred on to S3 (level 3, out of county, a transfer counts
    as a referral): total 10,000, episode deductible 500 − 50 already charged = 450,
    (10000 − 450) × 0.40 = 3820.00. Inpatient used 1462.50 + 3820.00 = 5282.50.
    """
    who, where = lookups(persons(("P1", "general")))
    first = price_claim(claim("K1", "P1", "T1", "2000"), who["P1"], where["T1"], POLICY)
    assert (first["deductible"], first["reimbursement"]) == (Decimal("50"), Decimal("1462.50"))
    state = DeskState().after(first)
    second = price_claim(
        claim("K2", "P1", "S3", "10000", month=2, transfer_of="K1"), who["P1"], where["S3"], POLICY, state
    )
    assert second["deductible_rule"] == "transfer"
    assert (second["deductible"], second["reimbursement"]) == (Decimal("450"), Decimal("3820.00"))
    assert state.after(second).used("inpatient") == Decimal("5282.50")
    assert "此前已计50.00, 本次计450.00" in second["reason"]


def test_hand_worked_cap_reached():
    """三(四)3 封顶线 45,000: with 44,900 used, a stay computing 600 pays 100 (44,900 + 100 = 45,000)."""
    who, where = lookups(persons(("P1", "wubao")))  # 五保户: no deductible
    state = DeskState(usage={"inpatient": Decimal("44900")})
    # (800 − 0) × 0.75 = 600 before the cap
    row = price_claim(claim("K1", "P1", "T1", "800"), who["P1"], where["T1"], POLICY, state)
    assert row["amount_before_cap"] == Decimal("600.00")
    assert (row["cap_before"], row["cap_used"], row["cap_after"]) == (
        Decimal("100"),
        Decimal("100"),
        Decimal("0"),
    )
    assert row["reimbursement"] == Decimal("100")
    assert row["reason"].endswith("超出部分500.00不予补偿; 报销100.00元")


def test_claim_problems_name_the_field():
    bad = claim("K1", "P1", "T1", "100", kind="outpatient", delivery="normal", drug_cost="150")
    bad["start_date"] = dt.date(2010, 3, 2)
    bad["end_date"] = dt.date(2010, 3, 1)
    found = {(p.code, p.where.column) for p in claim_problems(bad, POLICY)}
    assert found == {
        ("insurance.claim.dates_reversed", "start_date"),
        ("insurance.claim.delivery_outpatient", "delivery"),
        ("insurance.claim.drugs_above_total", "drug_cost"),
    }


CHECKED = {
    "insurance.claim.dates_reversed",
    "insurance.claim.delivery_outpatient",
    "insurance.claim.outpatient_only",
    "insurance.claim.unknown_chronic_disease",
    "insurance.claim.conflicting_types",
    "insurance.claim.other_above_total",
    "insurance.claim.drugs_above_total",
    "insurance.claim.external_above_drugs",
    "insurance.claim.transfer_not_inpatient",
}


@st.composite
def odd_claims(draw: st.DrawFn) -> dict[str, Any]:
    """One claim with any combination of the fields the input checks look at."""
    start = dt.date(2010, 6, 1)

    def amount() -> Decimal:
        return Decimal(draw(st.integers(0, 3000))) / 10

    return claim(
        "K1",
        "P1",
        "T1",
        str(amount()),
        kind=draw(st.sampled_from(["inpatient", "outpatient"])),
        delivery=draw(st.sampled_from([None, "normal", "pathological"])),
        chronic_disease=draw(st.sampled_from([None, "DM", "XX"])),
        tcm_fracture=draw(st.integers(0, 1)),
        cataract_eyes=draw(st.integers(0, 2)),
        other_insurance_paid=str(amount()),
        drug_cost=str(amount()),
        catalogue_external_drug_cost=str(amount()),
        transfer_of=draw(st.sampled_from([None, "K0"])),
    ) | {"end_date": start + dt.timedelta(days=draw(st.integers(-3, 3))), "start_date": start}


@PROPERTY
@given(odd_claims())
def test_desk_input_checks_equal_the_batch_checks(row):
    """``claim_problems`` finds exactly what ``validate_inputs`` finds of the same codes."""
    from shidian.insurance.model import InsuranceInputs
    from shidian.insurance.validate import validate_inputs

    people = persons(("P1", "general"))
    batch = {
        p.code for p in validate_inputs(InsuranceInputs(people, INSTITUTIONS, claims_table([row])), POLICY)
    }
    desk = {p.code for p in claim_problems(row, POLICY)}
    assert desk == batch & CHECKED


def test_the_desk_names_the_level_and_place_no_tier_takes():
    """A3 (level 3, out of the county, place not given) has no inpatient tier under the city tiers:
    the desk refuses the stay with the batch's own words (test_tiers), naming level and place —
    the desk's row once lacked them and the refusal failed (KeyError 'level')."""
    policy = insurance_policy(CITY_TIERS)
    who, where = lookups(persons(("P1", "general")))
    refused = refusal(claim("A", "P1", "A3", "5000", certificate=1), who["P1"], where["A3"], policy)
    assert refused == (
        "no_tier",
        "不予补偿: 本政策没有适用于3级、所在地未填的医疗机构的住院档次 (inpatient.tiers)",
    )
