"""Input tables (输入表): CSV in UTF-8/BOM/GBK and Excel, read into typed Arrow with every Problem."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import openpyxl
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shidian.problems import Problem, Source
from shidian.tables import Column, TableSpec, find_table, read_table
from tests.properties import examples

SPEC = TableSpec(
    name="cases",
    columns=(
        Column("case_id", "str", aliases=("病例编号",), label="病例编号"),
        Column("total_cost", "money", aliases=("医疗总费用",), label="医疗总费用", min=Decimal(0)),
        Column("points", "points", aliases=("病例点数",), label="病例点数", nullable=True),
        Column("admitted_on", "date", aliases=("入院日期",), label="入院日期"),
        Column("days", "int", aliases=("住院天数",), label="住院天数", min=Decimal(1), max=Decimal(365)),
        Column("transferred", "flag", aliases=("是否转院",), label="是否转院", required=False, default="0"),
        Column(
            "level",
            "str",
            aliases=("医院等级",),
            label="医院等级",
            required=False,
            nullable=True,
            choices=("一级", "二级", "三级"),
        ),
    ),
    key=("case_id",),
)
HEADER_ZH = "病例编号,医疗总费用,病例点数,入院日期,住院天数,是否转院,医院等级"
HEADER_EN = "case_id,total_cost,points,admitted_on,days,transferred,level"
GOOD_ROWS = ["A1,100.50,1.25,2020-01-05,3,0,一级", 'A2,"1,234.00",,2020/2/29,10,是,']


def write_csv(tmp_path: Path, lines: list[str], encoding: str = "utf-8", newline: str = "\n") -> Path:
    path = tmp_path / "cases.csv"
    path.write_bytes((newline.join(lines) + newline).encode(encoding))
    return path


def read_csv(
    tmp_path: Path, lines: list[str], spec: TableSpec = SPEC, limit: int = 1000
) -> tuple[pa.Table | None, list[Problem]]:
    return read_table(write_csv(tmp_path, lines), spec, limit=limit)


def problems_of(
    tmp_path: Path, rows: list[str], header: str = HEADER_EN, limit: int = 1000
) -> list[tuple[str, Source]]:
    table, problems = read_csv(tmp_path, [header, *rows], limit=limit)
    assert table is None
    return [(p.code, p.where) for p in problems]


def where(row: int | None, column: str | None) -> Source:
    return Source("cases.csv", row, column)


# ---- encodings and formats ----------------------------------------------------------------


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings_with_chinese_headers_read_identically(
    tmp_path: Path, encoding: str, newline: str
) -> None:
    """Chinese Excel saves GBK with CRLF; "CSV UTF-8" adds a BOM. All read to the same table."""
    table, problems = read_table(write_csv(tmp_path, [HEADER_ZH, *GOOD_ROWS], encoding, newline), SPEC)
    assert problems == []
    assert table is not None
    assert table.schema == pa.schema(
        [
            ("case_id", pa.string()),
            ("total_cost", pa.decimal128(18, 2)),
            ("points", pa.decimal128(38, 8)),
            ("admitted_on", pa.date32()),
            ("days", pa.int64()),
            ("transferred", pa.int8()),
            ("level", pa.string()),
            ("_row", pa.int32()),
        ]
    )
    assert table.to_pylist() == [
        {
            "case_id": "A1",
            "total_cost": Decimal("100.50"),
            "points": Decimal("1.25000000"),
            "admitted_on": dt.date(2020, 1, 5),
            "days": 3,
            "transferred": 0,
            "level": "一级",
            "_row": 2,
        },
        {
            "case_id": "A2",
            "total_cost": Decimal("1234.00"),
            "points": None,
            "admitted_on": dt.date(2020, 2, 29),
            "days": 10,
            "transferred": 1,
            "level": None,
            "_row": 3,
        },
    ]


def test_gbk_body_under_an_ascii_header_is_detected(tmp_path: Path) -> None:
    """The header alone is valid UTF-8; the GBK cells further down must still decode."""
    table, problems = read_table(write_csv(tmp_path, [HEADER_EN, "病例1,1,,2020-01-01,1,,三级"], "gbk"), SPEC)
    assert problems == []
    assert table is not None
    assert table.column("case_id").to_pylist() == ["病例1"]
    assert table.column("level").to_pylist() == ["三级"]


def test_bytes_neither_utf8_nor_gbk_are_an_encoding_problem(tmp_path: Path) -> None:
    path = tmp_path / "cases.csv"
    path.write_bytes(HEADER_EN.encode() + b"\nA1,\x81\x20,1,2020-01-01,1,0,\n")
    table, problems = read_table(path, SPEC)
    assert table is None
    assert [(p.code, p.where) for p in problems] == [("table.file.encoding", where(None, None))]


def test_utf16_is_an_encoding_problem(tmp_path: Path) -> None:
    path = tmp_path / "cases.csv"
    path.write_bytes(HEADER_EN.encode("utf-16"))
    assert [p.code for p in read_table(path, SPEC)[1]] == ["table.file.encoding"]


@pytest.mark.parametrize(
    "content", [b"", b"\n\n", b"PK\x03\x04 not really a zip", b"\xd0\xcf\x11\xe0 old xls"]
)
def test_unreadable_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "cases.csv"
    path.write_bytes(content)
    table, problems = read_table(path, SPEC)
    assert table is None
    assert [(p.code, p.where) for p in problems] == [("table.file.unreadable", where(None, None))]


def test_missing_file_is_unreadable(tmp_path: Path) -> None:
    table, problems = read_table(tmp_path / "nope.csv", SPEC, display_name="病例.csv")
    assert table is None
    assert [(p.code, p.where) for p in problems] == [("table.file.unreadable", Source("病例.csv"))]


def test_xlsx_reads_like_csv(tmp_path: Path) -> None:
    """Excel numbers arrive as int/float and dates as datetime; they become the text a user sees."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER_ZH.split(","))
    sheet.append(["A1", 100.5, 1.25, dt.datetime(2020, 1, 5, 13, 30), 3.0, False, "一级"])
    sheet.append([])  # a blank row: skipped, but row numbers keep counting
    sheet.append(["A2", 1234, None, dt.date(2020, 2, 29), 10, True, None])
    sheet.append([12345, 0.1 + 0.2, 0.00001, "2020-03-01", 1, 1, None])
    path = tmp_path / "cases.xlsx"
    book.save(path)
    table, problems = read_table(path, SPEC)
    assert problems == []
    assert table is not None
    assert table.column("case_id").to_pylist() == ["A1", "A2", "12345"]
    assert table.column("total_cost").to_pylist() == [Decimal("100.50"), Decimal("1234.00"), Decimal("0.30")]
    assert table.column("points").to_pylist() == [Decimal("1.25"), None, Decimal("0.00001")]
    assert table.column("admitted_on").to_pylist() == [
        dt.date(2020, 1, 5),
        dt.date(2020, 2, 29),
        dt.date(2020, 3, 1),
    ]
    assert table.column("days").to_pylist() == [3, 10, 1]
    assert table.column("transferred").to_pylist() == [0, 1, 1]
    assert table.column("_row").to_pylist() == [2, 4, 5]


