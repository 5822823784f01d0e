"""A county-year batch from files to files (年度补偿结算): read → reimburse → write, all or nothing.

The one course both doors take: ``shidian insurance reimburse DATA_DIR --out OUT_DIR`` and a
run in the web app (a dataset's folder, with the claims paid at the discharge desk added, into
``var/runs/<id>/``). Nothing is written unless the inputs have no error and every self-check
(自检) passes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from shidian.dialect import EngineName, SparkEngine, SparkSettingsError, spark_session
from shidian.insurance.batch import reimburse
from shidian.insurance.io import read_inputs, write_outputs
from shidian.insurance.model import CLAIM_DEFAULTS, CLAIMS_SCHEMA, InsuranceInputs, ReimbursementResult
from shidian.insurance.policy import InsurancePolicy
from shidian.problems import Problem, Source

#: The desk's claims among a run's inputs (``run.json``), beside the dataset's files.
DESK_INPUT = "insurance_desk_claims"


@dataclass(frozen=True)
class DeskClaims:
    """Claims paid at the discharge desk: each request as recorded, and what the desk paid."""

    requests: list[dict[str, Any]]
    paid: list[str]


@dataclass(frozen=True)
class BatchOutcome:
    """The result (None: the inputs have errors, in ``problems``) and the run record written
    (None: nothing written, also when a self-check failed: ``result.ok`` is False)."""

    result: ReimbursementResult | None
    problems: list[Problem]
    record: dict[str, Any] | None


def reimburse_files(
    data_dir: Path,
    out_dir: Path,
    policy: InsurancePolicy,
    desk: DeskClaims | None = None,
    progress: Callable[[str], None] | None = None,
    engine: EngineName = "duckdb",
    spark_master: str | None = None,
) -> BatchOutcome:
    """Read DATA_DIR (and ``desk``'s claims), reimburse under ``policy``, write OUT_DIR.

    ``engine``: ``duckdb`` (this machine) or ``spark`` (the claims priced on ``spark_master``,
    else Spark's own configuration; docs/scale.md), the same files either way; a Spark session
    without exact decimals is refused (``insurance.engine.spark_settings``, nothing written).
    A claim id both in the claims file and at the desk raises ValueError (``with_desk_claims``).
    """
    step = progress or (lambda _label: None)
    step("读取输入 reading inputs")
    inputs, problems, manifest = read_inputs(data_dir, policy)
    if inputs is None:
        return BatchOutcome(None, problems, None)
    if desk is not None:
        inputs = with_desk_claims(inputs, desk.requests, desk.paid)
        manifest = {
            **manifest,
            DESK_INPUT: {"rows": len(desk.requests), "source": "即时结算 (discharge desk)"},
        }
    if engine == "spark":
        step("启动 Spark starting Spark")
        try:
            spark = SparkEngine(spark_session(spark_master))
        except SparkSettingsError as exc:
            return BatchOutcome(
                None, [Problem("insurance.engine.spark_settings", str(exc), Source("<spark>"))], None
            )
        try:
            result, problems = reimburse(inputs, policy, progress=step, engine=spark)
        finally:
            spark.close()
    else:
        result, problems = reimburse(inputs, policy, progress=step)
    if result is None or not result.ok:
        return BatchOutcome(result, problems, None)
    step("写出结果 writing outputs")
    record = write_outputs(result, inputs, out_dir, policy=policy, manifest=manifest)
    return BatchOutcome(result, problems, record)


def with_desk_claims(
    inputs: InsuranceInputs, requests: list[dict[str, Any]], paid: list[str]
) -> InsuranceInputs:
    """The inputs with the desk's claims added: each request as recorded, and what the desk paid.

    A recorded request is the claim with its values as text (``desk_claim.canonical``), so
    the columns are cast to ``CLAIMS_SCHEMA`` whole (absent ones take ``CLAIM_DEFAULTS``), and
    ``desk_paid`` is what the desk paid (yuan, as text). A claim of one institution both in the
    dataset's claims file and at the desk is refused (ValueError naming them): it would be
    settled twice. A desk claim id is its institution's own (issue 22 finding 3): one that another
    institution uses too, in the file or at the desk, enters the run as
    ``<institution_id>/<claim_id>`` (``desk_keys``), which no claim id can be.
    """
    if not requests:
        return inputs
    # every key of any request (``from_pylist`` would take the first request's keys only: a
    # request recorded before a field existed would drop that field from all the others)
    recorded = pa.Table.from_struct_array(pa.array(requests))
    own = pc.binary_join_element_wise(recorded.column("institution_id"), recorded.column("claim_id"), "/")
    in_file = pc.binary_join_element_wise(
        inputs.claims.column("institution_id").cast(pa.string()), inputs.claims.column("claim_id"), "/"
    )
    twice = pc.filter(recorded.column("claim_id"), pc.is_in(own, value_set=in_file)).to_pylist()
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
    added = desk_keys(pa.table(columns, schema=CLAIMS_SCHEMA), inputs.claims.column("claim_id"))
    claims = inputs.claims
    if "_row" in claims.column_names:  # the desk's claims have no row in the claims file
        added = added.append_column("_row", pa.nulls(added.num_rows, claims.schema.field("_row").type))
    return dataclasses.replace(inputs, claims=pa.concat_tables([claims, added.select(claims.column_names)]))


def desk_keys(desk: pa.Table, file_ids: pa.ChunkedArray) -> pa.Table:
    """The desk's claims with the key each has in a run: its claim id, or
    ``<institution_id>/<claim_id>`` when the id is shared, by a claim of another institution in
    the claims file or at the desk (a claim id is an institution's own; the run needs one key).
    A ``transfer_of`` naming a claim of the same person that was given such a key follows it
    (the person's first claim of that id in ``desk``'s order: ``paid_requests`` sorts by claim id,
    then institution)."""
    ids = desk.column("claim_id")
    counts = pc.value_counts(ids)
    several = pc.filter(counts.field("values"), pc.greater(counts.field("counts"), 1))
    shared = pc.or_(pc.is_in(ids, value_set=file_ids), pc.is_in(ids, value_set=several))
    if not pc.any(shared).as_py():
        return desk
    qualified = pc.binary_join_element_wise(desk.column("institution_id"), ids, "/")
    keys = pc.if_else(shared, qualified, ids)
    moved = pa.table({"person_id": desk.column("person_id"), "transfer_of": ids, "key": keys}).filter(shared)
    moved = moved.group_by(["person_id", "transfer_of"], use_threads=False).aggregate([("key", "first")])
    rows = pa.table(
        {
            "_i": pa.array(range(desk.num_rows), pa.int64()),
            "person_id": desk.column("person_id"),
            "transfer_of": desk.column("transfer_of"),
        }
    )
    linked = rows.join(moved, ["person_id", "transfer_of"], join_type="left outer").sort_by("_i")
    transfer_of = pc.coalesce(linked.column("key_first"), linked.column("transfer_of"))
    claim = desk.schema.get_field_index("claim_id")
    desk = desk.set_column(claim, desk.schema.field(claim), keys)
    index = desk.schema.get_field_index("transfer_of")
    return desk.set_column(index, desk.schema.field(index), transfer_of.cast(desk.schema.field(index).type))
