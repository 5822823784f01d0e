"""Importing a DRG dataset (数据导入): check, preview, land — whole or not at all.

``check_upload`` validates the uploaded files and answers with every problem (file, row, column,
reason) and keeps nothing, or keeps the checked files for a preview; ``import_dataset`` lands
them once the officer confirms: the dataset's folder and its row together, or neither.
``import_uploads`` does both in one step (the API), ``import_folder`` imports a folder (demo).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from shidian.drg import store, uploads
from shidian.drg.events import DatasetImported, ImportChecked
from shidian.platform import clock
from shidian.platform.access import require_permission
from shidian.platform.accounts import User
from shidian.platform.audit import Client, log
from shidian.platform.files import dataset_dir, new_id, staging_root
from shidian.problems import Problem, refusal


@dataclass(frozen=True)
class Upload:
    """One uploaded file: its name as sent, its size (0 when unknown) and how to read it."""

    filename: str
    size: int
    read: Callable[[], bytes]


@dataclass(frozen=True)
class Checked:
    """Checked files waiting for confirmation under ``token``, with their manifest and preview."""

    token: str
    manifest: dict[str, Any]
    tables: list[dict[str, Any]]


def _check(
    files: Sequence[Upload], var_dir: Path
) -> tuple[Path | None, list[Problem], dict[str, Any] | None]:
    """Validate the uploads: (staging folder, [], manifest), or (None, every problem, None)."""
    accepted, problems = uploads.accepted_files((f.filename, f.size) for f in files)
    if not accepted:
        return None, problems, None
    staging, found, manifest = uploads.check_files(
        ((name, files[index].read()) for index, name in accepted), staging_root(var_dir)
    )
    problems += found
    if problems or manifest is None:
        shutil.rmtree(staging, ignore_errors=True)
        return None, problems, None
    return staging, [], manifest


def check_upload(
    conn: sa.Connection,
    user: User,
    var_dir: Path,
    files: Sequence[Upload],
    name: str,
    client: Client | None = None,
) -> tuple[Checked | None, list[Problem]]:
    """Check uploaded files: kept for confirmation with a preview, or every problem."""
    require_permission(user, "drg.import")
    staging, problems, manifest = _check(files, var_dir)
    checked = None
    if staging is not None and manifest is not None:
        token = uploads.stage(var_dir, staging, manifest, name.strip(), user.id)
        checked = Checked(token, manifest, uploads.preview(var_dir, token, manifest))
    files_kept = sorted((manifest or {}).get("files", {}))
    event = ImportChecked(
        target=checked.token if checked else None, ok=not problems, problems=len(problems), files=files_kept
    )
    log(conn, event, user, client)
    return checked, problems


def _default_name(manifest: dict[str, Any]) -> str:
    return f"DRG {manifest['year']} · {clock.local(clock.now()):%Y-%m-%d %H:%M}"


def _land(
    conn: sa.Connection,
    user: User,
    var_dir: Path,
    folder: Path,
    manifest: dict[str, Any],
    name: str,
    client: Client | None,
) -> str:
    """Move ``folder`` into ``datasets/`` and insert its row, with the audit record."""
    dataset_id = new_id()
    target = dataset_dir(var_dir, dataset_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(folder), str(target))
    try:
        store.insert_dataset(conn, dataset_id, name, manifest, user.id)
        event = DatasetImported(target=dataset_id, name=name, year=manifest["year"], cases=manifest["cases"])
        log(conn, event, user, client)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return dataset_id


def import_dataset(
    conn: sa.Connection, user: User, var_dir: Path, token: str, client: Client | None = None
) -> dict[str, Any]:
    """Land checked files as a dataset (once, by their uploader, in time); returns its row.

    The folder moves and the row is inserted in the caller's transaction: on any error the
    folder is removed and nothing is kept (the caller's transaction rolls the row back).
    """
    require_permission(user, "drg.import")
    meta = uploads.claim(var_dir, token, user.id)
    if meta is None:
        raise refusal("not_found", "not_found", "上传已失效, 请重新上传 (unknown or expired upload)")
    staging = uploads.uploads_dir(var_dir) / token
    try:
        dataset_id = _land(
            conn,
            user,
            var_dir,
            staging,
            meta["manifest"],
            meta["name"] or _default_name(meta["manifest"]),
            client,
        )
    except BaseException:
        uploads.remove_landed(var_dir / "datasets", token, None)
        uploads.discard(var_dir, token)
        raise
    (dataset_dir(var_dir, dataset_id) / uploads.MARK).unlink(missing_ok=True)
    uploads.discard(var_dir, token)
    dataset = store.get_dataset(conn, dataset_id)
    assert dataset is not None
    return dataset


def import_uploads(
    conn: sa.Connection,
    user: User,
    var_dir: Path,
    files: Sequence[Upload],
    name: str,
    client: Client | None = None,
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Check and import uploaded files in one step: (the dataset's row, []) or (None, every
    problem), the refusal audited."""
    require_permission(user, "drg.import")
    staging, problems, manifest = _check(files, var_dir)
    if staging is None or manifest is None:
        log(conn, ImportChecked(ok=False, problems=len(problems), files=[]), user, client)
        return None, problems
    token = uploads.stage(var_dir, staging, manifest, name.strip() or _default_name(manifest), user.id)
    return import_dataset(conn, user, var_dir, token, client), []


def import_folder(
    conn: sa.Connection, user: User, var_dir: Path, data_dir: Path, name: str, client: Client | None = None
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Import the input files of a folder (the demo's data): (dataset row, []) or (None, problems).

    ``{year}`` in ``name`` is replaced by the dataset's year.
    """
    require_permission(user, "drg.import")
    staging, problems, manifest = uploads.check_files(
        ((p.name, p.read_bytes()) for p in sorted(data_dir.iterdir()) if p.is_file()), staging_root(var_dir)
    )
    if manifest is None:
        shutil.rmtree(staging, ignore_errors=True)
        return None, problems
    try:
        named = name.replace("{year}", str(manifest["year"]))
        dataset_id = _land(conn, user, var_dir, staging, manifest, named, client)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return store.get_dataset(conn, dataset_id), []
