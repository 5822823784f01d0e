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

A change to a rule must be made in both ``claims.py``/``deductible.py``/``trail.py`` and here;
the property test fails until they agree. Section numbers are 004 篇6's (see docs/insurance.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import pyarrow as pa

from shidian.display import percent
from shidian.insurance.model import CATEGORY_LABELS, CLAIM_DEFAULTS, EPISODES_SCHEMA, USAGE_SCHEMA, PriorState
from shidian.insurance.policy import ChronicDisease, InsurancePolicy
from shidian.insurance.trail import partial_rule
from shidian.money import FEN, ZERO, round_fen, round_to
from shidian.problems import Problem, Source

__all__ = [
    "DeskInstitution",
    "DeskPerson",
    "DeskState",
    "DeskStay",
    "claim_problems",
    "price_claim",
    "refusal",
]

PARTIAL_ITEMS = ("special_exam", "special_treatment", "blood", "special_material")
LISTED_ITEMS = ("self_pay", *PARTIAL_ITEMS, "tcm_cost", "general_fee")


@dataclass(frozen=True)
class DeskPerson:
    """What pricing needs of an insured person: category (人员类别) and insured this year."""

    category: str
    insured: int = 1


@dataclass(frozen=True)
class DeskInstitution:
    """What pricing needs of an institution: level, designated (定点), in the county."""

    level: int
    designated: int = 1
    in_county: int = 1


@dataclass(frozen=True)
class DeskStay:
    """One inpatient claim already priced this year (any status): its transfer chain (episode),
    its own deductible ``D`` (``deductible_basis``) and whether it counted for the county rule."""

    claim_id: str
    episode_id: str
    deductible_basis: Decimal
    county_counted: int


@dataclass(frozen=True)
class DeskState:
    """One person's year at the desk (年度内既往状态): cap usage by bucket and inpatient stays.

    The scalar form of ``model.PriorState`` for one person: ``to_prior`` converts it, and
    ``after`` is ``claims.state_after`` for one priced row.
    """

    usage: Mapping[str, Decimal] = field(default_factory=dict)
    stays: tuple[DeskStay, ...] = ()

    def used(self, bucket: str) -> Decimal:
        return self.usage.get(bucket, ZERO)

    def stay(self, claim_id: str) -> DeskStay | None:
        return next((s for s in self.stays if s.claim_id == claim_id), None)

    def episode_deductible(self, episode_id: str) -> Decimal:
        """What the episode (transfer chain) has charged so far: the highest ``D`` of its stays."""
        return max((s.deductible_basis for s in self.stays if s.episode_id == episode_id), default=ZERO)

    def county_admissions(self, episode_id: str | None = None) -> int:
        """Stays that counted for the county rule, in ``episode_id`` (or all of them)."""
        return sum(s.county_counted for s in self.stays if episode_id is None or s.episode_id == episode_id)

    def after(self, priced: Mapping[str, Any]) -> DeskState:
        """The state after one priced row (``price_claim``'s or ``price_claims``'s)."""
        usage = dict(self.usage)
        if priced["cap_bucket"] is not None:
            usage[priced["cap_bucket"]] = usage.get(priced["cap_bucket"], ZERO) + priced["cap_used"]
        stays = self.stays
        if priced["kind"] == "inpatient":
            stays = (
                *stays,
                DeskStay(
                    priced["claim_id"],
                    priced["episode_id"],
                    Decimal(priced["deductible_basis"]),
                    int(priced["county_counted"]),
                ),
            )
        return replace(self, usage=usage, stays=stays)

    @classmethod
    def from_priced(cls, rows: list[Mapping[str, Any]]) -> DeskState:
        """The state the priced ``rows`` leave, applied in the given order (a 冲正 rebuilds the
        state from the claims that remain)."""
        state = cls()
        for row in rows:
            state = state.after(row)
        return state

    def to_prior(self, person_id: str) -> PriorState:
        """This state as the columnar ``PriorState`` of ``person_id``."""
        usage = [{"person_id": person_id, "bucket": b, "used": u} for b, u in sorted(self.usage.items())]
        episodes = [
            {
                "claim_id": s.claim_id,
                "person_id": person_id,
                "episode_id": s.episode_id,
                "episode_deductible": self.episode_deductible(s.episode_id),
                "episode_county_admissions": self.county_admissions(s.episode_id),
            }
            for s in sorted(self.stays, key=lambda s: s.claim_id)
        ]
        return PriorState(
            pa.Table.from_pylist(usage, schema=USAGE_SCHEMA),
            pa.Table.from_pylist(episodes, schema=EPISODES_SCHEMA),
        )


