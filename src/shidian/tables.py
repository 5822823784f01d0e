"""Input tables (输入表): the generic file adapter from CSV or Excel to a typed Arrow table.

A user uploads a table as CSV (UTF-8, UTF-8 with BOM, or GBK/GB18030 as Chinese Excel saves
it) or as a workbook (``.xlsx``, legacy ``.xls``, also ``.xlsm``/``.xlsb``/``.ods``: the first
sheet), with English, Chinese or national-platform headers; a batch may also read ``.parquet`` (a
province's cases as a data lake holds them, docs/scale.md), checked cell by cell the same way.
``read_table`` reads it against a
``TableSpec`` and returns ``(table, problems)``:

* every cell is first read as text (CSV through ``pyarrow.csv``; workbooks through calamine,
  numbers turned into their shortest text of at most 15 significant digits as Excel shows them,
  dates into ``YYYY-MM-DD``), then validated and cast
  column by column in one DuckDB query: no Python loop per row on the CSV path, no float for
  money or points. Only the bad rows, at most ``limit`` of them, become Python objects;
* the header is row 1, or rows 1–2 when row 1 is a group header merged over row 2 (医疗费用 over
  总费用 / 统筹支付 / 个人现金, the usual bureau template): then a column's header is the joined
  ``医疗费用-统筹支付``, matched by itself or by its row-2 part, and data start in row 3;
* a header matches a column by its name or an alias, in any case; aliases include the 医保信息平台's
  field names (``psn_no``, ``setl_id``, ``medfee_sumamt`` …, docs/national-fields.md), and a
  column may translate the platform's codes (``med_type`` ``21`` → inpatient) under those headers;
* EVERY bad cell is a ``Problem`` with ``Source(file, row, column)``: ``row`` is the sheet row
  (the first data row is row 2, or 3 under a two-row header), ``column`` the header as written in
  the file (the canonical name when the column is absent). Problems are sorted by row, then column
  position; after ``limit`` of them one ``table.problems.truncated`` says how many more exist;
* with any error the table is ``None``; otherwise it has the spec's columns, typed, in spec
  order, plus ``_row`` (int32, the sheet row) at the end. Unknown columns are dropped; rows whose
  every cell is blank are skipped (Excel writes them after formatted ranges).

Text rules: cells are trimmed of blanks (also full-width and no-break spaces); numbers accept
thousands separators (``1,234.50``) but not scientific notation; money keeps 2 decimals and
points/decimal 8 (``12.500`` is fine, ``12.345`` is ``too_many_decimals``: never rounded);
dates are ``YYYY-MM-DD``, ``YYYY/M/D``, ``YYYYMMDD``, optionally followed by a time that is
dropped; flags are ``0/1``, ``是/否``, ``true/false``.

Problem codes: ``table.file.{unreadable,encoding}``, ``table.column.{missing,duplicate}``,
``table.row.{wrong_field_count,duplicate_key}``, ``table.cell.{required,not_integer,not_number,
too_many_decimals,below_min,above_max,not_date,not_flag,not_allowed}``, ``table.problems.truncated``.
A CSV row with the wrong number of fields is reported alone (cells are not checked then).
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import itertools
import mmap
import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pv

from shidian import duck
from shidian.money import MONEY_SCALE, MONEY_SQL_TYPE, POINT_SCALE, POINTS_SQL_TYPE
from shidian.problems import Problem, Source

ColumnKind = Literal["str", "int", "money", "points", "decimal", "date", "flag"]

_ARROW_TYPES: dict[str, pa.DataType] = {
    "str": pa.string(),
    "int": pa.int64(),
    "money": pa.decimal128(18, MONEY_SCALE),
    "points": pa.decimal128(38, POINT_SCALE),
    "decimal": pa.decimal128(38, POINT_SCALE),
    "date": pa.date32(),
    "flag": pa.int8(),
}
_DECIMAL_SQL = {"money": (MONEY_SQL_TYPE, MONEY_SCALE), "points": (POINTS_SQL_TYPE, POINT_SCALE)}
_DECIMAL_SQL["decimal"] = _DECIMAL_SQL["points"]
_SQL_TYPES = {"str": "VARCHAR", "int": "BIGINT", "date": "DATE", "flag": "TINYINT"} | {
    kind: sql_type for kind, (sql_type, _) in _DECIMAL_SQL.items()
}
_NUMERIC = ("int", "money", "points", "decimal")
_BLANKS = " \t\r\n\u00a0\u3000"
_INT_RE = r"[+-]?([0-9]+|[0-9]{1,3}(,[0-9]{3})+)"
_NUM_RE = _INT_RE + r"(\.[0-9]+)?"
_TIME_RE = r"( ([01]?[0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?)?"
_DATE_RE = rf"[0-9]{{4}}(-[0-9]{{1,2}}-[0-9]{{1,2}}|/[0-9]{{1,2}}/[0-9]{{1,2}}){_TIME_RE}|[0-9]{{8}}"
_FLAGS = {"1": 1, "true": 1, "是": 1, "0": 0, "false": 0, "否": 0}
_HEAD_BYTES = 1 << 20
#: Workbook suffixes read through calamine (the first sheet); other files are read as CSV.
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
_ZIP_MAGIC = b"PK\x03\x04"  # .xlsx/.xlsm/.xlsb/.ods are zip files
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls (BIFF8 in an OLE2 compound file)
#: The most columns a file may have (no input table has more than a few dozen): a wider header
#: is refused before any cell is read (issue 22 finding 8: 20,000 columns took minutes).
MAX_COLUMNS = 1000

# Error numbers computed in SQL -> (problem code, zh-CN message template with English gist).
_CELL_ERRORS = {
    1: ("table.cell.required", "{label} 不能为空 (required)"),
    2: ("table.cell.not_integer", '{label} "{value}" 不是整数 (not an integer)'),
    3: ("table.cell.not_number", '{label} "{value}" 不是数字 (not a number)'),
    4: ("table.cell.too_many_decimals", '{label} "{value}" 小数超过 {scale} 位 (too many decimals)'),
    5: ("table.cell.below_min", '{label} "{value}" 小于最小值 {min} (below minimum)'),
    6: ("table.cell.above_max", '{label} "{value}" 大于最大值 {max} (above maximum)'),
    7: ("table.cell.not_date", '{label} "{value}" 不是有效日期，应为 YYYY-MM-DD (not a date)'),
    8: ("table.cell.not_flag", '{label} "{value}" 应为 0/1、是/否 (not a flag)'),
    9: ("table.cell.not_allowed", '{label} "{value}" 不是允许的值：{choices} (not allowed)'),
    10: ("table.cell.not_number", '{label} "{value}" 超出可表示的范围 (number out of range)'),
}


@dataclass(frozen=True)
class Column:
    """One column of an input table (输入列): canonical name, kind, accepted headers, rules.

    ``nullable`` allows blank cells; they become ``default`` when set, else null. ``default`` also
    fills an absent optional column. ``min``/``max`` are inclusive bounds for numeric kinds,
    ``choices`` the allowed values of a ``str`` column; ``label`` is the Chinese name in messages.

    ``coded`` are headers (aliases) whose cells hold codes of a national dictionary rather than
    our values, e.g. the 医保信息平台's ``med_type`` ``21`` (普通住院); ``codes`` maps each code to
    the value it stands for. Only a column found under a coded header is translated (an ``01``
    under 医院等级 stays 1); a code not in ``codes`` is checked as it is, and is refused then.
    """

    name: str
    kind: ColumnKind
    aliases: tuple[str, ...] = ()
    required: bool = True
    nullable: bool = False
    default: str | None = None
    min: Decimal | None = None
    max: Decimal | None = None
    choices: tuple[str, ...] | None = None
    label: str = ""
    coded: tuple[str, ...] = ()
    codes: tuple[tuple[str, str], ...] = ()
    #: Other texts accepted for a choice (its Chinese label and common variants) → the choice,
    #: e.g. ``(("特困户", "tekun"), ("特困", "tekun"))``; see ``labelled``.
    synonyms: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not self.name.isidentifier() or self.name.startswith("_"):
            raise ValueError(f"column name {self.name!r} must be an identifier not starting with _")
        if self.kind not in _ARROW_TYPES:
            raise ValueError(f"column {self.name}: unknown kind {self.kind!r}")
        if self.choices is not None and self.kind != "str":
            raise ValueError(f"column {self.name}: choices need kind 'str'")
        if (self.min is not None or self.max is not None) and self.kind not in _NUMERIC:
            raise ValueError(f"column {self.name}: min/max need a numeric kind")
        if self.synonyms and (self.choices is None or any(c not in self.choices for _, c in self.synonyms)):
            raise ValueError(f"column {self.name}: a synonym must name one of the choices")
        if self.default is not None and not _valid_default(self, self.default):
            raise ValueError(f"column {self.name}: default {self.default!r} is not a valid {self.kind}")
        if set(self.coded) - set(self.aliases) or bool(self.coded) != bool(self.codes):
            raise ValueError(f"column {self.name}: coded headers must be aliases, and need codes")
        for code, value in self.codes:  # a code may stand for a value outside ``choices``: refused
            if not _valid_default(replace(self, choices=None, coded=(), codes=(), synonyms=()), value):
                raise ValueError(
                    f"column {self.name}: code {code!r} maps to {value!r}, not a valid {self.kind}"
                )


def labelled(labels: dict[str, str], *variants: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    """Synonyms of coded choices from their Chinese labels: each label, the label without a
    parenthesis (``一般参合人员 (普通)`` → ``一般参合人员``), the code in capitals, plus the
    ``variants`` given as (text, code)."""
    pairs: dict[str, str] = {}
    for code, label in labels.items():
        for text in (label, re.split(r"\s*[(（]", label)[0], code.upper(), code.capitalize()):
            if text and text != code:
                pairs.setdefault(text, code)
    for text, code in variants:
        pairs.setdefault(text, code)
    return tuple(pairs.items())


#: A bad value repeated in at least this many rows of a column is reported once, with its row
#: count and first rows, instead of once per row.
REPEATED = 3
#: How many rows a repeated value's problem names.
FIRST_ROWS = 5


@dataclass(frozen=True)
class TableSpec:
    """An input table (输入表): file stem, columns, and the unique key (唯一键) if any."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    #: Chinese file names also accepted for the table (``医疗机构.xlsx`` for ``hospitals``).
    titles: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for col in self.columns:
            headers = {h.casefold() for h in (col.name, *col.aliases)}
            if headers & seen:
                raise ValueError(f"table {self.name}: header {sorted(headers & seen)} is ambiguous")
            seen |= headers
        unknown = set(self.key) - {c.name for c in self.columns}
        if unknown:
            raise ValueError(f"table {self.name}: key columns {sorted(unknown)} are not columns")


