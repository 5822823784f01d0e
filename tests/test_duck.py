"""``shidian.duck``: the one door to an in-memory DuckDB, quiet on the user's terminal."""

from __future__ import annotations

import ast
from pathlib import Path

import shidian
from shidian import duck

SRC = Path(shidian.__file__).parent


def _setting(con: object, name: str) -> str:
    return str(con.execute(f"SELECT current_setting('{name}')").fetchone()[0])  # type: ignore[attr-defined]


def test_a_connection_prints_no_progress_bar() -> None:
    # DuckDB's default prints a bar on the terminal for a query over two seconds (issue 20's
    # helper saw it in the middle of `shidian drg settle`'s output on a loaded host)
    assert _setting(duck.connect(), "enable_progress_bar").lower() == "false"


def test_threads_are_limited_when_asked() -> None:
    assert _setting(duck.connect(threads=1), "threads") == "1"
    assert _setting(duck.connect(), "enable_progress_bar").lower() == "false"


def duckdb_connect_calls(source: str) -> int:
    """How many ``duckdb.connect(…)`` calls a module makes."""
    return sum(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "connect"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "duckdb"
        for node in ast.walk(ast.parse(source))
    )


def test_every_module_connects_through_duck() -> None:
    offenders = [
        str(path.relative_to(SRC))
        for path in sorted(SRC.rglob("*.py"))
        if path.name != "duck.py" and duckdb_connect_calls(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_scan_sees_a_direct_connection() -> None:
    assert duckdb_connect_calls("import duckdb\ncon = duckdb.connect(':memory:')\n") == 1
    assert duckdb_connect_calls("from shidian import duck\ncon = duck.connect()\n") == 0