def _dec(value: object) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _s(value: Decimal) -> str:
    """A money amount as DuckDB prints a DECIMAL(…, 2): ``1234.50``."""
    return f"{value.quantize(FEN):f}"


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


def _reject_code(
    c: Mapping[str, Any], person: DeskPerson | None, inst: DeskInstitution | None, policy: InsurancePolicy
) -> str | None:
    """Why the fund pays nothing (三(四)5 and the input rules), first match; None when it pays."""
    out_of_area = (
        c["kind"] == "inpatient" and c["certificate"] == 1 and inst is not None and inst.in_county == 0
    )
    if person is None or not person.insured:
        return "not_insured"
    if inst is None:
        return "unknown_institution"
    if c["end_date"].year != policy.year:
        return "outside_year"
    if sum((c[i] for i in LISTED_ITEMS), ZERO) > c["total_cost"]:
        return "items_exceed_total"
    if inst.designated == 0 and not out_of_area:
        return "not_designated"
    if inst.in_county == 0 and not out_of_area and c["referral"] == 0 and c["transfer_of"] is None:
        return "not_referred"
    if (
        c["kind"] == "outpatient"
        and c["cataract_eyes"] == 0
        and c["chronic_code"] is None
        and c["tcm_fracture"] == 0
        and inst.level not in policy.outpatient_levels
    ):
        return "outpatient_level"
    return None


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


def _normalised(
    claim: Mapping[str, Any], policy: InsurancePolicy
) -> tuple[dict[str, Any], ChronicDisease | None]:
    """The claim with its defaults, money as ``Decimal``, and its chronic disease (or None)."""
    c: dict[str, Any] = {**CLAIM_DEFAULTS, **claim}
    for key in (
        "total_cost",
        *LISTED_ITEMS,
        "other_insurance_paid",
        "drug_cost",
        "catalogue_external_drug_cost",
    ):
        c[key] = _dec(c[key])
    chronic = (
        next((d for d in policy.chronic_diseases if d.code == c["chronic_disease"]), None)
        if c["kind"] == "outpatient"
        else None
    )
    c["chronic_code"] = chronic.code if chronic else None
    return c, chronic


def refusal(
    claim: Mapping[str, Any],
    person: DeskPerson | None,
    institution: DeskInstitution | None,
    policy: InsurancePolicy,
) -> tuple[str, str] | None:
    """Why the fund pays nothing for ``claim`` whatever the person's year (004 篇6 三(四)5
    合作医疗基金不予补偿的医疗费用, and the input rules): ``(reject_code, reason)``, the same
    code and trail ``price_claim`` gives the rejected row; None when it pays.

    Rejection never depends on the state (caps and deductibles only change what a paid claim
    gets), so the desk refuses with this before it locks the person's year."""
    c, _ = _normalised(claim, policy)
    code = _reject_code(c, person, institution, policy)
    if code is None:
        return None
    return code, _reason({**c, "status": "rejected", "reject_code": code}, policy)


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
    st = state or DeskState()
    c, chronic = _normalised(claim, policy)
    reject = _reject_code(c, person, institution, policy)
    status = "paid" if reject is None else "rejected"
    rule = _rule(c, reject)
    level = institution.level if institution is not None else None
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
        ip.update(_inpatient(c, rule, level, person, policy, st))
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

    # Ratios, fixed amounts, 一般诊疗费, coordination (claims._amounts_sql).
    ratio = _ratio(rule, level, ip["tcm"], chronic.ratio if chronic else None, policy)
    general_due = (
        min(c["general_fee"], policy.general_fee_amount)
        if rule == "outpatient" and level in policy.general_fee_levels
        else ZERO
    )
    coordination_limit = max(c["total_cost"] - c["other_insurance_paid"], ZERO) if status == "paid" else None
    if rule == "inpatient":
        pooled = max(reimbursable - deductible, ZERO)
    elif rule == "outpatient":
        pooled = reimbursable - general_due
    else:
        pooled = reimbursable
    if rule in ("inpatient", "outpatient", "chronic", "tcm_fracture"):
        assert ratio is not None
        computed = round_fen(pooled * ratio)
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
    bucket, cap = _cap(rule, chronic, policy)
    cap_before = cap_used = cap_after = None
    if cap is not None and bucket is not None:
        lo = min(cap, st.used(bucket))
        hi = min(cap, st.used(bucket) + amount_before_cap)
        cap_before, cap_used, cap_after = cap - lo, hi - lo, cap - hi
    reimbursement = general_fee_paid + (cap_used if cap_used is not None else amount_before_cap)

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
        "desk_paid": None if c["desk_paid"] is None else _dec(c["desk_paid"]),
        "drug_cost": c["drug_cost"],
        "catalogue_external_drug_cost": c["catalogue_external_drug_cost"],
        "episode_id": ip["episode_id"],
        "deductible_basis": ip["deductible_basis"],
        "county_counted": ip["county_counted"],
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
    }
    row["reason"] = _reason(context, policy)
    return row


