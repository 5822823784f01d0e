"""Excel forms (填报表 Excel): the blank form in Chinese, a good upload, a bad one saves nothing."""

from __future__ import annotations

import io

import openpyxl
import sqlalchemy as sa

from shidian.platform.db.pilots_schema import pilot_plans
from shidian.platform.db.schema import audit_events
from tests.web.pilots.conftest import COUNTY
from tests.web.pilots.test_reports import report_of, values_of

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _download(client, path: str) -> openpyxl.Workbook:  # type: ignore[no-untyped-def]
    answer = client.get(f"{path}/form.xlsx")
    assert answer.status_code == 200 and answer.headers["content-type"] == XLSX
    return openpyxl.load_workbook(io.BytesIO(answer.content))


def _fill(book: openpyxl.Workbook, values: dict[tuple[str, str], tuple[object, object]]) -> bytes:
    sheet = book["填报表"]
    for row in sheet.iter_rows(min_row=2):
        key = (row[0].value, row[2].value or "")
        if key in values:
            row[6].value, row[7].value = values[key]
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_blank_form_has_chinese_headers_and_one_row_per_indicator_and_group(
    pilots_app, plan_id, pilot_client
):
    """县级: 16 reported indicators, 知晓率 by 4 groups → 15 + 4 = 19 rows."""
    book = _download(pilot_client("county_user"), f"/pilots/reports/{plan_id}/{COUNTY}/2021-07-01")
    sheet = book["填报表"]
    header = [c.value for c in sheet[1]]
    assert header == ["指标编码", "指标名称", "人群编码", "人群", "类型", "单位", "分子/数值", "分母"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 19
    literacy = [r for r in rows if r[0] == "PSY_LITERACY_RATE"]
    assert [r[2] for r in literacy] == ["officials", "students", "urban", "rural"]
    assert ("报告期", "2021年第3季度") in [tuple(r) for r in book["说明"].iter_rows(values_only=True)]


def test_issue5_good_upload_is_saved_as_a_draft(pilots_app, plan_id, pilot_client):
    path = f"/pilots/reports/{plan_id}/{COUNTY}/2021-07-01"
    county = pilot_client("county_user")
    data = _fill(
        _download(county, path),
        {
            ("PSY_LITERACY_RATE", "students"): (1710, 1900),
            ("REHAB_STATIONS", ""): (2, None),
            ("CRISIS_TEAM", ""): (1, None),
        },
    )
    answer = county.post(
        f"{path}/upload", files={"file": ("县级填报.xlsx", data, XLSX)}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    report = report_of(pilots_app, COUNTY, "2021-07-01")
    assert report.status == "draft"
    assert values_of(pilots_app, report.id) == {
        ("PSY_LITERACY_RATE", "students"): (1710, 1900),
        ("REHAB_STATIONS", ""): (2, None),
        ("CRISIS_TEAM", ""): (1, None),
    }


def test_issue5_bad_upload_lists_every_row_and_saves_nothing(pilots_app, plan_id, pilot_client):
    """Row numbers are sheet rows: the header is row 1. Nothing is written, the refusal is audited."""
    path = f"/pilots/reports/{plan_id}/{COUNTY}/2021-04-01"
    county = pilot_client("county_user")
    book = _download(county, path)
    codes = [r[0].value for r in book["填报表"].iter_rows(min_row=2)]
    data = _fill(
        book,
        {
            ("PSY_LITERACY_RATE", "rural"): (600, 500),  # numerator > denominator
            ("REHAB_STATIONS", ""): ("两个", None),  # not a number
            ("NEW_PSY_BEDS", ""): (40, None),  # fine, but nothing may be saved
        },
    )
    answer = county.post(f"{path}/upload", files={"file": ("县级填报.xlsx", data, XLSX)})
    assert answer.status_code == 422
    rate_row = 2 + codes.index("PSY_LITERACY_RATE") + 3  # officials, students, urban, rural
    stations_row = 2 + codes.index("REHAB_STATIONS")
    assert "两个" in answer.text and f'<td class="num">{stations_row}</td>' in answer.text
    assert report_of(pilots_app, COUNTY, "2021-04-01") is None
    # fix the text cell: now only the rate is wrong, with its sheet row
    book = _download(county, path)
    data = _fill(book, {("PSY_LITERACY_RATE", "rural"): (600, 500), ("REHAB_STATIONS", ""): (2, None)})
    answer = county.post(f"{path}/upload", files={"file": ("县级填报.xlsx", data, XLSX)})
    assert answer.status_code == 422
    assert f'<td class="num">{rate_row}</td>' in answer.text and "600 大于分母 500" in answer.text
    assert report_of(pilots_app, COUNTY, "2021-04-01") is None
    with pilots_app.state.engine.connect() as conn:
        refusals = conn.execute(
            sa.select(sa.func.count()).where(
                audit_events.c.action == "pilots.report_upload_refused", audit_events.c.target == path
            )
        ).scalar()
    assert refusals == 2


def test_upload_of_a_non_table_is_refused(pilots_app, plan_id, pilot_client):
    path = f"/pilots/reports/{plan_id}/{COUNTY}/2021-01-01"
    answer = pilot_client("county_user").post(f"{path}/upload", files={"file": ("x.csv", b"", "text/csv")})
    assert answer.status_code == 422 and "pilots.upload.empty" in answer.text
    assert report_of(pilots_app, COUNTY, "2021-01-01") is None


def test_pilot_office_loads_a_template_and_a_bad_plan_is_refused(pilots_app, pilot_client, client_for):
    office = pilot_client("pilot_office")
    with pilots_app.state.engine.connect() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(pilot_plans)).scalar()
    bad = b"code: broken\nname: [unclosed\n"
    answer = office.post(
        "/pilots/reports/plans/upload", files={"file": ("broken.yaml", bad, "application/yaml")}
    )
    assert answer.status_code == 422 and "pilots.plan.yaml" in answer.text
    no_deadline = b"code: x\nname: x\nstart: 2020-01-01\nend: 2020-12-31\nindicators:\n  - {code: A, name: A, unit: '%', kind: rate, reported_by: county, aggregation: average, targets: [{value: 1, direction: '>='}]}\n"
    answer = office.post(
        "/pilots/reports/plans/upload", files={"file": ("x.yaml", no_deadline, "application/yaml")}
    )
    assert answer.status_code == 422
    with pilots_app.state.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(pilot_plans)).scalar() == before
    loaded = office.post(
        "/pilots/reports/plans/template", data={"name": "drg-reform", "due_day": "15"}, follow_redirects=False
    )
    assert loaded.status_code == 303
    page = office.get("/pilots/reports/plans")
    assert "drg-reform" in page.text
    with pilots_app.state.engine.connect() as conn:
        row = conn.execute(
            sa.select(pilot_plans).where(pilot_plans.c.code == "drg-reform", pilot_plans.c.active.is_(True))
        ).first()
        assert row.due_day == 15
        assert (
            conn.execute(
                sa.select(sa.func.count()).where(
                    audit_events.c.action == "pilots.plan_loaded",
                    audit_events.c.target == f"pilot_plan/{row.id}",
                )
            ).scalar()
            == 1
        )
    assert pilot_client("town_a").get("/pilots/reports/plans").status_code == 403
    assert (
        client_for("leader").post("/pilots/reports/plans/template", data={"name": "drg-reform"}).status_code
        == 403
    )


def test_pilot_office_uploads_an_excel_plan(pilots_app, pilot_client, tmp_path):
    """The Excel plan layout (``shidian.pilots.plan_excel``) loads like YAML; stored as YAML."""
    from shidian.pilots.plan_excel import write_plan_xlsx
    from shidian.pilots.plan_file import load_template
    from shidian.pilots.store.plans import plan_of

    template = load_template("medical-beauty-campaign")
    path = tmp_path / "plan.xlsx"
    write_plan_xlsx(template, path)
    office = pilot_client("pilot_office")
    answer = office.post(
        "/pilots/reports/plans/upload",
        files={"file": ("医疗美容.xlsx", path.read_bytes(), XLSX)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    with pilots_app.state.engine.connect() as conn:
        row = conn.execute(
            sa.select(pilot_plans).where(pilot_plans.c.code == template.code, pilot_plans.c.active.is_(True))
        ).one()
    assert row.source == "医疗美容.xlsx"
    assert plan_of(row).indicators == template.indicators
