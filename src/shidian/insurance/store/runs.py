"""Insurance batch runs (年度补偿结算): the ``insurance_runs`` rows; statements only."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from shidian.platform.clock import now
from shidian.platform.db.insurance_schema import insurance_runs
from shidian.platform.files import new_id


def insert_run(conn: sa.Connection, dataset_id: str, year: int, policy_id: str, user_id: int | None) -> str:
    """A new run of a dataset, ``running``; returns its id."""
    run_id = new_id()
    conn.execute(
        insurance_runs.insert().values(
            id=run_id,
            dataset_id=dataset_id,
            year=year,
            policy_id=policy_id,
            status="running",
            created_by=user_id,
            created_at=now(),
        )
    )
    return run_id


def finish_run(conn: sa.Connection, run_id: str, values: dict[str, Any]) -> None:
    """Record how a run ended: ``status`` done (totals, checks, warnings) or failed (error)."""
    conn.execute(
        insurance_runs.update().where(insurance_runs.c.id == run_id).values(finished_at=now(), **values)
    )


def get_run(conn: sa.Connection, run_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(insurance_runs).where(insurance_runs.c.id == run_id)).mappings().first()
    return None if row is None else dict(row)


def list_runs(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every run, the latest first."""
    query = sa.select(insurance_runs).order_by(insurance_runs.c.created_at.desc())
    return [dict(r) for r in conn.execute(query).mappings()]


def has_run(conn: sa.Connection, dataset_id: str) -> bool:
    """Whether the dataset has been run at least once."""
    query = sa.select(insurance_runs.c.id).where(insurance_runs.c.dataset_id == dataset_id)
    return conn.execute(query).first() is not None
