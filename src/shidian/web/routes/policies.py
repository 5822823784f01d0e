"""Policies in force (政策文件): every shipped policy of every domain, readable.

For each policy: its metadata, every parameter with its value, the article behind it and
its help text (from the domain's ``PARAMS`` table), and the TOML file itself with its
Chinese comments. Any signed-in user may read policies. Domains come from
``shidian.web.policy_domains.DOMAINS``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel

from shidian.platform.accounts import User
from shidian.policy import Policy, read_reference_policy, reference_policy_names
from shidian.web.deps import require
from shidian.web.errors import responses as error_responses
from shidian.web.policy_domains import DOMAINS
from shidian.web.templating import render

router = APIRouter()
Reader = Annotated[User, Depends(require("policies.view"))]


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
    if isinstance(value, tuple | list):
        return "; ".join(show_value(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={show_value(v)}" for k, v in value.items())
    return "" if value is None else str(value)


@lru_cache(maxsize=64)
def _policy(domain: str, name: str) -> tuple[Policy, str] | None:
    """The validated policy and its TOML text; None when not shipped or not valid."""
    if domain not in DOMAINS or name not in _names(domain):
        return None
    text, source = read_reference_policy(domain, name)
    parsed, _ = DOMAINS[domain].parse(text, source)
    return None if parsed is None else (parsed.source, text)


@lru_cache(maxsize=16)
def _names(domain: str) -> tuple[str, ...]:
    try:
        return tuple(reference_policy_names(domain))
    except FileNotFoundError:
        return ()


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
    found = []
    for domain in DOMAINS:
        for name in _names(domain):
            loaded = _policy(domain, name)
            if loaded is not None:
                found.append(PolicySummary(**_summary(domain, name, loaded[0])))
    return found


def policy_detail(domain: str, name: str) -> PolicyDetail:
    loaded = _policy(domain, name)
    if loaded is None:
        raise HTTPException(status_code=404, detail="没有该政策文件 (no such policy)")
    policy, text = loaded
    params = [
        PolicyParam(key=p.key, value=show_value(policy.values.get(p.key)), article=p.article, help=p.help)
        for p in DOMAINS[domain].params
    ]
    return PolicyDetail(**_summary(domain, name, policy), source=policy.source, params=params, text=text)


@router.get("/policies", include_in_schema=False)
def policies_page(request: Request, user: Reader) -> Response:
    policies = list_policies()
    by_domain = {d: [p for p in policies if p.domain == d] for d in DOMAINS}
    return render(request, "policies.html", {"by_domain": by_domain, "domains": DOMAINS})


@router.get("/policies/{domain}/{name}", include_in_schema=False)
def policy_page(request: Request, user: Reader, domain: str, name: str) -> Response:
    return render(request, "policies_detail.html", {"policy": policy_detail(domain, name)})


@router.get("/api/policies", response_model=list[PolicySummary], responses=error_responses(401))
def policies_api(user: Reader) -> list[PolicySummary]:
    """Every shipped policy of every domain."""
    return list_policies()


@router.get("/api/policies/{domain}/{name}", response_model=PolicyDetail, responses=error_responses(401, 404))
def policy_api(user: Reader, domain: str, name: str) -> PolicyDetail:
    """One policy: metadata, each parameter with its value, article and help, and the TOML text."""
    return policy_detail(domain, name)