def test_xlsx_problems_name_sheet_rows(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER_ZH.split(","))
    sheet.append(["A1", 100.505, 1, "2020-01-01", 2.5, 0])
    sheet.append([])
    sheet.append(["A2", "12a", 1, "someday", 3, 0])
    book.save(tmp_path / "cases.xlsx")
    problems = read_table(tmp_path / "cases.xlsx", SPEC)[1]
    at = [(p.code, p.where) for p in problems]
    assert at == [
        ("table.cell.too_many_decimals", Source("cases.xlsx", 2, "医疗总费用")),
        ("table.cell.not_integer", Source("cases.xlsx", 2, "住院天数")),
        ("table.cell.not_number", Source("cases.xlsx", 4, "医疗总费用")),
        ("table.cell.not_date", Source("cases.xlsx", 4, "入院日期")),
    ]


def test_xlsx_cells_beyond_the_header_are_ignored(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([*HEADER_EN.split(","), None, None])
    sheet.append(["A1", 1, None, "2020-01-01", 1, 0, None, "note", 42])
    book.save(tmp_path / "cases.xlsx")
    table, problems = read_table(tmp_path / "cases.xlsx", SPEC)
    assert problems == []
    assert table is not None
    assert table.num_rows == 1


def test_parquet_reads_like_csv_and_names_its_rows(tmp_path: Path) -> None:
    """A Parquet file (or folder of parts): typed columns become their text, then the same checks."""
    import pyarrow.parquet as pq

    good = pa.table(
        {
            "病例编号": ["A1", "A2"],
            "total_cost": pa.array([Decimal("100.50"), Decimal("1234.00")], pa.decimal128(18, 2)),
            "points": pa.array([Decimal("1.25"), None], pa.decimal128(38, 8)),
            "admitted_on": pa.array([dt.date(2020, 1, 5), dt.date(2020, 2, 29)]),
            "days": pa.array([3, 10], pa.int64()),
        }
    )
    folder = tmp_path / "cases.parquet"
    folder.mkdir()
    pq.write_table(good.slice(0, 1), folder / "part-0.parquet")
    pq.write_table(good.slice(1), folder / "part-1.parquet")
    assert find_table(tmp_path, "cases") == folder
    table, problems = read_table(folder, SPEC)
    assert problems == []
    assert table is not None
    assert table.column("total_cost").to_pylist() == [Decimal("100.50"), Decimal("1234.00")]
    assert table.column("points").to_pylist() == [Decimal("1.25"), None]
    assert table.column("admitted_on").to_pylist() == [dt.date(2020, 1, 5), dt.date(2020, 2, 29)]
    assert table.column("_row").to_pylist() == [2, 3]
    bad = good.set_column(
        1, "total_cost", pa.array([Decimal("100.505"), Decimal("-1")], pa.decimal128(18, 3))
    )
    pq.write_table(bad, tmp_path / "bad.parquet")
    at = [(p.code, p.where) for p in read_table(tmp_path / "bad.parquet", SPEC)[1]]
    assert at == [
        ("table.cell.too_many_decimals", Source("bad.parquet", 2, "total_cost")),
        ("table.cell.below_min", Source("bad.parquet", 3, "total_cost")),
    ]


def test_damaged_xlsx_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "cases.xlsx"
    path.write_bytes(b"this is not a workbook")
    assert [p.code for p in read_table(path, SPEC)[1]] == ["table.file.unreadable"]


# ---- headers ------------------------------------------------------------------------------


def test_headers_match_case_insensitively_and_unknown_columns_are_dropped(tmp_path: Path) -> None:
    header = " CASE_ID ,Total_Cost,备注,points,Admitted_On,days"
    table, problems = read_csv(tmp_path, [header, "A1,5,note,,2020-01-01,1"])
    assert problems == []
    assert table is not None
    assert table.column_names == [c.name for c in SPEC.columns] + ["_row"]


def test_header_only_gives_an_empty_typed_table(tmp_path: Path) -> None:
    table, problems = read_csv(tmp_path, [HEADER_ZH])
    assert problems == []
    assert table is not None
    assert table.num_rows == 0
    assert table.schema.field("total_cost").type == pa.decimal128(18, 2)


def test_missing_required_column_names_the_canonical_column(tmp_path: Path) -> None:
    at = problems_of(tmp_path, ["A1,1,2020-01-01,1"], header="case_id,points,admitted_on,days")
    assert at == [("table.column.missing", where(None, "total_cost"))]


def test_two_headers_for_one_column_are_a_duplicate(tmp_path: Path) -> None:
    header = "case_id,total_cost,医疗总费用,points,admitted_on,days"
    at = problems_of(tmp_path, ["A1,1,2,,2020-01-01,1"], header=header)
    assert at == [("table.column.duplicate", where(1, "医疗总费用"))]


def test_absent_optional_columns_get_their_default_or_null(tmp_path: Path) -> None:
    table, problems = read_csv(tmp_path, ["case_id,total_cost,points,admitted_on,days", "A1,1,,2020-01-01,1"])
    assert problems == []
    assert table is not None
    assert table.column("transferred").to_pylist() == [0]
    assert table.column("level").to_pylist() == [None]


# ---- cells --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "code", "column"),
    [
        (",1,,2020-01-01,1,0,", "table.cell.required", "case_id"),
        ("A1,,,2020-01-01,1,0,", "table.cell.required", "total_cost"),
        ("A1,1,,2020-01-01,3.0,0,", "table.cell.not_integer", "days"),
        ("A1,1,,2020-01-01,1e2,0,", "table.cell.not_integer", "days"),
        ("A1,12a.5,,2020-01-01,1,0,", "table.cell.not_number", "total_cost"),
        ("A1,1e3,,2020-01-01,1,0,", "table.cell.not_number", "total_cost"),
        ("A1,1.2.3,,2020-01-01,1,0,", "table.cell.not_number", "total_cost"),
        ("A1,10000000000000000,,2020-01-01,1,0,", "table.cell.not_number", "total_cost"),
        ("A1,1,,2020-01-01,99999999999999999999,0,", "table.cell.not_number", "days"),
        ("A1,12.345,,2020-01-01,1,0,", "table.cell.too_many_decimals", "total_cost"),
        ("A1,1,0.123456789,2020-01-01,1,0,", "table.cell.too_many_decimals", "points"),
        ("A1,-0.01,,2020-01-01,1,0,", "table.cell.below_min", "total_cost"),
        ("A1,1,,2020-01-01,0,0,", "table.cell.below_min", "days"),
        ("A1,1,,2020-01-01,366,0,", "table.cell.above_max", "days"),
        ("A1,1,,2020-02-30,1,0,", "table.cell.not_date", "admitted_on"),
        ("A1,1,,05/01/2020,1,0,", "table.cell.not_date", "admitted_on"),
        ("A1,1,,2020-01-05x,1,0,", "table.cell.not_date", "admitted_on"),
        ("A1,1,,2020-01-01,1,2,", "table.cell.not_flag", "transferred"),
        ("A1,1,,2020-01-01,1,Y,", "table.cell.not_flag", "transferred"),
        ("A1,1,,2020-01-01,1,0,四级", "table.cell.not_allowed", "level"),
    ],
)
def test_each_bad_cell_is_a_problem_at_its_row_and_column(
    tmp_path: Path, row: str, code: str, column: str
) -> None:
    """The bad cell is in the 3rd data row, which a spreadsheet shows as row 4."""
    at = problems_of(tmp_path, [GOOD_ROWS[0].replace("A1", "X1"), GOOD_ROWS[1], row])
    assert at == [(code, where(4, column))]


