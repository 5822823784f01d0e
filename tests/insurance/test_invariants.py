"""Properties of claim pricing over random persons and claims (hypothesis).

* the reimbursement never exceeds the reimbursable cost, which never exceeds the cost;
* a person's yearly inpatient reimbursement never exceeds the cap (nor any bucket its cap);
* the batch equals the discharge desk: pricing the claims one at a time, in order, each after
  the ``state_after`` of those before, gives the same rows to the fen;
* reversing a claim (冲正: the person's year without it) and submitting it again gives the
  same state, and a reversal never uses more of any cap;
* the order of the rows in the input does not matter.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from shidian.insurance.claims import price_claims, reverse_claim, state_after
from shidian.insurance.model import claims_table
from tests.insurance.helpers import INSTITUTIONS, insurance_policy, persons
from tests.properties import property_settings

POLICY = insurance_policy()
CATEGORIES = ["general", "general", "general", "wubao", "dibao", "disabled"]
INSTITUTION_IDS = ["T1", "V1", "C2", "M2", "S3", "N1", "A3", "O2", "X9"]


def money(draw: st.DrawFn, low: int, high: int) -> Decimal:
    return Decimal(draw(st.integers(low, high))) / 100


@st.composite
def years(draw: st.DrawFn) -> tuple[pa.Table, list[dict[str, object]]]:
    n_people = draw(st.integers(1, 3))
    people = persons(
        *(
            (f"P{i}", draw(st.sampled_from(CATEGORIES)), draw(st.sampled_from([1, 1, 1, 0])))
            for i in range(n_people)
        )
    )
    rows: list[dict[str, object]] = []
    for i in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["inpatient", "inpatient", "outpatient"]))
        total = money(draw, 1, 12_000_000 if kind == "inpatient" else 200_000)
        parts = [
            money(draw, 0, int(total * 100) // 4) if draw(st.booleans()) else Decimal(0) for _ in range(6)
        ]
        start = dt.date(2010, 1, 1) + dt.timedelta(days=draw(st.integers(-5, 364)))
        outpatient_type = draw(st.sampled_from(["plain", "plain", "chronic", "cataract", "fracture"]))
        ids = [r["claim_id"] for r in rows]
        rows.append(
            {
                "claim_id": f"C{i:02}",
                "person_id": f"P{draw(st.integers(0, n_people))}",  # sometimes nobody's
                "institution_id": draw(st.sampled_from(INSTITUTION_IDS)),
                "kind": kind,
                "start_date": start,
                "end_date": start + dt.timedelta(days=draw(st.integers(0, 12)) if kind == "inpatient" else 0),
                "total_cost": total,
                "self_pay": parts[0],
                "special_exam": parts[1],
                "special_treatment": parts[2],
                "blood": Decimal(0),
                "special_material": parts[3],
                "tcm_cost": parts[4] * draw(st.sampled_from([1, 1, 3])),
                "general_fee": min(parts[5], Decimal(10)) if kind == "outpatient" else Decimal(0),
                "delivery": draw(st.sampled_from([None, None, "normal", "pathological"]))
                if kind == "inpatient"
                else None,
                "cataract_eyes": draw(st.integers(1, 2)) if outpatient_type == "cataract" else 0,
                "chronic_disease": draw(st.sampled_from(["HBP", "DM"]))
                if outpatient_type == "chronic" and kind == "outpatient"
                else None,
                "tcm_fracture": int(outpatient_type == "fracture" and kind == "outpatient"),
                "other_insurance_paid": money(draw, 0, int(total * 100))
                if draw(st.integers(0, 5)) == 0
                else Decimal(0),
                "transfer_of": draw(st.sampled_from(ids)) if ids and draw(st.integers(0, 2)) == 0 else None,
                "certificate": draw(st.integers(0, 1)),
                "referral": draw(st.integers(0, 1)),
                # the illustrative policies' special inpatient categories (issue 18); other
                # policies price such a stay on its institution's tier
                "inpatient_category": draw(
                    st.sampled_from([None, None, None, "psychiatric", "accident", "caesarean"])
                )
                if kind == "inpatient"
                else None,
            }
        )
    return people, rows


PROPERTY = property_settings(20)
SLOW_PROPERTY = property_settings(15)


def order_key(row: dict[str, object]) -> tuple[object, ...]:
    return (row["person_id"], row["start_date"], row["end_date"], row["claim_id"])


@PROPERTY
@given(years())
def test_reimbursement_bounded_and_caps_respected(year):
    people, rows = year
    table = price_claims(claims_table(rows), people, INSTITUTIONS, POLICY)
    priced = table.to_pylist()
    for row in priced:
        assert 0 <= row["reimbursement"] <= row["reimbursable"] <= row["total_cost"]
        assert (
            row["reimbursement"] + row["other_insurance_paid"] <= row["total_cost"]
            or row["status"] == "rejected"
        )
        if row["status"] == "rejected":
            assert row["reimbursement"] == 0 and row["reason"].startswith("不予补偿")
    inpatient: dict[object, Decimal] = {}
    for row in priced:
        if row["kind"] == "inpatient":
            inpatient[row["person_id"]] = inpatient.get(row["person_id"], Decimal(0)) + row["reimbursement"]
    assert all(total <= POLICY.inpatient_cap for total in inpatient.values())
    for usage in state_after(
        price_claims(claims_table(rows), people, INSTITUTIONS, POLICY)
    ).usage.to_pylist():
        caps = {
            "inpatient": POLICY.inpatient_cap,
            "outpatient": POLICY.outpatient_cap,
            "tcm_fracture": POLICY.tcm_fracture_cap,
        }
        caps |= {f"chronic:{c.code}": c.annual_amount for c in POLICY.chronic_diseases}
        assert usage["used"] <= caps[usage["bucket"]]


@SLOW_PROPERTY
@given(
    years(),
    st.sampled_from(
        [{}, {"inpatient.annual_cap": "3000"}, {"inpatient.repeat_deductible": '"first_admission"'}]
    ),
)
def test_batch_equals_claim_by_claim_with_prior_state(year, overrides):
    """The desk contract: price one claim after the person's state; carry the state on."""
    people, rows = year
    policy = insurance_policy(**overrides)
    batch = price_claims(claims_table(rows), people, INSTITUTIONS, policy).to_pylist()
    state = None
    one_by_one = []
    for row in sorted(rows, key=order_key):
        priced = price_claims(claims_table([row]), people, INSTITUTIONS, policy, state)
        state = state_after(priced, state)
        one_by_one += priced.to_pylist()
    assert sorted(one_by_one, key=lambda r: r["claim_id"]) == batch
    assert state_after(price_claims(claims_table(rows), people, INSTITUTIONS, policy)) == state


