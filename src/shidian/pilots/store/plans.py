"""Loaded plans (``pilot_plans``) and the units that report under them (``pilot_plan_units``)."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from shidian.pilots.model import Plan
from shidian.pilots.plan_file import parse_plan
from shidian.platform.clock import now
from shidian.platform.db.engine import insert_id
from shidian.platform.db.pilots_schema import pilot_plan_units, pilot_plans


@functools.lru_cache(maxsize=32)
def _parse_cached(sha256: str, text: str) -> Plan | None:
    plan, _ = parse_plan(text, "<plan>")
    return plan


def plan_of(row: Any) -> Plan:
    """The Plan of a ``pilot_plans`` row (parsed once per content hash)."""
    plan = _parse_cached(row.sha256, row.yaml_text)
    if plan is None:  # stored plans were valid when loaded; a parser change could refuse one
        raise ValueError(f"stored plan {row.code} v{row.version} no longer parses")
    return plan


def list_plans(conn: sa.Connection, *, active_only: bool = True) -> list[Any]:
    query = sa.select(pilot_plans).order_by(pilot_plans.c.code, pilot_plans.c.version.desc())
    if active_only:
        query = query.where(pilot_plans.c.active.is_(True))
    return list(conn.execute(query).all())


def plans_with_units(conn: sa.Connection, unit_ids: set[int]) -> list[Any]:
    """The active plans with a reporting unit among ``unit_ids``."""
    rows = conn.execute(sa.select(pilot_plan_units.c.plan_id, pilot_plan_units.c.unit_id)).all()
    applying = {plan_id for plan_id, unit_id in rows if unit_id in unit_ids}
    return [p for p in list_plans(conn) if p.id in applying]


def get_plan(conn: sa.Connection, plan_id: int) -> Any | None:
    return conn.execute(sa.select(pilot_plans).where(pilot_plans.c.id == plan_id)).first()


def plan_unit_ids(conn: sa.Connection, plan_id: int) -> set[int]:
    return set(
        conn.execute(
            sa.select(pilot_plan_units.c.unit_id).where(pilot_plan_units.c.plan_id == plan_id)
        ).scalars()
    )


def plan_unit_counts(conn: sa.Connection) -> dict[int, int]:
    """Plan id → how many units report under it."""
    return dict(
        conn.execute(
            sa.select(pilot_plan_units.c.plan_id, sa.func.count()).group_by(pilot_plan_units.c.plan_id)
        ).all()
    )


def insert_plan(
    conn: sa.Connection,
    plan: Plan,
    text: str,
    source: str,
    user_id: int | None,
    due_day: int,
    unit_ids: Iterable[int],
) -> int:
    """Insert ``plan`` as the next version of its code (older versions become inactive) with the
    units that report under it; returns the plan id."""
    version = conn.execute(
        sa.select(sa.func.coalesce(sa.func.max(pilot_plans.c.version), 0)).where(
            pilot_plans.c.code == plan.code
        )
    ).scalar_one()
    conn.execute(pilot_plans.update().where(pilot_plans.c.code == plan.code).values(active=False))
    plan_id = insert_id(
        conn,
        pilot_plans,
        code=plan.code,
        name=plan.name,
        version=int(version) + 1,
        period=plan.period,
        first_day=plan.start,
        last_day=plan.end,
        due_day=due_day,
        source=source[:200],
        yaml_text=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        loaded_by=user_id,
        loaded_at=now(),
        active=True,
    )
    rows = [{"plan_id": plan_id, "unit_id": u} for u in unit_ids]
    if rows:
        conn.execute(pilot_plan_units.insert(), rows)
    return int(plan_id)
