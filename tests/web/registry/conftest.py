"""Registry web fixtures: a county with two townships and three villages, doctors assigned to
villages, a township user, the county pilot office, on top of ``web_app`` (both databases)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shidian.insurance.id_number import check_char
from shidian.platform.accounts import create_unit, create_user
from shidian.platform.db.registry_schema import registry_doctor_areas
from shidian.platform.db.schema import units, users
from tests.web.conftest import PASSWORD, login

# 桂平市 450881: not the pilot fixtures' 平南县 450821, so both can seed the same database
COUNTY = "450881"
T1, T2 = "450881100", "450881101"
V1, V2, V3 = "450881100001", "450881100002", "450881101001"

#: username → (role, unit code, assigned village codes)
REGISTRY_USERS = {
    "reg_doc_a": ("mental_health_doctor", T1, (V1,)),
    "reg_doc_b": ("mental_health_doctor", T2, (V3,)),
    "reg_town": ("reporting_unit", T1, ()),
    "reg_county": ("pilot_office", COUNTY, ()),
    "reg_office": ("pilot_office", "REG-OFFICE", ()),
    "reg_leader": ("leader", "REG-OFFICE", ()),
}
_serial = itertools.count(1)


def id_number(birth: str = "19800101") -> str:
    """A valid, fresh ID number (GB 11643): address 450821, birth date, a serial, the check character."""
    n = next(_serial)
    first17 = f"450821{birth}{n % 1000:03d}"
    return first17 + check_char(first17)


def seed_registry(app: FastAPI) -> None:
    engine = app.state.engine
    with engine.begin() as conn:
        if conn.execute(sa.select(units.c.id).where(units.c.code == V1)).first():
            return
        county = create_unit(conn, COUNTY, "桂平市", "county", region_code=COUNTY)
        office = create_unit(conn, "REG-OFFICE", "县社会心理服务试点办", "office")
        t1 = create_unit(conn, T1, "平南镇", "township", parent_id=county, region_code=T1)
        t2 = create_unit(conn, T2, "大安镇", "township", parent_id=county, region_code=T2)
        ids = {
            COUNTY: county,
            "REG-OFFICE": office,
            T1: t1,
            T2: t2,
            V1: create_unit(conn, V1, "东村", "village", parent_id=t1, region_code=V1),
            V2: create_unit(conn, V2, "西村", "village", parent_id=t1, region_code=V2),
            V3: create_unit(conn, V3, "南村", "village", parent_id=t2, region_code=V3),
        }
        for username, (role, unit, villages) in REGISTRY_USERS.items():
            user_id = create_user(conn, username, PASSWORD, role, ids[unit], username)
            for village in villages:
                conn.execute(registry_doctor_areas.insert().values(user_id=user_id, unit_id=ids[village]))


@pytest.fixture
def registry_app(web_app: FastAPI) -> FastAPI:
    seed_registry(web_app)
    return web_app


@pytest.fixture
def reg_client(registry_app: FastAPI) -> Callable[[str], TestClient]:
    def make(username: str) -> TestClient:
        return login(TestClient(registry_app), username)

    return make


def user_id(app: FastAPI, username: str) -> int:
    with app.state.engine.connect() as conn:
        return int(conn.execute(sa.select(users.c.id).where(users.c.username == username)).scalar_one())
