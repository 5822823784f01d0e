"""Policies in force (政策文件): every shipped policy of every domain, readable.

Any signed-in user may read policies. Domains come from
``shidian.web.policies.domains.DOMAINS``; each policy is read through its domain's ``POLICIES``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from shidian.platform.accounts import User
from shidian.web.deps import require
from shidian.web.policies.domains import DOMAINS
from shidian.web.policies.models import PolicyDetail, list_policies, policy_detail
from shidian.web.templating import render

router = APIRouter()
Reader = Annotated[User, Depends(require("policies.view"))]


def found(domain: str, name: str) -> PolicyDetail:
    """The policy, or 404."""
    detail = policy_detail(domain, name)
    if detail is None:
        raise HTTPException(status_code=404, detail="没有该政策文件 (no such policy)")
    return detail


@router.get("/policies", include_in_schema=False)
def policies_page(request: Request, user: Reader) -> Response:
    policies = list_policies()
    by_domain = {d: [p for p in policies if p.domain == d] for d in DOMAINS}
    return render(request, "policies.html", {"by_domain": by_domain, "domains": DOMAINS})


@router.get("/policies/{domain}/{name}", include_in_schema=False)
def policy_page(request: Request, user: Reader, domain: str, name: str) -> Response:
    return render(request, "policies_detail.html", {"policy": found(domain, name)})