def test_messages_name_the_value_and_the_rule_in_chinese(tmp_path: Path) -> None:
    _, problems = read_csv(tmp_path, [HEADER_ZH, "A1,12a.5,,2020-01-01,1,,", "A2,1,,2020-01-01,400,,"])
    assert [p.message for p in problems] == [
        '医疗总费用 "12a.5" 不是数字 (not a number)',
        '住院天数 "400" 大于最大值 365 (above maximum)',
    ]
    assert problems[0].where == where(2, "医疗总费用")
    assert problems[0].details["value"] == "12a.5"


def test_all_problems_are_reported_at_once_sorted_by_row_then_column(tmp_path: Path) -> None:
    rows = ["A1,1,,2020-13-01,1,0,", "A2,x,,2020-01-01,0,0,", "A3,1,,2020-01-01,1,0,"]
    assert problems_of(tmp_path, rows) == [
        ("table.cell.not_date", where(2, "admitted_on")),
        ("table.cell.not_number", where(3, "total_cost")),
        ("table.cell.below_min", where(3, "days")),
    ]


def test_limit_truncates_and_counts_the_rest(tmp_path: Path) -> None:
    rows = [f"A{i},bad{i},,bad{i},1,0," for i in range(5)]  # 10 problems (distinct values: none repeats)
    table, problems = read_csv(tmp_path, [HEADER_EN, *rows], limit=3)
    assert table is None
    assert [(p.code, p.where) for p in problems] == [
        ("table.cell.not_number", where(2, "total_cost")),
        ("table.cell.not_date", where(2, "admitted_on")),
        ("table.cell.not_number", where(3, "total_cost")),
        ("table.problems.truncated", Source("cases.csv")),
    ]
    assert problems[-1].details["more"] == "7"