def find_table(data_dir: Path, name: str, titles: tuple[str, ...] = ()) -> Path | None:
    """The file for table ``name`` in ``data_dir``: ``name.csv``, ``.xlsx``, legacy ``.xls`` (suffix
    in any case; also ``.xlsm``, ``.xlsb``, ``.ods``) or ``name.parquet`` (a file, or a folder of
    part files as Spark writes it); or a file named by one of its Chinese ``titles``
    (``医疗机构.xlsx``).

    When several exist the CSV is returned, then the first in that order; a caller that must
    refuse ambiguity checks for them.
    """
    if not data_dir.is_dir():
        return None
    stems = (name, *titles)
    files = sorted(
        (
            p
            for p in data_dir.iterdir()
            if p.stem in stems and (p.is_file() or (p.is_dir() and p.suffix.lower() == ".parquet"))
        ),
        key=lambda p: (stems.index(p.stem), p),
    )
    for suffix in (".csv", *EXCEL_SUFFIXES, ".parquet"):
        for path in files:
            if path.suffix.lower() == suffix:
                return path
    return None


def read_table(
    path: Path,
    spec: TableSpec,
    *,
    display_name: str | None = None,
    limit: int = 1000,
    keep_valid_rows: bool = False,
) -> tuple[pa.Table | None, list[Problem]]:
    """Read ``path`` (CSV or .xlsx) as ``spec``: the typed table, or ``None`` and every Problem.

    ``keep_valid_rows``: when only some cells or keys are bad (the headers are right), also
    return the rows read, each bad cell blank, so that a caller can check the other cells
    against other tables in the same round (the problems still say the file is not accepted).
    """
    file = display_name or path.name
    try:
        if path.is_dir():
            head = b""
        else:
            with path.open("rb") as f:
                head = f.read(_HEAD_BYTES)
    except OSError as exc:
        return None, [_file_problem(file, "unreadable", f"无法打开文件 (cannot open): {exc}")]
    if path.suffix.lower() == ".parquet" or head.startswith(b"PAR1"):
        read = _read_parquet(path, file)
    elif path.suffix.lower() in EXCEL_SUFFIXES or head.startswith((_ZIP_MAGIC, _OLE_MAGIC)):
        read = _read_excel(path, file)
    else:
        read = _read_csv(path, file, head, limit)
    if isinstance(read, list):
        return None, read
    first, second, merged, raw = read
    layout, problems, raw = _choose_header(first, second, merged, raw, spec, file)
    return _validate(raw, layout, problems, spec, limit, keep_valid_rows)


