"""The rule trail (补偿计算说明): each claim's rules and arithmetic, in Chinese, as one SQL expression.

The trail is part of the batch contract (``claims_out.csv`` ``reason``), so it is built in the
same columnar pass as the amounts: ``concat_ws`` over CASE expressions, no Python per claim.
Every number in it is a column of the priced claim; nothing is recomputed here. Texts that
take few values (headers, percentages, category names) are SQL constants chosen by CASE, and
the trail of the frequent ordinary outpatient visit is kept short: two million claims make
hundreds of megabytes of text, and the text is most of the batch's cost.

Shape: ``<rule header>; <reimbursable>; <deductible>; <arithmetic>[; <coordination>][; <cap>];
报销 <amount>`` for a paid claim, ``不予补偿: <reason> (<article>)`` for a rejected one.
"""

from __future__ import annotations

from decimal import Decimal

from shidian.display import percent
from shidian.insurance.model import CATEGORY_LABELS
from shidian.insurance.policy import LEVELS, InsurancePolicy
from shidian.money import round_to

__all__ = ["partial_rule", "percent", "reason_sql"]


def _v(expr: str) -> str:
    return f"CAST({expr} AS VARCHAR)"


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def possible_ratios(policy: InsurancePolicy) -> set[Decimal]:
    """Every ratio a claim can carry under ``policy`` (the pricing CASE's outcomes)."""
    ratios = {policy.outpatient_ratio, policy.tcm_fracture_ratio, *(c.ratio for c in policy.chronic_diseases)}
    for terms in policy.levels.values():
        ratios.add(terms.ratio)
        if policy.tcm_increase_mode == "points":
            ratios.add(min(Decimal(1), terms.ratio + policy.tcm_ratio_increase))
        else:
            ratios.add(min(Decimal(1), round_to(terms.ratio * (1 + policy.tcm_ratio_increase), 4)))
    return ratios


def _pct(policy: InsurancePolicy, expr: str) -> str:
    known = " ".join(
        f"WHEN CAST('{r}' AS DECIMAL(9,4)) THEN {_lit(percent(r))}" for r in sorted(possible_ratios(policy))
    )
    fallback = f"(rtrim(rtrim(CAST(CAST(({expr}) * 100 AS DECIMAL(9,2)) AS VARCHAR), '0'), '.') || '%')"
    return f"CASE {expr} {known} ELSE {fallback} END"


def reason_sql(policy: InsurancePolicy) -> str:
    """The ``reason`` column over the priced claim frame of ``claims.price_claims``."""
    paid = (
        f"concat_ws('; ', {_header(policy)}, {_reimbursable(policy)}, {_deductible(policy)}, {_computation(policy)}, "
        f"{_coordination()}, {_cap()}, concat('报销', {_v('reimbursement')}, '元'))"
    )
    return f"CASE WHEN status = 'rejected' THEN {_rejected(policy)} ELSE {paid} END"


def _rejected(policy: InsurancePolicy) -> str:
    listed = "self_pay + special_exam + special_treatment + blood + special_material + tcm_cost + general_fee"
    levels = "、".join(str(lv) for lv in policy.outpatient_levels)
    return f"""concat('不予补偿: ', CASE reject_code
        WHEN 'not_insured' THEN concat('人员 ', person_id, ' 不在本年度参合名单, 未参合人员医药费用不予补偿 (004 篇6 三(四)5(1))')
        WHEN 'unknown_institution' THEN concat('医疗机构 ', institution_id, ' 不在医疗机构名单中')
        WHEN 'outside_year' THEN concat('结束日期 ', {_v("end_date")}, ' 不在政策年度 {policy.year} 年内')
        WHEN 'items_exceed_total' THEN concat('所列自费、部分支付、中医药及一般诊疗费合计 ',
            {_v(f"({listed})::DECIMAL(18,2)")}, ' 超过医疗总费用 ', {_v("total_cost")})
        WHEN 'not_designated' THEN '在非定点医疗机构就医的费用不予补偿 (004 篇6 三(四)5(2))'
        WHEN 'not_referred' THEN '未按规定办理转诊手续, 自行在县外医疗机构就医的费用不予报销 (004 篇6 三(四)5(2))'
        WHEN 'outpatient_level' THEN '门诊统筹补偿限{levels}级 (乡、村两级) 定点医疗机构 (004 篇6 三(四)2)'
    END)"""


