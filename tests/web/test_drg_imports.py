"""DRG data import (数据导入): whole or not at all, with every problem named by file, row and column.

On SQLite and PostgreSQL (the ``web_app`` fixture). PRODUCT.md principles 6 and 7: data arrives
as Excel and as CSV in GBK or UTF-8; bad input gets a clear answer and changes nothing.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from shidian.platform.db.schema import audit_events, datasets
from tests.web.conftest import handworked_files


def _dataset_count(app: FastAPI) -> int:
    with app.state.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(datasets)).scalar_one())


def _audit(app: FastAPI, action: str) -> list[dict[str, object]]:
    with app.state.engine.connect() as conn:
        rows = conn.execute(sa.select(audit_events).where(audit_events.c.action == action)).mappings()
        return [dict(r) for r in rows]


def _folders(app: FastAPI) -> set[str]:
    """Every folder and file under var/datasets and var/uploads."""
    var: Path = app.state.settings.var_dir
    return {str(p.relative_to(var)) for sub in ("datasets", "uploads") if (var / sub).is_dir() for p in (var / sub).rglob("*")}  # fmt: skip


def _replace(files: list[tuple[str, bytes]], name: str, content: bytes) -> list[tuple[str, bytes]]:
    return [(n, content if n == name else c) for n, c in files]


def _multipart(files: list[tuple[str, bytes]]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (name, content, "application/octet-stream")) for name, content in files]


def _bad_files() -> list[tuple[str, bytes]]:
    """Hand-worked files with two bad cells: cases.csv row 3 total_cost, hospitals.csv row 2 level."""
    files = dict(handworked_files())
    cases = files["cases.csv"].decode("utf-8").splitlines()
    cases[2] = cases[2].replace("3000.01", "三千")  # K02, sheet row 3
    hospitals = (
        files["hospitals.csv"].decode("utf-8").replace("H1,平南县第一卫生院,1", "H1,平南县第一卫生院,7")
    )
    files["cases.csv"] = ("\n".join(cases) + "\n").encode("utf-8")
    files["hospitals.csv"] = hospitals.encode("utf-8")
    return list(files.items())


def _xlsx(csv_bytes: bytes) -> bytes:
    """The CSV as a workbook: numbers as Excel numbers, the rest as text (as a user would save it)."""
    book = openpyxl.Workbook()
    sheet = book.active
    for i, line in enumerate(csv_bytes.decode("utf-8").splitlines()):
        cells: list[object] = line.split(",")
        if i > 0:
            cells = [float(c) if re.fullmatch(r"-?[0-9]+\.[0-9]+", c) else c for c in line.split(",")]
        sheet.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _token(page: str) -> str:
    match = re.search(r'action="/drg/imports/([0-9a-f]{32})/commit"', page)
    assert match, "no confirm button in the preview"
    return match.group(1)


def test_a_file_with_errors_is_reported_by_file_row_and_column_and_nothing_is_imported(web_app, client_for):
    officer = client_for("officer")
    before, folders = _dataset_count(web_app), _folders(web_app)
    page = officer.post("/drg/imports/check", data={"name": "坏数据"}, files=_multipart(_bad_files()))
    assert page.status_code == 422
    assert 'id="import-report"' in page.text and "/commit" not in page.text
    # file, row, column; the code in the message's title (the Chinese page reads the message, issue 19)
    rows = re.findall(r"<tr class=\"error\"><td>([^<]*)</td><td class=\"num\">([^<]*)</td>\s*<td>([^<]*)</td><td title=\"([^\"]*)\"", page.text)  # fmt: skip
    assert ("cases.csv", "3", "total_cost", "table.cell.not_number") in rows
    assert ("hospitals.csv", "2", "level", "table.cell.above_max") in rows
    assert _dataset_count(web_app) == before and _folders(web_app) == folders
    # the same answer as an HTMX fragment (200: HTMX swaps only successful answers)
    fragment = officer.post(
        "/drg/imports/check", files=_multipart(_bad_files()), headers={"HX-Request": "true"}
    )
    assert (
        fragment.status_code == 200
        and "<html" not in fragment.text
        and "table.cell.not_number" in fragment.text
    )
    checked = _audit(web_app, "drg.import_checked")
    assert checked and checked[-1]["detail"]["ok"] is False  # type: ignore[index]


def test_the_api_answers_every_problem_with_where_and_imports_nothing(web_app, client_for):
    officer = client_for("officer")
    before, folders = _dataset_count(web_app), _folders(web_app)
    response = officer.post("/api/drg/imports", data={"name": "坏数据"}, files=_multipart(_bad_files()))
    assert response.status_code == 422
    body = response.json()
    assert body["ok"] is False and body["status"] == 422
    wheres = {(p["code"], p["where"].get("file"), p["where"].get("row"), p["where"].get("column")) for p in body["problems"]}  # fmt: skip
    assert ("table.cell.not_number", "cases.csv", 3, "total_cost") in wheres
    assert ("table.cell.above_max", "hospitals.csv", 2, "level") in wheres
    assert _dataset_count(web_app) == before and _folders(web_app) == folders


def test_unexpected_missing_and_duplicate_files_are_problems(web_app, client_for):
    officer = client_for("officer")
    files = [*handworked_files(), ("notes.txt", b"hello"), ("../cases.xlsx", b"x")]
    files = [f for f in files if f[0] != "hospitals.csv"]
    body = officer.post("/api/drg/imports", files=_multipart(files)).json()
    codes = {(p["code"], p["where"]["file"]) for p in body["problems"]}
    assert ("upload.file.unexpected", "notes.txt") in codes
    assert ("upload.file.duplicate", "cases.xlsx") in codes
    assert ("drg.input.missing_file", "hospitals.csv") in codes
    nothing = officer.post("/api/drg/imports", data={"name": "x"})
    assert nothing.status_code == 422 and nothing.json()["problems"][0]["code"] == "upload.files.none"


def test_a_good_set_is_previewed_then_committed_once_and_listed(web_app, client_for):
    officer = client_for("officer")
    before = _dataset_count(web_app)
    preview = officer.post(
        "/drg/imports/check", data={"name": "手算示例 复核"}, files=_multipart(handworked_files())
    )
    assert preview.status_code == 200, preview.text
    assert 'id="import-preview"' in preview.text and "K01" in preview.text and "2020" in preview.text
    assert "drg_budget" in preview.text  # settlement.toml shown as written
    assert _dataset_count(web_app) == before  # a preview imports nothing
    token = _token(preview.text)
    assert (web_app.state.settings.var_dir / "uploads" / token).is_dir()
    assert client_for("admin").post(f"/drg/imports/{token}/commit").status_code == 404  # not the uploader's
    done = officer.post(f"/drg/imports/{token}/commit", follow_redirects=False)
    assert done.status_code == 303
    dataset_id = done.headers["location"].rsplit("=", 1)[1]
    assert _dataset_count(web_app) == before + 1
    assert (web_app.state.settings.datasets_dir / dataset_id / "cases.csv").is_file()
    assert not (web_app.state.settings.datasets_dir / dataset_id / ".upload").exists()
    assert not (web_app.state.settings.var_dir / "uploads" / token).exists()
    assert officer.post(f"/drg/imports/{token}/commit").status_code == 404  # only once
    assert officer.post(f"/drg/imports/{'0' * 32}/commit").status_code == 404
    assert officer.post("/drg/imports/not-a-token/commit").status_code == 404
    listed = officer.get(done.headers["location"])
    assert "手算示例 复核" in listed.text and 'role="status"' in listed.text
    api = officer.get("/api/drg/datasets").json()
    assert any(d["id"] == dataset_id and d["cases"] == 12 and d["year"] == 2020 for d in api)
    imported = [e for e in _audit(web_app, "drg.dataset_imported") if e["target"] == dataset_id]
    assert len(imported) == 1 and imported[0]["username"] == "officer"


def test_gbk_csv_with_chinese_headers_imports(web_app, client_for):
    files = dict(handworked_files())
    hospitals = "医疗机构编码,医疗机构名称,医院等级\nH1,平南县第一卫生院,1\nH3,贵港市人民医院,3\n"
    files["hospitals.csv"] = hospitals.encode("gbk")
    files["drg_groups.csv"] = files["drg_groups.csv"].decode("utf-8").encode("gbk")
    response = client_for("officer").post(
        "/api/drg/imports", data={"name": "GBK 数据"}, files=_multipart(list(files.items()))
    )
    assert response.status_code == 201, response.text
    dataset = response.json()
    assert dataset["name"] == "GBK 数据" and dataset["cases"] == 12 and "hospitals.csv" in dataset["files"]
    assert (web_app.state.settings.datasets_dir / dataset["id"] / "hospitals.csv").read_bytes() == files[
        "hospitals.csv"
    ]


def test_excel_import_through_preview_and_commit(web_app, client_for):
    officer = client_for("officer")
    files = [(n, c) for n, c in handworked_files() if n != "cases.csv"]
    files.append(("cases.xlsx", _xlsx(dict(handworked_files())["cases.csv"])))
    preview = officer.post("/drg/imports/check", data={"name": "Excel 数据"}, files=_multipart(files))
    assert preview.status_code == 200, preview.text
    assert "cases.xlsx" in preview.text and "K01" in preview.text and "3000.01" in preview.text
    done = officer.post(f"/drg/imports/{_token(preview.text)}/commit", follow_redirects=False)
    assert done.status_code == 303
    dataset_id = done.headers["location"].rsplit("=", 1)[1]
    assert (web_app.state.settings.datasets_dir / dataset_id / "cases.xlsx").is_file()
    assert any(d["id"] == dataset_id for d in officer.get("/api/drg/datasets").json())


def test_only_importers_import_and_hospitals_see_no_datasets(web_app, client_for, anonymous):
    hospital = client_for("h1")
    assert hospital.get("/drg/imports").status_code == 403
    assert hospital.get("/api/drg/datasets").status_code == 403
    refused = hospital.post("/api/drg/imports", files=_multipart(handworked_files()))
    assert refused.status_code == 403 and refused.json()["problems"][0]["code"] == "auth.forbidden"
    leader = client_for("leader")
    assert leader.get("/api/drg/datasets").status_code == 200
    assert leader.post("/drg/imports/check", files=_multipart(handworked_files())).status_code == 403
    signed_out = anonymous.get("/api/drg/datasets")
    assert signed_out.status_code == 401 and signed_out.json()["problems"][0]["code"] == "auth.required"
    assert anonymous.get("/drg/imports", follow_redirects=False).status_code == 303


def test_imports_need_the_csrf_token(web_app, client_for):
    officer = client_for("officer")
    del officer.headers["X-CSRF-Token"]
    before = _dataset_count(web_app)
    assert officer.post("/api/drg/imports", files=_multipart(handworked_files())).status_code == 403
    assert officer.post("/drg/imports/check", files=_multipart(handworked_files())).status_code == 403
    assert _dataset_count(web_app) == before


def test_import_pages_load_nothing_from_outside(client_for):
    page = client_for("officer").get("/drg/imports")
    assert page.status_code == 200
    assert "http://" not in page.text and "https://" not in page.text


def test_a_failure_while_landing_leaves_neither_row_nor_folder(web_app, client_for, monkeypatch):
    """The dataset row and its folder land in one step: if the audit write fails, both are undone."""
    from shidian.drg.service import datasets as drg_imports

    officer = client_for("officer")
    preview = officer.post("/drg/imports/check", files=_multipart(handworked_files()))
    token = _token(preview.text)
    before, folders = _dataset_count(web_app), _folders(web_app)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(drg_imports, "log", broken)
    with pytest.raises(RuntimeError):
        officer.post(f"/drg/imports/{token}/commit")
    assert _dataset_count(web_app) == before
    landed = {f for f in _folders(web_app) - folders if f.startswith("datasets/")}
    assert not landed
    assert not (web_app.state.settings.var_dir / "uploads" / token).exists()


def test_the_upload_help_names_each_table_in_chinese_and_a_chinese_file_name_is_its_table(
    web_app, client_for
):
    """The import page lists the tables by their Chinese file names with the file stem (医疗机构
    hospitals …, 年度预付 advances), and a file under that name is read as its table."""
    officer = client_for("officer")
    page = officer.get("/drg/imports?lang=zh_CN").text
    for label, name in (("医疗机构", "hospitals"), ("病例", "cases"), ("年度预付", "advances")):
        assert f"{label} <code>{name}</code>" in page
    files = dict(handworked_files())
    files["年度预付.csv"] = "医疗机构编码,上年度统筹基金支付,上年已预付\nH1,1000.00,\nH3,2000.00,\n".encode()
    response = officer.post(
        "/api/drg/imports", data={"name": "年度预付"}, files=_multipart(list(files.items()))
    )
    assert response.status_code == 201, response.text
    assert "advances.csv" in response.json()["files"]
