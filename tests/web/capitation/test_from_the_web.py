"""From the web as from the CLI: a settlement whose spending is taken from a finished
resident-insurance run of the app (``--claims`` through the villages map), and the public-health
and primary-care money (``capitation primary-care``, 002 篇四) with its explanation."""

from __future__ import annotations

import csv
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from shidian.demo.insurance import generate_insurance_county
from shidian.insurance.service.datasets import import_insurance_dataset
from shidian.insurance.service.runs import run_insurance_batch
from shidian.platform.files import run_dir

FUND_2010 = (
    "year = 2010\nfunding_total = 300000\nfunding_last_year = 250000\ncatastrophic = 20000\naccident = 5000\n"
)
COMMUNITIES = "community_id,name,lead_institution_id\nA,甲医共体,A1\nB,乙医共体,B1\n"
MEMBERS = (
    "institution_id,name,community_id,tier\nA1,甲县医院,A,县级\nA2,甲乡镇,A,乡镇\nA3,甲村,A,村\n"
    "B1,乙县医院,B,县级\nB2,乙乡镇,B,乡镇\nB3,乙村,B,村\n"
)
SCORES = "institution_id,score\nA1,90\nA2,80\nA3,70\nB1,90\nB2,80\nB3,70\n"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_the_spending_is_taken_from_a_finished_insurance_run(client_for, web_app, tmp_path):
    engine, var_dir = web_app.state.engine, web_app.state.settings.var_dir
    county = tmp_path / "county"
    generate_insurance_county(county, persons=600, seed=7, year=2010)
    files = [(p.name, p.read_bytes()) for p in sorted(county.iterdir()) if p.suffix == ".csv"]
    with engine.begin() as conn:
        dataset_id, problems = import_insurance_dataset(
            conn, var_dir, files, "county-2010", "医共体测试县", None
        )
    assert dataset_id is not None, problems
    insurance_run = run_insurance_batch(engine, var_dir, dataset_id, None)

    officer = client_for("officer")
    index = officer.get("/capitation").text
    assert f'value="{insurance_run}"' in index  # the finished run is offered

    villages = [r["village_code"] for r in _rows(county / "villages.csv")]
    community = {v: ("A" if i < len(villages) // 2 else "B") for i, v in enumerate(villages)}
    tables = {
        "communities": COMMUNITIES,
        "members": MEMBERS,
        "scores": SCORES,
        "villages": "village_code,community_id\n" + "".join(f"{v},{c}\n" for v, c in community.items()),
    }
    upload = [("files", ("fund.toml", FUND_2010.encode(), "text/plain"))]
    upload += [("files", (f"{n}.csv", t.encode("utf-8"), "text/csv")) for n, t in tables.items()]
    answer = officer.post(
        "/capitation/settle",
        data={"policy": "county-2010", "claims_run_id": insurance_run},
        files=upload,
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    run_id = answer.headers["location"].rsplit("/", 1)[1]

    # each 医共体's spending = the paid reimbursements of its villages' persons, summed here from
    # the insurance run's claims and the county's persons (not from the file the settlement reads)
    village_of = {r["person_id"]: r["village_code"] for r in _rows(county / "persons.csv")}
    paid: dict[str, Decimal] = defaultdict(Decimal)
    for claim in _rows(run_dir(var_dir, insurance_run) / "claims_out.csv"):
        if claim["status"] == "paid":
            paid[community[village_of[claim["person_id"]]]] += Decimal(claim["reimbursement"])
    run = officer.get(f"/api/capitation/runs/{run_id}").json()
    assert run["status"] == "draft" and run["year"] == 2010
    spending = {e["community_id"]: Decimal(e["spending"]) for e in run["year_ends"]}
    assert spending == {"A": paid["A"], "B": paid["B"]} and paid["A"] > 0
    page = officer.get(f"/capitation/runs/{run_id}").text
    assert f"/insurance/runs/{insurance_run}" in page

    unknown = officer.post(
        "/capitation/settle", data={"policy": "county-2010", "claims_run_id": "0" * 32}, files=upload
    )
    assert unknown.status_code == 422 and "capitation.claims_run.unknown" in unknown.text


def test_primary_care_money_from_a_page_with_its_explanation(client_for, web_app):
    """002 篇四 (the hand-worked case of tests/capitation/test_primary_care.py): 人均 25 元, A 10 万人 →
    250 万, B 6 万人 → 150 万; B 50 分 扣 10% = 15 万, 奖给 A (95 分): A 应得 265 万, 考核后拨付
    265 − 125 = 140 万; 到村: A 45% → 119.25 万, B 30% 按 40% → 54 万 (a warning)."""
    officer = client_for("officer")
    page = officer.get("/capitation/primary-care")
    assert page.status_code == 200 and "002 篇四 四" in page.text  # the explanation of each rule
    health = "community_id,residents,village_workload_ratio,score\nA,100000,0.45,95\nB,60000,0.30,50\n"
    answer = officer.post(
        "/capitation/primary-care",
        data={"policy": "shaanxi-2011"},
        files=[("files", ("health.csv", health.encode("utf-8"), "text/csv"))],
    )
    assert answer.status_code == 200, answer.text
    for amount in ("2,650,000.00", "+1,400,000.00", "1,192,500.00", "540,000.00", "150,000.00"):
        assert amount in answer.text
    assert "低于" in answer.text  # B's village workload under 40%: a warning
    bad = officer.post(
        "/capitation/primary-care",
        data={"policy": "shaanxi-2011"},
        files=[("files", ("health.csv", b"community_id,residents\nA,abc\n", "text/csv"))],
    )
    assert bad.status_code == 422 and "primary-care-problems" in bad.text
    assert client_for("h1").get("/capitation/primary-care").status_code == 403
