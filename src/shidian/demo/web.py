"""Demo set-up for the web app (演示环境): units, users for every role, a settled region.

One county and one year (``shidian.demo.area``): 贵港市 4508 → 平南县 450821 → its three townships
→ their twelve villages are the pilot plan's units, the registry's areas, the insurance
county's villages and the 医共体's townships; the DRG settlement, the plan's reports, the
registry's follow-ups, the insurance claims and the capitation are all of 2020.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from shidian.demo.area import CITY, COUNTY, TOWNSHIPS, villages
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
    # a reporting township of the 社会心理服务 plan (平山镇; 平南镇's reporter is pn_town)
    ("reporter", "reporter-2020-demo", "reporting_unit", "450821101", "平山镇填报员 赵磊"),
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
        # the demo county's tree as the registry and pilots demos use it (same codes), here
        # first so that the doctor and the reporters belong to their townships
        city = create_unit(conn, CITY[0], CITY[1], "city", region_code=CITY[0])
        pingnan = create_unit(conn, COUNTY[0], COUNTY[1], "county", parent_id=city, region_code=COUNTY[0])
        towns = {
            code: create_unit(conn, code, name, "township", parent_id=pingnan, region_code=code)
            for code, name in TOWNSHIPS
        }
        for code, name, township in villages():
            create_unit(conn, code, name, "village", parent_id=towns[township], region_code=code)
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
    created += setup_pilots_demo(
        engine
    )  # 试点方案: 社会心理服务 plan, the demo year's reports, a supervision visit
    setup_drg_demo(engine, settings.var_dir, data_dir, "officer")  # one published settlement
    from shidian.demo.capitation_web import setup_capitation_demo
    from shidian.demo.insurance_web import latest_run_id, setup_insurance_demo

    created += setup_insurance_demo(settings, engine, data_dir / "insurance")  # 2020, 平南县's villages
    run_id = latest_run_id(engine)
    if run_id is not None:  # the county's two 医共体, settled from the insurance run (as make demo does)
        setup_capitation_demo(engine, settings.var_dir, data_dir / "capitation", run_id)
    return created
