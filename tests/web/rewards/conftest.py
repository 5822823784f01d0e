"""Reward web fixtures: a pilot office and a village reporting unit on top of ``web_app``."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shidian.platform.accounts import create_unit, create_user
from shidian.platform.db.schema import users
from tests.web.conftest import PASSWORD, login

#: username → (role, unit code, region code)
REWARD_USERS = {
    "rw_office": ("pilot_office", "RW-OFFICE", None),
    "rw_village": ("reporting_unit", "RW-V2", "450821100002"),
}


@pytest.fixture(scope="session")
def rewards_app(web_app: FastAPI) -> FastAPI:
    with web_app.state.engine.begin() as conn:
        for username, (role, code, region) in REWARD_USERS.items():
            if conn.execute(sa.select(users.c.id).where(users.c.username == username)).first():
                continue
            kind = "township" if role == "pilot_office" else "village"
            unit = create_unit(conn, code, f"单位{code}", kind, region_code=region)
            create_user(conn, username, PASSWORD, role, unit, username)
    return web_app


@pytest.fixture
def rewards_client(rewards_app: FastAPI) -> Callable[[str], TestClient]:
    def make(username: str) -> TestClient:
        return login(TestClient(rewards_app), username)

    return make
