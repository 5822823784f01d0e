"""Household pooling of the outpatient cap (户内共享, ``outpatient.cap_scope = "household"``).

Issue 18 asks for “outpatient rules: … monthly and annual caps, household pooling or not”. The
hand-worked examples take county-2010's outpatient terms (三(四)3: “每次门诊补偿比例为门诊费用的
30%”) with a yearly cap of 50 元 per person held by the household; the properties pin the batch
and the desk's scalar twin together when members of one household share it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shidian.insurance.claims import price_claims, state_after
from shidian.insurance.desk import DeskInstitution, DeskPerson, DeskState, price_claim
from shidian.insurance.model import HOUSEHOLD_BUCKET, PERSONS_SCHEMA, USAGE_SCHEMA, PriorState, claims_table
from tests.insurance.helpers import (
    CITY_TIERS,
    COUNTY_FLOOR,
    GENERAL_FEE,
    INSTITUTIONS,
    D,
    claim,
    insurance_policy,
    persons,
    price,
)
from tests.insurance.test_invariants import years
from tests.properties import property_settings

POOLED = {"outpatient.cap_scope": '"household"', "outpatient.annual_cap": "50"}
PROPERTY = property_settings(40)


def household(*rows: tuple[str, str | None, int]) -> pa.Table:
    """Persons from (person_id, household_id, insured), all ``general``."""
    table = persons(*((pid, "general", insured) for pid, _, insured in rows))
    return table.set_column(
        table.schema.get_field_index("household_id"),
        "household_id",
        pa.array([h for _, h, _ in rows], pa.string()),
    )


#: P1, P2, P3 in household H1 (all insured); P4 alone in H2; P5 in H3 with a member not insured.
PEOPLE = household(
    ("P1", "H1", 1), ("P2", "H1", 1), ("P3", "H1", 1), ("P4", "H2", 1), ("P5", "H3", 1), ("P6", "H3", 0)
)


def visit(claim_id: str, person_id: str, total: str, day: int) -> dict[str, Any]:
    return claim(claim_id, person_id, "V1", total, kind="outpatient", day=day)


def test_household_shares_per_member_cap_hand_worked():
    """Cap 50 元/人 × 3 insured members = 150 元 for H1, shared (per_member, the default).
    P1 10 Jan: 400 × 30% = 120.00, paid 120.00 (150 → 30). P2 12 Jan: 200 × 30% = 60.00, the
    household has 30.00 left: paid 30.00, 30.00 above the cap not paid. P3 15 Jan: 100 × 30% =
    30.00, nothing left: paid 0. P4 (H2, one member: 50): 400 × 30% = 120.00, paid 50.00."""
    policy = insurance_policy(**POOLED)
    out = price(
        [
            visit("A1", "P1", "400", 10),
            visit("B1", "P2", "200", 12),
            visit("C1", "P3", "100", 15),
            visit("D1", "P4", "400", 10),
        ],
        PEOPLE,
        policy,
    )
    assert [out[c]["reimbursement"] for c in ("A1", "B1", "C1", "D1")] == [
        D("120.00"),
        D("30.00"),
        D("0.00"),
        D("50.00"),
    ]
    assert out["A1"]["cap_bucket"] == out["B1"]["cap_bucket"] == f"{HOUSEHOLD_BUCKET}H1"
    assert [out[c]["cap"] for c in ("A1", "D1")] == [D("150.00"), D("50.00")]
    assert (out["B1"]["cap_before"], out["B1"]["cap_after"]) == (D("30.00"), D("0.00"))
    assert "门诊统筹家庭封顶线 (户内共享)150.00余额30.00→0.00, 超出部分30.00不予补偿" in out["B1"]["reason"]
    # the usage is recorded under the member who used it; the household's total is the cap
    usage = {
        (u["person_id"], u["bucket"]): u["used"]
        for u in state_after(
            price_claims(
                claims_table([visit("A1", "P1", "400", 10), visit("B1", "P2", "200", 12)]),
                PEOPLE,
                INSTITUTIONS,
                policy,
            )
        ).usage.to_pylist()
    }
    assert usage == {
        ("P1", f"{HOUSEHOLD_BUCKET}H1"): D("120.00"),
        ("P2", f"{HOUSEHOLD_BUCKET}H1"): D("30.00"),
    }


def test_household_order_is_by_date_across_members():
    """The household's visits use the cap in date order whoever's they are: P2's visit of
    5 Jan (60.00) comes before P1's of 10 Jan (120.00): P2 paid 60.00, P1 paid 90.00."""
    out = price(
        [visit("A1", "P1", "400", 10), visit("B1", "P2", "200", 5)], PEOPLE, insurance_policy(**POOLED)
    )
    assert (out["B1"]["reimbursement"], out["A1"]["reimbursement"]) == (D("60.00"), D("90.00"))


