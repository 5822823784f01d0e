"""The budget build-up (医共体按人头总额预算): from the year's funding to each 医共体's pot.

001 第十七篇 四(二)1(1): "按城乡居民基本医保当年筹资总额扣除增量资金风险金(与上一年相比筹资
增量10%)、大病保险基金和意外伤害补偿基金等进行预算,98%作为医共体按人头总额预算基金,交由医共体
包干使用。"

* risk reserve (增量资金风险金) = round_fen(max(0, funding − last year's funding) × ratio);
* budget base (预算基数) = funding − reserve − 大病保险 − 意外伤害 − other deductions;
* pot (医共体按人头总额预算基金) = round_fen(base × pot ratio); the rest of the base is the
  fund's adjustment reserve (基金调节金), kept by the fund;
* each 医共体's pot: the pot split by insured headcount (按人头), largest remainder to the fen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from shidian.capitation.model import BudgetLine, Fund
from shidian.capitation.policy import ART_POT, CapitationPolicy
from shidian.display import percent, yuan
from shidian.money import ZERO, round_fen, split_largest_remainder


@dataclass(frozen=True)
class Budget:
    """The build-up's amounts and its lines in order (``lines``), and each community's pot."""

    reserve: Decimal
    deductions: Decimal
    base: Decimal
    pot: Decimal
    adjustment: Decimal
    lines: tuple[BudgetLine, ...]
    pots: Mapping[str, Decimal]


def risk_reserve(fund: Fund, ratio: Decimal) -> Decimal:
    """增量资金风险金: ratio × the funding increase over last year, 0 when funding did not rise."""
    return round_fen(max(ZERO, fund.funding_total - fund.funding_last_year) * ratio)


def build_budget(
    fund: Fund, insured: Mapping[str, int], order: Sequence[str], policy: CapitationPolicy
) -> Budget:
    """The budget lines and each community's pot (``order`` is the communities' tie-break order).

    The caller has checked that the base is positive and that some community has insured."""
    increase = fund.funding_total - fund.funding_last_year
    reserve = risk_reserve(fund, policy.reserve_ratio)
    others = sum((amount for _, amount in fund.other_deductions), ZERO)
    deductions = fund.catastrophic + fund.accident + others
    base = fund.funding_total - reserve - deductions
    pot = round_fen(base * policy.pot_ratio)
    adjustment = base - pot
    ratio = percent(policy.reserve_ratio)
    lines = [
        BudgetLine("funding_total", "当年筹资总额", fund.funding_total, ART_POT, "fund.toml: funding_total"),
        BudgetLine(
            "funding_last_year",
            "上一年筹资总额",
            fund.funding_last_year,
            ART_POT,
            "fund.toml: funding_last_year",
        ),
        BudgetLine(
            "risk_reserve",
            "增量资金风险金",
            reserve,
            ART_POT,
            f"max(0, {yuan(fund.funding_total)} − {yuan(fund.funding_last_year)}) × {ratio}"
            + ("" if increase > 0 else " (筹资未增加, 为 0)"),
        ),
        BudgetLine("catastrophic", "大病保险基金", fund.catastrophic, ART_POT, "fund.toml: catastrophic"),
        BudgetLine("accident", "意外伤害补偿基金", fund.accident, ART_POT, "fund.toml: accident"),
        *(
            BudgetLine(f"other:{name}", f"其他扣除: {name}", amount, ART_POT, "fund.toml: other_deductions")
            for name, amount in fund.other_deductions
        ),
        BudgetLine(
            "base",
            "预算基数",
            base,
            ART_POT,
            f"{yuan(fund.funding_total)} − {yuan(reserve)} − {yuan(deductions)} (大病保险、意外伤害及其他扣除)",
        ),
        BudgetLine(
            "pot",
            "医共体按人头总额预算基金",
            pot,
            ART_POT,
            f"{yuan(base)} × {percent(policy.pot_ratio)}, 四舍五入到分",
        ),
        BudgetLine(
            "adjustment", "基金调节金 (留在医保基金)", adjustment, ART_POT, f"{yuan(base)} − {yuan(pot)}"
        ),
    ]
    weights = [Decimal(insured.get(cid, 0)) for cid in order]
    parts = split_largest_remainder(pot, weights)
    total_insured = sum(insured.get(cid, 0) for cid in order)
    for cid, part, weight in zip(order, parts, weights, strict=True):
        lines.append(
            BudgetLine(
                f"pot:{cid}",
                f"医共体 {cid} 预算基金",
                part,
                ART_POT,
                f"{yuan(pot)} × {int(weight)} ÷ {total_insured} (按参保人头, 最大余数法到分)",
            )
        )
    return Budget(
        reserve, deductions, base, pot, adjustment, tuple(lines), dict(zip(order, parts, strict=True))
    )