def _inpatient(
    c: Mapping[str, Any],
    rule: str,
    level: int | None,
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
        assert level is not None
        basis = policy.levels[level].deductible
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


def _ratio(
    rule: str, level: int | None, tcm: bool, chronic_ratio: Decimal | None, policy: InsurancePolicy
) -> Decimal | None:
    if rule == "inpatient":
        assert level is not None
        base = policy.levels[level].ratio
        if not tcm:
            return base
        if policy.tcm_increase_mode == "points":
            return min(Decimal(1), base + policy.tcm_ratio_increase)
        return min(Decimal(1), round_to(base * (1 + policy.tcm_ratio_increase), 4))
    return {
        "outpatient": policy.outpatient_ratio,
        "chronic": chronic_ratio,
        "tcm_fracture": policy.tcm_fracture_ratio,
    }.get(rule)


def _cap(rule: str, chronic: Any, policy: InsurancePolicy) -> tuple[str | None, Decimal | None]:
    if rule in ("inpatient", "delivery"):
        return "inpatient", policy.inpatient_cap
    if rule == "outpatient":
        return "outpatient", policy.outpatient_cap
    if rule == "tcm_fracture":
        return "tcm_fracture", policy.tcm_fracture_cap
    if rule == "chronic":
        return f"chronic:{chronic.code}", chronic.annual_amount
    return None, None


# ---- the rule trail (trail.py's SQL, the same texts) ---------------------------------------------


def _reason(r: Mapping[str, Any], policy: InsurancePolicy) -> str:
    if r["status"] == "rejected":
        return "不予补偿: " + _rejected(r, policy)
    parts = [
        _header(r),
        _reimbursable_text(r, policy),
        _deductible_text(r, policy),
        _computation(r, policy),
        _coordination(r),
        _cap_text(r),
        f"报销{_s(r['reimbursement'])}元",
    ]
    return "; ".join(p for p in parts if p is not None)


def _rejected(r: Mapping[str, Any], policy: InsurancePolicy) -> str:
    code = r["reject_code"]
    if code == "not_insured":
        return f"人员 {r['person_id']} 不在本年度参合名单, 未参合人员医药费用不予补偿 (004 篇6 三(四)5(1))"
    if code == "unknown_institution":
        return f"医疗机构 {r['institution_id']} 不在医疗机构名单中"
    if code == "outside_year":
        return f"结束日期 {r['end_date'].isoformat()} 不在政策年度 {policy.year} 年内"
    if code == "items_exceed_total":
        listed = sum((r[i] for i in LISTED_ITEMS), ZERO)
        return f"所列自费、部分支付、中医药及一般诊疗费合计 {_s(listed)} 超过医疗总费用 {_s(r['total_cost'])}"
    if code == "not_designated":
        return "在非定点医疗机构就医的费用不予补偿 (004 篇6 三(四)5(2))"
    if code == "not_referred":
        return "未按规定办理转诊手续, 自行在县外医疗机构就医的费用不予报销 (004 篇6 三(四)5(2))"
    levels = "、".join(str(lv) for lv in policy.outpatient_levels)
    return f"门诊统筹补偿限{levels}级 (乡、村两级) 定点医疗机构 (004 篇6 三(四)2)"


def _header(r: Mapping[str, Any]) -> str:
    rule, level = r["rule"], r["level"]
    if rule == "outpatient":
        head = f"门诊统筹·{level}级"
    elif rule == "inpatient":
        head = (
            f"住院·{level}级医院·病理产科住院分娩按疾病住院补偿"
            if r["delivery"] == "pathological"
            else f"住院·{level}级医院"
        )
    elif rule == "delivery":
        head = "住院分娩正常产定额补偿 (004 篇6 三(四)1)"
    elif rule == "chronic":
        head = f"特殊慢性病门诊·{r['chronic_name']} (按病种定额补偿, 004 篇6 三(四)3)"
    elif rule == "cataract":
        head = "白内障门诊人工晶体植入手术定额补偿 (004 篇6 三(四)1)"
    else:
        head = "中医门诊骨折非手术治疗 (004 篇6 三(四)1)"
    if r["in_county"] == 0 and r["certificate"] == 1 and r["kind"] == "inpatient":
        head += "·凭外出务工/上学证明在外地住院, 按同等级别医院审核报销 (004 篇6 三(四)1)"
    elif r["in_county"] == 0:
        head += "·县外转诊"
    return head


def _reimbursable_text(r: Mapping[str, Any], policy: InsurancePolicy) -> str:
    if r["self_pay"] == 0 and r["partial_total"] == 0:
        return f"可补偿费用{_s(r['reimbursable'])}"
    text = f"可补偿费用 = 总费用{_s(r['total_cost'])}"
    if r["self_pay"] > 0:
        text += f" − 自费{_s(r['self_pay'])}"
    if r["partial_total"] > 0:
        text += (
            f" − 部分支付项目不计入{_s(r['partial_total'] - r['partial_counted'])}"
            f" (部分支付项目{_s(r['partial_total'])}, {partial_rule(policy)}, 计入{_s(r['partial_counted'])})"
        )
    return text + f" = {_s(r['reimbursable'])}"


def _deductible_text(r: Mapping[str, Any], policy: InsurancePolicy) -> str:
    if r["rule"] != "inpatient":
        return "不设起付线"
    rule, level = r["deductible_rule"], r["level"]
    if rule == "category":
        text = f"免起付线: {CATEGORY_LABELS[r['category']]}凭有效证件报销 (004 篇6 三(四)1)"
    elif rule == "tcm":
        text = f"免起付线: 中医药费用{_s(r['tcm_cost'])}占总费用{percent(policy.tcm_share)}以上 (004 篇6 三(四)1)"
    elif rule == "county_repeat":
        text = "不计起付线: 本年度已因其他疾病在县级以上医院住院计算起付线, 只计首次 (004 篇6 三(四)1)"
    elif rule == "transfer":
        text = (
            f"同一疾病连续转诊只计最高级别医院一次起付线 (004 篇6 三(四)1): 本院{level}级起付线"
            f"{_s(r['deductible_basis'])}, 此前已计{_s(r['episode_before'])}, 本次计{_s(r['deductible'])}"
        )
    else:
        text = f"起付线{policy.levels[level].deductible} ({level}级医院)"
    if r["transfer_of"] is not None and not r["linked"]:
        text += f" (转诊来源{r['transfer_of']}不是本人本年度此前的住院, 按新一次住院计)"
    return text


def _computation(r: Mapping[str, Any], policy: InsurancePolicy) -> str | None:
    rule = r["rule"]
    times = (
        f"{_s(r['pooled_cost'])}×{percent(r['ratio'])}={_s(r['computed'])}" if r["ratio"] is not None else ""
    )
    if rule == "inpatient":
        text = "统筹费用" + times
        if r["tcm"] and policy.tcm_ratio_increase > 0:
            increase = (
                percent(policy.tcm_ratio_increase)
                if policy.tcm_increase_mode == "relative"
                else f"{percent(policy.tcm_ratio_increase).rstrip('%')}个百分点"
            )
            text += f" (中医药费用占总费用{percent(policy.tcm_share)}以上, 补偿比例提高{increase})"
        return text
    if rule == "outpatient":
        fee = f"一般诊疗费{_s(r['general_due'])}基金支付; " if r["general_due"] > 0 else ""
        return fee + times
    if rule in ("chronic", "tcm_fracture"):
        return times
    if rule == "delivery":
        text = f"每次定额{policy.delivery_amount}"
        if r["computed"] < policy.delivery_amount:
            text += f", 以可补偿费用为限: {_s(r['computed'])}"
        return text
    if rule == "cataract":
        amount = policy.cataract_amount_per_eye
        text = f"每例患眼{amount}×{r['cataract_eyes']}眼"
        if r["computed"] < amount * r["cataract_eyes"]:
            return text + f", 以可补偿费用为限: {_s(r['computed'])}"
        return text + f"={_s(r['computed'])}"
    return None


def _coordination(r: Mapping[str, Any]) -> str | None:
    if not r["other_insurance_paid"] > 0:
        return None
    text = (
        f"已由其他保险支付{_s(r['other_insurance_paid'])}, 合计补偿不得超出实际费用 (004 篇6 三(四)1): "
        f"本次至多{_s(r['coordination_limit'])}"
    )
    if r["amount_before_cap"] + r["general_fee_paid"] < r["computed"] + r["general_due"]:
        text += f", 按限额计{_s(r['amount_before_cap'] + r['general_fee_paid'])}"
    return text


def _cap_text(r: Mapping[str, Any]) -> str | None:
    if r["cap"] is None:
        return None
    label = {
        "chronic": "病种年度定额",
        "outpatient": "门诊统筹封顶线",
        "tcm_fracture": "中医门诊骨折封顶线",
    }.get(r["rule"], "住院补偿封顶线")
    text = f"{label}{_s(r['cap'])}余额{_s(r['cap_before'])}→{_s(r['cap_after'])}"
    if r["cap_used"] < r["amount_before_cap"]:
        text += f", 超出部分{_s(r['amount_before_cap'] - r['cap_used'])}不予补偿"
    return text


# ---- input checks of one claim (validate.py's claim checks, scalar) -----------------------------


def claim_problems(
    claim: Mapping[str, Any], policy: InsurancePolicy, source: str = "<claim>"
) -> list[Problem]:
    """The input problems of one desk claim that its cell types cannot catch (the claim row
    checks of ``validate.validate_inputs``, same codes), naming the field."""
    c: dict[str, Any] = {**CLAIM_DEFAULTS, **claim}
    found: list[tuple[str, str, str]] = []
    start, end = c["start_date"], c["end_date"]
    if isinstance(start, dt.date) and isinstance(end, dt.date) and start > end:
        found.append(
            ("dates_reversed", "start_date", f"开始日期 {start} 晚于结束日期 {end} (start after end)")
        )
    if c["delivery"] is not None and c["kind"] == "outpatient":
        found.append(
            (
                "delivery_outpatient",
                "delivery",
                f"门诊就诊不能有住院分娩类型 {c['delivery']} (delivery on an outpatient claim)",
            )
        )
    if c["kind"] == "inpatient" and (c["chronic_disease"] is not None or c["tcm_fracture"] == 1):
        found.append(
            (
                "outpatient_only",
                "chronic_disease",
                "特殊慢性病与中医门诊骨折治疗只适用于门诊 (outpatient-only item on an inpatient claim)",
            )
        )
    codes = {d.code for d in policy.chronic_diseases}
    if c["chronic_disease"] is not None and c["kind"] == "outpatient" and c["chronic_disease"] not in codes:
        found.append(
            (
                "unknown_chronic_disease",
                "chronic_disease",
                f"特殊慢性病编码 {c['chronic_disease']} 不在政策的病种表中 (unknown chronic disease)",
            )
        )
    types = int(c["cataract_eyes"] > 0) + int(c["chronic_disease"] is not None) + int(c["tcm_fracture"] == 1)
    if c["kind"] == "outpatient" and types > 1:
        found.append(
            (
                "conflicting_types",
                "cataract_eyes",
                "一次门诊只能是白内障手术、特殊慢性病、中医骨折治疗之一 (conflicting outpatient types)",
            )
        )
    total = _dec(c["total_cost"])
    if _dec(c["other_insurance_paid"]) > total:
        found.append(
            (
                "other_above_total",
                "other_insurance_paid",
                f"其他保险已付 {c['other_insurance_paid']} 大于医疗总费用 {total}",
            )
        )
    if _dec(c["drug_cost"]) > total:
        found.append(("drugs_above_total", "drug_cost", f"药品费用 {c['drug_cost']} 大于医疗总费用 {total}"))
    if _dec(c["catalogue_external_drug_cost"]) > _dec(c["drug_cost"]):
        found.append(
            (
                "external_above_drugs",
                "catalogue_external_drug_cost",
                f"目录外药品费用 {c['catalogue_external_drug_cost']} 大于药品费用 {c['drug_cost']}",
            )
        )
    if c["transfer_of"] is not None and c["kind"] != "inpatient":
        found.append(
            (
                "transfer_not_inpatient",
                "transfer_of",
                f"转诊只能在住院之间: {c['claim_id']} 或其来源 {c['transfer_of']} 不是住院 (transfers link inpatient stays)",
            )
        )
    return [
        Problem(f"insurance.claim.{code}", message, Source(source, column=column))
        for code, column, message in found
    ]
