"""Insurance datasets in the web app (参合数据集): import persons, institutions and claims.

An insurance dataset is a checked set of ``persons``, ``institutions`` and optionally ``claims``
(the batch contract of ``shidian insurance reimburse``, read by ``shidian.insurance.io``), under
a reference policy whose year is the dataset's year. It lands whole or not at all: the files go
to ``var/datasets/<id>/`` (as DRG datasets do, ``datasets.domain = "insurance"``) and the persons
and institutions the discharge desk looks up go into ``insurance_persons`` and
``insurance_institutions`` in the same transaction. The desk uses the latest dataset of a year.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from shidian.insurance.io import read_inputs
from shidian.insurance.policy import POLICIES, InsurancePolicy
from shidian.insurance.validate import validate_inputs
from shidian.platform.clock import now
from shidian.platform.db.insurance_schema import insurance_institutions, insurance_persons
from shidian.platform.db.schema import datasets
from shidian.platform.files import dataset_dir
from shidian.problems import Problem, Source, has_errors
from shidian.web.drg_runs import new_id

DOMAIN = "insurance"
INPUT_NAMES = ("persons", "institutions", "claims", "villages", "prior_year", "contributions")
#: What an empty claims table looks like when a dataset brings persons and institutions only.
EMPTY_CLAIMS = "claim_id,person_id,institution_id,kind,start_date,end_date,total_cost,self_pay\n"
_BATCH = 5000


def insurance_policy(policy_id: str) -> InsurancePolicy:
    """A shipped insurance policy by id, parsed once per process (policies never change)."""
    return POLICIES.named(policy_id)


def check_insurance_files(
    files: Iterable[tuple[str, bytes]], policy_id: str
) -> tuple[Path, list[Problem], dict[str, Any] | None]:
    """Stage uploaded files and check them as an insurance dataset under ``policy_id``.

    Returns the staging folder (the caller commits or removes it), every problem, and the
    manifest when there is no error (warnings travel in ``manifest["warnings"]``).
    """
    staging = Path(tempfile.mkdtemp(prefix="shidian-insurance-"))
    for name, content in files:
        (staging / Path(name).name).write_bytes(content)
    try:
        policy = insurance_policy(policy_id)
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
    dataset_id = new_id()
    conn.execute(
        datasets.insert().values(
            id=dataset_id,
            domain=DOMAIN,
            name=name,
            year=int(manifest["year"]),
            uploaded_by=user_id,
            uploaded_at=now(),
            manifest=manifest,
        )
    )
    persons = inputs.persons.select(["person_id", "category", "insured", "village_code"]).to_pylist()
    for start in range(0, len(persons), _BATCH):
        conn.execute(
            insurance_persons.insert(),
            [{"dataset_id": dataset_id, **row} for row in persons[start : start + _BATCH]],
        )
    institutions = inputs.institutions.select(
        ["institution_id", "name", "level", "designated", "in_county"]
    ).to_pylist()
    if institutions:
        conn.execute(insurance_institutions.insert(), [{"dataset_id": dataset_id, **r} for r in institutions])
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
    """Check and commit in one step: (dataset id, warnings), or (None, problems) and nothing."""
    staging, problems, manifest = check_insurance_files(files, policy_id)
    if manifest is None:
        shutil.rmtree(staging, ignore_errors=True)
        return None, problems
    try:
        return commit_insurance_dataset(conn, var_dir, staging, manifest, name, user_id), problems
    except Exception:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def list_insurance_datasets(conn: sa.Connection) -> list[dict[str, Any]]:
    query = sa.select(datasets).where(datasets.c.domain == DOMAIN).order_by(datasets.c.uploaded_at.desc())
    return [dict(r) for r in conn.execute(query).mappings()]
