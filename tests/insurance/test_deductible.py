"""The transfer rule (连续转诊只计最高级别医院一次起付线) and its meeting with the county rule.

004 篇6 三(四)1: “患同一种疾病在不同级别的医院连续转诊住院, 只计算最高级别医院的一次起付线”.
A transfer chain is priced stay by stay, as each is discharged: a stay charges what its level's
deductible adds to what the chain has charged so far, so the chain pays the highest level's once.
"""

from __future__ import annotations

from tests.insurance.helpers import D, claim, price


def test_004p6_3_4_1_transfer_up_pays_the_difference():
    """乡镇卫生院 (50) → 市中心医院 (500), same disease:
    stay 1: (2000 − 50) × 75% = 1462.50
    stay 2: 500 − 50 already charged = 450; (20000 − 450) × 40% = 7820.00; the chain paid 500 once
    """
    out = price(
        [
            claim("A", "P1", "T1", "2000.00", month=1, day=1),
            claim("B", "P1", "S3", "20000.00", month=1, day=6, transfer_of="A"),
        ]
    )
    assert (out["A"]["deductible"], out["B"]["deductible"]) == (D("50.00"), D("450.00"))
    assert (out["A"]["reimbursement"], out["B"]["reimbursement"]) == (D("1462.50"), D("7820.00"))
    assert out["B"]["episode_id"] == "A" and out["B"]["deductible_rule"] == "transfer"
    assert "此前已计50.00, 本次计450.00" in out["B"]["reason"]
    assert out["B"]["status"] == "paid"  # a transfer is a referral: no referral flag needed


def test_004p6_3_4_1_transfer_down_pays_nothing_more():
    """市中心医院 (500, referred) → 县医院 (100): 500 then max(500, 100) − 500 = 0.
    stay 1: (20000 − 500) × 40% = 7800.00; stay 2: 2000 × 65% = 1300.00
    """
    out = price(
        [
            claim("A", "P1", "S3", "20000.00", month=2, referral=1),
            claim("B", "P1", "C2", "2000.00", month=2, day=6, transfer_of="A"),
        ]
    )
    assert (out["A"]["deductible"], out["B"]["deductible"]) == (D("500.00"), D(0))
    assert out["B"]["reimbursement"] == D("1300.00")


def test_004p6_3_4_1_three_stay_chain_charges_the_highest_level_once():
    """县医院 (100) → 市中心医院 (500) → 乡镇卫生院 (50): 100, then 400, then 0; Σ = 500."""
    out = price(
        [
            claim("A", "P1", "C2", "3000.00", month=3, day=1),
            claim("B", "P1", "S3", "9000.00", month=3, day=6, transfer_of="A"),
            claim("C", "P1", "T1", "1000.00", month=3, day=11, transfer_of="B"),
        ]
    )
    assert [out[c]["deductible"] for c in "ABC"] == [D("100.00"), D("400.00"), D(0)]
    assert {out[c]["episode_id"] for c in "ABC"} == {"A"}


def test_county_rule_applies_across_diseases_not_within_a_chain():
    """Jan 县医院, disease 1: 100 charged (first county-level stay).
    Mar 乡镇卫生院 (50) → 市中心医院, disease 2: the city stay is county level and another disease
    already counted one, so it adds nothing: deductibles 50 and 0.
      Mar stay 1: (1000 − 50) × 75% = 712.50; stay 2: 10000 × 40% = 4000.00
    """
    out = price(
        [
            claim("A", "P1", "C2", "1000.00", month=1),
            claim("B", "P1", "T1", "1000.00", month=3, day=1),
            claim("C", "P1", "S3", "10000.00", month=3, day=6, transfer_of="B"),
        ]
    )
    assert [out[c]["deductible"] for c in "ABC"] == [D("100.00"), D("50.00"), D(0)]
    assert out["C"]["reimbursement"] == D("4000.00") and out["C"]["deductible_rule"] == "county_repeat"


def test_transfer_from_an_unknown_or_later_stay_is_a_new_admission():
    """transfer_of naming no earlier inpatient stay of the person: priced as a first stay, said so."""
    out = price(
        [
            claim("A", "P1", "C2", "1000.00", month=4, transfer_of="NOPE"),
            claim("B", "P1", "T1", "1000.00", month=6, transfer_of="C"),
            claim("C", "P1", "T1", "1000.00", month=7),
        ]
    )
    assert out["A"]["deductible"] == D("100.00") and out["A"]["episode_id"] == "A"
    assert "转诊来源NOPE不是本人本年度此前的住院" in out["A"]["reason"]
    assert out["B"]["episode_id"] == "B" and out["B"]["deductible"] == D("50.00")
