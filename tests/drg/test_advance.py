"""The annual advance (000 篇6 第十七条), worked by hand.

"于每年1月给定点医疗机构预付2个月上年度统筹基金月均支付费用 … 预付费用在次年1月重新核定, 差额补退"
(guigang-2020: advance.months = 2). The region of test_caps: each hospital's fund payments this
year are 3810.00 − 900.00 = 2910.00 (test_schemes).

* P1: last year 12,000.00 → advance 12000 × 2 ÷ 12 = 2000.00; last January's 1500.00 is
  re-assessed: January payment 2000.00 − 1500.00 = 500.00; next January 2910 × 2 ÷ 12 = 485.00,
  true-up 485.00 − 2000.00 = −1515.00 (recovered);
* P2: last year 10,000.00, no advance before → 20000 ÷ 12 = 1666.666… → 1666.67, all paid in
  January; next 485.00, true-up −1181.67.
"""

from __future__ import annotations

import csv

from shidian.drg.service import settle_folder
from tests.drg.test_caps import write_region


def test_000p6_art17_advance_two_months_of_last_years_average_re_assessed_next_january(tmp_path):
    data = write_region(tmp_path / "in")
    (data / "advances.csv").write_text(
        "医疗机构编码,上年度统筹基金支付,上年已预付\nP1,12000.00,1500.00\nP2,10000.00,\n", encoding="utf-8"
    )
    run, problems = settle_folder(data, tmp_path / "out", "guigang-2020")
    assert run is not None, problems
    with (tmp_path / "out" / "advances.csv").open(encoding="utf-8") as f:
        got = [
            (
                r["hospital_id"],
                r["advance"],
                r["previous_advance"],
                r["january_payment"],
                r["year_fund_paid"],
                r["next_advance"],
                r["next_true_up"],
            )
            for r in csv.DictReader(f)
        ]
    assert got == [
        ("P1", "2000.00", "1500.00", "500.00", "2910.00", "485.00", "-1515.00"),
        ("P2", "1666.67", "0.00", "1666.67", "2910.00", "485.00", "-1181.67"),
    ]
    totals = run.result.totals
    assert totals["advance.advance"] == "3666.67"
    assert totals["advance.january_payment"] == "2166.67"
    assert totals["advance.next_true_up"] == "-2696.67"


def test_000p6_art17_the_advance_does_not_change_the_years_settlement(tmp_path):
    """The advance is a float the hospital holds, not a payment for the year's cases."""
    plain, _ = settle_folder(write_region(tmp_path / "a"), tmp_path / "out-a", "guigang-2020")
    data = write_region(tmp_path / "b")
    (data / "advances.csv").write_text("hospital_id,last_year_fund_paid\nP1,12000.00\n", encoding="utf-8")
    advanced, problems = settle_folder(data, tmp_path / "out-b", "guigang-2020")
    assert plain is not None and advanced is not None, problems
    assert advanced.result.annual.equals(plain.result.annual)
    assert not (tmp_path / "out-a" / "advances.csv").exists()
    assert not any(k.startswith("advance.") for k in plain.result.totals)


def test_an_advance_of_an_unknown_hospital_is_refused(tmp_path):
    data = write_region(tmp_path / "in")
    (data / "advances.csv").write_text("hospital_id,last_year_fund_paid\nP9,100.00\n", encoding="utf-8")
    run, problems = settle_folder(data, tmp_path / "out", "guigang-2020")
    assert run is None
    assert [(p.code, p.where.file, p.where.row) for p in problems] == [
        ("drg.advance.unknown_hospital", "advances.csv", 2)
    ]


def test_000p6_art17_the_advance_is_rounded_half_up_exactly_not_through_a_double(tmp_path):
    """1.23 × 2 ÷ 12 = 0.205 exactly → 0.21 (四舍五入); 100.23 × 2 ÷ 12 = 16.705 → 16.71: ties
    worked by hand, computed by exact decimal division (money.sql_div), never a DOUBLE."""
    data = write_region(tmp_path / "in")
    (data / "advances.csv").write_text(
        "hospital_id,last_year_fund_paid\nP1,1.23\nP2,100.23\n", encoding="utf-8"
    )
    run, problems = settle_folder(data, tmp_path / "out", "guigang-2020")
    assert run is not None, problems
    with (tmp_path / "out" / "advances.csv").open(encoding="utf-8") as f:
        got = [(r["hospital_id"], r["advance"], r["january_payment"]) for r in csv.DictReader(f)]
    assert got == [("P1", "0.21", "0.21"), ("P2", "16.71", "16.71")]
