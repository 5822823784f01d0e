"""Hospital workbooks (医疗机构结算单): ``hospitals/<hospital_id>.xlsx``, one per hospital.

Each holds what a hospital needs from a settlement, with Chinese headers: 年终清算 (its row of
annual.csv), 月度拨付 (its twelve months) and 病例 (its cases, by case_id). Nobody reads a
million rows in Excel: the bureau's report.xlsx keeps the summary sheets, each hospital gets its
own cases here, and case_points.csv / case_points.parquet hold them all (docs/drg-outputs.md).

The sheets are written as SpreadsheetML built column by column in DuckDB (one ``<row>`` text per
row, one ``concat`` each, sliced per hospital), not cell by cell in Python: a million cases take
about a second of CPU, not the minutes xlsxwriter needs. Cells are numbers (money ``#,##0.00``, points ``0.00000000``) or inline
strings; a blank value is an empty cell. The zip entries carry a fixed date and the rows a total
order, so the same run gives the same bytes. The sheets are deflated with ISA-L (``isal``, four
times zlib's speed at level 1), workbooks in parallel threads (ISA-L and DuckDB release the GIL).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from isal import isal_zlib

from shidian import duck
from shidian.drg.model import CATEGORY_LABELS, SettlementResult
from shidian.drg.report import ANNUAL_COLUMNS, CASE_COLUMNS, PAYMENT_COLUMNS, SCHEME_LABELS

HOSPITALS_DIR = "hospitals"
_Columns = Sequence[tuple[str, str, str]]
#: Style index per kind in styles.xml below: 1 header, 2 money, 3 points, 4 int, 5 point value,
#: 6 exact — the number formats of report.xlsx (``shidian.drg.report``; pages show the same,
#: ``shidian.display``): each cell keeps its exact value, only the shown digits differ.
_STYLE = {"money": 2, "points": 3, "int": 4, "point_value": 5, "exact": 6}
_SHEETS: tuple[tuple[str, str, _Columns, str], ...] = (
    ("年终清算", "annual", tuple(c for c in ANNUAL_COLUMNS if c[0] != "hospital_id"), "hospital_id"),
    ("月度拨付", "monthly_payments", tuple(c for c in PAYMENT_COLUMNS if c[0] != "hospital_id"), "month"),
    ("病例", "case_points", tuple(c for c in CASE_COLUMNS if c[0] != "hospital_id"), "case_id"),
)
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_CONTROL_SQL = " || ".join(f"chr({c})" for c in (*range(1, 9), 11, 12, *range(14, 32)))
_SAFE_NAME = re.compile(r"[^0-9A-Za-z_\-\u4e00-\u9fff]")


def hospital_book_name(hospital_id: str) -> str:
    """The file name of a hospital's workbook: its code, characters unsafe in a path as ``_``."""
    return _SAFE_NAME.sub("_", hospital_id) + ".xlsx"


#: The case rows turned into XML at a time (about 350 bytes each): at ten million cases the
#: sheets' XML (3.5 GB) is built and compressed a slice of hospitals after another.
BATCH_ROWS = 1_000_000


