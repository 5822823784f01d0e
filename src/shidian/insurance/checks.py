"""Invariants every insurance batch verifies about itself (自检).

Each check is a plain function of a connection holding the batch's tables (``priced``,
``claims_in``, ``institutions``, ``contributions``, ``ledger_reimbursements``,
``ledger_monthly``, ``ledger_pools``, ``ledger_pool_monthly``, ``settlement``, ``village_summary``, ``contributions_in`` and
``ledger_receipts``, empty without a contributions file) returning one ``Check``. All are exact:
every amount is a sum of fen, nothing is divided.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal

import duckdb
import pyarrow.compute as pc

from shidian.insurance.model import HOUSEHOLD_BUCKET
from shidian.insurance.policy import InsurancePolicy
from shidian.runs import Check

CheckFn = Callable[[duckdb.DuckDBPyConnection, InsurancePolicy, Mapping[str, str]], Check]


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[object, ...]:
    rows = con.execute(sql).fetchall()  # all (one row): the connection is free for the next query
    assert len(rows) == 1
    return tuple(rows[0])


def _increasing(con: duckdb.DuckDBPyConnection) -> bool:
    """True when ``priced``'s claim ids, in row order, have no null and strictly increase (the
    batch's order): then they are distinct, shown by one vectorised comparison of neighbours
    instead of a hash of two million ids (``count(DISTINCT)``, five times the CPU)."""
    ids = con.sql("SELECT claim_id FROM priced").to_arrow_table().column(0)
    if ids.null_count:
        return False
    return len(ids) < 2 or bool(pc.all(pc.less(ids.slice(0, len(ids) - 1), ids.slice(1))).as_py())


def claims_priced_once(
    con: duckdb.DuckDBPyConnection, policy: InsurancePolicy, _: Mapping[str, str]
) -> Check:
    given, priced, bad = _one(
        con,
        """
        SELECT (SELECT count(*) FROM claims_in), count(*),
               count(*) FILTER (WHERE status NOT IN ('paid', 'rejected') OR reason IS NULL OR reason = ''
                                OR (status = 'rejected') <> (reject_code IS NOT NULL))
        FROM priced
        """,
    )
    distinct = priced if _increasing(con) else _one(con, "SELECT count(DISTINCT claim_id) FROM priced")[0]
    return Check(
        "claims_priced_once",
        "每笔就诊恰好结算一次, 状态为 paid 或 rejected, 且有补偿计算说明",
        given == priced == distinct and bad == 0,
        f"输入 {given} 笔, 结算 {priced} 笔 (不同编号 {distinct}), 异常 {bad}",
    )


def amounts_bounded(con: duckdb.DuckDBPyConnection, policy: InsurancePolicy, _: Mapping[str, str]) -> Check:
    (bad,) = _one(
        con,
        """
        SELECT count(*) FROM priced WHERE
            reimbursement < 0 OR deductible < 0 OR reimbursable < 0
            OR reimbursement > reimbursable OR reimbursable > total_cost
            OR reimbursement + other_insurance_paid > total_cost AND status = 'paid'
            OR status = 'rejected' AND (reimbursement <> 0 OR reimbursable <> 0 OR deductible <> 0)
        """,
    )
    return Check(
        "amounts_bounded",
        "0 ≤ 报销金额 ≤ 可补偿费用 ≤ 医疗总费用; 报销 + 其他保险 ≤ 医疗总费用; 拒付为 0",
        bad == 0,
        f"违反的就诊 {bad} 笔",
    )


def caps_respected(con: duckdb.DuckDBPyConnection, policy: InsurancePolicy, _: Mapping[str, str]) -> Check:
    # one shared inpatient cap, or (cap_scope = "tier") each tier's and category's own: their sum
    limit = (
        policy.inpatient_cap
        if policy.inpatient_cap is not None
        else sum((t.annual_cap for t in policy.terms if t.annual_cap is not None), Decimal(0))
    )
    buckets, inpatient = _one(
        con,
        f"""
        SELECT (SELECT count(*) FROM (SELECT CASE WHEN cap_bucket LIKE '{HOUSEHOLD_BUCKET}%' THEN NULL
                                                  ELSE person_id END AS holder,  -- a household's: all members
                                             cap_bucket, sum(cap_used) AS used, max(cap) AS cap
                                      FROM priced WHERE cap_bucket IS NOT NULL GROUP BY ALL) WHERE used > cap),
               (SELECT count(*) FROM (SELECT person_id, sum(reimbursement) AS r FROM priced
                                      WHERE kind = 'inpatient' GROUP BY ALL) WHERE r > {limit})
        """,
    )
    return Check(
        "caps_respected",
        f"每人每年住院补偿合计不超过封顶线 {limit}; 门诊统筹 (户内共享时每户)、病种定额等各封顶线亦然",
        buckets == 0 and inpatient == 0,
        f"超过封顶线的人·项 {buckets}, 住院超过封顶线的人 {inpatient}",
    )


def deductibles_bounded(
    con: duckdb.DuckDBPyConnection, policy: InsurancePolicy, _: Mapping[str, str]
) -> Check:
    highest = max(tier.deductible for tier in policy.terms)
    (bad,) = _one(
        con,
        f"""
        SELECT count(*) FROM (SELECT episode_id, sum(deductible) AS d FROM priced
                              WHERE episode_id IS NOT NULL GROUP BY ALL) WHERE d > {highest}
        """,
    )
    return Check(
        "deductibles_bounded",
        "同一疾病连续转诊 (一个住院过程) 的起付线合计不超过最高级别医院的起付线",
        bad == 0,
        f"超过的住院过程 {bad}",
    )


def ledger_reconciles(
    con: duckdb.DuckDBPyConnection, policy: InsurancePolicy, summary: Mapping[str, str]
) -> Check:
    claims, by_type, by_month, income = _one(
        con,
        """
        SELECT (SELECT coalesce(sum(reimbursement), 0) FROM priced),
               (SELECT coalesce(sum(amount), 0) FROM ledger_reimbursements),
               (SELECT coalesce(sum(reimbursements), 0) FROM ledger_monthly),
               (SELECT coalesce(sum(amount), 0) FROM contributions)
        """,
    )
    ok = (
        Decimal(str(claims))
        == Decimal(str(by_type))
        == Decimal(str(by_month))
        == Decimal(summary["reimbursements"])
        and Decimal(str(income)) == Decimal(summary["income"])
        and Decimal(summary["balance"]) == Decimal(summary["income"]) - Decimal(summary["reimbursements"])
    )
    return Check(
        "ledger_reconciles",
        "基金台账: 按类型、按月的补偿支出之和 = 就诊补偿之和; 筹资之和 = 收入; 结余 = 收入 − 支出",
        ok,
        f"就诊 {claims}, 按类型 {by_type}, 按月 {by_month}; 筹资 {income}, 收入 {summary['income']}",
    )


def pools_reconcile(
    con: duckdb.DuckDBPyConnection, policy: InsurancePolicy, summary: Mapping[str, str]
) -> Check:
    """Each pool recomputed from the claims (by kind: 住院 → 大病统筹, 门诊 → 门诊统筹), the
    contributions split and the receipts split; the pools add up to the total; each pool's
    balance is its income − its spending; each pool's months add up to its spending."""
    (bad,) = _one(
        con,
        """
        WITH spent AS (SELECT CASE WHEN kind = 'inpatient' THEN 'inpatient' ELSE 'outpatient' END AS pool,
                              sum(reimbursement) AS amount FROM priced WHERE status = 'paid' GROUP BY ALL),
             typed AS (SELECT pool, sum(amount) AS amount FROM ledger_reimbursements GROUP BY ALL),
             months AS (SELECT pool, sum(reimbursements) AS amount FROM ledger_pool_monthly GROUP BY ALL),
             income AS (SELECT 'inpatient' AS pool, sum(to_inpatient) AS amount FROM contributions
                        UNION ALL SELECT 'outpatient', sum(to_outpatient) FROM contributions),
             got AS (SELECT 'inpatient' AS pool, sum(received_inpatient) AS amount FROM ledger_receipts
                     UNION ALL SELECT 'outpatient', sum(received_outpatient) FROM ledger_receipts),
             total AS (SELECT * FROM ledger_pools WHERE pool = 'total'),
             parts AS (SELECT sum(income) AS income, sum(reimbursements) AS spent, sum(balance) AS balance,
                              sum(received) AS received FROM ledger_pools WHERE pool <> 'total')
        SELECT (SELECT count(*) FROM ledger_pools p
                LEFT JOIN spent s USING (pool) LEFT JOIN typed t USING (pool) LEFT JOIN months m USING (pool)
                LEFT JOIN income i USING (pool) LEFT JOIN got g USING (pool)
                WHERE p.pool <> 'total' AND (
                      p.reimbursements <> coalesce(s.amount, 0) OR p.reimbursements <> coalesce(t.amount, 0)
                   OR p.reimbursements <> coalesce(m.amount, 0) OR p.income <> coalesce(i.amount, 0)
                   OR p.balance <> p.income - p.reimbursements
                   OR p.received IS NOT NULL AND p.received <> coalesce(g.amount, 0)))
             + (SELECT count(*) FROM contributions WHERE to_inpatient + to_outpatient <> amount
                                                      OR to_inpatient < 0 OR to_outpatient < 0)
             + (SELECT count(*) FROM ledger_receipts WHERE received_inpatient + received_outpatient <> received)
             + (SELECT count(*) FROM total, parts WHERE total.income <> parts.income
                   OR total.reimbursements <> parts.spent OR total.balance <> parts.balance
                   OR total.received IS DISTINCT FROM parts.received)
        """,
    )
    ok = bad == 0 and Decimal(summary["inpatient_balance"]) + Decimal(
        summary["outpatient_balance"]
    ) == Decimal(summary["balance"])
    return Check(
        "pools_reconcile",
        "大病统筹与门诊统筹: 各基金收入 = 筹资划入之和, 支出 = 住院/门诊就诊补偿之和 (按类型、按月亦然), "
        "结余 = 收入 − 支出, 到账 = 到账划入之和; 两基金之和 = 合计",
        ok,
        f"不一致 {bad} 处; 大病统筹结余 {summary['inpatient_balance']} + 门诊统筹结余 "
        f"{summary['outpatient_balance']}, 合计结余 {summary['balance']}",
    )


