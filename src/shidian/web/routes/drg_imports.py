"""DRG data import (数据导入): upload, check, preview, commit — whole or not at all.

An officer uploads the input tables (CSV in UTF-8 or GBK, or Excel) and ``settlement.toml``.
``check`` validates them all and answers with every problem (file, row, column, reason) and
imports nothing, or with a preview; the checked files wait in ``var/uploads/<token>/`` until
the officer confirms, and ``commit`` lands the dataset row and its folder together. The API
does both steps in one request.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import re
import secrets
import shutil
import time
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response

from shidian.platform import audit, clock
from shidian.platform.accounts import User
from shidian.platform.db.schema import datasets
from shidian.platform.files import dataset_dir
from shidian.platform.settings import Settings
from shidian.problems import Problem, Source
from shidian.web.deps import Conn, check_csrf, require
from shidian.web.drg_api import TEXT, DatasetOut, dataset_out
from shidian.web.drg_runs import INPUT_NAMES, check_files, commit_dataset, list_datasets
from shidian.web.errors import ErrorOut, error_body
from shidian.web.errors import responses as error_responses
from shidian.web.templating import render

router = APIRouter()
Importer = Annotated[User, Depends(require("drg.import"))]
Viewer = Annotated[User, Depends(require("drg.view_all"))]
DatasetName = Annotated[str, Form(max_length=200, pattern=TEXT, description="数据集名称 (dataset name)")]
Uploads = Annotated[list[UploadFile] | None, File(description="输入文件 (.csv/.xlsx, settlement.toml)")]

SETTLEMENT_FILE = "settlement.toml"
TABLE_SUFFIXES = (".csv", ".xlsx")
#: How long checked files wait for the officer's confirmation.
UPLOAD_TTL_SECONDS = 3600
PREVIEW_ROWS = 10
_TOKEN = re.compile(r"^[0-9a-f]{32}$")
_MARK = ".upload"  # marks a staging folder with its token until the import has landed


# ---- checking the uploaded files ---------------------------------------------------------------


def _upload_problem(code: str, message: str, file: str) -> Problem:
    return Problem(code, message, Source(file))


def _accepted_files(files: list[UploadFile]) -> tuple[list[tuple[str, UploadFile]], list[Problem]]:
    """The uploads named like a DRG input file, under that name; a Problem for every other one."""
    accepted: dict[str, tuple[str, UploadFile]] = {}
    problems: list[Problem] = []
    for upload in files:
        raw = Path(upload.filename or "").name
        if not raw and not upload.size:
            continue  # an empty file input
        path = Path(raw)
        stem, suffix = path.stem, path.suffix.lower()
        if raw == SETTLEMENT_FILE:
            key, name = SETTLEMENT_FILE, SETTLEMENT_FILE
        elif stem in INPUT_NAMES and suffix in TABLE_SUFFIXES:
            key, name = stem, stem + suffix
        else:
            problems.append(
                _upload_problem(
                    "upload.file.unexpected",
                    f"不是DRG输入文件 {raw!r}: 应为 {'/'.join(INPUT_NAMES)} 的 .csv 或 .xlsx, "
                    f"或 {SETTLEMENT_FILE} (unexpected file)",
                    raw or "<upload>",
                )
            )
            continue
        if key in accepted:
            problems.append(
                _upload_problem(
                    "upload.file.duplicate",
                    f"{key} 上传了两次 ({accepted[key][0]}, {name}), 请只保留一个 (duplicate table)",
                    name,
                )
            )
            continue
        accepted[key] = (name, upload)
    if not accepted and not problems:
        problems.append(_upload_problem("upload.files.none", "没有上传文件 (no files)", "<upload>"))
    return list(accepted.values()), problems


def _check(files: list[UploadFile] | None) -> tuple[Path | None, list[Problem], dict[str, Any] | None]:
    """Validate the uploads: (staging folder, [], manifest), or (None, every problem, None)."""
    accepted, problems = _accepted_files(files or [])
    if not accepted:
        return None, problems, None
    staging, found, manifest = check_files((name, upload.file.read()) for name, upload in accepted)
    problems += found
    if problems or manifest is None:
        shutil.rmtree(staging, ignore_errors=True)
        return None, problems, None
    return staging, [], manifest


# ---- the staging area: var/uploads/<token>/ and <token>.json -----------------------------------


def _uploads_dir(settings: Settings) -> Path:
    return settings.var_dir / "uploads"


def _sweep(uploads: Path) -> None:
    """Forget checked uploads nobody confirmed in time."""
    if not uploads.is_dir():
        return
    limit = time.time() - UPLOAD_TTL_SECONDS
    for entry in uploads.iterdir():
        try:
            if entry.stat().st_mtime < limit:
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        except OSError:  # another request is sweeping too
            continue


def _stage(settings: Settings, staging: Path, manifest: dict[str, Any], name: str, user: User) -> str:
    """Keep checked files under a fresh random token until the import is confirmed."""
    uploads = _uploads_dir(settings)
    uploads.mkdir(parents=True, exist_ok=True)
    _sweep(uploads)
    token = secrets.token_hex(16)
    (staging / _MARK).write_text(token, encoding="utf-8")
    shutil.move(str(staging), str(uploads / token))
    meta = {"name": name, "manifest": manifest, "user_id": user.id, "created": time.time()}
    (uploads / f"{token}.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return token


def _claim(settings: Settings, token: str, user: User) -> dict[str, Any]:
    """Take a staged upload for committing (only once, only its uploader, only in time), or 404."""
    uploads = _uploads_dir(settings)
    gone = HTTPException(status_code=404, detail="上传已失效, 请重新上传 (unknown or expired upload)")
    if not _TOKEN.match(token):
        raise gone
    claimed = uploads / f"{token}.claimed"
    try:
        (uploads / f"{token}.json").rename(claimed)  # atomic: a second confirm finds nothing
    except OSError:
        raise gone from None
    meta: dict[str, Any] = json.loads(claimed.read_text(encoding="utf-8"))
    fresh = time.time() - float(meta["created"]) <= UPLOAD_TTL_SECONDS
    if meta["user_id"] != user.id or not fresh or not (uploads / token).is_dir():
        if meta["user_id"] == user.id:
            _discard(settings, token)
        else:
            claimed.rename(uploads / f"{token}.json")
        raise gone
    return meta


def _discard(settings: Settings, token: str) -> None:
    uploads = _uploads_dir(settings)
    shutil.rmtree(uploads / token, ignore_errors=True)
    for suffix in (".json", ".claimed"):
        (uploads / f"{token}{suffix}").unlink(missing_ok=True)


def _commit(request: Request, user: User, token: str, meta: dict[str, Any]) -> str:
    """One transaction: the folder moves into ``datasets/`` and the row is inserted, or neither."""
    settings: Settings = request.app.state.settings
    engine: sa.Engine = request.app.state.engine
    staging = _uploads_dir(settings) / token
    dataset_id: str | None = None
    try:
        with engine.begin() as tx:
            dataset_id = commit_dataset(
                tx, settings.var_dir, staging, meta["manifest"], meta["name"], user.id
            )
            audit.record(
                tx,
                request,
                user,
                "drg.dataset_imported",
                dataset_id,
                {"name": meta["name"], "year": meta["manifest"]["year"], "cases": meta["manifest"]["cases"]},
            )
    except BaseException:
        _remove_landed(settings, token, dataset_id)
        _discard(settings, token)
        raise
    (dataset_dir(settings.var_dir, dataset_id) / _MARK).unlink(missing_ok=True)
    _discard(settings, token)
    return dataset_id


def _remove_landed(settings: Settings, token: str, dataset_id: str | None) -> None:
    """After a failed commit, remove the folder if it already moved (found by its token mark)."""
    if dataset_id is not None:
        shutil.rmtree(dataset_dir(settings.var_dir, dataset_id), ignore_errors=True)
        return
    if settings.datasets_dir.is_dir():
        for folder in settings.datasets_dir.iterdir():
            mark = folder / _MARK
            if mark.is_file() and mark.read_text(encoding="utf-8") == token:
                shutil.rmtree(folder, ignore_errors=True)


# ---- preview --------------------------------------------------------------------------------------


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else format(value, ".15g")
    return str(value)


def _first_rows(path: Path, limit: int) -> tuple[list[str], list[list[str]]]:
    """The header and the first ``limit`` rows of a checked CSV or Excel file, as written."""
    if path.suffix.lower() == ".xlsx":
        import openpyxl

        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            sheet = book.worksheets[0]
            sheet.reset_dimensions()
            rows = [[_cell(v) for v in r] for r in sheet.iter_rows(max_row=limit + 1, values_only=True)]
        finally:
            book.close()
    else:
        with path.open("rb") as handle:
            head = handle.read(1 << 18)
        final = len(head) < 1 << 18
        try:
            text = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=final)
        except UnicodeDecodeError:
            text = codecs.getincrementaldecoder("gb18030")(errors="replace").decode(head, final=final)
        rows = list(itertools.islice(csv.reader(io.StringIO(text)), limit + 1))
    return (rows[0], rows[1:]) if rows else ([], [])


def _preview(folder: Path, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Per table: file, row count and the first rows; ``settlement.toml`` as text."""
    files: dict[str, dict[str, Any]] = manifest["files"]
    order = {name: i for i, name in enumerate(INPUT_NAMES)}
    tables: list[dict[str, Any]] = []
    for name in sorted(files, key=lambda n: (order.get(Path(n).stem, len(order)), n)):
        path = folder / name
        if name == SETTLEMENT_FILE:
            text = path.read_text(encoding="utf-8")
            tables.append({"table": "settlement", "file": name, "text": text, "rows": None})
            continue
        header, rows = _first_rows(path, PREVIEW_ROWS)
        tables.append(
            {"table": Path(name).stem, "file": name, "rows": files[name].get("rows"), "header": header,
             "first": rows}
        )  # fmt: skip
    return tables


