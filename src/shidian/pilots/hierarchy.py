"""The org hierarchy (行政层级): 市 → 县/区 → 乡镇/街道 → 村/社区 with GB/T 2260 codes.

A hierarchy is an Arrow table ``unit_code, parent_code, level`` (``model.UNITS_SCHEMA``; the
top has an empty or null parent). ``check_units`` validates it in DuckDB, columnar: duplicate
codes, unknown parents, unknown levels, a parent not on a higher level, code length by level
(6 digits for 市/县, 9 for 乡镇/街道, 12 for 村/社区 — 统计用区划代码), a child code that does
not start with its parent's (县 450802 under 市 450800 shares its first 4 digits; 乡镇 450802101
its county's 6; 村 450802101201 its township's 9), and cycles.

Problem codes: ``pilots.units.{duplicate,unknown_parent,unknown_level,parent_level,code_length,
code_prefix,cycle}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pyarrow as pa

from shidian import duck
from shidian.pilots.model import Level
from shidian.problems import Problem, Source

#: How many leading digits a child's code shares with its parent's, by the child's code length.
PREFIX_DIGITS = {6: 4, 9: 6, 12: 9}


def find_cycles(parents: Mapping[str, str]) -> list[list[str]]:
    """The cycles in a small child → parent map (a plan file's ``areas``), each listed once
    starting from its smallest code."""
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for start in sorted(parents):
        path: list[str] = []
        node = start
        while node and node in parents and state.get(node) is None:
            state[node] = 1
            path.append(node)
            node = parents[node]
        if node in path:
            cycle = path[path.index(node) :]
            first = cycle.index(min(cycle))
            cycles.append(cycle[first:] + cycle[:first])
        for n in path:
            state[n] = 2
    return cycles


def normalize_units(units: pa.Table) -> pa.Table:
    """The units table with string columns and '' for a missing parent."""
    con = duck.connect()
    con.register("u", units)
    return con.sql(
        "SELECT CAST(unit_code AS VARCHAR) AS unit_code, coalesce(CAST(parent_code AS VARCHAR), '') AS parent_code, "
        "CAST(level AS VARCHAR) AS level FROM u"
    ).to_arrow_table()


def check_units(
    units: pa.Table, levels: Sequence[Level], file: str = "units.csv", limit: int = 200
) -> list[Problem]:
    """Every problem of a hierarchy table, in DuckDB; ``_row`` (when present) names the row."""
    con = duck.connect()
    con.register("raw", units)
    has_row = "_row" in units.column_names
    con.execute(
        "CREATE TEMP TABLE u AS SELECT CAST(unit_code AS VARCHAR) AS code, "
        "coalesce(CAST(parent_code AS VARCHAR), '') AS parent, CAST(level AS VARCHAR) AS level, "
        + ("CAST(_row AS BIGINT) AS _row" if has_row else "CAST(row_number() OVER () + 1 AS BIGINT) AS _row")
        + " FROM raw"
    )
    con.register("lv", _levels_table(levels))
    checks = [
        (
            "duplicate",
            "unit_code",
            "SELECT code, _row FROM (SELECT *, row_number() OVER (PARTITION BY code ORDER BY _row) AS n FROM u) "
            "WHERE n > 1",
            "单位代码 {code} 重复",
        ),
        (
            "unknown_level",
            "level",
            "SELECT code, level, _row FROM u WHERE level NOT IN (SELECT code FROM lv)",
            "单位 {code} 的层级 {level} 不在方案的层级中",
        ),
        (
            "unknown_parent",
            "parent_code",
            "SELECT c.code, c.parent, c._row FROM u c WHERE c.parent <> '' "
            "AND c.parent NOT IN (SELECT code FROM u)",
            "单位 {code} 的上级 {parent} 不存在",
        ),
        (
            "parent_level",
            "level",
            "SELECT c.code, c.level, p.level AS plevel, c._row FROM u c JOIN u p ON p.code = c.parent "
            "JOIN lv a ON a.code = c.level JOIN lv b ON b.code = p.level WHERE b.idx >= a.idx",
            "单位 {code} ({level}) 的上级层级 {plevel} 不高于它",
        ),
        (
            "code_length",
            "unit_code",
            "SELECT c.code, lv.digits, c._row FROM u c JOIN lv ON lv.code = c.level "
            "WHERE lv.digits > 0 AND (length(c.code) <> lv.digits OR NOT regexp_full_match(c.code, '[0-9]+'))",
            "单位代码 {code} 应为 {digits} 位数字 (GB/T 2260 / 统计用区划代码)",
        ),
        (
            "code_prefix",
            "unit_code",
            "SELECT c.code, c.parent, c._row FROM u c JOIN u p ON p.code = c.parent "
            "WHERE regexp_full_match(c.code, '[0-9]+') AND regexp_full_match(p.code, '[0-9]+') "
            "AND length(c.code) IN (6, 9, 12) AND length(p.code) IN (6, 9) "
            "AND left(c.code, CASE length(c.code) WHEN 6 THEN 4 WHEN 9 THEN 6 ELSE 9 END) "
            "<> left(p.code, CASE length(c.code) WHEN 6 THEN 4 WHEN 9 THEN 6 ELSE 9 END)",
            "单位代码 {code} 与上级 {parent} 的区划代码前缀不一致",
        ),
    ]
    problems: list[Problem] = []
    for reason, column, sql, template in checks:
        rel = con.sql(sql + " ORDER BY _row LIMIT " + str(limit))
        names = rel.columns
        for values in rel.fetchall():
            row = dict(zip(names, values, strict=True))
            problems.append(
                Problem(
                    f"pilots.units.{reason}", template.format(**row), Source(file, int(row["_row"]), column)
                )
            )
    # Cycles: walk up at most len(levels) + 1 steps; a unit still climbing is in (or under) a cycle.
    depth = len(levels) + 1
    rel = con.sql(
        f"""
        WITH RECURSIVE walk(start, cur, steps) AS (
            SELECT code, parent, 0 FROM u WHERE parent <> ''
            UNION ALL
            SELECT w.start, p.parent, w.steps + 1 FROM walk w JOIN u p ON p.code = w.cur
            WHERE p.parent <> '' AND w.steps < {depth}
        )
        SELECT DISTINCT u.code, u._row FROM walk w JOIN u ON u.code = w.start
        WHERE w.steps >= {depth} ORDER BY u._row LIMIT {limit}
        """
    )
    for code, row in rel.fetchall():
        problems.append(
            Problem(
                "pilots.units.cycle",
                f"单位 {code} 的上级链条有环 (或超过 {depth} 层)",
                Source(file, int(row), "parent_code"),
            )
        )
    problems.sort(key=lambda p: (p.where.row or 0, p.code))
    return problems


def _levels_table(levels: Sequence[Level]) -> pa.Table:
    return pa.table(
        {
            "code": pa.array([lv.code for lv in levels], pa.string()),
            "idx": pa.array(list(range(len(levels))), pa.int64()),
            "digits": pa.array([lv.digits for lv in levels], pa.int64()),
        }
    )


def levels_table(levels: Sequence[Level]) -> pa.Table:
    """The levels as a table ``code, idx (0 = top), digits`` for SQL joins."""
    return _levels_table(levels)
