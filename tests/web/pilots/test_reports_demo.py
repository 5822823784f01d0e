"""The pilots demo (``make demo``): a year of reports with late and missing ones, an overdue
rectification, a village on the supervision list — on a fresh SQLite database."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient

from shidian.demo.pilots_web import setup_pilots_demo
from shidian.platform.accounts import create_unit, create_user
from shidian.platform.db.pilots_schema import pilot_plans, pilot_reports
from shidian.platform.settings import Settings
from shidian.web.app import create_app
from tests.web.conftest import PASSWORD, login


def test_demo_shows_late_missing_overdue_and_lagging(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'demo.db'}", var_dir=tmp_path / "var", secret_key="d" * 48
    )
    app = create_app(settings)
    with app.state.engine.begin() as conn:
        office = create_unit(conn, "OFFICE", "试点办", "office")
        create_user(conn, "pilot", PASSWORD, "pilot_office", office, "试点办 陈静")
    created = setup_pilots_demo(app.state.engine)
    assert [u for u, _, _ in created] == ["pn_county", "pn_town"]
    assert setup_pilots_demo(app.state.engine) == created  # idempotent
    with app.state.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(pilot_plans)).scalar() == 1
        # 1 county + 3 townships + 12 villages, 4 quarters, minus the missing ones:
        # 平山镇 Q4, 寺面镇 Q2, villages with index % 5 == 4 (indexes 4 and 9) Q4 → 16 × 4 − 4 = 60
        assert conn.execute(sa.select(sa.func.count()).select_from(pilot_reports)).scalar() == 60
    office_client = login(TestClient(app), "pilot")
    completeness = office_client.get("/pilots/reports/completeness?year=2020").text  # the demo year
    assert 'data-status="late"' in completeness and 'data-status="missing"' in completeness
    supervision = office_client.get("/pilots/supervision").text
    warnings = supervision[supervision.index('id="overdue-warnings"') :]
    assert "配备1名精神卫生专干" in warnings.split("</section>")[0]
    listing = supervision[supervision.index('id="supervision-list"') :].split("</table>")[0]
    assert "PSY_ROOM_RATE" in listing
    app.state.engine.dispose()
