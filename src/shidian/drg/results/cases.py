"""A run's cases (结算病例), for pages and API: one hospital's page, one case's row.

Both read the memory-mapped Arrow copy of the cases (``case_table``). The file is sorted by
hospital, so a hospital's cases are one slice of it (where each hospital's slice starts is found
once per run); its filters are vectorised over that slice and Python touches at most the rows of a
page. One case is found by binary search in an index of the case ids. A copy whose rows are not
grouped by hospital (never written so) is read by a DuckDB query over ``case_points.parquet``
instead, with the same answer.
"""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from shidian.drg.model import CATEGORY_LABELS, YEAR_END_GROUPING_LABEL
from shidian.drg.results.files import as_int, dec_or_none, once_per_key, parquet_source, query
from shidian.drg.results.models import CaseFilters, CasePage, CaseRow
from shidian.drg.run_files import CASE_POINTS_PARQUET
from shidian.platform.files import write_case_arrow

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500

_CASE_COLUMNS = (
    "case_id, hospital_id, month, drg_code, category, base_points, coefficient, prepay_points, "
    "final_points, level, cost, unreasonable_cost, extra_points, review_approved, new_technology, year_end_grouping"
)
#: A run settled before 年底入组 existed has no ``year_end_grouping`` column: read it as 0.
_CASE_COLUMNS_BEFORE_YEAR_END = _CASE_COLUMNS.replace("year_end_grouping", "0 AS year_end_grouping")


@once_per_key(maxsize=16)
def _case_columns(run: Path) -> str:
    names = pq.read_schema(run / CASE_POINTS_PARQUET).names
    return _CASE_COLUMNS if "year_end_grouping" in names else _CASE_COLUMNS_BEFORE_YEAR_END


def _case_row(r: dict[str, Any]) -> CaseRow:
    label = CATEGORY_LABELS.get(r["category"], r["category"])
    if r.get("year_end_grouping"):
        label = f"{label} · {YEAR_END_GROUPING_LABEL}"
    return CaseRow(category_label=label, **r)


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


@once_per_key(maxsize=4)
def hospital_slices(run: Path) -> dict[str, tuple[int, int]] | None:
    """Where each hospital's cases are in ``case_table``: (first row, row count), or None when
    the rows are not grouped by hospital (a hospital's rows not all next to each other)."""
    ids = case_table(run).column("hospital_id")
    if len(ids) == 0:
        return {}
    counts = pc.value_counts(ids)  # in the order of first appearance
    boundaries = pc.sum(pc.not_equal(ids[1:], ids[:-1])).as_py() or 0
    if boundaries != len(counts) - 1:
        return None
    slices: dict[str, tuple[int, int]] = {}
    start = 0
    for hospital_id, count in zip(
        counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True
    ):
        slices[hospital_id] = (start, count)
        start += count
    return slices


def _filtered_cases(run: Path, hospital_id: str, filters: CaseFilters) -> pa.Table:
    """The hospital's cases that match ``filters``, in file order (``_case_where``'s rules)."""
    slices = hospital_slices(run)
    assert slices is not None
    start, count = slices.get(hospital_id, (0, 0))
    cases = case_table(run).slice(start, count)
    masks = []
    if filters.category:
        masks.append(pc.equal(cases.column("category"), filters.category))
    if filters.drg_code:
        masks.append(pc.equal(cases.column("drg_code"), filters.drg_code))
    if filters.month is not None:
        masks.append(pc.equal(cases.column("month"), filters.month))
    if filters.q:
        masks.append(pc.match_substring(cases.column("case_id"), filters.q))
    if not masks:
        return cases
    mask = masks[0]
    for more in masks[1:]:
        mask = pc.and_kleene(mask, more)
    return cases.filter(mask)  # a null comparison (no DRG code) drops the row, as in SQL


def _arrow_rows(cases: pa.Table) -> list[dict[str, Any]]:
    """The rows of a page as the case list's columns (``year_end_grouping`` 0 in older runs)."""
    if "year_end_grouping" not in cases.column_names:
        cases = cases.append_column("year_end_grouping", pa.repeat(pa.scalar(0, pa.int8()), cases.num_rows))
    rows: list[dict[str, Any]] = cases.select(list(_CASE_COLUMN_NAMES)).to_pylist()
    return rows


_CASE_COLUMN_NAMES = tuple(name.strip() for name in _CASE_COLUMNS.split(","))


@lru_cache(maxsize=1024)
def case_count(run: Path, hospital_id: str, filters: CaseFilters) -> int:
    """How many of the hospital's cases match (kept: paging does not count again)."""
    where, params = _case_where(hospital_id, filters)
    return int(query(f"SELECT count(*) AS n FROM {parquet_source(run)} WHERE {where}", params)[0]["n"])


@lru_cache(maxsize=2048)
def case_page(
    run: Path, run_id: str, hospital_id: str, filters: CaseFilters, page: int, page_size: int
) -> CasePage:
    """One page of a hospital's cases, in case id order, and the count of all that match.

    ``case_points.parquet`` is written sorted by (hospital_id, case_id) (``store``), and
    DuckDB returns a scan's rows in file order unless told otherwise (its default
    ``preserve_insertion_order``), so the page needs no sort: LIMIT/OFFSET over the
    hospital's row groups, filters pushed down. Read from the Arrow copy when its rows are
    grouped by hospital (they are as written): a slice and a vectorised filter, no query.
    """
    offset = (page - 1) * page_size
    rows: list[dict[str, Any]] = []
    if hospital_slices(run) is not None:
        cases = _filtered_cases(run, hospital_id, filters)
        total = cases.num_rows
        if offset < total:
            rows = _arrow_rows(cases.slice(offset, page_size))
    elif offset < (total := case_count(run, hospital_id, filters)):
        where, params = _case_where(hospital_id, filters)
        rows = query(
            f"SELECT {_case_columns(run)} FROM {parquet_source(run)} WHERE {where} LIMIT {int(page_size)} OFFSET {int(offset)}",
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


def case_row_from_text(row: dict[str, str | None]) -> CaseRow:
    """A case row read as text (the explanation's row) as a typed row."""
    values: dict[str, Any] = dict(row)
    for key in ("month", "level", "review_approved", "new_technology"):
        values[key] = as_int(row[key])
    values["year_end_grouping"] = as_int(row.get("year_end_grouping") or "0")
    for key in ("base_points", "coefficient", "prepay_points", "final_points", "cost", "unreasonable_cost",
                "extra_points"):  # fmt: skip
        values[key] = dec_or_none(row.get(key))
    return _case_row({k: values.get(k) for k in CaseRow.model_fields if k != "category_label"})
