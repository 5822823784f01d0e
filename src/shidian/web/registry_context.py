"""Per-request registry context (请求上下文): the data keys, the policy in force, today, scope."""

from __future__ import annotations

import functools

import sqlalchemy as sa
from fastapi import HTTPException, Request

from shidian.platform.accounts import User
from shidian.platform.crypto import DataKeys
from shidian.problems import Problem
from shidian.registry import RegistryPolicy, registry_policy
from shidian.web.errors import error_body
from shidian.web.registry_access import Scope, scope_of

POLICY_NAME = "national-2018"
NOT_FOUND = "没有该患者, 或不在您负责的地区 (not found)"


@functools.cache
def policy() -> RegistryPolicy:
    return registry_policy(POLICY_NAME)


def keys(request: Request) -> DataKeys:
    """The data keys, derived once per app from SHIDIAN_DATA_KEY or the secret key."""
    state = request.app.state
    found: DataKeys | None = getattr(state, "registry_keys", None)
    if found is None:
        found = DataKeys.from_env(state.settings.secret_key)
        state.registry_keys = found
    return found


def scope(conn: sa.Connection, user: User) -> Scope:
    return scope_of(conn, user)


def not_found() -> HTTPException:
    return HTTPException(status_code=404, detail=NOT_FOUND)


def problems_body(problems: list[Problem]) -> dict[str, object]:
    return error_body(422, problems)
