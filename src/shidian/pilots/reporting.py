"""Who reports what under a plan (填报范围): the reporting units, the form rows, the open periods.

Pure: takes a ``Plan`` and units (anything with ``id``, ``code``, ``region_code``, ``kind``);
the store supplies the rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Protocol

from shidian.pilots.entry import IndicatorSpec, periods_between
from shidian.pilots.model import Plan


class UnitLike(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def code(self) -> str: ...
    @property
    def region_code(self) -> str | None: ...
    @property
    def kind(self) -> str: ...


def reporting_levels(plan: Plan) -> set[str]:
    """The unit kinds that enter values for ``plan`` (indicators with ``source: report``)."""
    return {i.reported_by for i in plan.indicators if i.source == "report"}


def _in_plan_areas(unit: UnitLike, area_codes: set[str]) -> bool:
    code = unit.region_code or unit.code
    return not area_codes or any(code.startswith(a) or unit.code == a for a in area_codes)


def reporting_units(plan: Plan, units: Iterable[UnitLike], allowed: set[int]) -> list[int]:
    """The units that report under ``plan``: those in ``allowed`` of a reporting level, inside the
    plan's areas when it names any (by GB/T 2260 code prefix); sorted ids."""
    levels = reporting_levels(plan)
    area_codes = {a.code for a in plan.areas if a.parent == ""} or {a.code for a in plan.areas}
    return sorted(
        u.id for u in units if u.id in allowed and u.kind in levels and _in_plan_areas(u, area_codes)
    )


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


def open_periods(first_day: date, last_day: date, kind: str, as_of: date) -> list[date]:
    """The plan's periods that have started by ``as_of``, newest first."""
    last = min(last_day, as_of)
    return [p for p in reversed(periods_between(first_day, last, kind)) if p <= as_of]


def parse_period(text: str) -> date | None:
    """``YYYY-MM-DD`` (or ``YYYY-MM``) → date, or None."""
    try:
        return date.fromisoformat(text if len(text) > 7 else text + "-01")
    except ValueError:
        return None