# ---- pages ----------------------------------------------------------------------------------------


def _imports_page(request: Request, conn: sa.Connection, imported: str | None = None) -> Response:
    datasets = list_datasets(conn)
    return render(
        request,
        "drg/imports.html",
        {
            "datasets": datasets,
            "imported": next((d for d in datasets if d["id"] == imported), None),
            "input_names": INPUT_NAMES,
        },
    )


@router.get("/drg/imports", include_in_schema=False)
def imports_page(request: Request, conn: Conn, user: Importer, imported: str | None = None) -> Response:
    return _imports_page(request, conn, imported)


@router.post("/drg/imports/check", include_in_schema=False, dependencies=[Depends(check_csrf)])
def check_upload(
    request: Request, conn: Conn, user: Importer, files: Uploads = None, name: DatasetName = ""
) -> Response:
    settings: Settings = request.app.state.settings
    staging, problems, manifest = _check(files)
    context: dict[str, Any] = {"problems": problems, "name": name}
    if staging is not None and manifest is not None:
        token = _stage(settings, staging, manifest, name.strip(), user)
        context.update(
            token=token, manifest=manifest, tables=_preview(_uploads_dir(settings) / token, manifest)
        )
    audit.record(
        conn,
        request,
        user,
        "drg.import_checked",
        context.get("token"),
        {"ok": not problems, "problems": len(problems), "files": sorted((manifest or {}).get("files", {}))},
    )
    if request.headers.get("HX-Request"):  # HTMX swaps only 2xx answers: the report is the content
        return render(request, "drg/_import_result.html", context)
    return render(request, "drg/imports_check.html", context, 422 if problems else 200)


