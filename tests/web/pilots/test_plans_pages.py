"""Plan, monitoring and score-card pages (/pilots/plans …): content, drill-down, scoping, Excel.

A plan of its own (the psy-service template under the code ``psy-monitor``) is loaded for the
hierarchy of ``conftest.seed_pilots``, with approved reports for the quarter from 2021-04-01:
平南镇城东社区 has a counselling room (PSY_ROOM_RATE 1), 平南镇 has its work group
(TOWNSHIP_WORKGROUP 1), 丹竹镇 not (0), and 平南县 reports 知晓率 85/100 for officials.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shidian.pilots.plan_file import TEMPLATES
from shidian.pilots.service.plans import load_plan_text
from shidian.platform.clock import now
from shidian.platform.db.pilots_schema import (
    pilot_findings,
    pilot_plans,
    pilot_report_values,
    pilot_reports,
    pilot_visits,
)
from shidian.platform.units import all_units
from tests.web.pilots.conftest import COUNTY, TOWN_A, TOWN_B, VILLAGE_A

PERIOD = date(2021, 4, 1)
AS_OF = "2021-06-30"


def seed_monitoring(app: FastAPI) -> int:
    with app.state.engine.begin() as conn:
        existing = conn.execute(
            sa.select(pilot_plans.c.id).where(pilot_plans.c.code == "psy-monitor")
        ).scalar()
        if existing is not None:
            return int(existing)
        codes = {u.code: u.id for u in all_units(conn).values()}
        text = (
            TEMPLATES["psy-service"]
            .read_text(encoding="utf-8")
            .replace("code: psy-service", "code: psy-monitor", 1)
        )
        scope = {codes[c] for c in ("450800", COUNTY, TOWN_A, TOWN_B, VILLAGE_A)}
        plan_id, _, problems = load_plan_text(conn, text, "psy-monitor.yaml", None, scope=scope)
        assert plan_id is not None, problems
        values = {
            VILLAGE_A: [("PSY_ROOM_RATE", "", 1, None)],
            TOWN_A: [("TOWNSHIP_WORKGROUP", "", 1, None)],
            TOWN_B: [("TOWNSHIP_WORKGROUP", "", 0, None)],
            COUNTY: [("PSY_LITERACY_RATE", "officials", 85, 100)],
        }
        for unit, rows in values.items():
            report_id = conn.execute(
                sa.insert(pilot_reports).returning(pilot_reports.c.id),
                {
                    "plan_id": plan_id,
                    "unit_id": codes[unit],
                    "period_start": PERIOD,
                    "due_on": date(2021, 7, 10),
                    "status": "approved",
                    "entered_at": now(),
                },
            ).scalar_one()
            for code, population, numerator, denominator in rows:
                conn.execute(
                    sa.insert(pilot_report_values),
                    {
                        "report_id": report_id,
                        "indicator_code": code,
                        "population": population,
                        "numerator": Decimal(numerator),
                        "denominator": None if denominator is None else Decimal(denominator),
                    },
                )
        visit_id = conn.execute(
            sa.insert(pilot_visits).returning(pilot_visits.c.id),
            {
                "plan_id": plan_id,
                "unit_id": codes[TOWN_B],
                "visited_on": date(2021, 6, 1),
                "team": "督导组",
                "summary": "检查",
                "created_at": now(),
            },
        ).scalar_one()
        conn.execute(
            sa.insert(pilot_findings),
            {
                "visit_id": visit_id,
                "description": "未建工作小组",
                "severity": "serious",
                "deduction_points": Decimal(5),
                "created_at": now(),
            },
        )
        return int(plan_id)


@pytest.fixture
def monitor_plan(pilots_app: FastAPI) -> int:
    if not getattr(pilots_app.state, "monitor_plan_id", None):
        pilots_app.state.monitor_plan_id = seed_monitoring(pilots_app)
    return int(pilots_app.state.monitor_plan_id)


def unit_id(app: FastAPI, code: str) -> int:
    with app.state.engine.connect() as conn:
        return next(u.id for u in all_units(conn).values() if u.code == code)


def test_plan_list_and_template_detail(pilot_client: Callable[[str], TestClient], monitor_plan: int) -> None:
    client = pilot_client("pilot_office")
    page = client.get("/pilots/plans")
    assert page.status_code == 200
    assert "psy-monitor" in page.text and "/pilots/plans/templates/drg-reform" in page.text
    detail = client.get("/pilots/plans/templates/psy-service")
    assert detail.status_code == 200
    # 000 篇3 具体目标 8 and 措施 1's responsibility line
    assert "心理健康知识知晓率" in detail.text and "≥ 90 %" in detail.text and "≥ 50 %" in detail.text
    assert "县委宣传部" in detail.text and "县卫生健康委" in detail.text
    assert client.get(f"/pilots/plans/{monitor_plan}").status_code == 200
    assert client.get("/pilots/plans/templates/nope").status_code == 404
    assert client.get("/pilots/plans/999999").status_code == 404


def test_monitoring_drill_down_from_county_to_township(
    pilots_app: FastAPI, pilot_client: Callable[[str], TestClient], monitor_plan: int
) -> None:
    client = pilot_client("pilot_office")
    top = client.get(f"/pilots/plans/{monitor_plan}/monitoring?as_of={AS_OF}")
    assert top.status_code == 200
    assert "贵港市" in top.text and 'data-chart="monitoring-chart"' in top.text
    county = client.get(
        f"/pilots/plans/{monitor_plan}/monitoring?as_of={AS_OF}&unit={unit_id(pilots_app, COUNTY)}"
    )
    assert county.status_code == 200
    assert "平南镇" in county.text and "丹竹镇" in county.text
    # the county's own targets: 知晓率 officials 85 against 90 by 2021-12-31
    assert "心理健康知识知晓率" in county.text and "85.00000000" in county.text
    # work groups (target 100% of townships, for the county): 1 of 2 townships = 50%; the path asks
    # 100 × 638 / 822 days (2019-10-01 → 2021-06-30 → 2021-12-31) = 77.6: lagging, yellow
    assert "乡镇社会心理服务工作小组建立" in county.text and "50.00000000" in county.text
    assert "badge draft" in county.text
    town_a = client.get(
        f"/pilots/plans/{monitor_plan}/monitoring?as_of={AS_OF}&unit={unit_id(pilots_app, TOWN_A)}"
    )
    # 平南镇 → 平南镇城东社区, whose counselling room (100 ≥ 80) is achieved: green
    assert "平南镇城东社区" in town_a.text and "badge published" in town_a.text


def test_monitoring_is_scoped_to_the_users_unit(
    pilots_app: FastAPI, pilot_client: Callable[[str], TestClient], monitor_plan: int
) -> None:
    client = pilot_client("town_b")
    page = client.get(f"/pilots/plans/{monitor_plan}/monitoring?as_of={AS_OF}")
    assert page.status_code == 200
    assert "丹竹镇" in page.text and "平南镇城东社区" not in page.text
    other = client.get(f"/pilots/plans/{monitor_plan}/monitoring?unit={unit_id(pilots_app, TOWN_A)}")
    assert other.status_code == 404
    assert pilot_client("h1").get("/pilots/plans").status_code == 403


def test_scorecard_page_and_excel(
    pilot_client: Callable[[str], TestClient],
    monitor_plan: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))  # the export is built in memory
    client = pilot_client("pilot_office")
    page = client.get(f"/pilots/plans/{monitor_plan}/scorecard?as_of={AS_OF}")
    assert page.status_code == 200
    assert "平南镇" in page.text and 'data-chart="ranking-chart"' in page.text
    download = client.get(f"/pilots/plans/{monitor_plan}/scorecard.xlsx?as_of={AS_OF}")
    assert download.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(download.content))["考核评分表"]
    assert "考核评分表" in ws["A1"].value
    assert list(system_tmp.iterdir()) == []
    rows = {ws.cell(r, 2).value: r for r in range(4, ws.max_row + 1)}
    # 丹竹镇: its serious finding carries 5 deduction points
    assert ws.cell(rows[TOWN_B], ws.max_column - 1).value == 5
    # the score card is by township: 平南镇 (PSY_ROOM_RATE 100 ≥ 80 → 30 points) ranks first
    assert ws.cell(rows[TOWN_A], 1).value == 1
    assert ws.cell(rows[TOWN_A], ws.max_column).value == 30
    own = pilot_client("town_b").get(f"/pilots/plans/{monitor_plan}/scorecard?as_of={AS_OF}")
    assert "丹竹镇" in own.text and "平南镇</td>" not in own.text
