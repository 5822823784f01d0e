"""A run's CSV files keep the rows of their tables in order (``runs.write_csv_tables``).

DuckDB 2.0's CSV COPY wrote the rows of a table made of several chunks, or of one large chunk,
in the order its threads finished them once the projection neutralises formula-like text
(``cells.csv_sql``): ``ledger_pool_monthly.csv`` (two chunks: the inpatient and outpatient pools)
came out with the outpatient months first in about one run in fifty on a busy host, and a
1,800,000-row table was out of order in every run. Both shapes are written here many times."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shidian.runs import write_csv_tables


def _numbered(start: int, stop: int) -> pa.Table:
    ids = pa.array(np.arange(start, stop, dtype=np.int64))
    return pa.table({"i": ids, "s": pc.cast(ids, pa.string())})


def _in_order(path: Path) -> bool:
    values = np.loadtxt(path, skiprows=1, dtype=np.int64, delimiter=",", usecols=0, ndmin=1)
    return bool((np.diff(values) == 1).all()) and values[0] == 0


def test_many_small_chunks_keep_their_order(tmp_path: Path):
    table = pa.concat_tables([_numbered(k * 3_000, (k + 1) * 3_000) for k in range(20)])
    for _ in range(40):
        write_csv_tables(tmp_path, {"t.csv": table})
        assert _in_order(tmp_path / "t.csv")


def test_a_large_table_keeps_its_order(tmp_path: Path):
    table = _numbered(0, 1_200_000).combine_chunks()
    for _ in range(3):
        write_csv_tables(tmp_path, {"t.csv": table})
        assert _in_order(tmp_path / "t.csv")
