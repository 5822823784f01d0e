"""Shared builders for the capitation tests: the reference policy (optionally changed) and inputs."""

from __future__ import annotations

import re
from decimal import Decimal

from shidian.capitation.model import Community, Fund, Inputs, Member, Tier
from shidian.capitation.policy import POLICIES, CapitationPolicy, parse_policy

REFERENCE = "langxi-2020"


def policy(**changes: str) -> CapitationPolicy:
    """The reference policy with ``key=value`` lines replaced (key is the bare TOML key)."""
    text = POLICIES.text(REFERENCE)
    for key, value in changes.items():
        text, n = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
        assert n == 1, key
    parsed, problems = parse_policy(text, "<test>")
    assert parsed is not None, problems
    return parsed


def fund(total: str, last: str, catastrophic: str = "0", accident: str = "0", year: int = 2020) -> Fund:
    return Fund(year, Decimal(total), Decimal(last), Decimal(catastrophic), Decimal(accident))


def member(iid: str, cid: str, tier: Tier, score: str) -> Member:
    return Member(iid, iid, cid, tier, Decimal(score))


def inputs(
    the_fund: Fund,
    insured: dict[str, int],
    spending: dict[str, str],
    members: list[Member],
) -> Inputs:
    communities = tuple(
        Community(cid, f"医共体{cid}", next(m.institution_id for m in members if m.community_id == cid))
        for cid in sorted(insured)
    )
    return Inputs(
        the_fund,
        communities,
        tuple(sorted(members, key=lambda m: m.institution_id)),
        insured,
        {k: Decimal(v) for k, v in spending.items()},
    )
