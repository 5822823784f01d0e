"""Policy domains the web app shows (政策领域): domain → title, parameter table, parser.

One entry per domain whose policies are shipped in ``shidian/policies/<domain>/`` and declared
by a ``PARAMS`` table. A new domain adds one line here; the policy pages and API list it with
no other change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from shidian.drg.policy import PARAMS as DRG_PARAMS
from shidian.drg.policy import parse_drg_policy
from shidian.insurance.policy import PARAMS as INSURANCE_PARAMS
from shidian.insurance.policy import parse_insurance_policy
from shidian.policy import Param, Policy
from shidian.problems import Problem
from shidian.registry.policy import PARAMS as REGISTRY_PARAMS
from shidian.registry.policy import parse_registry_policy


class DomainPolicy(Protocol):
    """What a domain's parser returns: a typed policy that keeps its validated source."""

    @property
    def source(self) -> Policy: ...


Parser = Callable[[str, str], tuple[DomainPolicy | None, list[Problem]]]


@dataclass(frozen=True)
class PolicyDomain:
    title: str
    params: tuple[Param, ...]
    parse: Parser


#: domain → how to read and show its policies. The insurance domain joins with
#: ``"insurance": PolicyDomain("城乡居民医保", insurance.policy.PARAMS, parse_insurance_policy)``.
DOMAINS: dict[str, PolicyDomain] = {
    "drg": PolicyDomain("DRG点数法付费 (DRG point-method payment)", DRG_PARAMS, parse_drg_policy),
    "insurance": PolicyDomain(
        "城乡居民医保 (resident medical insurance)", INSURANCE_PARAMS, parse_insurance_policy
    ),
    "registry": PolicyDomain("严重精神障碍患者管理 (SMD registry)", REGISTRY_PARAMS, parse_registry_policy),
}
