"""The DRG pages of a run with per-scheme point values (分险种点值, 000 篇6 第六条): each scheme's
point value where it applies (the hand-worked region of tests/drg/test_scheme_values.py)."""

from __future__ import annotations

from shidian.drg.results.files import run_files_summary
from shidian.drg.service import settle_folder
from shidian.web.drg.pages_results import charts, hospital_year_html, kpis
from tests.drg.test_caps import write_region
from tests.drg.test_scheme_values import budgets, policy_file
from tests.drg.test_schemes import with_schemes


def test_the_pages_show_each_schemes_point_value(tmp_path):
    """The overview's headline numbers and month chart, and a hospital's page (its months by
    scheme with each scheme's point value, and its charges by scheme), of a per-scheme run."""
    data = budgets(with_schemes(write_region(tmp_path / "in")), employee="2400.00", resident="3000.00")
    run, problems = settle_folder(data, tmp_path / "out", "guigang-2020", policy_file(tmp_path))
    assert run is not None, problems
    summary = run_files_summary(tmp_path / "out", data)
    values = {k["label"]: k["value"] for k in kpis(summary.totals)}
    assert values["职工医保年度点值"] == "15.0000" and values["居民医保年度点值"] == "10.5000"
    assert "年度点值" not in values
    months = charts(summary)["chart-months"]
    assert len(months["xAxis"]["data"]) == 12
    assert [s["name"] for s in months["series"]][1::2] == ["职工医保 月度点值", "居民医保 月度点值"]
    assert months["series"][3]["data"][2] == "1.25000000"  # 居民 March: 250 ÷ 200 points
    html = hospital_year_html(tmp_path / "out", data, "P1", "zh-CN")
    assert '<th class="">险种</th>' in html and "按险种记账 (000 篇6 第六条)" in html
    assert html.count('<td class="">职工医保</td>') == 13  # twelve months and its charge row
    assert "2,288.89" in html and "15.0000" in html
