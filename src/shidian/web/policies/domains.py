"""Policy domains the web app shows (政策领域): each domain's ``POLICIES`` (title, parameters,
shipped files, loading by name). A new domain adds one line here; the policy pages and API list it."""

from __future__ import annotations

from typing import Any

from shidian.drg.policy import POLICIES as DRG
from shidian.insurance.model import CATEGORY_LABELS as INSURANCE_CATEGORY_LABELS
from shidian.insurance.model import KIND_LABELS as INSURANCE_KIND_LABELS
from shidian.insurance.policy import POLICIES as INSURANCE
from shidian.policy import PolicyKind
from shidian.registry.policy import POLICIES as REGISTRY

#: domain → how to read and show its policies.
DOMAINS: dict[str, PolicyKind[Any]] = {kind.domain: kind for kind in (DRG, INSURANCE, REGISTRY)}

#: Coded values of policy parameters → their Chinese names, for the Chinese pages
#: (人员类别, 就诊类型, 监护奖励依据, DRG switches); a value not listed is shown as written.
VALUE_LABELS: dict[str, str] = {
    **INSURANCE_CATEGORY_LABELS,
    **INSURANCE_KIND_LABELS,
    "annual": "年度定期评估",
    "latest": "年内最后一次评估",
    "highest": "年内最高等级",
    "as_written": "按原文",
    "true": "是",
    "false": "否",
}
