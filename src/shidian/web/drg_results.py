"""Settlement results for pages and API (结算结果查询): DuckDB over a run's files, cached per run.

A run folder never changes once written (PRODUCT.md principle 4), so every small result —
the run record, monthly and annual rows, the case mix per hospital, warnings, hospital names,
DRG standards, the case index, the policy — is computed once per process and kept in memory,
keyed by the folder. A hospital's case list is one query over ``case_points.parquet`` with the
filters pushed down: the file is sorted by hospital, so DuckDB reads only that hospital's row
groups. Python touches at most the 50 rows of a page, or one row per month or hospital.

The models are the typed results: pages render them and the API returns them, decimals as
strings (pydantic writes ``Decimal`` as a JSON string), never floats.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa
from fastapi import HTTPException

from shidian.drg.model import CATEGORIES, CATEGORY_LABELS
from shidian.drg.policy import POLICIES, DrgPolicy
from shidian.drg.run_files import (
    CASE_POINTS_PARQUET,
    CaseExplanation,
    RunReference,
    explain_case_row,
    read_run_record,
    read_run_reference,
)
from shidian.money import ZERO, D, div_round
from shidian.platform.access import can
from shidian.platform.accounts import User
from shidian.platform.files import dataset_dir, run_dir, write_case_arrow
from shidian.web.access_runs import visible_run
from shidian.web.drg_models import (
    CaseFilters,
    CaseMix,
    CasePage,
    CaseRow,
    HospitalYear,
    MonthRow,
    NearCap,
    PaymentRow,
    RunFilesSummary,
    RunWarning,
)
from shidian.web.drg_runs import list_runs

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
#: "near the caps" (000 篇6 第十九条(三)): within this share of total cost of the self-pay cap …
NEAR_SELF_PAY_MARGIN = Decimal("0.01")
#: … or a surplus of at least this fraction of the surplus cap.
NEAR_SURPLUS_FRACTION = Decimal("0.9")

P = ParamSpec("P")
R = TypeVar("R")

#: One in-memory DuckDB database per process; each query runs on its own cursor. Parquet
#: footers are cached (run files never change once written). One thread a query: a page's
#: query reads one hospital's row groups, and the server's parallelism is its concurrent
#: requests and processes — a query spreading over every core stalls the other requests.
_DATABASE = duckdb.connect(":memory:", config={"threads": 1})
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


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _csv(path: Path) -> str:
    """A run's CSV as text columns: amounts stay exact strings until ``D`` reads them."""
    return f"read_csv({_literal(path)}, all_varchar=true, header=true)"


def _parquet(run: Path) -> str:
    return f"read_parquet({_literal(run / CASE_POINTS_PARQUET)})"


def _dec(value: Any) -> Decimal | None:
    return None if value is None or value == "" else D(value)


def _int(value: Any) -> int:
    return int(str(value))


def _plain(value: Decimal) -> Decimal:
    """``10.00`` → ``10``, ``0.50`` → ``0.5`` (never ``1E+1``): for percentages shown to people."""
    return Decimal(format(value.normalize(), "f"))


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
            month=_int(r["month"]),
            budget=D(r["budget"]),
            total_points=D(r["total_points"]),
            non_fund=D(r["non_fund"]),
            point_value=D(r["point_value"]),
        )
        for r in query(f"SELECT * FROM {_csv(run / 'monthly.csv')} ORDER BY month::INTEGER")
    ]
    hospitals = [_hospital_year(r, names) for r in query(f"SELECT * FROM {_csv(run / 'annual.csv')}")]
    mix_rows = query(
        f"""SELECT hospital_id, count(*) AS cases,
                   count(*) FILTER (WHERE category = 'normal') AS normal,
                   count(*) FILTER (WHERE category = 'high') AS high,
                   count(*) FILTER (WHERE category = 'low') AS low,
                   count(*) FILTER (WHERE category = 'whole_group') AS whole_group
            FROM {_parquet(run)} GROUP BY hospital_id ORDER BY hospital_id"""
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
        k: _dec(r.get(k)) for k in HospitalYear.model_fields if k not in ("hospital_id", "name", "cases")
    }
    values["cases"] = _int(r["cases"])
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


