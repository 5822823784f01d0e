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
from shidian.capitation.primary_care import PrimaryCarePolicy
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


# ---- public-health and primary-care money (002 篇四; 001 第十八篇) ---------------------------


def _money() -> Converter:
    def convert(value: Any) -> Decimal:
        number: Decimal = decimal(min=ZERO)(value)
        if number != number.quantize(Decimal("0.01")):
            raise ValueError(f"金额最多两位小数, 实际为 {number}")
        return number.quantize(Decimal("0.01"))

    return convert


PRIMARY_CARE_PARAMS: tuple[Param, ...] = (
    Param(
        "public_health.per_capita",
        _money(),
        "002 篇四 二(一)",
        "基本公共卫生服务经费人均标准, 元/人·年 (per-capita amount, a policy value per year)",
        field="per_capita",
    ),
    Param(
        "public_health.per_capita_minimum",
        _money(),
        "002 篇四 二(一)",
        "人均标准的下限 (“不低于人均25元”): 人均标准低于它时政策文件无效",
    ),
    Param(
        "public_health.prepaid_ratio",
        _ratio(),
        "001 第十八篇",
        "年初预拨的比例 (“年初预拨部分工作经费,绩效考核后发放”)",
        field="prepaid_ratio",
    ),
    Param(
        "assessment.pass_mark",
        decimal(min=ZERO, max=Decimal(100)),
        "002 篇四 三(四)",
        "绩效考核合格分; 低于它的每一分扣减 deduction_per_point 的资金 (“对绩效考核差的可扣减资金安排”)",
        field="pass_mark",
    ),
    Param(
        "assessment.deduction_per_point",
        _ratio(),
        "002 篇四 三(四)",
        "低于合格分每一分扣减的资金比例 (share of the money deducted per point under the pass mark)",
        field="deduction_per_point",
    ),
    Param(
        "assessment.reward_mark",
        decimal(min=ZERO, max=Decimal(100)),
        "002 篇四 三(四)",
        "奖励分: 达到它的医共体按预算比例分得扣减的公共卫生经费 (“对绩效考核好的可给予适当奖励”)",
        field="reward_mark",
    ),
    Param(
        "village.min_ratio",
        _ratio(),
        "002 篇四 四",
        "村卫生室承担的基本公共卫生服务工作量及经费的下限 (“不低于40%”)",
        field="village_min_ratio",
    ),
    Param(
        "village.subsidy_floor",
        _money(),
        "002 篇四 四",
        "每个行政村每年补助总额的下限 (“原则上每个行政村每年补助总额不低于10000元”), 元",
        field="village_floor",
    ),
    Param(
        "village.provincial_subsidy",
        _money(),
        "002 篇四 四",
        "省财政对考核达标村卫生室的补助 (“每个行政村一个卫生室每年5000元”), 元",
        field="provincial_per_village",
    ),
)


def parse_primary_care_policy(text: str, source: str) -> tuple[PrimaryCarePolicy | None, list[Problem]]:
    """Validate a primary-care policy file; the typed policy, or None and every problem."""
    policy, problems = load_policy(text, source, PRIMARY_CARE_PARAMS)
    if policy is None:
        return None, problems
    minimum = policy.values["public_health.per_capita_minimum"]
    if policy.values["public_health.per_capita"] < minimum:
        return None, [
            Problem(
                "policy.param.invalid",
                f"参数 public_health.per_capita 无效: 应不低于人均 {minimum} 元 (002 篇四 二(一))",
                Source(source, key="public_health.per_capita"),
            )
        ]
    return typed_policy(PrimaryCarePolicy, policy), []


PRIMARY_CARE_POLICIES: PolicyKind[PrimaryCarePolicy] = PolicyKind(
    "primary-care",
    "Primary-care policy parameters (基本公共卫生经费与基层补偿政策参数)",
    PRIMARY_CARE_PARAMS,
    parse_primary_care_policy,
)