def first_rows(path: Path, limit: int) -> list[list[str]]:
    """The first ``limit`` rows of a CSV or workbook as the texts a user sees, for a preview.

    The file is assumed readable (``read_table`` has checked it): a CSV undecodable as UTF-8 is
    decoded as GB18030 with replacement characters, an unreadable workbook gives no rows.
    """
    with path.open("rb") as handle:
        head = handle.read(1 << 18)
    if path.suffix.lower() in EXCEL_SUFFIXES or head.startswith((_ZIP_MAGIC, _OLE_MAGIC)):
        from python_calamine import CalamineWorkbook

        try:
            book = CalamineWorkbook.from_path(str(path))
            try:
                rows = book.get_sheet_by_index(0).to_python(skip_empty_area=False, nrows=limit)
            finally:
                book.close()
        except Exception:
            return []
        return [[_cell_text(v) for v in row] for row in rows[:limit]]
    final = len(head) < 1 << 18
    try:
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=final)
    except UnicodeDecodeError:
        text = codecs.getincrementaldecoder("gb18030")(errors="replace").decode(head, final=final)
    return list(itertools.islice(csv.reader(io.StringIO(text)), limit))


# ---- reading: every cell as text, plus the sheet row ---------------------------------------


# Both readers return the texts of the first two rows (the header, and either a second header
# row or the first data row), the merged ranges of an Excel sheet (None for CSV), and a table of
# trimmed cells c0, c1, … plus ``_row`` for every row from row 2 on.
_Read = tuple[list[str], list[str], "list[_Range] | None", pa.Table]
_Range = tuple[tuple[int, int], tuple[int, int]]


def _read_csv(path: Path, file: str, head: bytes, limit: int) -> _Read | list[Problem]:
    if not head.strip():
        return [_file_problem(file, "unreadable", "文件是空的 (empty file)")]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return [_file_problem(file, "encoding", "不支持 UTF-16，请另存为 CSV UTF-8 (UTF-16 not supported)")]
    final = len(head) < _HEAD_BYTES
    encodings = ["utf8"] if head.startswith(codecs.BOM_UTF8) else ["utf8", "gb18030"]
    for encoding in encodings:
        try:
            text = codecs.getincrementaldecoder(encoding)().decode(head, final=final)
            records = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
            headers = next(records, [])
            if not headers:
                return [_file_problem(file, "unreadable", "第 1 行没有表头 (no header in row 1)")]
            if len(headers) > MAX_COLUMNS:
                return [_too_many_columns(file, len(headers))]
            second = next(records, [])
            read = _read_csv_as(path, file, headers, encoding, limit)
            if isinstance(read, list):
                return read
            return headers, [c.strip(_BLANKS) for c in second], None, read
        except (UnicodeDecodeError, pa.ArrowException) as exc:
            if not isinstance(exc, UnicodeDecodeError) and "invalid UTF8" not in str(exc):
                return [_file_problem(file, "unreadable", f"无法解析 CSV (cannot parse CSV): {exc}")]
        except csv.Error as exc:
            return [_file_problem(file, "unreadable", f"无法解析表头 (cannot parse header): {exc}")]
    return [_file_problem(file, "encoding", "既不是 UTF-8 也不是 GBK 编码 (neither UTF-8 nor GBK)")]


def _read_csv_as(
    path: Path, file: str, headers: list[str], encoding: str, limit: int
) -> pa.Table | list[Problem]:
    names = [f"c{i}" for i in range(len(headers))]
    bad_rows: list[Any] = []
    quoted, blanks = _quotes_and_blanks(path) if encoding == "utf8" else (True, True)

    def on_invalid(row: Any) -> str:
        bad_rows.append(row)
        return "skip"

    def read(threads: bool) -> pa.Table:
        return pv.read_csv(
            path,
            read_options=pv.ReadOptions(
                column_names=names, skip_rows=1, encoding=encoding, use_threads=threads, block_size=1 << 24
            ),
            parse_options=pv.ParseOptions(  # a value has a newline only inside quotes
                newlines_in_values=quoted, ignore_empty_lines=False, invalid_row_handler=on_invalid
            ),
            convert_options=pv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )

    raw = read(threads=True)
    if bad_rows:  # rows with a wrong number of fields: read again, in one thread, for row numbers
        bad_rows.clear()
        read(threads=False)
        return [
            Problem(
                "table.row.wrong_field_count",
                f"第 {r.number} 行有 {r.actual_columns} 个字段，表头有 {r.expected_columns} 列 "
                f"(expected {r.expected_columns} fields, got {r.actual_columns})",
                Source(file, row=r.number),
                details={"text": r.text[:200]},
            )
            for r in bad_rows[:limit]
        ] + _truncation(file, len(bad_rows) - limit)
    # trim column by column, so each untrimmed one is freed at once; one table built at the end
    # (set_column per column copies the schema each time: quadratic in the columns)
    count, columns = raw.num_rows, list(raw.columns)
    del raw
    for i, column in enumerate(columns if blanks else []):
        columns[i] = pc.utf8_trim(column, _BLANKS)
        del column
    rows = duck.connect().sql(f"SELECT range::INTEGER AS _row FROM range(2, {count + 2})")
    return pa.table([*columns, rows.to_arrow_table().column(0)], names=[*names, "_row"])


def _quotes_and_blanks(path: Path) -> tuple[bool, bool]:
    """Whether a UTF-8 file has a quote, and whether a cell of it may have a blank to trim.

    Without a quote no value holds a line break (``\r`` and ``\n`` end rows), so pyarrow need
    not look for them in values (its threads then split the file at any line: about 0.2 s of
    CPU less for a million rows), and a file with no space, tab, no-break or full-width space
    after its header has nothing to trim (0.15 s). One scan of the bytes, mapped, not read.
    """
    with path.open("rb") as handle:
        if not handle.seek(0, io.SEEK_END):
            return True, True
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            if data.find(b'"') >= 0:
                return True, True
            start = data.find(b"\n") + 1  # the header's own blanks are not trimmed here
            blanks = any(data.find(b, start) >= 0 for b in (b" ", b"\t")) or any(
                data.find(lead, start) >= 0 and data.find(blank, start) >= 0  # a lead byte first: quicker
                for lead, blank in ((b"\xc2", "\u00a0".encode()), (b"\xe3", "\u3000".encode()))
            )
            return False, blanks


