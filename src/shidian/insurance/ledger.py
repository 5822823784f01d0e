"""The fund ledger (新农合基金台账): income by source and person category, spending, balance.

Income (004 篇6 三(二)): every insured person brings ``funding.individual`` (paid by civil
affairs for the categories in ``funding.civil_affairs_categories``), ``central``, ``region``,
``city`` and ``county`` yuan: what is *due*. Spending: the reimbursements of paid claims, by type
and institution level; the 一般诊疗费 part of an outpatient claim is its own type. 以收定支
(三(三)): a month whose cumulative spending exceeds ``income × months elapsed ÷ 12 ×
ledger.pace_ratio`` is a warning, and so is a year that spends more than it collects.

With the contributions actually received (``contributions`` input, 筹资到账: source, date,
amount), the ledger also shows, by source, what was received and what is outstanding or
overpaid (an overpaid source is a warning: imported twice?), the cash balance (received −
spent), and, month by month, the money received so far (receipts dated before the year count
from January, 三(二)3 “下一年度基金要在当年12月底前收缴完毕”; those dated after it count in the
year's total, in no month): a month whose cumulative spending exceeds it is a warning (the fund
paid out more than it had received, 基金透支).

Two pools (三(三)1: “通过设立统筹基金分别对住院和门诊费用进行补偿”): each source's income goes
into the 大病统筹 (inpatient) and 门诊统筹 (outpatient) pools by the policy's
``pools.outpatient_share`` (三(二)3: “各级财政补助资金全部划入大病统筹基金”; the per-person amount
is split once, the outpatient part rounded to the fen); an inpatient claim is paid by the
inpatient pool, every outpatient claim (门诊统筹, 一般诊疗费, 特殊慢性病 “纳入门诊统筹管理”, 白内障门诊
手术, 中医门诊) by the outpatient pool. The pace, overdraft and deficit warnings are per pool,
each against its own income and receipts; ``pools`` and ``pool_monthly`` show both and their sum.
"""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from shidian import duck
from shidian.insurance.model import (
    CATEGORIES,
    CATEGORY_LABELS,
    MONEY,
    POOL_LABELS,
    POOL_MONTHLY_SCHEMA,
    POOLS,
    POOLS_SCHEMA,
    RECEIPTS_SCHEMA,
    RULE_LABELS,
    SOURCE_LABELS,
    Ledger,
)
from shidian.insurance.policy import InsurancePolicy
from shidian.money import ZERO, div_round, round_fen
from shidian.problems import Problem, Source

TYPE_LABELS = {**RULE_LABELS, "outpatient": "门诊统筹补偿 (比例部分)", "general_fee": "一般诊疗费 (基金支付)"}
TYPES = ("inpatient", "delivery", "outpatient", "general_fee", "chronic", "cataract", "tcm_fracture")
#: The claim types paid by the inpatient pool (an inpatient claim's); every other type is outpatient.
INPATIENT_TYPES = ("inpatient", "delivery")


