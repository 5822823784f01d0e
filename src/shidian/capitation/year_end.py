"""The year end of a 医共体 (年终结算): surplus retained and shared, reasonable overspend shared.

001 第十七篇 四(二)1(1): "预付医共体资金包干使用,结余留用,合理超支分担。结余资金由医共体成员单位
合理分配、自主使用,分配份额与县、乡、村医疗卫生机构绩效考核挂钩。" 四(四)3: "城乡居民基本医疗保险
基金结余部分,由县级医院、乡镇卫生院、村卫生室按6:3:1进行再分配".

* surplus = max(0, pot − spending); retained = round_fen(surplus × retained ratio) (结余留用: 100%
  in the reference policy), the rest returns to the fund;
* overspend = max(0, spending − pot); reasonable = min(overspend, round_fen(pot × reasonable
  ratio)); fund_share = round_fen(reasonable × fund ratio); the 医共体 bears the rest;
* the fund's shares are drawn first from the risk reserve (增量资金风险金): if they exceed it, the
  reserve is split among them in proportion (largest remainder) and the fund pays the rest;
* the retained surplus is split among the tiers present in the community by the tier weights
  (6:3:1), then within a tier by weight = score, × the below-pass factor under the pass mark.
  A tier with no member, or whose every weight is zero, gives its part to the other tiers
  (the tier weights of those present are used); when no member has a weight the retained
  surplus stays with the lead hospital.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal

from shidian.capitation.model import TIERS, Community, Member, Share, YearEnd
from shidian.capitation.policy import CapitationPolicy
from shidian.money import ZERO, round_fen, split_largest_remainder


def year_ends(
    communities: Sequence[Community],
    insured: Mapping[str, int],
    pots: Mapping[str, Decimal],
    prepaid: Mapping[str, Decimal],
    spending: Mapping[str, Decimal],
    reserve: Decimal,
    policy: CapitationPolicy,
) -> list[YearEnd]:
    """Each community's year end, in the order given."""
    rows = []
    for c in communities:
        cid = c.community_id
        pot, spent = pots[cid], spending[cid]
        surplus = max(ZERO, pot - spent)
        overspend = max(ZERO, spent - pot)
        reasonable = min(overspend, round_fen(pot * policy.reasonable_ratio))
        fund_share = round_fen(reasonable * policy.fund_ratio)
        rows.append(
            YearEnd(
                community_id=cid,
                insured=insured[cid],
                pot=pot,
                prepaid=prepaid[cid],
                spending=spent,
                surplus=surplus,
                overspend=overspend,
                reasonable=reasonable,
                fund_share=fund_share,
                reserve_drawn=ZERO,
                community_share=overspend - fund_share,
                retained=round_fen(surplus * policy.retained_ratio),
            )
        )
    return _draw_reserve(rows, reserve)


def _draw_reserve(rows: list[YearEnd], reserve: Decimal) -> list[YearEnd]:
    shares = [r.fund_share for r in rows]
    total = sum(shares, ZERO)
    if total == 0:
        return rows
    if total <= reserve:
        drawn = shares
    elif reserve > 0:
        drawn = split_largest_remainder(reserve, shares)
    else:
        drawn = [ZERO] * len(rows)
    return [replace(r, reserve_drawn=d) for r, d in zip(rows, drawn, strict=True)]


def member_weight(member: Member, policy: CapitationPolicy) -> Decimal:
    """A member's weight within its tier: its score, × the below-pass factor under the pass mark."""
    if member.score < policy.pass_mark:
        return member.score * policy.below_pass_factor
    return member.score


def distribute(
    community: Community, retained: Decimal, members: Sequence[Member], policy: CapitationPolicy
) -> list[Share]:
    """The retained surplus of one community split 6:3:1 by tier, then by weight within a tier.

    ``members`` are the community's members in their tie-break order (institution id)."""
    weights = {m.institution_id: member_weight(m, policy) for m in members}
    present = [
        t
        for t in TIERS
        if policy.tier_weights[t] > 0
        and sum((weights[m.institution_id] for m in members if m.tier == t), ZERO) > 0
    ]
    shares: list[Share] = []
    if retained == 0 or not present:
        lead = next((m for m in members if m.institution_id == community.lead_institution_id), None)
        for m in members:
            amount = retained if (lead is not None and m is lead) else ZERO
            shares.append(
                Share(
                    m.institution_id,
                    m.community_id,
                    m.tier,
                    m.score,
                    weights[m.institution_id],
                    amount,
                    amount,
                )
            )
        return shares
    tier_amounts = dict(
        zip(
            present, split_largest_remainder(retained, [policy.tier_weights[t] for t in present]), strict=True
        )
    )
    for tier in TIERS:
        in_tier = [m for m in members if m.tier == tier]
        if not in_tier:
            continue
        tier_amount = tier_amounts.get(tier, ZERO)
        amounts = (
            split_largest_remainder(tier_amount, [weights[m.institution_id] for m in in_tier])
            if tier in tier_amounts
            else [ZERO] * len(in_tier)
        )
        shares.extend(
            Share(
                m.institution_id, m.community_id, m.tier, m.score, weights[m.institution_id], tier_amount, a
            )
            for m, a in zip(in_tier, amounts, strict=True)
        )
    return shares
