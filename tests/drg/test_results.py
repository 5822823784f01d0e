"""Reading a run's files (结算结果文件): runs written before a column existed still read."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from shidian.drg.results.cases import case_page
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