@router.post("/drg/imports/{token}/commit", include_in_schema=False, dependencies=[Depends(check_csrf)])
def commit_upload(request: Request, user: Importer, token: str) -> Response:
    settings: Settings = request.app.state.settings
    meta = _claim(settings, token, user)
    if not meta["name"]:
        meta["name"] = f"DRG {meta['manifest']['year']} · {clock.local(clock.now()):%Y-%m-%d %H:%M}"
    dataset_id = _commit(request, user, token, meta)
    return RedirectResponse(f"/drg/imports?imported={dataset_id}", status_code=303)


# ---- API ------------------------------------------------------------------------------------------


@router.get("/api/drg/datasets", response_model=list[DatasetOut], responses=error_responses(401, 403))
def api_datasets(conn: Conn, user: Viewer) -> list[DatasetOut]:
    """Every DRG dataset, newest first."""
    return [dataset_out(row) for row in list_datasets(conn)]


@router.post(
    "/api/drg/imports",
    status_code=201,
    response_model=DatasetOut,
    responses=error_responses(400, 401, 403)
    | {422: {"model": ErrorOut, "description": "每个问题及其文件、行、列 (every problem)"}},
    dependencies=[Depends(check_csrf)],
)
def api_import(
    request: Request, conn: Conn, user: Importer, files: Uploads = None, name: DatasetName = ""
) -> Response | DatasetOut:
    """Check and import a DRG dataset in one step: 201 with the dataset, or 422 with every problem."""
    settings: Settings = request.app.state.settings
    staging, problems, manifest = _check(files)
    if staging is None or manifest is None:
        audit.record(
            conn, request, user, "drg.import_checked", None, {"ok": False, "problems": len(problems)}
        )
        body = error_body(422, problems)
        return JSONResponse(body, status_code=422)
    name = name.strip() or f"DRG {manifest['year']} · {clock.local(clock.now()):%Y-%m-%d %H:%M}"
    token = _stage(settings, staging, manifest, name, user)
    dataset_id = _commit(request, user, token, _claim(settings, token, user))
    row = conn.execute(sa.select(datasets).where(datasets.c.id == dataset_id)).mappings().one()
    return dataset_out(dict(row))
