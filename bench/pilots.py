"""Benchmark: aggregation and attainment of a province-sized pilot plan.

Generates in memory (not timed) a province of 10 cities, 100 counties, 1,500 townships and
20,000 villages with GB/T 2260-shaped codes, a plan of 30 indicators (10 rates, 10 counts,
5 amounts, 5 yes/no, all reported by villages, each with a target and a milestone) and
3 years of monthly village reports (20,000 × 30 × 36 = 21.6 million value rows). Then times,
the best of ``--repeat`` runs,

* ``aggregate``: every unit × indicator × month rolled up village → township → county → city
  → province (Σ numerators and Σ denominators per level);
* ``attainment``: every target of every unit on the as-of date, with the path and RYG status.

Prints the times and PASS/FAIL against the target (both together under 5 s). Never asserts.

Usage: ``.venv/bin/python bench/pilots.py [--villages 20000] [--months 36] [--repeat 2]``
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from datetime import date
from decimal import Decimal

import numpy as np
import pyarrow as pa

from shidian.pilots.aggregate import aggregate
from shidian.pilots.attainment import attainment
from shidian.pilots.model import (
    NUMBER,
    VALUES_SCHEMA,
    Indicator,
    Level,
    Milestone,
    Plan,
    Target,
)

TARGET_SECONDS = 5.0
START = date(2019, 1, 1)


def build_units(counties: int, townships: int, villages: int) -> pa.Table:
    """A province (450000), 10 cities, and the counties/townships/villages spread evenly."""
    codes = ["450000"]
    parents = [""]
    levels = ["province"]
    cities = [f"45{c:02d}00" for c in range(1, 11)]
    codes += cities
    parents += ["450000"] * len(cities)
    levels += ["city"] * len(cities)
    county_codes = [f"{cities[k % 10][:4]}{k // 10 + 1:02d}" for k in range(counties)]
    codes += county_codes
    parents += [cities[k % 10] for k in range(counties)]
    levels += ["county"] * counties
    per_county = np.array_split(np.arange(townships), counties)
    town_codes: list[str] = []
    for county, towns in zip(county_codes, per_county, strict=True):
        for n, _ in enumerate(towns):
            town_codes.append(f"{county}{100 + n:03d}")
            parents.append(county)
    codes += town_codes
    levels += ["township"] * townships
    per_town = np.array_split(np.arange(villages), townships)
    village_codes: list[str] = []
    for town, vills in zip(town_codes, per_town, strict=True):
        for n, _ in enumerate(vills):
            village_codes.append(f"{town}{200 + n:03d}")
            parents.append(town)
    codes += village_codes
    levels += ["village"] * villages
    return pa.table({"unit_code": codes, "parent_code": parents, "level": levels})


def build_plan(months: int) -> Plan:
    kinds = ["rate"] * 10 + ["count"] * 10 + ["amount"] * 5 + ["yes_no"] * 5
    end = date(START.year + months // 12, 1, 1).replace(day=1)
    deadline = date(end.year - 1, 12, 31)
    indicators = []
    for n, kind in enumerate(kinds):
        target_value = {"rate": 80, "count": 30, "amount": 500, "yes_no": 90}[kind]
        indicators.append(
            Indicator(
                code=f"I{n:02d}",
                name=f"指标{n:02d}",
                unit="%" if kind in ("rate", "yes_no") else "个",
                kind=kind,
                reported_by="village",
                aggregation={"rate": "ratio", "yes_no": "share"}.get(kind, "sum"),
                scale=Decimal(100) if kind in ("rate", "yes_no") else Decimal(1),
                accumulate="cumulative" if kind in ("count", "amount") else "latest",
                targets=(
                    Target(
                        Decimal(target_value),
                        ">=",
                        deadline,
                        milestones=(Milestone(date(START.year + 1, 12, 31), Decimal(target_value) / 2),),
                    ),
                ),
            )
        )
    levels = (
        Level("province", "省", 6),
        Level("city", "市", 6),
        Level("county", "县", 6),
        Level("township", "乡镇", 9),
        Level("village", "村", 12),
    )
    return Plan("bench", "基准方案", START, deadline, indicators=tuple(indicators), levels=levels)


def build_values(plan: Plan, villages: pa.Array, months: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    n_v, n_i = len(villages), len(plan.indicators)
    rows = n_v * n_i * months
    village_idx = np.repeat(np.arange(n_v, dtype=np.int32), n_i * months)
    ind_idx = np.tile(np.repeat(np.arange(n_i, dtype=np.int32), months), n_v)
    month_idx = np.tile(np.arange(months, dtype=np.int32), n_v * n_i)
    kinds = np.array([i.kind for i in plan.indicators])
    row_kind = kinds[ind_idx]
    den = rng.integers(20, 200, rows)
    num = np.where(row_kind == "rate", (den * rng.random(rows)).astype(np.int64), rng.integers(0, 10, rows))
    num = np.where(row_kind == "yes_no", rng.integers(0, 2, rows), num)
    starts = np.array(
        [date(START.year + m // 12, m % 12 + 1, 1) for m in range(months)], dtype="datetime64[D]"
    )
    return pa.table(
        {
            "unit_code": pa.DictionaryArray.from_arrays(pa.array(village_idx), villages),
            "indicator_code": pa.DictionaryArray.from_arrays(
                pa.array(ind_idx), pa.array([i.code for i in plan.indicators])
            ),
            "period_start": pa.array(starts[month_idx]).cast(pa.date32()),
            "population": pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, np.int32)), pa.array([""])),
            "numerator": pa.array(num).cast(NUMBER),
            "denominator": pa.array(den, mask=row_kind != "rate").cast(NUMBER),
        }
    )


def _cpu() -> float:
    """CPU seconds (user + system) of this process and its threads so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counties", type=int, default=100)
    parser.add_argument("--townships", type=int, default=1500)
    parser.add_argument("--villages", type=int, default=20000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2019)
    args = parser.parse_args()
    started = time.perf_counter()
    units = build_units(args.counties, args.townships, args.villages)
    plan = build_plan(args.months)
    villages = units.filter(pa.compute.equal(units["level"], "village"))["unit_code"].combine_chunks()
    values = build_values(plan, villages, args.months, args.seed)
    assert set(VALUES_SCHEMA.names) == set(values.column_names)
    print(
        f"province: {units.num_rows:,} units, {len(plan.indicators)} indicators, {args.months} months, "
        f"{values.num_rows:,} value rows (generated in {time.perf_counter() - started:.1f} s)"
    )
    as_of = date(START.year + args.months // 12 - 1, 7, 15)
    best_agg = best_att = cpu_agg = cpu_att = float("inf")
    for _ in range(args.repeat):
        c0, t0 = _cpu(), time.perf_counter()
        aggregated = aggregate(plan, units, values)
        c1, t1 = _cpu(), time.perf_counter()
        attained = attainment(plan, aggregated, as_of)
        c2, t2 = _cpu(), time.perf_counter()
        best_agg, best_att = min(best_agg, t1 - t0), min(best_att, t2 - t1)
        cpu_agg, cpu_att = min(cpu_agg, c1 - c0), min(cpu_att, c2 - c1)
        rows = aggregated.num_rows
        del aggregated  # free the 23 M rows before the next run
    print(f"load average (1 min) {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"aggregate:  {best_agg:6.2f} s wall, {cpu_agg:6.2f} s CPU  ({rows:,} rows)")
    print(
        f"attainment: {best_att:6.2f} s wall, {cpu_att:6.2f} s CPU  ({attained.num_rows:,} rows, as of {as_of})"
    )
    total = best_agg + best_att
    verdict = "PASS" if total < TARGET_SECONDS else "FAIL"
    print(f"{verdict}: aggregation + attainment {total:.2f} s (target < {TARGET_SECONDS:.0f} s)")


if __name__ == "__main__":
    main()