def _header(policy: InsurancePolicy) -> str:
    inpatient = " ".join(f"WHEN {lv} THEN '住院·{lv}级医院'" for lv in LEVELS)
    outpatient = " ".join(f"WHEN {lv} THEN '门诊统筹·{lv}级'" for lv in LEVELS)
    chronic = " ".join(
        f"WHEN {_lit(c.code)} THEN {_lit(f'特殊慢性病门诊·{c.name} (按病种定额补偿, 004 篇6 三(四)3)')}"
        for c in policy.chronic_diseases
    )
    return f"""concat(CASE rule
        WHEN 'outpatient' THEN CASE level {outpatient} END
        WHEN 'inpatient' THEN CASE WHEN delivery = 'pathological'
                                   THEN concat('住院·', level, '级医院·病理产科住院分娩按疾病住院补偿')
                                   ELSE CASE level {inpatient} END END
        WHEN 'delivery' THEN '住院分娩正常产定额补偿 (004 篇6 三(四)1)'
        WHEN 'chronic' THEN CASE chronic_code {chronic} END
        WHEN 'cataract' THEN '白内障门诊人工晶体植入手术定额补偿 (004 篇6 三(四)1)'
        WHEN 'tcm_fracture' THEN '中医门诊骨折非手术治疗 (004 篇6 三(四)1)'
    END, CASE WHEN in_county = 0 AND certificate = 1 AND kind = 'inpatient'
              THEN '·凭外出务工/上学证明在外地住院, 按同等级别医院审核报销 (004 篇6 三(四)1)'
              WHEN in_county = 0 THEN '·县外转诊' END)"""


def partial_rule(policy: InsurancePolicy) -> str:
    """How partial-pay items are counted under ``policy``, for the trail (shared with the desk)."""
    if policy.partial_reading == "formula_line":
        return (
            f"(特检+特治+血液)×{percent(policy.formula_items_excluded)}"
            f"+特材×{percent(policy.formula_material_excluded)}不计入 (004 篇6 三(四)3 公式行)"
        )
    limit = f"{policy.partial_threshold.normalize():f}元"
    within, above = percent(policy.partial_share_within), percent(policy.partial_share_above)
    if policy.partial_bands == "banded":
        return f"每项{limit}以内按{within}、超出部分按{above}计入 (004 篇6 三(四)1)"
    return f"每项{limit}以内按{within}、超过{limit}的按{above}计入 (004 篇6 三(四)1)"


def _reimbursable(policy: InsurancePolicy) -> str:
    return f"""CASE WHEN self_pay = 0 AND partial_total = 0 THEN concat('可补偿费用', {_v("reimbursable")})
        ELSE concat('可补偿费用 = 总费用', {_v("total_cost")},
            CASE WHEN self_pay > 0 THEN concat(' − 自费', {_v("self_pay")}) END,
            CASE WHEN partial_total > 0 THEN concat(' − 部分支付项目不计入', {_v("(partial_total - partial_counted)")},
                ' (部分支付项目', {_v("partial_total")}, {_lit(f", {partial_rule(policy)}, 计入")},
                {_v("partial_counted")}, ')') END,
            ' = ', {_v("reimbursable")}) END"""


