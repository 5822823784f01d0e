"""The policies API (政策文件): the same policies as the pages, as JSON."""

from __future__ import annotations

from fastapi import APIRouter

from shidian.web.errors import responses as error_responses
from shidian.web.policies.models import PolicyDetail, PolicySummary, list_policies
from shidian.web.policies.pages import Reader, found

router = APIRouter()


@router.get("/api/policies", response_model=list[PolicySummary], responses=error_responses(401))
def policies_api(user: Reader) -> list[PolicySummary]:
    """Every shipped policy of every domain."""
    return list_policies()


@router.get("/api/policies/{domain}/{name}", response_model=PolicyDetail, responses=error_responses(401, 404))
def policy_api(user: Reader, domain: str, name: str) -> PolicyDetail:
    """One policy: metadata, each parameter with its value, article and help, and the TOML text."""
    return found(domain, name)
