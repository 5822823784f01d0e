"""What every registry workflow shares: the policy in force, the caller's scope, how it refuses."""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa

from shidian.platform.access import require_permission
from shidian.platform.accounts import User
from shidian.problems import Problem, Refused, Source, refusal
from shidian.registry.policy import RegistryPolicy, registry_policy
from shidian.registry.store import patients
from shidian.registry.store.scope import Scope

POLICY_NAME = "national-2018"
NOT_FOUND = "没有该患者, 或不在您负责的地区 (not found)"
REQUEST = "<request>"


@functools.cache
def policy() -> RegistryPolicy:
    """The registry policy in force."""
    return registry_policy(POLICY_NAME)


def problem(code: str, message: str, column: str | None = None, source: str = "request") -> Problem:
    return Problem(code, message, Source(source, column=column))


def not_found() -> Refused:
    """No such patient or area, or one outside the caller's scope: the same answer for both."""
    return refusal("not_found", "not_found", NOT_FOUND)


def require(user: User, action: str) -> None:
    """Refuse (``forbidden``) a user whose role may not take ``action``."""
    require_permission(user, action)


def find_in_scope(conn: sa.Connection, scope: Scope, registry_no: str) -> Any:
    """The patient's row, or ``not_found`` when there is none or it is outside ``scope``."""
    row = patients.find_row(conn, registry_no)
    if row is None or not scope.allows(int(row.village_id)):
        raise not_found()
    return row
