"""Aggregation up the hierarchy (逐级汇总): columnar, one pass over the reports, then per level.

``aggregate(plan, units, values)`` takes the indicator values (``model.VALUES_SCHEMA``) and the
hierarchy (``unit_code, parent_code, level``) and returns one row per unit × indicator × period ×
population with ``numerator``, ``denominator`` and ``value`` (``AGGREGATED_SCHEMA``):

* only values reported by units of the indicator's ``reported_by`` level are used (a value
  reported at another level is ignored here; the reporting workflow refuses it on entry);
* ``sum``: Σ numerators, ``denominator`` is null, ``value`` = Σ numerators;
* ``ratio`` (rates): Σ numerators and Σ denominators separately; ``value`` = Σ numerators ÷
  Σ denominators × scale, rounded half up to 8 decimals — **never an average of rates**
  (a township with 9 of 10 and one with 1 of 90 make 10 of 100 = 10%, not 50%);
* ``share`` (yes/no): each reporting unit counts 1 in the denominator, so ``value`` is the share
  of units answering yes × scale;
* ``none``: the reporting level only.

How (a province is 21.6 million reported rows; ``bench/pilots.py``): codes become integer ids
once per distinct code (the columns are dictionary-encoded); the reported rows' own columns
(period, numerator) are returned as they are. When every number is whole, non-negative and
modest (every count-based indicator), the decimals are read as int64 straight from their Arrow
buffers, the reported rows' values come from an exact int64 long division (half up, 8 decimals:
the twin of ``value_sql``'s fast path, written straight into the decimal128 buffer) and the rows
are summed into their parents by exact integer scatter-adds over a dense key (parent ×
indicator × period × population), then level by level up the tree the same way (13 times fewer
rows each level) — block by block on up to ``THREADS`` threads, no float anywhere. Otherwise
(fractions, negatives, huge numbers) DuckDB does the same in exact DECIMAL arithmetic, one
GROUP BY per level. No Python loop per unit or per row on either path.
``reporting_units`` counts the reporting-level rows behind each total (for completeness checks).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from shidian import duck
from shidian.money import sql_div
from shidian.pilots.hierarchy import normalize_units
from shidian.pilots.model import NUMBER, Plan

#: Code columns are dictionary-encoded (23 million rows of a province export in a second).
CODE = pa.dictionary(pa.int32(), pa.string())

AGGREGATED_SCHEMA = pa.schema(
    [
        ("unit_code", CODE),
        ("level", CODE),
        ("indicator_code", CODE),
        ("period_start", pa.date32()),
        ("population", CODE),
        ("numerator", NUMBER),
        ("denominator", NUMBER),
        ("value", NUMBER),
        ("reporting_units", pa.int64()),
    ]
)

_N = "DECIMAL(38,8)"

#: A NUMBER (decimal128(38, 8)) holds its value × 10⁸ as a 128-bit integer.
UNIT = 10**8
#: Whole numbers take the int64 path when every value and every column's total stay below this
#: (so that sums, × scale and the long division all fit in 64 bits).
WHOLE_LIMIT = 9_000_000_000
#: The largest quotient whose value × 10⁸ (plus the rounding carry) fits in an int64.
_QUOTIENT_LIMIT = 90_000_000_000
#: A dense key space may exceed twice the rows by this many slots before ``np.unique`` is used.
DENSE_SLACK = 1_000_000
#: Rows per block of the int64 passes (a million: the temporaries stay in the cache).
BLOCK = 1 << 20
#: Threads for the block passes (the host's cores, at most 4).
THREADS = min(4, os.cpu_count() or 1)

Ints = npt.NDArray[np.int64]
Ids = npt.NDArray[np.int32]
Mask = npt.NDArray[np.bool_]
Npt = npt.NDArray[Any]


def indicators_table(plan: Plan) -> pa.Table:
    """The plan's indicators as a table for SQL joins."""
    inds = plan.indicators
    return pa.table(
        {
            "code": pa.array([i.code for i in inds], pa.string()),
            "kind": pa.array([i.kind for i in inds], pa.string()),
            "reported_by": pa.array([i.reported_by for i in inds], pa.string()),
            "aggregation": pa.array([i.aggregation for i in inds], pa.string()),
            "accumulate": pa.array([i.accumulate for i in inds], pa.string()),
            "scale": pa.array([i.scale for i in inds], pa.decimal128(20, 2)),
        }
    )


