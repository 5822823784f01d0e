"""What a plan is judged on (考核数据): its approved reports joined with what the registry already
knows (the registry feeds the plans through its service; nobody types it in twice)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from shidian.pilots.entry import next_period, periods_between
from shidian.pilots.model import VALUES_SCHEMA
from shidian.pilots.store.plans import plan_of, plan_unit_ids
from shidian.pilots.store.values import indicator_values
from shidian.platform.units import all_units
from shidian.registry import Period
from shidian.registry import service as registry_service


def plan_values(conn: sa.Connection, plan_row: Any, as_of: date) -> pa.Table:
    """Everything the plan is judged on: its approved reports, and for the indicators with
    ``source: registry`` (e.g. 在册患者规范管理率 of the 社会心理服务 plan) the registry's numbers
    (``shidian.registry``, interfaces §2) for every complete period of the plan up to ``as_of``
    (and up to the plan's end), per unit under each top unit of the plan — each village's
    patients, each unit's recorded services — so that they roll up like reports from the
    indicator's reporting level: nobody types in what the registry already knows. A period in
    which nobody in the area was followed up gives no registry values (no data, not 0%)."""
    plan = plan_of(plan_row)
    values = indicator_values(conn, plan_row.id)
    from_registry = [i.code for i in plan.indicators if i.source == "registry"]
    plan_units = plan_unit_ids(conn, plan_row.id)
    if not from_registry or not plan_units:
        return values
    tree = all_units(conn)
    tops = sorted(tree[u].code for u in plan_units if u in tree and tree[u].parent_id not in plan_units)
    parts = [values]
    for start in periods_between(plan.start, min(as_of, plan.end), plan.period):
        end = next_period(start, plan.period) - timedelta(days=1)
        if end > as_of:
            break  # an unfinished period: its follow-ups are not all due yet
        for code in tops:
            table = registry_service.unit_indicator_values(conn, code, Period(start, end))
            if table is not None and table.num_rows:
                keep = pc.is_in(table["indicator_code"], value_set=pa.array(from_registry, pa.string()))
                parts.append(table.filter(keep).select(VALUES_SCHEMA.names).cast(VALUES_SCHEMA))
    return pa.concat_tables(parts)
