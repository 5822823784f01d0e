"""Importing a DRG dataset (数据导入): check, preview, land — whole or not at all.

``check_upload`` validates the uploaded files and answers with every problem (file, row, column,
reason) and keeps nothing, or keeps the checked files for a preview; ``import_dataset`` lands
them once the officer confirms: the dataset's folder and its row together, or neither.
``import_uploads`` does both in one step (the API), ``import_folder`` imports a folder (demo).
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from shidian.drg import store, uploads
from shidian.drg.events import DatasetImported, ImportChecked
from shidian.platform import clock, jobs
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


Step = Callable[[str], None]


def _check(
    files: Sequence[Upload], var_dir: Path, step: Step
) -> tuple[Path | None, list[Problem], dict[str, Any] | None]:
    """Validate the uploads: (staging folder, [], manifest), or (None, every problem, None)."""
    accepted, problems = uploads.accepted_files((f.filename, f.size) for f in files)
    if not accepted:
        return None, problems, None
    step(f"读取并校验 {len(accepted)} 个文件 (checking the files)")
    staging, found, manifest = uploads.check_files(
        ((name, files[index].read()) for index, name in accepted), staging_root(var_dir)
    )
    problems += found
    if problems or manifest is None:
        shutil.rmtree(staging, ignore_errors=True)
        return None, problems, None
    return staging, [], manifest


def _stage(var_dir: Path, staging: Path, manifest: dict[str, Any], name: str, user: User, step: Step) -> str:
    """Keep checked files for confirmation (the staging folder is removed if cancelled first)."""
    try:
        step("暂存已校验的文件 (keeping the checked files)")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return uploads.stage(var_dir, staging, manifest, name, user.id)


def _job(engine: sa.Engine, user: User, target: str | None = None) -> tuple[str, Step]:
    """A started import job (lane ``imports``: one import at a time across every server process,
    else 409 ``job.busy``) and the function that records its stages."""
    job_id = jobs.started(engine, "drg.import", target, user.id)
    return job_id, functools.partial(jobs.step, engine, job_id)


def check_upload(
    engine: sa.Engine,
    user: User,
    var_dir: Path,
    files: Sequence[Upload],
    name: str,
    client: Client | None = None,
) -> tuple[Checked | None, list[Problem]]:
    """Check uploaded files, as an import job: kept for confirmation with a preview, or every
    problem."""
    require_permission(user, "drg.import")
    job_id, step = _job(engine, user)
    with jobs.running(engine, job_id):
        staging, problems, manifest = _check(files, var_dir, step)
        checked = None
        if staging is not None and manifest is not None:
            token = _stage(var_dir, staging, manifest, name.strip(), user, step)
            checked = Checked(token, manifest, uploads.preview(var_dir, token, manifest))
        files_kept = sorted((manifest or {}).get("files", {}))
        event = ImportChecked(
            target=checked.token if checked else None,
            ok=not problems,
            problems=len(problems),
            files=files_kept,
        )
        with engine.begin() as conn:
            log(conn, event, user, client)
    return checked, problems


def import_running(conn: sa.Connection, user: User) -> dict[str, object] | None:
    """The import running now in any server process (DRG, insurance or registry: they share
    the lane ``imports``): its kind, stage and start, for the import page; or None."""
    require_permission(user, "drg.import")
    return jobs.running_job(conn, "imports")


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


def _import_staged(
    engine: sa.Engine, user: User, var_dir: Path, token: str, client: Client | None, step: Step
) -> dict[str, Any]:
    """Land a staged upload: the folder moves into ``datasets/`` (still marked with its token)
    and the row is inserted in one transaction; the mark is removed once that committed. On any
    error the folder is removed and nothing is kept; a process killed in between leaves a marked
    folder that ``recover_imports`` removes at the next start-up."""
    meta = uploads.claim(var_dir, token, user.id)
    if meta is None:
        raise refusal("not_found", "not_found", "上传已失效, 请重新上传 (unknown or expired upload)")
    staging = uploads.uploads_dir(var_dir) / token
    try:
        step("登记数据集 (recording the dataset)")
        with engine.begin() as conn:
            name = meta["name"] or _default_name(meta["manifest"])
            dataset_id = _land(conn, user, var_dir, staging, meta["manifest"], name, client)
    except BaseException:
        uploads.remove_landed(var_dir / "datasets", token, None)
        uploads.discard(var_dir, token)
        raise
    (dataset_dir(var_dir, dataset_id) / uploads.MARK).unlink(missing_ok=True)
    uploads.discard(var_dir, token)
    with engine.connect() as conn:
        dataset = store.get_dataset(conn, dataset_id)
    assert dataset is not None
    return dataset


def import_dataset(
    engine: sa.Engine, user: User, var_dir: Path, token: str, client: Client | None = None
) -> dict[str, Any]:
    """Land checked files as a dataset (once, by their uploader, in time), as an import job;
    returns its row. The folder and the row land together, or neither."""
    require_permission(user, "drg.import")
    job_id, step = _job(engine, user, token if uploads.TOKEN.match(token) else None)
    with jobs.running(engine, job_id):
        return _import_staged(engine, user, var_dir, token, client, step)


def import_uploads(
    engine: sa.Engine,
    user: User,
    var_dir: Path,
    files: Sequence[Upload],
    name: str,
    client: Client | None = None,
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Check and import uploaded files in one step, as one import job: (the dataset's row, [])
    or (None, every problem), the refusal audited."""
    require_permission(user, "drg.import")
    job_id, step = _job(engine, user)
    with jobs.running(engine, job_id):
        staging, problems, manifest = _check(files, var_dir, step)
        if staging is None or manifest is None:
            with engine.begin() as conn:
                log(conn, ImportChecked(ok=False, problems=len(problems), files=[]), user, client)
            return None, problems
        token = _stage(var_dir, staging, manifest, name.strip() or _default_name(manifest), user, step)
        return _import_staged(engine, user, var_dir, token, client, step), []


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


def recover_imports(conn: sa.Connection, var_dir: Path) -> int:
    """At start-up, before any worker exists (``shidian serve``, after ``fail_interrupted_runs``
    failed the import jobs a stopped server left): remove the folders an interrupted import had
    moved into ``datasets/`` without its row (still marked with their upload's token), and that
    upload; a marked folder whose row committed only loses its mark. Returns how many were removed."""
    root = var_dir / "datasets"
    if not root.is_dir():
        return 0
    removed = 0
    for folder in sorted(root.iterdir()):
        mark = folder / uploads.MARK
        if not mark.is_file():
            continue
        if store.get_dataset(conn, folder.name) is not None:
            mark.unlink(missing_ok=True)
            continue
        token = mark.read_text(encoding="utf-8").strip()
        shutil.rmtree(folder, ignore_errors=True)
        if uploads.TOKEN.match(token):
            uploads.discard(var_dir, token)
        removed += 1
    return removed
