"""A run's result files (结算结果文件), read for pages and API: DuckDB over the folder, cached.

A run folder never changes once written (PRODUCT.md principle 4), so every small result —
the run record, monthly and annual rows, the case mix per hospital, warnings, hospital names,
DRG standards, the policy — is computed once per process and kept in memory, keyed by the
folder. Python touches at most one row per month or hospital. A hospital's cases are
``shidian.drg.results.cases``.

The models (``shidian.drg.results.models``) are the typed results: pages render them and the
API returns them, decimals as strings, never floats.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import asdict
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from shidian import duck
from shidian.drg.caps import near_caps
from shidian.drg.policy import POLICIES, DrgPolicy
from shidian.drg.results.models import (
    CaseMix,
    HospitalYear,
    MonthRow,
    NearCap,
    PaymentRow,
    RunFilesSummary,
    RunWarning,
    SchemeRow,
)
from shidian.drg.run_files import CASE_POINTS_PARQUET, RunReference, read_run_record, read_run_reference
from shidian.money import MONEY_SQL_TYPE, ZERO, D, div_round
from shidian.platform.files import sql_path

P = ParamSpec("P")
R = TypeVar("R")

#: One in-memory DuckDB database per process; each query runs on its own cursor. Parquet
#: footers are cached (run files never change once written). One thread a query: a page's
#: query reads one hospital's row groups, and the server's parallelism is its concurrent
#: requests and processes — a query spreading over every core stalls the other requests.
_DATABASE = duck.connect(threads=1)
_DATABASE.execute("SET GLOBAL parquet_metadata_cache = true")
_CURSOR_LOCK = threading.Lock()


def once_per_key(maxsize: int) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """``lru_cache`` whose misses are computed once: concurrent requests for a run that is not
    cached yet wait for the first one instead of each reading the files (a cold run under load
    would otherwise be read by every worker thread at once)."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        cached = lru_cache(maxsize=maxsize)(function)
        lock = threading.RLock()

        @functools.wraps(function)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            with lock:
                return cached(*args, **kwargs)  # type: ignore[arg-type]

        return wrapper

    return decorate


def query(sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    """One DuckDB query on a cursor of the process's in-memory database (cheap to open)."""
    with _CURSOR_LOCK:
        cursor = _DATABASE.cursor()
    try:
        result = cursor.execute(sql, params or [])
        names = [d[0] for d in result.description]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]
    finally:
        cursor.close()


def _csv(path: Path) -> str:
    """A run's CSV as text columns: amounts stay exact strings until ``D`` reads them."""
    return f"read_csv({sql_path(path)}, all_varchar=true, header=true)"


def parquet_source(run: Path) -> str:
    return f"read_parquet({sql_path(run / CASE_POINTS_PARQUET)})"


def dec_or_none(value: Any) -> Decimal | None:
    return None if value is None or value == "" else D(value)


def as_int(value: Any) -> int:
    return int(str(value))


# ---- per-run cached reads ----------------------------------------------------------------


@once_per_key(maxsize=16)
def drg_policy(policy_id: str) -> DrgPolicy | None:
    """A shipped DRG policy by id (a run names the policy it was settled under); None if unknown."""
    if policy_id not in POLICIES.names():
        return None
    return POLICIES.named(policy_id)


@once_per_key(maxsize=64)
def run_record(run: Path) -> dict[str, Any]:
    return read_run_record(run)


@once_per_key(maxsize=64)
def run_reference(run: Path) -> RunReference:
    return read_run_reference(run)


@once_per_key(maxsize=64)
def hospital_names(dataset: Path) -> dict[str, str]:
    """Hospital id → name from the dataset's hospitals table (CSV or Excel, any header)."""
    from shidian.drg.io import HOSPITALS
    from shidian.tables import find_table, read_table

    path = find_table(dataset, HOSPITALS.name) if dataset.is_dir() else None
    if path is None:
        return {}
    table, _ = read_table(path, HOSPITALS)
    if table is None:
        return {}
    ids, names = table.column("hospital_id").to_pylist(), table.column("name").to_pylist()
    return dict(zip(ids, names, strict=True))


@once_per_key(maxsize=16)
def run_files_summary(run: Path, dataset: Path) -> RunFilesSummary:
    """Totals, months, hospitals' year rows, case mix and warnings of a run (read once)."""
    record = run_record(run)
    names = hospital_names(dataset)
    months = [
        MonthRow(
            month=as_int(r["month"]),
            budget=D(r["budget"]),
            total_points=D(r["total_points"]),
            non_fund=D(r["non_fund"]),
            point_value=D(r["point_value"]),
            scheme=r.get("scheme") or None,
        )
        for r in query(f"SELECT * FROM {_csv(run / 'monthly.csv')} ORDER BY month::INTEGER")
    ]
    months.sort(key=lambda m: (m.scheme or "", m.month))  # each scheme's year (第六条), in order
    hospitals = [_hospital_year(r, names) for r in query(f"SELECT * FROM {_csv(run / 'annual.csv')}")]
    mix_rows = query(
        f"""SELECT hospital_id, count(*) AS cases,
                   count(*) FILTER (WHERE category = 'normal') AS normal,
                   count(*) FILTER (WHERE category = 'high') AS high,
                   count(*) FILTER (WHERE category = 'low') AS low,
                   count(*) FILTER (WHERE category = 'whole_group') AS whole_group
            FROM {parquet_source(run)} GROUP BY hospital_id ORDER BY hospital_id"""
    )
    case_mix = [_case_mix(r, names) for r in mix_rows]
    warnings = [
        RunWarning(code=r["code"], where=r["where"] or "", message=r["message"] or "")
        for r in query(f"SELECT * FROM {_csv(run / 'warnings.csv')}")
    ]
    return RunFilesSummary(
        totals={k: str(v) for k, v in record["totals"].items()},
        policy={k: str(v) for k, v in record["policy"].items()},
        months=months,
        hospitals=hospitals,
        case_mix=case_mix,
        warnings=warnings,
    )


