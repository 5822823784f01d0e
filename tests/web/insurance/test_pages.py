"""Insurance pages: import with a validation report, a run with the fund ledger, statements,
notices and the health-check list; a hospital user sees its own institution only.

The ledger's numbers by hand (004 篇6 三(二)): 9 of the 10 persons are insured, each bringing
30 + 60 + 30 + 15 + 15 = 150 yuan: income 1,350.00. Claims: P01 at H1 (level 1) inpatient
2,000: (2000 − 50) × 75% = 1,462.50; P03 at H1 outpatient 100: 100 × 30% = 30.00. Spending
1,492.50 > income: balance −142.50, use rate 1492.50 ÷ 1350 = 110.56%, a 以收定支 warning.
The two pools (三(二)3, 三(三)1): 大病统筹 income 120 × 9 = 1,080.00, spending 1,462.50, balance
−382.50; 门诊统筹 income 30 × 9 = 270.00, spending 30.00, balance 240.00.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from shidian.platform.db.schema import audit_events, datasets
from tests.insurance.helpers import id_number
from tests.web.insurance.conftest import county_files

CLAIMS = (
    "claim_id,person_id,institution_id,kind,start_date,end_date,total_cost,self_pay\n"
    "C1,P01,H1,inpatient,2010-02-01,2010-02-06,2000,0\n"
    "C2,P03,H1,outpatient,2010-03-01,2010-03-01,100,0\n"
)


def _count(app) -> int:
    with app.state.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(datasets)).scalar_one())


def _upload(client, files):
    return client.post(
        "/insurance/imports",
        data={"name": "页面测试", "policy_id": "county-2010", "csrf_token": client.headers["X-CSRF-Token"]},
        files=[("files", (name, content, "text/csv")) for name, content in files],
        follow_redirects=False,
    )


def test_a_bad_file_is_reported_by_file_row_and_column_and_nothing_lands(insurance_app, client_for):
    officer = client_for("officer")
    before = _count(insurance_app)
    persons = county_files()[0][1].decode().replace(id_number(2), id_number(2)[:-1] + "Z")
    response = _upload(officer, [("persons.csv", persons.encode()), county_files()[1]])
    assert response.status_code == 422
    assert "insurance.person.bad_id_number" in response.text
    assert re.search(r"<td>persons.csv</td><td>3</td><td>id_number</td>", response.text)  # P02 is row 3
    assert _count(insurance_app) == before


def test_import_run_ledger_statements_and_scoping(insurance_app, client_for):
    officer, h1, leader = client_for("officer"), client_for("h1"), client_for("leader")
    imported = _upload(officer, [*county_files(), ("claims.csv", CLAIMS.encode())])
    assert imported.status_code == 303, imported.text
    page = officer.get("/insurance")
    assert page.status_code == 200 and "页面测试" in page.text
    dataset_id = re.search(r'<option value="([0-9a-f]{32})">页面测试', page.text).group(1)
    started = officer.post(
        "/insurance/runs",
        data={"dataset_id": dataset_id, "csrf_token": officer.headers["X-CSRF-Token"]},
        follow_redirects=False,
    )
    assert started.status_code == 303
    run_url = started.headers["location"]
    run = officer.get(run_url)
    assert run.status_code == 200
    for figure in ("1,350.00", "1,492.50", "-142.50", "110.56%"):  # one formatter: separators (issue 19)
        assert figure in run.text, figure
    assert 'id="pace-warning"' in run.text
    pools = run.text.split('id="pools"')[1].split("</table>")[0]
    for figure in (
        "大病统筹基金",
        "1,080.00",
        "1,462.50",
        "-382.50",
        "门诊统筹基金",
        "270.00",
        "240.00",
        "合计",
    ):
        assert figure in pools, figure
    # statements: institutions by name, a totals row; filtered by month, the total follows (issue 19)
    statements = run.text.split('id="statements"')[1].split("</table>")[0]
    assert "平南县第一卫生院" in statements and "<td>H1</td>" not in statements
    assert "1,492.50" in statements.split('class="totals"')[1]  # Σ payable 1,462.50 (Feb) + 30.00 (Mar)
    march = officer.get(f"{run_url}?st_month=3").text.split('id="statements"')[1].split("</table>")[0]
    assert re.search(r'class="totals">.*?>30\.00<', march, re.S) and "1,462.50" not in march
    assert officer.get(f"{run_url}/files/ledger_pools.csv").status_code == 200
    assert "insurance.ledger.deficit" in run.text
    assert "statements/H1.xlsx" in run.text and 'data-chart="chart-ledger"' in run.text
    statement = officer.get(f"{run_url}/files/statements/H1.xlsx")
    assert statement.status_code == 200 and statement.content[:2] == b"PK"
    assert leader.get(run_url).status_code == 200
    # the hospital: its own statement, nothing of the county
    own = h1.get(run_url)
    assert own.status_code == 200
    assert "1,350.00" not in own.text and "health-checks" not in own.text
    assert "statements/H1.xlsx" in own.text
    assert h1.get(f"{run_url}/files/statements/H1.xlsx").status_code == 200
    assert h1.get(f"{run_url}/files/statements/H3.xlsx").status_code == 403
    assert h1.get(f"{run_url}/files/health_checks.csv").status_code == 403
    assert officer.get(f"{run_url}/files/../run.json").status_code in (403, 404)
    # the runs list (issue 19): the county's 补偿支出 for officers, a hospital's own only
    run_id = run_url.rsplit("/", 1)[1]

    def runs_row(client) -> str:  # type: ignore[no-untyped-def]
        return client.get("/insurance").text.split(f"/insurance/runs/{run_id}")[1].split("</tr>")[0]

    assert "1,492.50" in runs_row(officer)
    assert "1,492.50" in runs_row(h1)  # both claims were at H1
    h3_row = runs_row(client_for("h3"))
    assert "1,492.50" not in h3_row and ">0.00<" in h3_row
    with insurance_app.state.engine.connect() as conn:
        actions = set(conn.execute(sa.select(audit_events.c.action)).scalars())
    assert {"insurance.import", "insurance.run", "insurance.run_view", "insurance.run_download"} <= actions


def test_reporting_units_see_no_insurance(client_for):
    reporter = client_for("reporter")
    assert reporter.get("/insurance").status_code == 403


def test_the_desk_summary_shows_a_hospital_its_own_claims_only(insurance_app, client_for):
    officer, h1 = client_for("officer"), client_for("h1")
    claim = {"kind": "inpatient", "start_date": "2010-07-01", "end_date": "2010-07-04", "total_cost": "1000"}
    assert (
        officer.post(
            "/api/insurance/claims",
            json=claim | {"claim_id": "PG-H3", "person_id": "P09", "institution_id": "H3"},
        ).status_code
        == 201
    )
    assert (
        h1.post(
            "/api/insurance/claims",
            json=claim | {"claim_id": "PG-H1", "person_id": "P10", "institution_id": "H1"},
        ).status_code
        == 201
    )
    own = h1.get("/insurance").text
    assert "PG-H1" in own and "PG-H3" not in own and "P09" not in own
    everything = officer.get("/insurance").text
    assert "PG-H1" in everything and "PG-H3" in everything
