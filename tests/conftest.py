"""Shared fixtures: reference policies and a small in-code region builder.

``SHIDIAN_CLOCK_AT=2026-12-07T15:59:30Z`` runs the tests under a moved clock: the app's clock
(``shidian.platform.clock``) reads that instant when the session starts and runs on from there, so
the suite can be run on both sides of midnight in Beijing (16:00 UTC).
``SHIDIAN_TEST_SHUFFLE=<seed>`` runs the tests in a shuffled order (the same in every xdist
worker), to find tests that depend on what ran before them. See docs/testing.md.
"""

from __future__ import annotations

import datetime as dt
import os
import random
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, settings

from shidian.drg.model import (
    ASSESSMENT_SCHEMA,
    CASES_SCHEMA,
    DEDUCTIONS_SCHEMA,
    GROUPS_SCHEMA,
    HOSPITALS_SCHEMA,
    DrgInputs,
    SettlementParams,
)
from shidian.drg.policy import DrgPolicy, parse_drg_policy
from shidian.platform import clock
from shidian.policy import read_reference_policy
from tests.properties import PROFILE

CLOCK_AT = os.environ.get("SHIDIAN_CLOCK_AT", "")


def pytest_configure(config: pytest.Config) -> None:
    """Start the clock at ``SHIDIAN_CLOCK_AT`` (in each xdist worker too) when it is set."""
    if CLOCK_AT:
        clock.start_at(dt.datetime.fromisoformat(CLOCK_AT))


#: No test starts this close to midnight in Beijing (see ``_no_test_runs_across_midnight``).
MIDNIGHT_MARGIN = dt.timedelta(minutes=10)


@pytest.fixture(autouse=True)
def _no_test_runs_across_midnight() -> None:
    """A test that reads the business date and then asks the app must see the same date twice.

    So a test never starts in the last ``MIDNIGHT_MARGIN`` of a Beijing day: the clock skips to
    midnight first (forward only, as time goes: stored instants keep their order). The business
    date a test reads is read while it runs (``clock.today()``), never when its module is imported.
    """
    skip_to_midnight_if_close()


def skip_to_midnight_if_close() -> None:
    """Start the clock at the next midnight in Beijing if that is less than ``MIDNIGHT_MARGIN`` away."""
    here = clock.local(clock.now())
    midnight = dt.datetime.combine(here.date() + dt.timedelta(days=1), dt.time(), tzinfo=clock.TIME_ZONE)
    if midnight - here < MIDNIGHT_MARGIN:
        clock.start_at(midnight.astimezone(dt.UTC))


