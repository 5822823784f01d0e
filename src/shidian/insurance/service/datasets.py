"""Import an insurance dataset (导入参合数据): check the files, land them whole or not at all.

An insurance dataset is a checked set of ``persons``, ``institutions`` and optionally ``claims``
(the batch contract of ``shidian insurance reimburse``, read by ``shidian.insurance.io``), under
a reference policy whose year is the dataset's year. It lands whole or not at all: the files go
to ``var/datasets/<id>/`` and the persons and institutions the discharge desk looks up go into
the database in the same transaction (``store.datasets``).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from shidian.insurance import events
from shidian.insurance.frame import households
from shidian.insurance.io import read_inputs
from shidian.insurance.policy import POLICIES
from shidian.insurance.store import datasets as store
from shidian.insurance.validate import validate_inputs
from shidian.platform import jobs
from shidian.platform.access import can
from shidian.platform.accounts import User
from shidian.platform.audit import Client, log
from shidian.platform.files import dataset_dir, staging_root
from shidian.problems import Problem, Refused, Source, has_errors

INPUT_NAMES = ("persons", "institutions", "claims", "villages", "prior_year", "contributions")
#: What an empty claims table looks like when a dataset brings persons and institutions only.
EMPTY_CLAIMS = "claim_id,person_id,institution_id,kind,start_date,end_date,total_cost,self_pay\n"


def check_insurance_files(
    files: Iterable[tuple[str, bytes]], policy_id: str, staging_root: Path
) -> tuple[Path, list[Problem], dict[str, Any] | None]:
    """Stage uploaded files under ``staging_root`` (``var/staging``: never the system's temporary
    directory) and check them as an insurance dataset under ``policy_id``.

    Returns the staging folder (the caller commits or removes it), every problem, and the
    manifest when there is no error (warnings travel in ``manifest["warnings"]``). On an
    exception the folder is removed before it propagates.
    """
    staging = Path(tempfile.mkdtemp(prefix="shidian-insurance-", dir=staging_root))
    try:
        return _check_staged(staging, files, policy_id)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _check_staged(
    staging: Path, files: Iterable[tuple[str, bytes]], policy_id: str
) -> tuple[Path, list[Problem], dict[str, Any] | None]:
    files = list(files)
    bad = [name for name, _ in files if Path(name).name in ("", ".", "..")]
    if bad:
        message = f"文件名无效: {', '.join(repr(n) for n in bad)} (bad file name)"
        return staging, [Problem("upload.file.bad_name", message, Source("files"))], None
    for name, content in files:
        (staging / Path(name).name).write_bytes(content)
    try:
        policy = POLICIES.named(policy_id)
    except ValueError as exc:
        return staging, [Problem("policy.unknown", str(exc), Source("policy_id"))], None
    if not any(p.stem == "claims" for p in staging.iterdir()):
        (staging / "claims.csv").write_text(EMPTY_CLAIMS, encoding="utf-8")
    inputs, problems, files_manifest = read_inputs(staging, policy)
    if inputs is None:
        return staging, problems, None
    problems = validate_inputs(inputs, policy)
    if has_errors(problems):
        return staging, problems, None
    manifest: dict[str, Any] = {
        "files": files_manifest,
        "year": policy.year,
        "policy_id": policy.name,
        "persons": inputs.persons.num_rows,
        "institutions": inputs.institutions.num_rows,
        "claims": inputs.claims.num_rows,
        "warnings": len(problems),
    }
    return staging, problems, manifest


def commit_insurance_dataset(
    conn: sa.Connection,
    var_dir: Path,
    staging: Path,
    manifest: dict[str, Any],
    name: str,
    user_id: int | None,
) -> str:
    """Land a checked dataset: the dataset row, its persons and institutions, its files."""
    inputs, problems, _ = read_inputs(staging)
    if inputs is None:
        raise ValueError("; ".join(str(p) for p in problems[:5]))
    household, members = households(inputs.persons)  # as the batch counts them (户内共享)
    persons = (
        inputs.persons.select(["person_id", "category", "insured", "village_code"])
        .append_column("household_id", household)
        .append_column("household_members", members)
        .to_pylist()
    )
    institutions = inputs.institutions.select(
        ["institution_id", "name", "level", "designated", "in_county", "place"]
    ).to_pylist()
    dataset_id = store.insert_dataset(conn, name, manifest, persons, institutions, user_id)
    target = dataset_dir(var_dir, dataset_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(staging), str(target))
    return dataset_id


def import_insurance_dataset(
    conn: sa.Connection,
    var_dir: Path,
    files: Iterable[tuple[str, bytes]],
    policy_id: str,
    name: str,
    user_id: int | None,
) -> tuple[str | None, list[Problem]]:
    """Check and commit in one step: (dataset id, warnings), or (None, problems) and nothing.
    Not audited: ``import_dataset`` is the workflow; this is its body (and test fixtures')."""
    staging, problems, manifest = check_insurance_files(files, policy_id, staging_root(var_dir))
    if manifest is None:
        shutil.rmtree(staging, ignore_errors=True)
        return None, problems
    try:
        return commit_insurance_dataset(conn, var_dir, staging, manifest, name, user_id), problems
    except Exception:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def import_dataset(
    engine: sa.Engine,
    user: User,
    var_dir: Path,
    files: list[tuple[str, bytes]],
    policy_id: str,
    name: str,
    client: Client | None = None,
) -> tuple[str | None, list[Problem]]:
    """The import workflow (the web upload): (dataset id, warnings) and an audit record, or
    (None, every problem) and nothing written. Needs ``insurance.import``.

    An import job (``shidian.platform.jobs``, lane ``imports``): one import at a time across the
    server's processes (409 ``job.busy`` otherwise), its stages recorded; the files are checked
    outside any transaction (a county takes seconds) and land with their rows in one transaction
    of their own."""
    if not can(user, "insurance.import"):
        raise Refused("forbidden", [Problem("auth.forbidden", "无权导入 (forbidden)", Source("<request>"))])
    job_id = jobs.started(engine, "insurance.import", None, user.id)
    with jobs.running(engine, job_id):
        jobs.step(engine, job_id, f"读取并校验 {len(files)} 个文件 (checking the files)")
        staging, problems, manifest = check_insurance_files(files, policy_id, staging_root(var_dir))
        if manifest is None:
            shutil.rmtree(staging, ignore_errors=True)
            return None, problems
        try:
            jobs.step(engine, job_id, "登记数据集 (recording the dataset)")
            with engine.begin() as conn:
                dataset_id = commit_insurance_dataset(conn, var_dir, staging, manifest, name, user.id)
                event = events.DatasetImported(target=dataset_id, files=[n for n, _ in files])
                log(conn, event, user, client)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return dataset_id, problems


def list_insurance_datasets(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every insurance dataset, the latest first."""
    return store.list_datasets(conn)
