"""The registry feeds the plan: indicators with ``source: registry`` are not typed in, they come
from ``shidian.registry`` for every complete period of the plan (interfaces §2)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa

from shidian.pilots.aggregate import aggregate
from shidian.pilots.model import VALUES_SCHEMA
from shidian.pilots.service.values import plan_values
from shidian.pilots.store.plans import get_plan, plan_of
from shidian.pilots.store.values import units_table
from shidian.platform.units import all_units
from shidian.registry import Period
from shidian.registry import service as registry_service
from tests.web.pilots.conftest import COUNTY, VILLAGE_A


def test_registry_indicators_of_each_complete_quarter_join_the_plans_values(pilots_app, plan_id, monkeypatch):
    asked: list[tuple[str, Period]] = []

    def fake_registry(conn, unit_code, period, policy=None):
        asked.append((unit_code, period))
        return pa.table(
            {
                "unit_code": [VILLAGE_A, VILLAGE_A],
                "indicator_code": ["SMD_REGULAR_MGMT_RATE", "NOT_IN_THE_PLAN"],
                "period_start": [period.start, period.start],
                "population": ["", ""],
                "numerator": [Decimal(9), Decimal(1)],
                "denominator": [Decimal(10), Decimal(1)],
            },
            schema=VALUES_SCHEMA,
        )

    monkeypatch.setattr(registry_service, "unit_indicator_values", fake_registry)
    with pilots_app.state.engine.connect() as conn:
        plan_row = get_plan(conn, plan_id)
        # the plan starts 2019-10-01, quarterly; on 2020-07-15 three quarters are complete
        values = plan_values(conn, plan_row, dt.date(2020, 7, 15))
        tree = all_units(conn)
    assert asked == [
        (COUNTY, Period(dt.date(2019, 10, 1), dt.date(2019, 12, 31))),
        (COUNTY, Period(dt.date(2020, 1, 1), dt.date(2020, 3, 31))),
        (COUNTY, Period(dt.date(2020, 4, 1), dt.date(2020, 6, 30))),
    ]  # the plan's top unit (its levels are county → village), never the unfinished 2020-Q3
    fed = values.filter(pa.compute.equal(values["indicator_code"], "SMD_REGULAR_MGMT_RATE")).to_pylist()
    assert [r["period_start"] for r in fed] == [
        dt.date(2019, 10, 1),
        dt.date(2020, 1, 1),
        dt.date(2020, 4, 1),
    ]
    assert "NOT_IN_THE_PLAN" not in values["indicator_code"].to_pylist()
    # rolled up like a report: the county's rate is Σ numerators ÷ Σ denominators × 100 = 90%
    with pilots_app.state.engine.connect() as conn:
        aggregated = aggregate(plan_of(get_plan(conn, plan_id)), units_table(tree), values).to_pylist()
    county = [
        r for r in aggregated
        if r["unit_code"] == COUNTY and r["indicator_code"] == "SMD_REGULAR_MGMT_RATE"
        and r["period_start"] == dt.date(2020, 4, 1)
    ]  # fmt: skip
    assert [(r["numerator"], r["denominator"], r["value"]) for r in county] == [
        (Decimal(9), Decimal(10), Decimal(90))
    ]


def test_after_the_plans_end_the_registry_is_asked_for_the_plans_periods_only(
    pilots_app, plan_id, monkeypatch
):
    """Years after the plan (2019-10 … 2021-12) are not the plan's: asked on 2026-12-07 the feed
    stops at 2021-Q4, so the latest registry value is the plan's last quarter, not a later one."""
    asked: list[Period] = []

    def fake_registry(conn, unit_code, period, policy=None):
        asked.append(period)
        return VALUES_SCHEMA.empty_table()

    monkeypatch.setattr(registry_service, "unit_indicator_values", fake_registry)
    with pilots_app.state.engine.connect() as conn:
        plan_values(conn, get_plan(conn, plan_id), dt.date(2026, 12, 7))
    assert len(asked) == 9  # 2019-Q4 and the eight quarters of 2020 and 2021
    assert asked[-1] == Period(dt.date(2021, 10, 1), dt.date(2021, 12, 31))
