"""DRG overview, hospital pages and case explanations — on SQLite and PostgreSQL.

The run is the hand-worked region (tests/drg/data/handworked): H1 (平南县第一卫生院, level 1)
has K01–K04, K06, K07, K10; H3 (贵港市人民医院, level 3) has K05, K08, K09, K11, K12.
Expected numbers are read from the run's own files, or worked by hand from the cases.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from shidian.drg.caps import near_caps
from shidian.drg.results.models import HospitalYear
from shidian.drg.run_files import CASE_POINTS_PARQUET, load_case_explanation
from shidian.platform.db.schema import audit_events
from tests.conftest import drg_policy

H1_CASES = {
    "K01": "normal",
    "K02": "high",
    "K03": "normal",
    "K04": "low",
    "K06": "normal",
    "K07": "whole_group",
    "K10": "normal",
}
H3_CASES = ("K05", "K08", "K09", "K11", "K12")


# Issue 16 item 1 (000 篇6 第十八条(一)5 "仍不能入组的病案 … 全部归于年底进行入组, 并于清算时拨付"):
# K08 (H3, January, no DRG, cash 400) no longer prepays 70% of its 23.15789474 points
# (round8(23.15789474 × 0.7) = 16.21052632) nor counts its 400 yuan in January. So January:
# points 598.42084055 − 16.21052632 = 582.21031423; non-fund 12800.01 − 400 = 12400.01;
# point value round8(1000 ÷ 582.21031423) = 1.71759238 (was 1.67106480).
# H1 January: (405.36820990 × 1.71759238 − 8000) × 0.9 = −6573.368… → −6573.37 (was −6590.34);
# H3 January (4 cases, K08 out): (176.84210433 × 1.71759238 − 4400.01) × 0.9 = −3686.640… → −3686.64
# (was −4029.67). Year points and the year point value do not change (K08's 23.15789474 points are
# in the year), so each settlement moves by the change in its monthly payments:
# H1 15224.74 − (−6573.37 + 6590.34) = 15207.77; H3 7395.27 − (−3686.64 + 4029.67) = 7052.24.
EXTERNAL = re.compile(r"https?://")


def run_path(app: FastAPI, run_id: str) -> Path:
    return Path(app.state.settings.var_dir) / "runs" / run_id


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def chart(html: str, chart_id: str) -> dict[str, Any]:
    match = re.search(rf'<script type="application/json" id="{chart_id}">(.*?)</script>', html, re.S)
    assert match, f"no chart option {chart_id}"
    assert f'data-chart="{chart_id}"' in html
    return json.loads(match.group(1))  # type: ignore[no-any-return]


def audit_rows(app: FastAPI, action: str) -> list[dict[str, Any]]:
    with app.state.engine.connect() as conn:
        query = sa.select(audit_events).where(audit_events.c.action == action).order_by(audit_events.c.id)
        return [dict(r) for r in conn.execute(query).mappings()]


def no_floats(value: Any) -> bool:
    if isinstance(value, float):
        return False
    if isinstance(value, dict):
        return all(no_floats(v) for v in value.values())
    if isinstance(value, list):
        return all(no_floats(v) for v in value)
    return True


def case_ids(html: str) -> list[str]:
    return re.findall(r'/cases/(K\d\d)"', html)


# ---- overview ------------------------------------------------------------------------------


def test_overview_shows_kpis_and_charts_matching_the_run_files(web_app, client_for, run_id):
    page = client_for("officer").get(f"/drg/overview?run={run_id}")  # not the latest: tests publish runs
    assert page.status_code == 200, page.text
    html = page.text
    run = run_path(web_app, run_id)
    monthly, annual = csv_rows(run / "monthly.csv"), csv_rows(run / "annual.csv")

    months = chart(html, "chart-months")
    assert months["series"][0]["data"] == [r["budget"] for r in monthly]
    assert months["series"][1]["data"] == [r["point_value"] for r in monthly]
    assert months["series"][1]["data"][0] == "1.71759238" and months["xAxis"]["data"][0] == "1月"

    payments = chart(html, "chart-payments")
    assert payments["xAxis"]["data"] == ["平南县第一卫生院", "贵港市人民医院"]
    assert payments["series"][0]["data"] == [r["monthly_paid"] for r in annual] == ["-6573.37", "-3686.64"]
    assert payments["series"][1]["data"] == [r["settlement"] for r in annual] == ["15207.77", "7052.24"]

    # H1: 1 high, 1 low, 1 whole-group of 7 cases; H3: 1 high, 0 low, 2 whole-group of 5
    mix = chart(html, "chart-case-mix")
    assert [s["data"] for s in mix["series"]] == [["14.29", "20.00"], ["14.29", "0.00"], ["14.29", "40.00"]]

    record = json.loads((run / "run.json").read_text(encoding="utf-8"))
    assert record["totals"]["drg_budget"] == "12000.00"
    # Σ settlement 15207.77 + 7052.24 = 22260.01 (was 15224.74 + 7395.27 = 22620.01, issue 16 item 1 above)
    # the point value to 4 places on the page (38.40262356 → 38.4026), exact in run.json (issue 19)
    for shown in ("12,000.00", "38.4026", "24,800.01", "22,260.01", "6 / 2 / 1 / 3"):
        assert shown in html
    assert "drg.payment.negative_month" in html and "drg.month.no_cases" in html
    assert '<script src="/static/vendor/echarts.min.js"' in html
    assert not EXTERNAL.search(html)


def test_overview_api_gives_the_same_numbers_as_strings(client_for, run_id):
    response = client_for("leader").get(f"/api/drg/runs/{run_id}/overview")
    assert response.status_code == 200, response.text
    body = response.json()
    assert no_floats(body)
    assert body["run"]["id"] == run_id and body["run"]["status"] == "published"
    assert body["totals"]["year_point_value"] == "38.40262356"
    assert body["months"][0] == {
        "month": 1,
        "budget": "1000.00",
        "total_points": "582.21031423",
        "non_fund": "12400.01",
        "point_value": "1.71759238",
        "scheme": None,  # one point value for all schemes (000 篇6 第六条, joint)
    }
    h1 = body["hospitals"][0]
    assert (h1["hospital_id"], h1["name"], h1["entitlement"], h1["settlement"]) == (
        "H1",
        "平南县第一卫生院",
        "16634.40",
        "15207.77",
    )
    assert [m["cases"] for m in body["case_mix"]] == [7, 5]
    assert body["near_caps"] == []  # H1 self-pay 4.21%, H3 4.97%; both below cost: no surplus


def test_overview_is_only_for_roles_that_see_every_hospital(client_for, run_id):
    assert client_for("h1").get("/drg/overview").status_code == 403
    api = client_for("h1").get(f"/api/drg/runs/{run_id}/overview")
    assert api.status_code == 403
    assert api.json() == {
        "ok": False,
        "status": 403,
        "problems": [
            {
                "code": "auth.forbidden",
                "message": "无权访问 (forbidden)",
                "where": {"file": "<request>"},
                "severity": "error",
            }
        ],
    }
    missing = client_for("officer").get("/api/drg/runs/0123456789abcdef0123456789abcdef/overview")
    assert missing.status_code == 404 and missing.json()["problems"][0]["code"] == "not_found"
    assert client_for("officer").get("/drg/overview?run=nope").status_code == 404


def test_near_caps_flags_self_pay_within_one_point_and_surplus_within_ten_percent():
    """000 篇6 第十九条(三): 自费比例上限 10%, 结余率上限 30% (guigang-2020)."""

    def hospital(hid: str, total: str, self_pay: str, entitlement: str) -> HospitalYear:
        zero = Decimal(0)
        return HospitalYear(
            hospital_id=hid, name=hid, year_points=zero, year_point_value=zero, assessment_coefficient=zero,
            entitlement=Decimal(entitlement), surplus_cut=zero, self_pay_cut=zero, patient_cash=zero,
            monthly_paid=zero, settlement=zero, audit_deductions=zero, cases=1, final_points=zero,
            deducted_points=zero, total_cost=Decimal(total), fund_paid=zero, self_pay=Decimal(self_pay),
            withheld=None, incentive=None,
        )  # fmt: skip

    found = near_caps(
        [
            hospital("A", "1000.00", "89.99", "1000.00"),  # 8.999%: more than 1 point below 10%
            hospital("B", "1000.00", "90.00", "1000.00"),  # 9.00%: within 1 point
            hospital("C", "1000.00", "0.00", "1269.99"),  # surplus 269.99 < 0.9 × 300
            hospital("D", "1000.00", "0.00", "1270.00"),  # surplus 270.00 = 0.9 × 300
            hospital("E", "1000.00", "120.00", "1400.00"),  # over both caps
        ],
        drg_policy("guigang-2020"),
    )
    assert [(n.hospital_id, n.cap, str(n.actual_pct)) for n in found] == [
        ("B", "self_pay", "9.00"),
        ("D", "surplus", "27.00"),
        ("E", "self_pay", "12.00"),
        ("E", "surplus", "40.00"),
    ]
    assert all(str(n.cap_pct) in ("10", "30") for n in found)
    assert (
        near_caps([hospital("E", "1000.00", "120.00", "1400.00")], drg_policy(**{"apply_caps": "false"}))
        == []
    )


# ---- hospital page -------------------------------------------------------------------------


def test_hospital_user_sees_its_cases_classes_payments_and_statement(web_app, client_for, run_id):
    page = client_for("h1").get(f"/drg/hospitals/H1?run={run_id}")
    assert page.status_code == 200, page.text
    html = page.text
    assert case_ids(html) == sorted(H1_CASES)
    rows = re.findall(r'<tr data-category="(\w+)">\s*<td><a href="[^"]*/cases/(K\d\d)"', html)
    assert {case: category for category, case in rows} == H1_CASES
    count = re.search(r'class="case-count">([^<]*)', html)
    assert count and re.match(r"\D*7\D", count.group(1))
    for label, value in (
        ("年终清算金额 (负数为追回)", "15,207.77"),
        ("应得金额", "16,634.40"),
        ("考核系数", "1.00000000"),  # a coefficient stays exact
    ):
        assert label in html and value in html
    assert "-6,573.37" in html  # January's prepayment, monthly_payments.csv, with separators
    assert not EXTERNAL.search(html)
    viewed = audit_rows(web_app, "drg.hospital_viewed")
    assert any(
        r["username"] == "h1" and r["target"] == "H1" and r["detail"]["run_id"] == run_id for r in viewed
    )


def test_case_list_filters_and_pages_in_the_api(client_for, run_id):
    client = client_for("h1")
    base = f"/api/drg/runs/{run_id}/hospitals/H1/cases"

    def ids(query: str) -> tuple[int, list[str]]:
        response = client.get(base + query)
        assert response.status_code == 200, response.text
        body = response.json()
        return body["total"], [c["case_id"] for c in body["cases"]]

    assert ids("") == (7, sorted(H1_CASES))
    assert ids("?category=normal") == (4, ["K01", "K03", "K06", "K10"])
    assert ids("?category=whole_group") == (1, ["K07"])
    assert ids("?drg_code=A") == (5, ["K01", "K02", "K03", "K04", "K10"])
    assert ids("?month=1&category=low") == (1, ["K04"])
    assert ids("?month=2") == (0, [])
    assert ids("?q=K1") == (1, ["K10"])
    assert ids("?page_size=3") == (7, ["K01", "K02", "K03"])
    assert ids("?page_size=3&page=3") == (7, ["K10"])
    assert ids("?page_size=3&page=4") == (7, [])
    body = client.get(base + "?page_size=3&page=2").json()
    assert (body["page"], body["pages"], body["page_size"]) == (2, 3, 3)
    k02 = client.get(base + "?q=K02").json()["cases"][0]
    assert no_floats(k02)
    assert (k02["category"], k02["category_label"], k02["final_points"], k02["cost"]) == (
        "high",
        "高倍率病例",
        "21.05284197",
        "3000.01",
    )
    for bad in ("?category=odd", "?month=13", "?page=0", "?page_size=501"):
        response = client.get(base + bad)
        assert response.status_code == 422, bad
        assert response.json()["ok"] is False and response.json()["status"] == 422


def test_case_table_partial_filters_and_pages_for_htmx(client_for, run_id):
    client = client_for("h1")
    high = client.get(f"/drg/hospitals/H1/cases?run={run_id}&category=high", headers={"HX-Request": "true"})
    assert high.status_code == 200
    assert case_ids(high.text) == ["K02"] and "<html" not in high.text
    empty = client.get(f"/drg/hospitals/H1/cases?run={run_id}&category=&drg_code=&month=&q=")
    assert case_ids(empty.text) == sorted(H1_CASES)
    page = client.get(f"/drg/hospitals/H1?run={run_id}&drg_code=A&month=1")
    assert case_ids(page.text) == ["K01", "K02", "K03", "K04", "K10"]


def test_pagination_of_the_page_is_50_cases(client_for, run_id, web_app):
    html = client_for("officer").get(f"/drg/hospitals/H3?run={run_id}&page=1").text
    assert case_ids(html) == list(H3_CASES)
    assert "Next" not in html and "下一页" not in html  # one page only
    beyond = client_for("officer").get(f"/drg/hospitals/H3?run={run_id}&page=2").text
    assert case_ids(beyond) == [] and ("Previous" in beyond or "上一页" in beyond)


def test_payments_api_has_twelve_months_and_the_statement(client_for, run_id):
    body = client_for("h3").get(f"/api/drg/runs/{run_id}/hospitals/H3/payments").json()
    assert no_floats(body)
    assert [m["month"] for m in body["months"]] == list(range(1, 13))
    assert body["months"][0]["amount"] == "-3686.64" and body["months"][0]["cases"] == 4
    assert body["year"]["settlement"] == "7052.24" and body["name"] == "贵港市人民医院"


# ---- case explanation ----------------------------------------------------------------------


def test_case_page_explains_with_articles_and_is_audited(web_app, client_for, run_id):
    page = client_for("h1").get(f"/drg/runs/{run_id}/cases/K02")
    assert page.status_code == 200, page.text
    assert "第十六条(三)" in page.text and "核准追加倍数 = 3000.01 ÷ 1000.00000000 − 3" in page.text
    assert "高倍率病例" in page.text and not EXTERNAL.search(page.text)
    viewed = audit_rows(web_app, "drg.case_viewed")
    assert any(
        r["username"] == "h1" and r["target"] == "K02" and r["detail"]["hospital_id"] == "H1" for r in viewed
    )


def test_case_api_gives_the_row_and_lines(client_for, run_id, web_app):
    body = client_for("officer").get(f"/api/drg/runs/{run_id}/cases/K08").json()
    assert no_floats(body)
    assert body["case"]["hospital_id"] == "H3" and body["case"]["drg_code"] is None
    assert body["case"]["category"] == "whole_group" and body["case"]["base_points"] is None
    assert body["consistent"] is True and body["policy_matches_run"] is True
    assert any("第十六条(四)" in line for line in body["lines"])
    assert any("无法入组" in line for line in body["lines"])
    # 000 篇6 第十八条(一)5: K08 is shown as 年底入组, with no monthly prepayment points.
    assert body["case"]["year_end_grouping"] == 1 and body["case"]["prepay_points"] == "0.00000000"
    assert "年底入组" in body["case"]["category_label"]
    assert any("年底入组" in line and "第十八条(一)5" in line for line in body["lines"])


def test_explanation_is_the_same_from_parquet_and_from_csv(web_app, run_id, tmp_path):
    """The web reads case_points.parquet, the CLI's run folders have only case_points.csv."""
    run = run_path(web_app, run_id)
    copy = tmp_path / "run"
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns(CASE_POINTS_PARQUET))
    policy = drg_policy("guigang-2020")
    for case_id in [*H1_CASES, *H3_CASES]:
        from_parquet = load_case_explanation(run, case_id, policy)
        from_csv = load_case_explanation(copy, case_id, policy)
        assert from_parquet is not None and from_csv is not None
        assert from_parquet.explanation == from_csv.explanation and from_parquet.case == from_csv.case
        assert from_parquet.explanation.consistent
    assert load_case_explanation(copy, "NOPE", policy) is None
    assert load_case_explanation(run, "K05", policy, hospital_ids={"H1"}) is None


