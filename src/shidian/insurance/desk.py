"""The discharge desk's scalar twin (出院即时结算): one claim priced in Python ``Decimal``.

``claims.price_claims`` is the columnar definition of the reimbursement rules; it costs about
80 ms whatever the number of rows (DuckDB binds and plans its expression-heavy queries), which
is far too slow for a counter where a clerk waits for each answer. ``price_claim`` here applies
the *same* rules to one claim after one person's ``DeskState`` in well under a millisecond.

So the rules exist in two forms, on purpose and under test:

* both read every parameter from the one ``InsurancePolicy`` (no number is repeated here);
* ``tests/insurance/test_desk.py`` proves with hypothesis that pricing random years claim by
  claim with ``price_claim`` gives ``price_claims``'s batch rows to the fen, every column
  including the rule trail (``reason``), under several policy variants; and that
  ``price_claim`` after a state equals ``price_claims`` after ``DeskState.to_prior()``.

A change to a rule must be made in both ``claims.py``/``deductible.py``/``trail.py`` and here
(``desk.py``, ``desk_claim.py``, ``desk_trail.py``); the property test fails until they agree.
Section numbers are 004 篇6's (see docs/insurance.md).

``decide`` is the desk's one decision for a request: the claim is normalised once, checked
(unknown person or institution, the input checks, 三(四)5's refusals) and, when the fund pays
it, priced after the person's year: ``Decision`` = the priced row and the year after it, or the
problems that refuse it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from shidian.insurance.desk_claim import PARTIAL_ITEMS, dec, input_problems, normalised, reject_code
from shidian.insurance.desk_state import DeskInstitution, DeskPerson, DeskState, DeskStay
from shidian.insurance.desk_trail import reason
from shidian.insurance.model import HOUSEHOLD_BUCKET
from shidian.insurance.policy import ChronicDisease, InsurancePolicy, Tier
from shidian.insurance.trail import adjusted, ratio_steps
from shidian.money import ZERO, round_fen
from shidian.problems import Problem, Source

__all__ = [
    "REJECT_FIELDS",
    "Decision",
    "DeskInstitution",
    "DeskPerson",
    "DeskState",
    "DeskStay",
    "claim_problems",
    "decide",
    "outpatient_cap",
    "price_claim",
    "refusal",
]

#: reject code → the request field it is about (the problem names it).
REJECT_FIELDS = {
    "not_insured": "person_id",
    "unknown_institution": "institution_id",
    "outside_year": "end_date",
    "items_exceed_total": "total_cost",
    "not_designated": "institution_id",
    "not_referred": "referral",
    "outpatient_level": "institution_id",
    "no_tier": "institution_id",
}


@dataclass(frozen=True)
class Decision:
    """The desk's answer to one claim: ``priced`` (``claims.PRICED_COLUMNS``) and the person's
    year after it (``after``), or the ``problems`` that refuse it (nothing priced)."""

    priced: dict[str, Any] | None = None
    after: DeskState | None = None
    problems: list[Problem] = field(default_factory=list)


def decide(
    claim: Mapping[str, Any],
    person: DeskPerson | None,
    institution: DeskInstitution | None,
    policy: InsurancePolicy,
    year: Callable[[], DeskState],
    source: str = "<request>",
) -> Decision:
    """The desk's one decision: ``claim`` of ``person`` at ``institution`` (None: not in the
    year's dataset) priced after the person's year, or refused with every problem found.

    ``year`` gives the person's year; it is called only for a claim the fund pays, after every
    check: refusal never depends on the year (caps and deductibles only change what a paid claim
    gets), so the desk's service passes the function that locks the year, and a refused claim
    locks and writes nothing. Problems name the field of the request (``source``).
    """
    when = claim["end_date"].year
    if person is None:
        message = f"人员 {claim['person_id']} 不在 {when} 年度参合数据中 (unknown person)"
        return Decision(problems=[_problem("unknown_person", message, "person_id", source)])
    if institution is None:
        message = f"医疗机构 {claim['institution_id']} 不在 {when} 年度医疗机构名单中 (unknown institution)"
        return Decision(problems=[_problem("unknown_institution", message, "institution_id", source)])
    c, chronic = normalised(claim, policy)
    problems = input_problems(c, policy, source)
    if problems:
        return Decision(problems=problems)
    code = reject_code(c, person, institution, policy)
    if code is not None:
        why = reason(_rejected_row(c, code, institution), policy)
        return Decision(problems=[_problem(code, why, REJECT_FIELDS[code], source)])
    state = year()
    priced = _price(c, chronic, person, institution, policy, state)
    return Decision(priced, state.after(priced))


def _problem(code: str, message: str, column: str, source: str) -> Problem:
    return Problem(f"insurance.claim.{code}", message, Source(source, column=column))


def claim_problems(
    claim: Mapping[str, Any], policy: InsurancePolicy, source: str = "<claim>"
) -> list[Problem]:
    """The input problems of one desk claim that its cell types cannot catch (the claim row
    checks of ``validate.validate_inputs``, same codes), naming the field."""
    return input_problems(normalised(claim, policy)[0], policy, source)


def refusal(
    claim: Mapping[str, Any],
    person: DeskPerson | None,
    institution: DeskInstitution | None,
    policy: InsurancePolicy,
) -> tuple[str, str] | None:
    """Why the fund pays nothing for ``claim`` whatever the person's year (004 篇6 三(四)5
    合作医疗基金不予补偿的医疗费用, and the input rules): ``(reject_code, reason)``, the same
    code and trail ``price_claim`` gives the rejected row; None when it pays."""
    c, _ = normalised(claim, policy)
    code = reject_code(c, person, institution, policy)
    if code is None:
        return None
    return code, reason(_rejected_row(c, code, institution), policy)


def _rejected_row(c: Mapping[str, Any], code: str, institution: DeskInstitution | None) -> dict[str, Any]:
    """The row the trail reads for a rejected claim: the claim with its institution's level and
    place (``no_tier`` names them, as the batch's frame does)."""
    where = {} if institution is None else {"level": institution.level, "place": institution.where}
    return {**c, **where, "status": "rejected", "reject_code": code}


def price_claim(
    claim: Mapping[str, Any],
    person: DeskPerson | None,
    institution: DeskInstitution | None,
    policy: InsurancePolicy,
    state: DeskState | None = None,
) -> dict[str, Any]:
    """Price one claim after the person's ``state``: ``claims.PRICED_COLUMNS`` as a dict.

    ``claim`` has ``model.CLAIMS_SCHEMA``'s keys (absent optional ones take
    ``model.CLAIM_DEFAULTS``), money as ``Decimal``, dates as ``date``. ``person`` or
    ``institution`` None: not in the dataset (the claim is rejected with its reason).
    """
    c, chronic = normalised(claim, policy)
    return _price(c, chronic, person, institution, policy, state or DeskState())


def _price(
    c: Mapping[str, Any],
    chronic: ChronicDisease | None,
    person: DeskPerson | None,
    institution: DeskInstitution | None,
    policy: InsurancePolicy,
    st: DeskState,
) -> dict[str, Any]:
    """``price_claim`` of a normalised claim."""
    reject = reject_code(c, person, institution, policy)
    status = "paid" if reject is None else "rejected"
    rule = _rule(c, reject)
    level = institution.level if institution is not None else None
    place = institution.where if institution is not None else None
    tier = (
        (policy.special(c["inpatient_category"]) or policy.tier(level, place))
        if c["kind"] == "inpatient"
        else None
    )
    partial_total = sum((c[i] for i in PARTIAL_ITEMS), ZERO)
    counted = _partial_counted(c, policy)
    partial_counted = counted if reject is None else ZERO
    reimbursable = c["total_cost"] - c["self_pay"] - (partial_total - counted) if reject is None else ZERO

    # Inpatient deductible (deductible.py): waivers, the transfer chain, the county rule.
    ip: dict[str, Any] = {
        "episode_id": None,
        "deductible_basis": None,
        "county_counted": None,
        "linked": False,
        "tcm": False,
        "waive": None,
        "county_other": 0,
        "episode_before": ZERO,
        "stay_deductible": ZERO,
    }
    if c["kind"] == "inpatient":
        ip.update(_inpatient(c, rule, level, tier, person, policy, st))
    deductible = ip["stay_deductible"]
    if rule != "inpatient":
        deductible_rule = "none"
    elif ip["waive"] is not None:
        deductible_rule = ip["waive"]
    elif level is not None and level >= policy.county_level and ip["county_other"] > 0:
        deductible_rule = "county_repeat"
    elif ip["episode_before"] > 0:
        deductible_rule = "transfer"
    else:
        deductible_rule = "standard"

    # Ratios or bands, uplifts, floor, limits, fixed amounts, 一般诊疗费, coordination (claims._amounts_sql).
    category = person.category if person is not None else None
    steps = _steps(rule, tier, ip["tcm"], category, policy)
    general_due = (
        min(c["general_fee"], policy.general_fee_amount)
        if policy.general_fee_enabled and rule == "outpatient" and level in policy.general_fee_levels
        else ZERO
    )
    coordination_limit = max(c["total_cost"] - c["other_insurance_paid"], ZERO) if status == "paid" else None
    if rule == "inpatient":
        pooled = max(reimbursable - deductible, ZERO)
    elif rule == "outpatient":
        pooled = reimbursable - general_due
    else:
        pooled = reimbursable
    bands: list[dict[str, Any]] = []
    floor_amount = stay_cap = visit_cap = None
    by_ratio: Decimal | None = None
    ratio: Decimal | None = None
    if rule == "inpatient":
        assert tier is not None
        ratios = [_adjust(r, steps, policy) for _, r in tier.bands]
        if tier.flat is not None:
            by_ratio = min(tier.flat, pooled)
        elif len(tier.bands) == 1:
            ratio = ratios[0]
            by_ratio = round_fen(pooled * ratios[0])
        shift = deductible if policy.bands_on == "pooled" else ZERO
        for k, (lo, _) in enumerate(tier.bands):
            hi = tier.bands[k + 1][0] if k + 1 < len(tier.bands) else None
            top = reimbursable if hi is None else min(reimbursable, hi + shift)
            bands.append(
                {"lo": lo, "hi": hi, "r": ratios[k], "seg": max(ZERO, top - max(lo + shift, deductible))}
            )
        if tier.flat is None and len(tier.bands) > 1:
            by_ratio = round_fen(sum((b["r"] * b["seg"] for b in bands), ZERO))
            ratio = next((b["r"] for b in reversed(bands[1:]) if b["seg"] > 0), ratios[0])
        if policy.floor_ratio is not None:
            base = c["total_cost"] if policy.floor_base == "total" else reimbursable
            floor_amount = min(round_fen(base * policy.floor_ratio), reimbursable)
        stay_cap = tier.stay_cap
    else:
        ratio = _ratio(rule, chronic.ratio if chronic else None, policy)
        if rule in ("outpatient", "chronic", "tcm_fracture"):
            assert ratio is not None
            by_ratio = round_fen(pooled * ratio)
        if rule == "outpatient":
            visit_cap = policy.outpatient_visit_cap
    if rule == "inpatient":
        assert by_ratio is not None
        floored = max(by_ratio, floor_amount if floor_amount is not None else ZERO)
        computed = floored if stay_cap is None else min(floored, stay_cap)
    elif rule == "outpatient":
        assert by_ratio is not None
        computed = by_ratio if visit_cap is None else min(by_ratio, visit_cap)
    elif rule in ("chronic", "tcm_fracture"):
        assert by_ratio is not None
        computed = by_ratio
    elif rule == "delivery":
        computed = min(policy.delivery_amount, pooled)
    elif rule == "cataract":
        computed = min(policy.cataract_amount_per_eye * c["cataract_eyes"], pooled)
    else:
        computed = ZERO
    limit = coordination_limit if coordination_limit is not None else ZERO
    general_fee_paid = min(general_due, limit)
    amount_before_cap = min(computed, limit - general_fee_paid)

    # The cap (封顶线) of the claim's bucket, after what the year has used.
    bucket, cap = _cap(rule, chronic, tier, person, policy)
    cap_before = cap_used = cap_after = None
    # 每人一天只能报销一次 (claims._day_visits), then 门诊每月封顶线 (claims._month_caps), then the year.
    day_visit = None
    day_limited = amount_before_cap
    if policy.outpatient_once_per_day and rule == "outpatient":
        day_visit = int(st.used(f"outpatient_day:{c['end_date'].isoformat()}")) + 1
        day_limited = ZERO if day_visit > 1 else amount_before_cap
    month_cap = month_cap_used = None
    if policy.outpatient_monthly_cap is not None and rule == "outpatient":
        month_cap = policy.outpatient_monthly_cap
        month_used = st.used(f"outpatient_month:{c['end_date'].month}")
        month_cap_used = min(month_cap, month_used + day_limited) - min(month_cap, month_used)
    limited = month_cap_used if month_cap_used is not None else day_limited
    if cap is not None and bucket is not None:
        lo = min(cap, st.used(bucket))
        hi = min(cap, st.used(bucket) + limited)
        cap_before, cap_used, cap_after = cap - lo, hi - lo, cap - hi
    reimbursement = general_fee_paid + (cap_used if cap_used is not None else limited)

    # 大病保险 (claims._major_sql): the year's 个人自付合规费用 after this claim, F(after) − F(before).
    major_oop = major_cum = major_paid = None
    if policy.major_bands is not None and status == "paid" and rule in policy.major_rules:
        major_oop = max(reimbursable - reimbursement, ZERO)
        major_cum = st.used("major_oop") + major_oop
        major_paid = policy.major_amount(major_cum) - policy.major_amount(major_cum - major_oop)

    row: dict[str, Any] = {
        "claim_id": c["claim_id"],
        "person_id": c["person_id"],
        "institution_id": c["institution_id"],
        "kind": c["kind"],
        "start_date": c["start_date"],
        "end_date": c["end_date"],
        "month": c["end_date"].month,
        "status": status,
        "rule": rule,
        "reject_code": reject,
        "level": level,
        "total_cost": c["total_cost"],
        "self_pay": c["self_pay"],
        "partial_total": partial_total,
        "partial_counted": partial_counted,
        "reimbursable": reimbursable,
        "deductible": deductible,
        "deductible_rule": deductible_rule,
        "pooled_cost": pooled,
        "ratio": ratio,
        "general_fee_paid": general_fee_paid,
        "amount_before_cap": amount_before_cap,
        "coordination_limit": coordination_limit,
        "cap_bucket": bucket,
        "cap": cap,
        "cap_before": cap_before,
        "cap_used": cap_used,
        "cap_after": cap_after,
        "reimbursement": reimbursement,
        "other_insurance_paid": c["other_insurance_paid"],
        "desk_paid": None if c["desk_paid"] is None else dec(c["desk_paid"]),
        "drug_cost": c["drug_cost"],
        "catalogue_external_drug_cost": c["catalogue_external_drug_cost"],
        "episode_id": ip["episode_id"],
        "deductible_basis": ip["deductible_basis"],
        "county_counted": ip["county_counted"],
        "day_visit": day_visit,
        "month_cap": month_cap,
        "month_cap_used": month_cap_used,
        "major_oop": major_oop,
        "major_cum": major_cum,
        "major_paid": major_paid,
    }
    context = {
        **c,
        **row,
        "category": person.category if person else None,
        "in_county": institution.in_county if institution else None,
        "linked": ip["linked"],
        "tcm": ip["tcm"],
        "episode_before": ip["episode_before"],
        "general_due": general_due,
        "computed": computed,
        "chronic_name": chronic.name if chronic else None,
        "tier": tier.key if tier is not None else None,
        "place": place,
        "by_ratio": by_ratio,
        "floor_amount": floor_amount,
        "stay_cap": stay_cap,
        "visit_cap": visit_cap,
        "bands": bands,
        "uplifts": [u for u, applied in zip(policy.uplifts, steps[1:], strict=True) if applied],
    }
    row["reason"] = reason(context, policy)
    return row


def _partial_counted(c: Mapping[str, Any], policy: InsurancePolicy) -> Decimal:
    """部分支付项目计入可补偿费用的金额 (三(四)1 / 三(四)3; ``partial_pay.*``)."""
    items = [c[i] for i in PARTIAL_ITEMS]
    total = sum(items, ZERO)
    if policy.partial_reading == "formula_line":
        excluded = (
            c["special_exam"] + c["special_treatment"] + c["blood"]
        ) * policy.formula_items_excluded + c["special_material"] * policy.formula_material_excluded
        return total - round_fen(excluded)
    if total == 0:
        return ZERO
    limit, within, above = policy.partial_threshold, policy.partial_share_within, policy.partial_share_above
    if policy.partial_bands == "banded":
        parts = [within * min(i, limit) + above * max(i - limit, ZERO) for i in items]
    else:
        parts = [within * i if i <= limit else above * i for i in items]
    return round_fen(sum(parts, ZERO))


def _rule(c: Mapping[str, Any], reject: str | None) -> str:
    if reject is not None:
        return "rejected"
    if c["kind"] == "inpatient":
        return "delivery" if c["delivery"] == "normal" else "inpatient"
    if c["cataract_eyes"] > 0:
        return "cataract"
    if c["chronic_code"] is not None:
        return "chronic"
    return "tcm_fracture" if c["tcm_fracture"] == 1 else "outpatient"


def _inpatient(
    c: Mapping[str, Any],
    rule: str,
    level: int | None,
    tier: Tier | None,
    person: DeskPerson | None,
    policy: InsurancePolicy,
    st: DeskState,
) -> dict[str, Any]:
    """004 篇6 三(四)1: waivers, the transfer chain and the county rule for one stay."""
    total, tcm_cost = c["total_cost"], c["tcm_cost"]
    tcm = rule == "inpatient" and total > 0 and tcm_cost >= policy.tcm_share * total
    waive = None
    if rule == "inpatient":
        if person is not None and person.category in policy.waived_categories:
            waive = "category"
        elif policy.tcm_waive_deductible and tcm:
            waive = "tcm"
    county_level = level is not None and level >= policy.county_level
    if policy.repeat_deductible == "first_charged":
        counted = rule == "inpatient" and waive is None and county_level
    else:
        counted = rule in ("inpatient", "delivery") and county_level
    parent = st.stay(c["transfer_of"]) if c["transfer_of"] is not None else None
    episode_id = parent.episode_id if parent is not None else c["claim_id"]
    county_other = st.county_admissions() - st.county_admissions(episode_id)
    prior_deductible = st.episode_deductible(episode_id)
    if rule != "inpatient" or waive is not None or (county_level and county_other > 0):
        basis = ZERO
    else:
        assert tier is not None
        basis = tier.deductible
    return {
        "episode_id": episode_id,
        "linked": parent is not None,
        "tcm": tcm,
        "waive": waive,
        "county_counted": int(counted),
        "deductible_basis": basis,
        "county_other": county_other,
        "episode_before": prior_deductible,
        "stay_deductible": max(prior_deductible, basis) - prior_deductible,
    }


def _steps(
    rule: str, tier: Tier | None, tcm: bool, category: str | None, policy: InsurancePolicy
) -> list[bool]:
    """Which ratio adjustments apply (``trail.ratio_steps``' order): 中医药 提高, then each uplift."""
    if rule != "inpatient":
        return [False] * (1 + len(policy.uplifts))
    key = tier.key if tier is not None else None
    return [tcm, *(u.applies(category, key) for u in policy.uplifts)]


def _adjust(ratio: Decimal, steps: list[bool], policy: InsurancePolicy) -> Decimal:
    for applied, (mode, amount) in zip(steps, ratio_steps(policy), strict=True):
        if applied:
            ratio = adjusted(ratio, mode, amount)
    return ratio


def _ratio(rule: str, chronic_ratio: Decimal | None, policy: InsurancePolicy) -> Decimal | None:
    return {
        "outpatient": policy.outpatient_ratio,
        "chronic": chronic_ratio,
        "tcm_fracture": policy.tcm_fracture_ratio,
    }.get(rule)


def outpatient_cap(person: DeskPerson | None, policy: InsurancePolicy) -> tuple[str, Decimal]:
    """The bucket and yearly cap of the person's ordinary outpatient visits
    (``claims._outpatient_cap_sql``): the household's shared cap (户内共享) under
    ``outpatient.cap_scope = "household"`` for a person with a household id, else their own."""
    household = person.household_id if person is not None else None
    if policy.outpatient_cap_scope != "household" or household is None:
        return "outpatient", policy.outpatient_cap
    assert person is not None
    members = person.household_members if policy.outpatient_household_cap == "per_member" else 1
    return f"{HOUSEHOLD_BUCKET}{household}", policy.outpatient_cap * members


def _cap(
    rule: str, chronic: Any, tier: Tier | None, person: DeskPerson | None, policy: InsurancePolicy
) -> tuple[str | None, Decimal | None]:
    if rule in ("inpatient", "delivery"):
        assert tier is not None
        return policy.tier_cap(tier)
    if rule == "outpatient":
        return outpatient_cap(person, policy)
    if rule == "tcm_fracture":
        return "tcm_fracture", policy.tcm_fracture_cap
    if rule == "chronic":
        return f"chronic:{chronic.code}", chronic.annual_amount
    return None, None
