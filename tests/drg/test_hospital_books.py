"""The hospital workbooks' rows (``shidian.drg.hospital_books``): built in one DuckDB projection,
escaped only where a column needs it, blank cells for NULLs, deflated with ISA-L."""

from __future__ import annotations

import itertools
import zipfile
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import duckdb
import openpyxl
import pyarrow as pa

from shidian.drg.hospital_books import _header_xml, _rows_by_hospital, _write_book, write_hospital_books
from shidian.drg.io import by_hospital_and_case

COLUMNS = (
    ("case_id", "病案号", "text"),
    ("drg_code", "DRG编码", "text"),
    ("category", "病例类型", "text"),
    ("final_points", "病例点数", "points"),
    ("review_pay_month", "追加点数拨付月份", "int"),
)


def _cases(case_ids: list[str], drg_codes: list[str | None]) -> pa.Table:
    n = len(case_ids)
    return pa.table(
        {
            "hospital_id": pa.array(["H1"] * (n - 1) + ["H2"], pa.string()),
            "case_id": pa.array(case_ids, pa.string()),
            "drg_code": pa.array(drg_codes, pa.string()),
            "category": pa.array(["normal", "high", "low", "whole_group"][:n], pa.string()),
            "final_points": pa.array([Decimal("1.50000000")] * n, pa.decimal128(18, 8)),
            "review_pay_month": pa.array([None, 3, None, None][:n], pa.int32()),
        }
    )


def _book(tmp_path: Path, cases: pa.Table) -> dict[str, list[tuple[object, ...]]]:
    con = duckdb.connect()
    try:
        rows = _rows_by_hospital(con, cases, COLUMNS)
    finally:
        con.close()
    found = {}
    for hospital_id, pieces in rows.items():
        path = tmp_path / f"{hospital_id}.xlsx"
        _write_book(path, [("病例", _header_xml(COLUMNS), pieces, len(COLUMNS))])
        assert zipfile.ZipFile(path).testzip() is None  # every entry's CRC and deflate stream
        found[hospital_id] = list(openpyxl.load_workbook(path)["病例"].iter_rows(values_only=True))
    return found


def test_texts_that_need_escaping_are_escaped_and_control_characters_dropped(tmp_path: Path):
    cases = _cases(["A&B", "<x>", "a\x01b", "plain"], ["GC45", None, "R&D", "FR95"])
    books = _book(tmp_path, cases)
    head = ("病案号", "DRG编码", "病例类型", "病例点数", "追加点数拨付月份")
    assert books["H1"] == [
        head,
        ("A&B", "GC45", "正常病例", 1.5, None),
        ("<x>", None, "高倍率病例", 1.5, 3),
        ("ab", "R&D", "低倍率病例", 1.5, None),
    ]
    assert books["H2"] == [head, ("plain", "FR95", "整组单议病例", 1.5, None)]


def test_plain_columns_without_nulls_give_the_same_cells(tmp_path: Path):
    cases = _cases(["2020001", "2020002"], ["GC45", "FR95"])
    books = _book(tmp_path, cases)
    assert books["H1"][1] == ("2020001", "GC45", "正常病例", 1.5, None)
    assert books["H2"][1] == ("2020002", "FR95", "高倍率病例", 1.5, 3)


def test_cases_by_hospital_and_case_from_either_order():
    """case_points comes by case_id (the fast path: a stable sort on the hospital); any other
    order is sorted on both keys; both give (hospital_id, case_id)."""
    cases = pa.table(
        {
            "case_id": ["c1", "c2", "c3", "c4", "c5"],
            "hospital_id": ["H2", "H10", "H2", "H1", "H10"],
            "n": [1, 2, 3, 4, 5],
        }
    )
    expected = [("H1", "c4"), ("H10", "c2"), ("H10", "c5"), ("H2", "c1"), ("H2", "c3")]
    for table in (cases, cases.take([4, 0, 3, 1, 2])):
        ordered = by_hospital_and_case(table)
        assert (
            list(zip(ordered["hospital_id"].to_pylist(), ordered["case_id"].to_pylist(), strict=True))
            == expected
        )
        assert ordered.equals(table.sort_by([("hospital_id", "ascending"), ("case_id", "ascending")]))


def test_cases_by_hospital_and_case_with_more_hospitals_than_16_bits_hold():
    """Up to 65,536 hospitals the rank is sorted as 16-bit integers (a radix sort), above as
    32-bit ones: the same order either way."""
    n = 70_000
    for hospitals in (65_536, n):
        ids = [f"H{(i * 7919) % hospitals:05d}" for i in range(n)]
        cases = pa.table({"case_id": [f"c{i:06d}" for i in range(n)], "hospital_id": ids})
        expected = cases.sort_by([("hospital_id", "ascending"), ("case_id", "ascending")])
        assert by_hospital_and_case(cases).equals(expected)


def test_the_workbooks_are_the_same_bytes_whatever_the_batch(tmp_path: Path):
    """At ten million cases the rows are built a slice of hospitals at a time: a batch of one
    row (each hospital alone) gives the same files as one batch, and a hospital without
    cases still gets its workbook."""
    cases = _cases(["A&B", "<x>", "a\x01b", "plain"], ["GC45", None, "R&D", "FR95"])
    result = SimpleNamespace(
        annual=pa.table({"hospital_id": ["H1", "H2", "H3"], "cases": [3, 1, 0]}),
        monthly_payments=pa.table({"hospital_id": ["H1"], "month": [1]}),
        case_points=cases,
    )
    books = {}
    for batch in (1, 1_000_000):
        folder = tmp_path / str(batch)
        names = write_hospital_books(result, folder, batch_rows=batch)  # type: ignore[arg-type]
        assert names == ["H1.xlsx", "H2.xlsx", "H3.xlsx"]
        books[batch] = {name: (folder / name).read_bytes() for name in names}
    assert books[1] == books[1_000_000]
    empty = openpyxl.load_workbook(tmp_path / "1" / "H3.xlsx")
    assert len(list(empty["病例"].iter_rows(values_only=True))) == 1  # the header


def test_a_sheet_is_written_in_fixed_blocks_whatever_its_pieces():
    """ISA-L's stream depends on where the writes split: the pieces (DuckDB's chunks) are
    written as fixed blocks, so the same bytes give the same calls, hence the same file."""
    from shidian.drg import hospital_books

    data = bytes(range(256)) * 20_000  # 5,120,000 bytes: 4 whole blocks and a rest
    calls = []
    for cuts in ([], [1], [3, 1_048_576, 1_048_580, 4_000_000], list(range(0, len(data), 999_999))):
        bounds = [0, *cuts, len(data)]
        pieces = [pa.py_buffer(data[a:b]) for a, b in itertools.pairwise(bounds)]
        sink = _Sink()
        hospital_books._write_blocks(sink, pieces)
        calls.append(sink.sizes)
        assert b"".join(sink.chunks) == data
    assert all(sizes == [1 << 20] * 4 + [len(data) - 4 * (1 << 20)] for sizes in calls)


class _Sink:
    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.sizes: list[int] = []

    def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        self.sizes.append(len(data))
        return len(data)
