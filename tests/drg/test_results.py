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