# ---- access --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/drg/hospitals/H3",
        "/drg/hospitals/H3/cases",
        "/drg/runs/{run}/cases/K05",
        "/api/drg/runs/{run}/hospitals/H3/cases",
        "/api/drg/runs/{run}/hospitals/H3/payments",
        "/api/drg/runs/{run}/cases/K05",
    ],
)
def test_hospital_user_cannot_see_another_hospital_and_cannot_tell_it_exists(client_for, run_id, path):
    client = client_for("h1")
    other = client.get(path.format(run=run_id))
    missing = client.get(path.format(run=run_id).replace("H3", "H9").replace("K05", "K99"))
    assert other.status_code == missing.status_code == 404
    if path.startswith("/api/"):
        assert (
            other.json()
            == missing.json()
            == {
                "ok": False,
                "status": 404,
                "problems": [
                    {
                        "code": "not_found",
                        "message": "没有该医疗机构或病例 (not found)",
                        "where": {"file": "<request>"},
                        "severity": "error",
                    }
                ],
            }
        )
    else:
        assert "K05" not in other.text and "贵港市人民医院" not in other.text
    assert client_for("officer").get(path.format(run=run_id)).status_code == 200


def test_officer_sees_any_hospital_and_case_and_reporter_sees_none(client_for, run_id):
    officer = client_for("officer")
    page = officer.get(f"/drg/hospitals/H3?run={run_id}")
    assert page.status_code == 200 and case_ids(page.text) == list(H3_CASES)
    assert officer.get(f"/drg/runs/{run_id}/cases/K12").status_code == 200
    reporter = client_for("reporter")
    assert reporter.get("/drg/hospitals/H1").status_code == 404
    assert reporter.get(f"/api/drg/runs/{run_id}/cases/K01").status_code == 404


