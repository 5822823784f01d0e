"""Attainment (目标达成进度): every target per unit, with a path to the deadline, in red-yellow-green.

For each target of each indicator, every unit of the aggregated table whose level the target
applies to gets one row (``ATTAINMENT_SCHEMA``):

* ``value`` as of the date: for a ``latest`` indicator (a stock) the value of the last period
  starting on or before ``as_of``; for a ``cumulative`` one (a flow) Σ numerators (÷ Σ
  denominators × scale for a rate) over the periods from the target's start to ``as_of``;
* ``expected``: the value the path asks for on ``as_of``. The path runs from the baseline at the
  start (the target's ``start``, else the plan's) through the milestones to the target at the
  deadline: ``linear`` prorates by days between two points, ``step`` holds the last point passed;
* ``status``: ``achieved`` (the target itself is met) → green; else ``overdue`` (past the
  deadline) → red; else ``on_track`` (the expected value is met) → green; else ``lagging`` →
  yellow. A unit of the table (any unit with some value) that lacks a value for a target it is
  concerned by (its level at or above the reporting level; only that level for ``none``) is
  lagging (or overdue), with ``has_data`` false.

``lagging_units`` turns the table into the supervision list (督导名单).
"""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from shidian import duck
from shidian.money import div_round
from shidian.pilots import aggregate
from shidian.pilots.aggregate import decimal_words, number_array, validity, value_sql
from shidian.pilots.model import (
    ACHIEVED,
    LAGGING,
    NUMBER,
    ON_TRACK,
    OVERDUE,
    STATUS_COLOURS,
    STATUS_LABELS,
    STATUSES,
    Plan,
    Target,
)

ATTAINMENT_SCHEMA = pa.schema(
    [
        ("unit_code", pa.string()),
        ("level", pa.string()),
        ("indicator_code", pa.string()),
        ("indicator_name", pa.string()),
        ("population", pa.string()),
        ("target_index", pa.int64()),
        ("period_start", pa.date32()),
        ("value", NUMBER),
        ("target", NUMBER),
        ("direction", pa.string()),
        ("deadline", pa.date32()),
        ("expected", NUMBER),
        ("status", pa.string()),
        ("colour", pa.string()),
        ("status_label", pa.string()),
        ("has_data", pa.bool_()),
    ]
)

LAGGING_SCHEMA = pa.schema(
    [
        ("unit_code", pa.string()),
        ("level", pa.string()),
        ("overdue", pa.int64()),
        ("lagging", pa.int64()),
        ("indicators", pa.string()),
    ]
)


def expected_value(target: Target, plan_start: date, as_of: date) -> Decimal:
    """The value the path asks for on ``as_of`` (8 decimals, half up)."""
    start = target.start or plan_start
    points = [
        (start, target.baseline),
        *((m.due, m.value) for m in target.milestones),
        (target.deadline, target.value),
    ]
    if as_of >= target.deadline:
        return target.value
    if as_of <= start:
        return target.baseline
    if target.path == "step":
        return [v for d, v in points if d <= as_of][-1]
    for (d0, v0), (d1, v1) in itertools.pairwise(points):
        if d0 <= as_of <= d1:
            days = (d1 - d0).days
            if days <= 0:
                return v1
            return v0 + div_round((v1 - v0) * (as_of - d0).days, Decimal(days), 8)
    return target.value