def test_members_not_insured_do_not_add_to_the_cap():
    """H3 has P5 insured and P6 not: 50 × 1 = 50. P5 400 × 30% = 120.00, paid 50.00."""
    out = price([visit("E1", "P5", "400", 10)], PEOPLE, insurance_policy(**POOLED))
    assert (out["E1"]["cap"], out["E1"]["reimbursement"]) == (D("50.00"), D("50.00"))


def test_fixed_household_cap_hand_worked():
    """``household_cap = "fixed"``: H1 holds 50 元 whatever its size. P1 120.00 → paid 50.00;
    P2 60.00 → paid 0."""
    policy = insurance_policy(**POOLED, **{"outpatient.household_cap": '"fixed"'})
    out = price([visit("A1", "P1", "400", 10), visit("B1", "P2", "200", 12)], PEOPLE, policy)
    assert (out["A1"]["reimbursement"], out["B1"]["reimbursement"]) == (D("50.00"), D("0.00"))


def test_person_scope_is_the_default_and_unchanged():
    """Without pooling (county-2010's default, ``cap_scope = "person"``) each pays its own 50."""
    out = price(
        [visit("A1", "P1", "400", 10), visit("B1", "P2", "200", 12)],
        PEOPLE,
        insurance_policy(**{"outpatient.annual_cap": "50"}),
    )
    assert (out["A1"]["reimbursement"], out["B1"]["reimbursement"]) == (D("50.00"), D("50.00"))
    assert out["A1"]["cap_bucket"] == "outpatient"
    assert insurance_policy().outpatient_cap_scope == "person"


def test_a_person_without_household_keeps_an_own_cap():
    """A blank 户号: the person's own cap (50), not pooled with anyone."""
    people = household(("P1", None, 1), ("P2", "", 1))
    out = price(
        [visit("A1", "P1", "400", 10), visit("B1", "P2", "400", 10)], people, insurance_policy(**POOLED)
    )
    assert [(out[c]["cap_bucket"], out[c]["reimbursement"]) for c in ("A1", "B1")] == [
        ("outpatient", D("50.00"))
    ] * 2


def test_prior_usage_of_another_member_counts():
    """P2 already used 140.00 of H1's 150 (prior state): P1's 120.00 is paid 10.00."""
    prior = PriorState(
        pa.Table.from_pylist(
            [{"person_id": "P2", "bucket": f"{HOUSEHOLD_BUCKET}H1", "used": D("140.00")}], schema=USAGE_SCHEMA
        ),
        PriorState().episodes,
    )
    out = price([visit("A1", "P1", "400", 10)], PEOPLE, insurance_policy(**POOLED), prior)
    assert out["A1"]["reimbursement"] == D("10.00")


def test_desk_twin_reads_the_other_members_usage():
    """The desk: P1's state holds what P2 and P3 used of H1 (``shared``)."""
    policy = insurance_policy(**POOLED)
    state = DeskState(shared={f"{HOUSEHOLD_BUCKET}H1": D("140.00")})
    priced = price_claim(
        visit("A1", "P1", "400", 10), DeskPerson("general", 1, "H1", 3), DeskInstitution(1), policy, state
    )
    assert (priced["cap"], priced["cap_before"], priced["reimbursement"]) == (
        D("150.00"),
        D("10.00"),
        D("10.00"),
    )
    after = state.after(priced)
    assert after.usage == {f"{HOUSEHOLD_BUCKET}H1": D("10.00")} and after.used(f"{HOUSEHOLD_BUCKET}H1") == D(
        "150.00"
    )