def _read_excel(path: Path, file: str) -> _Read | list[Problem]:
    """The first sheet of a workbook (.xlsx, .xlsm, .xlsb, legacy .xls, .ods) through calamine."""
    from python_calamine import CalamineWorkbook  # an adapter dependency, loaded only for Excel files

    try:
        book = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own types for a damaged or foreign file
        return [_file_problem(file, "unreadable", f"无法打开 Excel 文件 (cannot open workbook): {exc}")]
    try:
        sheet = book.get_sheet_by_index(0)
        rows = sheet.to_python(skip_empty_area=False)  # row i is sheet row i + 1
        merged = list(sheet.merged_cell_ranges or [])
    except Exception as exc:
        return [_file_problem(file, "unreadable", f"无法读取 Excel 文件 (cannot read workbook): {exc}")]
    finally:
        book.close()
    first = [_cell_text(v).strip(_BLANKS) for v in (rows[0] if rows else [])]
    second = [_cell_text(v).strip(_BLANKS) for v in (rows[1] if len(rows) > 1 else [])]
    width = max(_used_width(first), _used_width(second))
    for (top, left), (_, right) in merged:  # a group header merged to the right edge counts too
        if top == 0 and first[left : left + 1] != [""]:
            width = max(width, right + 1)
    if width > MAX_COLUMNS:
        return [_too_many_columns(file, width)]
    data = rows[1:]
    columns: list[pa.Array] = []
    transposed = list(zip(*data, strict=True)) if data else []
    for j in range(width):
        values = transposed[j] if j < len(transposed) else ("",) * len(data)
        columns.append(_column_text(values))
    columns.append(pa.array(range(2, len(data) + 2), pa.int32()))
    raw = pa.table(columns, names=[f"c{i}" for i in range(width)] + ["_row"])
    return first, second, merged, raw


def _used_width(cells: list[str]) -> int:
    """The number of cells up to the last non-blank one (formatted empty columns on the right)."""
    width = len(cells)
    while width and not cells[width - 1].strip():
        width -= 1
    return width


def _column_text(values: tuple[Any, ...]) -> pa.Array:
    """One sheet column as trimmed texts: text cells in one Arrow pass, other values one by one."""
    if all(type(v) is str for v in values):
        return pc.utf8_trim(pa.array(values, pa.string()), _BLANKS)
    return pa.array([_cell_text(v).strip(_BLANKS) for v in values], pa.string())


