"""Demo set-up of the insurance section (医保演示数据): a generated county, a desk user, a run.

``shidian demo web DATA_DIR`` calls ``setup_insurance_demo`` after the DRG set-up: it takes the
county ``shidian demo generate`` wrote to ``DATA_DIR/insurance`` or, when there is none,
generates one of ``persons`` insured (``generate_demo_county``, the same generator) under
``var/demo-insurance/``; imports it as the demo year's (2020) insurance dataset under the
policy demo-county-2020 (county-2010's rules for 2020: persons, institutions, villages, last
year and a year of claims), runs the year's reimbursement once, and creates a hospital user
for the county hospital's discharge desk. The county is the demo county 平南县 (its townships
and villages, ``shidian.demo.area``). Idempotent: a second call reuses them.

The import and the run are the services' bodies as the settlement officer ``officer`` (when the
demo has one), not audited: a set-up, not an officer's action.
"""

from __future__ import annotations

import csv
from pathlib import Path

import sqlalchemy as sa

from shidian.demo.area import COUNTY, DEMO_YEAR, insurance_area
from shidian.demo.insurance import generate_insurance_county
from shidian.insurance.service.datasets import import_insurance_dataset, list_insurance_datasets
from shidian.insurance.service.runs import run_insurance_batch
from shidian.insurance.store.runs import has_run, list_runs
from shidian.platform.accounts import create_unit, create_user
from shidian.platform.db.schema import units, users
from shidian.platform.settings import Settings

#: The county hospital of the generated county (level 2, designated; its id depends on the
#: county's size) and its desk user.
DESK_INSTITUTION_NAME = "县人民医院"
DESK_USER = ("desk", "hospital-2020-demo", "hospital", "县人民医院 出院结算窗口")
#: The demo county's insurance policy: county-2010's rules (004 篇6) for the demo year 2020.
POLICY = "demo-county-2020"


def generate_demo_county(out_dir: Path, *, persons: int, seed: int) -> dict[str, int]:
    """The demo county (平南县's townships and villages) of ``persons`` insured, its 2020 claims."""
    return generate_insurance_county(
        out_dir, persons=persons, seed=seed, year=DEMO_YEAR, area=insurance_area(), policy=POLICY
    )


def desk_institution(county: Path) -> str:
    """The id of the county hospital in the county's ``institutions.csv``."""
    with (county / "institutions.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["name"] == DESK_INSTITUTION_NAME:
                return row["institution_id"]
    raise ValueError(f"{county / 'institutions.csv'}: no institution named {DESK_INSTITUTION_NAME}")


def setup_insurance_demo(
    settings: Settings, engine: sa.Engine, county: Path | None = None, persons: int = 20_000, seed: int = 2010
) -> list[tuple[str, str, str]]:
    """Import the demo county and run its year once; returns the desk user (name, password, role).

    ``county``: a directory ``shidian demo generate`` wrote; without its ``persons.csv`` a county
    of ``persons`` is generated under the var directory.
    """
    if county is not None and (county / "persons.csv").is_file():
        data = county
    else:
        data = settings.var_dir / "demo-insurance"
        if not (data / "persons.csv").is_file():
            generate_demo_county(data, persons=persons, seed=seed)
    username, password, role, display = DESK_USER
    institution_id = desk_institution(data)
    with engine.begin() as conn:
        county = conn.execute(sa.select(units.c.id).where(units.c.code == COUNTY[0])).scalar()
        unit = create_unit(  # the county hospital of 平南县 (under the county when it exists)
            conn,
            institution_id,
            DESK_INSTITUTION_NAME,
            "hospital",
            parent_id=county,
            hospital_id=institution_id,
        )
        if conn.execute(sa.select(users.c.id).where(users.c.username == username)).first() is None:
            create_user(conn, username, password, role, unit, display)
        officer = conn.execute(sa.select(users.c.id).where(users.c.username == "officer")).scalar()
        existing = list_insurance_datasets(conn)
        if existing:
            dataset_id = str(existing[0]["id"])
        else:
            files = [(p.name, p.read_bytes()) for p in sorted(data.iterdir()) if p.suffix == ".csv"]
            found, problems = import_insurance_dataset(
                conn, settings.var_dir, files, POLICY, f"{COUNTY[1]} (演示) {DEMO_YEAR} 年度参合数据", officer
            )
            if found is None:
                raise ValueError("demo insurance data has problems: " + "; ".join(map(str, problems[:5])))
            dataset_id = found
        ran = has_run(conn, dataset_id)
    if not ran:
        run_insurance_batch(engine, settings.var_dir, dataset_id, officer)
    return [(username, password, role)]


def latest_run_id(engine: sa.Engine) -> str | None:
    """The latest finished insurance run (the 医共体 demo takes its spending), or None."""
    with engine.connect() as conn:
        done = [r for r in list_runs(conn) if r["status"] == "done"]
    return str(done[0]["id"]) if done else None
