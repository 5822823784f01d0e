"""The desk's standing (参合人员本年度情况), worked by hand from county-2010 (004 篇6 三(四)1、3):
level deductibles 50/100/500, county-level from level 2, 首次起付线 only at county-level
hospitals, waived categories, annual inpatient cap 45000 and outpatient cap 300."""

from __future__ import annotations

from decimal import Decimal

from shidian.insurance.desk_standing import standing
from shidian.insurance.desk_state import DeskInstitution, DeskPerson, DeskState, DeskStay
from shidian.insurance.policy import POLICIES

POLICY = POLICIES.named("county-2010")


def _caps(result):  # type: ignore[no-untyped-def]
    return {c.bucket: (c.cap, c.used, c.left) for c in result.caps}


def test_a_new_person_pays_the_level_deductible_and_has_every_cap_whole():
    result = standing(DeskPerson("general"), DeskInstitution(3), POLICY, DeskState())
    assert (result.deductible, result.deductible_rule, result.insured) == (Decimal(500), "standard", True)
    caps = _caps(result)
    assert caps["inpatient"] == (Decimal(45000), Decimal(0), Decimal(45000))
    assert caps["outpatient"] == (Decimal(300), Decimal(0), Decimal(300))
    assert result.category_label and result.stays == 0


def test_after_a_county_level_stay_no_deductible_and_the_cap_is_reduced():
    # a first stay at a level-3 hospital: (2000 − 500) × 40% = 600 of the inpatient cap
    state = DeskState({"inpatient": Decimal("600.00")}, (DeskStay("C1", "C1", Decimal(500), 1),))
    at_county = standing(DeskPerson("general"), DeskInstitution(2), POLICY, state)
    assert (at_county.deductible, at_county.deductible_rule) == (Decimal(0), "county_repeat")
    assert _caps(at_county)["inpatient"] == (Decimal(45000), Decimal("600.00"), Decimal("44400.00"))
    at_township = standing(DeskPerson("general"), DeskInstitution(1), POLICY, state)
    assert (at_township.deductible, at_township.deductible_rule) == (Decimal(50), "standard")


def test_a_waived_category_pays_no_deductible_and_a_used_up_cap_leaves_nothing():
    state = DeskState({"outpatient": Decimal("300.00")})
    result = standing(DeskPerson("wubao"), DeskInstitution(3), POLICY, state)
    assert (result.deductible, result.deductible_rule, result.waived) == (Decimal(0), "category", True)
    assert _caps(result)["outpatient"][2] == Decimal(0)


def test_not_insured_and_an_institution_outside_the_list():
    result = standing(DeskPerson("general", insured=0), None, POLICY, DeskState())
    assert result.insured is False and result.deductible is None and result.deductible_rule == "none"
