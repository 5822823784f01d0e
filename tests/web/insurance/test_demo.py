"""``shidian demo web``'s insurance part: a generated county imported, run once, a desk user."""

from __future__ import annotations

import csv

import sqlalchemy as sa
from fastapi.testclient import TestClient

from shidian.demo.insurance_web import DESK_USER, desk_institution, generate_demo_county, setup_insurance_demo
from shidian.insurance.service.datasets import list_insurance_datasets
from shidian.platform.db.insurance_schema import insurance_runs
from shidian.platform.settings import Settings
from shidian.web.app import create_app
from tests.web.conftest import login


def test_the_demo_county_is_imported_run_and_has_a_desk_user(tmp_path):
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/db.sqlite", var_dir=tmp_path / "var", secret_key="d" * 48
    )
    app = create_app(settings)
    try:
        engine = app.state.engine
        # the demo county 平南县: 12 villages' clinics and 3 townships' centres, then the county hospital
        first = setup_insurance_demo(settings, engine, persons=4000)
        again = setup_insurance_demo(settings, engine, persons=4000)  # idempotent
        assert first == again == [(DESK_USER[0], DESK_USER[1], "hospital")]
        with engine.connect() as conn:
            runs = conn.execute(sa.select(insurance_runs.c.status)).scalars().all()
        assert runs == ["done"]
        desk = login(TestClient(app), DESK_USER[0], DESK_USER[1])
        hospital = desk_institution(settings.var_dir / "demo-insurance")
        assert hospital == "I00016"
        with (settings.var_dir / "demo-insurance" / "persons.csv").open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        person = next(r["person_id"] for r in rows if r["category"] == "general" and r["insured"] == "1")
        answer = desk.post(
            "/api/insurance/claims",
            json={
                "claim_id": "DEMO-1",
                "person_id": person,
                "institution_id": hospital,
                "kind": "inpatient",
                "start_date": "2020-06-01",
                "end_date": "2020-06-05",
                "total_cost": "3000",
            },
        )
        assert answer.status_code == 201, answer.text
        # 县人民医院 is level 2: deductible 100, 65% (004 篇6 三(四)3, the demo county's 2020 year
        # under county-2010's rules): (3000 − 100) × 0.65 = 1885.00
        assert answer.json()["reimbursement"] == "1885.00"
        assert desk.get("/insurance").status_code == 200
        # the nav's 本院 link of a desk hospital outside the DRG pilot explains, with its other work
        # (issue 19: no dead ends), instead of a bare 404
        mine = desk.get(f"/drg/hospitals/{hospital}")
        assert mine.status_code == 404 and "本院没有DRG付费结算" in mine.text
        assert 'href="/insurance/desk"' in mine.text
    finally:
        app.state.engine.dispose()


def test_the_demo_takes_the_county_demo_generate_wrote(tmp_path):
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/db.sqlite", var_dir=tmp_path / "var", secret_key="d" * 48
    )
    generate_demo_county(tmp_path / "data" / "insurance", persons=200, seed=5)
    app = create_app(settings)
    try:
        setup_insurance_demo(settings, app.state.engine, tmp_path / "data" / "insurance")
        assert not (settings.var_dir / "demo-insurance").exists()
        with app.state.engine.connect() as conn:
            datasets = list_insurance_datasets(conn)
        assert len(datasets) == 1
    finally:
        app.state.engine.dispose()
