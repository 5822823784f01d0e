"""Cells of exported files (导出单元格), the one door against formula injection (issue 22
finding 5): text typed by users or read from files (names, user names, file names) must open
in Excel or WPS as text, never as a live formula.

* CSV: a text cell that starts with ``= + - @``, a tab or a carriage return is written with a
  leading apostrophe (``'=HYPERLINK(…)``), the spreadsheet convention for "this is text". A plain
  number (``-12.50``, ``+3``) is left alone: it cannot be a formula, and the files stay numeric.
* Excel: every text cell is a text cell. xlsxwriter books are opened with ``XLSX_OPTIONS``
  (``write()`` then never turns a string into a formula or a link); openpyxl cells pass through
  ``openpyxl_text``. Formulas a report means to write go through ``write_formula`` explicitly.

Pure (no Excel library): the adapters that write files import it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

#: Characters that make a spreadsheet read a cell as a formula (or split it), per OWASP.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?\Z")
#: The same tests in DuckDB (``csv_sql``): the first characters as SQL, the number pattern.
_SQL_CHARS = ("'='", "'+'", "'-'", "'@'", "chr(9)", "chr(13)")
_SQL_NUMBER = "[+-]?[0-9]+(\\.[0-9]+)?"

#: xlsxwriter ``Workbook`` options: a string is a string (no formula, no hyperlink, no number).
XLSX_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}


def csv_cell(value: Any) -> Any:
    """``value`` as a CSV cell: text that a spreadsheet would run is neutralised."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def csv_row(values: Iterable[Any]) -> list[Any]:
    """A row of ``csv_cell`` values (for ``csv.writer.writerow``)."""
    return [csv_cell(v) for v in values]


def csv_sql(column: str) -> str:
    """The DuckDB expression of ``csv_cell`` over a VARCHAR column (quoted name ``column``): a
    test of the first character, the number pattern only for the few cells that pass it."""
    name = '"' + column.replace('"', '""') + '"'
    starts = ", ".join(_SQL_CHARS)
    return (
        f"CASE WHEN left({name}, 1) IN ({starts}) AND NOT regexp_full_match({name}, '{_SQL_NUMBER}') "
        f"THEN '''' || {name} ELSE {name} END AS {name}"
    )


def openpyxl_text(cell: Any) -> Any:
    """An openpyxl cell holding a string as text, even one starting with ``=``."""
    if isinstance(cell.value, str) and cell.data_type == "f":
        cell.data_type = "s"
    return cell