@SLOW_PROPERTY
@given(years(), st.data())
def test_reverse_then_resubmit_gives_the_same_state(year, data):
    people, rows = year
    victim = data.draw(st.sampled_from(rows))
    person_rows = [r for r in rows if r["person_id"] == victim["person_id"]]
    table = claims_table(person_rows)
    before = state_after(price_claims(table, people, INSTITUTIONS, POLICY))
    remaining, reversed_state = reverse_claim(table, str(victim["claim_id"]), people, INSTITUTIONS, POLICY)
    assert victim["claim_id"] not in remaining.column("claim_id").to_pylist()
    freed = {(u["person_id"], u["bucket"]): u["used"] for u in reversed_state.usage.to_pylist()}
    for usage in before.usage.to_pylist():  # a reversal frees, never uses more of, any cap
        assert freed.get((usage["person_id"], usage["bucket"]), Decimal(0)) <= usage["used"]
    resubmitted = claims_table([r for r in person_rows if r is not victim] + [victim])
    assert state_after(price_claims(resubmitted, people, INSTITUTIONS, POLICY)) == before


@PROPERTY
@given(years(), st.randoms(use_true_random=False))
def test_row_order_is_irrelevant(year, rnd: random.Random):
    people, rows = year
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    first = price_claims(claims_table(rows), people, INSTITUTIONS, POLICY)
    second = price_claims(claims_table(shuffled), people, INSTITUTIONS, POLICY)
    assert first.equals(second)