def _read_parquet(path: Path, file: str) -> _Read | list[Problem]:
    """A Parquet file (or folder of parts): each column as its text (a DECIMAL keeps its scale,
    a date is ``YYYY-MM-DD``), then the same checks as a CSV; ``row`` counts as in a CSV (the
    first record is row 2)."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for a damaged or foreign file
        return [_file_problem(file, "unreadable", f"无法读取 Parquet 文件 (cannot read Parquet): {exc}")]
    return _arrow_read(table, file)


def read_arrow_table(
    table: pa.Table, spec: TableSpec, file: str, *, limit: int = 1000, keep_valid_rows: bool = False
) -> tuple[pa.Table | None, list[Problem]]:
    """``read_table`` of a table already read as Arrow (Parquet read by Spark from a URI): every
    cell as its text, then the same checks as a Parquet file named ``file``."""
    read = _arrow_read(table, file)
    if isinstance(read, list):
        return None, read
    first, second, merged, raw = read
    layout, problems, raw = _choose_header(first, second, merged, raw, spec, file)
    return _validate(raw, layout, problems, spec, limit, keep_valid_rows)


def arrow_sha256(table: pa.Table) -> str:
    """The sha256 of a table's content (its Arrow IPC stream, one batch): what ``run.json``
    records for an input read from a URI, where there is no one file to hash."""
    import hashlib

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table.combine_chunks())
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


def _arrow_read(table: pa.Table, file: str) -> _Read | list[Problem]:
    """An Arrow table as ``_read_parquet`` reads a file: each column as text, a ``_row``."""
    # a column with no value at all (an optional column a lake's schema carries, all NULL) is
    # read as absent, as a CSV without that column would be
    table = table.select([i for i, c in enumerate(table.columns) if len(c) == 0 or c.null_count < len(c)])
    arrays = []
    for column in table.columns:
        text = column if pa.types.is_string(column.type) else pc.cast(column, pa.string())  # large_string too
        arrays.append(pc.utf8_trim(pc.fill_null(text, ""), _BLANKS))
    arrays.append(pa.chunked_array([pa.array(range(2, table.num_rows + 2), pa.int32())]))
    names = [f"c{i}" for i in range(table.num_columns)] + ["_row"]
    if table.num_columns > MAX_COLUMNS:
        return [_too_many_columns(file, table.num_columns)]
    return list(table.column_names), [], None, pa.table(arrays, names=names)


def _cell_text(value: object) -> str:
    """An Excel value as the text a user sees: shortest float text (at most Excel's 15 digits)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        if value.is_integer():
            return str(int(value))
        text = repr(value)
        if "e" not in text and len(text) <= 16:  # at most 15 digits: the text Excel shows
            return text
        number = Decimal(text)
        if len(number.as_tuple().digits) > 15:  # float noise beyond what Excel stores and shows
            number = Decimal(format(value, ".15g"))
        return format(number, "f")
    return str(value)


# ---- the header: one row, or a group row merged over a second row ----------------------------


def _choose_header(
    first: list[str],
    second: list[str],
    merged: list[_Range] | None,
    raw: pa.Table,
    spec: TableSpec,
    file: str,
) -> tuple[_Layout, list[Problem], pa.Table]:
    """The header of the file: row 1, or rows 1–2 when row 1 groups the columns of row 2.

    Bureau templates put a group header (医疗费用) merged over the headers of row 2 (总费用 /
    统筹支付 / 个人现金). Rows 1–2 are read as the header when row 1 alone misses a required
    column and the joined headers find more of the spec's columns; a joined header is
    ``group-header`` (医疗费用-统筹支付) and matches a column by itself or by its row-2 part.
    """
    width = _used_width(first)
    one = [h.replace("\ufeff", "").strip() for h in first[:width]]
    layout, problems = _match_headers(one, [None] * len(one), spec, file, first_row=2)
    if second and any(p.code == "table.column.missing" for p in problems):
        joined, parts = _joined_headers(first, second, merged, raw.num_columns - 1)
        two, two_problems = _match_headers(joined, parts, spec, file, first_row=3)
        if len(two.found) > len(layout.found):
            return two, two_problems, raw.slice(1)
    kept = [f"c{i}" for i in range(width)]
    return layout, problems, raw.select([*kept, "_row"]) if raw.num_columns - 1 != width else raw


def _joined_headers(
    first: list[str], second: list[str], merged: list[_Range] | None, width: int
) -> tuple[list[str], list[str | None]]:
    """Rows 1–2 as one header per column (``group-header``), and each column's row-2 part."""
    top = [h.replace("\ufeff", "").strip() for h in first[:width]] + [""] * (width - len(first))
    low = (second[:width] + [""] * width)[:width]
    for (r0, c0), (_, c1) in merged or []:  # a merged group cell stands over all its columns
        if r0 == 0 and c0 < width:
            for c in range(c0 + 1, min(c1, width - 1) + 1):
                top[c] = top[c0]
    for c in range(1, width):  # a CSV (or an unmerged sheet) leaves the group's other cells blank
        if not top[c] and low[c] and top[c - 1] and low[c - 1]:
            top[c] = top[c - 1]
    joined: list[str] = []
    parts: list[str | None] = []
    for group, header in zip(top, low, strict=True):
        both = bool(group and header and group != header)
        joined.append(f"{group}-{header}" if both else group or header)
        parts.append(header if both else None)
    return joined, parts


# ---- validation: one columnar pass in DuckDB ------------------------------------------------


def _validate(
    raw: pa.Table,
    layout: _Layout,
    problems: list[Problem],
    spec: TableSpec,
    limit: int,
    keep_valid_rows: bool,
) -> tuple[pa.Table | None, list[Problem]]:
    headers, file = layout.headers, layout.file
    texts: list[str] = []
    values: list[str] = []
    errors: list[str] = []
    if not problems:  # nearly every file is clean: checked first by a cheaper query
        clean = _clean_table(raw, layout, spec)
        if clean is not None:
            return clean, []
    for i, col in enumerate(spec.columns):
        t, m, v = f"t{i}", f"m{i}", _quote(col.name)
        text = _text_sql(col, layout)
        # an absent optional column without default: all null, nothing to check
        error = _error_sql(col, t, m, v) if text is not None else "NULL"
        text = text or "NULL::VARCHAR"
        match = _match_sql(col, t)
        texts.append(f"{text} AS {t}, {match} AS {m}")
        values.append(f"{t}, {m}, {_value_sql(col, t, m)} AS {v}")
        errors.append(f"CAST({error} AS TINYINT) AS _e{i}")
    blank_row = " AND ".join(f"c{i} = ''" for i in range(len(headers))) or "TRUE"
    sql = (
        f"SELECT _row, {', '.join(_quote(c.name) for c in spec.columns)}, {', '.join(errors)} FROM ("
        f"SELECT _row, {', '.join(values)} FROM (SELECT _row, {', '.join(texts)} FROM raw "
        f"WHERE NOT ({blank_row})))"
    )
    con = duck.connect()
    con.register("raw", raw)
    result = con.sql(sql).to_arrow_table()
    error_names = [f"_e{i}" for i in range(len(spec.columns))]
    total = len(problems) + sum(len(result) - result[e].null_count for e in error_names)
    if total > len(problems):
        con.register("result", result)
        repeated = _repeated_values(con, spec, layout)
        if repeated:  # one problem per repeated value; the rows of the others one by one
            problems += [p for p, _ in repeated]
            total -= sum(n - 1 for _, n in repeated)
            bad = _other_bad_rows(con, spec, layout, repeated, limit)
        else:
            mask = functools.reduce(pc.or_, [pc.is_valid(result[e]) for e in error_names])
            bad = result.select(["_row", *error_names]).filter(mask).slice(0, limit).to_pylist()
        problems += _cell_problems(bad, raw, spec, layout)
    if spec.key:
        con.register("result", result)
        duplicates, more = _duplicate_keys(con, spec, layout, limit)
        problems, total = problems + duplicates, total + more
    position = {header: index for index, header in reversed(list(enumerate(headers)))}
    problems.sort(key=lambda p: (p.where.row or 0, position.get(p.where.column or "", -1)))
    header_problem = any(p.code.startswith("table.column.") for p in problems)
    problems = problems[:limit] + _truncation(file, total - limit)
    names = [c.name for c in spec.columns]
    schema = pa.schema([(c.name, _ARROW_TYPES[c.kind]) for c in spec.columns] + [("_row", pa.int32())])
    if problems:
        if not keep_valid_rows or header_problem:
            return None, problems
        kept = result.select([*names, "_row"])
        for i, name in enumerate(names):  # a bad cell is blank, so no check reads its value
            column = kept.column(name)
            blank = pa.nulls(len(kept), column.type)
            kept = kept.set_column(i, name, pc.if_else(pc.is_valid(result[error_names[i]]), blank, column))
        return kept.cast(schema), problems
    return result.select([*names, "_row"]).cast(schema), []


def _text_sql(col: Column, layout: _Layout, *, default: bool = True) -> str | None:
    """A column's cell text as checked: codes and synonyms translated, a blank given the
    default (unless ``default`` is false); the default for an absent column; None for an absent
    column without default (or any absent column when ``default`` is false)."""
    if col.name not in layout.found:
        return _lit(col.default) if col.default is not None and default else None
    text = f"c{layout.found[col.name]}"
    if layout.coded.get(col.name):  # national codes to our values; others checked as they are
        cases = " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in col.codes)
        text = f"CASE {text} {cases} ELSE {text} END"
    if col.synonyms:  # a Chinese label or variant is read as its code
        cases = " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in col.synonyms)
        text = f"CASE {text} {cases} ELSE {text} END"
    if col.default is not None and default:
        text = f"CASE WHEN {text} = '' THEN {_lit(col.default)} ELSE {text} END"
    return text


def _clean_table(raw: pa.Table, layout: _Layout, spec: TableSpec) -> pa.Table | None:
    """The typed table when every cell is clean, else None (then the full check names each bad
    cell).

    Clean means: no entirely blank row, no repeated key, and every cell valid in its simplest
    shape: a number or date exactly as DuckDB writes its value (``12.30``, ``2020-01-31``: the
    text of nearly every cell a machine exports), a flag exactly one of its texts, a text in its
    choices, or a blank where the column allows it. Each such cell is one the full check accepts
    at once (its shape test starts with the same comparison) and reads by the same cast; a blank
    given the default is checked and read by the full check's own expressions. Any other cell,
    valid or not, sends the whole table to the full check. The query only casts and says
    whether every cell of a row is clean; a plain text column is taken from the file as it is.
    """
    if raw.num_rows == 0:
        return None
    typed, plain = _clean_rows(raw, layout, spec)
    clean = typed.column("_clean")
    if clean.null_count or not pc.all(clean).as_py() or not typed.column("_row").equals(raw.column("_row")):
        return None
    columns = []
    for col in spec.columns:
        if col.name not in plain:
            columns.append(typed.column(col.name))
            continue
        column = raw.column(plain[col.name])
        if col.nullable:  # a blank is null
            blank = pc.equal(column, "")
            if pc.any(blank).as_py():
                column = pc.if_else(blank, pa.scalar(None, pa.string()), column)
        columns.append(column)
    schema = pa.schema([(c.name, _ARROW_TYPES[c.kind]) for c in spec.columns] + [("_row", pa.int32())])
    table = pa.table([*columns, raw.column("_row")], names=schema.names).cast(schema)
    return table if not spec.key or _unique_keys(table, spec.key) else None


def _clean_rows(raw: pa.Table, layout: _Layout, spec: TableSpec) -> tuple[pa.Table, dict[str, int]]:
    """``_clean_table``'s query: ``_row``, each column's value but plain texts, and ``_clean``
    (whether every cell of the row is clean); and the plain text columns (name -> position)."""
    texts: list[tuple[str, str]] = []  # each present column's t<i> and text (codes, synonyms read)
    values: list[str] = []  # each column's value but plain texts, as v<i>
    checks: list[str] = []  # whether a row's cell is clean, for each present or defaulted column
    plain: dict[str, int] = {}  # text columns taken as they are: name -> position in ``raw``
    blank_rows_fail = False  # whether a column refuses a blank, so an entirely blank row fails
    for i, col in enumerate(spec.columns):
        base, t, v = _text_sql(col, layout, default=False), f"t{i}", f"v{i}"
        if col.kind == "str" and col.default is None and base == f"c{layout.found.get(col.name)}":
            plain[col.name] = layout.found[col.name]
        # a blank is fine where the column may be null; one given the default, where the full
        # check accepts the default (its own expressions, on the default's text)
        blank_ok, default = ("TRUE" if col.nullable else "FALSE"), None
        if col.default is not None:
            d = _lit(col.default)
            match = _match_sql(col, d)
            default = _value_sql(col, d, match)
            blank_ok = f"({_error_sql(col, d, match, default)}) IS NULL"
        if base is None:  # an absent column: its default in every row, or null
            value = default or f"CAST(NULL AS {_SQL_TYPES[col.kind]})"
            if default:
                checks.append(blank_ok)
        else:
            texts.append((t, base))
            value, valid = _clean_sql(col, t, v)
            if default:
                value = f"CASE WHEN {t} = '' THEN {default} ELSE {value} END"
            if blank_ok == "FALSE":
                blank_rows_fail = True
                checks.append(f"{t} <> '' AND {valid}" if valid != "TRUE" else f"{t} <> ''")
            elif blank_ok == "TRUE":
                checks.append(f"({t} = '' OR {valid})" if valid != "TRUE" else "TRUE")
            else:
                checks.append(f"CASE WHEN {t} = '' THEN {blank_ok} ELSE {valid} END")
        if col.name not in plain:
            values.append(f"{value} AS {v}")
    inner, middle = (
        ["_row", *(f"{base} AS {t}" for t, base in texts)],
        ["_row", *(t for t, _ in texts), *values],
    )
    if not blank_rows_fail:
        blank_row = " AND ".join(f"c{i} = ''" for i in range(len(layout.headers))) or "TRUE"
        inner.append(f"{blank_row} AS _blank")
        middle.append("_blank")
        checks.append("NOT _blank")
    names = [f"v{i} AS {_quote(c.name)}" for i, c in enumerate(spec.columns) if c.name not in plain]
    sql = (
        f"SELECT {', '.join(['_row', *names])}, coalesce({' AND '.join(checks) or 'TRUE'}, FALSE) AS _clean "
        f"FROM (SELECT {', '.join(middle)} FROM (SELECT {', '.join(inner)} FROM raw))"
    )
    con = duck.connect()
    try:
        con.register("raw", raw)
        return con.sql(sql).to_arrow_table(), plain
    finally:
        con.close()


def _clean_sql(col: Column, t: str, v: str) -> tuple[str, str]:
    """The value of a clean non-blank cell ``t`` of ``col``, and whether the cell is clean given
    that value ``v``."""
    if col.kind == "str":
        allowed = "TRUE" if col.choices is None else f"{t} IN ({', '.join(map(_lit, col.choices))})"
        return f"NULLIF({t}, '')", allowed
    if col.kind == "flag":  # 0 and 1 first: nearly every cell
        cases = " ".join(
            f"WHEN {_lit(k)} THEN {n}" for k, n in sorted(_FLAGS.items(), key=lambda f: not f[0].isdigit())
        )
        return f"CAST(CASE {t} {cases} END AS TINYINT)", f"{t} IN ({', '.join(map(_lit, _FLAGS))})"
    valid = [f"{v}::VARCHAR = {t}"]  # the first test of _match_sql
    if col.kind == "date":  # as in _match_sql and _error_sql
        valid = [f"length({t}) = 10", *valid, f"{v} >= DATE '0001-01-01'"]
    if col.min is not None:
        valid.append(f"{v} >= {_dec_lit(col.min)}")
    if col.max is not None:
        valid.append(f"{v} <= {_dec_lit(col.max)}")
    return f"TRY_CAST({t} AS {_SQL_TYPES[col.kind]})", " AND ".join(valid)


def _unique_keys(table: pa.Table, key: tuple[str, ...]) -> bool:
    """Whether no two rows have the same key (rows with a blank key part not counted). A
    one-column key in strictly increasing order (a machine's export, usually) is seen at once."""
    if len(key) == 1:
        column = table.column(key[0])
        n = len(column)
        if n < 2 or (
            not column.null_count and pc.all(pc.less(column.slice(0, n - 1), column.slice(1))).as_py()
        ):
            return True
    con = duck.connect()
    try:
        con.register("result", table)
        keys = ", ".join(map(_quote, key))
        present = " AND ".join(f"{_quote(k)} IS NOT NULL" for k in key)
        repeated = con.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM result WHERE {present} GROUP BY {keys} HAVING count(*) > 1)"
        ).fetchone()
    finally:
        con.close()
    return not (repeated and repeated[0])