def targets_table(plan: Plan, as_of: date) -> pa.Table:
    """One row per target, with its expected value on ``as_of``."""
    rows: dict[str, list[object]] = {
        k: []
        for k in [
            "indicator_code",
            "indicator_name",
            "population",
            "target_level",
            "target_index",
            "target",
            "direction",
            "deadline",
            "start",
            "expected",
        ]
    }
    for ind in plan.indicators:
        for n, t in enumerate(ind.targets):
            rows["indicator_code"].append(ind.code)
            rows["indicator_name"].append(ind.name)
            rows["population"].append(t.population)
            rows["target_level"].append(t.level)
            rows["target_index"].append(n)
            rows["target"].append(t.value)
            rows["direction"].append(t.direction)
            rows["deadline"].append(t.deadline)
            rows["start"].append(t.start or plan.start)
            rows["expected"].append(expected_value(t, plan.start, as_of))
    return pa.table(
        {
            "indicator_code": pa.array(rows["indicator_code"], pa.string()),
            "indicator_name": pa.array(rows["indicator_name"], pa.string()),
            "population": pa.array(rows["population"], pa.string()),
            "target_level": pa.array(rows["target_level"], pa.string()),
            "target_index": pa.array(rows["target_index"], pa.int64()),
            "target": pa.array(rows["target"], NUMBER),
            "direction": pa.array(rows["direction"], pa.string()),
            "deadline": pa.array(rows["deadline"], pa.date32()),
            "start": pa.array(rows["start"], pa.date32()),
            "expected": pa.array(rows["expected"], NUMBER),
        }
    )


def _met(value: str, bound: str) -> str:
    return f"(CASE WHEN t.direction = '>=' THEN {value} >= {bound} ELSE {value} <= {bound} END)"


def _encoded(column: pa.ChunkedArray) -> tuple[pa.ChunkedArray, pa.Array]:
    """A code column as int32 indices into one dictionary (dictionary-encoding it if needed)."""
    if not pa.types.is_dictionary(column.type):
        column = pc.dictionary_encode(column.cast(pa.string()))
    unified = pa.table({"c": column}).unify_dictionaries()["c"]
    chunks = unified.chunks
    dictionary = chunks[0].dictionary.cast(pa.string()) if chunks else pa.array([], pa.string())
    return pa.chunked_array([c.indices.cast(pa.int32()) for c in chunks], pa.int32()), dictionary


def _positions(codes: list[str], dictionary: pa.Array) -> pa.Array:
    """Each code's index in the dictionary, -1 when absent."""
    found = pc.index_in(pa.array(codes, pa.string()), value_set=dictionary)
    return pc.fill_null(found, -1).cast(pa.int32())


