"""The allocation (资金分配): every stage of a rule file over the fact tables, in DuckDB SQL.

``allocate(rules, units, recipients)`` builds one in-memory table ``alloc`` (one row per unit,
ordered by ``unit_code``) and, per stage ``i``, the columns ``s{i}_eligible`` (thresholds met),
``s{i}_w`` (exact integer weight), ``s{i}_raw`` (the amount before threshold and cap, fen),
``s{i}_cap``, ``s{i}_fixed`` (held at the cap), ``s{i}_amount``, ``s{i}_cut_t`` and
``s{i}_cut_c`` (fen cut by the threshold and by the cap); an own-funds stage keeps the unit's
claim in ``s{i}_w``, its entitlement after any pro-rata reduction in ``s{i}_raw``, the ratio its
result earns in ``s{i}_band``, and the part not paid (returned) in ``s{i}_cut_t``. Per-person stages use a second
table ``people`` (one row per recipient). Amounts are integers of fen until the output casts
them to DECIMAL(18,2); only a stage's totals (a handful of scalars) pass through Python.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import duckdb
import pyarrow as pa

from shidian import duck
from shidian.money import ZERO, to_fen
from shidian.money import from_fen as fen_yuan
from shidian.problems import Problem, Source
from shidian.rewards.checks import run_checks
from shidian.rewards.model import StageResult
from shidian.rewards.rules import RewardRules, Stage
from shidian.rewards.sharing import MAX_PRODUCT, largest_remainder, scale_of, water_fill, weight_sql
from shidian.rewards.trail import recipient_trail_sql, unit_trail_sql
from shidian.runs import Check

FEN_TO_YUAN = "CAST(0.01 AS DECIMAL(18,2))"


def yuan_sql(fen: str) -> str:
    """An integer of fen as DECIMAL(18,2) yuan (exact)."""
    return f"CAST(CAST({fen} AS DECIMAL(38,0)) * {FEN_TO_YUAN} AS DECIMAL(18,2))"


@dataclass(frozen=True)
class Allocation:
    """The result (分配结果): per unit and per recipient tables, stage totals, checks."""

    rules: RewardRules
    units: pa.Table
    recipients: pa.Table | None
    stages: tuple[StageResult, ...]
    checks: tuple[Check, ...]
    total: Decimal
    returned: Decimal

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


Progress = Callable[[str], None]


def allocate(
    rules: RewardRules,
    units: pa.Table,
    recipients: pa.Table | None = None,
    progress: Progress | None = None,
) -> tuple[Allocation | None, list[Problem]]:
    """Allocate the fund of ``rules`` over ``units`` (unit_code, unit_name, one DECIMAL column per
    fact) and, for per-person stages, ``recipients`` (recipient_id, unit_code, category, basis).

    Inputs are expected valid (``facts.check_facts``); returns Problems only for values the
    arithmetic cannot hold (``rewards.facts.too_large``) and warnings (nobody eligible).
    """
    con = duck.connect()
    try:
        con.register("units_in", units)
        name_expr = "coalesce(CAST(unit_name AS VARCHAR), '')" if "unit_name" in units.column_names else "''"
        fact_cols = ", ".join(f"CAST({f.name} AS DECIMAL(38,8)) AS {f.name}" for f in rules.facts)
        con.sql(
            "CREATE TABLE alloc AS SELECT CAST(unit_code AS VARCHAR) AS unit_code, "
            f"{name_expr} AS unit_name{', ' + fact_cols if fact_cols else ''} "
            "FROM units_in ORDER BY unit_code"
        )
        if recipients is not None:
            con.register("people_in", recipients)
            con.sql(
                "CREATE TABLE people AS SELECT CAST(recipient_id AS VARCHAR) AS recipient_id, "
                "CAST(unit_code AS VARCHAR) AS unit_code, CAST(category AS VARCHAR) AS category, "
                "coalesce(CAST(basis AS VARCHAR), '') AS basis FROM people_in ORDER BY unit_code, recipient_id"
            )
        problems: list[Problem] = []
        results = []
        for index, stage in enumerate(rules.stages):
            if progress:
                progress(f"{stage.name} ({stage.id})")
            result = _stage(con, rules, stage, index, problems)
            if result is None:
                return None, problems
            results.append(result)
        if recipients is None:
            con.sql(
                "CREATE TABLE people (recipient_id VARCHAR, unit_code VARCHAR, category VARCHAR, basis VARCHAR)"
            )
        stage_results = tuple(results)
        total_expr = " + ".join(f"s{i}_amount" for i in range(len(rules.stages)))
        con.sql(f"ALTER TABLE alloc ADD COLUMN total_fen HUGEINT; UPDATE alloc SET total_fen = {total_expr}")
        checks = run_checks(con, rules, stage_results)
        stage_cols = ", ".join(
            f"{yuan_sql(f's{i}_amount')} AS {s.id}_yuan" for i, s in enumerate(rules.stages)
        )
        facts_out = "".join(f", {f.name}" for f in rules.facts)
        table = con.sql(
            f"SELECT unit_code, unit_name{facts_out}, {stage_cols}, {yuan_sql('total_fen')} AS total_yuan, "
            f"{unit_trail_sql(rules, stage_results)} AS explanation FROM alloc ORDER BY unit_code"
        ).to_arrow_table()
        people = None
        if rules.per_person:
            amount_cols = ", ".join(
                f"{yuan_sql(f'p{i}_amount')} AS {s.id}_yuan"
                for i, s in enumerate(rules.stages)
                if s.allocator.kind == "per_person"
            )
            people = con.sql(
                f"SELECT recipient_id, unit_code, category, basis, {amount_cols}, "
                f"{recipient_trail_sql(rules, stage_results)} AS explanation FROM people "
                "ORDER BY unit_code, recipient_id"
            ).to_arrow_table()
        total = sum((r.allocated for r in stage_results), ZERO)
        returned = sum((r.pot - r.allocated for r in stage_results if r.pot is not None), ZERO)
        return Allocation(rules, table, people, stage_results, tuple(checks), total, returned), problems
    finally:
        con.close()


def _stage(
    con: duckdb.DuckDBPyConnection, rules: RewardRules, stage: Stage, i: int, problems: list[Problem]
) -> StageResult | None:
    p = f"s{i}_"
    columns = (
        ("eligible", "BOOLEAN"),
        ("w", "HUGEINT"),
        ("raw", "HUGEINT"),
        ("cap", "HUGEINT"),
        ("fixed", "BOOLEAN"),
        ("amount", "HUGEINT"),
        ("cut_t", "HUGEINT"),
        ("cut_c", "HUGEINT"),
    )
    con.sql("; ".join(f"ALTER TABLE alloc ADD COLUMN {p}{col} {kind}" for col, kind in columns))
    conditions = [f"{t.fact} >= CAST('{t.min}' AS DECIMAL(38,8))" for t in stage.thresholds]
    con.sql(
        f"UPDATE alloc SET {p}eligible = {' AND '.join(conditions) or 'TRUE'}, {p}fixed = FALSE, "
        f"{p}cut_t = 0, {p}cut_c = 0"
    )
    cap = stage.cap
    if cap is not None:
        cap_expr = (
            str(to_fen(cap.max))
            if cap.max is not None
            else f"CAST(round({cap.max_fact} * CAST('{cap.ratio}' AS DECIMAL(38,8)) * 100, 0) AS HUGEINT)"
        )
        con.sql(f"UPDATE alloc SET {p}cap = {cap_expr}")
    allocator = stage.allocator
    pot = rules.stage_pot(stage)
    if allocator.kind == "share":
        assert pot is not None
        return _share(con, rules, stage, i, pot, problems)
    if allocator.kind == "own_funds":
        return _own_funds(con, rules, stage, i, pot, problems)
    if allocator.kind == "rate":
        raw = f"CAST(round({allocator.quantity} * CAST('{allocator.rate}' AS DECIMAL(38,8)) * 100, 0) AS HUGEINT)"
        con.sql(f"UPDATE alloc SET {p}raw = {raw}")
        con.sql(
            f"UPDATE alloc SET {p}amount = CASE WHEN {p}eligible THEN {p}raw ELSE 0 END, "
            f"{p}cut_t = CASE WHEN {p}eligible THEN 0 ELSE {p}raw END"
        )
        if cap is not None:
            con.sql(
                f"UPDATE alloc SET {p}cut_c = greatest({p}amount - {p}cap, 0), "
                f"{p}fixed = {p}amount > {p}cap, {p}amount = least({p}amount, {p}cap)"
            )
        return _budget(con, rules, stage, i, pot)
    return _per_person(con, rules, stage, i, pot, problems)


def _sums(con: duckdb.DuckDBPyConnection, p: str) -> tuple[int, int, int, int, int]:
    row = con.sql(
        f"SELECT coalesce(sum({p}amount), 0), coalesce(sum({p}cut_t), 0), coalesce(sum({p}cut_c), 0), "
        f"count(*) FILTER (WHERE {p}eligible), count(*) FILTER (WHERE {p}fixed) FROM alloc"
    ).fetchall()[0]
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2]), int(row[3]), int(row[4])


def _share(
    con: duckdb.DuckDBPyConnection,
    rules: RewardRules,
    stage: Stage,
    i: int,
    pot: Decimal,
    problems: list[Problem],
) -> StageResult | None:
    p = f"s{i}_"
    weights = list(stage.allocator.weight)
    scales = [scale_of(con, "alloc", w) for w in weights]
    con.sql(f"UPDATE alloc SET {p}w = {weight_sql(weights, scales)}")
    pot_fen = to_fen(pot)
    max_w = con.sql(f"SELECT coalesce(max({p}w), 0), coalesce(sum({p}w), 0) FROM alloc").fetchall()[0]
    assert max_w is not None
    if int(max_w[0]) * max(pot_fen, 1) >= MAX_PRODUCT or int(max_w[1]) >= MAX_PRODUCT:
        problems.append(
            Problem(
                "rewards.facts.too_large",
                f"{stage.title}: 权重或资金过大, 超出精确计算范围",
                Source("<facts>", column=",".join(weights)),
            )
        )
        return None
    threshold_cut = rules.fund.cut
    cap = stage.cap
    cap_cut = (cap.cut or rules.fund.cut) if cap is not None else "return"
    pool = f"{p}w > 0" + (f" AND {p}eligible" if threshold_cut == "redistribute" else "")
    shared_fen = pot_fen
    if cap is not None and cap_cut == "redistribute":
        shared_fen = water_fill(con, "alloc", pool, f"{p}w", f"{p}cap", pot_fen, f"{p}fixed")
    free_pool = f"{pool} AND NOT {p}fixed"
    weight_sum = largest_remainder(con, "alloc", free_pool, f"{p}w", shared_fen, f"{p}raw")
    display_sum = _weight_display_sum(con, weights, free_pool)
    con.sql(f"UPDATE alloc SET {p}raw = {p}cap WHERE {p}fixed")
    if cap is not None and cap_cut == "return":
        con.sql(f"UPDATE alloc SET {p}fixed = {p}raw > {p}cap")
    con.sql(
        f"UPDATE alloc SET {p}cut_c = CASE WHEN {p}cap IS NOT NULL AND {p}raw > {p}cap THEN {p}raw - {p}cap ELSE 0 END"
    )
    con.sql(
        f"UPDATE alloc SET {p}amount = CASE WHEN {p}eligible THEN {p}raw - {p}cut_c ELSE 0 END, "
        f"{p}cut_t = CASE WHEN {p}eligible THEN 0 ELSE {p}raw - {p}cut_c END"
    )
    amount, cut_t, cut_c, eligible, capped = _sums(con, p)
    unallocated = pot_fen - amount - cut_t - cut_c
    if weight_sum == 0:
        problems.append(
            Problem(
                "rewards.stage.nobody_eligible",
                f"{stage.title}: 没有符合条件的单位, 本阶段资金 {pot} 元未分配",
                Source("<run>", key=stage.id),
                "warning",
            )
        )
    return StageResult(
        i,
        stage.id,
        pot,
        fen_yuan(amount),
        fen_yuan(cut_t),
        fen_yuan(cut_c),
        fen_yuan(unallocated),
        eligible,
        capped,
        display_sum,
        fen_yuan(shared_fen),
        threshold_cut == "redistribute",
    )


def own_claim_sql(rules: RewardRules, i: int) -> str:
    """The fen a unit claims in own_funds stage ``i`` before any pro-rata reduction: its own base ×
    ratio (half up), or with ``rest`` its base less the claims of the earlier stages on that base."""
    step = rules.stages[i].allocator
    base_fen = f"CAST(round({step.base} * 100, 0) AS HUGEINT)"
    if not step.rest:
        return f"CAST(round({step.base} * CAST('{step.ratio}' AS DECIMAL(38,8)) * 100, 0) AS HUGEINT)"
    earlier = [
        f"s{j}_w"
        for j, s in enumerate(rules.stages[:i])
        if s.allocator.kind == "own_funds" and s.allocator.base == step.base
    ]
    return f"greatest({base_fen} - ({' + '.join(earlier) or '0'}), 0)"


def band_ratio_sql(stage: Stage) -> str:
    """The ratio a unit's result earns in the stage's bands step (1 without one)."""
    bands = stage.bands
    if bands is None:
        return "CAST(1 AS DECIMAL(18,8))"
    whens = " ".join(
        f"WHEN {bands.fact} >= CAST('{low}' AS DECIMAL(38,8)) THEN CAST('{ratio}' AS DECIMAL(18,8))"
        for low, ratio in bands.bands
    )
    return f"CASE {whens} ELSE CAST(0 AS DECIMAL(18,8)) END"


def _own_funds(
    con: duckdb.DuckDBPyConnection,
    rules: RewardRules,
    stage: Stage,
    i: int,
    pot: Decimal | None,
    problems: list[Problem],
) -> StageResult:
    """按本单位资金拨付 (002 篇二 六(二)): each unit claims its own base × ratio (or the rest of it);
    only when the claims exceed the stage's pot are they reduced pro rata (largest remainder), over
    every unit whatever its result; then the unit's own result (thresholds, bands) decides how much
    of its own entitlement is paid. What is not paid is returned to the fund, never shared out."""
    p = f"s{i}_"
    con.sql(f"ALTER TABLE alloc ADD COLUMN {p}band DECIMAL(18,8)")
    con.sql(f"UPDATE alloc SET {p}w = {own_claim_sql(rules, i)}, {p}band = {band_ratio_sql(stage)}")
    claims = _scalar_int(con, f"SELECT coalesce(sum({p}w), 0) FROM alloc")
    pot_fen = to_fen(pot) if pot is not None else None
    if pot_fen is not None and claims > pot_fen:
        largest_remainder(con, "alloc", f"{p}w > 0", f"{p}w", pot_fen, f"{p}raw")
    else:
        con.sql(f"UPDATE alloc SET {p}raw = {p}w")
    paid = f"CAST(round(CAST({p}raw AS DECIMAL(38,0)) * {p}band, 0) AS HUGEINT)"
    con.sql(f"UPDATE alloc SET {p}amount = CASE WHEN {p}eligible THEN {paid} ELSE 0 END")
    con.sql(f"UPDATE alloc SET {p}cut_t = {p}raw - {p}amount")
    amount, cut_t, cut_c, eligible, capped = _sums(con, p)
    entitled = _scalar_int(con, f"SELECT coalesce(sum({p}raw), 0) FROM alloc")
    unallocated = (pot_fen - entitled) if pot_fen is not None else 0
    return StageResult(
        i,
        stage.id,
        pot,
        fen_yuan(amount),
        fen_yuan(cut_t),
        fen_yuan(cut_c),
        fen_yuan(unallocated),
        eligible,
        capped,
        weight_sum=fen_yuan(claims),
        before_budget=fen_yuan(claims),
        budget=pot,
    )


def _weight_display_sum(con: duckdb.DuckDBPyConnection, weights: list[str], pool: str) -> Decimal:
    product = " * ".join(weights)
    row = con.sql(f"SELECT CAST(coalesce(sum({product}), 0) AS VARCHAR) FROM alloc WHERE {pool}").fetchall()[
        0
    ]
    assert row is not None
    return Decimal(str(row[0]))


def _budget(
    con: duckdb.DuckDBPyConnection,
    rules: RewardRules,
    stage: Stage,
    i: int,
    pot: Decimal | None,
    table: str = "alloc",
    amount_col: str = "",
) -> StageResult:
    """A budget step (预算封顶): when the stage's total exceeds the budget, every amount is reduced
    pro rata, split by largest remainder so the total is the budget to the fen."""
    p = f"s{i}_"
    budget_step = stage.budget
    # the stage's pot is its budget unless a budget step names another amount
    budget = budget_step.amount if budget_step is not None and budget_step.amount is not None else pot
    amount_col = amount_col or f"{p}amount"
    before = _scalar_int(con, f"SELECT coalesce(sum({amount_col}), 0) FROM {table}")
    if budget is not None and before > to_fen(budget):
        con.sql(f"ALTER TABLE {table} ADD COLUMN _before HUGEINT; UPDATE {table} SET _before = {amount_col}")
        _lr_any(con, table, "_before", to_fen(budget), amount_col)
        con.sql(f"ALTER TABLE {table} DROP COLUMN _before")
    if table != "alloc":
        return StageResult(
            i, stage.id, pot, ZERO, ZERO, ZERO, ZERO, 0, 0, before_budget=fen_yuan(before), budget=budget
        )
    amount, cut_t, cut_c, eligible, capped = _sums(con, p)
    unallocated = (to_fen(pot) - amount) if pot is not None else 0  # not earned: stays in the fund
    return StageResult(
        i,
        stage.id,
        pot,
        fen_yuan(amount),
        fen_yuan(cut_t),
        fen_yuan(cut_c),
        fen_yuan(unallocated),
        eligible,
        capped,
        before_budget=fen_yuan(before),
        budget=budget,
    )


def _scalar_int(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.sql(sql).fetchall()[0]
    return int(row[0]) if row and row[0] is not None else 0


def _lr_any(con: duckdb.DuckDBPyConnection, table: str, weight: str, total_fen: int, target: str) -> None:
    """Largest remainder on a table keyed by ``unit_code`` (alloc) or by ``recipient_id`` (people)."""
    key = "unit_code" if table == "alloc" else "recipient_id"
    weight_sum = _scalar_int(con, f"SELECT sum({weight}) FROM {table}")
    floors = _scalar_int(con, f"SELECT sum({total_fen} * {weight} // {weight_sum}) FROM {table}")
    left = total_fen - floors
    con.sql(
        f"""UPDATE {table} SET {target} = r._share FROM (
            SELECT {key} AS _k, {total_fen} * {weight} // {weight_sum}
                + CASE WHEN row_number() OVER (ORDER BY {total_fen} * {weight} % {weight_sum} DESC, {key}) <= {left}
                       THEN 1 ELSE 0 END AS _share FROM {table}) r
            WHERE {table}.{key} = r._k"""
    )


def _per_person(
    con: duckdb.DuckDBPyConnection,
    rules: RewardRules,
    stage: Stage,
    i: int,
    pot: Decimal | None,
    problems: list[Problem],
) -> StageResult:
    """按人计奖: each recipient gets the rate of its category; a unit gets the sum."""
    p = f"s{i}_"
    q = f"p{i}_"
    step = stage.allocator
    cases = " ".join(f"WHEN '{cat}' THEN {to_fen(rate)}" for cat, rate in step.rates.items())
    con.sql(f"ALTER TABLE people ADD COLUMN {q}rate HUGEINT; ALTER TABLE people ADD COLUMN {q}amount HUGEINT")
    con.sql(
        f"UPDATE people SET {q}rate = CASE category {cases} ELSE 0 END, {q}amount = CASE category {cases} ELSE 0 END"
    )
    budget = _budget(con, rules, stage, i, pot, table="people", amount_col=f"{q}amount")
    for cat in step.rates:
        con.sql(f"ALTER TABLE alloc ADD COLUMN {p}n_{_ident(cat)} BIGINT")
    counts = ", ".join(f"count(*) FILTER (WHERE category = '{cat}') AS n_{_ident(cat)}" for cat in step.rates)
    sets = ", ".join(f"{p}n_{_ident(cat)} = g.n_{_ident(cat)}" for cat in step.rates)
    zero_counts = ", ".join(f"{p}n_{_ident(cat)} = 0" for cat in step.rates)
    con.sql(f"UPDATE alloc SET {p}raw = 0, {p}amount = 0, {p}eligible = FALSE, {zero_counts}")
    con.sql(
        f"UPDATE alloc SET {p}raw = g.raw, {p}amount = g.amount, {p}eligible = TRUE, {sets} "
        f"FROM (SELECT unit_code, sum({q}rate) AS raw, sum({q}amount) AS amount, {counts} "
        f"FROM people GROUP BY unit_code) g WHERE alloc.unit_code = g.unit_code"
    )
    amount, cut_t, cut_c, eligible, capped = _sums(con, p)
    category_counts = {}
    for cat in step.rates:
        category_counts[cat] = _scalar_int(con, f"SELECT count(*) FROM people WHERE category = '{cat}'")
    unallocated = (to_fen(pot) - amount) if pot is not None else 0
    return StageResult(
        i,
        stage.id,
        pot,
        fen_yuan(amount),
        fen_yuan(cut_t),
        fen_yuan(cut_c),
        fen_yuan(unallocated),
        eligible,
        capped,
        before_budget=budget.before_budget,
        budget=budget.budget,
        categories=category_counts,
    )


def _ident(category: str) -> str:
    return "".join(ch if ch.isalnum() and ch.isascii() else "_" for ch in category)
