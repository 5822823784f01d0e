"""The files bureaus actually have (issue 20): legacy .xls, two-row merged Chinese headers, and
headers or codes of the national medical-insurance platform (医保信息平台). Each test writes a
real file the way the bureau's tool would (xlwt for .xls, openpyxl with merged cells, GBK CSV)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
import xlwt

from shidian.problems import Source
from shidian.tables import Column, TableSpec, find_table, first_rows, read_table
from tests.test_tables import HEADER_ZH, SPEC

# ---- legacy .xls ----------------------------------------------------------------------------


def _xls(
    path: Path, rows: list[list[object]], merges: tuple[tuple[int, int, int, int, str], ...] = ()
) -> Path:
    """A BIFF8 workbook as Excel 97–2003 saves it; dates are numbers with a date format."""
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("病例")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    merged_cells = {
        (r, c) for r0, r1, c0, c1, _ in merges for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)
    }
    for r0, r1, c0, c1, label in merges:
        sheet.write_merge(r0, r1, c0, c1, label)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None or (r, c) in merged_cells:
                continue
            if isinstance(value, dt.date):
                sheet.write(r, c, value, date_style)
            else:
                sheet.write(r, c, value)
    book.save(str(path))
    return path


def test_legacy_xls_reads_like_csv(tmp_path: Path) -> None:
    """旧版 .xls (Excel 97–2003): numbers, dates and text read as the text a user sees."""
    path = _xls(
        tmp_path / "cases.xls",
        [
            HEADER_ZH.split(","),
            ["A1", 100.5, 1.25, dt.date(2020, 1, 5), 3, 0, "一级"],
            [],
            ["A2", 1234, None, dt.date(2020, 2, 29), 10, "是", None],
        ],
    )
    assert path.read_bytes()[:4] == b"\xd0\xcf\x11\xe0"  # a real OLE2 compound file
    table, problems = read_table(path, SPEC)
    assert problems == []
    assert table is not None
    assert table.column("case_id").to_pylist() == ["A1", "A2"]
    assert table.column("total_cost").to_pylist() == [Decimal("100.50"), Decimal("1234.00")]
    assert table.column("admitted_on").to_pylist() == [dt.date(2020, 1, 5), dt.date(2020, 2, 29)]
    assert table.column("transferred").to_pylist() == [0, 1]
    assert table.column("_row").to_pylist() == [2, 4]


def test_legacy_xls_problems_name_sheet_row_and_header(tmp_path: Path) -> None:
    path = _xls(
        tmp_path / "cases.xls",
        [
            HEADER_ZH.split(","),
            ["A1", 100.505, 1, dt.date(2020, 1, 1), 2, 0],
            ["A2", "12a", 1, "someday", 3, 0],
        ],
    )
    problems = read_table(path, SPEC)[1]
    assert [(p.code, p.where) for p in problems] == [
        ("table.cell.too_many_decimals", Source("cases.xls", 2, "医疗总费用")),
        ("table.cell.not_number", Source("cases.xls", 3, "医疗总费用")),
        ("table.cell.not_date", Source("cases.xls", 3, "入院日期")),
    ]


def test_find_table_finds_a_legacy_xls(tmp_path: Path) -> None:
    (tmp_path / "cases.XLS").write_bytes(b"")
    assert find_table(tmp_path, "cases") == tmp_path / "cases.XLS"
    (tmp_path / "cases.xlsx").write_bytes(b"")
    assert find_table(tmp_path, "cases") == tmp_path / "cases.xlsx"


def test_a_csv_named_xls_is_unreadable_not_misread(tmp_path: Path) -> None:
    path = tmp_path / "cases.xls"
    path.write_text(HEADER_ZH + "\nA1,1,,2020-01-01,1,0,\n", encoding="utf-8")
    table, problems = read_table(path, SPEC)
    assert table is None
    assert [p.code for p in problems] == ["table.file.unreadable"]


# ---- two-row merged headers -----------------------------------------------------------------

# The usual bureau template: columns without a group span both header rows (merged A1:A2), a
# group header 费用 is merged over 医疗总费用 / 病例点数 in row 2.
TEMPLATE_TOP = ["病例编号", "费用", None, "入院日期", "住院天数"]
TEMPLATE_LOW = [None, "医疗总费用", "病例点数", None, None]
TEMPLATE_MERGES = ("A1:A2", "B1:C1", "D1:D2", "E1:E2")


def _merged_xlsx(path: Path, rows: list[list[object]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(TEMPLATE_TOP)
    sheet.append(TEMPLATE_LOW)
    for ref in TEMPLATE_MERGES:
        sheet.merge_cells(ref)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_two_row_merged_header_in_xlsx(tmp_path: Path) -> None:
    """费用 over 医疗总费用 / 病例点数: read as 费用-医疗总费用 and 费用-病例点数, data from row 3."""
    path = _merged_xlsx(
        tmp_path / "cases.xlsx",
        [["A1", 100.5, 1.25, dt.date(2020, 1, 5), 3], ["A2", 7, None, dt.date(2020, 1, 6), 4]],
    )
    table, problems = read_table(path, SPEC)
    assert problems == []
    assert table is not None
    assert table.column("total_cost").to_pylist() == [Decimal("100.50"), Decimal("7.00")]
    assert table.column("points").to_pylist() == [Decimal("1.25"), None]
    assert table.column("_row").to_pylist() == [3, 4]


def test_problems_under_a_merged_header_name_the_joined_header_and_sheet_row(tmp_path: Path) -> None:
    path = _merged_xlsx(
        tmp_path / "cases.xlsx",
        [["A1", 1, None, dt.date(2020, 1, 5), 3], [], ["A2", "x", "1.123456789", "2020-13-01", 4]],
    )
    table, problems = read_table(path, SPEC)
    assert table is None
    assert [(p.code, p.where, p.details.get("value")) for p in problems] == [
        ("table.cell.not_number", Source("cases.xlsx", 5, "费用-医疗总费用"), "x"),
        ("table.cell.too_many_decimals", Source("cases.xlsx", 5, "费用-病例点数"), "1.123456789"),
        ("table.cell.not_date", Source("cases.xlsx", 5, "入院日期"), "2020-13-01"),
    ]


def test_joined_header_matches_its_alias(tmp_path: Path) -> None:
    """An alias may name the joined header itself (医疗费用-统筹支付) when the row-2 text alone
    (统筹支付) is no alias; the joined text wins over the part."""
    spec = TableSpec(
        "cases",
        (
            Column("case_id", "str", ("病案号",)),
            Column("fund_paid", "money", ("医疗费用-统筹支付",)),
            Column("patient_cash", "money", ("个人现金",)),
        ),
    )
    lines = ["病案号,医疗费用,,", ",统筹支付,个人现金,备注", "Z1,80.00,20.00,x", "Z2,1,2,"]
    path = tmp_path / "cases.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))  # a bureau's CSV: GBK, CRLF, no merges
    table, problems = read_table(path, spec)
    assert problems == []
    assert table is not None
    assert table.to_pylist() == [
        {"case_id": "Z1", "fund_paid": Decimal("80.00"), "patient_cash": Decimal("20.00"), "_row": 3},
        {"case_id": "Z2", "fund_paid": Decimal("1.00"), "patient_cash": Decimal("2.00"), "_row": 4},
    ]


def test_two_row_merged_header_in_legacy_xls(tmp_path: Path) -> None:
    path = _xls(
        tmp_path / "cases.xls",
        [[], [None, "医疗总费用", "病例点数", None, None], ["A1", 12, 0.5, dt.date(2020, 3, 1), 2]],
        merges=(
            (0, 1, 0, 0, "病例编号"),
            (0, 0, 1, 2, "费用"),
            (0, 1, 3, 3, "入院日期"),
            (0, 1, 4, 4, "住院天数"),
        ),
    )
    table, problems = read_table(path, SPEC)
    assert problems == []
    assert table is not None
    assert table.to_pylist()[0]["points"] == Decimal("0.5")
    assert table.column("_row").to_pylist() == [3]


def test_a_one_row_header_with_a_missing_column_is_not_read_as_two_rows(tmp_path: Path) -> None:
    """Row 2 is data: joining it to row 1 finds nothing more, so the missing column is reported."""
    path = tmp_path / "cases.csv"
    path.write_text("case_id,points,admitted_on,days\nA1,1,2020-01-01,1\n", encoding="utf-8")
    table, problems = read_table(path, SPEC)
    assert table is None
    assert [(p.code, p.where) for p in problems] == [
        ("table.column.missing", Source("cases.csv", None, "total_cost"))
    ]


def test_preview_rows_of_a_workbook_are_the_texts_a_user_sees(tmp_path: Path) -> None:
    path = _merged_xlsx(tmp_path / "cases.xlsx", [["A1", 100.5, 1.25, dt.datetime(2020, 1, 5, 8, 0), 3]])
    assert first_rows(path, 3) == [
        ["病例编号", "费用", "", "入院日期", "住院天数"],
        ["", "医疗总费用", "病例点数", "", ""],
        ["A1", "100.5", "1.25", "2020-01-05", "3"],
    ]


# ---- coded values ---------------------------------------------------------------------------

CODED = TableSpec(
    "claims",
    (
        Column("claim_id", "str", ("setl_id",)),
        Column(
            "kind",
            "str",
            ("就诊类型", "med_type"),
            choices=("inpatient", "outpatient"),
            coded=("med_type",),
            codes=(("11", "outpatient"), ("21", "inpatient")),
        ),
    ),
)


def test_codes_are_translated_only_under_a_coded_header(tmp_path: Path) -> None:
    path = tmp_path / "claims.csv"
    path.write_text("SETL_ID,med_type\nS1,21\nS2,11\nS3,inpatient\nS4,14\n", encoding="utf-8")
    table, problems = read_table(path, CODED)
    assert [(p.code, p.where, p.details["value"]) for p in problems] == [
        ("table.cell.not_allowed", Source("claims.csv", 5, "med_type"), "14")
    ]
    path.write_text("claim_id,就诊类型\nS1,21\n", encoding="utf-8")
    assert [p.code for p in read_table(path, CODED)[1]] == ["table.cell.not_allowed"]
    path.write_text("claim_id,med_type\nS1,21\nS2,11\n", encoding="utf-8")
    table, problems = read_table(path, CODED)
    assert problems == []
    assert table is not None
    assert table.column("kind").to_pylist() == ["inpatient", "outpatient"]


@pytest.mark.parametrize(
    "make",
    [
        lambda: Column("k", "str", ("a",), coded=("b",), codes=(("1", "x"),)),  # coded header not an alias
        lambda: Column("k", "str", ("a",), coded=("a",)),  # coded without codes
        lambda: Column("k", "int", ("a",), coded=("a",), codes=(("01", "one"),)),  # code to a non-integer
    ],
)
def test_contradictory_codes_are_refused(make: object) -> None:
    with pytest.raises(ValueError):
        make()  # type: ignore[operator]