def attainment(plan: Plan, aggregated: pa.Table, as_of: date) -> pa.Table:
    """Attainment of every target per unit on ``as_of`` (see the module doc).

    Codes are handled as integer indices into their dictionaries (the aggregated table's code
    columns are dictionary-encoded); one pass per unit × indicator × population over the periods
    (``_picked``: integer scatter operations, or a SQL GROUP BY when it cannot), then small joins
    in DuckDB. A cumulative indicator sums from the earliest start of its targets."""
    u, unit_dict = _encoded(aggregated["unit_code"])
    lv, level_dict = _encoded(aggregated["level"])
    ind, ind_dict = _encoded(aggregated["indicator_code"])
    pop, pop_dict = _encoded(aggregated["population"])
    con = duck.connect()
    con.execute("SET preserve_insertion_order = false")
    plan_levels = [level.code for level in plan.levels]
    # the aggregated table's level index → the plan's level index (top = 0)
    con.register(
        "lvmap",
        pa.table(
            {
                "lv": pa.array(range(len(level_dict)), pa.int32()),
                "idx": pa.array(
                    [plan_levels.index(c) if c in plan_levels else None for c in level_dict.to_pylist()],
                    pa.int32(),
                ),
            }
        ),
    )
    inds = [i for i in plan.indicators if i.targets]
    starts = {i.code: min(t.start or plan.start for t in i.targets) for i in inds}
    con.register(
        "ind",
        pa.table(
            {
                "i": _positions([i.code for i in inds], ind_dict),
                "accumulate": pa.array([i.accumulate for i in inds], pa.string()),
                "scale": pa.array([i.scale for i in inds], pa.decimal128(20, 2)),
                "start": pa.array([starts[i.code] for i in inds], pa.date32()),
                "rolls": pa.array([i.aggregation != "none" for i in inds], pa.bool_()),
                "reported": pa.array(
                    [
                        plan_levels.index(i.reported_by) if i.reported_by in plan_levels else None
                        for i in inds
                    ],
                    pa.int32(),
                ),
            }
        ),
    )
    targets = targets_table(plan, as_of)
    target_levels = targets["target_level"].to_pylist()
    con.register(
        "t",
        targets.append_column("i", _positions(targets["indicator_code"].to_pylist(), ind_dict))
        .append_column("pop", _positions(targets["population"].to_pylist(), pop_dict))
        .append_column(
            "tlevel",
            pa.array(
                [
                    plan_levels.index(c) if c in plan_levels else (-1 if c == "" else -2)
                    for c in target_levels
                ],
                pa.int32(),
            ),
        ),
    )
    day = f"DATE '{as_of.isoformat()}'"
    n = "DECIMAL(38,8)"
    codes = pa.table({"u": u, "lv": lv, "i": ind, "pop": pop})
    picked = _picked(codes, aggregated, as_of, ind_dict, (len(unit_dict), len(ind_dict), len(pop_dict)), plan)
    if picked is not None:
        con.register("picked", picked)
    else:
        con.register(
            "agg",
            codes.append_column("period_start", aggregated["period_start"])
            .append_column("numerator", aggregated["numerator"])
            .append_column("denominator", aggregated["denominator"])
            .append_column("value", aggregated["value"]),
        )
        con.execute(
            f"""
            CREATE TEMP TABLE picked AS
            SELECT a.u, a.lv, a.i, a.pop,
                   max(a.period_start) AS period_start,
                   arg_max(a.value, a.period_start) AS latest_value,
                   sum(a.numerator) FILTER (WHERE a.period_start >= d.start) AS cum_num,
                   sum(a.denominator) FILTER (WHERE a.period_start >= d.start) AS cum_den
            FROM agg a JOIN ind d ON d.i = a.i
            WHERE a.period_start <= {day}
            GROUP BY a.u, a.lv, a.i, a.pop
            """
        )
    raw = con.sql(
        f"""
        WITH         valued AS (
            SELECT p.u, p.i, p.pop, p.period_start,
                   CASE WHEN d.accumulate = 'latest' THEN CAST(p.latest_value AS {n})
                        ELSE {value_sql("p.cum_num", "p.cum_den", "d.scale")} END AS value
            FROM picked p JOIN ind d ON d.i = p.i
        ),
        units AS (SELECT DISTINCT a.u, a.lv, m.idx FROM (SELECT DISTINCT u, lv FROM picked) a
                  JOIN lvmap m ON m.lv = a.lv),
        graded AS (
            SELECT un.u, un.lv, t.indicator_code, t.indicator_name, t.population, t.target_index,
                   v.period_start, v.value, t.target, t.direction, t.deadline, t.expected,
                   CASE WHEN v.value IS NOT NULL AND {_met("v.value", "t.target")} THEN '{ACHIEVED}'
                        WHEN {day} > t.deadline THEN '{OVERDUE}'
                        WHEN v.value IS NOT NULL AND {_met("v.value", "t.expected")} THEN '{ON_TRACK}'
                        ELSE '{LAGGING}' END AS status,
                   v.value IS NOT NULL AS has_data
            FROM units un
            JOIN t ON (t.tlevel = -1 OR t.tlevel = un.idx)
            JOIN ind d ON d.i = t.i
                 AND (un.idx = d.reported OR (un.idx < d.reported AND d.rolls))
            LEFT JOIN valued v ON v.u = un.u AND v.i = t.i AND v.pop = t.pop
        )
        SELECT * FROM graded
        """
    ).to_arrow_table()
    return _finish(raw, unit_dict, level_dict, raw["status"])


#: Rows per block of the numpy passes over the aggregated table.
BLOCK = 1 << 20
_EPOCH = date(1970, 1, 1)


