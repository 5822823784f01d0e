"""Reading a run's files (结算结果文件): runs written before a column existed still read."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from shidian.drg.results.cases import case_page, hospital_slices
from shidian.drg.results.models import CaseFilters
from shidian.drg.run_files import CASE_POINTS_PARQUET


def test_a_run_settled_before_year_end_grouping_existed_lists_its_cases(tmp_path: Path) -> None:
    """case_points.parquet of an older run has no ``year_end_grouping`` (年底入组, issue 16): its
    cases read as not held to the year end instead of failing the hospital's case list."""
    dec = pa.decimal128(18, 8)
    money = pa.decimal128(18, 2)
    old = pa.table(
        {
            "case_id": ["C1", "C2"],
            "hospital_id": ["H1", "H1"],
            "month": pa.array([1, 2], pa.int32()),
            "drg_code": ["A01", "A01"],
            "category": ["normal", "high"],
            "base_points": pa.array([Decimal("100")] * 2, dec),
            "coefficient": pa.array([Decimal("1")] * 2, dec),
            "prepay_points": pa.array([Decimal("100"), Decimal("150")], dec),
            "final_points": pa.array([Decimal("100"), Decimal("150")], dec),
            "level": pa.array([2, 2], pa.int32()),
            "cost": pa.array([Decimal("1000.00"), Decimal("5000.00")], money),
            "unreasonable_cost": pa.array([Decimal("0.00")] * 2, money),
            "extra_points": pa.array([Decimal("0")] * 2, dec),
            "review_approved": pa.array([0, 0], pa.int32()),
            "new_technology": pa.array([0, 0], pa.int32()),
        }
    )
    pq.write_table(old, tmp_path / CASE_POINTS_PARQUET)
    page = case_page(tmp_path, "r" * 32, "H1", CaseFilters(), 1, 50)
    assert page.total == 2
    assert [(c.case_id, c.year_end_grouping) for c in page.cases] == [("C1", 0), ("C2", 0)]


def test_a_warning_place_in_the_run_reads_in_words():
    """The overview's 位置 column: a place in the run's own results is named by the result and its
    keys, an input's file:column stays as written (issue 19 item 7: no raw keys on a Chinese page)."""
    from shidian.drg.results.models import RunWarning, run_place

    assert run_place("<run>:monthly_payments.H0001.3") == "月度预拨 H0001 3月"
    assert run_place("<run>:monthly_payments.H0001.12.resident") == "月度预拨 H0001 12月 居民医保"
    assert run_place("<run>:monthly.employee.7") == "月度点值 职工医保 7月"
    assert run_place("<run>:annual.H0042") == "年终清算 H0042"
    assert run_place("<run>:coefficients.GC45.3") == "差异系数 GC45 3级"
    assert run_place("cases.csv:drg_code") == "cases.csv:drg_code"
    assert run_place("<run>:checks") == "<run>:checks"  # a place it does not know stays as written
    assert RunWarning(code="c", where="<run>:annual.H0001", message="m").place == "年终清算 H0001"


def _cases(case_ids: list[str], hospital_ids: list[str], drg_codes: list[str | None]) -> pa.Table:
    n = len(case_ids)
    dec = pa.decimal128(18, 8)
    money = pa.decimal128(18, 2)
    return pa.table(
        {
            "case_id": case_ids,
            "hospital_id": hospital_ids,
            "month": pa.array([1 + i % 2 for i in range(n)], pa.int32()),
            "drg_code": pa.array(drg_codes, pa.string()),
            "category": ["normal"] * n,
            "base_points": pa.array([Decimal("100")] * n, dec),
            "coefficient": pa.array([Decimal("1")] * n, dec),
            "prepay_points": pa.array([Decimal("100")] * n, dec),
            "final_points": pa.array([Decimal("100")] * n, dec),
            "level": pa.array([2] * n, pa.int64()),
            "cost": pa.array([Decimal("1000.00")] * n, money),
            "unreasonable_cost": pa.array([Decimal("0.00")] * n, money),
            "extra_points": pa.array([Decimal("0")] * n, dec),
            "review_approved": pa.array([0] * n, pa.int8()),
            "new_technology": pa.array([0] * n, pa.int8()),
            "year_end_grouping": pa.array([0] * n, pa.int8()),
        }
    )


def _listed(
    run: Path, hospital_id: str, filters: CaseFilters, page: int = 1, size: int = 50
) -> tuple[int, list[str]]:
    found = case_page(run, "r" * 32, hospital_id, filters, page, size)
    return found.total, [c.case_id for c in found.cases]


def test_a_hospitals_cases_are_one_slice_of_the_run_and_filters_read_as_in_sql(tmp_path: Path) -> None:
    """Rows grouped by hospital (as a run writes them): each hospital is one slice; a case
    without a DRG code is listed, but never matches a DRG code filter (NULL in SQL)."""
    pq.write_table(
        _cases(["A1", "A2", "B1", "B2", "B3"], ["HA", "HA", "HB", "HB", "HB"], ["X", None, "X", "Y", None]),
        tmp_path / CASE_POINTS_PARQUET,
    )
    assert hospital_slices(tmp_path) == {"HA": (0, 2), "HB": (2, 3)}
    assert _listed(tmp_path, "HA", CaseFilters()) == (2, ["A1", "A2"])
    assert _listed(tmp_path, "HB", CaseFilters()) == (3, ["B1", "B2", "B3"])
    assert _listed(tmp_path, "HB", CaseFilters(drg_code="X")) == (1, ["B1"])
    assert _listed(tmp_path, "HB", CaseFilters(month=1)) == (2, ["B1", "B3"])  # months 1, 2, 1, 2, 1 by row
    assert _listed(tmp_path, "HB", CaseFilters(month=2, q="2")) == (1, ["B2"])
    assert _listed(tmp_path, "HB", CaseFilters(), page=2, size=2) == (3, ["B3"])
    assert _listed(tmp_path, "HB", CaseFilters(), page=3, size=2) == (3, [])
    assert _listed(tmp_path, "HC", CaseFilters()) == (0, [])


def test_a_run_whose_rows_are_not_grouped_by_hospital_lists_the_same_cases(tmp_path: Path) -> None:
    """A copy whose hospitals are interleaved (never written so) is read by a query instead
    of a slice: the same cases, in file order."""
    pq.write_table(
        _cases(["A1", "B1", "A2", "B2", "B3"], ["HA", "HB", "HA", "HB", "HB"], ["X", "X", None, "Y", None]),
        tmp_path / CASE_POINTS_PARQUET,
    )
    assert hospital_slices(tmp_path) is None
    assert _listed(tmp_path, "HA", CaseFilters()) == (2, ["A1", "A2"])
    assert _listed(tmp_path, "HB", CaseFilters()) == (3, ["B1", "B2", "B3"])
    assert _listed(tmp_path, "HB", CaseFilters(drg_code="X")) == (1, ["B1"])
    assert _listed(tmp_path, "HB", CaseFilters(), page=2, size=2) == (3, ["B3"])
