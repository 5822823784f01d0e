"""The DRG rows of the ``datasets`` and ``runs`` tables (数据集与结算批次): queries and writes.

No rules here: which transitions are allowed and who may make them is the service's
(``shidian.drg.service``); these functions read and write rows. A run's status goes
queued → running → draft → published, or failed; a published row is never edited.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from shidian.platform.clock import now
from shidian.platform.db.schema import datasets, runs, users

DOMAIN = "drg"

#: A run's columns without its results (totals, checks): what lists and selectors show.
RUN_LIST_COLUMNS = tuple(c for c in runs.c if c.name not in ("totals", "checks"))


# ---- datasets -------------------------------------------------------------------------------------


def insert_dataset(
    conn: sa.Connection, dataset_id: str, name: str, manifest: dict[str, Any], user_id: int | None
) -> None:
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


def get_dataset(conn: sa.Connection, dataset_id: str) -> dict[str, Any] | None:
    """A DRG dataset (another domain's dataset is no DRG input: None)."""
    row = (
        conn.execute(sa.select(datasets).where(datasets.c.id == dataset_id, datasets.c.domain == DOMAIN))
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


def list_datasets(conn: sa.Connection) -> list[dict[str, Any]]:
    """The DRG datasets, newest first (other domains' imports share the table)."""
    query = sa.select(datasets).where(datasets.c.domain == DOMAIN).order_by(datasets.c.uploaded_at.desc())
    return [dict(r) for r in conn.execute(query).mappings()]


# ---- runs -----------------------------------------------------------------------------------------


def insert_run(
    conn: sa.Connection,
    run_id: str,
    dataset: dict[str, Any],
    policy_id: str,
    user_id: int | None,
    corrects: str | None,
    note: str | None,
) -> None:
    conn.execute(
        runs.insert().values(
            id=run_id,
            domain=DOMAIN,
            dataset_id=dataset["id"],
            year=dataset["year"],
            policy_id=policy_id,
            status="queued",
            progress="排队中",
            corrects_run_id=corrects,
            note=note,
            created_by=user_id,
            created_at=now(),
        )
    )


def get_run(conn: sa.Connection, run_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(runs).where(runs.c.id == run_id)).mappings().first()
    return None if row is None else dict(row)


def run_status(conn: sa.Connection, run_id: str) -> str | None:
    return conn.execute(sa.select(runs.c.status).where(runs.c.id == run_id)).scalar()


def list_runs(
    conn: sa.Connection, *, published_only: bool = False, with_results: bool = True
) -> list[dict[str, Any]]:
    """Runs, newest first; ``with_results=False`` leaves out the totals and checks (JSON)."""
    query = sa.select(*(runs.c if with_results else RUN_LIST_COLUMNS)).order_by(runs.c.created_at.desc())
    if published_only:
        query = query.where(runs.c.status == "published")
    return [dict(r) for r in conn.execute(query).mappings()]


def latest_published(conn: sa.Connection) -> dict[str, Any] | None:
    row = (
        conn.execute(
            sa.select(runs).where(runs.c.status == "published").order_by(runs.c.published_at.desc()).limit(1)
        )
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


def mark_running(conn: sa.Connection, run_id: str) -> None:
    conn.execute(runs.update().where(runs.c.id == run_id).values(status="running", progress="读取输入"))


def mark_draft(
    conn: sa.Connection,
    run_id: str,
    *,
    policy_version: str,
    policy_sha256: str,
    totals: dict[str, str],
    checks: list[dict[str, Any]],
    warnings: int,
) -> None:
    conn.execute(
        runs.update()
        .where(runs.c.id == run_id)
        .values(
            status="draft",
            progress="完成",
            finished_at=now(),
            policy_version=policy_version,
            policy_sha256=policy_sha256,
            totals=totals,
            checks=checks,
            warnings=warnings,
        )
    )


def mark_failed(conn: sa.Connection, run_id: str, error: str) -> None:
    conn.execute(
        runs.update()
        .where(runs.c.id == run_id)
        .values(status="failed", progress="失败", finished_at=now(), error=error)
    )


def publish(
    conn: sa.Connection,
    run_id: str,
    user_id: int,
    corrects: str | None = None,
    note: str | None = None,
) -> bool:
    """Draft → published (naming the run it corrects and its note when given); False when the
    run is not a draft (nothing changes)."""
    values: dict[str, Any] = {"status": "published", "published_by": user_id, "published_at": now()}
    if corrects is not None:
        values["corrects_run_id"] = corrects
    if note is not None:
        values["note"] = note
    result = conn.execute(runs.update().where(runs.c.id == run_id, runs.c.status == "draft").values(**values))
    return result.rowcount == 1


def published_of_year(conn: sa.Connection, year: int) -> list[dict[str, Any]]:
    """The published DRG runs of ``year`` (id, policy, published_at), the latest first."""
    query = (
        sa.select(runs.c.id, runs.c.policy_id, runs.c.published_at)
        .where(runs.c.year == year, runs.c.status == "published", runs.c.domain == DOMAIN)
        .order_by(runs.c.published_at.desc())
    )
    return [dict(r) for r in conn.execute(query).mappings()]


# ---- users ----------------------------------------------------------------------------------------


def user_names(conn: sa.Connection) -> dict[int, str]:
    """Display name of every user, for "created by" and "published by" columns."""
    return {row.id: row.display_name for row in conn.execute(sa.select(users.c.id, users.c.display_name))}
