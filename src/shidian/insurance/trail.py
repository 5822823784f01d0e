"""The rule trail (补偿计算说明): each claim's rules and arithmetic, in Chinese, as one SQL expression.

The trail is part of the batch contract (``claims_out.csv`` ``reason``), so it is built in the
same columnar pass as the amounts: ``concat_ws`` over CASE expressions, no Python per claim.
Every number in it is a column of the priced claim; nothing is recomputed here. Texts that
take few values (headers, percentages, category names) are SQL constants chosen by CASE, and
the trail of the frequent ordinary outpatient visit is kept short: two million claims make
hundreds of megabytes of text, and the text is most of the batch's cost. The paid trail is one
expression per rule (``CASE rule WHEN …``), each with what cannot apply to that rule or under
the policy left out when the SQL is written (an outpatient visit has no deductible rule to
choose; a policy without the once-a-day rule has no such part): a third less CPU than one
expression branching on the rule inside every part, the same text.

Shape: ``<rule header>; <reimbursable>; <deductible>; <arithmetic>[; <coordination>][; <cap>];
报销 <amount>`` for a paid claim, ``不予补偿: <reason> (<article>)`` for a rejected one.
"""

from __future__ import annotations

from decimal import Decimal

from shidian.display import percent
from shidian.insurance.model import CATEGORY_LABELS, HOUSEHOLD_BUCKET, PLACE_LABELS
from shidian.insurance.policy import LEVELS, InsurancePolicy, Tier, Uplift
from shidian.money import Dialect, round_to

__all__ = [
    "floor_note",
    "major_header",
    "major_reason_sql",
    "partial_rule",
    "percent",
    "reason_sql",
    "tier_header",
    "uplift_note",
]


#: An ordinary visit's amount after the once-a-day rule (``claims._DAY_LIMITED``).
_LIMITED = "(CASE WHEN coalesce(day_visit, 1) > 1 THEN 0 ELSE amount_before_cap END)"

#: The rules of a paid claim (``claims._base_sql``), the most frequent first.
PAID_RULES = ("outpatient", "chronic", "inpatient", "delivery", "tcm_fracture", "cataract")


def _limited(policy: InsurancePolicy) -> str:
    """``_LIMITED`` under ``policy``: without the once-a-day rule ``day_visit`` is always null
    (``claims._price``), so the amount is ``amount_before_cap``."""
    return _LIMITED if policy.outpatient_once_per_day else "amount_before_cap"


def _month_limited(policy: InsurancePolicy) -> str:
    """``coalesce(month_cap_used, _LIMITED)`` under ``policy``: without a monthly limit
    ``month_cap_used`` is always null."""
    if policy.outpatient_monthly_cap is None:
        return _limited(policy)
    return f"coalesce(month_cap_used, {_limited(policy)})"


def _v(expr: str) -> str:
    return f"CAST({expr} AS STRING)"


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def ratio_steps(policy: InsurancePolicy) -> list[tuple[str, Decimal]]:
    """The ratio adjustments in the order they apply: 中医药 提高, then each uplift (mode, amount)."""
    tcm = (
        ("points", policy.tcm_ratio_increase)
        if policy.tcm_increase_mode == "points"
        else ("factor", 1 + policy.tcm_ratio_increase)
    )
    return [tcm, *((u.mode, u.amount) for u in policy.uplifts)]


def adjusted(ratio: Decimal, mode: str, amount: Decimal) -> Decimal:
    """One adjustment of a ratio, bounded by 100% (points added; a factor rounded to 4 places)."""
    if mode == "points":
        return min(Decimal(1), ratio + amount)
    return min(Decimal(1), round_to(ratio * amount, 4))


def possible_ratios(policy: InsurancePolicy) -> set[Decimal]:
    """Every ratio a claim can carry under ``policy`` (the pricing CASE's outcomes): each band of
    each tier under every combination of the adjustments that apply in order."""
    ratios = {policy.outpatient_ratio, policy.tcm_fracture_ratio, *(c.ratio for c in policy.chronic_diseases)}
    reached = {r for t in policy.terms for _, r in t.bands}
    for mode, amount in ratio_steps(policy):
        reached |= {adjusted(r, mode, amount) for r in reached}
    return ratios | reached