def _hospital_year(r: dict[str, Any], names: dict[str, str]) -> HospitalYear:
    values: dict[str, Any] = {
        k: dec_or_none(r.get(k))
        for k in HospitalYear.model_fields
        if k not in ("hospital_id", "name", "cases")
    }
    values["cases"] = as_int(r["cases"])
    for key in ("audit_deductions", "deducted_points"):
        values[key] = values[key] or ZERO
    hid = str(r["hospital_id"])
    return HospitalYear(hospital_id=hid, name=names.get(hid, hid), **values)


def _pct(part: int, whole: int) -> Decimal:
    return div_round(D(part * 100), D(whole), 2) if whole else ZERO


def _case_mix(r: dict[str, Any], names: dict[str, str]) -> CaseMix:
    cases = int(r["cases"])
    return CaseMix(
        hospital_id=r["hospital_id"],
        name=names.get(r["hospital_id"], r["hospital_id"]),
        cases=cases,
        normal=int(r["normal"]),
        high=int(r["high"]),
        low=int(r["low"]),
        whole_group=int(r["whole_group"]),
        high_pct=_pct(int(r["high"]), cases),
        low_pct=_pct(int(r["low"]), cases),
        whole_group_pct=_pct(int(r["whole_group"]), cases),
    )


@once_per_key(maxsize=16)
def run_near_caps(run: Path, dataset: Path, policy_id: str) -> list[NearCap]:
    """``shidian.drg.caps.near_caps`` of a run under its policy (none when the policy is not shipped)."""
    policy = drg_policy(policy_id)
    if policy is None:
        return []
    return [NearCap(**asdict(n)) for n in near_caps(run_files_summary(run, dataset).hospitals, policy)]


@lru_cache(maxsize=512)
def payments(run: Path, hospital_id: str) -> list[PaymentRow]:
    """The hospital's twelve months of monthly_payments.csv."""
    rows = query(
        f"SELECT * FROM {_csv(run / 'monthly_payments.csv')} WHERE hospital_id = ? ORDER BY month::INTEGER",
        [hospital_id],
    )
    keys = [k for k in PaymentRow.model_fields if k not in ("month", "cases", "scheme")]
    found = [
        PaymentRow(
            month=as_int(r["month"]),
            cases=as_int(r["cases"]),
            scheme=r.get("scheme") or None,
            **{k: D(r[k]) for k in keys if k in r},
        )
        for r in rows
    ]
    return sorted(found, key=lambda p: (p.month, p.scheme or ""))


@lru_cache(maxsize=512)
def scheme_rows(run: Path, hospital_id: str) -> list[SchemeRow]:
    """The hospital's rows of scheme_payments.csv (000 篇6 第六条), none when the cases carry no scheme."""
    path = run / "scheme_payments.csv"
    if not path.exists():
        return []
    rows = query(f"SELECT * FROM {_csv(path)} WHERE hospital_id = ? ORDER BY scheme", [hospital_id])
    return [
        SchemeRow(
            scheme=str(r["scheme"]),
            cases=as_int(r["cases"]),
            year_point_value=dec_or_none(r.get("year_point_value")),
            **{
                k: D(r[k]) for k in SchemeRow.model_fields if k not in ("scheme", "cases", "year_point_value")
            },
        )
        for r in rows
    ]


def compare_annual(run_a: Path, run_b: Path, datasets: list[Path]) -> list[dict[str, Any]]:
    """Per hospital: entitlement and settlement of runs A and B, and B − A (exact decimals),
    with the hospital's name from the runs' datasets (blank when neither names it)."""
    side = (
        "SELECT hospital_id, CAST(entitlement AS {t}) AS e, CAST(settlement AS {t}) AS s "
        "FROM read_csv({path}, header = true, all_varchar = true)"
    )
    a, b = (side.format(t=MONEY_SQL_TYPE, path=sql_path(run / "annual.csv")) for run in (run_a, run_b))
    rows = query(
        f"""
        WITH a AS ({a}), b AS ({b})
        SELECT coalesce(a.hospital_id, b.hospital_id) AS hospital_id,
               a.e AS entitlement_a, b.e AS entitlement_b, b.e - a.e AS entitlement_diff,
               a.s AS settlement_a, b.s AS settlement_b, b.s - a.s AS settlement_diff
        FROM a FULL OUTER JOIN b ON a.hospital_id = b.hospital_id
        ORDER BY 1
        """
    )
    names: dict[str, str] = {}
    for dataset in datasets:
        names.update(hospital_names(dataset))
    for row in rows:
        row["name"] = names.get(row["hospital_id"], "")
    return rows
