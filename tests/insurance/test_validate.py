"""Input problems the cell types cannot catch: each names the file, row and column."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from shidian.insurance.id_number import check_char
from shidian.insurance.model import InsuranceInputs, claims_table
from shidian.insurance.validate import validate_inputs
from tests.insurance.helpers import INSTITUTIONS, claim, id_number, insurance_policy, persons


def problems_of(people, rows):
    inputs = InsuranceInputs(persons=people, institutions=INSTITUTIONS, claims=claims_table(rows))
    return [(p.code, str(p.where), p.severity) for p in validate_inputs(inputs, insurance_policy())]


def test_id_numbers_village_codes_and_duplicates():
    people = persons(("P1", "general"), ("P2", "general"), ("P3", "general"), ("P4", "general"))
    ids = people.column("id_number").to_pylist()
    ids[1] = ids[1][:17] + ("0" if ids[1][17] != "0" else "1")  # wrong check character
    ids[2] = "15292219700231" + "001"
    ids[2] += check_char(ids[2])  # 31 February
    ids[3] = ids[0]
    villages = people.column("village_code").to_pylist()
    villages[0] = "15292200100"  # 11 digits
    people = people.set_column(1, "id_number", pa.array(ids)).set_column(
        5, "village_code", pa.array(villages)
    )
    found = problems_of(people, [claim("A", "P1", "T1", "10.00")])
    assert ("insurance.person.bad_village_code", "persons.csv:2:village_code", "error") in found
    assert ("insurance.person.bad_id_number", "persons.csv:3:id_number", "error") in found
    assert ("insurance.person.bad_birth_date", "persons.csv:4:id_number", "error") in found
    assert ("insurance.person.duplicate_id_number", "persons.csv:5:id_number", "error") in found
    assert id_number(1) == ids[0]


def test_a_person_born_after_the_policy_year_cannot_be_insured_in_it():
    people = persons(("P1", "general"), ("P2", "general"), ("P3", "general"))
    ids = people.column("id_number").to_pylist()
    for i, birth in ((1, "20101231"), (2, "20110101")):  # the policy year is 2010
        ids[i] = f"152922{birth}001"
        ids[i] += check_char(ids[i])
    found = problems_of(people.set_column(1, "id_number", pa.array(ids)), [claim("A", "P1", "T1", "10.00")])
    born_after = [where for code, where, _ in found if code == "insurance.person.born_after_year"]
    assert born_after == ["persons.csv:4:id_number"]


def test_claim_consistency_and_transfers():
    people = persons(("P1", "general"), ("P2", "general"))
    rows = [
        claim("A", "P1", "T1", "100.00", month=3),
        claim("B", "P1", "T1", "100.00", month=2) | {"end_date": dt.date(2010, 1, 1)},
        claim("C", "P1", "T1", "50.00", kind="outpatient", delivery="normal"),
        claim("D", "P1", "T1", "50.00", kind="outpatient", chronic_disease="NOPE"),
        claim("E", "P1", "C2", "500.00", chronic_disease="HBP"),
        claim("F", "P1", "C2", "500.00", kind="outpatient", cataract_eyes=1, tcm_fracture=1),
        claim("G", "P1", "C2", "500.00", other_insurance_paid="600.00"),
        claim("H", "P1", "C2", "500.00", drug_cost="600.00"),
        claim("I", "P1", "C2", "500.00", drug_cost="100.00", catalogue_external_drug_cost="200.00"),
        claim("J", "P2", "C2", "500.00", month=4, transfer_of="A"),
        claim("K", "P1", "C2", "500.00", month=5, transfer_of="C"),
        claim("L", "P1", "C2", "500.00", month=1, transfer_of="A"),
        claim("M", "P1", "C2", "500.00", month=6, transfer_of="ZZ"),
    ]
    found = problems_of(people, rows)
    expected = [
        ("insurance.claim.dates_reversed", "claims.csv:3:start_date", "error"),
        ("insurance.claim.delivery_outpatient", "claims.csv:4:delivery", "error"),
        ("insurance.claim.unknown_chronic_disease", "claims.csv:5:chronic_disease", "error"),
        ("insurance.claim.outpatient_only", "claims.csv:6:chronic_disease", "error"),
        ("insurance.claim.conflicting_types", "claims.csv:7:cataract_eyes", "error"),
        ("insurance.claim.other_above_total", "claims.csv:8:other_insurance_paid", "error"),
        ("insurance.claim.drugs_above_total", "claims.csv:9:drug_cost", "error"),
        ("insurance.claim.external_above_drugs", "claims.csv:10:catalogue_external_drug_cost", "error"),
        ("insurance.claim.transfer_other_person", "claims.csv:11:transfer_of", "error"),
        ("insurance.claim.transfer_not_inpatient", "claims.csv:12:transfer_of", "error"),
        ("insurance.claim.transfer_not_earlier", "claims.csv:13:transfer_of", "error"),
        ("insurance.claim.transfer_not_found", "claims.csv:14:transfer_of", "warning"),
    ]
    for problem in expected:
        assert problem in found, problem
    assert len([p for p in found if p[0].startswith("insurance.claim")]) == len(expected)


def test_partial_household_is_a_warning():
    """004 篇6 二: “坚持农民以家庭为单位自愿参加”."""
    people = persons(("P1", "general"), ("P2", "general", 0))
    people = people.set_column(3, "household_id", pa.array(["H1", "H1"]))
    found = problems_of(people, [claim("A", "P1", "T1", "10.00")])
    assert found == [("insurance.household.partial", "persons.csv:2:household_id", "warning")]
