"""Pilot reports in the database (填报、审核与督导的数据访问): plans, reports, supervision.

The repository functions the pilot routes use. They read and write ``pilots_schema`` tables
and call the pure core (``shidian.pilots.workflow``, ``entry``, ``supervision``) for every
decision; the routes add requests, rendering and audit records.

Scoping (数据权限, docs/pilots.md): a reporting unit sees its own unit (and the units directly
below it, whose reports it approves); a pilot office sees its area — the subtree of the unit
its office belongs to (the office unit's parent), or every unit when the office sits at the
top; leaders and administrators read everything.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from fastapi import HTTPException

from shidian.money import round_to
from shidian.pilots.aggregate import aggregate
from shidian.pilots.attainment import attainment
from shidian.pilots.entry import (
    Entry,
    IndicatorSpec,
    check_period,
    is_period_start,
    next_period,
    period_label,
    periods_between,
)
from shidian.pilots.model import VALUES_SCHEMA, Plan
from shidian.pilots.plan_file import parse_plan
from shidian.pilots.supervision import DEFAULT_DUE_DAY, Received, due_date
from shidian.pilots.workflow import Actor, Refusal, decide
from shidian.platform.access import READ_ALL_ROLES
from shidian.platform.accounts import User
from shidian.platform.clock import now, today
from shidian.platform.db.pilots_schema import (
    pilot_change_requests,
    pilot_plan_units,
    pilot_plans,
    pilot_report_values,
    pilot_reports,
)
from shidian.platform.db.schema import units
from shidian.platform.units import UnitRow, all_units, descendants
from shidian.problems import Problem, Source

# ---- units and scope ------------------------------------------------------------------------------


def office_area(tree: dict[int, UnitRow], user: User) -> frozenset[int]:
    """A pilot office's area (辖区): the subtree of its unit's parent, or everything at the top."""
    own = tree.get(user.unit_id)
    if own is None:
        return frozenset()
    if own.kind == "office" and own.parent_id is None:
        return frozenset(tree)
    root = own.parent_id if own.kind == "office" and own.parent_id is not None else own.id
    return frozenset(descendants(tree, root))


def actor_for(tree: dict[int, UnitRow], user: User) -> Actor:
    area = office_area(tree, user) if user.role == "pilot_office" else None
    return Actor(user.role, user.unit_id, area)


def visible_units(tree: dict[int, UnitRow], user: User) -> set[int]:
    """The units whose reports, visits and rectifications ``user`` may read."""
    if user.role in READ_ALL_ROLES:
        return set(tree)
    if user.role == "pilot_office":
        return set(office_area(tree, user))
    if user.role == "reporting_unit":
        return {user.unit_id} | {u.id for u in tree.values() if u.parent_id == user.unit_id}
    return set()


# ---- plans --------------------------------------------------------------------------------------


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


def plans_for(conn: sa.Connection, user: User, visible: set[int]) -> list[Any]:
    """The active plans ``user`` may see: every one for leaders and administrators, else those
    with a reporting unit among ``visible`` (a unit sees only the plans that apply to it)."""
    plans = list_plans(conn)
    if user.role in READ_ALL_ROLES:
        return plans
    rows = conn.execute(sa.select(pilot_plan_units.c.plan_id, pilot_plan_units.c.unit_id)).all()
    applying = {plan_id for plan_id, unit_id in rows if unit_id in visible}
    return [p for p in plans if p.id in applying]


def get_plan(conn: sa.Connection, plan_id: int) -> Any | None:
    return conn.execute(sa.select(pilot_plans).where(pilot_plans.c.id == plan_id)).first()


def reporting_levels(plan: Plan) -> set[str]:
    """The unit kinds that enter values for ``plan`` (indicators with ``source: report``)."""
    return {i.reported_by for i in plan.indicators if i.source == "report"}


def plan_unit_ids(conn: sa.Connection, plan_id: int) -> set[int]:
    return set(
        conn.execute(
            sa.select(pilot_plan_units.c.unit_id).where(pilot_plan_units.c.plan_id == plan_id)
        ).scalars()
    )


def _in_plan_areas(unit: UnitRow, area_codes: set[str]) -> bool:
    code = unit.region_code or unit.code
    return not area_codes or any(code.startswith(a) or unit.code == a for a in area_codes)


def store_plan(
    conn: sa.Connection,
    plan: Plan,
    text: str,
    source: str,
    user: User | None,
    *,
    due_day: int = DEFAULT_DUE_DAY,
    scope: Iterable[int] | None = None,
) -> tuple[int, int]:
    """Insert ``plan`` as the next version of its code (older versions become inactive) and the
    units that report under it: units in ``scope`` (default: all) of a reporting level, inside
    the plan's areas when it names any (by GB/T 2260 code prefix). Returns (plan id, units)."""
    version = conn.execute(
        sa.select(sa.func.coalesce(sa.func.max(pilot_plans.c.version), 0)).where(
            pilot_plans.c.code == plan.code
        )
    ).scalar_one()
    conn.execute(pilot_plans.update().where(pilot_plans.c.code == plan.code).values(active=False))
    plan_id = conn.execute(
        pilot_plans.insert().values(
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
            loaded_by=getattr(user, "id", None),
            loaded_at=now(),
            active=True,
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    tree = all_units(conn)
    allowed = set(tree) if scope is None else set(scope)
    levels = reporting_levels(plan)
    area_codes = {a.code for a in plan.areas if a.parent == ""} or {a.code for a in plan.areas}
    chosen = sorted(
        u.id for u in tree.values() if u.id in allowed and u.kind in levels and _in_plan_areas(u, area_codes)
    )
    if chosen:
        conn.execute(pilot_plan_units.insert(), [{"plan_id": plan_id, "unit_id": u} for u in chosen])
    return int(plan_id), len(chosen)


def load_plan_text(
    conn: sa.Connection,
    text: str,
    source: str,
    user: User | None,
    *,
    due_day: int = DEFAULT_DUE_DAY,
    scope: Iterable[int] | None = None,
) -> tuple[int | None, int, list[Problem]]:
    """Validate a YAML plan (``parse_plan``) and store it: (plan id, units, problems)."""
    plan, problems = parse_plan(text, source)
    if plan is None:
        return None, 0, problems
    plan_id, count = store_plan(conn, plan, text, source, user, due_day=due_day, scope=scope)
    return plan_id, count, problems


# ---- indicators a unit reports -------------------------------------------------------------------


def indicator_specs(plan: Plan, unit_kind: str) -> list[IndicatorSpec]:
    """The form rows (填报指标) of a unit of kind ``unit_kind``: the plan's reported indicators of
    that level; one row per population group when the indicator has per-group targets."""
    specs = []
    for ind in plan.indicators:
        if ind.source != "report" or ind.reported_by != unit_kind:
            continue
        order = {g.code: i for i, g in enumerate(plan.populations)}
        groups = sorted({t.population for t in ind.targets}, key=lambda g: (order.get(g, -1), g)) or [""]
        specs.append(IndicatorSpec(ind.code, ind.name, ind.kind, tuple(groups), ind.unit))
    return specs


# ---- reports ------------------------------------------------------------------------------------


def parse_period(text: str) -> date | None:
    """``YYYY-MM-DD`` (or ``YYYY-MM``) → date, or None."""
    try:
        return date.fromisoformat(text if len(text) > 7 else text + "-01")
    except ValueError:
        return None


def get_report(conn: sa.Connection, plan_id: int, unit_id: int, period_start: date) -> Any | None:
    return conn.execute(
        sa.select(pilot_reports).where(
            pilot_reports.c.plan_id == plan_id,
            pilot_reports.c.unit_id == unit_id,
            pilot_reports.c.period_start == period_start,
        )
    ).first()


def get_report_by_id(conn: sa.Connection, report_id: int) -> Any | None:
    return conn.execute(sa.select(pilot_reports).where(pilot_reports.c.id == report_id)).first()


def report_values(
    conn: sa.Connection, report_id: int
) -> dict[tuple[str, str], tuple[Decimal | None, Decimal | None]]:
    rows = conn.execute(
        sa.select(pilot_report_values).where(pilot_report_values.c.report_id == report_id)
    ).all()
    return {(r.indicator_code, r.population): (r.numerator, r.denominator) for r in rows}


def pending_change(conn: sa.Connection, report_id: int) -> Any | None:
    return conn.execute(
        sa.select(pilot_change_requests).where(
            pilot_change_requests.c.report_id == report_id, pilot_change_requests.c.status == "pending"
        )
    ).first()


def write_values(
    conn: sa.Connection,
    plan_row: Any,
    unit_id: int,
    period_start: date,
    entries: Sequence[Entry],
    status: str,
    user: User,
) -> int:
    """Create or update the report with ``status`` and replace its values (one transaction)."""
    stamp = now()
    existing = get_report(conn, plan_row.id, unit_id, period_start)
    fields: dict[str, Any] = {"status": status, "entered_by": user.id, "entered_at": stamp}
    if status == "submitted":
        fields.update(submitted_by=user.id, submitted_at=stamp)
        if existing is None or existing.first_submitted_at is None:
            fields["first_submitted_at"] = stamp
    if existing is None:
        report_id = conn.execute(
            pilot_reports.insert().values(
                plan_id=plan_row.id,
                unit_id=unit_id,
                period_start=period_start,
                due_on=due_date(period_start, plan_row.period, plan_row.due_day),
                **fields,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
    else:
        report_id = existing.id
        conn.execute(pilot_reports.update().where(pilot_reports.c.id == report_id).values(**fields))
        conn.execute(pilot_report_values.delete().where(pilot_report_values.c.report_id == report_id))
    rows = [
        {
            "report_id": report_id,
            "indicator_code": e.indicator_code,
            "population": e.population,
            "numerator": e.numerator,
            "denominator": e.denominator,
        }
        for e in entries
        if e.numerator is not None or e.denominator is not None
    ]
    if rows:
        conn.execute(pilot_report_values.insert(), rows)
    return int(report_id)


def set_status(
    conn: sa.Connection, report_id: int, status: str, user: User, comment: str | None = None
) -> None:
    stamp = now()
    fields: dict[str, Any] = {"status": status}
    if status == "approved":
        fields.update(approved_by=user.id, approved_at=stamp, comment=comment)
    elif status == "returned":
        fields.update(returned_by=user.id, returned_at=stamp, comment=comment)
    elif status == "submitted":
        fields.update(submitted_by=user.id, submitted_at=stamp)
    elif status == "draft":  # reopened by a granted change request: the approval is withdrawn
        fields.update(approved_by=None, approved_at=None)
    conn.execute(pilot_reports.update().where(pilot_reports.c.id == report_id).values(**fields))


def reports_query(unit_ids: Iterable[int] | None, plan_id: int | None = None) -> sa.Select[Any]:
    query = (
        sa.select(
            pilot_reports,
            units.c.code.label("unit_code"),
            units.c.name.label("unit_name"),
            units.c.parent_id.label("unit_parent_id"),
            pilot_plans.c.code.label("plan_code"),
            pilot_plans.c.name.label("plan_name"),
            pilot_plans.c.period.label("plan_period"),
        )
        .join(units, units.c.id == pilot_reports.c.unit_id)
        .join(pilot_plans, pilot_plans.c.id == pilot_reports.c.plan_id)
        .order_by(pilot_reports.c.period_start.desc(), units.c.code)
    )
    if unit_ids is not None:
        query = query.where(pilot_reports.c.unit_id.in_(sorted(unit_ids)))
    if plan_id is not None:
        query = query.where(pilot_reports.c.plan_id == plan_id)
    return query


def received_reports(conn: sa.Connection, plan_id: int) -> list[Received]:
    """First submissions (首次提交) of a plan's reports, for timeliness."""
    rows = conn.execute(
        sa.select(units.c.code, pilot_reports.c.period_start, pilot_reports.c.first_submitted_at)
        .join(units, units.c.id == pilot_reports.c.unit_id)
        .where(pilot_reports.c.plan_id == plan_id, pilot_reports.c.first_submitted_at.is_not(None))
    ).all()
    return [Received(code, start, _day(at)) for code, start, at in rows]


def _day(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value


def open_periods(plan_row: Any, as_of: date) -> list[date]:
    """The plan's periods that have started by ``as_of``, newest first."""
    last = min(plan_row.last_day, as_of)
    return [p for p in reversed(periods_between(plan_row.first_day, last, plan_row.period)) if p <= as_of]


def is_plan_period(plan_row: Any, start: date) -> bool:
    return is_period_start(start, plan_row.period)


def label_of(plan_row: Any, start: date) -> str:
    return period_label(start, plan_row.period)


# ---- indicator values (shape 1) for monitoring and the supervision list --------------------------


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


def plan_values(conn: sa.Connection, plan_row: Any, as_of: date) -> pa.Table:
    """Everything the plan is judged on: its approved reports, and for the indicators with
    ``source: registry`` (e.g. 在册患者规范管理率 of the 社会心理服务 plan) the registry's numbers
    (``shidian.registry``, interfaces §2) for every complete period of the plan up to ``as_of``,
    under each top unit of the plan: nobody types in what the registry already knows."""
    from shidian.registry import Period  # the registry feeds the plans; the plans do not need it
    from shidian.web.registry_reports import indicator_values as registry_values

    plan = plan_of(plan_row)
    values = indicator_values(conn, plan_row.id)
    from_registry = [i.code for i in plan.indicators if i.source == "registry"]
    plan_units = plan_unit_ids(conn, plan_row.id)
    if not from_registry or not plan_units:
        return values
    tree = all_units(conn)
    tops = sorted(tree[u].code for u in plan_units if u in tree and tree[u].parent_id not in plan_units)
    parts = [values]
    for start in periods_between(plan.start, as_of, plan.period):
        end = next_period(start, plan.period) - timedelta(days=1)
        if end > as_of:
            break  # an unfinished period: its follow-ups are not all due yet
        for code in tops:
            table = registry_values(conn, code, Period(start, end))
            if table is not None and table.num_rows:
                keep = pc.is_in(table["indicator_code"], value_set=pa.array(from_registry, pa.string()))
                parts.append(table.filter(keep).select(VALUES_SCHEMA.names).cast(VALUES_SCHEMA))
    return pa.concat_tables(parts)


def problem_rows(problems: Sequence[Problem]) -> list[dict[str, Any]]:
    """Problems as template rows: row, column, message, code."""
    return [
        {
            "row": p.where.row,
            "column": p.where.column,
            "message": p.message,
            "code": p.code,
            "severity": p.severity,
        }
        for p in problems
    ]


def request_problem(code: str, message: str, column: str | None = None) -> Problem:
    return Problem(code, message, Source("<form>", column=column))


# ---- the supervision list (督导名单) ------------------------------------------------------------


def units_table(tree: dict[int, UnitRow]) -> pa.Table:
    """The web units as the hierarchy ``shidian.pilots`` aggregates over (``UNITS_SCHEMA``):
    unit code, parent code ('' at the top), level = the unit kind."""
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


def supervision_list(
    conn: sa.Connection, plan_row: Any, unit_ids: set[int], as_of: date
) -> tuple[list[dict[str, Any]], str | None]:
    """The supervision list (督导名单): per unit of ``unit_ids``, its targets lagging (进度滞后) or
    overdue (逾期未达标) on approved reports, most overdue first — from ``shidian.pilots``
    ``aggregate`` and ``attainment``. Only indicators entered as reports (``source: report``)
    count here: registry indicators are judged on the registry's pages. The second item explains
    an empty list that does not mean "nobody lags" (no approved report yet)."""
    values = indicator_values(conn, plan_row.id)
    if values.num_rows == 0:
        return [], "尚无审核通过的报表 (no approved report yet)"
    tree = all_units(conn)
    plan = plan_of(plan_row)
    reported = {i.code for i in plan.indicators if i.source == "report"}
    codes = {tree[u].code: tree[u] for u in unit_ids if u in tree}
    groups = {g.code: g.name for g in plan.populations}
    by_unit: dict[str, dict[str, Any]] = {}
    for row in attainment(plan, aggregate(plan, units_table(tree), values), as_of).to_pylist():
        unit = codes.get(row["unit_code"])
        if (
            unit is None
            or row["indicator_code"] not in reported
            or row["status"] not in ("lagging", "overdue")
        ):
            continue
        entry = by_unit.setdefault(
            unit.code,
            {"unit_code": unit.code, "unit_name": unit.name, "overdue": 0, "lagging": 0, "items": []},
        )
        entry[row["status"]] += 1
        entry["items"].append(
            {
                "indicator_code": row["indicator_code"],
                "indicator_name": row["indicator_name"],
                "population": groups.get(row["population"], row["population"]),
                "value": None if row["value"] is None or not row["has_data"] else _two(row["value"]),
                "expected": None if row["expected"] is None else _two(row["expected"]),
                "target": None if row["target"] is None else _two(row["target"]),
                "status": row["status"],
                "status_label": row["status_label"],
            }
        )
    listing = sorted(by_unit.values(), key=lambda u: (-u["overdue"], -u["lagging"], u["unit_code"]))
    return listing, None


def _two(value: Decimal) -> str:
    """A value for display: two decimals, half up, trailing zeros dropped (87.5, 100, 0)."""
    text = format(round_to(Decimal(value), 2), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


# ---- one report, as the routes see it --------------------------------------------------------


class ReportScope:
    """One report's context (plan, unit, period, current report, form rows), checked for access:
    404 when the unit is not in the plan or not visible to the user (no leak of unit codes)."""

    def __init__(self, conn: sa.Connection, user: User, plan_id: int, unit_code: str, period: str) -> None:
        self.tree = all_units(conn)
        self.user = user
        self.actor = actor_for(self.tree, user)
        plan_row = get_plan(conn, plan_id)
        unit = next((u for u in self.tree.values() if u.code == unit_code), None)
        start = parse_period(period)
        if plan_row is None or unit is None or start is None:
            raise HTTPException(404, "没有这份报表 (no such report)")
        if unit.id not in plan_unit_ids(conn, plan_id) or unit.id not in visible_units(self.tree, user):
            # another unit's report: not found, as if it did not exist (no leak of unit codes)
            raise HTTPException(404, "没有这份报表 (no such report)")
        self.plan_row = plan_row
        self.plan = plan_of(plan_row)
        self.unit: UnitRow = unit
        self.start = start
        self.report = get_report(conn, plan_id, unit.id, start)
        self.specs: list[IndicatorSpec] = indicator_specs(self.plan, unit.kind)

    @property
    def status(self) -> str | None:
        return None if self.report is None else str(self.report.status)

    @property
    def parent(self) -> int | None:
        return self.unit.parent_id

    def decide(self, action: str, *, change_requested: bool = False) -> str | Refusal:
        return decide(
            self.actor, action, self.status, self.unit.id, self.parent, change_requested=change_requested
        )

    def may(self, action: str, *, change_requested: bool = False) -> bool:
        return not isinstance(self.decide(action, change_requested=change_requested), Refusal)

    @property
    def path(self) -> str:
        return f"/pilots/reports/{self.plan_row.id}/{self.unit.code}/{self.start.isoformat()}"

    def period_problems(self) -> list[Problem]:
        return check_period(
            self.start, self.plan_row.period, self.plan_row.first_day, self.plan_row.last_day, today()
        )


def refuse(result: str | Refusal) -> str:
    if isinstance(result, Refusal):
        raise HTTPException(result.status, result.reason)
    return result
