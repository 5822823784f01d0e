"""A settlement's output folder (结算输出目录), read back: ``run.json`` and one case's explanation.

``shidian drg explain`` and the web pages both explain a case from a run folder; this module
is the one place that knows which rows that takes: the case's row of ``case_points``
(``case_points.parquet`` when the web app wrote one, else ``case_points.csv``), its DRG's row
of ``drg_standards.csv``, its DRG and level's row of ``coefficients.csv`` and the reference
totals of ``run.json``. Every value is read as text, exactly as the files hold it, so the
explanation prints the numbers the run wrote.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from shidian import duck
from shidian.drg.explain import Explanation, explain_case
from shidian.drg.policy import DrgPolicy

RUN_RECORD = "run.json"
CASE_POINTS_PARQUET = "case_points.parquet"
CASE_POINTS_CSV = "case_points.csv"
STANDARDS_CSV = "drg_standards.csv"
COEFFICIENTS_CSV = "coefficients.csv"
MONTHLY_CSV = "monthly.csv"

TextRow = dict[str, str | None]


@dataclass(frozen=True)
class CaseExplanation:
    """One case's rows as written by the run, and the explanation made from them."""

    case: TextRow
    standard: TextRow | None
    coefficient: TextRow | None
    explanation: Explanation


def read_run_record(run_dir: Path) -> dict[str, Any]:
    """``run.json`` of a run folder; FileNotFoundError when the folder is not a run's output."""
    return json.loads((run_dir / RUN_RECORD).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@dataclass(frozen=True)
class RunReference:
    """What any case's explanation needs besides its own row: the DRG standards by code, the
    coefficient rows by (DRG code, level) and the totals of ``run.json``. Small: one row per DRG."""

    standards: Mapping[str, TextRow]
    coefficients: Mapping[tuple[str, str], TextRow]
    totals: Mapping[str, object]
    #: monthly.csv's point values by (scheme, month) as text; scheme "" for the joint value.
    month_values: Mapping[tuple[str, str], str] = field(default_factory=dict)


def _text_rows(path: Path) -> list[TextRow]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [{k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(handle)]


def read_run_reference(run_dir: Path) -> RunReference:
    """``drg_standards.csv``, ``coefficients.csv``, the totals of ``run.json`` and the monthly
    point values of ``monthly.csv`` (one per month, or per scheme and month), as text."""
    standards = {str(r["drg_code"]): r for r in _text_rows(run_dir / STANDARDS_CSV)}
    coefficients = {(str(r["drg_code"]), str(r["level"])): r for r in _text_rows(run_dir / COEFFICIENTS_CSV)}
    months = run_dir / MONTHLY_CSV
    month_values = (
        {(r.get("scheme") or "", str(r["month"])): str(r["point_value"]) for r in _text_rows(months)}
        if months.is_file()
        else {}
    )
    return RunReference(standards, coefficients, read_run_record(run_dir)["totals"], month_values)


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _case_source(run_dir: Path) -> str:
    parquet = run_dir / CASE_POINTS_PARQUET
    if parquet.is_file():
        return f"(SELECT COLUMNS(*)::VARCHAR FROM read_parquet({_literal(parquet)}))"
    return f"read_csv({_literal(run_dir / CASE_POINTS_CSV)}, all_varchar=true)"


def find_case(
    run_dir: Path,
    case_id: str,
    hospital_ids: Collection[str] | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> TextRow | None:
    """The case's row as text; None when the run has no such case among ``hospital_ids``.

    Naming the hospitals lets DuckDB skip the row groups of every other hospital
    (``case_points.parquet`` is sorted by hospital); ``con`` is a connection to use instead
    of a fresh in-memory one.
    """
    if hospital_ids is not None and not hospital_ids:
        return None
    where, params = "case_id = ?", [case_id]
    if hospital_ids is not None:
        ids = sorted(hospital_ids)
        where += f" AND hospital_id IN ({', '.join('?' for _ in ids)})"
        params += ids
    own = con is None
    con = duck.connect() if con is None else con
    try:
        cursor = con.execute(f"SELECT * FROM {_case_source(run_dir)} WHERE {where} LIMIT 1", params)
        row = cursor.fetchone()
        if row is None:
            return None
        return {d[0]: (None if v is None else str(v)) for d, v in zip(cursor.description, row, strict=True)}
    finally:
        if own:
            con.close()


def load_case_explanation(
    run_dir: Path,
    case_id: str,
    policy: DrgPolicy,
    *,
    reference: RunReference | None = None,
    hospital_ids: Collection[str] | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> CaseExplanation | None:
    """Explain case ``case_id`` of the run in ``run_dir``; None when the run has no such case.

    ``reference`` is the run's ``read_run_reference`` (read from the folder when not given,
    callers that explain many cases keep it); ``hospital_ids`` and ``con`` as in ``find_case``.
    """
    case = find_case(run_dir, case_id, hospital_ids, con)
    if case is None:
        return None
    return explain_case_row(case, read_run_reference(run_dir) if reference is None else reference, policy)


def explain_case_row(case: TextRow, reference: RunReference, policy: DrgPolicy) -> CaseExplanation:
    """Explain a case's row (as text) with the run's standards, coefficients and totals."""
    standard = coefficient = None
    if case.get("drg_code"):
        standard = reference.standards.get(str(case["drg_code"]))
        coefficient = reference.coefficients.get((str(case["drg_code"]), str(case["level"])))
    explanation = explain_case(case, standard, coefficient, reference.totals, policy, reference.month_values)
    return CaseExplanation(case, standard, coefficient, explanation)
