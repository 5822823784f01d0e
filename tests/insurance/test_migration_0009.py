"""Migration 0009 on SQLite and PostgreSQL (issue 22 finding 3): the desk's claim ids become
each institution's own. Down to 0008 the key is the claim id alone (a second institution's use
of an id is refused); up again the key is (institution_id, claim_id), the rows and the indexes
kept, and another institution may record the same id. Down is refused while an id is shared."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic import command

from shidian.platform.db.engine import alembic_config, make_engine, upgrade
from tests.web.conftest import fresh_database

TABLE = "insurance_desk_claims"
AT = dt.datetime(2010, 3, 6, 8, 0, tzinfo=dt.UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[sa.Engine]:
    with fresh_database(request.param, tmp_path, "shidian_m9") as url:
        made = make_engine(url)
        try:
            yield made
        finally:
            made.dispose()


def _key(engine: sa.Engine) -> list[str]:
    return list(sa.inspect(engine).get_pk_constraint(TABLE)["constrained_columns"])


def _indexes(engine: sa.Engine) -> set[str]:
    return {str(i["name"]) for i in sa.inspect(engine).get_indexes(TABLE)}


def _claim(conn: sa.Connection, claim_id: str, institution_id: str, person_id: str) -> None:
    conn.execute(
        sa.text(
            f"INSERT INTO {TABLE} (claim_id, year, person_id, institution_id, dataset_id, policy_id, "
            "status, seq, request, priced, response, reimbursement_fen, created_at) VALUES (:c, 2010, :p, :i, "
            "'DS', 'p', 'paid', 1, '{}', '{}', '{}', 100, :at)"
        ),
        {"c": claim_id, "p": person_id, "i": institution_id, "at": AT},
    )


def test_migration_0009_keys_desk_claims_by_institution_both_ways(engine):
    upgrade(engine)
    assert _key(engine) == ["institution_id", "claim_id"]
    indexes = _indexes(engine)
    command.downgrade(alembic_config(engine), "0008")
    assert _key(engine) == ["claim_id"]
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO datasets (id, domain, name, year, uploaded_at, manifest) "
                "VALUES ('DS', 'insurance', 'd', 2010, :at, '{}')"
            ),
            {"at": AT},
        )
        _claim(conn, "C-1", "H1", "P01")
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        _claim(conn, "C-1", "H3", "P02")  # one namespace for the county before 0009
    upgrade(engine)
    assert _key(engine) == ["institution_id", "claim_id"]
    assert _indexes(engine) == indexes
    with engine.begin() as conn:
        _claim(conn, "C-1", "H3", "P02")  # each institution's own ids after it
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        _claim(conn, "C-1", "H1", "P05")  # still one claim per id within an institution
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT institution_id, person_id FROM {TABLE} ORDER BY 1")).all()
    assert [tuple(r) for r in rows] == [("H1", "P01"), ("H3", "P02")]
    with pytest.raises(RuntimeError, match="C-1"):
        command.downgrade(alembic_config(engine), "0008")
    assert _key(engine) == ["institution_id", "claim_id"]