def write_hospital_books(
    result: SettlementResult,
    folder: Path,
    *,
    ordered_cases: pa.Table | None = None,
    workers: int = 2,
    batch_rows: int = BATCH_ROWS,
) -> list[str]:
    """Write one workbook per hospital of ``result.annual`` into ``folder``; their file names.

    ``ordered_cases``: ``result.case_points`` already sorted by (hospital_id, case_id), when the
    caller has it (case_points.parquet is written in that order). The case rows are built for
    whole hospitals about ``batch_rows`` rows at a time (the same bytes whatever the batch).
    """
    folder.mkdir(parents=True, exist_ok=True)
    hospital_ids = sorted(str(h) for h in result.annual.column("hospital_id").to_pylist())
    sheets: list[tuple[str, str, dict[str, list[pa.Buffer]], int]] = []
    con = duck.connect()
    try:
        for title, table, columns, order in _SHEETS[:-1]:  # the statement's sheets: small
            source = getattr(result, table).sort_by([("hospital_id", "ascending"), (order, "ascending")])
            present = [c for c in columns if c[0] in source.column_names]
            sheets.append(
                (title, _header_xml(present), _rows_by_hospital(con, source, present), len(present))
            )
        title, _, columns, _ = _SHEETS[-1]
        cases = ordered_cases
        if cases is None:
            cases = result.case_points.sort_by([("hospital_id", "ascending"), ("case_id", "ascending")])
        present = [c for c in columns if c[0] in cases.column_names]
        header = _header_xml(present)

        def write(hospital_id: str, case_rows: list[pa.Buffer]) -> str:
            name = hospital_book_name(hospital_id)
            parts = [(t, head, rows.get(hospital_id, []), width) for t, head, rows, width in sheets]
            _write_book(folder / name, [*parts, (title, header, case_rows, len(present))])
            return name

        wanted, written = set(hospital_ids), set()
        with ThreadPoolExecutor(max_workers=workers) as pool:  # ISA-L and zlib compress without the GIL
            for start, stop in _hospital_batches(cases.column("hospital_id"), batch_rows):
                rows = _rows_by_hospital(con, cases.slice(start, stop - start), present)
                batch = [h for h in rows if h in wanted]
                list(pool.map(write, batch, [rows[h] for h in batch]))
                written.update(batch)
                del rows
            empty = [h for h in hospital_ids if h not in written]
            list(pool.map(write, empty, [[] for _ in empty]))  # a hospital without cases
    finally:
        con.close()
    return [hospital_book_name(h) for h in hospital_ids]


def _hospital_batches(hospital_ids: pa.ChunkedArray, batch_rows: int) -> list[tuple[int, int]]:
    """Row ranges of a table sorted by hospital, each of whole hospitals and, unless one
    hospital alone has more, at most ``batch_rows`` rows."""
    if not len(hospital_ids):
        return []
    ends = pc.run_end_encode(hospital_ids.combine_chunks()).run_ends.to_pylist()
    batches: list[tuple[int, int]] = []
    start = previous = 0
    for end in ends:
        if end - start > batch_rows and previous > start:
            batches.append((start, previous))
            start = previous
        previous = end
    batches.append((start, previous))
    return batches


def _rows_by_hospital(
    con: duckdb.DuckDBPyConnection, ordered: pa.Table, columns: _Columns
) -> dict[str, list[pa.Buffer]]:
    """The ``<row>`` texts of ``ordered`` (sorted by hospital), as zero-copy byte ranges per hospital."""
    con.register("sheet_in", ordered.select([c[0] for c in columns]))
    try:  # a plain projection keeps the scan order (preserve_insertion_order, DuckDB's default)
        plain = _plain_text_columns(ordered, columns)
        nullable = {name for name, _, _ in columns if ordered.column(name).null_count}
        sql = _row_sql(columns, nullable=nullable, plain=plain)
        xml = con.sql(f"SELECT {sql} AS x FROM sheet_in").to_arrow_table().column(0)
    finally:
        con.unregister("sheet_in")
    runs = pc.run_end_encode(ordered.column("hospital_id").combine_chunks())
    ends = runs.run_ends.to_pylist()
    hospitals = runs.values.to_pylist()
    pieces: dict[str, list[pa.Buffer]] = {str(h): [] for h in hospitals}
    run, start, position = 0, 0, 0
    for chunk in xml.chunks:
        stop = position + len(chunk)
        while run < len(ends) and start < stop:
            end = min(ends[run], stop)
            pieces[str(hospitals[run])].append(_text_bytes(chunk.slice(start - position, end - start)))
            start = end
            if end == ends[run]:
                run += 1
        position = stop
    return pieces


def _text_bytes(texts: pa.Array) -> pa.Buffer:
    """The bytes of a slice of a (large) string array without nulls, all texts end to end."""
    width = np.int64 if pa.types.is_large_string(texts.type) else np.int32
    offsets = np.frombuffer(texts.buffers()[1], dtype=width)[texts.offset : texts.offset + len(texts) + 1]
    data = texts.buffers()[2]
    if data is None or not len(texts):
        return pa.py_buffer(b"")
    return data.slice(int(offsets[0]), int(offsets[-1] - offsets[0]))