def test_policy_rejects_an_unknown_scope():
    from shidian.insurance.policy import parse_insurance_policy
    from shidian.policy import read_reference_policy

    text, source = read_reference_policy("insurance", "county-2010")
    text = text.replace("[outpatient]\n", '[outpatient]\ncap_scope = "family"\n', 1)
    policy, problems = parse_insurance_policy(text, source)
    assert policy is None
    assert [p.where.key for p in problems] == ["outpatient.cap_scope"]
    assert problems[0].where.row is not None  # the line of the key


# ---- properties: the batch and the desk's scalar twin agree when members share the cap ----


@st.composite
def household_years(draw: st.DrawFn) -> tuple[pa.Table, list[dict[str, Any]]]:
    """A random year (``test_invariants.years``) whose persons share households (or have none)."""
    people, rows = draw(years())
    # P0 and P1 share H1; any further person is in H1, in H2 or in no household
    ids = ["H1", "H1", *(draw(st.sampled_from(["H1", "H2", None])) for _ in range(people.num_rows - 2))]
    ids = ids[: people.num_rows]
    for i in range(draw(st.integers(1, 8))):  # plain visits where the household's cap is shared
        start = dt.date(2010, 1, 1) + dt.timedelta(days=draw(st.integers(0, 40)))
        rows.append(
            {
                **claim(
                    f"H{i:02}", f"P{draw(st.integers(0, people.num_rows - 1))}", "V1", "0", kind="outpatient"
                ),
                "start_date": start,
                "end_date": start,
                "total_cost": Decimal(draw(st.integers(5_000, 50_000))) / 100,
                "general_fee": Decimal(draw(st.integers(0, 1000))) / 100,
            }
        )
    people = people.set_column(
        people.schema.get_field_index("household_id"), "household_id", pa.array(ids, pa.string())
    )
    return people.cast(PERSONS_SCHEMA), rows


def desk_people(people: pa.Table) -> dict[str, DeskPerson]:
    """DeskPerson with the household and its insured members (at least 1), as the frame counts."""
    rows = people.to_pylist()
    members: dict[str, int] = {}
    for r in rows:
        if r["household_id"] is not None and r["insured"] == 1:
            members[r["household_id"]] = members.get(r["household_id"], 0) + 1
    return {
        r["person_id"]: DeskPerson(
            r["category"], r["insured"], r["household_id"], members.get(r["household_id"] or "", 1)
        )
        for r in rows
    }


def desk_household_year(
    rows: list[dict[str, Any]], people: pa.Table, policy: Any
) -> tuple[list[dict[str, Any]], dict[str, DeskState]]:
    """Price ``rows`` one by one in discharge order (start, end, claim id) across persons, each
    after its person's own state and what the other members of its household used."""
    who = desk_people(people)
    where = {
        r["institution_id"]: DeskInstitution(r["level"], r["designated"], r["in_county"], r["place"])
        for r in INSTITUTIONS.to_pylist()
    }
    states: dict[str, DeskState] = {}
    out = []
    for row in sorted(rows, key=lambda r: (r["start_date"], r["end_date"], r["claim_id"])):
        pid = str(row["person_id"])
        person = who.get(pid)
        own = states.get(pid, DeskState())
        shared: dict[str, Decimal] = {}
        if person is not None and person.household_id is not None:
            bucket = f"{HOUSEHOLD_BUCKET}{person.household_id}"
            shared[bucket] = sum(
                (s.usage.get(bucket, Decimal(0)) for other, s in states.items() if other != pid), Decimal(0)
            )
        priced = price_claim(
            row,
            person,
            where.get(str(row["institution_id"])),
            policy,
            dataclasses.replace(own, shared=shared),
        )
        states[pid] = own.after(priced)
        out.append(priced)
    return sorted(out, key=lambda r: r["claim_id"]), states


BASES = ("county-2010", GENERAL_FEE, CITY_TIERS, COUNTY_FLOOR)
#: Small caps, so that a household's few visits exhaust them (15–150 元 a visit).
VARIANTS = [
    {"outpatient.cap_scope": '"household"', "outpatient.annual_cap": "10"},
    {
        "outpatient.cap_scope": '"household"',
        "outpatient.annual_cap": "40",
        "outpatient.household_cap": '"fixed"',
    },
]