@dataclass(frozen=True)
class _Layout:
    """Where the spec's columns are in one file: canonical name -> position of its header.

    ``first_row`` is the sheet row of the first data row: 2 under a one-row header, 3 under two.
    """

    file: str
    headers: list[str]
    found: dict[str, int]
    first_row: int
    coded: dict[str, bool]

    def header(self, name: str) -> str:
        """The header as written in the file, or the canonical name of an absent column."""
        return self.headers[self.found[name]] if name in self.found else name


def _match_headers(
    headers: list[str], parts: list[str | None], spec: TableSpec, file: str, first_row: int
) -> tuple[_Layout, list[Problem]]:
    """Map each spec column to the file position of its header; missing and duplicate headers.

    A header matches a column by its name or an alias, in any case; a joined two-row header
    (``医疗费用-统筹支付``) also by its row-2 part (``统筹支付``) when the whole does not match.
    """
    problems: list[Problem] = []
    found: dict[str, int] = {}
    coded: dict[str, bool] = {}
    for index, (header, part) in enumerate(zip(headers, parts, strict=True)):
        name = header
        matches = [c for c in spec.columns if _matches(c, header)]
        if not matches and part is not None:
            name, matches = part, [c for c in spec.columns if _matches(c, part)]
        for col in matches[:1]:
            if col.name in found:
                first = headers[found[col.name]]
                message = f'列 "{header}" 与列 "{first}" 重复，都是 {col.name} (duplicate column)'
                problems.append(Problem("table.column.duplicate", message, Source(file, 1, header)))
            else:
                found[col.name] = index
                coded[col.name] = any(name.casefold() == h.casefold() for h in col.coded)
    for col in spec.columns:
        if col.required and col.name not in found:
            names = "、".join(n for n in dict.fromkeys([col.label, col.name, *col.aliases]) if n)
            message = f"缺少列 {names} (missing required column)"
            problems.append(Problem("table.column.missing", message, Source(file, None, col.name)))
    return _Layout(file, headers, found, first_row, coded), problems