SHUFFLE = os.environ.get("SHIDIAN_TEST_SHUFFLE", "")


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [
        *([f"clock started at {CLOCK_AT} (SHIDIAN_CLOCK_AT)"] if CLOCK_AT else []),
        *([f"tests shuffled with seed {SHUFFLE} (SHIDIAN_TEST_SHUFFLE)"] if SHUFFLE else []),
    ]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Shuffle the tests (``SHIDIAN_TEST_SHUFFLE``), across modules, within each database.

    The tests of one database (the session-scoped ``database_url`` of tests/web/conftest.py) stay
    together: interleaving them would build each database's app again at every switch.
    """
    if not SHUFFLE:
        return
    groups: dict[object, list[pytest.Item]] = {}
    for item in items:
        callspec = getattr(item, "callspec", None)
        groups.setdefault(callspec.params.get("database_url") if callspec else None, []).append(item)
    shuffler = random.Random(SHUFFLE)
    for group in groups.values():
        shuffler.shuffle(group)
    items[:] = [item for group in groups.values() for item in group]


# Hypothesis profiles (tests/properties.py): the ci profile prints the blob to reproduce a failure.
# Neither times a test: on a loaded host a slow example or slow data generation is not a failure.
SLOW_IS_FINE = [HealthCheck.too_slow]
settings.register_profile("ci", deadline=None, print_blob=True, suppress_health_check=SLOW_IS_FINE)
settings.register_profile("dev", deadline=None, max_examples=25, suppress_health_check=SLOW_IS_FINE)
settings.load_profile(PROFILE)

HANDWORKED = Path(__file__).parent / "drg" / "data" / "handworked"


def drg_policy(name: str = "guigang-2020", **overrides: str) -> DrgPolicy:
    """A shipped DRG policy, optionally with ``key = value`` TOML lines replaced."""
    text, source = read_reference_policy("drg", name)
    lines = text.splitlines()
    for key, value in overrides.items():
        lines = [f"{key} = {value}" if line.split("=")[0].strip() == key else line for line in lines]
    policy, problems = parse_drg_policy("\n".join(lines), source)
    assert policy is not None, problems
    return policy


@pytest.fixture
def guigang() -> DrgPolicy:
    return drg_policy("guigang-2020")


def case(
    case_id: str,
    hospital_id: str,
    drg_code: str | None,
    total_cost: str,
    *,
    month: int = 1,
    fund_paid: str | None = None,
    patient_cash: str | None = None,
    self_pay: str = "0",
    unreasonable_cost: str = "0",
    review_approved: int = 0,
    new_technology: int = 0,
    year: int = 2020,
) -> dict[str, object]:
    """One case row; fund 70% and patient cash 30% of the total unless given."""
    total = Decimal(total_cost)
    fund = Decimal(fund_paid) if fund_paid is not None else (total * Decimal("0.7")).quantize(Decimal("0.01"))
    cash = Decimal(patient_cash) if patient_cash is not None else total - fund
    return {
        "case_id": case_id,
        "hospital_id": hospital_id,
        "discharge_date": dt.date(year, month, 15),
        "drg_code": drg_code,
        "total_cost": total,
        "fund_paid": fund,
        "patient_cash": cash,
        "self_pay": Decimal(self_pay),
        "unreasonable_cost": Decimal(unreasonable_cost),
        "review_approved": review_approved,
        "new_technology": new_technology,
    }


def region(
    hospitals: list[tuple[str, int]],
    groups: list[tuple[str, str | None, int]],
    cases: list[dict[str, object]],
    budget: str,
    *,
    year: int = 2020,
    shares: tuple[Decimal, ...] | None = None,
    assessment: dict[str, str] | None = None,
    deductions: list[tuple[str, int, str, str]] | None = None,
) -> DrgInputs:
    """DrgInputs from plain Python values: hospitals (id, level), groups (code, weight, basic)."""
    return DrgInputs(
        params=SettlementParams(year, Decimal(budget), shares),
        hospitals=pa.Table.from_pylist(
            [{"hospital_id": h, "name": h, "level": lv} for h, lv in hospitals], schema=HOSPITALS_SCHEMA
        ),
        groups=pa.Table.from_pylist(
            [
                {"drg_code": g, "name": g, "weight": None if w is None else Decimal(w), "basic": b}
                for g, w, b in groups
            ],
            schema=GROUPS_SCHEMA,
        ),
        cases=pa.Table.from_pylist(cases, schema=CASES_SCHEMA),
        assessment=None
        if assessment is None
        else pa.Table.from_pylist(
            [{"hospital_id": h, "coefficient": Decimal(c)} for h, c in assessment.items()],
            schema=ASSESSMENT_SCHEMA,
        ),
        deductions=None
        if deductions is None
        else pa.Table.from_pylist(
            [
                {"hospital_id": h, "month": m, "amount": Decimal(a), "points": Decimal(p)}
                for h, m, a, p in deductions
            ],
            schema=DEDUCTIONS_SCHEMA,
        ),
    )


def rows_by(table: pa.Table, key: str) -> dict[object, dict[str, object]]:
    return {row[key]: row for row in table.to_pylist()}


@pytest.fixture(scope="session")
def spark():
    """One local Spark session (2 cores) for every Spark test of this process, with the settings
    ``shidian.dialect`` requires; the tests skip only when Java is missing (pyspark is a dev
    dependency; ``make install`` installs both, docs/scale.md)."""
    import shutil

    if shutil.which("java") is None:
        pytest.skip("Java is not installed: the Spark engine cannot run")
    from shidian.dialect import spark_session

    session = spark_session(
        "local[2]",
        {
            "spark.sql.shuffle.partitions": "2",
            "spark.default.parallelism": "2",
            "spark.ui.enabled": "false",
            "spark.driver.memory": "1g",
            # tiny tables: interpreted expressions beat compiling the long exact-division ones
            "spark.sql.codegen.wholeStage": "false",
            "spark.sql.codegen.factoryMode": "NO_CODEGEN",
        },
    )
    yield session
    session.stop()
