"""Migration 0012 on SQLite and PostgreSQL (issue 18): insurance persons carry their household
(户号) and its insured members. Down to 0011 the columns and their index go, the rows stay; up
again they come back empty (NULL: not recorded, the desk refuses a pooled visit of such a
person until the dataset is imported again)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic import command

from shidian.platform.db.engine import alembic_config, make_engine, upgrade
from tests.web.conftest import fresh_database

TABLE = "insurance_persons"
AT = dt.datetime(2010, 3, 6, 8, 0, tzinfo=dt.UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[sa.Engine]:
    with fresh_database(request.param, tmp_path, "shidian_m12") as url:
        made = make_engine(url)
        try:
            yield made
        finally:
            made.dispose()


def _columns(engine: sa.Engine) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns(TABLE)}


def _indexes(engine: sa.Engine) -> set[str]:
    return {str(i["name"]) for i in sa.inspect(engine).get_indexes(TABLE)}


def test_migration_0012_adds_and_drops_the_household_columns(engine):
    upgrade(engine)
    assert {"household_id", "household_members"} <= _columns(engine)
    assert "ix_insurance_persons_household" in _indexes(engine)
    command.downgrade(alembic_config(engine), "0011")
    assert not {"household_id", "household_members"} & _columns(engine)
    assert "ix_insurance_persons_household" not in _indexes(engine)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO datasets (id, domain, name, year, uploaded_at, manifest) "
                "VALUES ('DS', 'insurance', 'd', 2010, :at, '{}')"
            ),
            {"at": AT},
        )
        conn.execute(
            sa.text(
                f"INSERT INTO {TABLE} (dataset_id, person_id, category, insured) VALUES ('DS', 'P1', 'general', 1)"
            )
        )
    upgrade(engine)
    assert "ix_insurance_persons_household" in _indexes(engine)
    with engine.connect() as conn:
        row = conn.execute(sa.text(f"SELECT person_id, household_id, household_members FROM {TABLE}")).one()
    assert tuple(row) == ("P1", None, None)
