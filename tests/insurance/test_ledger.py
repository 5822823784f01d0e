"""The fund ledger: contributions by source and category (004 篇6 三(二)), spending, 以收定支 (三(三))."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import pyarrow as pa

from shidian.insurance import checks
from shidian.insurance.claims import price_claims
from shidian.insurance.ledger import build_ledger
from shidian.insurance.model import CONTRIBUTIONS_SCHEMA, RECEIPTS_SCHEMA, claims_table
from tests.insurance.helpers import GENERAL_FEE, INSTITUTIONS, D, claim, insurance_policy, persons


def ledger_of(people, rows, policy=None, received=None):
    policy = policy or insurance_policy()
    priced = price_claims(claims_table(rows), people, INSTITUTIONS, policy)
    return build_ledger(people, priced, policy, received)


def test_004p6_3_2_contributions_by_source_and_category():
    """三(二)1、3: individual 30, central 60, region 30, city 15, county 15 per insured person and year;
    “五保户、低保户、特困户 … 个人筹资部分可由民政部门医疗救助基金中支出”.
    Insured: 2 general, 1 wubao, 1 disabled; 1 general not insured (brings nothing):
      individual 30 × 3 = 90 (general ×2, disabled); civil affairs 30 × 1 = 30 (wubao)
      central 60 × 4 = 240; region 30 × 4 = 120; city 15 × 4 = 60; county 15 × 4 = 60; income 600.00
    """
    people = persons(
        ("P1", "general"), ("P2", "general"), ("P3", "wubao"), ("P4", "disabled"), ("P5", "general", 0)
    )
    ledger, _ = ledger_of(people, [claim("A", "P1", "T1", "100.00")])
    by = {(r["source"], r["category"]): r for r in ledger.contributions.to_pylist()}
    assert by["individual", "general"]["amount"] == D("60.00") and by["individual", "general"]["persons"] == 2
    assert by["individual", "disabled"]["amount"] == D("30.00")
    assert by["civil_affairs", "wubao"]["amount"] == D("30.00") and ("individual", "wubao") not in by
    assert by["central", "general"]["amount"] == D("120.00") and by["county", "wubao"]["amount"] == D("15.00")
    s = ledger.summary
    assert (s["income"], s["income_individual"], s["income_civil_affairs"]) == ("600.00", "90.00", "30.00")
    assert (s["income_central"], s["income_region"], s["income_city"], s["income_county"]) == (
        "240.00",
        "120.00",
        "60.00",
        "60.00",
    )


def test_reimbursements_by_type_and_level_balance_and_use_rate():
    """Spending: inpatient level 1 (1000 − 50) × 75% = 712.50; outpatient at the village clinic
    10.00 一般诊疗费 + (50 − 10) × 30% = 12.00 → two ledger lines (under county-2010-general-fee, which
    applies 002 篇四's 一般诊疗费; issue 16 item 7); income 2 × 150 = 300.00.
      spent 712.50 + 22.00 = 734.50; balance 300 − 734.50 = −434.50; use rate 734.50 / 300 = 2.4483
    """
    people = persons(("P1", "general"), ("P2", "general"))
    ledger, warnings = ledger_of(
        people,
        [
            claim("A", "P1", "T1", "1000.00", month=3),
            claim("B", "P2", "V1", "50.00", kind="outpatient", general_fee="10.00", month=3),
        ],
        insurance_policy(GENERAL_FEE),
    )
    lines = {(r["type"], r["level"]): r["amount"] for r in ledger.reimbursements.to_pylist()}
    assert lines == {
        ("inpatient", 1): D("712.50"),
        ("outpatient", 1): D("12.00"),
        ("general_fee", 1): D("10.00"),
    }
    assert ledger.summary["reimbursements"] == "734.50" and ledger.summary["balance"] == "-434.50"
    assert ledger.summary["use_ratio"] == "2.4483"
    codes = [w.code for w in warnings]
    assert "insurance.ledger.deficit" in codes


def test_004p6_3_3_pace_warning_when_spending_runs_ahead_of_income():
    """以收定支, per pool (issue 16 item 6: 三(二)3 “各级财政补助资金全部划入大病统筹基金”, 三(三)1
    “分别对住院和门诊费用进行补偿”). The sum: income 150 × 12 = 1800.00 → 150.00 a month; March
    spending 712.50 at level 1 is ahead in Mar (712.50 > 450.00) and Apr (> 600.00), not May (750.00).
    The warnings are the inpatient pool's: its income (60 + 30 + 15 + 15) × 12 = 1440.00 → 120.00 a
    month: Mar 712.50 > 360.00, Apr > 480.00, May > 600.00 → warnings; Jun 712.50 ≤ 720.00 → none."""
    people = persons(*((f"P{i}", "general") for i in range(12)))
    ledger, warnings = ledger_of(people, [claim("A", "P1", "T1", "1000.00", month=3)])
    months = {r["month"]: r for r in ledger.monthly.to_pylist()}
    assert months[3]["income_to_date"] == D("450.00") and months[3]["ahead"] == 1
    assert [m for m in range(1, 13) if months[m]["ahead"]] == [3, 4]
    assert months[12]["use_ratio"] == Decimal("0.3958")  # 712.50 / 1800 = 0.39583…
    inpatient = {r["month"]: r for r in ledger.pool_monthly.to_pylist() if r["pool"] == "inpatient"}
    assert inpatient[3]["income_to_date"] == D("360.00") and inpatient[6]["pace_limit"] == D("720.00")
    assert [w.where.key for w in warnings if w.code == "insurance.ledger.pace"] == [
        "ledger.pools.inpatient.monthly.3",
        "ledger.pools.inpatient.monthly.4",
        "ledger.pools.inpatient.monthly.5",
    ]


def receipts(*rows: tuple[str, str, str]):
    return pa.Table.from_pylist(
        [
            {"source": s, "received_date": dt.date.fromisoformat(d), "amount": D(a), "reference": ""}
            for s, d, a in rows
        ],
        schema=CONTRIBUTIONS_SCHEMA,
    )


def test_004p6_3_3_receipts_outstanding_cash_balance_and_overdraft():
    """筹资到账 against what is due. 4 general insured: due individual 30 × 4 = 120, central 240,
    region 120, city 60, county 60; income 600.00.
    Received: individual 120.00 on 2009-11-20 (collected the autumn before: counts from January),
    central 100.00 on 2010-03-15 and 100.00 on 2010-09-01, county 60.00 on 2011-01-10 (after the
    year: in the total, in no month); region and city nothing.
      received 380.00; outstanding 600 − 380 = 220.00; central outstanding 40.00, region 120.00
    Spending: one stay in February at level 1, (1000 − 50) × 75% = 712.50 → cash balance 380 − 712.50 = −332.50.
    Received to date: Jan 120, Feb 120, Mar 220 … Aug 220, Sep 320 … Dec 320; spent to date from Feb 712.50:
    overdrawn from February to December (712.50 > 320.00).
    """
    people = persons(*((f"P{i}", "general") for i in range(1, 5)))
    got = receipts(
        ("individual", "2009-11-20", "120.00"),
        ("central", "2010-03-15", "100.00"),
        ("central", "2010-09-01", "100.00"),
        ("county", "2011-01-10", "60.00"),
    )
    ledger, warnings = ledger_of(people, [claim("A", "P1", "T1", "1000.00", month=2)], received=got)
    assert ledger.receipts is not None
    by = {r["source"]: (r["due"], r["received"], r["outstanding"]) for r in ledger.receipts.to_pylist()}
    assert by["individual"] == (D("120.00"), D("120.00"), D("0.00"))
    assert by["central"] == (D("240.00"), D("200.00"), D("40.00"))
    assert by["region"] == (D("120.00"), D("0.00"), D("120.00"))
    assert by["county"] == (D("60.00"), D("60.00"), D("0.00"))
    assert by["civil_affairs"] == (D("0.00"), D("0.00"), D("0.00"))
    s = ledger.summary
    assert (s["received"], s["outstanding"], s["cash_balance"]) == ("380.00", "220.00", "-332.50")
    months = {r["month"]: r for r in ledger.monthly.to_pylist()}
    assert [months[m]["received_to_date"] for m in (1, 2, 3, 8, 9, 12)] == [
        D("120.00"),
        D("120.00"),
        D("220.00"),
        D("220.00"),
        D("320.00"),
        D("320.00"),
    ]
    assert [m for m in range(1, 13) if months[m]["overdrawn"]] == list(range(2, 13))
    # Per pool (issue 16 item 6): the individual 120.00 goes to 门诊统筹 (outpatient_share 1), the
    # central 200.00 and county 60.00 to 大病统筹 (三(二)3). The inpatient pool received to date:
    # Jan, Feb 0, Mar 100.00 … Sep 200.00 … Dec 200.00; its 712.50 spent from February overdraws it
    # Feb–Dec (11 warnings, the first: 712.50 > 0.00); cash 260.00 − 712.50 = −452.50 (the county's
    # 60.00 after the year counts in the total). The outpatient pool spent nothing: cash 120.00.
    assert (s["inpatient_received"], s["inpatient_cash_balance"]) == ("260.00", "-452.50")
    assert (s["outpatient_received"], s["outpatient_cash_balance"]) == ("120.00", "120.00")
    pool_months = {(r["pool"], r["month"]): r for r in ledger.pool_monthly.to_pylist()}
    assert [pool_months["inpatient", m]["received_to_date"] for m in (2, 3, 9, 12)] == [
        D("0.00"),
        D("100.00"),
        D("200.00"),
        D("200.00"),
    ]
    overdrawn = [w for w in warnings if w.code == "insurance.ledger.overdrawn"]
    assert len(overdrawn) == 11 and "712.50" in overdrawn[0].message and "0.00 元" in overdrawn[0].message
    assert {w.where.key.split(".")[2] for w in overdrawn} == {"inpatient"}


def test_without_receipts_the_ledger_has_no_cash_columns():
    ledger, warnings = ledger_of(persons(("P1", "general")), [claim("A", "P1", "T1", "100.00")])
    assert ledger.receipts is None and "received" not in ledger.summary
    assert {r["received_to_date"] for r in ledger.monthly.to_pylist()} == {None}
    assert not [w for w in warnings if w.code == "insurance.ledger.overdrawn"]


def test_receipts_at_the_year_boundaries_and_an_overpaid_source():
    """1 general insured: due central 60.00, county 15.00, individual 30.00, region 30.00, city 15.00.
    Central 60.00 on 2009-12-31 (before the year: counts from January) and 20.00 on 2010-12-31
    (December); county 15.00 on 2011-01-01 (after the year: total only).
      central received 80.00 of 60.00 due → overpaid 20.00, outstanding 0 (a warning names it);
      outstanding = individual 30 + region 30 + city 15 = 75.00 (the overpayment does not hide it);
      received to date: January 60.00 … November 60.00, December 80.00; the year's total 95.00.
    """
    got = receipts(
        ("central", "2009-12-31", "60.00"),
        ("central", "2010-12-31", "20.00"),
        ("county", "2011-01-01", "15.00"),
    )
    ledger, warnings = ledger_of(
        persons(("P1", "general")), [claim("A", "P1", "T1", "100.00", month=5)], received=got
    )
    assert ledger.receipts is not None
    by = {r["source"]: r for r in ledger.receipts.to_pylist()}
    assert (by["central"]["overpaid"], by["central"]["outstanding"]) == (D("20.00"), D("0.00"))
    assert (by["county"]["overpaid"], by["county"]["outstanding"]) == (D("0.00"), D("0.00"))
    s = ledger.summary
    assert (s["received"], s["outstanding"], s["overpaid"]) == ("95.00", "75.00", "20.00")
    months = {r["month"]: r["received_to_date"] for r in ledger.monthly.to_pylist()}
    assert (months[1], months[11], months[12]) == (D("60.00"), D("60.00"), D("80.00"))
    over = [w for w in warnings if w.code == "insurance.ledger.receipt_over_due"]
    assert len(over) == 1 and "中央财政补助" in over[0].message and "20.00" in over[0].message


def test_receipts_reconcile_recomputes_from_the_receipts_and_can_fail():
    """The invariant does not trust the ledger: a December total that lost a receipt fails it."""
    people = persons(("P1", "general"))
    policy = insurance_policy()
    got = receipts(("central", "2010-03-01", "60.00"), ("city", "2010-04-01", "15.00"))
    ledger, _ = ledger_of(people, [claim("A", "P1", "T1", "100.00")], policy, got)

    def verdict(monthly):
        con = duckdb.connect()
        for name, table in (
            ("contributions_in", got),
            ("contributions", ledger.contributions),
            ("ledger_receipts", ledger.receipts),
            ("ledger_monthly", monthly),
        ):
            con.register(name, table)
        return checks.receipts_reconcile(con, policy, ledger.summary).ok

    assert verdict(ledger.monthly)
    rows = ledger.monthly.to_pylist()
    rows[11]["received_to_date"] = D("60.00")  # December forgot the city's 15.00
    assert not verdict(pa.Table.from_pylist(rows, schema=ledger.monthly.schema))


def test_004p6_3_2_3_government_subsidies_all_into_the_inpatient_pool():
    """三(二)3: “各级财政补助资金全部划入大病统筹基金”; the individual share (and civil affairs paying it,
    三(二)1) into 门诊统筹 (county-2010: outpatient_share 1, the text names no other source for it).
    Insured 2 general, 1 wubao, 1 disabled:
      大病统筹 (60 + 30 + 15 + 15) × 4 = 480.00; 门诊统筹 individual 30 × 3 + civil affairs 30 × 1 = 120.00
    """
    people = persons(("P1", "general"), ("P2", "general"), ("P3", "wubao"), ("P4", "disabled"))
    ledger, _ = ledger_of(people, [])
    by = {(r["source"], r["category"]): r for r in ledger.contributions.to_pylist()}
    assert (by["central", "general"]["to_inpatient"], by["central", "general"]["to_outpatient"]) == (
        D("120.00"),
        D("0.00"),
    )
    assert (by["civil_affairs", "wubao"]["to_inpatient"], by["civil_affairs", "wubao"]["to_outpatient"]) == (
        D("0.00"),
        D("30.00"),
    )
    s = ledger.summary
    assert (s["inpatient_income"], s["outpatient_income"], s["income"]) == ("480.00", "120.00", "600.00")


def test_004p6_3_3_1_inpatient_and_outpatient_claims_paid_by_their_own_pool():
    """三(三)1: “通过设立统筹基金分别对住院和门诊费用进行补偿。特殊慢性病纳入门诊统筹管理。”
    2 general insured: 大病统筹 income 120 × 2 = 240.00, 门诊统筹 30 × 2 = 60.00.
      大病统筹: stay at level 1 (1000 − 50) × 75% = 712.50 + normal delivery 300.00 = 1012.50;
                balance 240 − 1012.50 = −772.50
      门诊统筹: village visit 50 × 30% = 15.00 + 高血压 250.00 (定额内 100%) = 265.00; balance 60 − 265 = −205.00
      sum: income 300.00, spent 1277.50, balance −977.50 = −772.50 + −205.00
    """
    people = persons(("P1", "general"), ("P2", "general"))
    ledger, warnings = ledger_of(
        people,
        [
            claim("A", "P1", "T1", "1000.00", month=2),
            claim("B", "P2", "T1", "2000.00", month=4, delivery="normal"),
            claim("C", "P1", "V1", "50.00", kind="outpatient", month=3),
            claim("D", "P2", "T1", "250.00", kind="outpatient", month=5, chronic_disease="HBP"),
        ],
    )
    pools = {r["pool"]: r for r in ledger.pools.to_pylist()}
    assert [(pools[p]["income"], pools[p]["reimbursements"], pools[p]["balance"]) for p in pools] == [
        (D("240.00"), D("1012.50"), D("-772.50")),
        (D("60.00"), D("265.00"), D("-205.00")),
        (D("300.00"), D("1277.50"), D("-977.50")),
    ]
    assert list(pools) == ["inpatient", "outpatient", "total"]
    lines = {r["type"]: r["pool"] for r in ledger.reimbursements.to_pylist()}
    assert lines == {
        "inpatient": "inpatient",
        "delivery": "inpatient",
        "outpatient": "outpatient",
        "chronic": "outpatient",
    }
    deficits = [w.where.key for w in warnings if w.code == "insurance.ledger.deficit"]
    assert deficits == ["ledger.pools.inpatient", "ledger.pools.outpatient"]


def test_004p6_3_3_outpatient_pool_runs_ahead_although_the_sum_does_not():
    """以收定支 on the right base (三(三)1, 三(二)3). 12 general insured: 门诊统筹 income 30 × 12 = 360.00
    → 30.00 a month; the sum 1800.00 → 150.00 a month. A January visit of 300.00 at the township
    centre: 300 × 30% = 90.00. 门诊统筹: Jan 90 > 30, Feb 90 > 60 → warnings; Mar 90 ≤ 90 → none.
    The sum (90 ≤ 150) and the inpatient pool (nothing spent) are never ahead."""
    people = persons(*((f"P{i}", "general") for i in range(12)))
    ledger, warnings = ledger_of(people, [claim("A", "P1", "T1", "300.00", kind="outpatient", month=1)])
    assert not [r for r in ledger.monthly.to_pylist() if r["ahead"]]
    assert [w.where.key for w in warnings if w.code == "insurance.ledger.pace"] == [
        "ledger.pools.outpatient.monthly.1",
        "ledger.pools.outpatient.monthly.2",
    ]
    pools = {r["pool"]: r["months_ahead"] for r in ledger.pools.to_pylist()}
    assert pools == {"inpatient": 0, "outpatient": 2, "total": 2}


def test_004p6_3_2_pool_shares_are_a_policy_table_split_to_the_fen():
    """The individual share's split is the policy's (原文未载): with outpatient_share.individual = 0.3333,
    30 × 0.3333 = 9.999 → 10.00 a person into 门诊统筹 (half up), 30 − 10.00 = 20.00 into 大病统筹.
    3 general insured: 门诊统筹 30.00; 大病统筹 20.00 × 3 + 120 × 3 = 420.00."""
    policy = insurance_policy(**{"pools.outpatient_share.individual": "0.3333"})
    people = persons(("P1", "general"), ("P2", "general"), ("P3", "general"))
    ledger, _ = ledger_of(people, [], policy)
    assert (ledger.summary["outpatient_income"], ledger.summary["inpatient_income"]) == ("30.00", "420.00")


def test_pools_reconcile_recomputes_from_the_claims_and_can_fail():
    """The invariant recomputes each pool from the priced claims by kind: moving a stay's money
    to the outpatient pool's row fails it."""
    people = persons(("P1", "general"))
    policy = insurance_policy()
    rows = [claim("A", "P1", "T1", "1000.00"), claim("B", "P1", "V1", "50.00", kind="outpatient")]
    priced = price_claims(claims_table(rows), people, INSTITUTIONS, policy)
    ledger, _ = build_ledger(people, priced, policy, None)

    def verdict(pools):
        con = duckdb.connect()
        for name, table in (
            ("priced", priced),
            ("contributions", ledger.contributions),
            ("ledger_reimbursements", ledger.reimbursements),
            ("ledger_pool_monthly", ledger.pool_monthly),
            ("ledger_receipts", RECEIPTS_SCHEMA.empty_table()),
            ("ledger_pools", pools),
        ):
            con.register(name, table)
        return checks.pools_reconcile(con, policy, ledger.summary).ok

    assert verdict(ledger.pools)
    moved = ledger.pools.to_pylist()
    moved[0]["reimbursements"] -= D("712.50")
    moved[1]["reimbursements"] += D("712.50")
    assert not verdict(pa.Table.from_pylist(moved, schema=ledger.pools.schema))
