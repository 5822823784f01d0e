"""GB 11643-1999 citizen ID numbers, and the masking of names and numbers for the notice."""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shidian.insurance.id_number import (
    check_char,
    id_number_error,
    id_number_errors,
    mask_id,
    mask_name,
    sql_id_number_error,
    sql_mask_id,
    sql_mask_name,
)
from tests.properties import examples

CON = duckdb.connect(":memory:")


def test_gb11643_examples_from_the_standard():
    """The standard's own examples: 11010519491231002X and 440524188001010014.
    11010519491231002: Σ digit × weight (7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2)
      = 7+9+0+5+0+20+2+9+24+9+7+9+10+0+0+0+4 = 115; 115 mod 11 = 5; "10X98765432"[5] = "X"."""
    assert check_char("11010519491231002") == "X"
    assert id_number_error("11010519491231002X") is None
    assert id_number_error("440524188001010014") is None


@pytest.mark.parametrize(
    ("number", "error"),
    [
        ("110105194912310021", "check"),  # last character should be X
        ("11010519491231002x", "format"),  # lower-case x is not the standard's X
        ("1101051949123100", "format"),  # 16 characters
        ("11010519490231002X", "birth"),  # 31 February (check digit recomputed below)
        ("１１０１０５１９４９１２３１００２X", "format"),  # full-width digits
    ],
)
def test_bad_numbers(number, error):
    if error == "birth":
        number = number[:17] + check_char(number[:17])
    assert id_number_error(number) == error


@settings(max_examples=examples(200), deadline=None)
@given(st.text(alphabet="0123456789X", min_size=17, max_size=19), st.booleans())
def test_sql_twin_agrees(text, fix_check):
    if fix_check and len(text) == 18 and text[:17].isdigit():
        text = text[:17] + check_char(text[:17])
    (sql,) = CON.execute(f"SELECT {sql_id_number_error('x')} FROM (SELECT ? AS x)", [text]).fetchone() or (
        None,
    )
    assert sql == id_number_error(text)


def test_masking_names_and_numbers():
    """张三 → 张*, 张小三 → 张*三, 欧阳小明 → 欧**明; 11010519491231002X → 110105********002X (6 + 4)."""
    assert [mask_name(n) for n in ("张", "张三", "张小三", "欧阳小明")] == ["张", "张*", "张*三", "欧**明"]
    assert mask_id("11010519491231002X", 6, 4) == "110105********002X"
    assert mask_id("11010519491231002X", 3, 0) == "110" + "*" * 15


@given(st.text(alphabet="张王李小三明欧阳", min_size=1, max_size=6), st.integers(0, 10), st.integers(0, 8))
def test_masking_sql_twins_agree(name, head, tail):
    number = "11010519491231002X"
    row = CON.execute(
        f"SELECT {sql_mask_name('n')}, {sql_mask_id('i', head, tail)} FROM (SELECT ? AS n, ? AS i)",
        [name, number],
    ).fetchone()
    assert row == (mask_name(name), mask_id(number, head, tail))


@settings(max_examples=examples(100), deadline=None)
@given(st.lists(st.text(alphabet="0123456789X", min_size=16, max_size=19), max_size=20), st.booleans())
def test_vectorised_check_agrees(texts, fix_check):
    import pyarrow as pa

    if fix_check:
        texts = [t[:17] + check_char(t[:17]) if len(t) == 18 and t[:17].isdigit() else t for t in texts]
    texts += ["19000229", "152922" + "19000229" + "001", "152922" + "20000229" + "001"]
    texts = [t + check_char(t) if len(t) == 17 and t.isdigit() else t for t in texts]
    assert id_number_errors(pa.array(texts, pa.string())).to_pylist() == [id_number_error(t) for t in texts]
