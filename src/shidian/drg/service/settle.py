"""The one settlement workflow (结算): read a folder of inputs, settle, check, write all or nothing.

``shidian drg settle`` and a web run (``shidian.drg.service.runs.execute_run``) both call
``settle_folder``: the same inputs and policy give the same files, and whatever stops a run —
a missing folder, a bad policy, bad inputs, a failed self-check (自检) — comes back as Problems,
every one of them, with nothing written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from shidian.dialect import EngineName, SparkEngine, SparkSettingsError, spark_session
from shidian.drg.caps import NearCap, near_caps, year_amounts
from shidian.drg.io import CASE_POINTS_PARQUET, read_inputs, write_outputs
from shidian.drg.model import DrgInputs, SettlementResult
from shidian.drg.policy import POLICIES, DrgPolicy
from shidian.drg.settlement import settle
from shidian.problems import Problem, Source

Progress = Callable[[str], None]

#: The code of a failed self-check (a defect: nothing is written).
CHECK_FAILED = "drg.check.failed"


@dataclass(frozen=True)
class Settled:
    """A settlement written to its folder: the result, the run record (run.json), the policy,
    the hospitals of the inputs and the hospitals at or near the year-end caps."""

    result: SettlementResult
    record: dict[str, Any]
    policy: DrgPolicy
    inputs: DrgInputs
    near_caps: list[NearCap]


def read_parquet_uri(uri: str, spark: SparkEngine | None) -> pa.Table:
    """The Parquet dataset at ``uri`` (a file or a folder of parts) as Arrow: read by Spark
    (its own filesystems and configuration: ``s3a://``, ``hdfs://``) when it runs, else by
    pyarrow (``file://``, ``s3://`` …)."""
    if spark is not None:
        return spark.read_parquet(uri)
    return pq.read_table(uri)


def check_failures(result: SettlementResult) -> list[Problem]:
    """A Problem for every failed self-check of ``result``."""
    return [
        Problem(CHECK_FAILED, f"自检未通过: {c.description}: {c.detail}", Source("<run>", key=c.name))
        for c in result.checks
        if not c.ok
    ]


def settle_folder(
    data_dir: Path,
    out_dir: Path,
    policy: str,
    policy_file: Path | None = None,
    *,
    report_cases: bool | None = False,
    report_cases_limit: int | None = None,
    hospital_books: bool = True,
    parquet: bool = False,
    progress: Progress | None = None,
    engine: EngineName = "duckdb",
    spark_master: str | None = None,
    cases_uri: str | None = None,
) -> tuple[Settled | None, list[Problem]]:
    """Settle the inputs in ``data_dir`` under a policy (a reference policy's name, or
    ``policy_file``) and write every output into ``out_dir`` at once.

    The default outputs (docs/drg-outputs.md): report.xlsx without the cases, a workbook per
    hospital with its statement and cases (``hospital_books``), every case in case_points.csv
    and case_points.parquet. ``report_cases``: also put the cases into report.xlsx, the old
    single workbook (None: when they fit in a sheet); above ``report_cases_limit`` cases they
    are left out (writing a million rows of Excel takes minutes). ``parquet``: also write the
    Arrow copy of case_points.parquet that the web pages map. ``engine``: ``duckdb`` (this
    machine) or ``spark`` (``spark_master``, else Spark's own configuration; docs/scale.md), the
    same files either way. ``cases_uri``: the cases as Parquet at a URI (``file://``, or any
    URI Spark reads on ``engine`` spark: ``s3a://``, ``hdfs://`` …; pyarrow's otherwise),
    instead of a cases file in ``data_dir``. Returns (settled, warnings) or (None, problems).
    """
    step = progress or (lambda _label: None)
    loaded, problems = POLICIES.load(policy, policy_file)
    if loaded is None:
        return None, problems
    if not data_dir.is_dir():
        return None, [Problem("drg.input.missing_dir", f"输入目录不存在: {data_dir}", Source(str(data_dir)))]
    spark = None
    if engine == "spark":
        step("启动 Spark starting Spark")
        try:
            spark = SparkEngine(spark_session(spark_master))
        except SparkSettingsError as exc:
            return None, [Problem("drg.engine.spark_settings", str(exc), Source("<spark>"))]
    try:
        step("读取输入 reading inputs")
        cases = None
        if cases_uri is not None:
            try:
                cases = (cases_uri, read_parquet_uri(cases_uri, spark))
            except Exception as exc:  # Spark and pyarrow raise many types for a missing or foreign dataset
                message = f"无法读取 Parquet (cannot read Parquet): {str(exc).splitlines()[0]}"
                return None, [Problem("table.file.unreadable", message, Source(cases_uri))]
        inputs, problems, manifest = read_inputs(data_dir, cases)
        if inputs is None:
            return None, problems
        result, problems = settle(inputs, loaded, progress=step, engine=spark)
    finally:
        if spark is not None:
            spark.close()
    if result is None:
        return None, problems
    failed = check_failures(result)
    if failed:
        return None, failed
    step("写出结果 writing outputs")
    if report_cases_limit is not None and result.case_points.num_rows > report_cases_limit:
        report_cases = False
    record = write_outputs(
        result,
        out_dir,
        policy=loaded,
        manifest=manifest,
        hospitals=inputs.hospitals,
        report_cases=report_cases,
        hospital_books=hospital_books,
        budget_lines=inputs.params.budget_lines,
    )
    if parquet:  # not in run.json: a copy of case_points.parquet, the web's memory-mapped index
        from shidian.drg.results.cases import CASE_POINTS_ARROW  # the web's reader (pydantic, …)
        from shidian.platform.files import write_case_arrow

        write_case_arrow(pq.read_table(out_dir / CASE_POINTS_PARQUET), out_dir / CASE_POINTS_ARROW)
    names = dict(
        zip(
            inputs.hospitals.column("hospital_id").to_pylist(),
            inputs.hospitals.column("name").to_pylist(),
            strict=True,
        )
    )
    caps = near_caps(year_amounts(result.annual, names), loaded)
    return Settled(result, record, loaded, inputs, caps), list(result.warnings)