def _picked(
    codes: pa.Table,
    aggregated: pa.Table,
    as_of: date,
    ind_dict: pa.Array,
    sizes: tuple[int, int, int],
    plan: Plan,
) -> pa.Table | None:
    """Per unit × indicator × population, over the periods starting on or before ``as_of`` (for
    the indicators with targets): the last period and the value of the last period that has one
    (as SQL's ``arg_max``, which skips nulls), and for a cumulative indicator
    Σ numerators and Σ denominators of the periods from its start — the twin of the SQL
    ``GROUP BY`` (same columns), in two passes of exact integer scatter operations over a dense
    key, block by block. The decimals are read from their Arrow buffers; the sums are of the
    unscaled integers (value × 10⁸), checked not to overflow. None when the key space is sparse
    or a number too large (the SQL then does it)."""
    n_units, n_inds, n_pops = sizes
    size = n_units * n_inds * n_pops
    if size > 4 * codes.num_rows + aggregate.DENSE_SLACK:
        return None
    with_targets = {i.code: i for i in plan.indicators if i.targets}
    targeted = np.zeros(n_inds, np.bool_)
    cumulative = np.zeros(n_inds, np.bool_)
    start = np.zeros(n_inds, np.int64)
    for position, code in enumerate(ind_dict.to_pylist()):
        indicator = with_targets.get(code)
        if indicator is not None:
            targeted[position] = True
            cumulative[position] = indicator.accumulate == "cumulative"
            start[position] = (min(t.start or plan.start for t in indicator.targets) - _EPOCH).days
    limit = (as_of - _EPOCH).days
    none = np.iinfo(np.int32).min
    latest_day = np.full(size, none, np.int32)  # the last period
    valued_day = np.full(size, none, np.int32)  # the last period with a value (SQL's arg_max skips nulls)
    unit_level = np.full(n_units, -1, np.int32)
    sums = {name: np.zeros(size, np.int64) for name in ("numerator", "denominator")}
    counts = {name: np.zeros(size, np.int64) for name in ("numerator", "denominator")}
    largest = 0
    table = codes.append_column("period_start", aggregated["period_start"])
    for name in ("numerator", "denominator", "value"):
        table = table.append_column(name, aggregated[name])
    batches = table.to_batches(max_chunksize=BLOCK)
    some_null = aggregated["value"].null_count > 0  # else the last valued period is the last period

    def keys(
        batch: pa.RecordBatch,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.bool_]]:
        unit, ind = batch.column("u").to_numpy(), batch.column("i").to_numpy()
        key = unit.astype(np.int64) * n_inds + ind
        if n_pops > 1:
            key = key * n_pops + batch.column("pop").to_numpy()
        day = batch.column("period_start").view(pa.int32()).to_numpy(zero_copy_only=False)
        return key, ind, day, (day <= limit) & targeted[ind]

    for batch in batches:
        if (
            batch.column("period_start").null_count
            or batch.column("u").null_count
            or batch.column("i").null_count
        ):
            return None
        key, ind, day, used = keys(batch)
        unit_level[batch.column("u").to_numpy()] = batch.column("lv").to_numpy()
        np.maximum.at(latest_day, key[used], day[used])
        if some_null:
            has_value = validity(batch.column("value"))
            valued = used if has_value is None else used & has_value
            np.maximum.at(valued_day, key[valued], day[valued])
        summed = used & cumulative[ind] & (day >= start[ind])
        if not summed.any():
            continue
        for name in ("numerator", "denominator"):
            array = batch.column(name)
            low, high = decimal_words(array)
            valid = validity(array)
            take = summed if valid is None else summed & valid
            low, high = low[take], high[take]
            if (high != np.right_shift(low, 63)).any():
                return None
            if len(low):
                largest = max(largest, int(low.max()), -int(low.min()))
            np.add.at(sums[name], key[take], low)
            counts[name] += np.bincount(key[take], minlength=size)
    if not some_null:
        valued_day = latest_day
    most = max(int(counts["numerator"].max(initial=0)), int(counts["denominator"].max(initial=0)))
    if largest * most >= 2**62:
        return None
    latest_low = np.zeros(size, np.int64)
    latest_high = np.zeros(size, np.int64)
    latest_valid = np.zeros(size, np.bool_)
    for batch in batches:
        key, ind, day, used = keys(batch)
        array = batch.column("value")
        valid = validity(array)
        pick = used & (day == valued_day[key])
        if valid is not None:
            pick &= valid
        low, high = decimal_words(array)
        latest_low[key[pick]] = low[pick]
        latest_high[key[pick]] = high[pick]
        latest_valid[key[pick]] = True
    groups = np.flatnonzero(latest_day != none)
    unit = groups // (n_inds * n_pops)
    return pa.table(
        {
            "u": unit.astype(np.int32),
            "lv": unit_level[unit],
            "i": (groups // n_pops % n_inds).astype(np.int32),
            "pop": (groups % n_pops).astype(np.int32),
            "period_start": pa.array(latest_day[groups]).view(pa.date32()),
            "latest_value": number_array(latest_low[groups], latest_valid[groups], latest_high[groups]),
            "cum_num": number_array(sums["numerator"][groups], counts["numerator"][groups] > 0),
            "cum_den": number_array(sums["denominator"][groups], counts["denominator"][groups] > 0),
        }
    )


def _finish(raw: pa.Table, unit_dict: pa.Array, level_dict: pa.Array, status: pa.ChunkedArray) -> pa.Table:
    """Codes back to strings, colours and labels added, rows ordered."""
    colour_of = pa.array([STATUS_COLOURS[s] for s in STATUSES], pa.string())
    label_of = pa.array([STATUS_LABELS[s] for s in STATUSES], pa.string())
    positions = pc.index_in(status, value_set=pa.array(list(STATUSES), pa.string()))
    table = pa.table(
        {
            "unit_code": pc.take(unit_dict, raw["u"]),
            "level": pc.take(level_dict, raw["lv"]),
            "indicator_code": raw["indicator_code"],
            "indicator_name": raw["indicator_name"],
            "population": raw["population"],
            "target_index": raw["target_index"],
            "period_start": raw["period_start"],
            "value": raw["value"],
            "target": raw["target"],
            "direction": raw["direction"],
            "deadline": raw["deadline"],
            "expected": raw["expected"],
            "status": status,
            "colour": pc.take(colour_of, positions),
            "status_label": pc.take(label_of, positions),
            "has_data": raw["has_data"],
        }
    )
    table = table.sort_by(
        [
            ("unit_code", "ascending"),
            ("indicator_code", "ascending"),
            ("population", "ascending"),
            ("target_index", "ascending"),
        ]
    )
    return table.cast(ATTAINMENT_SCHEMA)


def lagging_units(attained: pa.Table, level: str | None = None) -> pa.Table:
    """The supervision list (督导名单): units with lagging or overdue targets, the most overdue
    first, each with its indicators (``代码:人群`` joined by ``、``)."""
    con = duck.connect()
    con.register("a", attained)
    where = "" if level is None else "AND level = $level"
    params = {} if level is None else {"level": level}
    return (
        con.sql(
            f"""
            SELECT unit_code, level,
                   count(*) FILTER (WHERE status = '{OVERDUE}') AS overdue,
                   count(*) FILTER (WHERE status = '{LAGGING}') AS lagging,
                   string_agg(DISTINCT indicator_code || CASE WHEN population = '' THEN '' ELSE ':' || population END,
                              '、' ORDER BY indicator_code || CASE WHEN population = '' THEN '' ELSE ':' || population END)
                       AS indicators
            FROM a WHERE status IN ('{OVERDUE}', '{LAGGING}') {where}
            GROUP BY unit_code, level
            ORDER BY overdue DESC, lagging DESC, unit_code
            """,
            params=params,
        )
        .to_arrow_table()
        .cast(LAGGING_SCHEMA)
    )
