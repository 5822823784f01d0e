"""Shapes of the policy pages and API (政策文件), read through each domain's ``POLICIES``.

For each policy: its metadata, every parameter with its value, the article behind it and
its help text (from the domain's ``PARAMS`` table), and the TOML file itself with its
Chinese comments.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, Field

from shidian import display
from shidian.policy import Policy
from shidian.web.policies.domains import DOMAINS, VALUE_LABELS


class PolicySummary(BaseModel):
    """A shipped policy (政策文件): which domain, which file, which version, which seed."""

    domain: str
    domain_title: str
    name: str
    id: str
    title: str
    region: str
    version: str
    effective_from: dt.date
    effective_to: dt.date | None
    seed: str
    supersedes: str | None
    sha256: str


class PolicyParam(BaseModel):
    """One parameter: key, value as written (decimals as text), article, help."""

    key: str
    value: str
    article: str
    help: str
    shown: str = Field(default="", description="取值, 按中文页面显示 (代码译为中文名称, 金额加千分位)")
    label: str = Field(default="", description="参数的中文名称 (含义的第一句)")


class PolicyDetail(PolicySummary):
    source: str
    params: list[PolicyParam]
    text: str


def show_value(value: Any) -> str:
    """A parameter value as people read it: exact decimals, tables as ``key=value`` rows."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, tuple | list) and value and isinstance(value[0], tuple | list):
        return _inner(value)  # bands (大病保险 major.bands): [[3000.00, 0.50], …]
    if isinstance(value, tuple | list):
        return "; ".join(show_value(v) for v in value)
    if isinstance(value, Mapping):  # a row of a table array; keys it leaves out are not shown
        return ", ".join(f"{k}={_inner(v)}" for k, v in value.items() if v is not None)
    return "" if value is None else str(value)


def _inner(value: Any) -> str:
    """A value inside a table row: arrays in brackets (``levels=[1, 2]``, ``bands=[[0, 0.6], …]``)."""
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_inner(v) for v in value) + "]"
    return show_value(value)


#: Parameter keys ending so are ratios: shown as percentages (0.75 → 75%).
RATIO_ENDINGS = ("ratio", "rate", "limit", "share")


def shown_value(value: Any, key: str = "") -> str:
    """A parameter value on the Chinese page: codes by their names (``wubao`` → 五保户),
    amounts with separators (45,000), ratios as percentages, lists joined with 、."""
    if isinstance(value, Decimal) and key.endswith(RATIO_ENDINGS) and abs(value) <= 1:
        return display.percent(value)
    if isinstance(value, bool):
        return VALUE_LABELS["true" if value else "false"]
    if isinstance(value, Decimal):
        return display.number(value) if value == value.to_integral_value() else display.grouped(value)
    if isinstance(value, tuple | list):
        return "、".join(shown_value(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{VALUE_LABELS.get(str(k), k)}={shown_value(v)}" for k, v in value.items())
    if isinstance(value, str):
        return VALUE_LABELS.get(value, value)
    return "" if value is None else str(value)


@lru_cache(maxsize=16)
def _names(domain: str) -> tuple[str, ...]:
    return tuple(DOMAINS[domain].names()) if domain in DOMAINS else ()


@lru_cache(maxsize=64)
def _policy(domain: str, name: str) -> tuple[Policy, str] | None:
    """The validated policy and its TOML text; None when not shipped or not valid."""
    if name not in _names(domain):
        return None
    kind = DOMAINS[domain]
    try:
        typed = kind.named(name)
    except ValueError:
        return None
    return typed.source, kind.text(name)


def _summary(domain: str, name: str, policy: Policy) -> dict[str, Any]:
    meta = policy.meta
    return {
        "domain": domain,
        "domain_title": DOMAINS[domain].title,
        "name": name,
        "id": meta.id,
        "title": meta.name,
        "region": meta.region,
        "version": meta.version,
        "effective_from": meta.effective_from,
        "effective_to": meta.effective_to,
        "seed": meta.seed,
        "supersedes": meta.supersedes,
        "sha256": policy.sha256,
    }


def list_policies() -> list[PolicySummary]:
    """Every shipped, valid policy of every domain, by domain then name."""
    found = []
    for domain in DOMAINS:
        for name in _names(domain):
            loaded = _policy(domain, name)
            if loaded is not None:
                found.append(PolicySummary(**_summary(domain, name, loaded[0])))
    return found


def policy_detail(domain: str, name: str) -> PolicyDetail | None:
    """One policy with each parameter's value, article and help, and its text; None if unknown."""
    loaded = _policy(domain, name)
    if loaded is None:
        return None
    policy, text = loaded
    params = [
        PolicyParam(
            key=p.key,
            value=show_value(policy.values.get(p.key)),
            article=p.article,
            help=p.help,
            shown=shown_value(policy.values.get(p.key), p.key),
            label=p.help.split(" (")[0].split(": ")[0] if p.help else p.key,
        )
        for p in DOMAINS[domain].params
    ]
    return PolicyDetail(**_summary(domain, name, policy), source=policy.source, params=params, text=text)
