"""000 篇6 第六条: the DRG budget of each scheme from its pooled fund budget, and the total."""

from __future__ import annotations

from decimal import Decimal

from shidian.drg.fund_budget import drg_budget_lines, scheme_items


def test_000p6_art6_budget_by_scheme_minus_the_listed_items():
    """职工: 统筹基金支出预算 10 亿 − 门诊特殊慢性病 1 亿 − 药店购药 0.5 亿 − 大病保险 0.3 亿 − 调节金 0.2 亿
    = 8 亿; 居民: 8 亿 − 门诊统筹 1.5 亿 − 按床日 0.1 亿 − 区外异地住院 0.4 亿 = 6 亿; 合计 14 亿."""
    lines, budgets, total = drg_budget_lines(
        {
            "employee": {
                "pooled_budget": Decimal("1000000000"),
                "special_chronic_outpatient": Decimal("100000000"),
                "pharmacy": Decimal("50000000"),
                "catastrophic": Decimal("30000000"),
                "adjustment_reserve": Decimal("20000000"),
            },
            "resident": {
                "pooled_budget": Decimal("800000000"),
                "outpatient_pool": Decimal("150000000"),
                "per_diem": Decimal("10000000"),
                "out_of_region_inpatient": Decimal("40000000"),
            },
        }
    )
    assert budgets == {"employee": Decimal("800000000"), "resident": Decimal("600000000")}
    assert total == Decimal("1400000000")
    assert lines[-1].item == "drg_budget" and lines[-1].scheme == "total"
    assert all(line.article == "000 篇6 第六条" for line in lines)


def test_000p6_art6_employees_have_no_outpatient_pool_item():
    """第六条(一) 职工医保不扣“门诊统筹”; (二) 居民医保扣."""
    assert "outpatient_pool" not in scheme_items("employee")
    assert scheme_items("resident")[0] == "outpatient_pool"


def test_000p6_art6_a_budget_derived_from_the_fund_settles_like_the_same_budget_given(tmp_path):
    """The region of test_caps with drg_budget = 5,820.00 given, and again derived from the fund:
    职工 10,000.00 − 药店购药 6,000.00 = 4,000.00; 居民 3,000.00 − 门诊统筹 1,180.00 = 1,820.00;
    合计 5,820.00 → the same year point value; drg_budget.csv shows the build-up."""
    import csv

    from shidian.drg.service import settle_folder
    from tests.drg.test_caps import write_region

    given, _ = settle_folder(write_region(tmp_path / "a"), tmp_path / "out-a", "guigang-2020")
    assert given is not None and given.result.totals["drg_budget_source"] == "given"
    assert not (tmp_path / "out-a" / "drg_budget.csv").exists()
    data = write_region(tmp_path / "b")
    (data / "settlement.toml").write_text(
        "year = 2020\n"
        '[fund_budget.employee]\npooled_budget = "10000.00"\npharmacy = "6000.00"\n'
        '[fund_budget.resident]\npooled_budget = "3000.00"\noutpatient_pool = "1180.00"\n',
        encoding="utf-8",
    )
    derived, problems = settle_folder(data, tmp_path / "out-b", "guigang-2020")
    assert derived is not None, problems
    assert derived.result.totals["drg_budget"] == "5820.00"
    assert derived.result.totals["drg_budget_source"] == "fund"
    assert derived.result.totals["year_point_value"] == given.result.totals["year_point_value"]
    with (tmp_path / "out-b" / "drg_budget.csv").open(encoding="utf-8") as f:
        rows = {(r["scheme"], r["item"]): r["amount"] for r in csv.DictReader(f)}
    assert rows[("employee", "drg_budget")] == "4000.00"
    assert rows[("resident", "drg_budget")] == "1820.00"
    assert rows[("total", "drg_budget")] == "5820.00"


def test_000p6_art6_budget_given_and_derived_at_once_is_refused(tmp_path):
    from shidian.drg.io import read_settlement

    path = tmp_path / "settlement.toml"
    path.write_text(
        'year = 2020\ndrg_budget = "1.00"\n[fund_budget.employee]\npooled_budget = "5"\nbogus = "1"\n'
        '[fund_budget.workers]\npooled_budget = "1"\n',
        encoding="utf-8",
    )
    params, problems = read_settlement(path)
    assert params is None
    found = {(p.code, p.where.key) for p in problems}
    assert ("drg.settlement.budget_twice", "drg_budget") in found
    assert ("drg.settlement.bad_fund_budget", "fund_budget.employee.bogus") in found
    assert ("drg.settlement.bad_fund_budget", "fund_budget.workers") in found