def _matches(col: Column, header: str) -> bool:
    folded = header.casefold()
    return any(folded == h.casefold() for h in (col.name, *col.aliases))


def _pattern(col: Column) -> str | None:
    """The text shape a valid cell has (RE2 syntax, also valid for Python ``re``)."""
    if col.kind == "int":
        return _INT_RE
    if col.kind in _DECIMAL_SQL:  # at most `scale` decimals, not counting trailing zeros
        return _INT_RE + rf"(\.[0-9]{{1,{_DECIMAL_SQL[col.kind][1]}}}0*)?"
    return _DATE_RE if col.kind == "date" else None


def _match_sql(col: Column, t: str) -> str:
    """Whether a cell has its column's shape (``_pattern``). A cell that is already the text
    DuckDB writes for its value (``12.30``, ``2020-01-31``: nearly every cell of a machine's
    export) has it, so the regular expression runs only on the others."""
    pattern = _pattern(col)
    if pattern is None:
        return "NULL"
    regex = f"regexp_full_match({t}, {_lit(pattern)})"
    if col.kind == "date":  # DuckDB writes a year beyond 9999 with more digits: not the shape
        canonical = f"length({t}) = 10 AND TRY_CAST({t} AS DATE)::VARCHAR = {t}"
    else:
        canonical = f"TRY_CAST({t} AS {_DECIMAL_SQL.get(col.kind, ('BIGINT', 0))[0]})::VARCHAR = {t}"
    return f"CASE WHEN {canonical} THEN TRUE ELSE {regex} END"


def _value_sql(col: Column, t: str, m: str) -> str:
    if col.kind == "str":
        return f"NULLIF({t}, '')"
    if col.kind == "int":
        return f"CASE WHEN {m} THEN {_number_cast(t, 'BIGINT')} END"
    if col.kind == "date":  # the shape is checked, so only the separators and the time need care
        iso = f"CASE WHEN {t}[5] IN ('-', '/') THEN replace(split_part({t}, ' ', 1), '/', '-') "
        iso += f"ELSE concat_ws('-', {t}[1:4], {t}[5:6], {t}[7:8]) END"
        # YYYY-MM-DD, nearly every cell, is cast as it is: no new strings for a million dates
        plain = f"length({t}) = 10 AND {t}[5] = '-' AND {t}[8] = '-'"
        return f"CASE WHEN {m} THEN CASE WHEN {plain} THEN TRY_CAST({t} AS DATE) ELSE TRY_CAST({iso} AS DATE) END END"
    if col.kind == "flag":
        cases = " ".join(f"WHEN {_lit(k)} THEN {v}" for k, v in _FLAGS.items())
        common = " ".join(f"WHEN {_lit(k)} THEN {v}" for k, v in _FLAGS.items() if k.isdigit())
        return f"CAST(CASE {t} {common} ELSE CASE lower({t}) {cases} END END AS TINYINT)"
    return f"CASE WHEN {m} THEN {_number_cast(t, _DECIMAL_SQL[col.kind][0])} END"


def _number_cast(t: str, sql_type: str) -> str:
    """A checked number's text as ``sql_type``; thousands separators are removed only where there
    are some (a new string per cell costs more than the cast)."""
    return f"CASE WHEN contains({t}, ',') THEN TRY_CAST(replace({t}, ',', '') AS {sql_type}) ELSE TRY_CAST({t} AS {sql_type}) END"


def _error_sql(col: Column, t: str, m: str, v: str) -> str:
    blank = "NULL" if col.nullable else "1"
    checks = [f"WHEN {t} = '' THEN {blank}"]
    if col.kind == "str" and col.choices is not None:
        checks.append(f"WHEN {t} NOT IN ({', '.join(map(_lit, col.choices))}) THEN 9")
    elif col.kind == "int":
        checks += [f"WHEN NOT {m} THEN 2", f"WHEN {v} IS NULL THEN 10"]
    elif col.kind in _DECIMAL_SQL:
        number = f"regexp_full_match({t}, {_lit(_NUM_RE)})"
        checks += [f"WHEN NOT {m} THEN CASE WHEN {number} THEN 4 ELSE 3 END", f"WHEN {v} IS NULL THEN 10"]
    elif col.kind == "date":  # year 0 parses in DuckDB but is no calendar date (nor a Python one)
        checks.append(f"WHEN {v} IS NULL OR {v} < DATE '0001-01-01' THEN 7")
    elif col.kind == "flag":
        checks.append(f"WHEN {v} IS NULL THEN 8")
    if col.min is not None:
        checks.append(f"WHEN {v} < {_dec_lit(col.min)} THEN 5")
    if col.max is not None:
        checks.append(f"WHEN {v} > {_dec_lit(col.max)} THEN 6")
    return f"CASE {' '.join(checks)} END"


def _cell_problems(
    bad: list[dict[str, Any]], raw: pa.Table, spec: TableSpec, layout: _Layout
) -> list[Problem]:
    """Problems for the bad rows only; texts are fetched by position (sheet row - first data row)."""
    indices = pa.array([row["_row"] - layout.first_row for row in bad], pa.int64())
    problems = []
    for i, col in enumerate(spec.columns):
        position = layout.found.get(col.name)
        cells = raw.column(position).take(indices).to_pylist() if position is not None else []
        header = layout.header(col.name)
        for n, row in enumerate(bad):
            number = row[f"_e{i}"]
            if number is None:
                continue
            code, template = _CELL_ERRORS[number]
            value = cells[n] if cells else col.default or ""
            message = _cell_message(template, col, header, value)
            where = Source(layout.file, row["_row"], header)
            problems.append(Problem(code, message, where, details={"column": col.name, "value": value}))
    return problems


