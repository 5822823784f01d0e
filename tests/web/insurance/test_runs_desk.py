"""``batch_files.with_desk_claims``: the desk's claims join a run's claims as typed rows with
what the desk paid, absent columns taking their defaults; a claim id both in the claims file and
at the desk is refused by name."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from shidian.insurance.batch_files import with_desk_claims
from shidian.insurance.io import read_inputs

COUNTY = Path(__file__).parents[2] / "insurance" / "data" / "county"
#: as the desk records a request (desk_claim.canonical): values as text, defaults filled
REQUEST = {
    "claim_id": "D-1",
    "person_id": "P01",
    "institution_id": "T1",
    "kind": "inpatient",
    "start_date": "2010-11-02",
    "end_date": "2010-11-05",
    "total_cost": "1000.00",
    "self_pay": "100.00",
    "delivery": None,
    "cataract_eyes": 0,
    "certificate": 0,
    "desk_paid": None,
}


def test_desk_claims_are_added_typed_with_what_the_desk_paid():
    inputs, problems, _ = read_inputs(COUNTY)
    assert inputs is not None, problems
    merged = with_desk_claims(inputs, [REQUEST], ["712.50"])
    assert merged.claims.num_rows == inputs.claims.num_rows + 1
    added = merged.claims.slice(inputs.claims.num_rows).to_pylist()[0]
    assert added["claim_id"] == "D-1" and added["end_date"] == dt.date(2010, 11, 5)
    assert (added["total_cost"], added["self_pay"], added["desk_paid"]) == (
        Decimal("1000.00"),
        Decimal("100.00"),
        Decimal("712.50"),
    )
    # columns the recorded request lacks take CLAIM_DEFAULTS
    assert (added["special_exam"], added["referral"], added["transfer_of"]) == (Decimal(0), 0, None)
    assert with_desk_claims(inputs, [], []) is inputs


def test_a_claim_id_in_the_file_and_at_the_desk_is_refused_by_name():
    inputs, _, _ = read_inputs(COUNTY)
    assert inputs is not None
    twice = REQUEST | {"claim_id": inputs.claims.column("claim_id")[0].as_py()}
    with pytest.raises(ValueError, match=f"就诊编号 {twice['claim_id']} 既在 claims.csv"):
        with_desk_claims(inputs, [twice], ["1.00"])
