"""Insurance batch runs in the web app (年度补偿结算): reimburse a dataset, read its outputs.

A run prices a dataset's claims with ``shidian.insurance.reimburse`` — the same core as
``shidian insurance reimburse`` — and writes the same files under ``var/runs/<id>/``: the fund
ledger, the monthly statements per institution (Excel), the village notices (Excel and PDF), the
health-check list. Pages read them back; nothing is recomputed for display.

A run also takes the claims paid at the discharge desk against its dataset (not those reversed),
each with ``desk_paid`` = what the desk paid: the monthly settlement then shows what each
institution advanced at its desk, checked again by the batch's rules (004 篇6 三(四)4: 定点医疗机构
每月再与合管办结算; 违反规定的费用不予结算).

A run is computed in the request (a county of tens of thousands of insured takes seconds; a
500,000-person county is better run with the CLI) and recorded, done or failed, in
``insurance_runs``.
"""

from __future__ import annotations

import csv
import dataclasses
import traceback
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from shidian.insurance.batch import reimburse
from shidian.insurance.io import NOTICES_DIR, STATEMENTS_DIR, read_inputs, write_outputs
from shidian.insurance.model import CLAIM_DEFAULTS, CLAIMS_SCHEMA, InsuranceInputs
from shidian.platform.clock import now
from shidian.platform.db.insurance_schema import insurance_desk_claims, insurance_runs
from shidian.platform.db.schema import datasets
from shidian.platform.files import dataset_dir, run_dir
from shidian.web.drg_runs import new_id
from shidian.web.insurance_datasets import DOMAIN, insurance_policy

#: Files a run page offers, and who may download them: officers every one, a hospital its statement.
PUBLIC_FILES = (
    "ledger.xlsx",
    "settlement.csv",
    "claims_out.csv",
    "health_checks.csv",
    "warnings.csv",
    "run.json",
)


def run_insurance_batch(engine: sa.Engine, var_dir: Path, dataset_id: str, user_id: int | None) -> str:
    """Reimburse a dataset under its policy; returns the run id (the run may have failed)."""
    with engine.begin() as conn:
        dataset = (
            conn.execute(sa.select(datasets).where(datasets.c.id == dataset_id, datasets.c.domain == DOMAIN))
            .mappings()
            .first()
        )
        if dataset is None:
            raise ValueError("数据集不存在 (no such insurance dataset)")
        desk = conn.execute(
            sa.select(
                insurance_desk_claims.c.request,
                insurance_desk_claims.c.response["reimbursement"].as_string().label("paid"),
            )
            .where(insurance_desk_claims.c.dataset_id == dataset_id, insurance_desk_claims.c.status == "paid")
            .order_by(insurance_desk_claims.c.claim_id)
        ).all()
        run_id = new_id()
        conn.execute(
            insurance_runs.insert().values(
                id=run_id,
                dataset_id=dataset_id,
                year=dataset["year"],
                policy_id=dataset["manifest"]["policy_id"],
                status="running",
                created_by=user_id,
                created_at=now(),
            )
        )
    try:
        policy = insurance_policy(dataset["manifest"]["policy_id"])
        inputs, problems, manifest = read_inputs(dataset_dir(var_dir, dataset_id))
        if inputs is None:
            raise RuntimeError("; ".join(str(p) for p in problems[:20]))
        inputs = with_desk_claims(inputs, [r.request for r in desk], [r.paid for r in desk])
        manifest = {**manifest, DESK_INPUT: {"rows": len(desk), "source": "即时结算 (discharge desk)"}}
        result, problems = reimburse(inputs, policy)
        if result is None:
            raise RuntimeError("; ".join(str(p) for p in problems[:20]))
        if not result.ok:
            raise RuntimeError("自检未通过: " + ", ".join(c.name for c in result.checks if not c.ok))
        record = write_outputs(result, inputs, run_dir(var_dir, run_id), policy=policy, manifest=manifest)
        values: dict[str, Any] = {
            "status": "done",
            "policy_sha256": policy.source.sha256,
            "totals": {**result.totals, "desk_claims": str(len(desk))},
            "checks": record["checks"],
            "warnings": [{"code": w.code, "message": w.message} for w in result.warnings[:200]],
        }
    except Exception as exc:  # a failed run is recorded, never lost
        values = {"status": "failed", "error": f"{exc}\n{traceback.format_exc()[-2000:]}"}
    with engine.begin() as conn:
        conn.execute(
            insurance_runs.update().where(insurance_runs.c.id == run_id).values(finished_at=now(), **values)
        )
    return run_id


