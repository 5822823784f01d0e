"""Capitation policy (医共体按人头总额预付政策参数): 001 第十七篇's parameters, declared once.

``PARAMS`` is the table every capitation policy file is validated against; ``CapitationPolicy``
is the frozen, typed view the core computes with; ``POLICIES`` loads the shipped ones by name.
``docs/policies/capitation.md`` is generated from ``PARAMS``. Readings the text leaves open are
parameters whose reference values are explained in ``docs/capitation.md``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from shidian.capitation.model import TIERS
from shidian.policy import Converter, Param, Policy, PolicyKind, decimal, integer, load_policy, typed_policy
from shidian.problems import Problem, Source

ZERO, ONE = Decimal(0), Decimal(1)
ART_POT = "001 第十七篇 四(二)1(1)"
ART_TIERS = "001 第十七篇 四(四)3"
ART_PREPAY = "001 第十七篇 七(二)"


def _ratio() -> Converter:
    def convert(value: Any) -> Decimal:
        number: Decimal = decimal(min=ZERO, max=ONE)(value)
        if number != number.quantize(Decimal("0.0001")):
            raise ValueError(f"比例最多四位小数, 实际为 {number}")
        return number

    return convert


def date_list() -> Converter:
    """A TOML array of distinct dates (may be empty), sorted."""

    def convert(value: Any) -> tuple[dt.date, ...]:
        if not isinstance(value, list) or any(
            not isinstance(v, dt.date) or isinstance(v, dt.datetime) for v in value
        ):
            raise ValueError(f"应为日期 (YYYY-MM-DD) 组成的数组, 实际为 {value!r}")
        if len(set(value)) != len(value):
            raise ValueError("数组中有重复的日期")
        return tuple(sorted(value))

    return convert


PARAMS: tuple[Param, ...] = (
    Param(
        "reserve.increase_ratio",
        _ratio(),
        ART_POT,
        "增量资金风险金占筹资增量的比例 (risk reserve ÷ funding increase over last year); 筹资未增加时为 0",
        field="reserve_ratio",
    ),
    Param(
        "pot.ratio",
        _ratio(),
        ART_POT,
        "预算基数中作为医共体按人头总额预算基金的比例 (share of the budget base given to the 医共体); "
        "其余留作基金调节金",
        field="pot_ratio",
    ),
    Param(
        "prepayment.due_working_day",
        integer(min=1, max=60),
        ART_PREPAY,
        "每季度预拨的最迟工作日 (the quarterly prepayment is due by this working day of the quarter)",
        field="due_working_day",
    ),
    Param(
        "calendar.holidays",
        date_list(),
        ART_PREPAY,
        "法定节假日 (non-working weekdays); 周一至周五中不计入工作日的日期",
        default=(),
        required=False,
        field="holidays",
    ),
    Param(
        "calendar.workdays",
        date_list(),
        ART_PREPAY,
        "调休上班日 (weekend days that are working days)",
        default=(),
        required=False,
        field="workdays",
    ),
    Param(
        "surplus.retained_ratio",
        _ratio(),
        ART_POT,
        "结余留用的比例 (share of the surplus the 医共体 keeps; the rest returns to the fund)",
        field="retained_ratio",
    ),
    *(
        Param(
            f"surplus.tier_weight.{tier}",
            decimal(min=ZERO),
            ART_TIERS,
            f"结余在县、乡、村之间再分配的权重: {label} (6:3:1)",
        )
        for tier, label in zip(TIERS, ("县级医院", "乡镇卫生院", "村卫生室"), strict=True)
    ),
    Param(
        "surplus.pass_mark",
        decimal(min=ZERO, max=Decimal(100)),
        ART_POT,
        "绩效考核合格分 (pass mark of the assessment score, 0–100)",
        field="pass_mark",
    ),
    Param(
        "surplus.below_pass_factor",
        _ratio(),
        ART_POT,
        "考核不合格单位的分配权重系数 (a member under the pass mark weighs score × this; 0 = no share)",
        field="below_pass_factor",
    ),
    Param(
        "overspend.reasonable_ratio",
        _ratio(),
        ART_POT,
        "合理超支的上限, 占该医共体预算基金的比例 (the reasonable overspend is at most pot × this)",
        field="reasonable_ratio",
    ),
    Param(
        "overspend.fund_ratio",
        _ratio(),
        ART_POT,
        "合理超支中由医保基金分担的比例 (the fund's share of the reasonable overspend), "
        "先从增量资金风险金中列支",
        field="fund_ratio",
    ),
)


@dataclass(frozen=True)
class CapitationPolicy:
    """The typed capitation policy the core computes with."""

    source: Policy
    reserve_ratio: Decimal
    pot_ratio: Decimal
    due_working_day: int
    holidays: tuple[dt.date, ...]
    workdays: tuple[dt.date, ...]
    retained_ratio: Decimal
    tier_weights: Mapping[str, Decimal]
    pass_mark: Decimal
    below_pass_factor: Decimal
    reasonable_ratio: Decimal
    fund_ratio: Decimal

    def article(self, key: str) -> str:
        return self.source.article(key)


def parse_policy(text: str, source: str) -> tuple[CapitationPolicy | None, list[Problem]]:
    """Validate a capitation policy file; the typed policy, or None and every problem."""
    policy, problems = load_policy(text, source, PARAMS)
    if policy is None:
        return None, problems
    weights = MappingProxyType({t: policy.values[f"surplus.tier_weight.{t}"] for t in TIERS})
    if sum(weights.values(), ZERO) <= 0:
        return None, [
            Problem(
                "policy.param.invalid",
                "参数 surplus.tier_weight 无效: 县、乡、村权重之和应大于 0",
                Source(source, key="surplus.tier_weight"),
            )
        ]
    return typed_policy(CapitationPolicy, policy, tier_weights=weights), []


POLICIES: PolicyKind[CapitationPolicy] = PolicyKind(
    "capitation", "Capitation policy parameters (医共体按人头总额预付政策参数)", PARAMS, parse_policy
)
