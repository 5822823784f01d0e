"""The capitation run (医共体按人头总额预付结算): budget → prepayments → year end → member shares.

``settle`` composes the rule modules over validated ``Inputs`` and returns the ``Settlement``
with its invariants checked (``checks``). Loops run over communities and institutions only.
"""

from __future__ import annotations

from dataclasses import dataclass

from shidian.capitation.budget import Budget, build_budget
from shidian.capitation.checks import Results, run_checks
from shidian.capitation.model import Inputs, Prepayment, Share, YearEnd
from shidian.capitation.policy import CapitationPolicy
from shidian.capitation.prepayment import prepayments
from shidian.capitation.year_end import distribute, year_ends
from shidian.money import ZERO
from shidian.problems import Problem, Source
from shidian.runs import Check


@dataclass(frozen=True)
class Settlement:
    """A whole run: inputs, policy, budget, prepayments, year ends, member shares, checks."""

    inputs: Inputs
    policy: CapitationPolicy
    budget: Budget
    prepayments: tuple[Prepayment, ...]
    year_ends: tuple[YearEnd, ...]
    shares: tuple[Share, ...]
    checks: tuple[Check, ...]


def settle(inputs: Inputs, policy: CapitationPolicy) -> tuple[Settlement | None, list[Problem]]:
    """The run, or None and the problems that prevent it (a budget base that is not positive,
    no insured at all). Failed invariants are in ``checks`` (the caller refuses to write)."""
    fund = inputs.fund
    order = [c.community_id for c in inputs.communities]
    problems: list[Problem] = []
    if sum(inputs.insured.get(cid, 0) for cid in order) <= 0:
        problems.append(
            Problem(
                "capitation.population.empty",
                "各医共体参保人数之和为 0, 无法按人头分配",
                Source("population"),
            )
        )
    budget = build_budget(fund, inputs.insured, order, policy) if not problems else None
    if budget is not None and budget.base <= 0:
        problems.append(
            Problem(
                "capitation.fund.base_not_positive",
                f"预算基数 {budget.base} 不大于 0: 筹资总额不足以扣除风险金、大病保险、意外伤害及其他扣除",
                Source("fund.toml", key="funding_total"),
            )
        )
    if problems or budget is None:
        return None, problems
    prepaid_rows = prepayments(fund.year, budget.pots, order, policy)
    prepaid = {cid: sum((p.amount for p in prepaid_rows if p.community_id == cid), ZERO) for cid in order}
    ends = year_ends(
        inputs.communities, inputs.insured, budget.pots, prepaid, inputs.spending, budget.reserve, policy
    )
    shares: list[Share] = []
    for community, end in zip(inputs.communities, ends, strict=True):
        members = sorted(
            (m for m in inputs.members if m.community_id == community.community_id),
            key=lambda m: m.institution_id,
        )
        shares.extend(distribute(community, end.retained, members, policy))
    results = Results(fund, budget, tuple(prepaid_rows), tuple(ends), tuple(shares))
    checks = tuple(run_checks(results))
    return Settlement(
        inputs, policy, budget, results.prepayments, results.year_ends, results.shares, checks
    ), []