def near_caps(hospitals: list[HospitalYear], policy: DrgPolicy) -> list[NearCap]:
    """Hospitals near the year-end caps (000 篇6 第十九条(三)), for an officer's attention.

    * self-pay: self-pay cost at least (cap − 1 percentage point) of total cost;
    * surplus: surplus (entitlement − total cost) at least 90% of the surplus cap
      (``surplus_cap_ratio`` × total cost).

    Hospitals already over a cap are listed too (their cut is in annual.csv). None when the
    policy does not apply the caps.
    """
    if not policy.apply_caps:
        return []
    found: list[NearCap] = []
    self_pay_floor = policy.self_pay_cap_ratio - NEAR_SELF_PAY_MARGIN
    for h in hospitals:
        if h.total_cost <= 0:
            continue
        if h.self_pay >= self_pay_floor * h.total_cost:
            actual = div_round(h.self_pay * 100, h.total_cost, 2)
            cap = _plain(policy.self_pay_cap_ratio * 100)
            found.append(
                NearCap(
                    hospital_id=h.hospital_id,
                    name=h.name,
                    cap="self_pay",
                    actual_pct=actual,
                    cap_pct=cap,
                    message=f"自费费用占医疗总费用 {actual}%, 上限 {cap}%",
                )
            )
        surplus_cap = policy.surplus_cap_ratio * h.total_cost
        surplus = h.entitlement - h.total_cost
        if surplus_cap > 0 and surplus >= NEAR_SURPLUS_FRACTION * surplus_cap:
            actual = div_round(surplus * 100, h.total_cost, 2)
            cap = _plain(policy.surplus_cap_ratio * 100)
            found.append(
                NearCap(
                    hospital_id=h.hospital_id,
                    name=h.name,
                    cap="surplus",
                    actual_pct=actual,
                    cap_pct=cap,
                    message=f"结余 {surplus} 元, 占实际消费总额 {actual}%, 上限 {cap}%",
                )
            )
    return found


@once_per_key(maxsize=16)
def run_near_caps(run: Path, dataset: Path, policy_id: str) -> list[NearCap]:
    """``near_caps`` of a run under its policy (none when the policy is not shipped)."""
    policy = drg_policy(policy_id)
    return [] if policy is None else near_caps(run_files_summary(run, dataset).hospitals, policy)


@lru_cache(maxsize=512)
def payments(run: Path, hospital_id: str) -> list[PaymentRow]:
    """The hospital's twelve months of monthly_payments.csv."""
    rows = query(
        f"SELECT * FROM {_csv(run / 'monthly_payments.csv')} WHERE hospital_id = ? ORDER BY month::INTEGER",
        [hospital_id],
    )
    keys = [k for k in PaymentRow.model_fields if k not in ("month", "cases")]
    return [
        PaymentRow(month=_int(r["month"]), cases=_int(r["cases"]), **{k: D(r[k]) for k in keys}) for r in rows
    ]


# ---- cases ---------------------------------------------------------------------------------

_CASE_COLUMNS = (
    "case_id, hospital_id, month, drg_code, category, base_points, coefficient, prepay_points, "
    "final_points, level, cost, unreasonable_cost, extra_points, review_approved, new_technology"
)


def _case_row(r: dict[str, Any]) -> CaseRow:
    return CaseRow(category_label=CATEGORY_LABELS.get(r["category"], r["category"]), **r)


def _case_where(hospital_id: str, filters: CaseFilters) -> tuple[str, list[Any]]:
    where: list[str] = ["hospital_id = ?"]
    params: list[Any] = [hospital_id]
    if filters.category:
        where.append("category = ?")
        params.append(filters.category)
    if filters.drg_code:
        where.append("drg_code = ?")
        params.append(filters.drg_code)
    if filters.month is not None:
        where.append("month = ?")
        params.append(filters.month)
    if filters.q:
        where.append("contains(case_id, ?)")
        params.append(filters.q)
    return " AND ".join(where), params


@lru_cache(maxsize=1024)
def case_count(run: Path, hospital_id: str, filters: CaseFilters) -> int:
    """How many of the hospital's cases match (kept: paging does not count again)."""
    where, params = _case_where(hospital_id, filters)
    return int(query(f"SELECT count(*) AS n FROM {_parquet(run)} WHERE {where}", params)[0]["n"])


