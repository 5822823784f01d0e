"""The reward rules' data model (以奖代补规则): fund, facts, stages and named steps.

Frozen records built by ``rules.parse_rules`` from a rule file; see that module for the
vocabulary. ``stage_pots`` splits the fund's pot between stages to the fen. ``StageResult`` is
a stage's totals, shared by ``allocation`` (which makes them), ``checks`` and ``trail``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Literal

from shidian.money import ONE, ZERO, round_fen, split_largest_remainder
from shidian.policy import Policy, PolicyMeta

CutMode = Literal["return", "redistribute"]
CUT_MODES: tuple[CutMode, ...] = ("return", "redistribute")
CUT_LABELS = {"return": "退回资金", "redistribute": "在其他单位间再分配"}
STEP_KINDS = ("threshold", "share", "rate", "per_person", "own_funds", "bands", "cap", "budget")
STEP_LABELS = {
    "threshold": "门槛",
    "share": "按权重分配",
    "rate": "按量计奖",
    "per_person": "按人计奖",
    "own_funds": "按本单位资金拨付",
    "bands": "按考核分档结算",
    "cap": "封顶",
    "budget": "预算封顶",
}
ALLOCATORS = ("share", "rate", "per_person", "own_funds")
FACT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
RESERVED_FACTS = frozenset({"unit_code", "unit_name", "recipient_id", "category", "basis"})
#: A fact keeps at most this many decimals (like points, 000 篇6 第十五条).
FACT_SCALE = 8


@dataclass(frozen=True)
class Fact:
    """A fact a unit reports (事实): name, Chinese label, allowed range (inclusive)."""

    name: str
    label: str
    min: Decimal = ZERO
    max: Decimal | None = None
    unit: str = ""


@dataclass(frozen=True)
class Step:
    """One named step (规则步骤) of a stage; the fields used depend on ``kind``.

    threshold: ``fact`` ≥ ``min``; share: ``weight`` (facts multiplied); rate: ``quantity`` ×
    ``rate``; per_person: ``rates`` by category with ``labels``; cap: ``max`` yuan or the fact
    ``max_fact`` × ``ratio`` (rounded half up to the fen), ``cut`` overriding the fund's; budget: ``amount`` (default: the stage's pot);
    own_funds: the unit's own ``base`` × ``ratio``, or with ``rest`` what earlier own_funds stages
    on the same base left of it; bands: ``fact`` and ``bands`` ((min, ratio) from the highest min
    down; below the lowest min: nothing).
    """

    id: str
    kind: str
    name: str
    name_en: str = ""
    fact: str = ""
    min: Decimal = ZERO
    weight: tuple[str, ...] = ()
    quantity: str = ""
    rate: Decimal = ZERO
    rates: Mapping[str, Decimal] = field(default_factory=lambda: MappingProxyType({}))
    labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    max: Decimal | None = None
    max_fact: str = ""
    ratio: Decimal = ONE
    cut: CutMode | None = None
    amount: Decimal | None = None
    article: str = ""
    base: str = ""
    rest: bool = False
    bands: tuple[tuple[Decimal, Decimal], ...] = ()

    @property
    def title(self) -> str:
        return f"{self.name} ({self.name_en})" if self.name_en else self.name


@dataclass(frozen=True)
class Stage:
    """A stage (阶段) of the fund: its pot (share of the fund or fixed amount) and its steps."""

    id: str
    name: str
    name_en: str
    pot_ratio: Decimal | None
    amount: Decimal | None
    steps: tuple[Step, ...]
    article: str = ""

    @property
    def allocator(self) -> Step:
        return next(s for s in self.steps if s.kind in ALLOCATORS)

    @property
    def thresholds(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.kind == "threshold")

    @property
    def cap(self) -> Step | None:
        return next((s for s in self.steps if s.kind == "cap"), None)

    @property
    def budget(self) -> Step | None:
        return next((s for s in self.steps if s.kind == "budget"), None)

    @property
    def bands(self) -> Step | None:
        return next((s for s in self.steps if s.kind == "bands"), None)

    @property
    def title(self) -> str:
        return f"{self.name} ({self.name_en})" if self.name_en else self.name


@dataclass(frozen=True)
class Fund:
    """The fund (资金): its name, pot (None = open-ended) and where cut amounts go."""

    name: str
    pot: Decimal | None
    cut: CutMode
    unit_label: str = "单位"


@dataclass(frozen=True)
class RewardRules:
    """A validated rule file: metadata, fund, facts, stages; the source and its content hash."""

    meta: PolicyMeta
    fund: Fund
    facts: tuple[Fact, ...]
    stages: tuple[Stage, ...]
    source: str
    sha256: str
    overrides: tuple[tuple[str, str], ...] = ()

    def fact(self, name: str) -> Fact:
        return next(f for f in self.facts if f.name == name)

    def stage_pot(self, stage: Stage) -> Decimal | None:
        """The stage's pot in yuan (fen-exact; the ratio of the fund is rounded half up)."""
        if stage.amount is not None:
            return stage.amount
        if stage.pot_ratio is not None and self.fund.pot is not None:
            return stage_pots(self)[stage.id]
        return None

    @property
    def per_person(self) -> bool:
        return any(s.allocator.kind == "per_person" for s in self.stages)

    @property
    def unit_facts(self) -> tuple[Fact, ...]:
        return self.facts

    def as_policy(self) -> Policy:
        """The rule file as a ``Policy`` record (for run.json)."""
        return Policy(self.meta, MappingProxyType({}), self.source, self.sha256)


def stage_pots(rules: RewardRules) -> dict[str, Decimal]:
    """The pots of the stages that take a ratio of the fund, split to the fen so they sum exactly
    to the fund's pot when the ratios sum to 1 (largest remainder, in stage order)."""
    ratio_stages = [s for s in rules.stages if s.amount is None and s.pot_ratio is not None]
    if rules.fund.pot is None or not ratio_stages:
        return {}
    ratio_sum = sum((s.pot_ratio or ZERO for s in ratio_stages), ZERO)
    if ratio_sum <= 0:
        return {s.id: ZERO for s in ratio_stages}
    total = round_fen(rules.fund.pot * ratio_sum)
    parts = split_largest_remainder(total, [s.pot_ratio or ZERO for s in ratio_stages])
    return {s.id: p for s, p in zip(ratio_stages, parts, strict=True)}


@dataclass(frozen=True)
class StageResult:
    """A stage's totals (阶段汇总), in yuan: what the explanation and the checks quote."""

    index: int
    stage_id: str
    pot: Decimal | None
    allocated: Decimal
    cut_threshold: Decimal
    cut_cap: Decimal
    unallocated: Decimal
    eligible: int
    capped: int
    weight_sum: Decimal | None = None  # Σ weight of the units that shared the pot (display)
    shared_pot: Decimal | None = None  # the pot shared by weight (after fixed caps)
    pool_is_eligible: bool = True  # the weight sum runs over eligible units only
    before_budget: Decimal | None = None
    budget: Decimal | None = None
    categories: dict[str, int] = field(default_factory=dict)