def tier_header(tier: Tier) -> str:
    """The trail's name of an inpatient tier, with the policy's sentence when it has one."""
    return tier.name + (f" ({tier.article})" if tier.article else "")


def uplift_note(uplift: Uplift) -> str:
    """What an uplift did, for the trail: ``(民政救助对象: 补偿比例提高5个百分点, <article>)``."""
    how = (
        f"提高{percent(uplift.amount).rstrip('%')}个百分点"
        if uplift.mode == "points"
        else f"×{uplift.amount.normalize():f}"
    )
    return f" ({uplift.name}: 补偿比例{how}" + (f", {uplift.article}" if uplift.article else "") + ")"


def floor_note(policy: InsurancePolicy) -> str:
    """The floor's sentence: ``实际补偿比不低于住院总费用的30%`` and its article."""
    assert policy.floor_ratio is not None
    base = "住院总费用" if policy.floor_base == "total" else "可补偿费用"
    article = f" ({policy.floor_article})" if policy.floor_article else ""
    return f"保底: 实际补偿比不低于{base}的{percent(policy.floor_ratio)}{article}, 按保底补偿"


BANDS_ON = {"pooled": "起付线以上部分分段", "reimbursable": "可补偿费用分段, 起付线以下不补偿"}


def _pct(policy: InsurancePolicy, expr: str) -> str:
    known = " ".join(
        f"WHEN CAST('{r}' AS DECIMAL(9,4)) THEN {_lit(percent(r))}" for r in sorted(possible_ratios(policy))
    )
    fallback = f"(regexp_replace(CAST(CAST(({expr}) * 100 AS DECIMAL(9,2)) AS STRING), '[.]?0+$', '') || '%')"
    return f"CASE {expr} {known} ELSE {fallback} END"


#: The texts are joined by ``concat_ws('', …)``, which skips NULL parts on both engines; on
#: DuckDB it becomes ``concat(…)``, which skips them too and builds the long texts faster
#: (about a fifth); Spark's ``concat`` is NULL when any part is.
_JOIN = "concat_ws('', "
_JOIN_IN: dict[Dialect, str] = {"duckdb": "concat(", "spark": _JOIN}


def _in_dialect(sql: str, dialect: Dialect) -> str:
    return sql.replace(_JOIN, _JOIN_IN[dialect])


def reason_sql(policy: InsurancePolicy, dialect: Dialect = "duckdb") -> str:
    """The ``reason`` column over the priced claim frame of ``claims.price_claims``."""
    paid = (
        "CASE rule " + " ".join(f"WHEN '{rule}' THEN {_paid(policy, rule)}" for rule in PAID_RULES) + " END"
    )
    return _in_dialect(f"CASE WHEN status = 'rejected' THEN {_rejected(policy)} ELSE {paid} END", dialect)


def _paid(policy: InsurancePolicy, rule: str) -> str:
    """The trail of a paid claim of ``rule``: its parts joined by ``; ``, a part that does not
    apply (NULL) left out with its separator.

    One flat ``concat`` of the parts' pieces rather than ``concat_ws('; ', …)`` of one string per
    part: the parts that always apply (header, reimbursable, deductible, computation, the
    amount) are spliced into it with their separators; each optional part is a
    ``CASE WHEN … THEN concat('; ', …) END``, NULL when it does not apply. Every piece is built
    once, not copied again into an enclosing part."""
    pieces = [*_header(policy, rule)]
    for part in (_reimbursable(policy), _deductible(policy, rule), _computation(policy, rule)):
        pieces += ["'; '", *part]
    pieces += [
        _coordination(),
        *([_day()] if policy.outpatient_once_per_day else []),  # else day_visit is always null
        *([_month(policy)] if policy.outpatient_monthly_cap is not None else []),  # month_cap null
        _cap(policy, rule),
        "'; 报销'",
        _v("reimbursement"),
        "'元'",
    ]
    return f"{_JOIN}{', '.join(_merged(pieces))})"