def _plain_text_columns(table: pa.Table, columns: _Columns) -> set[str]:
    """The text columns of ``table`` with no character XML escapes or forbids: their cells are
    written as they are (nearly always: codes and ids).

    Every such character is ASCII (``&``, ``<``, ``>``, the control characters but tab, line
    feed and carriage return), and in UTF-8 an ASCII byte is always that character, so the text
    bytes are looked up as they lie in the column's buffers: a quarter of the time of a regular
    expression over each text (0.05 against 0.2 CPU-s at a million cases). Bytes a NULL slot may
    hold are looked at too; at worst a column is escaped for nothing (the same cells).
    """
    return {
        name
        for name, _, kind in columns
        if kind == "text"
        and name != "category"
        and (
            pa.types.is_string(table.schema.field(name).type)
            or pa.types.is_large_string(table.schema.field(name).type)
        )
        and not any(_has_special_byte(chunk) for chunk in table.column(name).chunks)
    }


#: The bytes ``_plain_text_columns`` looks for: ``&``, ``<``, ``>`` and the control characters
#: XML 1.0 forbids (the ones ``_row_sql`` removes: ``_CONTROL_SQL``).
_SPECIAL_BYTE = np.zeros(256, dtype=bool)
_SPECIAL_BYTE[[ord("&"), ord("<"), ord(">"), *range(1, 9), 11, 12, *range(14, 32)]] = True


def _has_special_byte(texts: pa.Array) -> bool:
    data = texts.buffers()[2]
    if data is None or not len(texts):
        return False
    width = np.int64 if pa.types.is_large_string(texts.type) else np.int32
    offsets = np.frombuffer(texts.buffers()[1], dtype=width)[texts.offset : texts.offset + len(texts) + 1]
    used = np.frombuffer(data, dtype=np.uint8)[int(offsets[0]) : int(offsets[-1])]
    return bool(_SPECIAL_BYTE[used].any())


def _row_sql(
    columns: _Columns, *, nullable: set[str] | None = None, plain: AbstractSet[str] = frozenset()
) -> str:
    """SQL for one ``<row>`` of SpreadsheetML from the row's values, in column order.

    One ``concat`` builds the row (a chain of ``||`` makes a new string per operator, ten
    times slower at a million rows); a column in ``nullable`` (None: every column) writes an
    empty ``<c/>`` for NULL; a text column in ``plain`` has nothing to escape (checked first).
    """
    parts = ["'<row>'"]
    for name, _, kind in columns:
        value = f'"{name}"'
        if kind == "text":
            if name in ("category", "scheme"):  # coded: the Chinese label (nothing to escape)
                codes = CATEGORY_LABELS if name == "category" else SCHEME_LABELS
                labels = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in codes.items())
                text = f"CASE {value} {labels} ELSE {value} END"
            elif name in plain:
                text = value
            else:  # control characters are not allowed in XML 1.0
                text = f"translate(CAST({value} AS VARCHAR), {_CONTROL_SQL}, '')"
                text = f"replace(replace(replace({text}, '&', '&amp;'), '<', '&lt;'), '>', '&gt;')"
            cell = ["'<c t=\"inlineStr\"><is><t>'", text, "'</t></is></c>'"]
        else:
            cell = [f"'<c s=\"{_STYLE[kind]}\"><v>'", f"CAST({value} AS VARCHAR)", "'</v></c>'"]
        if nullable is None or name in nullable:
            parts.append(f"CASE WHEN {value} IS NULL THEN '<c/>' ELSE concat({', '.join(cell)}) END")
        else:
            parts += cell
    parts.append("'</row>'")
    return f"concat({', '.join(parts)})"


def _header_xml(columns: _Columns) -> str:
    cells = "".join(
        f'<c t="inlineStr" s="1"><is><t>{_escape(header)}</t></is></c>' for _, header, _ in columns
    )
    return f"<row>{cells}</row>"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _sheet_head(header: str, width: int) -> bytes:
    cols = "".join(f'<col min="{j}" max="{j}" width="16" customWidth="1"/>' for j in range(1, width + 1))
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="{_MAIN}"><sheetViews><sheetView workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>'
        f"<cols>{cols}</cols><sheetData>{header}"
    ).encode()


_SHEET_TAIL = b"</sheetData></worksheet>"


