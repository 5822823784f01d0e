"""The county-year batch: validation stops it, the invariants pass, warnings travel with it."""

from __future__ import annotations

from shidian.insurance.batch import reimburse
from shidian.insurance.model import InsuranceInputs, claims_table
from tests.insurance.helpers import INSTITUTIONS, claim, insurance_policy, persons


def inputs(rows, people=None):
    return InsuranceInputs(
        persons=people if people is not None else persons(("P1", "general"), ("P2", "dibao")),
        institutions=INSTITUTIONS,
        claims=claims_table(rows),
    )


def test_batch_passes_its_invariants_and_reports_totals():
    result, problems = reimburse(
        inputs(
            [
                claim("A", "P1", "T1", "1000.00"),
                claim("B", "P2", "C2", "1000.00", month=2),
                claim("C", "P2", "V1", "30.00", kind="outpatient", general_fee="10.00", month=3),
                claim("D", "P9", "V1", "30.00", kind="outpatient"),
            ]
        ),
        insurance_policy(),
    )
    assert result is not None and result.ok, [c for c in result.checks if not c.ok] if result else problems
    t = result.totals
    # A (1000 − 50) × 75% = 712.50; B 低保 1000 × 65% = 650.00; C (county-2010 applies no 一般诊疗费,
    # issue 16 item 7; 004 篇6 三(四)3 “每次门诊补偿比例为门诊费用的30%”) 30 × 30% = 9.00
    assert (t["claims"], t["paid"], t["rejected"], t["rejected_not_insured"]) == ("4", "3", "1", "1")
    assert t["reimbursements"] == "1371.50" and t["income"] == "300.00"
    assert [w.code for w in result.warnings if w.code == "insurance.health_check.no_prior_year"]


def test_input_errors_stop_the_batch():
    bad = inputs([claim("A", "P1", "T1", "100.00", kind="outpatient", delivery="normal")])
    result, problems = reimburse(bad, insurance_policy())
    assert result is None and [p.code for p in problems] == ["insurance.claim.delivery_outpatient"]
