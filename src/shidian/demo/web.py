"""Demo set-up for the web app (演示环境): units, users for every role, a settled region."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from shidian.demo.drg_web import setup_drg_demo
from shidian.demo.pilots_web import setup_pilots_demo
from shidian.demo.registry_web import setup_registry_demo
from shidian.drg.io import read_inputs
from shidian.platform.accounts import create_unit, create_user
from shidian.platform.db.schema import users
from shidian.platform.settings import Settings

#: (username, password, role, unit code, display name): printed by ``shidian demo web``.
DEMO_USERS = (
    ("admin", "admin-2020-demo", "admin", "BUREAU", "系统管理员"),
    ("officer", "officer-2020-demo", "settlement_officer", "BUREAU", "医保经办 王芳"),
    ("leader", "leader-2020-demo", "leader", "BUREAU", "分管领导 李强"),
    ("pilot", "pilot-2020-demo", "pilot_office", "OFFICE", "试点办 陈静"),
    ("reporter", "reporter-2020-demo", "reporting_unit", "TOWN-01", "乡镇填报员 赵磊"),
    # the doctor works in 平南镇, whose villages the registry demo assigns to the doctor
    ("doctor", "doctor-2020-demo", "mental_health_doctor", "450821100", "平南镇卫生院 精防医生 刘洋"),
)
HOSPITAL_PASSWORD = "hospital-2020-demo"


def setup_demo(
    settings: Settings, engine: sa.Engine, data_dir: Path, hospital_users: int = 3
) -> list[tuple[str, str, str]]:
    """Create units and users (idempotent), import ``data_dir`` and publish one settlement.

    Returns (username, password, role label) of every demo user.
    """
    inputs, problems, _ = read_inputs(data_dir)
    if inputs is None:
        raise ValueError("demo data has problems: " + "; ".join(map(str, problems[:5])))
    created: list[tuple[str, str, str]] = []
    with engine.begin() as conn:
        bureau = create_unit(conn, "BUREAU", "贵港市医疗保障局", "bureau")
        # one office runs the county's pilots (DRG payment and the psychological-service plan)
        create_unit(conn, "OFFICE", "试点工作领导小组办公室", "office")
        # 平南县 and 平南镇 as the registry and pilots demos create them (same codes), here first
        # so that the doctor can belong to the township of the patients
        pingnan = create_unit(conn, "450821", "平南县", "county", region_code="450821")
        create_unit(conn, "450821100", "平南镇", "township", parent_id=pingnan, region_code="450821100")
        county = create_unit(conn, "450802", "港北区", "county", region_code="450802")
        create_unit(conn, "TOWN-01", "港城街道", "township", parent_id=county, region_code="450802001")
        units = {"BUREAU": bureau}
        for hospital_id, name in zip(
            inputs.hospitals.column("hospital_id").to_pylist(),
            inputs.hospitals.column("name").to_pylist(),
            strict=True,
        ):
            units[hospital_id] = create_unit(
                conn, hospital_id, name, "hospital", parent_id=bureau, hospital_id=hospital_id
            )
        from shidian.platform.db.schema import units as units_table

        unit_ids = dict(conn.execute(sa.select(units_table.c.code, units_table.c.id)).all())
        accounts = list(DEMO_USERS)
        for hospital_id in inputs.hospitals.column("hospital_id").to_pylist()[:hospital_users]:
            accounts.append(
                (hospital_id.lower(), HOSPITAL_PASSWORD, "hospital", hospital_id, f"{hospital_id} 医保办")
            )
        for username, password, role, unit_code, display in accounts:
            if conn.execute(sa.select(users.c.id).where(users.c.username == username)).first() is None:
                create_user(conn, username, password, role, unit_ids[unit_code], display)
            created.append((username, password, role))
    setup_registry_demo(settings, engine)  # 严重精神障碍患者管理: county 450821, the doctor's villages
    created += setup_pilots_demo(engine)  # 试点方案: 社会心理服务 plan, 2021 reports, a supervision visit
    setup_drg_demo(engine, settings.var_dir, data_dir, "officer")  # one published settlement
    from shidian.demo.insurance_web import setup_insurance_demo

    created += setup_insurance_demo(settings, engine, data_dir / "insurance")
    return created