def _repeated_values(
    con: duckdb.DuckDBPyConnection, spec: TableSpec, layout: _Layout
) -> list[tuple[Problem, int]]:
    """A bad value that repeats in ``REPEATED`` rows or more of a column: one Problem naming its
    first row, the row count and the first ``FIRST_ROWS`` rows (one query per column)."""
    found: list[tuple[Problem, int]] = []
    for i, col in enumerate(spec.columns):
        position = layout.found.get(col.name)
        if position is None:
            continue
        rows = con.execute(
            f"SELECT r._e{i}, raw.c{position}, count(*), list(r._row ORDER BY r._row)[1:{FIRST_ROWS}] "
            f"FROM result r JOIN raw USING (_row) WHERE r._e{i} IS NOT NULL GROUP BY ALL "
            f"HAVING count(*) >= {REPEATED} ORDER BY min(r._row)"
        ).fetchall()
        header = layout.header(col.name)
        for number, value, count, first_rows in rows:
            code, template = _CELL_ERRORS[number]
            shown = "、".join(map(str, first_rows)) + ("…" if count > len(first_rows) else "")
            message = (
                _cell_message(template, col, header, value) + f"; 共 {count} 行 (第 {shown} 行; {count} rows)"
            )
            details = {"column": col.name, "value": value, "rows": str(count), "first_rows": shown}
            found.append(
                (Problem(code, message, Source(layout.file, first_rows[0], header), details=details), count)
            )
    return found


def _other_bad_rows(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    layout: _Layout,
    repeated: list[tuple[Problem, int]],
    limit: int,
) -> list[dict[str, Any]]:
    """The bad rows, at most ``limit``, with the errors of repeated values left out."""
    grouped: dict[str, list[str]] = {}
    for problem, _ in repeated:
        grouped.setdefault(problem.details["column"], []).append(problem.details["value"])
    errors, any_left = [], []
    for i, col in enumerate(spec.columns):
        error = f"r._e{i}"
        if col.name in grouped:
            values = ", ".join(map(_lit, grouped[col.name]))
            error = f"CASE WHEN raw.c{layout.found[col.name]} IN ({values}) THEN NULL ELSE r._e{i} END"
        errors.append(f"{error} AS _e{i}")
        any_left.append(f"{error} IS NOT NULL")
    sql = (
        f"SELECT r._row AS _row, {', '.join(errors)} FROM result r JOIN raw USING (_row) "
        f"WHERE {' OR '.join(any_left)} ORDER BY r._row LIMIT {limit}"
    )
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _cell_message(template: str, col: Column, header: str, value: str) -> str:
    scale = _DECIMAL_SQL.get(col.kind, ("", 0))[1]
    return template.format(
        label=col.label or header or col.name,
        value=value,
        scale=scale,
        min=col.min,
        max=col.max,
        choices=_choices_text(col),
    )


def _choices_text(col: Column) -> str:
    """The allowed values as a message lists them: the Chinese label beside each code."""
    labels: dict[str, str] = {}
    for text, code in col.synonyms:
        labels.setdefault(code, text)
    shown = [f"{labels[c]} ({c})" if c in labels else c for c in (col.choices or ())]
    return "、".join(shown[:10]) + ("…" if len(shown) > 10 else "")


def _duplicate_keys(
    con: duckdb.DuckDBPyConnection, spec: TableSpec, layout: _Layout, limit: int
) -> tuple[list[Problem], int]:
    """Every row whose key repeats an earlier row's key (重复的键), naming the first row."""
    keys = ", ".join(map(_quote, spec.key))
    present = " AND ".join(f"{_quote(k)} IS NOT NULL" for k in spec.key)
    count_sql = f"SELECT count(*) - 1 AS n FROM result WHERE {present} GROUP BY {keys} HAVING count(*) > 1"
    count = con.execute(f"SELECT coalesce(sum(n), 0) FROM ({count_sql})").fetchone()
    total = int(count[0]) if count else 0
    if not total:
        return [], 0
    rows = con.execute(
        f"SELECT _row, _first, {keys} FROM (SELECT _row, {keys}, min(_row) OVER (PARTITION BY {keys}) AS _first "
        f"FROM result WHERE {present}) WHERE _row > _first ORDER BY _row LIMIT {limit}"
    ).fetchall()
    where = Source(layout.file, None, layout.header(spec.key[0]))
    problems = []
    for row, first_row, *values in rows:
        shown = ", ".join(f"{k}={v}" for k, v in zip(spec.key, values, strict=True))
        message = f"键 {shown} 与第 {first_row} 行重复 (duplicate key, first in row {first_row})"
        details = {"first_row": str(first_row), "key": shown}
        problems.append(Problem("table.row.duplicate_key", message, replace(where, row=row), details=details))
    return problems, total


# ---- small helpers --------------------------------------------------------------------------


def _valid_default(col: Column, text: str) -> bool:
    """Whether a spec's default text is a valid value of its column (checked once, in Python)."""
    if col.kind == "str":
        return col.choices is None or text in col.choices
    if col.kind == "flag":
        return text.lower() in _FLAGS
    if col.kind == "date":
        try:
            return date.fromisoformat(text).isoformat() == text
        except ValueError:
            return False
    return re.fullmatch(_pattern(col) or "", text) is not None


def _quote(name: str) -> str:
    return f'"{name}"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _dec_lit(value: Decimal) -> str:
    exponent = value.as_tuple().exponent
    scale = max(0, -exponent) if isinstance(exponent, int) else 0
    return f"CAST({_lit(format(value, 'f'))} AS DECIMAL(38, {min(scale, 37)}))"


def _file_problem(file: str, reason: str, message: str) -> Problem:
    return Problem(f"table.file.{reason}", message, Source(file))


def _too_many_columns(file: str, count: int) -> Problem:
    message = f"表头有 {count} 列, 超过上限 {MAX_COLUMNS} 列 (too many columns)"
    return _file_problem(file, "too_many_columns", message)


def _truncation(file: str, more: int) -> list[Problem]:
    if more <= 0:
        return []
    message = f"另有 {more} 个问题未列出 ({more} more problems not listed)"
    return [Problem("table.problems.truncated", message, Source(file), details={"more": str(more)})]