def build_ledger(
    persons: pa.Table, priced: pa.Table, policy: InsurancePolicy, received: pa.Table | None = None
) -> tuple[Ledger, list[Problem]]:
    """The year's ledger and its 以收定支 warnings; ``received``: the contributions received
    (``CONTRIBUTIONS_SCHEMA``), or None when the county gave none."""
    con = duck.connect()
    try:
        con.register("persons", persons)
        con.register("priced", priced)
        by_source: dict[str, Decimal] = {}
        received_by_month: dict[int, Decimal] | None = None
        source_months: list[tuple[str, int, Decimal]] = []
        if received is not None:
            con.register("received", received)
            by_source = dict(
                con.execute("SELECT source, sum(amount) FROM received GROUP BY source").fetchall()
            )
            received_by_month = dict(
                con.execute(
                    f"""
                    SELECT CASE WHEN received_date < DATE '{policy.year}-01-01' THEN 1
                                ELSE month(received_date) END AS m, sum(amount)
                    FROM received WHERE received_date <= DATE '{policy.year}-12-31' GROUP BY m
                    """
                ).fetchall()
            )
            source_months = con.execute(
                f"""
                SELECT source, CASE WHEN received_date < DATE '{policy.year}-01-01' THEN 1
                                    ELSE month(received_date) END AS m, sum(amount)
                FROM received WHERE received_date <= DATE '{policy.year}-12-31' GROUP BY ALL ORDER BY ALL
                """
            ).fetchall()
        insured = dict(
            con.execute(
                "SELECT category, count(*) FROM persons WHERE insured = 1 GROUP BY category"
            ).fetchall()
        )
        contributions = contributions_due(insured, policy)
        income = sum(contributions.column("amount").to_pylist(), ZERO)
        pool_income = {p: sum(contributions.column(f"to_{p}").to_pylist(), ZERO) for p in POOLS}
        reimbursements = con.sql(
            f"""
            WITH parts AS (
                SELECT CASE WHEN rule = 'outpatient' THEN 'outpatient' ELSE rule END AS type, level,
                       total_cost, reimbursement - general_fee_paid AS amount
                FROM priced WHERE status = 'paid' AND reimbursement - general_fee_paid > 0
                UNION ALL
                SELECT 'general_fee', level, NULL, general_fee_paid FROM priced
                WHERE status = 'paid' AND general_fee_paid > 0
            )
            SELECT CASE WHEN type IN {tuple(INPATIENT_TYPES)} THEN 'inpatient' ELSE 'outpatient' END AS pool,
                   type, level, count(*)::BIGINT AS claims, sum(total_cost)::DECIMAL(18,2) AS total_cost,
                   sum(amount)::DECIMAL(18,2) AS amount
            FROM parts GROUP BY type, level
            ORDER BY list_position({list(TYPES)}, type), level
            """
        ).to_arrow_table()
        labels = [TYPE_LABELS[t] for t in reimbursements.column("type").to_pylist()]
        reimbursements = reimbursements.add_column(2, "type_label", pa.array(labels, pa.string()))
        pool_labels = [POOL_LABELS[p] for p in reimbursements.column("pool").to_pylist()]
        reimbursements = reimbursements.add_column(1, "pool_label", pa.array(pool_labels, pa.string()))
        by_month = dict(
            con.execute(
                "SELECT month, sum(reimbursement) FROM priced WHERE status = 'paid' GROUP BY month"
            ).fetchall()
        )
        by_pool_month: dict[tuple[str, int], Decimal] = {
            (pool, month): amount
            for pool, month, amount in con.execute(
                "SELECT CASE WHEN kind = 'inpatient' THEN 'inpatient' ELSE 'outpatient' END, month, "
                "sum(reimbursement) FROM priced WHERE status = 'paid' GROUP BY ALL"
            ).fetchall()
        }
        counts = con.execute(
            "SELECT count(*) FILTER (WHERE status = 'paid'), count(*) FILTER (WHERE status = 'rejected'), "
            "coalesce(sum(reimbursement), 0) FROM priced"
        ).fetchone()
    finally:
        con.close()
    assert counts is not None
    spent = Decimal(counts[2])
    monthly, _ = _monthly(by_month, income, policy, received_by_month)
    warnings: list[Problem] = []
    pool_months: list[pa.Table] = []
    pool_received_by_month = _pool_receipts_by_month(source_months, policy) if received is not None else None
    for pool in POOLS:
        table, pool_warnings = _monthly(
            {m: a for (p, m), a in by_pool_month.items() if p == pool},
            pool_income[pool],
            policy,
            None if pool_received_by_month is None else pool_received_by_month[pool],
            pool,
        )
        pool_months.append(table)
        warnings += pool_warnings
    pool_monthly = pa.concat_tables(pool_months)
    summary = {
        "year": str(policy.year),
        "insured": str(sum(insured.values())),
        "income": str(income),
        "reimbursements": str(spent),
        "balance": str(income - spent),
        "use_ratio": "" if income == 0 else str(div_round(spent, income, 4)),
        "claims_paid": str(counts[0]),
        "claims_rejected": str(counts[1]),
    }
    due: dict[str, Decimal] = {}
    for source, amount in zip(
        contributions.column("source").to_pylist(), contributions.column("amount").to_pylist(), strict=True
    ):
        due[source] = due.get(source, ZERO) + amount
    summary |= {f"income_{source}": str(due.get(source, ZERO)) for source in SOURCE_LABELS}
    pool_spent = {p: sum((a for (q, _), a in by_pool_month.items() if q == p), ZERO) for p in POOLS}
    for pool in POOLS:
        summary |= {
            f"{pool}_income": str(pool_income[pool]),
            f"{pool}_reimbursements": str(pool_spent[pool]),
            f"{pool}_balance": str(pool_income[pool] - pool_spent[pool]),
        }
    receipts = None
    if received is not None:
        receipts = _receipts(due, by_source, policy)
        totals = {
            c: sum(receipts.column(c).to_pylist(), ZERO) for c in ("received", "outstanding", "overpaid")
        }
        summary |= {
            "received": str(totals["received"]),
            "outstanding": str(totals["outstanding"]),
            "overpaid": str(totals["overpaid"]),
            "cash_balance": str(totals["received"] - spent),
        }
        warnings += [
            Problem(
                "insurance.ledger.receipt_over_due",
                f"{r['source_label']}到账 {r['received']} 元超过应筹 {r['due']} 元 (多 {r['overpaid']} 元): "
                "请核对是否重复导入或误列其他年度的到账",
                Source("<run>", key=f"ledger.receipts.{r['source']}"),
                "warning",
            )
            for r in receipts.to_pylist()
            if r["overpaid"] > 0
        ]
        for pool in POOLS:
            got = sum(receipts.column(f"received_{pool}").to_pylist(), ZERO)
            summary |= {f"{pool}_received": str(got), f"{pool}_cash_balance": str(got - pool_spent[pool])}
    for pool in POOLS:
        if pool_spent[pool] > pool_income[pool]:
            warnings.append(
                Problem(
                    "insurance.ledger.deficit",
                    f"{policy.year}年{POOL_LABELS[pool]}补偿支出 {pool_spent[pool]} 元超过当年该基金收入 "
                    f"{pool_income[pool]} 元, 违背以收定支、收支平衡 (004 篇6 三(三))",
                    Source("<run>", key=f"ledger.pools.{pool}"),
                    "warning",
                )
            )
    pools = _pools(summary, pool_monthly)
    return Ledger(contributions, reimbursements, monthly, summary, receipts, pools, pool_monthly), warnings


