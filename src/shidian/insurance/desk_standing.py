"""What the discharge desk shows a clerk before a stay is entered (参合人员本年度情况): the
person's eligibility and category, the deductible a new stay at the clerk's institution would
charge, and what is left of each annual cap. Pure: the person, the institution, the policy and
the person's year in, a ``Standing`` out.

The deductible is the one ``desk.price_claim`` would charge a new inpatient stay that is not a
transfer and not waived for its TCM share (004 篇6 三(四)1): none for a waived category (凭有效
证件报销不设起付线), none at a county-level-or-above hospital once the year already has a stay
counted there (县级以上医院多次住院只计首次起付线), else the level's deductible. The caps are 三(四)3's
annual inpatient cap, the outpatient cap, 特殊慢性病's annual fixed amounts and the TCM fracture
cap; what is left is the cap less what the person's desk claims of the year used. Under
``outpatient.cap_scope = "household"`` the outpatient cap shown is the household's (户内共享):
its amount and what is left after every member's desk claims (``DeskState.shared``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from shidian.insurance.desk import outpatient_cap
from shidian.insurance.desk_state import DeskInstitution, DeskPerson, DeskState
from shidian.insurance.model import CATEGORY_LABELS
from shidian.insurance.policy import InsurancePolicy
from shidian.money import ZERO

__all__ = ["CapLeft", "Standing", "standing"]


@dataclass(frozen=True)
class CapLeft:
    """One annual cap (封顶线): its bucket, label, amount, what the year used and what is left."""

    bucket: str
    label: str
    cap: Decimal
    used: Decimal
    left: Decimal


@dataclass(frozen=True)
class Standing:
    """A person's year at the desk, as the clerk reads it before entering a stay."""

    category: str
    category_label: str
    insured: bool
    waived: bool
    level: int | None
    deductible: Decimal | None
    deductible_rule: str
    stays: int
    caps: tuple[CapLeft, ...]


def _deductible(
    person: DeskPerson, institution: DeskInstitution | None, policy: InsurancePolicy, state: DeskState
) -> tuple[Decimal | None, str]:
    if person.category in policy.waived_categories:
        return ZERO, "category"
    if institution is None:
        return None, "none"
    if institution.level >= policy.county_level and state.county_admissions() > 0:
        return ZERO, "county_repeat"
    tier = policy.tier(institution.level, institution.where)
    if tier is None:  # no tier covers the institution: a stay there is refused, no deductible shown
        return None, "none"
    return tier.deductible, "standard"


def standing(
    person: DeskPerson, institution: DeskInstitution | None, policy: InsurancePolicy, state: DeskState
) -> Standing:
    """The person's standing at ``institution`` (None: the desk's institution is not in the
    year's list, so no deductible is shown) after the year's desk claims (``state``)."""
    tier = None if institution is None else policy.tier(institution.level, institution.where)
    outpatient, outpatient_amount = outpatient_cap(person, policy)  # the household's (户内共享) or own
    buckets: list[tuple[str, str, Decimal | None]] = [
        ("inpatient", "住院补偿封顶线", policy.inpatient_cap),
        (
            outpatient,
            "门诊统筹封顶线" if outpatient == "outpatient" else "门诊统筹家庭封顶线 (户内共享)",
            outpatient_amount,
        ),
        *(
            (f"chronic:{c.code}", f"特殊慢性病 {c.name} 年度定额", c.annual_amount)
            for c in policy.chronic_diseases
        ),
        ("tcm_fracture", "中医门诊骨折非手术治疗封顶线", policy.tcm_fracture_cap),
    ]
    if tier is not None:  # the bucket and cap desk.price_claim charges a stay here (one rule)
        bucket, cap = policy.tier_cap(tier)
        if bucket is not None:
            buckets[0] = (
                bucket,
                "住院补偿封顶线" if bucket == "inpatient" else f"{tier.name} 住院补偿封顶线",
                cap,
            )
    caps = tuple(
        CapLeft(bucket, label, cap, state.used(bucket), max(cap - state.used(bucket), ZERO))
        for bucket, label, cap in buckets
        if cap is not None  # a policy without that cap (per stay only, or none)
    )
    deductible, rule = _deductible(person, institution, policy, state)
    return Standing(
        category=person.category,
        category_label=CATEGORY_LABELS.get(person.category, person.category),
        insured=bool(person.insured),
        waived=person.category in policy.waived_categories,
        level=None if institution is None else institution.level,
        deductible=deductible,
        deductible_rule=rule,
        stays=len(state.stays),
        caps=caps,
    )