@PROPERTY
@given(household_years(), st.sampled_from(VARIANTS), st.sampled_from(BASES))
def test_household_desk_claim_by_claim_equals_the_batch(year, overrides, base):
    people, rows = year
    policy = insurance_policy(base, **overrides)
    batch = price_claims(claims_table(rows), people, INSTITUTIONS, policy)
    desk, states = desk_household_year(rows, people, policy)
    for mine, theirs in zip(desk, batch.to_pylist(), strict=True):
        for key in theirs:
            assert mine[key] == theirs[key], (key, mine["claim_id"], mine[key], theirs[key])
    after = state_after(batch)
    for pid, state in states.items():
        usage = [u for u in after.usage.to_pylist() if u["person_id"] == pid]
        assert DeskState(state.usage, state.stays).to_prior(pid).usage.to_pylist() == usage
    # the household never gets more than its cap in the year
    caps: dict[str, tuple[Decimal, Decimal]] = {}
    for row in batch.to_pylist():
        if (row["cap_bucket"] or "").startswith(HOUSEHOLD_BUCKET):
            cap, total = caps.get(row["cap_bucket"], (row["cap"], Decimal(0)))
            assert row["cap"] == cap
            caps[row["cap_bucket"]] = (cap, total + row["cap_used"])
    assert all(total <= cap for cap, total in caps.values())


@PROPERTY
@given(household_years(), st.data())
def test_household_desk_after_a_state_equals_the_batch_after_its_prior(year, data):
    """Any claim after any desk state (own usage and the other members' shared usage): the twin
    equals ``price_claims(prior=state.to_prior(pid))``."""
    people, rows = year
    policy = insurance_policy(**VARIANTS[0])
    ordered = sorted(rows, key=lambda r: (r["start_date"], r["end_date"], r["claim_id"]))
    split = data.draw(st.integers(0, len(ordered) - 1))
    target = ordered[split]
    pid = str(target["person_id"])
    _, states = desk_household_year(ordered[:split], people, policy)
    who = desk_people(people)
    person = who.get(pid)
    state = states.get(pid, DeskState())
    if person is not None and person.household_id is not None:
        bucket = f"{HOUSEHOLD_BUCKET}{person.household_id}"
        others = sum((s.usage.get(bucket, Decimal(0)) for o, s in states.items() if o != pid), Decimal(0))
        state = dataclasses.replace(state, shared={bucket: others})
    institution = next(
        (r for r in INSTITUTIONS.to_pylist() if r["institution_id"] == target["institution_id"]), None
    )
    where = (
        None
        if institution is None
        else DeskInstitution(
            institution["level"], institution["designated"], institution["in_county"], institution["place"]
        )
    )
    mine = price_claim(target, person, where, policy, state)
    theirs = price_claims(
        claims_table([target]), people, INSTITUTIONS, policy, state.to_prior(pid)
    ).to_pylist()[0]
    assert mine == theirs


@pytest.mark.parametrize("base", BASES)
def test_shipped_policies_keep_person_scope(base):
    assert insurance_policy(base).outpatient_cap_scope == "person"


def test_caps_check_counts_a_household_bucket_over_all_members():
    """The run's ``caps_respected`` check sums a household bucket over its members: the
    hand-worked H1 (150) passes; the same rows with P2's 30.00 raised to 60.00 (each member
    under 150, the household at 180) fail."""
    import duckdb

    from shidian.insurance.checks import caps_respected

    policy = insurance_policy(**POOLED)
    priced = price_claims(
        claims_table([visit("A1", "P1", "400", 10), visit("B1", "P2", "200", 12)]),
        PEOPLE,
        INSTITUTIONS,
        policy,
    )
    rows = priced.to_pylist()
    rows[1]["cap_used"] = rows[1]["reimbursement"] = D("60.00")
    tampered = pa.Table.from_pylist(rows, schema=priced.schema)
    for table, ok in ((priced, True), (tampered, False)):
        con = duckdb.connect()
        con.register("priced", table)
        assert caps_respected(con, policy, {}).ok is ok
        con.close()
