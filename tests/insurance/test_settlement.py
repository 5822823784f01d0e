"""Monthly settlement with designated institutions (004 篇6 三(四)4) and the catalogue deduction (三(四)1)."""

from __future__ import annotations

from shidian.insurance.claims import price_claims
from shidian.insurance.model import claims_table
from shidian.insurance.settlement import monthly_settlement
from tests.insurance.helpers import INSTITUTIONS, D, claim, insurance_policy, persons


def statements(rows, people=None):
    policy = insurance_policy()
    people = (
        people if people is not None else persons(("P1", "general"), ("P2", "general"), ("P3", "general", 0))
    )
    priced = price_claims(claims_table(rows), people, INSTITUTIONS, policy)
    return {
        (r["institution_id"], r["month"]): r
        for r in monthly_settlement(priced, INSTITUTIONS, policy).to_pylist()
    }


def test_004p6_3_4_1_catalogue_external_drugs_above_the_level_limit_are_deducted():
    """三(四)1: “《基本目录》外的药品, 其费用比例, 一级医院不超过5%, 二级医院不得超过10% … 超过以上比例的目录外
    药品费用从其药品收入上交款中扣除”.
      县医院 (10%), January: drugs 1000 + 2000 = 3000, external 150 + 250 = 400; allowed 300 → deduct 100.00
      乡镇卫生院 (5%), January: drugs 333.33, external 16.67; allowed 5% × 333.33 = 16.6665 → 16.67 → 0.00
    """
    out = statements(
        [
            claim("A", "P1", "C2", "2000.00", drug_cost="1000.00", catalogue_external_drug_cost="150.00"),
            claim(
                "B", "P2", "C2", "4000.00", drug_cost="2000.00", catalogue_external_drug_cost="250.00", day=9
            ),
            claim(
                "C", "P1", "T1", "500.00", drug_cost="333.33", catalogue_external_drug_cost="16.67", day=20
            ),
        ]
    )
    county = out["C2", 1]
    assert (county["drug_cost"], county["external_drug_cost"]) == (D("3000.00"), D("400.00"))
    assert county["external_allowed"] == D("300.00") and county["catalogue_deduction"] == D("100.00")
    # approved (two persons): (2000 − 100) × 65% = 1235.00 and (4000 − 100) × 65% = 2535.00
    assert county["approved"] == D("3770.00") and county["payable"] == D("3670.00")
    township = out["T1", 1]
    assert township["external_allowed"] == D("16.67") and township["catalogue_deduction"] == 0


def test_004p6_3_4_4_rejected_claims_and_desk_overpayments_are_not_settled():
    """三(四)4: “对定点医疗机构违反新型农村合作医疗制度相关规定的费用, 旗县区合管办不予结算”.
    County hospital, March: a claim for an uninsured person the desk advanced 300.00 on (rejected),
    and a paid claim (1000 − 100) × 65% = 585.00 where the desk paid 600.00:
      advanced 900.00 − rejected 300.00 − adjustment 15.00 − deduction 0 = payable 585.00 = approved
    """
    out = statements(
        [
            claim("A", "P3", "C2", "1000.00", month=3, desk_paid="300.00"),
            claim("B", "P1", "C2", "1000.00", month=3, day=5, desk_paid="600.00"),
        ]
    )
    march = out["C2", 3]
    assert (march["claims"], march["paid_claims"], march["rejected_claims"]) == (2, 1, 1)
    assert (march["advanced"], march["rejected_amount"], march["adjustment"]) == (
        D("900.00"),
        D("300.00"),
        D("15.00"),
    )
    assert march["approved"] == march["payable"] == D("585.00")


def test_out_of_area_claims_are_paid_to_the_insured_not_settled_with_an_institution():
    """A certificate stay at a non-designated out-of-area hospital appears in no statement."""
    out = statements([claim("A", "P1", "A3", "2000.00", certificate=1)])
    assert out == {}