def _write_book(path: Path, sheets: list[tuple[str, str, list[pa.Buffer], int]]) -> None:
    """A minimal .xlsx: content types, relationships, workbook, styles and the sheets."""
    n = len(sheets)
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{_CT}worksheet+xml"/>'
        for i in range(1, n + 1)
    )
    content_types = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="{_PKG}content-types">'
        f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}sheet.main+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{_CT}styles+xml"/>{overrides}</Types>'
    )
    root_rels = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_PKG}relationships">'
        f'<Relationship Id="rId1" Type="{_REL}officeDocument" Target="xl/workbook.xml"/></Relationships>'
    )
    sheet_list = "".join(
        f'<sheet name="{_escape(title)}" sheetId="{i}" r:id="rId{i}"/>'
        for i, (title, *_) in enumerate(sheets, 1)
    )
    workbook = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{_MAIN}" '
        f'xmlns:r="{_REL.rstrip("/")}"><sheets>{sheet_list}</sheets></workbook>'
    )
    rels = "".join(
        f'<Relationship Id="rId{i}" Type="{_REL}worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, n + 1)
    )
    workbook_rels = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_PKG}relationships">'
        f'{rels}<Relationship Id="rId{n + 1}" Type="{_REL}styles" Target="styles.xml"/></Relationships>'
    )
    partial = path.with_name(path.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        parts = [
            ("[Content_Types].xml", content_types.encode()),
            ("_rels/.rels", root_rels.encode()),
            ("xl/workbook.xml", workbook.encode()),
            ("xl/_rels/workbook.xml.rels", workbook_rels.encode()),
            ("xl/styles.xml", _STYLES.encode()),
        ]
        for name, data in parts:
            book.writestr(_entry(name), data)
        for i, (_, header, rows, width) in enumerate(sheets, 1):
            with book.open(_entry(f"xl/worksheets/sheet{i}.xml"), "w", force_zip64=True) as sheet:
                _deflate_with_isal(sheet)
                _write_blocks(sheet, [_sheet_head(header, width), *rows, _SHEET_TAIL])
    partial.replace(path)


#: The size of each write into a sheet's compressor.
_BLOCK = 1 << 20


def _write_blocks(entry: IO[bytes], pieces: Sequence[bytes | pa.Buffer]) -> None:
    """Write ``pieces`` end to end in blocks of ``_BLOCK`` bytes (the last one shorter).

    ISA-L's deflate stream depends on where the writes split the bytes, and the pieces split
    where DuckDB's result chunks do; fixed blocks make the file a function of its bytes alone
    (the same run, the same workbook). Whole blocks are slices of the pieces, not copies.
    """
    pending = bytearray()
    for piece in pieces:
        view = memoryview(piece)
        if pending:
            take = min(_BLOCK - len(pending), len(view))
            pending += view[:take]
            view = view[take:]
            if len(pending) < _BLOCK:
                continue
            entry.write(pending)
            pending = bytearray()
        whole = len(view) - len(view) % _BLOCK
        for start in range(0, whole, _BLOCK):
            entry.write(view[start : start + _BLOCK])
        pending += view[whole:]
    if pending:
        entry.write(pending)


def _deflate_with_isal(entry: IO[bytes]) -> None:
    """Deflate a zip entry being written with ISA-L instead of zlib (same raw deflate stream,
    about four times faster at level 1 and a little smaller): the sheets are most of the bytes.

    zipfile's entry writer keeps its compressor in ``_compressor`` (Python 3.11–3.13); where it
    does not, the entry stays with zlib.
    """
    if getattr(entry, "_compressor", None) is not None:
        setattr(entry, "_compressor", isal_zlib.compressobj(1, isal_zlib.DEFLATED, -15))  # noqa: B010


def _entry(name: str) -> zipfile.ZipInfo:
    """A zip entry with a fixed date (same run, same bytes), deflated at level 1 (fast)."""
    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    setattr(info, "_compresslevel", 1)  # noqa: B010 (Python 3.11's name; open() reads it)
    return info


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_PKG = "http://schemas.openxmlformats.org/package/2006/"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml."
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<styleSheet xmlns="{_MAIN}">'
    '<numFmts count="3"><numFmt numFmtId="164" formatCode="#,##0.00"/>'
    '<numFmt numFmtId="165" formatCode="0.00000000"/><numFmt numFmtId="166" formatCode="#,##0.0000"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    "</fills>"
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="7"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="3" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)