def connect(plan: Plan, units: pa.Table) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with ``units`` and ``ind`` registered (shared by attainment)."""
    con = duck.connect()
    con.execute("SET preserve_insertion_order = false")
    con.register("units_raw", normalize_units(units))
    con.execute("CREATE TEMP TABLE units AS SELECT * FROM units_raw")
    con.register("ind", indicators_table(plan))
    return con


def value_sql(num: str, den: str, scale: str, out: str = _N, whole: bool = False) -> str:
    """The value of a total: the numerator when there is no denominator, else num × scale ÷ den
    rounded half up to 8 decimals, exactly.

    Whole, non-negative numbers of modest size (every count-based rate) take a BIGINT long
    division: ``q = n·s // d`` and the 8 decimals ``(2·(n·s mod d)·10⁸ + d) // 2d``; anything
    else takes ``money.sql_div`` (HUGEINT, exact, about 20 times slower). ``whole`` says the
    caller has checked the whole table qualifies, which skips the per-row test."""
    n, d, s = f"CAST({num} AS BIGINT)", f"CAST({den} AS BIGINT)", f"CAST({scale} AS BIGINT)"
    fast = (
        f"CAST(({n} * {s}) // {d} AS DECIMAL(18,8)) + CAST((2 * (({n} * {s}) % {d}) * 100000000 + {d}) "
        f"// (2 * {d}) AS DECIMAL(18,0)) * CAST(0.00000001 AS DECIMAL(18,8))"
    )
    head = f"CASE WHEN {den} IS NULL THEN CAST({num} AS {out}) WHEN {den} = 0 THEN NULL "
    if whole:
        return head + f"ELSE CAST({fast} AS {out}) END"
    return (
        head + f"WHEN {num} >= 0 AND {den} > 0 AND {num} < 1000000000 AND {den} < 10000000000 "
        f"AND {num} = trunc({num}) AND {den} = trunc({den}) AND {scale} = trunc({scale}) AND {scale} <= 1000000 "
        f"THEN CAST({fast} AS {out}) "
        f"ELSE CAST({sql_div(f'{num} * {scale}', den, 8)} AS {out}) END"
    )


def in_blocks(n: int, work: Callable[[slice], bool]) -> bool:
    """``work`` on each block of ``n`` rows, on up to ``THREADS`` threads (numpy releases the GIL in
    its loops); whether every block succeeded."""
    parts = [slice(start, start + BLOCK) for start in range(0, n, BLOCK)]
    if len(parts) <= 1:
        return all(work(part) for part in parts)
    with ThreadPoolExecutor(THREADS) as pool:
        return all(list(pool.map(work, parts)))


def one_array(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """The column as one array: no copy when it has a single chunk."""
    if isinstance(column, pa.Array):
        return column
    if column.num_chunks == 1:
        return column.chunk(0)
    if column.num_chunks == 0:
        return pa.array([], column.type)
    return column.combine_chunks()


def validity(array: pa.Array) -> Mask | None:
    """Which entries are not null; None when none is."""
    if array.null_count == 0:
        return None
    return np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=np.bool_)


def decimal_words(array: pa.Array) -> tuple[Ints, Ints]:
    """The low and high 64-bit words of each decimal128 entry (the unscaled integer is
    high·2⁶⁴ + low, low unsigned), read in place from the Arrow buffer: no cast, no copy. A null
    entry holds arbitrary words."""
    n, offset = len(array), array.offset
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    words = np.frombuffer(array.buffers()[1], dtype=np.int64, count=2 * (offset + n))[2 * offset :]
    return words[0::2], words[1::2]


def whole_numbers(array: pa.Array) -> tuple[Ints, Mask | None] | None:
    """A NUMBER array as whole int64 numbers (a null as 0) and its validity, when every value is a
    whole number in [0, ``WHOLE_LIMIT``) and so is their total; else None. Block by block, so the
    temporaries stay in the cache."""
    low, high = decimal_words(array)
    valid = validity(array)
    ints = np.empty(len(low), np.int64)

    def work(part: slice) -> bool:
        lo, hi = low[part], high[part]
        if valid is not None:
            lo, hi = np.where(valid[part], lo, 0), np.where(valid[part], hi, 0)
        if len(lo) == 0:
            return True
        if hi.any() or lo.min() < 0:
            return False
        whole = np.floor_divide(lo, UNIT, out=ints[part])  # a constant divisor: fast (np.divmod is not)
        return not (whole.max() >= WHOLE_LIMIT or (whole * UNIT != lo).any())

    if not in_blocks(len(low), work) or int(ints.sum()) >= WHOLE_LIMIT:
        return None
    return ints, valid


def number_array(unscaled: Ints, valid: Mask | None = None, high: Ints | None = None) -> pa.Array:
    """A NUMBER array from each value × 10⁸ as an int64 (sign-extended), or as the low and high
    words of a 128-bit integer."""
    n = len(unscaled)
    words = np.empty(2 * n, np.int64)
    words[0::2] = unscaled
    words[1::2] = np.right_shift(unscaled, 63) if high is None else high
    bitmap = None if valid is None or valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(NUMBER, n, [bitmap, pa.py_buffer(words)])


def whole_value(
    num: Ints, num_valid: Mask | None, den: Ints, den_valid: Mask | None, scale: Ints, ind: Ids
) -> pa.Array | None:
    """The values as a NUMBER array (``scale`` by indicator, ``ind`` each row's): the numerator when there is no denominator, else
    num × scale ÷ den rounded half up to 8 decimals by the exact long division of ``value_sql``'s
    fast path (q = n·s // d, decimals (2·(n·s mod d)·10⁸ + d) // 2d); null when den = 0. For
    whole numbers in [0, ``WHOLE_LIMIT``) and whole scales up to 10⁶ (so every product fits in an
    int64); None when a quotient is too large for an int64 value × 10⁸. Block by block, written
    straight into the decimal128 buffer (non-negative: the high words are 0)."""
    words = np.zeros(2 * len(num), np.int64)
    valid = np.ones(len(num), np.bool_) if num_valid is None else num_valid.copy()

    def work(part: slice) -> bool:
        n, d = num[part], den[part]
        divides = d != 0
        if den_valid is None:
            valid[part] &= divides
        else:
            divides &= den_valid[part]
            valid[part] &= divides | ~den_valid[part]
        d = np.where(divides, d, 1)
        scaled = n * np.where(divides, scale[ind[part]], 1)
        q = scaled // d
        if len(q) and q.max() >= _QUOTIENT_LIMIT:
            return False
        r = scaled - q * d
        r *= 2 * UNIT
        r += d
        d *= 2
        r //= d
        q *= UNIT
        np.add(q, r, out=words[2 * part.start : 2 * part.stop : 2])
        return True

    if not in_blocks(len(num), work):
        return None
    bitmap = None if valid is None or valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(NUMBER, len(num), [bitmap, pa.py_buffer(words)])


def _ids(column: pa.ChunkedArray | pa.Array, codes: pa.Array) -> Ids:
    """Each value's index in ``codes`` (-1 when absent or null), looked up once per dictionary
    entry when the column is dictionary-encoded."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    out = []
    for chunk in chunks:
        if pa.types.is_dictionary(chunk.type):
            found = pc.index_in(chunk.dictionary.cast(pa.string()), value_set=codes)
            positions = _with_sentinel(pc.fill_null(found, -1).cast(pa.int32()).to_numpy())
            indices = chunk.indices
            if indices.null_count:  # a null code: the sentinel
                indices = pc.fill_null(indices.cast(pa.int64()), -1)
            out.append(positions[indices.to_numpy()])  # a numpy gather: no Arrow allocation
        else:
            found = pc.index_in(chunk.cast(pa.string()), value_set=codes)
            out.append(pc.fill_null(found, -1).cast(pa.int32()).to_numpy())
    if not out:
        return np.zeros(0, np.int32)
    return out[0] if len(out) == 1 else np.concatenate(out)


def _population_ids(column: pa.ChunkedArray) -> tuple[Ids, pa.Array]:
    """Population groups as ids into their codes ('' first; a null is '')."""
    if pa.types.is_dictionary(column.type):
        unified = pa.table({"c": column}).unify_dictionaries()["c"]
        dictionary = (
            pc.fill_null(unified.chunks[0].dictionary.cast(pa.string()), "")
            if unified.chunks
            else pa.array([], pa.string())
        )
        codes = pc.unique(pa.concat_arrays([pa.array([""], pa.string()), dictionary]))
        return _ids(unified, codes).clip(0), codes
    text = pc.fill_null(column.cast(pa.string()), "")
    codes = pc.unique(pa.concat_arrays([pa.array([""], pa.string()), *text.chunks]))
    return _ids(text, codes), codes


def _with_sentinel(ids: Ids) -> Ids:
    """A lookup array whose index -1 (an unknown code) gives -1."""
    return np.append(ids, np.int32(-1)).astype(np.int32)


class _Reported(NamedTuple):
    """The reported rows kept (at their indicator's reporting level), as ids and Arrow columns."""

    unit: Ids
    level: Ids
    ind: Ids
    pop: Ids
    period: pa.Array
    numerator: pa.Array
    denominator: pa.Array


def _reported(
    plan: Plan, unit_codes: pa.Array, unit_level: Ids, values: pa.Table
) -> tuple[_Reported, pa.Array]:
    """The reported rows at their indicator's reporting level (a row of an unknown unit or
    indicator, or at another level, is dropped), the denominator made 1 for ``share`` and null
    for a non-rate; and the population codes."""
    inds = plan.indicators
    levels = [lv.code for lv in plan.levels]
    ind_level = _with_sentinel(
        np.array([levels.index(i.reported_by) if i.reported_by in levels else -2 for i in inds], np.int32)
    )
    uid = _ids(values["unit_code"], unit_codes)
    iid = _ids(values["indicator_code"], pa.array([i.code for i in inds], pa.string()))
    pop, pop_codes = _population_ids(values["population"])
    level = unit_level[uid]
    numerator, denominator = one_array(values["numerator"]), one_array(values["denominator"])
    period = one_array(values["period_start"])
    if numerator.type != NUMBER:
        numerator = numerator.cast(NUMBER)
    if denominator.type != NUMBER:
        denominator = denominator.cast(NUMBER)
    if period.type != pa.date32():
        period = period.cast(pa.date32())
    keep = (level == ind_level[iid]) & (uid >= 0) & (level >= 0)
    if not keep.all():
        mask = pa.array(keep)
        uid, level, iid, pop = uid[keep], level[keep], iid[keep], pop[keep]
        numerator, denominator, period = numerator.filter(mask), denominator.filter(mask), period.filter(mask)
    share = np.array([i.aggregation == "share" for i in inds], np.bool_)[iid]
    rate = np.array([i.kind == "rate" for i in inds], np.bool_)[iid]
    given = validity(denominator)
    den_valid = share | (rate if given is None else rate & given)
    den_out = _denominators(denominator, share, den_valid)
    return _Reported(uid, level, iid, pop, period, numerator, den_out), pop_codes


def _denominators(denominator: pa.Array, share: Mask, valid: Mask) -> pa.Array:
    """The denominators as given, 1 where ``share``, null where not ``valid``; block by block."""
    low, high = decimal_words(denominator)
    words = np.empty(2 * len(low), np.int64)

    def work(part: slice) -> bool:
        out = slice(2 * part.start, 2 * part.stop)
        words[out][0::2] = np.where(share[part], UNIT, low[part])
        words[out][1::2] = np.where(share[part], 0, high[part])
        return True

    in_blocks(len(low), work)
    bitmap = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(NUMBER, len(low), [bitmap, pa.py_buffer(words)])


def _sql_values(numerator: pa.Array, denominator: pa.Array, scale: pa.Array) -> pa.Array:
    """Each row's value by ``value_sql`` in exact DECIMAL arithmetic (any numbers), in row order."""
    con = duck.connect()
    con.register("v", pa.table({"n": numerator, "d": denominator, "s": scale}))
    return one_array(
        con.sql(f"SELECT {value_sql('n', 'd', 's', _N)} AS value FROM v").to_arrow_table()["value"]
    )


class _Totals(NamedTuple):
    """Rows of whole numbers by unit × indicator × day (``period_start`` as days since 1970) ×
    population: Σ numerators and Σ denominators (0 where null, with their validity) and the
    number of reporting-level rows behind each (None: one each)."""

    unit: Ids
    ind: Ids
    day: Ids
    pop: Ids
    num: Ints
    num_valid: Mask | None
    den: Ints
    den_valid: Mask | None
    reports: Ints | None

    def select(self, mask: Mask) -> _Totals:
        """The rows where ``mask``."""
        if mask.all():
            return self
        return _Totals(
            self.unit[mask],
            self.ind[mask],
            self.day[mask],
            self.pop[mask],
            self.num[mask],
            None if self.num_valid is None else self.num_valid[mask],
            self.den[mask],
            None if self.den_valid is None else self.den_valid[mask],
            None if self.reports is None else self.reports[mask],
        )


def _dense_days(days: Ids) -> tuple[Ints, int, int, Ints]:
    """The days renumbered 0‥k−1 in order: a lookup by day − first, first, k, and each new id's day."""
    first, last = int(days.min()), int(days.max())
    seen = np.zeros(last - first + 1, np.bool_)
    for start in range(0, len(days), BLOCK):
        seen[days[start : start + BLOCK] - first] = True
    return np.cumsum(seen) - 1, first, int(seen.sum()), np.flatnonzero(seen) + first


def _sums(key: Ints, size: int, ints: Ints, valid: Mask | None, groups: Ints) -> tuple[Ints, Mask | None]:
    """Σ ``ints`` per key (exact: integer scatter-adds), and whether each group has a valid entry
    (SQL's sum of only nulls is null)."""
    total = np.zeros(size, np.int64)
    np.add.at(total, key, ints)
    if valid is None:
        return total[groups], None
    seen = np.bincount(key[valid], minlength=size)[groups] > 0
    return total[groups], None if seen.all() else seen


def _group(rows: _Totals, n_inds: int, n_pops: int, den_by_ind: Mask, unit_map: Ids) -> _Totals:
    """``rows`` summed by ``unit_map[unit]`` (the unit itself, or its parent) × indicator × day ×
    population, by exact integer scatter-adds over a dense key (units and days renumbered; a
    sparse key space goes through ``np.unique`` first). ``den_by_ind`` says which indicators
    have denominators: when the rows' denominators are valid exactly for those, the groups'
    validity follows without a count."""
    if len(rows.unit) == 0:
        return rows
    # many rows: dense over every possible target unit (no pass over the rows); few: those present
    targets = unit_map[unit_map >= 0] if len(rows.unit) > 4 * len(unit_map) else unit_map[rows.unit]
    seen = np.zeros(len(unit_map), np.bool_)
    seen[targets] = True
    unit_lookup = (np.cumsum(seen) - 1)[np.maximum(unit_map, 0)]
    unit_of, n_units = np.flatnonzero(seen), int(seen.sum())
    day_lookup, first, n_days, day_of = _dense_days(rows.day)
    key = np.empty(len(rows.unit), np.int64)

    def work(part: slice) -> bool:
        block = key[part]
        np.take(unit_lookup, rows.unit[part], out=block)
        block *= n_inds
        block += rows.ind[part]
        block *= n_days
        block += day_lookup[rows.day[part] - first]
        if n_pops > 1:
            block *= n_pops
            block += rows.pop[part]
        return True

    in_blocks(len(key), work)
    size = n_units * n_inds * n_days * n_pops
    if size > 2 * len(key) + DENSE_SLACK:
        groups, key = np.unique(key, return_inverse=True)
        size = len(groups)
        index = np.arange(size)
    else:
        groups = index = np.flatnonzero(np.bincount(key, minlength=size))
    if rows.reports is None:
        count = np.bincount(key, minlength=size)[index]
    else:
        count = _sums(key, size, rows.reports, None, index)[0]
    num, num_valid = _sums(key, size, rows.num, rows.num_valid, index)
    den_valid = rows.den_valid
    by_ind = den_valid is not None and bool((den_valid == den_by_ind[rows.ind]).all())
    den, den_valid = _sums(key, size, rows.den, None if by_ind else den_valid, index)
    pop = groups % n_pops
    rest = groups // n_pops
    ind = (rest // n_days % n_inds).astype(np.int32)
    if by_ind:
        den_valid = den_by_ind[ind]
    return _Totals(
        unit_of[rest // n_days // n_inds].astype(np.int32),
        ind,
        day_of[rest % n_days].astype(np.int32),
        pop.astype(np.int32),
        num,
        num_valid,
        den,
        den_valid,
        count,
    )


def _concat(parts: list[_Totals]) -> _Totals:
    """Several row sets as one (validity None only when every part has none)."""
    if len(parts) == 1:
        return parts[0]

    def masks(name: str) -> Mask | None:
        got = [getattr(p, name) for p in parts]
        if all(m is None for m in got):
            return None
        return np.concatenate(
            [np.ones(len(p.unit), np.bool_) if m is None else m for p, m in zip(parts, got, strict=True)]
        )

    counts = [np.ones(len(p.unit), np.int64) if p.reports is None else p.reports for p in parts]
    return _Totals(
        np.concatenate([p.unit for p in parts]),
        np.concatenate([p.ind for p in parts]),
        np.concatenate([p.day for p in parts]),
        np.concatenate([p.pop for p in parts]),
        np.concatenate([p.num for p in parts]),
        masks("num_valid"),
        np.concatenate([p.den for p in parts]),
        masks("den_valid"),
        np.concatenate(counts),
    )


def _whole_rollup(
    reported: _Totals, unit_parent: Ids, unit_level: Ids, plan: Plan, n_pops: int
) -> list[_Totals] | None:
    """The totals of every unit above the reporting rows, level by level from the bottom: the rows
    reaching a level (reports of its children, roll-ups from below) are summed per unit ×
    indicator × period × population, then passed to the parents for the indicators that roll up.
    None when a period is missing."""
    inds = plan.indicators
    rolls = np.array([i.aggregation != "none" for i in inds], np.bool_)
    den_by_ind = np.array([i.aggregation == "share" or i.kind == "rate" for i in inds], np.bool_)
    incoming: dict[int, list[_Totals]] = {}

    parent = unit_parent[:-1]
    movable = (parent >= 0) & (unit_level[parent] >= 0)
    itself = np.arange(len(parent), dtype=np.int32)

    def pass_up(rows: _Totals) -> None:
        moving = rows.select(rolls[rows.ind] & movable[rows.unit])
        if len(moving.unit) == 0:
            return
        up = _group(moving, len(inds), n_pops, den_by_ind, parent)
        levels = unit_level[up.unit]
        for level in np.unique(levels).tolist():
            incoming.setdefault(level, []).append(up.select(levels == level))

    pass_up(reported)
    out = []
    for level in reversed(range(len(plan.levels))):
        parts = incoming.pop(level, [])
        if not parts:
            continue
        totals = (
            parts[0] if len(parts) == 1 else _group(_concat(parts), len(inds), n_pops, den_by_ind, itself)
        )
        out.append(totals)
        if level > 0:
            pass_up(totals)
    return out


def aggregate(plan: Plan, units: pa.Table, values: pa.Table) -> pa.Table:
    """Every unit × indicator × period × population, rolled up the hierarchy (see the module doc)."""
    units = normalize_units(units)
    unit_codes = one_array(units["unit_code"])
    level_codes = pa.array([lv.code for lv in plan.levels], pa.string())
    inds = plan.indicators
    unit_level = _with_sentinel(_ids(units["level"], level_codes))
    unit_parent = _with_sentinel(_ids(units["parent_code"], unit_codes))
    rows, pop_codes = _reported(plan, unit_codes, unit_level, values)
    done = _whole_path(plan, rows, unit_parent, unit_level, len(pop_codes))
    value, upper = done if done is not None else _decimal_path(plan, rows, unit_parent, unit_level)

    def codes(reported: Ids, above: pa.ChunkedArray, dictionary: pa.Array) -> pa.ChunkedArray:
        return pa.chunked_array(
            [
                pa.DictionaryArray.from_arrays(pa.array(reported, pa.int32()), dictionary, safe=False),
                pa.DictionaryArray.from_arrays(one_array(above).cast(pa.int32()), dictionary, safe=False),
            ],
            CODE,
        )

    def plain(reported: pa.Array, above: pa.ChunkedArray, kind: pa.DataType) -> pa.ChunkedArray:
        return pa.chunked_array([reported, one_array(above).cast(kind)], kind)

    return pa.table(
        {
            "unit_code": codes(rows.unit, upper["unit"], unit_codes),
            "level": codes(rows.level, upper["level"], level_codes),
            "indicator_code": codes(rows.ind, upper["ind"], pa.array([i.code for i in inds], pa.string())),
            "period_start": plain(rows.period, upper["period_start"], pa.date32()),
            "population": codes(rows.pop, upper["pop"], pop_codes),
            "numerator": plain(rows.numerator, upper["numerator"], NUMBER),
            "denominator": plain(rows.denominator, upper["denominator"], NUMBER),
            "value": plain(value, upper["value"], NUMBER),
            "reporting_units": plain(
                pa.array(np.ones(len(rows.unit), np.int64)), upper["reporting_units"], pa.int64()
            ),
        },
        schema=AGGREGATED_SCHEMA,
    )


def _whole_path(
    plan: Plan, rows: _Reported, unit_parent: Ids, unit_level: Ids, n_pops: int
) -> tuple[pa.Array, pa.Table] | None:
    """The reported rows' values and the totals above them in int64 arithmetic (see
    ``whole_numbers``, ``whole_value``, ``_whole_rollup``); None when the numbers or scales do
    not allow it or a period is missing."""
    inds = plan.indicators
    if rows.period.null_count or not all(
        i.scale == i.scale.to_integral_value() and 0 <= i.scale <= 1000000 for i in inds
    ):
        return None
    nums = whole_numbers(rows.numerator)
    dens = whole_numbers(rows.denominator) if nums is not None else None
    if nums is None or dens is None:
        return None
    scale = np.array([int(i.scale) for i in inds], np.int64)
    value = whole_value(*nums, *dens, scale, rows.ind)
    if value is None:
        return None
    days = rows.period.view(pa.int32()).to_numpy()
    reported = _Totals(rows.unit, rows.ind, days, rows.pop, *nums, *dens, None)
    totals = _concat(
        _whole_rollup(reported, unit_parent, unit_level, plan, n_pops)
        or [reported.select(np.zeros(len(days), np.bool_))]
    )
    upper_value = whole_value(totals.num, totals.num_valid, totals.den, totals.den_valid, scale, totals.ind)
    if upper_value is None:
        return None
    count = np.ones(len(totals.unit), np.int64) if totals.reports is None else totals.reports
    return value, pa.table(
        {
            "unit": totals.unit,
            "level": unit_level[totals.unit],
            "ind": totals.ind,
            "period_start": pa.array(totals.day, pa.int32()).view(pa.date32()),
            "pop": totals.pop,
            "numerator": number_array(totals.num * UNIT, totals.num_valid),
            "denominator": number_array(totals.den * UNIT, totals.den_valid),
            "value": upper_value,
            "reporting_units": count,
        }
    )


def _decimal_path(
    plan: Plan, rows: _Reported, unit_parent: Ids, unit_level: Ids
) -> tuple[pa.Array, pa.Table]:
    """The reported rows' values and the totals above them in exact DECIMAL arithmetic, in DuckDB
    (fractions, negatives or huge numbers)."""
    inds = plan.indicators
    ind_scale = pa.array([i.scale for i in inds], pa.decimal128(20, 2))
    value = _sql_values(rows.numerator, rows.denominator, ind_scale.take(pa.array(rows.ind)))
    parent = unit_parent[rows.unit]
    rolls = np.array([i.aggregation != "none" for i in inds], np.bool_)[rows.ind] & (parent >= 0)
    mask = pa.array(rolls)
    con = duck.connect()
    con.execute("SET preserve_insertion_order = false")
    con.register(
        "moving",
        pa.table(
            {
                "unit": parent[rolls],
                "ind": rows.ind[rolls],
                "period_start": rows.period.filter(mask),
                "pop": rows.pop[rolls],
                "numerator": rows.numerator.filter(mask),
                "denominator": rows.denominator.filter(mask),
            }
        ),
    )
    first = con.sql(
        "SELECT unit, ind, period_start, pop, sum(numerator) AS numerator, sum(denominator) AS denominator, "
        "count(*) AS reporting_units FROM moving GROUP BY unit, ind, period_start, pop"
    ).to_arrow_table()
    upper = _upper_levels(con, first, unit_parent, unit_level, plan, whole=False)
    numerator = one_array(upper["numerator"]).cast(NUMBER)
    denominator = one_array(upper["denominator"]).cast(NUMBER)
    return value, upper.append_column(
        "value", _sql_values(numerator, denominator, ind_scale.take(one_array(upper["ind"])))
    )


def _upper_levels(
    con: duckdb.DuckDBPyConnection,
    first: pa.Table,
    unit_parent: Ids,
    unit_level: Ids,
    plan: Plan,
    whole: bool,
) -> pa.Table:
    """The totals of every unit above the reporting level: starting from the reported rows summed
    into their parents (``first``), bottom-up, each level's totals are grouped (one key per unit ×
    indicator × period × population) and summed into their parents (for indicators that roll up)."""
    num_type = "BIGINT" if whole else _N
    n_units = len(unit_parent) - 1
    con.register(
        "eu",
        pa.table(
            {
                "unit": np.arange(n_units, dtype=np.int32),
                "parent": pa.array(unit_parent[:-1], mask=unit_parent[:-1] < 0),
                "level": pa.array(unit_level[:-1], mask=unit_level[:-1] < 0),
            }
        ),
    )
    con.register(
        "ei",
        pa.table(
            {
                "ind": np.arange(len(plan.indicators), dtype=np.int32),
                "rolls": [i.aggregation != "none" for i in plan.indicators],
            }
        ),
    )
    con.register("first", first)
    columns = (
        f"ind INTEGER, period_start DATE, pop INTEGER, numerator {num_type}, denominator {num_type}, "
        "reporting_units BIGINT"
    )
    con.execute(f"CREATE TEMP TABLE incoming (unit INTEGER, level INTEGER, {columns})")
    con.execute(f"CREATE TEMP TABLE totals (unit INTEGER, level INTEGER, {columns})")
    con.execute(
        "INSERT INTO incoming SELECT f.unit, u.level, f.ind, f.period_start, f.pop, f.numerator, f.denominator, "
        "f.reporting_units FROM first f JOIN eu u ON u.unit = f.unit"
    )
    for level in reversed(range(len(plan.levels))):
        con.execute(
            f"""
            INSERT INTO totals
            SELECT unit, any_value(level), ind, period_start, pop, CAST(sum(numerator) AS {num_type}),
                   CAST(sum(denominator) AS {num_type}), CAST(sum(reporting_units) AS BIGINT)
            FROM incoming WHERE level = {level}
            GROUP BY unit, ind, period_start, pop
            """
        )
        if level > 0:
            con.execute(
                f"""
                INSERT INTO incoming
                SELECT u.parent, p.level, t.ind, t.period_start, t.pop, t.numerator, t.denominator, t.reporting_units
                FROM totals t JOIN eu u ON u.unit = t.unit JOIN eu p ON p.unit = u.parent
                JOIN ei i ON i.ind = t.ind AND i.rolls
                WHERE t.level = {level}
                """
            )
    return con.sql(
        "SELECT unit, level, ind, period_start, pop, numerator, denominator, reporting_units FROM totals"
    ).to_arrow_table()
