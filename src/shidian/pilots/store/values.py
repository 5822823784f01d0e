"""What the plans are judged on: approved report values (indicator-values shape, interfaces §1),
the registry's numbers for ``source: registry`` indicators, the unit hierarchy, findings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from shidian.pilots.model import VALUES_SCHEMA
from shidian.platform.db.pilots_schema import pilot_findings, pilot_report_values, pilot_reports, pilot_visits
from shidian.platform.db.schema import units
from shidian.platform.units import UnitRow


def units_table(tree: dict[int, UnitRow]) -> pa.Table:
    """The units as the hierarchy ``shidian.pilots`` aggregates over (``UNITS_SCHEMA``): unit
    code, parent code ('' at the top), level = the unit kind."""
    ordered = sorted(tree.values(), key=lambda u: u.code)
    parent = {u.id: u.code for u in ordered}
    return pa.table(
        {
            "unit_code": pa.array([u.code for u in ordered], pa.string()),
            "parent_code": pa.array(
                [parent.get(u.parent_id, "") if u.parent_id else "" for u in ordered], pa.string()
            ),
            "level": pa.array([u.kind for u in ordered], pa.string()),
        }
    )


def indicator_values(conn: sa.Connection, plan_id: int, statuses: Sequence[str] = ("approved",)) -> pa.Table:
    """The plan's reported values in the indicator-values shape (interfaces §1), from reports
    with one of ``statuses`` (default: approved, i.e. locked, reports only)."""
    rows = conn.execute(
        sa.select(
            units.c.code,
            pilot_report_values.c.indicator_code,
            pilot_reports.c.period_start,
            pilot_report_values.c.population,
            pilot_report_values.c.numerator,
            pilot_report_values.c.denominator,
        )
        .join(pilot_reports, pilot_reports.c.id == pilot_report_values.c.report_id)
        .join(units, units.c.id == pilot_reports.c.unit_id)
        .where(pilot_reports.c.plan_id == plan_id, pilot_reports.c.status.in_(list(statuses)))
        .order_by(units.c.code, pilot_report_values.c.indicator_code, pilot_reports.c.period_start)
    ).all()
    names = VALUES_SCHEMA.names
    columns: dict[str, list[Any]] = {name: [r[k] for r in rows] for k, name in enumerate(names)}
    return pa.table(
        {name: pa.array(columns[name], type=VALUES_SCHEMA.field(name).type) for name in names},
        schema=VALUES_SCHEMA,
    )


def findings_table(conn: sa.Connection, plan_id: int) -> pa.Table:
    """Supervision findings of the plan: unit code, severity and the finding's deduction points."""
    rows = conn.execute(
        sa.select(units.c.code, pilot_findings.c.severity, pilot_findings.c.deduction_points)
        .join(pilot_visits, pilot_visits.c.id == pilot_findings.c.visit_id)
        .join(units, units.c.id == pilot_visits.c.unit_id)
        .where(pilot_visits.c.plan_id == plan_id)
    ).all()
    return pa.table(
        {
            "unit_code": pa.array([r[0] for r in rows], pa.string()),
            "severity": pa.array([r[1] for r in rows], pa.string()),
            "points": pa.array([r[2] for r in rows], pa.decimal128(18, 2)),
        }
    )
