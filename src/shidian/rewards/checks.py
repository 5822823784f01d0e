"""Invariants every allocation verifies about itself (分配自检).

Each check is a plain function of the allocation's connection and stage totals returning one
``Check``, with zero tolerance: amounts are integers of fen, so the pot is conserved exactly.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from shidian.money import ZERO, to_fen
from shidian.rewards.model import StageResult
from shidian.rewards.rules import RewardRules
from shidian.runs import Check

CheckFn = Callable[[duckdb.DuckDBPyConnection, RewardRules, tuple[StageResult, ...]], Check]


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[int, ...]:
    row = con.sql(sql).fetchall()[0]
    assert row is not None
    return tuple(int(v or 0) for v in row)


def pot_conserved(
    con: duckdb.DuckDBPyConnection, rules: RewardRules, results: tuple[StageResult, ...]
) -> Check:
    """Σ paid + Σ cut (threshold, cap) + unallocated = the stage's pot, for every stage with a pot;
    and the stages' pots sum to the fund's pot."""
    bad = []
    for i, stage in enumerate(rules.stages):
        pot = rules.stage_pot(stage)
        if pot is None:
            continue
        paid, cut_t, cut_c = _one(
            con, f"SELECT sum(s{i}_amount), sum(s{i}_cut_t), sum(s{i}_cut_c) FROM alloc"
        )
        unallocated = to_fen(results[i].unallocated)
        # 按量: cuts were never in the pot; shared and own-funds pots hold them (returned or shared)
        cuts = cut_t + cut_c if stage.allocator.kind in ("share", "own_funds") else 0
        if paid + cuts + unallocated != to_fen(pot) or unallocated < 0:
            bad.append(f"{stage.id}: {paid}+{cuts}+{unallocated} ≠ {to_fen(pot)} 分")
        if stage.allocator.kind == "share" and unallocated != 0 and results[i].weight_sum:
            bad.append(f"{stage.id}: 有单位参与分配却剩余 {unallocated} 分")
    fund = rules.fund.pot
    if fund is not None and all(s.amount is None for s in rules.stages):
        pots = sum(to_fen(rules.stage_pot(s) or ZERO) for s in rules.stages)
        if pots != to_fen(fund):
            bad.append(f"各阶段资金之和 {pots} ≠ 资金总额 {to_fen(fund)} 分")
    return Check(
        "pot_conserved",
        "每个阶段: 已分配 + 门槛/封顶核减 + 未分配 = 本阶段资金, 各阶段资金之和 = 资金总额 (分毫不差)",
        not bad,
        "; ".join(bad) or "守恒",
    )


def no_negative(
    con: duckdb.DuckDBPyConnection, rules: RewardRules, results: tuple[StageResult, ...]
) -> Check:
    cols = [f"s{i}_{c}" for i in range(len(rules.stages)) for c in ("amount", "cut_t", "cut_c", "raw")]
    (bad,) = _one(con, f"SELECT count(*) FROM alloc WHERE {' OR '.join(f'{c} < 0' for c in cols)}")
    return Check("no_negative", "没有负数金额 (no negative amounts)", bad == 0, f"负数行 {bad}")


def caps_respected(
    con: duckdb.DuckDBPyConnection, rules: RewardRules, results: tuple[StageResult, ...]
) -> Check:
    conds = [
        f"(s{i}_cap IS NOT NULL AND s{i}_amount > s{i}_cap)" for i, s in enumerate(rules.stages) if s.cap
    ]
    (bad,) = _one(con, f"SELECT count(*) FROM alloc WHERE {' OR '.join(conds) or 'FALSE'}")
    return Check(
        "caps_respected", "每个单位每阶段金额不超过封顶 (caps respected)", bad == 0, f"超过封顶 {bad}"
    )


def thresholds_respected(
    con: duckdb.DuckDBPyConnection, rules: RewardRules, results: tuple[StageResult, ...]
) -> Check:
    conds = []
    for i, stage in enumerate(rules.stages):
        for t in stage.thresholds:
            conds.append(f"({t.fact} < CAST('{t.min}' AS DECIMAL(38,8)) AND s{i}_amount <> 0)")
    (bad,) = _one(con, f"SELECT count(*) FROM alloc WHERE {' OR '.join(conds) or 'FALSE'}")
    return Check(
        "thresholds_respected",
        "未达门槛的单位在该阶段金额为 0 (thresholds respected)",
        bad == 0,
        f"违反 {bad}",
    )


def budgets_respected(
    con: duckdb.DuckDBPyConnection, rules: RewardRules, results: tuple[StageResult, ...]
) -> Check:
    bad = [r.stage_id for r in results if r.budget is not None and r.allocated > r.budget]
    return Check(
        "budgets_respected", "按量计奖阶段合计不超过预算 (budgets respected)", not bad, ", ".join(bad) or "是"
    )


def recipients_reconcile(
    con: duckdb.DuckDBPyConnection, rules: RewardRules, results: tuple[StageResult, ...]
) -> Check:
    bad = 0
    for i, stage in enumerate(rules.stages):
        if stage.allocator.kind != "per_person":
            continue
        (n,) = _one(
            con,
            f"SELECT count(*) FROM alloc a LEFT JOIN (SELECT unit_code, sum(p{i}_amount) AS s FROM people "
            f"GROUP BY unit_code) g USING (unit_code) WHERE coalesce(g.s, 0) <> a.s{i}_amount",
        )
        (orphans,) = _one(
            con, "SELECT count(*) FROM people WHERE unit_code NOT IN (SELECT unit_code FROM alloc)"
        )
        bad += n + orphans
    return Check(
        "recipients_reconcile", "单位金额 = 其受益人金额之和 (unit = Σ recipients)", bad == 0, f"不一致 {bad}"
    )


def totals_add_up(
    con: duckdb.DuckDBPyConnection, rules: RewardRules, results: tuple[StageResult, ...]
) -> Check:
    expr = " + ".join(f"s{i}_amount" for i in range(len(rules.stages)))
    (bad,) = _one(con, f"SELECT count(*) FROM alloc WHERE total_fen <> {expr}")
    return Check("totals_add_up", "每个单位合计 = 各阶段金额之和", bad == 0, f"不一致 {bad}")


def own_funds_respected(
    con: duckdb.DuckDBPyConnection, rules: RewardRules, results: tuple[StageResult, ...]
) -> Check:
    """按本单位资金拨付: no unit is paid more than its own entitlement in a stage, nor, over the
    stages on one base, more than that base (nothing not paid is handed to another unit)."""
    conds: list[str] = []
    by_base: dict[str, list[int]] = {}
    for i, stage in enumerate(rules.stages):
        if stage.allocator.kind == "own_funds":
            conds.append(f"s{i}_amount > s{i}_raw OR s{i}_raw > s{i}_w")
            by_base.setdefault(stage.allocator.base, []).append(i)
    for base, stages in by_base.items():
        paid = " + ".join(f"s{i}_amount" for i in stages)
        conds.append(f"{paid} > CAST(round({base} * 100, 0) AS HUGEINT)")
    (bad,) = _one(con, f"SELECT count(*) FROM alloc WHERE {' OR '.join(f'({c})' for c in conds) or 'FALSE'}")
    return Check(
        "own_funds_respected",
        "按本单位资金拨付: 每个单位所得不超过其本阶段应拨额, 各阶段合计不超过其本单位资金",
        bad == 0,
        f"超出 {bad}",
    )


CHECKS: tuple[CheckFn, ...] = (
    pot_conserved,
    no_negative,
    caps_respected,
    thresholds_respected,
    budgets_respected,
    recipients_reconcile,
    own_funds_respected,
    totals_add_up,
)


def run_checks(
    con: duckdb.DuckDBPyConnection, rules: RewardRules, results: tuple[StageResult, ...]
) -> list[Check]:
    return [check(con, rules, results) for check in CHECKS]