def _merged(pieces: list[str]) -> list[str]:
    """``pieces`` with neighbouring SQL string literals joined into one."""
    out: list[str] = []
    for piece in pieces:
        if out and _is_lit(out[-1]) and _is_lit(piece):
            out[-1] = out[-1][:-1] + piece[1:]
        else:
            out.append(piece)
    return out


def _is_lit(sql: str) -> bool:
    return len(sql) >= 2 and sql[0] == sql[-1] == "'" and "'" not in sql[1:-1].replace("''", "")


def major_header(policy: InsurancePolicy) -> str:
    """The 大病保险 part's opening words, with the policy's sentence when it has one."""
    return "大病保险" + (f" ({policy.major_article})" if policy.major_article else "")


def major_reason_sql(policy: InsurancePolicy, reason: str, dialect: Dialect = "duckdb") -> str:
    """``reason`` followed, on a claim that counts for the 大病保险 layer, by its part:
    ``; 大病保险 (<article>): 本次个人自付合规费用<oop>元, 年度累计<cum>元, 大病保险支付<paid>元``."""
    return _in_dialect(_major_reason(policy, reason), dialect)


def _major_reason(policy: InsurancePolicy, reason: str) -> str:
    return f"""CASE WHEN major_oop IS NULL THEN {reason} ELSE concat_ws('', {reason}, '; ', {_lit(major_header(policy))},
        ': 本次个人自付合规费用', {_v("major_oop")}, '元, 年度累计', {_v("major_cum")},
        '元, 大病保险支付', {_v("major_paid")}, '元') END"""


def _rejected(policy: InsurancePolicy) -> str:
    listed = "self_pay + special_exam + special_treatment + blood + special_material + tcm_cost + general_fee"
    levels = "、".join(str(lv) for lv in policy.outpatient_levels)
    return f"""concat_ws('', '不予补偿: ', CASE reject_code
        WHEN 'not_insured' THEN concat_ws('', '人员 ', person_id, ' 不在本年度参合名单, 未参合人员医药费用不予补偿 (004 篇6 三(四)5(1))')
        WHEN 'unknown_institution' THEN concat_ws('', '医疗机构 ', institution_id, ' 不在医疗机构名单中')
        WHEN 'outside_year' THEN concat_ws('', '结束日期 ', {_v("end_date")}, ' 不在政策年度 {policy.year} 年内')
        WHEN 'items_exceed_total' THEN concat_ws('', '所列自费、部分支付、中医药及一般诊疗费合计 ',
            {_v(f"({listed})::DECIMAL(18,2)")}, ' 超过医疗总费用 ', {_v("total_cost")})
        WHEN 'not_designated' THEN '在非定点医疗机构就医的费用不予补偿 (004 篇6 三(四)5(2))'
        WHEN 'not_referred' THEN '未按规定办理转诊手续, 自行在县外医疗机构就医的费用不予报销 (004 篇6 三(四)5(2))'
        WHEN 'outpatient_level' THEN '门诊统筹补偿限{levels}级 (乡、村两级) 定点医疗机构 (004 篇6 三(四)2)'
        WHEN 'no_tier' THEN concat_ws('', '本政策没有适用于', level, '级、', {_place_sql()}, '医疗机构的住院档次 (inpatient.tiers)')
    END)"""


def _place_sql() -> str:
    labels = " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in PLACE_LABELS.items())
    return f"CASE place {labels} ELSE '所在地未填的' END"


def place_text(place: str | None) -> str:
    """The place as the no-tier refusal names it (shared with the desk)."""
    return PLACE_LABELS[place] if place is not None else "所在地未填的"


def _tier_names(policy: InsurancePolicy) -> str:
    return (
        "CASE tier "
        + " ".join(f"WHEN {_lit(t.key)} THEN {_lit(tier_header(t))}" for t in policy.terms)
        + " END"
    )


