"""The discharge desk's rule trail (补偿计算说明): ``trail.py``'s SQL texts, for one priced claim."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shidian.display import percent
from shidian.insurance.desk_claim import LISTED_ITEMS
from shidian.insurance.desk_claim import fen_text as _s
from shidian.insurance.model import CATEGORY_LABELS, HOUSEHOLD_BUCKET
from shidian.insurance.policy import InsurancePolicy, Tier
from shidian.insurance.trail import (
    BANDS_ON,
    floor_note,
    major_header,
    partial_rule,
    place_text,
    tier_header,
    uplift_note,
)
from shidian.money import ZERO


def reason(r: Mapping[str, Any], policy: InsurancePolicy) -> str:
    if r["status"] == "rejected":
        return "不予补偿: " + _rejected(r, policy)
    parts = [
        _header(r, policy),
        _reimbursable_text(r, policy),
        _deductible_text(r, policy),
        _computation(r, policy),
        _coordination(r),
        _day_text(r),
        _month_text(r),
        _cap_text(r, policy),
        f"报销{_s(r['reimbursement'])}元",
    ]
    if r["major_oop"] is not None:
        parts.append(
            f"{major_header(policy)}: 本次个人自付合规费用{_s(r['major_oop'])}元, 年度累计{_s(r['major_cum'])}元, "
            f"大病保险支付{_s(r['major_paid'])}元"
        )
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
    if code == "no_tier":
        return f"本政策没有适用于{r['level']}级、{place_text(r['place'])}医疗机构的住院档次 (inpatient.tiers)"
    levels = "、".join(str(lv) for lv in policy.outpatient_levels)
    return f"门诊统筹补偿限{levels}级 (乡、村两级) 定点医疗机构 (004 篇6 三(四)2)"


def _tier(r: Mapping[str, Any], policy: InsurancePolicy) -> Tier:
    return next(t for t in policy.terms if t.key == r["tier"])


def _header(r: Mapping[str, Any], policy: InsurancePolicy) -> str:
    rule, level = r["rule"], r["level"]
    if rule == "outpatient":
        head = f"门诊统筹·{level}级"
    elif rule == "inpatient":
        head = f"住院·{tier_header(_tier(r, policy))}" + (
            "·病理产科住院分娩按疾病住院补偿" if r["delivery"] == "pathological" else ""
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
        tier = _tier(r, policy)
        text = f"起付线{tier.deductible} ({tier.name})"
    if r["transfer_of"] is not None and not r["linked"]:
        text += f" (转诊来源{r['transfer_of']}不是本人本年度此前的住院, 按新一次住院计)"
    return text


def _computation(r: Mapping[str, Any], policy: InsurancePolicy) -> str | None:
    rule = r["rule"]
    times = (
        f"{_s(r['pooled_cost'])}×{percent(r['ratio'])}={_s(r['by_ratio'])}" if r["ratio"] is not None else ""
    )
    if rule == "inpatient" and r["ratio"] is None:  # a special category's fixed amount
        flat = _tier(r, policy).flat
        assert flat is not None
        text = f"统筹费用{_s(r['pooled_cost'])}; 每次定额{_s(flat)}"
        if r["by_ratio"] < flat:
            text += f", 以统筹费用为限: {_s(r['by_ratio'])}"
        return text + _limits(r, policy)
    if rule == "inpatient":
        text = "统筹费用" + (_bands_text(r, policy) if len(r["bands"]) > 1 else times)
        if r["tcm"] and policy.tcm_ratio_increase > 0:
            increase = (
                percent(policy.tcm_ratio_increase)
                if policy.tcm_increase_mode == "relative"
                else f"{percent(policy.tcm_ratio_increase).rstrip('%')}个百分点"
            )
            text += f" (中医药费用占总费用{percent(policy.tcm_share)}以上, 补偿比例提高{increase})"
        text += "".join(uplift_note(u) for u in r["uplifts"])
        return text + _limits(r, policy)
    if rule == "outpatient":
        fee = f"一般诊疗费{_s(r['general_due'])}基金支付; " if r["general_due"] > 0 else ""
        visit = (
            f"; 每次门诊补偿限{_s(r['visit_cap'])}"
            if r["visit_cap"] is not None and r["computed"] < r["by_ratio"]
            else ""
        )
        return fee + times + visit
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


def _limits(r: Mapping[str, Any], policy: InsurancePolicy) -> str:
    """The floor and the stay cap of an inpatient stay, when they changed its amount."""
    text = ""
    if r["floor_amount"] is not None and r["floor_amount"] > r["by_ratio"]:
        text += f"; {floor_note(policy)}{_s(r['floor_amount'])}"
    floored = max(r["by_ratio"], r["floor_amount"] if r["floor_amount"] is not None else ZERO)
    if r["stay_cap"] is not None and r["computed"] < floored:
        text += f"; 每次住院补偿限{_s(r['stay_cap'])}"
    return text


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


def _bands_text(r: Mapping[str, Any], policy: InsurancePolicy) -> str:
    """``trail._bands_text`` for one claim."""
    parts = [
        _s(b["lo"])
        + ("元以上段" if b["hi"] is None else f"-{_s(b['hi'])}元段")
        + f"{_s(b['seg'])}×{percent(b['r'])}"
        for b in r["bands"]
        if b["seg"] > 0
    ]
    return f"{_s(r['pooled_cost'])}, {BANDS_ON[policy.bands_on]}: {' + '.join(parts) or '0'} = {_s(r['by_ratio'])}"


def _cap_text(r: Mapping[str, Any], policy: InsurancePolicy) -> str | None:
    if r["cap"] is None:
        return None
    if r["rule"] in ("inpatient", "delivery") and policy.cap_scope == "tier":
        inpatient = f"{_tier(r, policy).name}住院补偿封顶线"
    else:
        inpatient = "住院补偿封顶线"
    label = {
        "chronic": "病种年度定额",
        "outpatient": "门诊统筹家庭封顶线 (户内共享)"
        if (r["cap_bucket"] or "").startswith(HOUSEHOLD_BUCKET)
        else "门诊统筹封顶线",
        "tcm_fracture": "中医门诊骨折封顶线",
    }.get(r["rule"], inpatient)
    text = f"{label}{_s(r['cap'])}余额{_s(r['cap_before'])}→{_s(r['cap_after'])}"
    limited = r["month_cap_used"] if r["month_cap_used"] is not None else _day_limited(r)
    if r["cap_used"] < limited:
        text += f", 超出部分{_s(limited - r['cap_used'])}不予补偿"
    return text


def _day_limited(r: Mapping[str, Any]) -> Any:
    return ZERO if (r["day_visit"] or 1) > 1 else r["amount_before_cap"]


def _day_text(r: Mapping[str, Any]) -> str | None:
    if (r["day_visit"] or 1) <= 1:
        return None
    return f"每人一天只能报销一次: 本日第{r['day_visit']}次门诊, 本次{_s(r['amount_before_cap'])}不予补偿"


def _month_text(r: Mapping[str, Any]) -> str | None:
    if r["month_cap"] is None:
        return None
    text = f"门诊每月封顶线{_s(r['month_cap'])}: 本次计入{_s(r['month_cap_used'])}"
    if r["month_cap_used"] < _day_limited(r):
        text += f", 超出部分{_s(_day_limited(r) - r['month_cap_used'])}不予补偿"
    return text
