"""The two-year rule (004 篇6 三(四)1): “连续两年没有获得门诊和住院补偿者 … 可获得一次健康体检”."""

from __future__ import annotations

import pyarrow as pa

from shidian.insurance.claims import price_claims
from shidian.insurance.health_check import health_check_list
from shidian.insurance.model import PRIOR_YEAR_SCHEMA, claims_table
from tests.insurance.helpers import INSTITUTIONS, D, claim, insurance_policy, persons


def test_004p6_3_4_1_entitled_after_two_years_without_reimbursement():
    """P1 nothing either year (its one claim this year is rejected: unknown institution) → entitled. P2 reimbursed last year, P3 this year → not.
    P4 a paid claim of 0.00 this year (40.00 at level 1 is under the 50.00 deductible) → entitled.
    P5 not insured last year (absent from prior_year), P6 not insured this year → not.
    P7 was entitled last year (health_check = 1): counting starts again → not."""
    people = persons(*((f"P{i}", "general") for i in range(1, 6)), ("P6", "general", 0), ("P7", "general"))
    priced = price_claims(
        claims_table(
            [
                claim("A", "P3", "T1", "1000.00"),
                claim("B", "P4", "T1", "40.00"),
                claim("C", "P1", "ZZ", "900.00"),
            ]
        ),
        people,
        INSTITUTIONS,
        insurance_policy(),
    )
    assert {r["claim_id"]: r["reimbursement"] for r in priced.to_pylist()} == {
        "A": D("712.50"),
        "B": D(0),
        "C": D(0),
    }
    assert [r["status"] for r in priced.to_pylist()] == ["paid", "paid", "rejected"]
    prior = pa.Table.from_pylist(
        [
            {"person_id": p, "reimbursement": D(r), "health_check": h}
            for p, r, h in (
                ("P1", "0", 0),
                ("P2", "12.00", 0),
                ("P3", "0", 0),
                ("P4", "0", 0),
                ("P6", "0", 0),
                ("P7", "0", 1),
            )
        ],
        schema=PRIOR_YEAR_SCHEMA,
    )
    entitled = health_check_list(people, priced, prior).column("person_id").to_pylist()
    assert entitled == ["P1", "P4"]
    assert health_check_list(people, priced, None).num_rows == 0