def _pools(summary: dict[str, str], pool_monthly: pa.Table) -> pa.Table:
    """One row per pool and one for their sum (``POOLS_SCHEMA``), from the summary's figures."""
    ahead = pool_monthly.filter(pc.equal(pool_monthly["ahead"], 1))["pool"].to_pylist()
    rows = []
    for pool in (*POOLS, "total"):
        key = "" if pool == "total" else f"{pool}_"
        income = Decimal(summary[f"{key}income"])
        spent = Decimal(summary[f"{key}reimbursements"])
        got = summary.get(f"{key}received")
        rows.append(
            {
                "pool": pool,
                "pool_label": POOL_LABELS[pool],
                "income": income,
                "reimbursements": spent,
                "balance": Decimal(summary[f"{key}balance"]),
                "use_ratio": None if income == 0 else div_round(spent, income, 4),
                "months_ahead": len(ahead) if pool == "total" else ahead.count(pool),
                "received": None if got is None else Decimal(got),
                "outstanding": None if got is None else max(income - Decimal(got), ZERO),
                "cash_balance": None if got is None else Decimal(summary[f"{key}cash_balance"]),
            }
        )
    return pa.Table.from_pylist(rows, schema=POOLS_SCHEMA)


def _pool_receipts_by_month(
    source_months: list[tuple[str, int, Decimal]], policy: InsurancePolicy
) -> dict[str, dict[int, Decimal]]:
    """The money received in each month into each pool: each source's cumulative receipts split
    by its outpatient share (rounded to the fen) at every month end, so that the months add up
    to the split of the year's receipts."""
    result: dict[str, dict[int, Decimal]] = {pool: dict.fromkeys(range(1, 13), ZERO) for pool in POOLS}
    for source in SOURCE_LABELS:
        cumulative = ZERO
        before = dict.fromkeys(POOLS, ZERO)
        for month in range(1, 13):
            cumulative += sum((Decimal(a) for s, m, a in source_months if s == source and m == month), ZERO)
            outpatient = round_fen(cumulative * policy.outpatient_share[source])
            now = {"inpatient": cumulative - outpatient, "outpatient": outpatient}
            for pool in POOLS:
                result[pool][month] += now[pool] - before[pool]
            before = now
    return result


def _receipts(due: dict[str, Decimal], received: dict[str, Decimal], policy: InsurancePolicy) -> pa.Table:
    """By source (in the order of ``SOURCE_LABELS``): due, received, and what is outstanding
    (due − received when positive) or overpaid (received − due when positive); what was
    received goes into the pools by the source's outpatient share (rounded to the fen)."""
    rows = []
    for source, label in SOURCE_LABELS.items():
        owed, got = due.get(source, ZERO), Decimal(received.get(source, ZERO))
        outpatient = round_fen(got * policy.outpatient_share[source])
        rows.append(
            {
                "source": source,
                "source_label": label,
                "due": owed,
                "received": got,
                "outstanding": max(owed - got, ZERO),
                "overpaid": max(got - owed, ZERO),
                "received_inpatient": got - outpatient,
                "received_outpatient": outpatient,
            }
        )
    return pa.Table.from_pylist(rows, schema=RECEIPTS_SCHEMA)