def _header(policy: InsurancePolicy, rule: str) -> list[str]:
    """The pieces of the trail's first part: the rule's name, and where the claim was."""
    outpatient = " ".join(f"WHEN {lv} THEN '门诊统筹·{lv}级'" for lv in LEVELS)
    chronic = " ".join(
        f"WHEN {_lit(c.code)} THEN {_lit(f'特殊慢性病门诊·{c.name} (按病种定额补偿, 004 篇6 三(四)3)')}"
        for c in policy.chronic_diseases
    )
    name = {
        "outpatient": [f"CASE level {outpatient} END"],
        "inpatient": [
            "'住院·'",
            _tier_names(policy),
            "CASE WHEN delivery = 'pathological' THEN '·病理产科住院分娩按疾病住院补偿' END",
        ],
        "delivery": ["'住院分娩正常产定额补偿 (004 篇6 三(四)1)'"],
        "chronic": [f"CASE chronic_code {chronic} END"],
        "cataract": ["'白内障门诊人工晶体植入手术定额补偿 (004 篇6 三(四)1)'"],
        "tcm_fracture": ["'中医门诊骨折非手术治疗 (004 篇6 三(四)1)'"],
    }[rule]
    where = """CASE WHEN in_county = 0 AND certificate = 1 AND kind = 'inpatient'
              THEN '·凭外出务工/上学证明在外地住院, 按同等级别医院审核报销 (004 篇6 三(四)1)'
              WHEN in_county = 0 THEN '·县外转诊' END"""
    return [*name, where]


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


def _reimbursable(policy: InsurancePolicy) -> list[str]:
    """``可补偿费用<r>``, or with what was taken off: ``可补偿费用 = 总费用<t> − 自费<s> = <r>``."""
    return [
        f"""CASE WHEN self_pay = 0 AND partial_total = 0 THEN '可补偿费用'
        ELSE concat_ws('', '可补偿费用 = 总费用', {_v("total_cost")},
            CASE WHEN self_pay > 0 THEN concat_ws('', ' − 自费', {_v("self_pay")}) END,
            CASE WHEN partial_total > 0 THEN concat_ws('', ' − 部分支付项目不计入', {_v("(partial_total - partial_counted)")},
                ' (部分支付项目', {_v("partial_total")}, {_lit(f", {partial_rule(policy)}, 计入")},
                {_v("partial_counted")}, ')') END,
            ' = ') END""",
        _v("reimbursable"),
    ]


def _deductible(policy: InsurancePolicy, rule: str) -> list[str]:
    if rule != "inpatient":
        return ["'不设起付线'"]
    labels = " ".join(
        f"WHEN {_lit(k)} THEN {_lit(f'免起付线: {v}凭有效证件报销 (004 篇6 三(四)1)')}"
        for k, v in CATEGORY_LABELS.items()
    )
    standard = " ".join(
        f"WHEN {_lit(t.key)} THEN {_lit(f'起付线{t.deductible} ({t.name})')}" for t in policy.terms
    )
    return [
        f"""concat_ws('', CASE deductible_rule
        WHEN 'category' THEN CASE category {labels} END
        WHEN 'tcm' THEN concat_ws('', '免起付线: 中医药费用', {_v("tcm_cost")}, '占总费用{percent(policy.tcm_share)}以上 (004 篇6 三(四)1)')
        WHEN 'county_repeat' THEN '不计起付线: 本年度已因其他疾病在县级以上医院住院计算起付线, 只计首次 (004 篇6 三(四)1)'
        WHEN 'transfer' THEN concat_ws('', '同一疾病连续转诊只计最高级别医院一次起付线 (004 篇6 三(四)1): 本院', level,
            '级起付线', {_v("deductible_basis")}, ', 此前已计', {_v("episode_before")}, ', 本次计', {_v("deductible")})
        WHEN 'standard' THEN CASE tier {standard} END
    END, CASE WHEN transfer_of IS NOT NULL AND NOT linked
              THEN concat_ws('', ' (转诊来源', transfer_of, '不是本人本年度此前的住院, 按新一次住院计)') END)"""
    ]


