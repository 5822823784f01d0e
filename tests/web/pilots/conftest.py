"""Pilot web fixtures: an area hierarchy with GB/T 2260 codes, users, the 社会心理服务 plan loaded.

Shared by the pilot test modules (reporting, supervision, monitoring): ``pilots_app`` seeds,
once per database, on top of ``web_app``:

* 贵港市 450800 (city) → 平南县 450821 (county) → 平南镇 450821100, 丹竹镇 450821101
  (townships) → 平南镇城东社区 450821100001 (village); the pilot office 试点办 sits under the
  city, so its area is the whole city;
* users (password ``PASSWORD``): ``pilot_office`` (试点办), ``county_user`` (the county's
  reporting user), ``town_a`` / ``town_b`` (the two townships), ``village_a`` (the village);
* the ``psy-service`` template loaded (quarterly, 2019-10-01 … 2021-12-31, due day 10).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shidian.pilots.plan_file import TEMPLATES
from shidian.pilots.service.plans import load_plan_text
from shidian.platform.accounts import create_unit, create_user
from shidian.platform.db.pilots_schema import pilot_plans
from shidian.platform.db.schema import users
from shidian.platform.units import all_units
from tests.web.conftest import PASSWORD, login

CITY, COUNTY, TOWN_A, TOWN_B, VILLAGE_A = "450800", "450821", "450821100", "450821101", "450821100001"
OFFICE = "PILOT-OFFICE-450800"

#: username → (role, unit code)
PILOT_USERS = {
    "pilot_office": ("pilot_office", OFFICE),
    "county_user": ("reporting_unit", COUNTY),
    "town_a": ("reporting_unit", TOWN_A),
    "town_b": ("reporting_unit", TOWN_B),
    "village_a": ("reporting_unit", VILLAGE_A),
}


def seed_pilots(app: FastAPI) -> int:
    """Units, users and the loaded psy-service plan (idempotent); returns the plan id."""
    with app.state.engine.begin() as conn:
        city = create_unit(conn, CITY, "贵港市", "city", region_code=CITY)
        county = create_unit(conn, COUNTY, "平南县", "county", parent_id=city, region_code=COUNTY)
        town_a = create_unit(conn, TOWN_A, "平南镇", "township", parent_id=county, region_code=TOWN_A)
        create_unit(conn, TOWN_B, "丹竹镇", "township", parent_id=county, region_code=TOWN_B)
        create_unit(conn, VILLAGE_A, "平南镇城东社区", "village", parent_id=town_a, region_code=VILLAGE_A)
        create_unit(conn, OFFICE, "社会心理服务体系建设试点工作领导小组办公室", "office", parent_id=city)
        codes = {u.code: u.id for u in all_units(conn).values()}
        for username, (role, unit) in PILOT_USERS.items():
            if conn.execute(sa.select(users.c.id).where(users.c.username == username)).first() is None:
                create_user(conn, username, PASSWORD, role, codes[unit], username)
        existing = conn.execute(
            sa.select(pilot_plans.c.id).where(pilot_plans.c.code == "psy-service")
        ).scalar()
        if existing is not None:
            return int(existing)
        text = TEMPLATES["psy-service"].read_text(encoding="utf-8")
        # only the units of this hierarchy report (not the shared web fixture's own TOWN)
        city_units = {codes[c] for c in (CITY, COUNTY, TOWN_A, TOWN_B, VILLAGE_A)}
        plan_id, _, problems = load_plan_text(conn, text, "psy-service.yaml", None, scope=city_units)
        assert plan_id is not None, problems
        return plan_id


@pytest.fixture
def pilots_app(web_app: FastAPI) -> FastAPI:
    if not getattr(web_app.state, "pilots_plan_id", None):
        web_app.state.pilots_plan_id = seed_pilots(web_app)
    return web_app


@pytest.fixture
def plan_id(pilots_app: FastAPI) -> int:
    return int(pilots_app.state.pilots_plan_id)


@pytest.fixture
def pilot_client(pilots_app: FastAPI) -> Callable[[str], TestClient]:
    """A signed-in client for a user of ``PILOT_USERS`` or of the web fixture's ``USERS``."""

    def make(username: str) -> TestClient:
        return login(TestClient(pilots_app), username)

    return make