#: The desk's claims among a run's inputs (``run.json``), beside the dataset's files.
DESK_INPUT = "insurance_desk_claims"


def with_desk_claims(
    inputs: InsuranceInputs, requests: list[dict[str, Any]], paid: list[str]
) -> InsuranceInputs:
    """The inputs with the desk's claims added: each request as recorded, and what the desk paid.

    A recorded request is the claim with its values as text (``insurance_desk.canonical``), so
    the columns are cast to ``CLAIMS_SCHEMA`` whole (absent ones take ``CLAIM_DEFAULTS``), and
    ``desk_paid`` is what the desk paid (yuan, as text). A claim id both in the dataset's claims
    file and at the desk is refused (ValueError naming them): it would be settled twice.
    """
    if not requests:
        return inputs
    recorded = pa.Table.from_pylist(requests)
    twice = pc.filter(
        recorded.column("claim_id"),
        pc.is_in(recorded.column("claim_id"), value_set=inputs.claims.column("claim_id")),
    ).to_pylist()
    if twice:
        shown = ", ".join(sorted(twice)[:10]) + (" …" if len(twice) > 10 else "")
        raise ValueError(
            f"就诊编号 {shown} 既在 {inputs.source('claims')} 中, 又已在窗口即时结算, 不能重复结算 "
            "(claim ids both in the claims file and paid at the desk)"
        )
    columns = {}
    for field in CLAIMS_SCHEMA:
        if field.name == "desk_paid":
            column = pa.array(paid, pa.string()).cast(field.type)
        elif field.name in recorded.column_names:
            column = recorded.column(field.name).cast(field.type)
        else:
            column = pa.nulls(recorded.num_rows, field.type)
        default = CLAIM_DEFAULTS.get(field.name)
        columns[field.name] = (
            column if default is None else pc.fill_null(column, pa.scalar(default, field.type))
        )
    added = pa.table(columns, schema=CLAIMS_SCHEMA)
    claims = inputs.claims
    if "_row" in claims.column_names:  # the desk's claims have no row in the claims file
        added = added.append_column("_row", pa.nulls(added.num_rows, claims.schema.field("_row").type))
    return dataclasses.replace(inputs, claims=pa.concat_tables([claims, added.select(claims.column_names)]))


def get_insurance_run(conn: sa.Connection, run_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(insurance_runs).where(insurance_runs.c.id == run_id)).mappings().first()
    return None if row is None else dict(row)


def list_insurance_runs(conn: sa.Connection) -> list[dict[str, Any]]:
    query = sa.select(insurance_runs).order_by(insurance_runs.c.created_at.desc())
    return [dict(r) for r in conn.execute(query).mappings()]


def read_csv(path: Path, limit: int | None = None) -> list[dict[str, str]]:
    """Rows of an output CSV (UTF-8) as text, at most ``limit``."""
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        rows = []
        for i, row in enumerate(csv.DictReader(handle)):
            if limit is not None and i >= limit:
                break
            rows.append(row)
        return rows


def count_rows(path: Path) -> int:
    if not path.is_file():
        return 0
    with path.open(encoding="utf-8") as handle:
        return max(0, sum(1 for _ in handle) - 1)


def run_file(var_dir: Path, run_id: str, name: str) -> Path | None:
    """A run's output file by its relative name (``statements/I00004.xlsx``), or None."""
    folder = run_dir(var_dir, run_id)
    parts = name.split("/")
    allowed = (len(parts) == 1 and parts[0] in PUBLIC_FILES) or (
        len(parts) == 2 and parts[0] in (STATEMENTS_DIR, NOTICES_DIR) and parts[1].endswith((".xlsx", ".pdf"))
    )
    if not allowed or any(p in ("", ".", "..") or "\\" in p for p in parts):
        return None
    path = folder.joinpath(*parts)
    return path if path.is_file() and path.resolve().is_relative_to(folder.resolve()) else None


def statement_files(var_dir: Path, run_id: str) -> list[str]:
    folder = run_dir(var_dir, run_id) / STATEMENTS_DIR
    return sorted(p.stem for p in folder.glob("*.xlsx")) if folder.is_dir() else []


def notice_files(var_dir: Path, run_id: str) -> list[str]:
    folder = run_dir(var_dir, run_id) / NOTICES_DIR
    return sorted(p.stem for p in folder.glob("*.xlsx")) if folder.is_dir() else []
