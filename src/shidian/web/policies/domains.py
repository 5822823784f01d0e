"""Policy domains the web app shows (政策领域): each domain's ``POLICIES`` (title, parameters,
shipped files, loading by name). A new domain adds one line here; the policy pages and API list it."""

from __future__ import annotations

from typing import Any

from shidian.drg.policy import POLICIES as DRG
from shidian.insurance.policy import POLICIES as INSURANCE
from shidian.policy import PolicyKind
from shidian.registry.policy import POLICIES as REGISTRY

#: domain → how to read and show its policies.
DOMAINS: dict[str, PolicyKind[Any]] = {kind.domain: kind for kind in (DRG, INSURANCE, REGISTRY)}
