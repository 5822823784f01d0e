"""The fund ledger: contributions by source and category (004 篇6 三(二)), spending, 以收定支 (三(三))."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import pyarrow as pa

from shidian.insurance import checks
from shidian.insurance.claims import price_claims
from shidian.insurance.ledger import build_ledger
from shidian.insurance.model import CONTRIBUTIONS_SCHEMA, claims_table
from tests.insurance.helpers import INSTITUTIONS, D, claim, insurance_policy, persons


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
    10.00 一般诊疗费 + (50 − 10) × 30% = 12.00 → two ledger lines; income 2 × 150 = 300.00.
      spent 712.50 + 22.00 = 734.50; balance 300 − 734.50 = −434.50; use rate 734.50 / 300 = 2.4483
    """
    people = persons(("P1", "general"), ("P2", "general"))
    ledger, warnings = ledger_of(
        people,
        [
            claim("A", "P1", "T1", "1000.00", month=3),
            claim("B", "P2", "V1", "50.00", kind="outpatient", general_fee="10.00", month=3),
        ],
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
    """以收定支: income 150 × 12 = 1800.00 → 150.00 a month. March spending 712.50 at level 1:
    Jan, Feb: 0 ≤ 150, 300; Mar: 712.50 > 450.00 → warning; Apr: 712.50 > 600.00 → warning;
    May: 712.50 ≤ 750.00 → none."""
    people = persons(*((f"P{i}", "general") for i in range(12)))
    ledger, warnings = ledger_of(people, [claim("A", "P1", "T1", "1000.00", month=3)])
    months = {r["month"]: r for r in ledger.monthly.to_pylist()}
    assert months[3]["income_to_date"] == D("450.00") and months[3]["ahead"] == 1
    assert [m for m in range(1, 13) if months[m]["ahead"]] == [3, 4]
    assert months[12]["use_ratio"] == Decimal("0.3958")  # 712.50 / 1800 = 0.39583…
    assert [w.where.key for w in warnings if w.code == "insurance.ledger.pace"] == [
        "ledger.monthly.3",
        "ledger.monthly.4",
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
    overdrawn = [w for w in warnings if w.code == "insurance.ledger.overdrawn"]
    assert len(overdrawn) == 11 and "712.50" in overdrawn[0].message and "120.00" in overdrawn[0].message


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
