"""Small plans, hierarchies and value tables written out by hand for the pilot-plan tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pyarrow as pa

from shidian.pilots.model import VALUES_SCHEMA, Plan
from shidian.pilots.plan_file import parse_plan

#: 石城县 (360730) with two townships: 琴江镇 (one village) and 小松镇 (two villages).
COUNTY = "360730"
TOWN_A, TOWN_B = "360730100", "360730101"
VILLAGE_A1, VILLAGE_B1, VILLAGE_B2 = "360730100201", "360730101201", "360730101202"

UNITS = pa.table(
    {
        "unit_code": [COUNTY, TOWN_A, TOWN_B, VILLAGE_A1, VILLAGE_B1, VILLAGE_B2],
        "parent_code": ["", COUNTY, COUNTY, TOWN_A, TOWN_B, TOWN_B],
        "level": ["county", "township", "township", "village", "village", "village"],
    }
)

PLAN_YAML = """
code: small
name: 小方案
start: 2020-01-01
end: 2021-12-31
levels:
  - {code: county, name: 县, digits: 6}
  - {code: township, name: 乡镇, digits: 9}
  - {code: village, name: 村, digits: 12}
populations:
  - {code: officials, name: 干部职工}
  - {code: rural, name: 农村居民}
indicators:
  - {code: RATE, name: 治疗率, unit: "%", kind: rate, reported_by: village, aggregation: ratio, scale: 100,
     targets: [{value: 80, direction: ">=", deadline: 2021-12-31}]}
  - {code: COUNT, name: 咨询室数, unit: 个, kind: count, reported_by: village, aggregation: sum,
     targets: [{value: 10, direction: ">=", deadline: 2021-12-31}]}
  - {code: "YN", name: 工作小组, unit: "%", kind: yes_no, reported_by: village, aggregation: share,
     targets: [{value: 100, direction: ">=", deadline: 2021-12-31}]}
  - {code: FLOW, name: 热线人次, unit: 人次, kind: count, reported_by: village, aggregation: sum, accumulate: cumulative,
     targets: [{value: 120, direction: ">=", deadline: 2021-12-31}]}
  - {code: LIT, name: 知晓率, unit: "%", kind: rate, reported_by: county, aggregation: ratio, scale: 100,
     targets: [{value: 90, direction: ">=", deadline: 2021-12-31, population: officials},
               {value: 50, direction: ">=", deadline: 2021-12-31, population: rural}]}
"""


def small_plan() -> Plan:
    plan, problems = parse_plan(PLAN_YAML, "small.yaml")
    assert plan is not None, problems
    return plan


def values(rows: list[tuple[str, str, date, str, int | str, int | str | None]]) -> pa.Table:
    """(unit, indicator, period start, population, numerator, denominator) rows as VALUES_SCHEMA."""
    return pa.table(
        {
            "unit_code": [r[0] for r in rows],
            "indicator_code": [r[1] for r in rows],
            "period_start": [r[2] for r in rows],
            "population": [r[3] for r in rows],
            "numerator": [Decimal(str(r[4])) for r in rows],
            "denominator": [None if r[5] is None else Decimal(str(r[5])) for r in rows],
        },
        schema=VALUES_SCHEMA,
    )


def by_key(table: pa.Table, *columns: str) -> dict[object, dict[str, object]]:
    """Rows by the value of one column, or by the tuple of several."""
    out: dict[object, dict[str, object]] = {}
    for row in table.to_pylist():
        out[row[columns[0]] if len(columns) == 1 else tuple(row[c] for c in columns)] = row
    return out