@lru_cache(maxsize=2048)
def case_page(
    run: Path, run_id: str, hospital_id: str, filters: CaseFilters, page: int, page_size: int
) -> CasePage:
    """One page of a hospital's cases, in case id order, and the count of all that match.

    ``case_points.parquet`` is written sorted by (hospital_id, case_id) (``store``), and
    DuckDB returns a scan's rows in file order unless told otherwise (its default
    ``preserve_insertion_order``), so the page needs no sort: LIMIT/OFFSET over the
    hospital's row groups, filters pushed down.
    """
    total = case_count(run, hospital_id, filters)
    offset = (page - 1) * page_size
    rows: list[dict[str, Any]] = []
    if offset < total:
        where, params = _case_where(hospital_id, filters)
        rows = query(
            f"SELECT {_CASE_COLUMNS} FROM {_parquet(run)} WHERE {where} LIMIT {int(page_size)} OFFSET {int(offset)}",
            params,
        )
    return CasePage(
        run_id=run_id,
        hospital_id=hospital_id,
        filters=filters,
        total=total,
        page=page,
        page_size=page_size,
        pages=max(1, -(-total // page_size)),
        cases=[_case_row(r) for r in rows],
    )


CASE_POINTS_ARROW = "case_points.arrow"


@once_per_key(maxsize=4)
def case_table(run: Path) -> pa.Table:
    """The run's cases, memory-mapped from an Arrow IPC copy of ``case_points.parquet``.

    Parquet is compressed in row groups: fetching one case decodes thousands (≈ 8 ms per
    explanation with DuckDB). The uncompressed IPC file is mapped, not read: a row is a
    zero-copy slice, the pages come from the OS cache shared by every server process, and a
    run folder never changes once written, so the copy never goes stale. Runs written before
    the copy existed get it on first use (written aside, then renamed into place).
    """
    path = run / CASE_POINTS_ARROW
    if not path.is_file():
        write_case_arrow(pq.read_table(run / CASE_POINTS_PARQUET), path)
    # Not closed: the table's buffers are the mapping itself (unmapped when the table goes).
    return pa.ipc.open_file(pa.memory_map(str(path))).read_all()


@once_per_key(maxsize=4)
def _case_index(run: Path) -> tuple[pa.Array, pa.Array]:
    """Case ids in sorted order and, for each, its row in ``case_table`` (≈ 20 MB per million)."""
    ids = case_table(run).column("case_id")
    order = pc.sort_indices(ids)
    return pc.take(ids, order).combine_chunks(), order


def case_row_number(run: Path, case_id: str) -> int | None:
    """The row of a case in ``case_table``, by binary search in the run's case index."""
    ids, rows = _case_index(run)
    lo, hi = 0, len(ids)
    while lo < hi:
        mid = (lo + hi) // 2
        if ids[mid].as_py() < case_id:
            lo = mid + 1
        else:
            hi = mid
    if lo < len(ids) and ids[lo].as_py() == case_id:
        return int(rows[lo].as_py())
    return None


def _text(value: Any) -> str | None:
    """A value as the run's CSV writes it (``0E-8`` → ``0.00000000``)."""
    if value is None:
        return None
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def find_case_row(
    run: Path, case_id: str, hospital_ids: Collection[str] | None
) -> dict[str, str | None] | None:
    """The case's row as text, if the case exists and its hospital is among ``hospital_ids``."""
    row_number = case_row_number(run, case_id)
    if row_number is None:
        return None
    row = case_table(run).slice(row_number, 1).to_pylist()[0]
    if hospital_ids is not None and row["hospital_id"] not in hospital_ids:
        return None
    return {key: _text(value) for key, value in row.items()}


def explain(
    run: Path, case_id: str, policy: DrgPolicy, hospital_ids: Collection[str] | None
) -> CaseExplanation | None:
    """The explanation of a case among ``hospital_ids`` (None: any hospital), or None."""
    case = find_case_row(run, case_id, hospital_ids)
    if case is None:
        return None
    return explain_case_row(case, run_reference(run), policy)


def case_row_from_text(row: dict[str, str | None]) -> CaseRow:
    """A case row read as text (the explanation's row) as a typed row."""
    values: dict[str, Any] = dict(row)
    for key in ("month", "level", "review_approved", "new_technology"):
        values[key] = _int(row[key])
    for key in ("base_points", "coefficient", "prepay_points", "final_points", "cost", "unreasonable_cost",
                "extra_points"):  # fmt: skip
        values[key] = _dec(row.get(key))
    return _case_row({k: values.get(k) for k in CaseRow.model_fields if k != "category_label"})


def valid_category(category: str) -> bool:
    return category in CATEGORIES


# ---- which run a request shows ---------------------------------------------------------------


@dataclass(frozen=True)
class OpenRun:
    """A run the user may see, with its result folder and its dataset folder."""

    run: dict[str, Any]
    path: Path
    dataset: Path

    @property
    def id(self) -> str:
        return str(self.run["id"])


def open_run(var_dir: Path, conn: sa.Connection, user: User, run_id: str | None) -> OpenRun:
    """The run asked for (latest published when None), if visible; else 404 (409 while running)."""
    run = visible_run(conn, user, run_id or None)
    path = run_dir(var_dir, str(run["id"]))
    if not (path / "run.json").is_file() or not (path / CASE_POINTS_PARQUET).is_file():
        raise HTTPException(status_code=404, detail="结算结果文件不存在 (run files missing)")
    return OpenRun(run, path, dataset_dir(var_dir, str(run["dataset_id"])))


def selectable_runs(conn: sa.Connection, user: User) -> list[dict[str, Any]]:
    """Runs for the run selector: published ones, and drafts for those who see every hospital."""
    everything = can(user, "drg.view_all")
    statuses = ("draft", "published") if everything else ("published",)
    runs = list_runs(conn, published_only=not everything, with_results=False)
    return [r for r in runs if r["status"] in statuses]