def _computation(policy: InsurancePolicy, rule: str) -> list[str]:
    increase = (
        percent(policy.tcm_ratio_increase)
        if policy.tcm_increase_mode == "relative"
        else (f"{percent(policy.tcm_ratio_increase).rstrip('%')}个百分点")
    )
    boost = f"' (中医药费用占总费用{percent(policy.tcm_share)}以上, 补偿比例提高{increase})'"
    by_times = [_v("pooled_cost"), "'×'", _pct(policy, "ratio"), "'='", _v("by_ratio")]
    times = f"concat_ws('', {', '.join(by_times)})"
    uplifts = ", ".join(
        f"CASE WHEN up_{j} THEN {_lit(uplift_note(u))} END" for j, u in enumerate(policy.uplifts, start=1)
    )
    limits = []
    if policy.floor_ratio is not None:
        limits.append(
            f"CASE WHEN floor_amount > by_ratio THEN concat_ws('', '; ', {_lit(floor_note(policy))}, {_v('floor_amount')}) END"
        )
    limits.append(
        f"CASE WHEN stay_cap IS NOT NULL AND computed < greatest(by_ratio, coalesce(floor_amount, 0))"
        f" THEN concat_ws('', '; 每次住院补偿限', {_v('stay_cap')}) END"
    )
    by_ratio = (
        f"concat_ws('', {(_bands_text(policy) or '{times}').format(times=times)}, "
        f"CASE WHEN tcm AND {policy.tcm_ratio_increase} > 0 THEN {boost} END"
        + (f", {uplifts}" if uplifts else "")
        + ")"
    )
    flat = [t for t in policy.specials if t.flat is not None]
    if flat:
        amounts = " ".join(
            f"WHEN {_lit(t.key)} THEN {_lit(f'{t.flat:.2f}')}" for t in flat if t.flat is not None
        )
        fixed = (
            f"concat_ws('', {_v('pooled_cost')}, '; 每次定额', CASE tier {amounts} END, "
            f"CASE WHEN by_ratio < CAST(CASE tier {amounts} END AS DECIMAL(18,2)) "
            f"THEN concat_ws('', ', 以统筹费用为限: ', {_v('by_ratio')}) END)"
        )
        by_ratio = f"CASE WHEN ratio IS NULL THEN {fixed} ELSE {by_ratio} END"
    inpatient = f"concat_ws('', '统筹费用', {by_ratio}, {', '.join(limits)})"
    visit = (  # visit_cap is null without a per-visit limit
        [
            "CASE WHEN visit_cap IS NOT NULL AND computed < by_ratio THEN concat_ws('', '; 每次门诊补偿限', "
            + _v("visit_cap")
            + ") END"
        ]
        if policy.outpatient_visit_cap is not None
        else []
    )
    general = (  # 一般诊疗费: general_due is 0 unless the policy pays it
        [f"CASE WHEN general_due > 0 THEN concat_ws('', '一般诊疗费', {_v('general_due')}, '基金支付; ') END"]
        if policy.general_fee_enabled
        else []
    )
    if rule == "outpatient":
        return [*general, *by_times, *visit]
    if rule in ("chronic", "tcm_fracture"):
        return by_times
    return [
        {
            "inpatient": inpatient,
            "delivery": f"""concat_ws('', '每次定额{policy.delivery_amount}',
            CASE WHEN computed < CAST('{policy.delivery_amount}' AS DECIMAL(18,2))
                 THEN concat_ws('', ', 以可补偿费用为限: ', {_v("computed")}) END)""",
            "cataract": f"""concat_ws('', '每例患眼{policy.cataract_amount_per_eye}×', cataract_eyes, '眼',
            CASE WHEN computed < CAST('{policy.cataract_amount_per_eye}' AS DECIMAL(18,2)) * cataract_eyes
                 THEN concat_ws('', ', 以可补偿费用为限: ', {_v("computed")})
                 ELSE concat_ws('', '=', {_v("computed")}) END)""",
        }[rule]
    ]


