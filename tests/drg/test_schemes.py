"""Cases by scheme (000 篇6 第二、六条): each hospital's fund payments charged to the scheme funds.

The region of test_caps (two level-2 hospitals, six normal cases of 100 points, cost 1000, fund
700, patient cash 300; budget 5,820.00), with schemes: P1's January and February cases are
职工 (employee), its March case and all of P2's are 居民 (resident). One point value (联合):

* year point value = (6000 − 4200 + 5820) ÷ 600 = 12.7 (第十九条(一)); each hospital's
  entitlement 300 × 12.7 = 3810.00, its fund payment 3810.00 − patient cash 900.00 = 2910.00;
* P1's values: employee 200 × 12.7 − 600 = 1940.00, resident 100 × 12.7 − 300 = 970.00, so
  2910.00 splits 1940.00 : 970.00; P2's 2910.00 is all resident;
* monthly: budget 5820 ÷ 12 = 485.00 a month; January has 200 points, point value 2.425; P1's
  January prepayment (100 × 2.425 − 300) × 0.9 = −51.75, the same in February and March:
  monthly paid −155.25, split 2:1 → employee −103.50, resident −51.75; the year-end settlement
  is the rest: employee 1940.00 + 103.50 = 2043.50, resident 970.00 + 51.75 = 1021.75.
"""

from __future__ import annotations

import csv
from pathlib import Path

from shidian.drg.service import settle_folder
from tests.drg.test_caps import write_region

SCHEMES = {
    "P1-1": "employee",
    "P1-2": "职工",
    "P1-3": "resident",
    "P2-1": "居民",
    "P2-2": "居民医保",
    "P2-3": "resident",
}


def with_schemes(folder: Path, schemes: dict[str, str] = SCHEMES) -> Path:
    path = folder / "cases.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    out = [lines[0] + ",险种"] + [f"{line},{schemes[line.split(',')[0]]}" for line in lines[1:]]
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return folder


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_000p6_art6_each_hospitals_payments_are_charged_to_its_schemes(tmp_path):
    data = with_schemes(write_region(tmp_path / "in"))
    run, problems = settle_folder(data, tmp_path / "out", "guigang-2020")
    assert run is not None, problems
    assert run.result.totals["year_point_value"] == "12.70000000"
    got = [
        (
            r["hospital_id"],
            r["scheme"],
            r["cases"],
            r["value"],
            r["monthly_paid"],
            r["settlement"],
            r["fund_payment"],
        )
        for r in rows(tmp_path / "out" / "scheme_payments.csv")
    ]
    assert got == [
        ("P1", "employee", "2", "1940.00", "-103.50", "2043.50", "1940.00"),
        ("P1", "resident", "1", "970.00", "-51.75", "1021.75", "970.00"),
        ("P2", "resident", "3", "2910.00", "-155.25", "3065.25", "2910.00"),
    ]
    totals = run.result.totals
    assert totals["scheme.employee.fund_payment"] == "1940.00"
    assert totals["scheme.resident.fund_payment"] == "3880.00"
    assert totals["scheme.resident.cases"] == "4"
    assert next(c for c in run.result.checks if c.name == "scheme_payments_conserved").ok


def test_000p6_art6_each_fund_reconciles_with_its_own_budget(tmp_path):
    """Budgets derived by scheme: 职工 1,940.00, 居民 3,880.00 (total 5,820.00 as above): each
    fund's payments equal its budget, balance 0.00."""
    data = with_schemes(write_region(tmp_path / "in"))
    (data / "settlement.toml").write_text(
        'year = 2020\n[fund_budget.employee]\npooled_budget = "1940.00"\n'
        '[fund_budget.resident]\npooled_budget = "3880.00"\n',
        encoding="utf-8",
    )
    run, problems = settle_folder(data, tmp_path / "out", "guigang-2020")
    assert run is not None, problems
    totals = run.result.totals
    assert totals["scheme.employee.drg_budget"] == "1940.00"
    assert totals["scheme.employee.balance"] == "0.00"
    assert totals["scheme.resident.drg_budget"] == "3880.00"
    assert totals["scheme.resident.balance"] == "0.00"


def test_without_a_scheme_column_nothing_changes(tmp_path):
    run, problems = settle_folder(write_region(tmp_path / "in"), tmp_path / "out", "guigang-2020")
    assert run is not None, problems
    assert run.result.scheme_payments is None
    assert not (tmp_path / "out" / "scheme_payments.csv").exists()
    assert not any(k.startswith("scheme.") for k in run.result.totals)
    assert not any(c.name == "scheme_payments_conserved" for c in run.result.checks)


def test_an_unknown_scheme_is_refused_with_its_row(tmp_path):
    data = with_schemes(write_region(tmp_path / "in"), {**SCHEMES, "P2-2": "公务员"})
    run, problems = settle_folder(data, tmp_path / "out", "guigang-2020")
    assert run is None
    assert [(p.code, p.where.row, p.where.column) for p in problems] == [
        ("table.cell.not_allowed", 5, "险种")
    ]
    assert not (tmp_path / "out").exists()