def test_duplicate_key_names_every_later_row(tmp_path: Path) -> None:
    rows = [
        "A1,1,,2020-01-01,1,0,",
        "A2,1,,2020-01-01,1,0,",
        "A1,2,,2020-01-01,1,0,",
        "A1,3,,2020-01-01,1,0,",
    ]
    table, problems = read_csv(tmp_path, [HEADER_ZH, *rows])
    assert table is None
    assert [(p.code, p.where, p.details["first_row"]) for p in problems] == [
        ("table.row.duplicate_key", where(4, "病例编号"), "2"),
        ("table.row.duplicate_key", where(5, "病例编号"), "2"),
    ]


def test_blank_cells_required_nullable_and_default(tmp_path: Path) -> None:
    """Blank: an error where required, null where nullable, the default where one is set."""
    table, problems = read_csv(tmp_path, [HEADER_EN, "A1,1,  ,2020-01-01,1, ,\u3000"])
    assert problems == []
    assert table is not None
    row = table.to_pylist()[0]
    assert (row["points"], row["transferred"], row["level"]) == (None, 0, None)


@pytest.mark.parametrize("blank", [" ", "\t", "\u00a0", "\u3000"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_the_only_blank_of_a_file_is_trimmed(tmp_path: Path, blank: str, newline: str) -> None:
    """Each blank is trimmed even where it is the only one (a file without any is not trimmed:
    a row ends at LF or CRLF, so no cell holds one), under a header with or without one."""
    for header in (HEADER_EN, HEADER_EN.replace("case_id", "case_id ")):
        path = write_csv(
            tmp_path, [header, "A1,1,,2020-01-01,1,0,", f"A2,2{blank},,2020-01-01,1,0,"], newline=newline
        )
        table, problems = read_table(path, SPEC)
        assert problems == []
        assert table is not None
        assert table.column("total_cost").to_pylist() == [Decimal(1), Decimal(2)]
        assert table.column("case_id").to_pylist() == ["A1", "A2"]


def test_entirely_blank_rows_are_skipped_and_rows_keep_counting(tmp_path: Path) -> None:
    rows = ["A1,1,,2020-01-01,1,0,", ",,,,,,", "", "A2,x,,2020-01-01,1,0,"]
    assert problems_of(tmp_path, rows) == [("table.cell.not_number", where(5, "total_cost"))]


def test_a_row_with_the_wrong_number_of_fields(tmp_path: Path) -> None:
    rows = ["A1,1,,2020-01-01,1,0,", "A2,1", "A3,1,,2020-01-01,1,0,,extra"]
    assert problems_of(tmp_path, rows) == [
        ("table.row.wrong_field_count", where(3, None)),
        ("table.row.wrong_field_count", where(4, None)),
    ]


def test_quoted_newlines_stay_in_one_row(tmp_path: Path) -> None:
    _, problems = read_csv(tmp_path, [HEADER_EN, '"A\n1",1,,2020-01-01,1,0,', "A2,x,,2020-01-01,1,0,"])
    assert [(p.code, p.where) for p in problems] == [("table.cell.not_number", where(3, "total_cost"))]


@pytest.mark.parametrize(
    ("text", "flag"),
    [("0", 0), ("1", 1), ("是", 1), ("否", 0), ("true", 1), ("FALSE", 0), ("True", 1), (" 1 ", 1)],
)
def test_flags(tmp_path: Path, text: str, flag: int) -> None:
    table, problems = read_csv(tmp_path, [HEADER_EN, f"A1,1,,2020-01-01,1,{text},"])
    assert problems == []
    assert table is not None
    assert table.column("transferred").to_pylist() == [flag]


@pytest.mark.parametrize(
    "text",
    ["2020-03-07", "2020/03/07", "2020/3/7", "2020-3-7", "20200307", "2020-03-07 23:59:59", "2020/3/7 8:05"],
)
def test_accepted_dates(tmp_path: Path, text: str) -> None:
    table, problems = read_csv(tmp_path, [HEADER_EN, f"A1,1,,{text},1,0,"])
    assert problems == []
    assert table is not None
    assert table.column("admitted_on").to_pylist() == [dt.date(2020, 3, 7)]


@pytest.mark.parametrize(
    "text",
    [
        "2021-02-29",
        "2020-00-10",
        "2020-03-07T10:00",
        "2020-03/07",
        "202037",
        "20-03-07",
        "2020-03-07 24:00",
        "三月七日",
    ],
)
def test_rejected_dates(tmp_path: Path, text: str) -> None:
    assert problems_of(tmp_path, [f"A1,1,,{text},1,0,"]) == [("table.cell.not_date", where(2, "admitted_on"))]


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ('"1,234.50"', "1234.50"),
        ('" 1,234,567.5 "', "1234567.50"),
        ("12.500", "12.50"),
        ("+7", "7.00"),
        ("0", "0.00"),
        ("9999999999999999.99", "9999999999999999.99"),
    ],
)
def test_money_text(tmp_path: Path, text: str, amount: str) -> None:
    table, problems = read_csv(tmp_path, [HEADER_EN, f"A1,{text},,2020-01-01,1,0,"])
    assert problems == []
    assert table is not None
    assert table.column("total_cost").to_pylist() == [Decimal(amount)]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ('"1,23.00"', "table.cell.not_number"),
        ('"12,34"', "table.cell.not_number"),
        ("1 234", "table.cell.not_number"),
        ("¥12", "table.cell.not_number"),
        ("12.", "table.cell.not_number"),
        (".5", "table.cell.not_number"),
        ("1.005", "table.cell.too_many_decimals"),
        ("0.001", "table.cell.too_many_decimals"),
    ],
)
def test_money_text_refused(tmp_path: Path, text: str, code: str) -> None:
    """Money is never rounded: a third decimal is refused, not cut."""
    assert problems_of(tmp_path, [f"A1,{text},,2020-01-01,1,0,"]) == [(code, where(2, "total_cost"))]