def _bands_text(policy: InsurancePolicy) -> str | None:
    """分段计算: ``8000.00, 起付线以上部分分段: 0.00-5000.00元段5000.00×60% + … = 5100.00``."""
    b = max(len(t.bands) for t in policy.terms)
    if b == 1:
        return None
    parts = ", ".join(
        f"CASE WHEN seg_{k} > 0 THEN concat_ws('', {_v(f'lo_{k}')}, CASE WHEN hi_{k} IS NULL THEN '元以上段' "
        f"ELSE concat_ws('', '-', {_v(f'hi_{k}')}, '元段') END, {_v(f'seg_{k}')}, '×', {_pct(policy, f'r_{k}')}) END"
        for k in range(1, b + 1)
    )
    multi = tuple(t.key for t in policy.terms if len(t.bands) > 1)
    keys = ", ".join(_lit(k) for k in multi)
    return (
        f"CASE WHEN tier IN ({keys}) THEN concat_ws('', {_v('pooled_cost')}, {_lit(', ' + BANDS_ON[policy.bands_on] + ': ')}, "
        f"coalesce(nullif(concat_ws(' + ', {parts}), ''), '0'), ' = ', {_v('by_ratio')}) ELSE {{times}} END"
    )


def _coordination() -> str:
    return f"""CASE WHEN other_insurance_paid > 0 THEN concat_ws('', '; 已由其他保险支付', {_v("other_insurance_paid")},
        ', 合计补偿不得超出实际费用 (004 篇6 三(四)1): 本次至多', {_v("coordination_limit")},
        CASE WHEN amount_before_cap + general_fee_paid < computed + general_due
             THEN concat_ws('', ', 按限额计', {_v("(amount_before_cap + general_fee_paid)")}) END) END"""


def _cap(policy: InsurancePolicy, rule: str) -> str:
    inpatient = (
        "'住院补偿封顶线'"
        if policy.cap_scope == "shared"
        else "concat_ws('', CASE tier "
        + " ".join(f"WHEN {_lit(t.key)} THEN {_lit(t.name)}" for t in policy.terms)
        + " END, '住院补偿封顶线')"
    )
    outpatient = (  # a visit's bucket is 'outpatient' unless the household holds the cap
        f"CASE WHEN cap_bucket LIKE '{HOUSEHOLD_BUCKET}%' THEN '门诊统筹家庭封顶线 (户内共享)' ELSE '门诊统筹封顶线' END"
        if policy.outpatient_cap_scope == "household"
        else "'门诊统筹封顶线'"
    )
    label = {
        "chronic": "'病种年度定额'",
        "outpatient": outpatient,
        "tcm_fracture": "'中医门诊骨折封顶线'",
    }.get(rule, inpatient)
    limited = _month_limited(policy)
    return f"""CASE WHEN cap IS NOT NULL THEN concat_ws('', {", ".join(_merged(["'; '", label]))},
        {_v("cap")}, '余额', {_v("cap_before")}, '→', {_v("cap_after")},
        CASE WHEN cap_used < {limited}
             THEN concat_ws('', ', 超出部分', {_v(f"({limited} - cap_used)")}, '不予补偿')
        END) END"""


def _day() -> str:
    """The once-a-day rule (``outpatient.once_per_day``) on a day's second and later visits."""
    return f"""CASE WHEN day_visit > 1 THEN concat_ws('', '; 每人一天只能报销一次: 本日第', {_v("day_visit")},
        '次门诊, 本次', {_v("amount_before_cap")}, '不予补偿') END"""


def _month(policy: InsurancePolicy) -> str:
    """The monthly outpatient limit (``outpatient.monthly_cap``), when the visit has one."""
    limited = _limited(policy)
    return f"""CASE WHEN month_cap IS NOT NULL THEN concat_ws('', '; 门诊每月封顶线', {_v("month_cap")}, ': 本次计入',
        {_v("month_cap_used")}, CASE WHEN month_cap_used < {limited}
             THEN concat_ws('', ', 超出部分', {_v(f"({limited} - month_cap_used)")}, '不予补偿') END) END"""