def receipts_reconcile(
    con: duckdb.DuckDBPyConnection, policy: InsurancePolicy, summary: Mapping[str, str]
) -> Check:
    """Recomputed from the receipts themselves: by source, what was received and what is due
    (from the contributions table); December's money received to date plus the receipts dated
    after the year is the year's total; outstanding and overpaid follow from due and received."""
    bad, unlisted, given, december, later = _one(
        con,
        f"""
        WITH given AS (SELECT source, sum(amount) AS received FROM contributions_in GROUP BY source),
             owed AS (SELECT source, sum(amount) AS due FROM contributions GROUP BY source)
        SELECT (SELECT count(*) FROM ledger_receipts r LEFT JOIN given g USING (source) LEFT JOIN owed o USING (source)
                WHERE r.received <> coalesce(g.received, 0) OR r.due <> coalesce(o.due, 0)
                   OR r.outstanding <> greatest(r.due - r.received, 0)
                   OR r.overpaid <> greatest(r.received - r.due, 0)),
               (SELECT count(*) FROM given WHERE source NOT IN (SELECT source FROM ledger_receipts)),
               (SELECT coalesce(sum(amount), 0) FROM contributions_in),
               (SELECT coalesce(max(received_to_date), 0) FROM ledger_monthly WHERE month = 12),
               (SELECT coalesce(sum(amount), 0) FROM contributions_in WHERE received_date > DATE '{policy.year}-12-31')
        """,
    )
    ok = bad == 0 and unlisted == 0
    if "received" in summary:  # a contributions file was given
        ok = ok and Decimal(str(given)) == Decimal(str(december)) + Decimal(str(later)) == Decimal(
            summary["received"]
        )
    return Check(
        "receipts_reconcile",
        "筹资到账: 各来源到账 = 到账明细之和, 应筹 = 筹资测算; 12月累计到账 + 年后到账 = 全年到账; 未到账/多到账 = 应筹与到账之差",
        ok,
        f"到账明细 {given}, 12月累计 {december} + 年后 {later}, 不一致的来源 {bad}, 未列来源 {unlisted}",
    )


