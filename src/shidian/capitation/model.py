"""The capitation data model (医共体按人头总额预付的数据): immutable records, one file.

Amounts are yuan at fen precision (``Decimal``); a 医共体 is a ``Community``, a member
institution a ``Member`` of one ``tier`` (county 县级 / township 乡镇 / village 村).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

Tier = Literal["county", "township", "village"]
TIERS: tuple[Tier, ...] = ("county", "township", "village")
TIER_LABELS: Mapping[str, str] = {"county": "县级医院", "township": "乡镇卫生院", "village": "村卫生室"}
#: The Chinese spellings an input file may use for a tier.
TIER_ALIASES: Mapping[str, Tier] = {
    "county": "county",
    "township": "township",
    "village": "village",
    "县级": "county",
    "县": "county",
    "县级医院": "county",
    "乡镇": "township",
    "乡": "township",
    "乡镇卫生院": "township",
    "村": "village",
    "村卫生室": "village",
}


@dataclass(frozen=True)
class Fund:
    """The year's resident fund (城乡居民基本医保基金), from ``fund.toml``.

    ``funding_total`` 当年筹资总额, ``funding_last_year`` 上一年筹资总额, ``catastrophic``
    大病保险基金, ``accident`` 意外伤害补偿基金, ``other_deductions`` 其他扣除 (named, "等").
    """

    year: int
    funding_total: Decimal
    funding_last_year: Decimal
    catastrophic: Decimal
    accident: Decimal
    other_deductions: tuple[tuple[str, Decimal], ...] = ()


@dataclass(frozen=True)
class Community:
    """A 医共体: id, name and its lead hospital (牵头医院)."""

    community_id: str
    name: str
    lead_institution_id: str


@dataclass(frozen=True)
class Member:
    """A member institution (成员单位) of one 医共体, with its tier and assessment score (0–100)."""

    institution_id: str
    name: str
    community_id: str
    tier: Tier
    score: Decimal


@dataclass(frozen=True)
class Inputs:
    """Everything one year-end run reads. ``insured`` and ``spending`` are by community id;
    ``spending`` is the fund's spending on the community's insured, wherever they were treated."""

    fund: Fund
    communities: tuple[Community, ...]
    members: tuple[Member, ...]
    insured: Mapping[str, int]
    spending: Mapping[str, Decimal]


@dataclass(frozen=True)
class BudgetLine:
    """One line of the budget build-up (预算构成): code, Chinese label, amount, article, formula."""

    code: str
    label: str
    amount: Decimal
    article: str
    formula: str


@dataclass(frozen=True)
class Prepayment:
    """One quarter's prepayment (季度预拨) of a community's pot, due by ``due_on``."""

    community_id: str
    quarter: int
    due_on: dt.date
    amount: Decimal


@dataclass(frozen=True)
class YearEnd:
    """A community's year end (年终结算). ``surplus`` and ``overspend`` are never both positive;
    ``reasonable`` is the part of the overspend within the policy's bound, ``fund_share`` the
    fund's part of it (``reserve_drawn`` of which comes from the risk reserve), and
    ``community_share`` what the 医共体 bears (its part of the reasonable overspend and all of the
    rest); ``retained`` the surplus the 医共体 keeps (结余留用)."""

    community_id: str
    insured: int
    pot: Decimal
    prepaid: Decimal
    spending: Decimal
    surplus: Decimal
    overspend: Decimal
    reasonable: Decimal
    fund_share: Decimal
    reserve_drawn: Decimal
    community_share: Decimal
    retained: Decimal


@dataclass(frozen=True)
class Share:
    """A member's share of its community's retained surplus (结余分配)."""

    institution_id: str
    community_id: str
    tier: Tier
    score: Decimal
    weight: Decimal
    tier_amount: Decimal
    amount: Decimal
