"""The registry demo: the doctor's villages, patients, overdue and unstable ones with teams."""

from __future__ import annotations

import sqlalchemy as sa

from shidian.demo.registry_web import setup_registry_demo
from shidian.platform import clock
from shidian.platform.accounts import create_unit, create_user, get_user
from shidian.platform.db.engine import make_engine, upgrade
from shidian.platform.db.registry_schema import registry_followups, registry_patients, registry_team_members
from shidian.platform.settings import Settings
from shidian.registry.store.scope import scope_of


def test_demo_registry(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path}/db.sqlite", var_dir=tmp_path, secret_key="k" * 48)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    with engine.begin() as conn:
        town = create_unit(conn, "TOWN-01", "港城街道", "township")
        doctor_id = create_user(conn, "doctor", "doctor-2020-demo", "mental_health_doctor", town, "精防医生")
    setup_registry_demo(settings, engine, patients=60)
    setup_registry_demo(settings, engine, patients=60)  # idempotent
    today = clock.today()
    with engine.connect() as conn:
        p = registry_patients
        assert conn.execute(sa.select(sa.func.count()).select_from(p)).scalar_one() == 60
        assert conn.execute(sa.select(sa.func.count()).select_from(registry_followups)).scalar_one() > 60
        assert (
            conn.execute(
                sa.select(sa.func.count()).select_from(p).where(p.c.next_due_on < today)
            ).scalar_one()
            > 0
        )
        assert conn.execute(sa.select(sa.func.count()).select_from(registry_team_members)).scalar_one() > 0
        doctor = get_user(conn, doctor_id)
        assert doctor is not None
        villages = scope_of(conn, doctor).villages
        assert villages is not None and len(villages) == 3
    engine.dispose()