def test_points_keep_eight_decimals(tmp_path: Path) -> None:
    table, problems = read_csv(
        tmp_path, [HEADER_EN, "A1,1,1.12345678,2020-01-01,1,0,", "A2,1,1.123456780000,2020-01-01,1,0,"]
    )
    assert problems == []
    assert table is not None
    assert table.column("points").to_pylist() == [Decimal("1.12345678")] * 2


@settings(
    max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.decimals(min_value=0, max_value=Decimal("9999999999999999.99"), places=2, allow_nan=False),
        min_size=1,
        max_size=20,
    ),
    st.booleans(),
)
def test_money_reads_back_exactly(tmp_path: Path, amounts: list[Decimal], grouped: bool) -> None:
    """Any amount with at most 2 decimals in range is read back exactly, with or without 1,234 groups."""
    rows = [
        f'A{i},"{a:,}",,2020-01-01,1,0,' if grouped else f"A{i},{a},,2020-01-01,1,0,"
        for i, a in enumerate(amounts)
    ]
    table, problems = read_csv(tmp_path, [HEADER_EN, *rows])
    assert problems == []
    assert table is not None
    assert table.column("total_cost").to_pylist() == amounts


# ---- spec and lookup ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: Column("x", "money", default="1.234"),
        lambda: Column("x", "date", default="2020/01/01"),
        lambda: Column("x", "flag", default="maybe"),
        lambda: Column("x", "str", choices=("a",), default="b"),
        lambda: Column("x", "int", choices=("1",)),
        lambda: Column("x", "date", min=Decimal(0)),
        lambda: Column("_x", "str"),
        lambda: TableSpec("t", (Column("a", "str"), Column("b", "str", aliases=("A",)))),
        lambda: TableSpec("t", (Column("a", "str"),), key=("b",)),
    ],
)
def test_contradictory_specs_are_refused(make: object) -> None:
    with pytest.raises(ValueError):
        make()  # type: ignore[operator]


