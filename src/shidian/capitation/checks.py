"""The run's invariants (自检): every fen of the funding accounted for, to the fen, no tolerance.

Each check is a function of the settlement returning a ``Check``; ``CHECKS`` lists them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from shidian.capitation.budget import Budget
from shidian.capitation.model import Fund, Prepayment, Share, YearEnd
from shidian.money import ZERO
from shidian.runs import Check


@dataclass(frozen=True)
class Results:
    """What the checks look at: the fund, the budget and every amount the run produced."""

    fund: Fund
    budget: Budget
    prepayments: tuple[Prepayment, ...]
    year_ends: tuple[YearEnd, ...]
    shares: tuple[Share, ...]


def _sum(values: object) -> Decimal:
    return sum(values, ZERO)  # type: ignore[call-overload,no-any-return]


def funding_accounted(s: Results) -> Check:
    b, fund = s.budget, s.fund
    total = b.pot + b.adjustment + b.reserve + b.deductions
    return Check(
        "funding_accounted",
        "预算基金 + 基金调节金 + 风险金 + 各项扣除 = 当年筹资总额",
        total == fund.funding_total,
        f"{b.pot} + {b.adjustment} + {b.reserve} + {b.deductions} = {total}; 筹资 {fund.funding_total}",
    )


def pots_sum(s: Results) -> Check:
    total = _sum(s.budget.pots.values())
    return Check(
        "pots_sum", "各医共体预算基金之和 = 预算基金", total == s.budget.pot, f"{total} vs {s.budget.pot}"
    )


def prepayments_sum(s: Results) -> Check:
    bad = [
        e.community_id
        for e in s.year_ends
        if _sum(p.amount for p in s.prepayments if p.community_id == e.community_id) != e.pot
        or e.prepaid != e.pot
    ]
    return Check(
        "prepayments_sum", "每个医共体四个季度预拨之和 = 其预算基金 (足额)", not bad, ", ".join(bad) or "ok"
    )


def year_end_balances(s: Results) -> Check:
    bad = [
        e.community_id
        for e in s.year_ends
        if e.surplus - e.overspend != e.pot - e.spending
        or e.fund_share + e.community_share != e.overspend
        or min(e.surplus, e.overspend) != 0
        or e.reasonable > e.overspend
        or e.fund_share > e.reasonable
        or e.retained > e.surplus
    ]
    return Check(
        "year_end_balances",
        "结余 − 超支 = 预算基金 − 支出; 基金分担 + 医共体承担 = 超支; 留用 ≤ 结余",
        not bad,
        ", ".join(bad) or "ok",
    )


def reserve_draw(s: Results) -> Check:
    drawn = _sum(e.reserve_drawn for e in s.year_ends)
    shares = _sum(e.fund_share for e in s.year_ends)
    ok = (
        drawn <= s.budget.reserve
        and drawn == min(shares, s.budget.reserve)
        and all(e.reserve_drawn <= e.fund_share for e in s.year_ends)
    )
    return Check(
        "reserve_draw",
        "风险金列支 = min(基金分担合计, 风险金), 且不超过各医共体的基金分担",
        ok,
        f"列支 {drawn}; 基金分担 {shares}; 风险金 {s.budget.reserve}",
    )


def shares_sum(s: Results) -> Check:
    bad = [
        e.community_id
        for e in s.year_ends
        if _sum(sh.amount for sh in s.shares if sh.community_id == e.community_id) != e.retained
    ]
    return Check("shares_sum", "每个医共体成员单位分配之和 = 其留用结余", not bad, ", ".join(bad) or "ok")


CHECKS: tuple[Callable[[Results], Check], ...] = (
    funding_accounted,
    pots_sum,
    prepayments_sum,
    year_end_balances,
    reserve_draw,
    shares_sum,
)


def run_checks(s: Results) -> list[Check]:
    """Every invariant of ``CHECKS``, in order."""
    return [check(s) for check in CHECKS]
