"""筹资到账 in the web app: a dataset with a contributions file, its run page."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from shidian.insurance.service.datasets import import_insurance_dataset
from shidian.insurance.service.runs import run_insurance_batch
from shidian.platform.accounts import create_unit, create_user
from shidian.platform.settings import Settings
from shidian.web.app import create_app
from tests.web.conftest import login


def test_a_dataset_with_contributions_received_shows_them_on_the_run_page(tmp_path):
    """The hand-worked county with a contributions file: the run page shows due, received and
    outstanding by source, the balance on money received and the overdraft warning."""
    county = Path(__file__).parents[2] / "insurance" / "data" / "county"
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/db.sqlite", var_dir=tmp_path / "var", secret_key="d" * 48
    )
    app = create_app(settings)
    try:
        engine = app.state.engine
        with engine.begin() as conn:
            unit = create_unit(conn, "B1", "医保局", "bureau")
            officer = create_user(conn, "off", "officer-password-1", "settlement_officer", unit, "officer")
            files = [(p.name, p.read_bytes()) for p in sorted(county.iterdir()) if p.suffix == ".csv"]
            files.append(("contributions.csv", b"source,received_date,amount\ncentral,2010-01-15,200.00\n"))
            dataset_id, problems = import_insurance_dataset(
                conn, settings.var_dir, files, "county-2010", "到账测试", officer
            )
        assert dataset_id is not None, problems
        run_id = run_insurance_batch(engine, settings.var_dir, dataset_id, officer)
        page = login(TestClient(app), "off", "officer-password-1").get(f"/insurance/runs/{run_id}")
        assert page.status_code == 200
        table = page.text.split('id="receipts"', 1)[1].split("</table>", 1)[0]
        central = next(row for row in table.split("<tr>") if "中央财政补助" in row)
        # due 60.00 × the county's 7 insured = 420.00; received 200.00; outstanding 220.00; overpaid 0
        cells = [c.split("<", 1)[0] for c in central.split('class="num">')[1:]]
        assert cells == ["420.00", "200.00", "220.00", "0.00"]
        assert "按到账计结余" in page.text and 'id="overdraft-warning"' in page.text
    finally:
        app.state.engine.dispose()