def settlement_reconciles(
    con: duckdb.DuckDBPyConnection, policy: InsurancePolicy, _: Mapping[str, str]
) -> Check:
    claims, statements, direct, bad = _one(
        con,
        f"""
        SELECT (SELECT coalesce(sum(reimbursement), 0) FROM priced WHERE year(end_date) = {policy.year}),
               (SELECT coalesce(sum(approved), 0) FROM settlement),
               (SELECT coalesce(sum(p.reimbursement), 0) FROM priced p JOIN institutions i USING (institution_id)
                WHERE i.designated = 0 AND year(p.end_date) = {policy.year}),
               (SELECT count(*) FROM settlement WHERE payable <> advanced - rejected_amount - adjustment
                                                                 - catalogue_deduction
                                                  OR catalogue_deduction < 0)
        """,
    )
    ok = Decimal(str(claims)) == Decimal(str(statements)) + Decimal(str(direct)) and bad == 0
    return Check(
        "settlement_reconciles",
        "机构月度结算: 应付 = 垫付 − 拒付 − 调整 − 目录外药品扣款; Σ核准 + 非定点直接报销 = Σ就诊补偿",
        ok,
        f"就诊补偿 {claims}, 机构核准 {statements}, 直接报销 {direct}, 不平衡 {bad}",
    )


def notice_reconciles(con: duckdb.DuckDBPyConnection, policy: InsurancePolicy, _: Mapping[str, str]) -> Check:
    claims, villages, listed = _one(
        con,
        """
        SELECT (SELECT coalesce(sum(reimbursement), 0) FROM priced WHERE status = 'paid'),
               (SELECT coalesce(sum(reimbursement), 0) FROM village_summary),
               (SELECT coalesce(sum(listed_amount) + sum(outpatient_amount), 0) FROM village_summary)
        """,
    )
    return Check(
        "notice_reconciles",
        "公示: 各村公示金额与汇总之和 = 就诊补偿之和",
        Decimal(str(claims)) == Decimal(str(villages)) == Decimal(str(listed)),
        f"就诊补偿 {claims}, 各村合计 {villages}, 公示与门诊汇总 {listed}",
    )


CHECKS: tuple[CheckFn, ...] = (
    claims_priced_once,
    amounts_bounded,
    caps_respected,
    deductibles_bounded,
    ledger_reconciles,
    pools_reconcile,
    receipts_reconcile,
    settlement_reconciles,
    notice_reconciles,
)


def run_checks(
    con: duckdb.DuckDBPyConnection, policy: InsurancePolicy, summary: Mapping[str, str]
) -> list[Check]:
    return [check(con, policy, summary) for check in CHECKS]
