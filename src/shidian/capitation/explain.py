"""A 医共体's arithmetic in Chinese (医共体结算说明), each step with the article behind it.

``community_steps`` renders the steps from a run's rows (budget lines, the community's
prepayments, year end and member shares) and its policy; nothing is recomputed here but the
text: every amount is the run's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from shidian.capitation.model import TIER_LABELS, BudgetLine, Prepayment, Share, YearEnd
from shidian.capitation.policy import ART_POT, ART_PREPAY, ART_TIERS, CapitationPolicy
from shidian.display import percent, trimmed, yuan


@dataclass(frozen=True)
class Step:
    """One step: what, the amount, how (the formula with the numbers), and the article."""

    label: str
    amount: Decimal | None
    formula: str
    article: str


def community_steps(
    community_id: str,
    lines: Sequence[BudgetLine],
    prepayments: Sequence[Prepayment],
    end: YearEnd,
    shares: Sequence[Share],
    policy: CapitationPolicy,
) -> list[Step]:
    """The steps from the county's funding to this community's member shares."""
    steps = [
        Step(line.label, line.amount, line.formula, line.article)
        for line in lines
        if not line.code.startswith("pot:") or line.code == f"pot:{community_id}"
    ]
    for p in prepayments:
        steps.append(
            Step(
                f"第{p.quarter}季度预拨",
                p.amount,
                f"预算基金的四分之一 (最大余数法到分), 应于 {p.due_on} 前拨付",
                ART_PREPAY,
            )
        )
    steps.append(
        Step("全年基金支出", end.spending, "本医共体参保人全年的医保基金支出 (不论在何处就医)", ART_POT)
    )
    if end.surplus > 0:
        steps.append(Step("结余", end.surplus, f"{yuan(end.pot)} − {yuan(end.spending)}", ART_POT))
        steps.append(
            Step("结余留用", end.retained, f"{yuan(end.surplus)} × {percent(policy.retained_ratio)}", ART_POT)
        )
        weights = ":".join(trimmed(policy.tier_weights[t]) for t in TIER_LABELS)
        for s in shares:
            label = TIER_LABELS[s.tier]
            formula = (
                f"{label}份额 {yuan(s.tier_amount)} (县:乡:村 = {weights}) × 权重 {trimmed(s.weight)} ÷ 同级权重之和; "
                f"考核 {trimmed(s.score)} 分"
                + (
                    f" (低于合格分 {trimmed(policy.pass_mark)}, 权重 = 分数 × {trimmed(policy.below_pass_factor)})"
                    if s.score < policy.pass_mark
                    else ""
                )
            )
            steps.append(Step(f"{s.institution_id} 分得结余", s.amount, formula, ART_TIERS))
    elif end.overspend > 0:
        bound = f"{yuan(end.pot)} × {percent(policy.reasonable_ratio)}"
        steps.extend(
            [
                Step("超支", end.overspend, f"{yuan(end.spending)} − {yuan(end.pot)}", ART_POT),
                Step("合理超支", end.reasonable, f"min({yuan(end.overspend)}, {bound})", ART_POT),
                Step(
                    "医保基金分担",
                    end.fund_share,
                    f"{yuan(end.reasonable)} × {percent(policy.fund_ratio)}",
                    ART_POT,
                ),
                Step(
                    "其中由增量资金风险金列支",
                    end.reserve_drawn,
                    "基金分担先从风险金列支, 风险金不足时按比例",
                    ART_POT,
                ),
                Step(
                    "医共体承担",
                    end.community_share,
                    f"{yuan(end.overspend)} − {yuan(end.fund_share)}",
                    ART_POT,
                ),
            ]
        )
    else:
        steps.append(Step("收支平衡", end.pot - end.spending, "支出等于预算基金, 无结余亦无超支", ART_POT))
    return steps
