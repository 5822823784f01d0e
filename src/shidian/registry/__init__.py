"""Severe mental disorder registry (严重精神障碍患者管理): the pure core.

``model`` (disorders, statuses, roles), ``risk`` (危险性评估 levels and the behaviour
checklist), ``followup`` (classification at each follow-up, next due date), ``policy`` (the
intervals, from ``policies/registry/*.toml``), ``indicators`` (在册患者规范管理率 …, interfaces.md
shape 1) and ``rewards`` (有奖监护 guardian list, shape 3). See docs/registry.md.

Around it: ``records`` (the shapes workflows take and give), ``io`` (files), ``events`` (audit),
``store`` (the tables) and ``service`` (the workflows every door calls).
"""

from shidian.registry.followup import FollowUpFindings, classify, next_due_on
from shidian.registry.indicators import INDICATORS, Period, compute_indicators, indicator_sql
from shidian.registry.model import DISORDERS, disorder_of, normalise_icd10
from shidian.registry.policy import PARAMS, RegistryPolicy, parse_registry_policy, registry_policy
from shidian.registry.rewards import guardian_rewards
from shidian.registry.risk import BEHAVIOURS, RISK_LEVELS, suggest_level

__all__ = [
    "BEHAVIOURS",
    "DISORDERS",
    "INDICATORS",
    "PARAMS",
    "RISK_LEVELS",
    "FollowUpFindings",
    "Period",
    "RegistryPolicy",
    "classify",
    "compute_indicators",
    "disorder_of",
    "guardian_rewards",
    "indicator_sql",
    "next_due_on",
    "normalise_icd10",
    "parse_registry_policy",
    "registry_policy",
    "suggest_level",
]
