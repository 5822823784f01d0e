"""The clean-file shortcut of ``read_table`` (``_clean_table``): whatever it accepts, the full
cell-by-cell check accepts too and reads the same way; on clean files it is the path taken."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from shidian import tables
from shidian.tables import Column, TableSpec, read_table
from tests.properties import examples

SPEC = TableSpec(
    name="cases",
    columns=(
        Column("case_id", "str", label="病例编号"),
        Column("cost", "money", min=Decimal("0"), label="费用"),
        Column("points", "points", nullable=True, label="点数"),
        Column("rate", "decimal", required=False, default="1.5", max=Decimal("2"), label="系数"),
        Column("days", "int", min=Decimal(1), max=Decimal(365), label="天数"),
        Column("day", "date", label="日期"),
        Column("until", "date", required=False, nullable=True, label="截止"),
        Column("transferred", "flag", required=False, default="0", label="转院"),
        Column("level", "str", required=False, nullable=True, choices=("一级", "二级"), label="等级"),
        Column(
            "kind",
            "str",
            ("就诊类型",),
            required=False,
            default="inpatient",
            choices=("inpatient", "outpatient"),
            synonyms=(("住院", "inpatient"), ("门诊", "outpatient")),
            label="类型",
        ),
        Column("note", "str", required=False, nullable=True, label="备注"),
    ),
    key=("case_id",),
)

# texts a person or a program may write, valid in some column or not
NASTY = [
    "",
    " ",
    "\u3000",
    " 1",
    "1 ",
    "1e5",
    "1E5",
    "1,234.50",
    "1,23.00",
    "12.345",
    "12.340",
    "12.3",
    "12.30",
    "-0",
    "-0.00",
    "+5",
    "+5.00",
    "05",
    "0",
    "0.00",
    ".5",
    "5.",
    "00.50",
    "１２",
    "１２.３０",
    "2020-01-02",
    "2020-1-2",
    "2020/1/2",
    "20200102",
    "2020-01-02 10:00",
    "2020-02-30",
    "0000-01-01",
    "10000-01-01",
    "2020-01-02T00:00",
    "0.00000001",
    "1E-8",
    "99999999999999999999.99",
    "9999999999999999.99",
    "9223372036854775808",
    "1",
    "366",
    "true",
    "TRUE",
    "是",
    "2",
    "一级",
    "三级",
    "住院",
    "门诊",
    "inpatient",
    "x",
    "NULL",
    "nan",
]


def _amount(places: int, low: int = 0) -> st.SearchStrategy[str]:
    """An amount as a program writes it (``12.30``), or in another valid shape (``12.3``, ``+12``)."""
    amounts = st.decimals(min_value=low, max_value=10**6, places=places, allow_nan=False)
    return st.one_of(amounts.map(lambda d: f"{d:.{places}f}"), amounts.map(str))


CELLS = {
    "case_id": st.text("AB12", min_size=1, max_size=3),
    "cost": _amount(2),
    "points": _amount(8, low=-5),
    "rate": _amount(8),
    "days": st.integers(1, 365).map(str),
    "day": st.dates().map(lambda d: d.isoformat()),
    "until": st.dates().map(lambda d: d.isoformat()),
    "transferred": st.sampled_from(["0", "1", "true", "是"]),
    "level": st.sampled_from(["一级", "二级", ""]),
    "kind": st.sampled_from(["inpatient", "outpatient", "住院", ""]),
    "note": st.text(max_size=3),
}


@st.composite
def _files(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    """A header of the spec's columns (the required ones, some others) and a few rows: valid
    cells, and in some files also any of the nasty texts, in any column."""
    names = [c.name for c in SPEC.columns]
    present = [n for n in names if draw(st.booleans()) or SPEC.columns[names.index(n)].required]
    header = ["就诊类型" if n == "kind" and draw(st.booleans()) else n for n in present]
    count = draw(st.integers(1, 6))
    nasty = draw(st.booleans())

    def cell(name: str) -> st.SearchStrategy[str]:
        return st.one_of(CELLS[name], CELLS[name], st.sampled_from(NASTY)) if nasty else CELLS[name]

    rows = [[draw(cell(n)) for n in present] for _ in range(count)]
    if draw(st.booleans()):  # unique keys, in order or not
        for i, row in enumerate(rows):
            row[0] = f"K{(i * 7) % count if draw(st.booleans()) else i}"
    return header, rows


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([header, *rows])
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


@settings(
    max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(_files())
def test_what_the_shortcut_accepts_the_full_check_accepts_and_reads_the_same(
    tmp_path: Path, file: tuple[list[str], list[list[str]]]
) -> None:
    path = _write(tmp_path / "cases.csv", *file)
    taken: list[pa.Table | None] = []
    shortcut = tables._clean_table

    def spy(*args: object) -> pa.Table | None:
        table = shortcut(*args)  # type: ignore[arg-type]
        taken.append(table)
        return table

    tables._clean_table = spy  # type: ignore[assignment]
    try:
        table, problems = read_table(path, SPEC, keep_valid_rows=True)
        tables._clean_table = lambda *args: None  # type: ignore[assignment]
        full, full_problems = read_table(path, SPEC, keep_valid_rows=True)
    finally:
        tables._clean_table = shortcut  # type: ignore[assignment]
    assert problems == full_problems
    event("read by the shortcut" if taken and taken[0] is not None else "read by the full check")
    if taken and taken[0] is not None:  # the shortcut read it: the full check finds nothing
        assert full_problems == []
        assert full is not None and table is not None
        assert table.schema == full.schema
        assert table.to_pylist() == full.to_pylist()


def _read_counting(path: Path, spec: TableSpec) -> tuple[pa.Table | None, list[pa.Table | None]]:
    taken: list[pa.Table | None] = []
    shortcut = tables._clean_table

    def spy(*args: object) -> pa.Table | None:
        taken.append(shortcut(*args))  # type: ignore[arg-type]
        return taken[-1]

    tables._clean_table = spy  # type: ignore[assignment]
    try:
        table, problems = read_table(path, spec)
    finally:
        tables._clean_table = shortcut  # type: ignore[assignment]
    assert problems == []
    return table, taken


def test_a_clean_file_is_read_by_the_shortcut(tmp_path: Path) -> None:
    header = ["case_id", "cost", "points", "days", "day", "until", "transferred", "就诊类型", "note"]
    rows = [
        ["A1", "12.30", "1.25000000", "3", "2020-01-05", "", "1", "门诊", "x"],
        ["A2", "0.00", "", "365", "2020-12-31", "2021-01-01", "", "", ""],
    ]
    table, taken = _read_counting(_write(tmp_path / "cases.csv", header, rows), SPEC)
    assert taken and taken[0] is not None
    assert table is not None
    assert table.to_pylist() == [
        {
            "case_id": "A1",
            "cost": Decimal("12.30"),
            "points": Decimal("1.25"),
            "rate": Decimal("1.5"),
            "days": 3,
            "day": dt.date(2020, 1, 5),
            "until": None,
            "transferred": 1,
            "level": None,
            "kind": "outpatient",
            "note": "x",
            "_row": 2,
        },
        {
            "case_id": "A2",
            "cost": Decimal("0"),
            "points": None,
            "rate": Decimal("1.5"),
            "days": 365,
            "day": dt.date(2020, 12, 31),
            "until": dt.date(2021, 1, 1),
            "transferred": 0,
            "level": None,
            "kind": "inpatient",
            "note": None,
            "_row": 3,
        },
    ]


@pytest.mark.parametrize(
    ("cost", "day"),
    [("12.3", "2020-01-05"), ("12.30", "2020/1/5"), ('"1,234.00"', "2020-01-05"), ("+1.00", "2020-01-05")],
)
def test_a_valid_cell_in_another_shape_is_read_by_the_full_check(tmp_path: Path, cost: str, day: str) -> None:
    path = tmp_path / "cases.csv"
    path.write_text(
        f"case_id,cost,points,days,day\nA1,1.00,1,1,2020-01-05\nA2,{cost},,1,{day}\n", encoding="utf-8"
    )
    table, taken = _read_counting(path, SPEC)
    assert taken == [None]
    assert table is not None and table.column("day").to_pylist()[1].isoformat() == "2020-01-05"


def test_repeated_keys_out_of_order_are_left_to_the_full_check(tmp_path: Path) -> None:
    path = tmp_path / "cases.csv"
    path.write_text(
        "case_id,cost,points,days,day\nB,1.00,,1,2020-01-05\nA,1.00,,1,2020-01-05\nB,2.00,,1,2020-01-05\n"
    )
    table, problems = read_table(path, SPEC)
    assert table is None
    assert [(p.code, p.where.row) for p in problems] == [("table.row.duplicate_key", 4)]


def test_each_nasty_text_in_each_column_is_clean_only_where_the_full_check_reads_it_the_same(
    tmp_path: Path,
) -> None:
    """Row by row: one nasty text in one column, the other cells valid. Every row the shortcut
    calls clean has no problem in the full check and the same values."""
    header = [c.name for c in SPEC.columns]
    good = ["", "1.00", "1.00000000", "1.00000000", "1", "2020-01-05", "", "0", "一级", "inpatient", "x"]
    rows = []
    for position in range(1, len(header)):  # the key stays unique
        for text in NASTY:
            rows.append([f"K{len(rows)}", *good[1:position], text, *good[position + 1 :]])
    path = _write(tmp_path / "cases.csv", header, rows)
    head = path.read_bytes()
    first, second, merged, raw = tables._read_csv(path, "cases.csv", head, 1000)  # type: ignore[misc]
    layout, problems, raw = tables._choose_header(first, second, merged, raw, SPEC, "cases.csv")
    assert problems == []
    typed, plain = tables._clean_rows(raw, layout, SPEC)
    full, problems = read_table(path, SPEC, keep_valid_rows=True, limit=10**6)
    assert full is not None
    bad_rows = {p.where.row for p in problems}
    clean = typed.column("_clean").to_pylist()
    assert 0 < sum(map(bool, clean)) < len(clean)  # both kinds of rows are there
    values = {row["_row"]: row for row in full.to_pylist()}
    for row in typed.filter(typed.column("_clean")).to_pylist():  # the clean rows
        assert row["_row"] not in bad_rows, rows[row["_row"] - 2]
        for name in header:
            if name not in plain:
                assert row[name] == values[row["_row"]][name], (rows[row["_row"] - 2], name)
