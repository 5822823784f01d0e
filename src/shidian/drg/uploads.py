"""Uploaded DRG input files (上传的输入文件): accept, check, keep until confirmed, preview.

An officer uploads the input tables (CSV in UTF-8 or GBK, or Excel) and ``settlement.toml``.
``check_files`` validates them all; the checked files wait in ``var/uploads/<token>/`` until the
officer confirms (``stage``, then ``claim`` once, by the uploader, in time), then land as a
dataset (``shidian.drg.service.datasets.import_dataset``). File handling only: no database.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from shidian.drg.io import INPUT_SPECS, read_inputs
from shidian.drg.validate import validate_inputs
from shidian.problems import Problem, Source
from shidian.tables import EXCEL_SUFFIXES, first_rows

INPUT_NAMES = (
    "hospitals",
    "drg_groups",
    "cases",
    "assessment",
    "deductions",
    "reference_cases",
    "year_end_groups",
    "advances",
)
#: Chinese file names of the inputs (医疗机构.xlsx) → the table: kept under the table's name.
INPUT_TITLES = {title: spec.name for spec in INPUT_SPECS for title in spec.titles}
#: Each input's first Chinese file name (hospitals → 医疗机构), for the upload page's help.
INPUT_LABELS = {spec.name: spec.titles[0] for spec in INPUT_SPECS if spec.titles}
SETTLEMENT_FILE = "settlement.toml"
TABLE_SUFFIXES = (".csv", *EXCEL_SUFFIXES)
#: How long checked files wait for the officer's confirmation.
UPLOAD_TTL_SECONDS = 3600
PREVIEW_ROWS = 10
TOKEN = re.compile(r"^[0-9a-f]{32}$")
MARK = ".upload"  # marks a staging folder with its token until the import has landed


def _problem(code: str, message: str, file: str) -> Problem:
    return Problem(code, message, Source(file))


def accepted_files(names: Iterable[tuple[str, int]]) -> tuple[list[tuple[int, str]], list[Problem]]:
    """Of the uploads (file name, size), those named like a DRG input file: (index, name to
    keep); a Problem for every other one and for a table given twice."""
    accepted: dict[str, tuple[int, str]] = {}
    problems: list[Problem] = []
    for index, (filename, size) in enumerate(names):
        raw = Path(filename or "").name
        if not raw and not size:
            continue  # an empty file input
        path = Path(raw)
        stem, suffix = path.stem, path.suffix.lower()
        if raw == SETTLEMENT_FILE:
            key, name = SETTLEMENT_FILE, SETTLEMENT_FILE
        elif (stem in INPUT_NAMES or stem in INPUT_TITLES) and suffix in TABLE_SUFFIXES:
            key = INPUT_TITLES.get(stem, stem)
            name = key + suffix
        else:
            problems.append(
                _problem(
                    "upload.file.unexpected",
                    f"不是DRG输入文件 {raw!r}: 应为 {'/'.join(INPUT_NAMES)} (或中文名 {'/'.join(INPUT_TITLES)}) "
                    f"的 .csv、.xlsx 或 .xls, "
                    f"或 {SETTLEMENT_FILE} (unexpected file)",
                    raw or "<upload>",
                )
            )
            continue
        if key in accepted:
            problems.append(
                _problem(
                    "upload.file.duplicate",
                    f"{key} 上传了两次 ({accepted[key][1]}, {name}), 请只保留一个 (duplicate table)",
                    name,
                )
            )
            continue
        accepted[key] = (index, name)
    if not accepted and not problems:
        problems.append(_problem("upload.files.none", "没有上传文件 (no files)", "<upload>"))
    return list(accepted.values()), problems


def check_files(
    files: Iterable[tuple[str, bytes]], staging_root: Path
) -> tuple[Path, list[Problem], dict[str, Any] | None]:
    """Write files into a staging folder under ``staging_root`` (``var/staging``: never the
    system's temporary directory) and validate them as a DRG dataset.

    Returns the staging folder (the caller keeps or removes it), every problem, and the
    manifest of the dataset (its files, year and cases) when there is none. On an exception
    the folder is removed before it propagates.
    """
    staging = Path(tempfile.mkdtemp(prefix="shidian-upload-", dir=staging_root))
    try:
        return _check_staged(staging, files)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _check_staged(
    staging: Path, files: Iterable[tuple[str, bytes]]
) -> tuple[Path, list[Problem], dict[str, Any] | None]:
    for name, content in files:
        (staging / Path(name).name).write_bytes(content)
    inputs, problems, manifest = read_inputs(staging)
    if inputs is not None:
        problems = validate_inputs(inputs)
    if problems:
        return staging, problems, None
    assert inputs is not None
    dataset: dict[str, Any] = {"files": manifest, "year": inputs.params.year, "cases": inputs.cases.num_rows}
    return staging, [], dataset


# ---- the staging area: var/uploads/<token>/ and <token>.json -----------------------------------


def uploads_dir(var_dir: Path) -> Path:
    return var_dir / "uploads"


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


def stage(var_dir: Path, staging: Path, manifest: dict[str, Any], name: str, user_id: int) -> str:
    """Keep checked files under a fresh random token until the import is confirmed."""
    uploads = uploads_dir(var_dir)
    uploads.mkdir(parents=True, exist_ok=True)
    _sweep(uploads)
    token = secrets.token_hex(16)
    (staging / MARK).write_text(token, encoding="utf-8")
    shutil.move(str(staging), str(uploads / token))
    meta = {"name": name, "manifest": manifest, "user_id": user_id, "created": time.time()}
    (uploads / f"{token}.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return token


def claim(var_dir: Path, token: str, user_id: int) -> dict[str, Any] | None:
    """Take a staged upload for landing (only once, only its uploader, only in time); None
    when the token is unknown, taken, another user's or expired."""
    uploads = uploads_dir(var_dir)
    if not TOKEN.match(token):
        return None
    claimed = uploads / f"{token}.claimed"
    try:
        (uploads / f"{token}.json").rename(claimed)  # atomic: a second confirm finds nothing
    except OSError:
        return None
    meta: dict[str, Any] = json.loads(claimed.read_text(encoding="utf-8"))
    fresh = time.time() - float(meta["created"]) <= UPLOAD_TTL_SECONDS
    if meta["user_id"] != user_id or not fresh or not (uploads / token).is_dir():
        if meta["user_id"] == user_id:
            discard(var_dir, token)
        else:
            claimed.rename(uploads / f"{token}.json")
        return None
    return meta


def discard(var_dir: Path, token: str) -> None:
    uploads = uploads_dir(var_dir)
    shutil.rmtree(uploads / token, ignore_errors=True)
    for suffix in (".json", ".claimed"):
        (uploads / f"{token}{suffix}").unlink(missing_ok=True)


def remove_landed(datasets_dir: Path, token: str, landed: Path | None) -> None:
    """After a failed import, remove the folder if it already moved (found by its token mark)."""
    if landed is not None:
        shutil.rmtree(landed, ignore_errors=True)
        return
    if datasets_dir.is_dir():
        for folder in datasets_dir.iterdir():
            mark = folder / MARK
            if mark.is_file() and mark.read_text(encoding="utf-8") == token:
                shutil.rmtree(folder, ignore_errors=True)


# ---- preview --------------------------------------------------------------------------------------


def _first_rows(path: Path, limit: int) -> tuple[list[str], list[list[str]]]:
    """The header and the first ``limit`` rows of a checked CSV or Excel file, as written."""
    rows = first_rows(path, limit + 1)
    return (rows[0], rows[1:]) if rows else ([], [])


def preview(var_dir: Path, token: str, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Per table of a staged upload: file, row count and the first rows; ``settlement.toml`` as text."""
    folder = uploads_dir(var_dir) / token
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