def test_find_table_prefers_csv_and_accepts_any_suffix_case(tmp_path: Path) -> None:
    assert find_table(tmp_path, "cases") is None
    (tmp_path / "cases.XLSX").write_bytes(b"")
    assert find_table(tmp_path, "cases") == tmp_path / "cases.XLSX"
    (tmp_path / "cases.Csv").write_bytes(b"")
    (tmp_path / "cases_old.csv").write_bytes(b"")
    assert find_table(tmp_path, "cases") == tmp_path / "cases.Csv"
    assert find_table(tmp_path / "missing", "cases") is None


@settings(
    max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31)), min_size=1, max_size=20
    ),
    st.sampled_from(["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y-%m-%d 08:30"]),
)
def test_dates_read_back_exactly(tmp_path: Path, days: list[dt.date], layout: str) -> None:
    """Any calendar date in any accepted layout is read back as that date (ISO ones take a shortcut)."""
    rows = [f"A{i},1,,{d.strftime(layout)},1,0," for i, d in enumerate(days)]
    table, problems = read_csv(tmp_path, [HEADER_EN, *rows])
    assert problems == []
    assert table is not None
    assert table.column("admitted_on").to_pylist() == days


@pytest.mark.parametrize(
    "text", ["2020-02-30", "2019-02-29", "2020-04-31", "2020-13-01", "0000-01-01", "10000-01-01"]
)
def test_impossible_iso_dates_are_refused(tmp_path: Path, text: str) -> None:
    assert problems_of(tmp_path, [f"A1,1,,{text},1,0,"]) == [("table.cell.not_date", where(2, "admitted_on"))]


