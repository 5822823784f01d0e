"""Insurance datasets (参合数据集): the dataset row, its persons and institutions; statements only.

An insurance dataset is a ``datasets`` row with ``domain = "insurance"`` (as DRG datasets are,
with their own domain); the persons and institutions the discharge desk looks up are copied
into ``insurance_persons`` and ``insurance_institutions``. The desk uses the latest dataset of
a year.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from shidian.platform.clock import now
from shidian.platform.db.insurance_schema import insurance_institutions, insurance_persons
from shidian.platform.db.schema import datasets
from shidian.platform.files import new_id

DOMAIN = "insurance"
_BATCH = 5000


def insert_dataset(
    conn: sa.Connection,
    name: str,
    manifest: dict[str, Any],
    persons: list[dict[str, Any]],
    institutions: list[dict[str, Any]],
    user_id: int | None,
) -> str:
    """Insert the dataset row and its persons and institutions; returns the new dataset id."""
    dataset_id = new_id()
    conn.execute(
        datasets.insert().values(
            id=dataset_id,
            domain=DOMAIN,
            name=name,
            year=int(manifest["year"]),
            uploaded_by=user_id,
            uploaded_at=now(),
            manifest=manifest,
        )
    )
    for start in range(0, len(persons), _BATCH):
        conn.execute(
            insurance_persons.insert(),
            [{"dataset_id": dataset_id, **row} for row in persons[start : start + _BATCH]],
        )
    if institutions:
        conn.execute(insurance_institutions.insert(), [{"dataset_id": dataset_id, **r} for r in institutions])
    return dataset_id


def get_dataset(conn: sa.Connection, dataset_id: str) -> dict[str, Any] | None:
    """An insurance dataset's row, or None (also for another domain's dataset)."""
    query = sa.select(datasets).where(datasets.c.id == dataset_id, datasets.c.domain == DOMAIN)
    row = conn.execute(query).mappings().first()
    return None if row is None else dict(row)


def list_datasets(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every insurance dataset, the latest first."""
    query = sa.select(datasets).where(datasets.c.domain == DOMAIN).order_by(datasets.c.uploaded_at.desc())
    return [dict(r) for r in conn.execute(query).mappings()]


def institution_names(conn: sa.Connection, dataset_id: str | None) -> dict[str, str]:
    """Institution id → name in a dataset (pages show names, not ids)."""
    if dataset_id is None:
        return {}
    table = insurance_institutions
    query = sa.select(table.c.institution_id, table.c.name).where(table.c.dataset_id == dataset_id)
    return {row.institution_id: row.name for row in conn.execute(query)}
