"""Report forms as Excel (填报表 Excel): the blank form to download and the filled form uploaded.

The blank form has one row per indicator and population group the unit reports, with Chinese
headers; the officer fills 分子/数值 and 分母 and uploads it. The upload is read through
``shidian.tables`` (CSV or .xlsx, Chinese or English headers, a Problem per bad cell with its
sheet row) and then checked by ``shidian.pilots.entry``; any error means nothing is saved.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from shidian.cells import openpyxl_text
from shidian.pilots.entry import (
    DENOMINATOR_LABEL,
    KIND_LABELS,
    NUMERATOR_LABEL,
    Entry,
    IndicatorSpec,
    population_label,
)
from shidian.problems import Problem, Source
from shidian.tables import Column, TableSpec, read_table

#: The uploaded form (填报表): the headers of ``blank_form`` and their English names.
FORM = TableSpec(
    "pilot_report",
    (
        Column("indicator_code", "str", ("指标编码",), label="指标编码"),
        Column(
            "population", "str", ("人群编码",), required=False, nullable=True, default="", label="人群编码"
        ),
        Column(
            "numerator", "decimal", (NUMERATOR_LABEL, "分子", "数值"), nullable=True, label=NUMERATOR_LABEL
        ),
        Column(
            "denominator",
            "decimal",
            (DENOMINATOR_LABEL,),
            required=False,
            nullable=True,
            label=DENOMINATOR_LABEL,
        ),
    ),
    key=("indicator_code", "population"),
)

HEADERS = ("指标编码", "指标名称", "人群编码", "人群", "类型", "单位", NUMERATOR_LABEL, DENOMINATOR_LABEL)
MAX_UPLOAD_BYTES = 5 * 1024 * 1024


def blank_form(
    specs: Sequence[IndicatorSpec],
    values: Mapping[tuple[str, str], tuple[object, object]],
    title: Sequence[tuple[str, str]],
) -> bytes:
    """The form as .xlsx: sheet 填报表 (header row 1, one row per value), sheet 说明 (``title``)."""
    import openpyxl
    from openpyxl.styles import Font

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "填报表"
    sheet.append(list(HEADERS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for spec in specs:
        for population in spec.populations:
            num, den = values.get((spec.code, population), (None, None))
            rate = spec.kind == "rate"
            sheet.append(
                [
                    spec.code,
                    spec.name,
                    population,
                    population_label(population),
                    KIND_LABELS.get(spec.kind, spec.kind),
                    spec.unit,
                    _plain(num),
                    _plain(den) if rate else None,
                ]
            )
    _as_text(sheet)
    for column, width in zip("ABCDEFGH", (26, 30, 12, 14, 8, 8, 12, 12), strict=True):
        sheet.column_dimensions[column].width = width
    notes = book.create_sheet("说明")
    for key, value in title:
        notes.append([key, value])
    notes.append(
        [
            "填写说明",
            "只填「分子/数值」和「分母」两列; 率指标填分子和分母, 其他指标只填数值; 是否指标填 1 (是) 或 0 (否)。",
        ]
    )
    notes.column_dimensions["A"].width = 14
    notes.column_dimensions["B"].width = 80
    out = io.BytesIO()
    _as_text(notes)
    book.save(out)
    return out.getvalue()


def _plain(value: object) -> object:
    """A stored value for the sheet: a whole number as int, else its exact decimal text; or blank."""
    if value is None:
        return None
    number = Decimal(str(value))
    if number == number.to_integral_value():
        return int(number)
    return format(number.normalize(), "f")


def read_form(data: bytes, filename: str, folder: Path) -> tuple[list[Entry], list[Problem]]:
    """The entries of an uploaded form, or every problem of reading it (file, row, column).
    The file is written into ``folder`` (a staging folder the caller owns and removes) to be read."""
    suffix = Path(filename).suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        suffix = ".xlsx" if data.startswith(b"PK\x03\x04") else ".csv"
    path = folder / f"form{suffix}"
    path.write_bytes(data)
    try:
        table, problems = read_table(path, FORM, display_name=filename)
    finally:
        path.unlink(missing_ok=True)
    if table is None:
        return [], problems
    columns = table.to_pydict()
    entries = [
        Entry(code, population or "", num, den, row)
        for code, population, num, den, row in zip(
            columns["indicator_code"],
            columns["population"],
            columns["numerator"],
            columns["denominator"],
            columns["_row"],
            strict=True,
        )
    ]
    return entries, problems


def read_upload(data: bytes, filename: str, folder: Path) -> tuple[list[Entry], list[Problem]]:
    """An uploaded form (at most ``MAX_UPLOAD_BYTES``): its entries with a value (blank rows
    dropped), or every problem of reading it; ``folder`` as in ``read_form``."""
    if not data:
        return [], [Problem("pilots.upload.empty", "没有上传文件 (no file)", Source(filename))]
    if len(data) > MAX_UPLOAD_BYTES:
        message = f"文件超过 {MAX_UPLOAD_BYTES // 1024 // 1024} MB (file too large)"
        return [], [Problem("pilots.upload.too_large", message, Source(filename))]
    entries, problems = read_form(data, filename, folder)
    return [e for e in entries if e.numerator is not None or e.denominator is not None], problems


def _as_text(sheet: Any) -> None:
    """Every text cell of ``sheet`` as text, never a formula (``shidian.cells``)."""
    for row in sheet.iter_rows():
        for cell in row:
            openpyxl_text(cell)