def contributions_due(insured: dict[str, int], policy: InsurancePolicy) -> pa.Table:
    """What is due from each source for ``insured`` persons by category: one row per source and category (in the orders of ``SOURCE_LABELS`` and ``CATEGORIES``)."""
    rows = []
    for source, source_label in SOURCE_LABELS.items():
        for category in CATEGORIES:
            civil = category in policy.civil_affairs_categories
            if (source == "individual" and civil) or (source == "civil_affairs" and not civil):
                continue
            persons = insured.get(category, 0)
            per_person = policy.per_person(source)
            split = policy.per_person_by_pool(source)
            rows.append(
                {
                    "source": source,
                    "source_label": source_label,
                    "category": category,
                    "category_label": CATEGORY_LABELS[category],
                    "persons": persons,
                    "per_person": per_person,
                    "amount": per_person * persons,
                    "to_inpatient": split["inpatient"] * persons,
                    "to_outpatient": split["outpatient"] * persons,
                }
            )
    schema = pa.schema(
        [
            ("source", pa.string()),
            ("source_label", pa.string()),
            ("category", pa.string()),
            ("category_label", pa.string()),
            ("persons", pa.int64()),
            ("per_person", MONEY),
            ("amount", MONEY),
            ("to_inpatient", MONEY),
            ("to_outpatient", MONEY),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


def _monthly(
    by_month: dict[int, Decimal],
    income: Decimal,
    policy: InsurancePolicy,
    received_by_month: dict[int, Decimal] | None = None,
    pool: str | None = None,
) -> tuple[pa.Table, list[Problem]]:
    """Cumulative spending against the pro-rata income (and the money received), month by month:
    of one pool (``pool``, with its warnings), or of the sum (``pool`` None, the warnings unused)."""
    label = "" if pool is None else POOL_LABELS[pool]
    key = "ledger" if pool is None else f"ledger.pools.{pool}"
    rows = []
    warnings: list[Problem] = []
    cumulative = ZERO
    received = ZERO
    for month in range(1, 13):
        spent = Decimal(by_month.get(month, ZERO))
        cumulative += spent
        pro_rata = div_round(income * month, Decimal(12), 2)
        limit = round_fen(pro_rata * policy.ledger_pace_ratio)
        ahead = cumulative > limit
        overdrawn = None
        if received_by_month is not None:
            received += Decimal(received_by_month.get(month, ZERO))
            overdrawn = int(cumulative > received)
        rows.append(
            {
                **({} if pool is None else {"pool": pool, "pool_label": label}),
                "month": month,
                "reimbursements": spent,
                "cumulative": cumulative,
                "income_to_date": pro_rata,
                "pace_limit": limit,
                "use_ratio": None if income == 0 else div_round(cumulative, income, 4),
                "ahead": int(ahead),
                "received_to_date": None if received_by_month is None else received,
                "overdrawn": overdrawn,
            }
        )
        if ahead:
            warnings.append(
                Problem(
                    "insurance.ledger.pace",
                    f"{label}{month}月累计补偿支出 {cumulative} 元超过该基金当年收入按月均摊的 {limit} 元 "
                    f"(收入 {income} × {month}/12 × {policy.ledger_pace_ratio}), 支出进度快于收入 (以收定支, 004 篇6 三(三))",
                    Source("<run>", key=f"{key}.monthly.{month}"),
                    "warning",
                )
            )
        if overdrawn:
            warnings.append(
                Problem(
                    "insurance.ledger.overdrawn",
                    f"{label}{month}月末累计补偿支出 {cumulative} 元超过该基金累计到账筹资 {received} 元, 基金透支 "
                    "(以收定支、收支平衡, 004 篇6 三(三))",
                    Source("<run>", key=f"{key}.monthly.{month}"),
                    "warning",
                )
            )
    schema = POOL_MONTHLY_SCHEMA
    if pool is None:
        schema = pa.schema([f for f in POOL_MONTHLY_SCHEMA if f.name not in ("pool", "pool_label")])
    return pa.Table.from_pylist(rows, schema=schema), warnings
