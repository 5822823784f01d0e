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


def test_a_claim_id_of_another_institution_is_not_settled_twice_but_kept_apart():
    """Claim ids are each institution's own (issue 22 finding 3): a desk claim of C2 with the id
    of T1's claim in the file, and two desk claims of one id at T1 and M2, each enter the run
    under ``<institution>/<id>``; an unshared id keeps its own; a transfer naming a moved claim
    of the same person follows it. Only the same institution's id in the file is refused."""
    inputs, _, _ = read_inputs(COUNTY)
    assert inputs is not None
    file_id = inputs.claims.column("claim_id")[0].as_py()  # K01, a claim of T1
    requests = [
        REQUEST | {"claim_id": file_id, "institution_id": "C2"},
        REQUEST | {"claim_id": "D-9", "institution_id": "T1"},
        REQUEST
        | {"claim_id": "D-9", "institution_id": "M2", "start_date": "2010-11-05", "end_date": "2010-11-09"},
        REQUEST
        | {"claim_id": "D-10", "start_date": "2010-11-09", "end_date": "2010-11-12", "transfer_of": "D-9"},
        REQUEST | {"claim_id": "D-11", "person_id": "P02", "transfer_of": "D-9"},  # not P01's: kept
    ]
    merged = with_desk_claims(inputs, requests, ["1.00"] * len(requests))
    added = merged.claims.slice(inputs.claims.num_rows).to_pylist()
    assert [(a["claim_id"], a["institution_id"], a["transfer_of"]) for a in added] == [
        (f"C2/{file_id}", "C2", None),
        ("T1/D-9", "T1", None),
        ("M2/D-9", "M2", None),
        ("D-10", "T1", "T1/D-9"),  # P01's first D-9 as the desk's claims come (paid_requests)
        ("D-11", "T1", "D-9"),
    ]
    assert merged.claims.column("claim_id").to_pylist()[: inputs.claims.num_rows] == (
        inputs.claims.column("claim_id").to_pylist()
    )
    same_institution = REQUEST | {"claim_id": file_id, "institution_id": "T1"}
    with pytest.raises(ValueError, match=f"就诊编号 {file_id} 既在 claims.csv"):
        with_desk_claims(inputs, [same_institution], ["1.00"])