def _deductible(policy: InsurancePolicy) -> str:
    labels = " ".join(
        f"WHEN {_lit(k)} THEN {_lit(f'免起付线: {v}凭有效证件报销 (004 篇6 三(四)1)')}"
        for k, v in CATEGORY_LABELS.items()
    )
    standard = " ".join(
        f"WHEN {lv} THEN '起付线{t.deductible} ({lv}级医院)'" for lv, t in policy.levels.items()
    )
    return f"""CASE WHEN rule <> 'inpatient' THEN '不设起付线' ELSE concat(CASE deductible_rule
        WHEN 'category' THEN CASE category {labels} END
        WHEN 'tcm' THEN concat('免起付线: 中医药费用', {_v("tcm_cost")}, '占总费用{percent(policy.tcm_share)}以上 (004 篇6 三(四)1)')
        WHEN 'county_repeat' THEN '不计起付线: 本年度已因其他疾病在县级以上医院住院计算起付线, 只计首次 (004 篇6 三(四)1)'
        WHEN 'transfer' THEN concat('同一疾病连续转诊只计最高级别医院一次起付线 (004 篇6 三(四)1): 本院', level,
            '级起付线', {_v("deductible_basis")}, ', 此前已计', {_v("episode_before")}, ', 本次计', {_v("deductible")})
        WHEN 'standard' THEN CASE level {standard} END
    END, CASE WHEN transfer_of IS NOT NULL AND NOT linked
              THEN concat(' (转诊来源', transfer_of, '不是本人本年度此前的住院, 按新一次住院计)') END) END"""


def _computation(policy: InsurancePolicy) -> str:
    increase = (
        percent(policy.tcm_ratio_increase)
        if policy.tcm_increase_mode == "relative"
        else (f"{percent(policy.tcm_ratio_increase).rstrip('%')}个百分点")
    )
    boost = f"' (中医药费用占总费用{percent(policy.tcm_share)}以上, 补偿比例提高{increase})'"
    times = f"concat({_v('pooled_cost')}, '×', {_pct(policy, 'ratio')}, '=', {_v('computed')})"
    return f"""CASE rule
        WHEN 'inpatient' THEN concat('统筹费用', {times}, CASE WHEN tcm AND {policy.tcm_ratio_increase} > 0 THEN {boost} END)
        WHEN 'outpatient' THEN concat(CASE WHEN general_due > 0
                                           THEN concat('一般诊疗费', {_v("general_due")}, '基金支付; ') END, {times})
        WHEN 'chronic' THEN {times}
        WHEN 'tcm_fracture' THEN {times}
        WHEN 'delivery' THEN concat('每次定额{policy.delivery_amount}',
            CASE WHEN computed < CAST('{policy.delivery_amount}' AS DECIMAL(18,2))
                 THEN concat(', 以可补偿费用为限: ', {_v("computed")}) END)
        WHEN 'cataract' THEN concat('每例患眼{policy.cataract_amount_per_eye}×', cataract_eyes, '眼',
            CASE WHEN computed < CAST('{policy.cataract_amount_per_eye}' AS DECIMAL(18,2)) * cataract_eyes
                 THEN concat(', 以可补偿费用为限: ', {_v("computed")})
                 ELSE concat('=', {_v("computed")}) END)
    END"""


def _coordination() -> str:
    return f"""CASE WHEN other_insurance_paid > 0 THEN concat('已由其他保险支付', {_v("other_insurance_paid")},
        ', 合计补偿不得超出实际费用 (004 篇6 三(四)1): 本次至多', {_v("coordination_limit")},
        CASE WHEN amount_before_cap + general_fee_paid < computed + general_due
             THEN concat(', 按限额计', {_v("(amount_before_cap + general_fee_paid)")}) END) END"""


def _cap() -> str:
    return f"""CASE WHEN cap IS NOT NULL THEN concat(
        CASE rule WHEN 'chronic' THEN '病种年度定额' WHEN 'outpatient' THEN '门诊统筹封顶线'
                  WHEN 'tcm_fracture' THEN '中医门诊骨折封顶线' ELSE '住院补偿封顶线' END,
        {_v("cap")}, '余额', {_v("cap_before")}, '→', {_v("cap_after")},
        CASE WHEN cap_used < amount_before_cap
             THEN concat(', 超出部分', {_v("(amount_before_cap - cap_used)")}, '不予补偿') END) END"""