def test_anonymous_gets_401_from_the_api_and_a_login_redirect_from_pages(anonymous, run_id):
    assert anonymous.get(f"/api/drg/runs/{run_id}/cases/K01").status_code == 401
    page = anonymous.get("/drg/hospitals/H1", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")


def test_no_page_names_an_external_url(client_for, run_id):
    officer = client_for("officer")
    for path in (
        "/drg/overview",
        "/drg/hospitals/H1",
        f"/drg/runs/{run_id}/cases/K07",
        "/drg/hospitals/H1/cases",
    ):
        response = officer.get(path)
        assert response.status_code == 200, path
        assert not EXTERNAL.search(response.text), path


def test_overview_warnings_read_by_kind_in_chinese_paged_and_filtered(client_for, run_id):
    """Issue 19 items 7, 8: a warning's kind by its Chinese label (the code in the title), a
    pager, and ``?kind=`` keeps one kind."""
    html = client_for("officer").get("/drg/overview").text
    table = html.split('class="data warnings"')[1].split("</table>")[0]
    assert '<td title="drg.month.no_cases">当月无出院病例</td>' in table
    assert "<code>drg." not in table and "问题代码" not in html
    assert 'class="pager" data-list=""' in html
    only = (
        client_for("officer").get("/drg/overview", params={"run": run_id, "kind": "drg.month.no_cases"}).text
    )
    rows = only.split('class="data warnings"')[1].split("</table>")[0]
    assert "当月无出院病例" in rows and "月度预拨金额为负" not in rows
