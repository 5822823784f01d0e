"""Helpers of the session tests: users of their own (so that revoking their sessions leaves the
shared users alone) and a stolen cookie replayed from another client."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shidian.platform.accounts import create_user
from shidian.platform.db.schema import units
from tests.web.conftest import PASSWORD, login

COOKIE = "shidian_session"


def new_user(app: FastAPI, role: str, unit_code: str) -> tuple[int, str]:
    """A fresh user of ``role`` in the unit ``unit_code``: (id, user name)."""
    name = f"s_{uuid.uuid4().hex[:10]}"
    with app.state.engine.begin() as conn:
        unit_id = conn.execute(sa.select(units.c.id).where(units.c.code == unit_code)).scalar_one()
        user_id = create_user(conn, name, PASSWORD, role, unit_id, name)
    return user_id, name


def signed_in(app: FastAPI, username: str) -> TestClient:
    return login(TestClient(app), username)


def copy_of(app: FastAPI, client: TestClient) -> TestClient:
    """Another client holding a copy of ``client``'s session cookie and CSRF header (the attacker)."""
    thief = TestClient(app, cookies={COOKIE: client.cookies[COOKIE]})
    thief.headers["X-CSRF-Token"] = client.headers["X-CSRF-Token"]
    return thief
