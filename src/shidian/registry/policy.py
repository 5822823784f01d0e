"""Registry policy (严重精神障碍患者管理政策参数): follow-up intervals, yearly requirements,
guardian-reward basis and targets, declared once.

The national service standard (国家基本公共卫生服务规范（第三版）) fixes the intervals; a province
may tighten them by shipping a new policy file. ``docs/policies/registry.md`` is generated from
``PARAMS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from shidian.policy import (
    Param,
    Policy,
    PolicyKind,
    choice,
    decimal,
    integer,
    load_policy,
    typed_policy,
)
from shidian.problems import Problem

STANDARD = "国家基本公共卫生服务规范（第三版）严重精神障碍患者管理服务规范"
ZERO, ONE = Decimal(0), Decimal(1)

PARAMS: tuple[Param, ...] = (
    Param(
        "intervals.first_after_registration_days",
        integer(min=1, max=366),
        f"{STANDARD} 1 (首次随访期限未载明, 本系统约定); 000 篇3 第12项",
        "登记后首次随访最迟天数 (days)",
        field="first_followup_days",
    ),
    Param(
        "intervals.unstable_days",
        integer(min=1, max=366),
        f"{STANDARD} 4(1)",
        "病情不稳定: 下次随访最迟天数 (days)",
        field="unstable_days",
    ),
    Param(
        "intervals.basic_first_days",
        integer(min=1, max=366),
        f"{STANDARD} 4(2)",
        "病情基本稳定: 首次随访间隔天数 (days)",
        field="basic_first_days",
    ),
    Param(
        "intervals.basic_stabilised_months",
        integer(min=1, max=12),
        f"{STANDARD} 4(2)",
        "基本稳定者复诊时趋于稳定: 下次随访间隔月数 (months)",
        field="basic_stabilised_months",
    ),
    Param(
        "intervals.basic_not_stabilised_months",
        integer(min=1, max=12),
        f"{STANDARD} 4(2)",
        "基本稳定者复诊时未达到稳定: 下次随访间隔月数 (months)",
        field="basic_not_stabilised_months",
    ),
    Param(
        "intervals.stable_months",
        integer(min=1, max=12),
        f"{STANDARD} 4(3)",
        "病情稳定: 下次随访间隔月数 (months)",
        field="stable_months",
    ),
    Param(
        "year.min_followups",
        integer(min=1, max=52),
        f"{STANDARD} 3; 000 篇3 第12项",
        "每年至少随访次数 (含危险性评估)",
        field="min_followups",
    ),
    Param(
        "year.health_checks",
        integer(min=0, max=12),
        f"{STANDARD} 5",
        "每年健康检查次数",
        field="health_checks",
    ),
    Param(
        "worklist.due_soon_days",
        integer(min=0, max=90),
        "本系统约定",
        "工作清单提前提示天数",
        field="due_soon_days",
    ),
    Param(
        "worklist.township_warning_days",
        integer(min=0, max=365),
        "本系统约定",
        "逾期超过此天数列为乡镇预警",
        field="township_warning_days",
    ),
    Param(
        "rewards.high_level",
        integer(min=1, max=5),
        "000 篇3 第11项",
        "“三级以上” 的起点等级 (含)",
        field="reward_high_level",
    ),
    Param(
        "rewards.high_min_yuan",
        decimal(min=ZERO),
        "000 篇3 第11项",
        "三级以上患者监护奖励下限, 元/年",
        field="reward_high_min_yuan",
    ),
    Param(
        "rewards.low_min_yuan",
        decimal(min=ZERO),
        "000 篇3 第11项",
        "三级以下患者监护奖励下限, 元/年",
        field="reward_low_min_yuan",
    ),
    Param(
        "rewards.basis",
        choice("annual", "latest", "highest"),
        "000 篇3 第11项 “每年定期开展…危险等级评估”",
        "奖励依据: annual 年度定期评估 (标记者, 无标记取年内最后一次) / latest 年内最后一次评估 / "
        "highest 年内最高等级 (非原文读法)",
        field="reward_basis",
    ),
    Param(
        "targets.managed_rate",
        decimal(min=ZERO, max=ONE),
        "000 篇3 第12项; 000 篇7 (八)",
        "在册患者规范管理率目标",
    ),
    Param(
        "targets.treatment_rate",
        decimal(min=ZERO, max=ONE),
        "000 篇3 第12项; 000 篇7 (八)",
        "在册患者治疗率目标",
    ),
    Param(
        "targets.schizophrenia_treatment_rate",
        decimal(min=ZERO, max=ONE),
        "000 篇3 第12项; 000 篇7 (八)",
        "精神分裂症治疗率目标",
    ),
    Param(
        "targets.rehab_rate",
        decimal(min=ZERO, max=ONE),
        "000 篇3 第14项; 000 篇7 (八)",
        "居家患者社区康复参与率目标",
    ),
    Param(
        "targets.psy_support_rate",
        decimal(min=ZERO, max=ONE),
        "000 篇3 第14项; 000 篇7 (八)",
        "基层医疗卫生机构对居家患者及家属提供心理疏导服务比例目标",
    ),
)


@dataclass(frozen=True)
class RegistryPolicy:
    """The typed view of a registry policy."""

    source: Policy
    first_followup_days: int
    unstable_days: int
    basic_first_days: int
    basic_stabilised_months: int
    basic_not_stabilised_months: int
    stable_months: int
    min_followups: int
    health_checks: int
    due_soon_days: int
    township_warning_days: int
    reward_high_level: int
    reward_high_min_yuan: Decimal
    reward_low_min_yuan: Decimal
    reward_basis: str
    targets: Mapping[str, Decimal]

    @property
    def name(self) -> str:
        return self.source.meta.id


def parse_registry_policy(text: str, source: str) -> tuple[RegistryPolicy | None, list[Problem]]:
    """Validate a registry policy's TOML text; every problem names the file, key and line."""
    policy, problems = load_policy(text, source, PARAMS)
    if policy is None:
        return None, problems
    v: Mapping[str, Any] = policy.values
    return (
        typed_policy(
            RegistryPolicy,
            policy,
            targets={k.removeprefix("targets."): v[k] for k in v if k.startswith("targets.")},
        ),
        [],
    )


#: The registry policies: ``POLICIES.load(name, policy_file)``, ``POLICIES.named(name)``.
POLICIES = PolicyKind("registry", "严重精神障碍患者管理 (SMD registry)", PARAMS, parse_registry_policy)


def registry_policy(name: str = "national-2018") -> RegistryPolicy:
    """A shipped registry policy (raises on a broken shipped file: a programming error)."""
    return POLICIES.named(name)
