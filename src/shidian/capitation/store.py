"""Capitation store: runs in ``capitation_runs`` with their files under ``var/capitation/<id>/``
(what ``settle`` writes; the uploaded inputs under ``var/capitation/inputs/<id>/``), the
prepayments recorded as paid in ``capitation_payments``; the finished resident-insurance runs a
settlement may take its spending from.

No rules here: the service decides who reads what.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from shidian.capitation.io import read_run
from shidian.capitation.payments import Payment
from shidian.platform.clock import now
from shidian.platform.db.capitation_schema import capitation_payments, capitation_runs
from shidian.platform.db.insurance_schema import insurance_runs
from shidian.platform.db.schema import users
from shidian.platform.files import run_dir as platform_run_dir

RUN_ID = re.compile(r"^[0-9a-f]{32}$")


def capitation_dir(var_dir: Path) -> Path:
    return var_dir / "capitation"


def inputs_dir(var_dir: Path, run_id: str) -> Path:
    """Where a run's uploaded inputs are kept (what it settled, for a later look)."""
    return capitation_dir(var_dir) / "inputs" / run_id


def run_dir(var_dir: Path, run_id: str) -> Path:
    """A run's output folder (a malformed id never reaches here: the service checks it)."""
    return capitation_dir(var_dir) / run_id


def load_run(var_dir: Path, run_id: str) -> dict[str, Any] | None:
    """A written run's files (budget, prepayments, year ends, shares, record), or None."""
    folder = run_dir(var_dir, run_id)
    if not RUN_ID.match(run_id) or not (folder / "run.json").is_file():
        return None
    run, _ = read_run(folder)
    return run


# ---- runs -----------------------------------------------------------------------------------


def insert_run(
    conn: sa.Connection,
    run_id: str,
    policy_id: str,
    files: list[str],
    claims_run_id: str | None,
    user_id: int | None,
) -> None:
    conn.execute(
        capitation_runs.insert().values(
            id=run_id,
            policy_id=policy_id,
            status="running",
            files=files,
            claims_run_id=claims_run_id,
            created_by=user_id,
            created_at=now(),
        )
    )


def mark_draft(
    conn: sa.Connection, run_id: str, year: int, totals: dict[str, Any], members: dict[str, str]
) -> None:
    conn.execute(
        capitation_runs.update()
        .where(capitation_runs.c.id == run_id, capitation_runs.c.status == "running")
        .values(status="draft", year=year, totals=totals, members=members, finished_at=now())
    )


def mark_failed(conn: sa.Connection, run_id: str, error: str, year: int | None = None) -> None:
    conn.execute(
        capitation_runs.update()
        .where(capitation_runs.c.id == run_id, capitation_runs.c.status == "running")
        .values(status="failed", error=error, year=year, finished_at=now())
    )


def lock_year(conn: sa.Connection, year: int | None, run_id: str) -> None:
    """Take the runs of a year (and the run) for the rest of the transaction, first, with a
    write: a row lock on PostgreSQL, the write lock on SQLite. Two officers publishing runs of
    the same year, or recording payments of it, then take turns: the second sees the first's."""
    conn.execute(
        capitation_runs.update()
        .where(sa.or_(capitation_runs.c.year == year, capitation_runs.c.id == run_id))
        .values(status=capitation_runs.c.status)
    )


def get_run(conn: sa.Connection, run_id: str) -> dict[str, Any] | None:
    if not RUN_ID.match(run_id):
        return None
    row = conn.execute(sa.select(capitation_runs).where(capitation_runs.c.id == run_id)).mappings().first()
    return None if row is None else dict(row)


def list_runs(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every run, newest first."""
    query = sa.select(capitation_runs).order_by(capitation_runs.c.created_at.desc(), capitation_runs.c.id)
    return [dict(r) for r in conn.execute(query).mappings()]


def published_of_year(conn: sa.Connection, year: int | None) -> list[dict[str, Any]]:
    """The published runs of a year, oldest first."""
    if year is None:
        return []
    query = (
        sa.select(capitation_runs)
        .where(capitation_runs.c.year == year, capitation_runs.c.status == "published")
        .order_by(capitation_runs.c.published_at)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def publish(conn: sa.Connection, run_id: str, user_id: int, corrects: str | None, note: str | None) -> bool:
    """Draft → published (naming the run it corrects); whether the run was a draft."""
    values: dict[str, Any] = {"status": "published", "published_by": user_id, "published_at": now()}
    if corrects is not None:
        values["corrects_run_id"] = corrects
    if note is not None:
        values["note"] = note
    changed = conn.execute(
        capitation_runs.update()
        .where(capitation_runs.c.id == run_id, capitation_runs.c.status == "draft")
        .values(**values)
    )
    return bool(changed.rowcount)


# ---- prepayments paid -------------------------------------------------------------------------


def payments_of_year(conn: sa.Connection, year: int) -> list[Payment]:
    """The prepayments recorded as paid in a year (against any run of it), oldest first."""
    query = (
        sa.select(capitation_payments)
        .where(capitation_payments.c.year == year)
        .order_by(capitation_payments.c.paid_on, capitation_payments.c.id)
    )
    return [
        Payment(r.community_id, r.quarter, Decimal(r.amount), r.paid_on, r.reference, r.reason or "")
        for r in conn.execute(query)
    ]


def add_payment(conn: sa.Connection, run_id: str, year: int, payment: Payment, user_id: int | None) -> None:
    conn.execute(
        capitation_payments.insert().values(
            run_id=run_id,
            year=year,
            community_id=payment.community_id,
            quarter=payment.quarter,
            amount=str(payment.amount),
            paid_on=payment.paid_on,
            reference=payment.reference,
            reason=payment.reason or None,
            recorded_by=user_id,
            recorded_at=now(),
        )
    )


# ---- resident-insurance runs (the spending of ``--claims``) ----------------------------------


def insurance_runs_done(conn: sa.Connection) -> list[dict[str, Any]]:
    """The finished resident-insurance runs (id, year, policy, finished), newest first."""
    query = (
        sa.select(
            insurance_runs.c.id,
            insurance_runs.c.year,
            insurance_runs.c.policy_id,
            insurance_runs.c.finished_at,
        )
        .where(insurance_runs.c.status == "done")
        .order_by(insurance_runs.c.created_at.desc())
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def insurance_run_folder(conn: sa.Connection, var_dir: Path, run_id: str) -> Path | None:
    """A finished resident-insurance run's folder (``claims_out.csv``, ``notice_villages.csv``)."""
    if not RUN_ID.match(run_id):
        return None
    found = conn.execute(
        sa.select(insurance_runs.c.id).where(insurance_runs.c.id == run_id, insurance_runs.c.status == "done")
    ).first()
    return None if found is None else platform_run_dir(var_dir, run_id)


def user_names(conn: sa.Connection) -> dict[int, str]:
    return {r.id: r.display_name for r in conn.execute(sa.select(users.c.id, users.c.display_name))}