def test_a_header_of_20000_columns_is_refused_at_once_and_wide_files_read_in_linear_time(tmp_path):
    """Issue 22 finding 8: 20,000 columns took 129 s of CPU (quadratic); the column count is
    bounded (MAX_COLUMNS) and a file at the bound reads quickly."""
    import time

    from shidian.tables import MAX_COLUMNS

    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(f"h{i}" for i in range(20_000)) + "\n" + ",".join("1" * 20_000) + "\n")
    started = time.process_time()
    table, problems = read_table(wide, SPEC)
    assert table is None and [p.code for p in problems] == ["table.file.too_many_columns"]
    assert "20000" in problems[0].message
    at_bound = tmp_path / "at_bound.csv"
    names = ["id", "amount", *[f"x{i}" for i in range(MAX_COLUMNS - 2)]]
    at_bound.write_text(
        ",".join(names)
        + "\n"
        + "\n".join(",".join(["A1", "1", *["y"] * (MAX_COLUMNS - 2)]) for _ in range(50))
        + "\n"
    )
    read_table(at_bound, SPEC)
    assert time.process_time() - started < 20  # seconds of CPU; it was minutes


# ---- coded values by their Chinese labels; a repeated bad value reported once (issue 19 item 2) ----

KIND_SPEC = TableSpec(
    "visits",
    (
        Column("visit_id", "str", ("就诊号",)),
        Column(
            "kind",
            "str",
            ("就诊类型",),
            choices=("inpatient", "outpatient"),
            label="就诊类型",
            synonyms=(("住院", "inpatient"), ("门诊", "outpatient"), ("住院治疗", "inpatient")),
        ),
    ),
)


def test_a_coded_column_reads_its_chinese_labels_as_the_codes(tmp_path: Path) -> None:
    path = write_csv(tmp_path, ["就诊号,就诊类型", "V1,住院", "V2,门诊", "V3,outpatient", "V4,住院治疗"])
    table, problems = read_table(path, KIND_SPEC)
    assert problems == [] and table is not None
    assert table.column("kind").to_pylist() == ["inpatient", "outpatient", "outpatient", "inpatient"]


def test_a_bad_value_in_many_rows_is_one_problem_with_its_row_count_and_first_rows(tmp_path: Path) -> None:
    # 1,000 rows with 急诊 (not a kind), one row with 出诊: two problems, not 1,001
    lines = ["就诊号,就诊类型", *(f"V{n},急诊" for n in range(1000)), "V9999,出诊"]
    table, problems = read_table(write_csv(tmp_path, lines), KIND_SPEC)
    assert table is None
    assert [(p.code, p.where.row, p.details.get("rows")) for p in problems] == [
        ("table.cell.not_allowed", 2, "1000"),  # rows 2–1001
        ("table.cell.not_allowed", 1002, None),
    ]
    repeated = problems[0]
    assert repeated.details["first_rows"] == "2、3、4、5、6…"
    assert "共 1000 行" in repeated.message and "住院 (inpatient)" in repeated.message


@pytest.mark.parametrize(
    ("cost", "points", "day", "days", "expected"),
    [  # the text DuckDB writes for the value (checked without the regular expression) and others
        ("12.30", "1.25000000", "2020-01-05", "3", ("12.30", "1.25000000", "2020-01-05", 3)),
        ("12.3", "1.25", "2020-1-5", "+3", ("12.30", "1.25000000", "2020-01-05", 3)),
        ("12", "1.250000000", "20200105", "03", ("12.00", "1.25000000", "2020-01-05", 3)),
        ("+12.300", "0001.25", "2020/01/05", "3", ("12.30", "1.25000000", "2020-01-05", 3)),
    ],
)
def test_canonical_and_other_valid_texts_read_the_same(
    tmp_path: Path, cost: str, points: str, day: str, days: str, expected: tuple[object, ...]
) -> None:
    table, problems = read_csv(tmp_path, [HEADER_EN, f"A1,{cost},{points},{day},{days},0,"])
    assert problems == []
    assert table is not None
    row = table.to_pylist()[0]
    got = (str(row["total_cost"]), str(row["points"]), row["admitted_on"].isoformat(), row["days"])
    assert got == expected
