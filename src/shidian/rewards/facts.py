"""Fact tables (事实表): checking and joining the tables a rule file reads, keyed by unit_code.

A rule file declares its facts (``[facts.<name>]``); they arrive in one or more unit tables
(``unit_code``, optional ``unit_name``, some facts) and, for per-person stages, a recipient
list (interfaces.md shape 3: ``recipient_id, unit_code, category, basis``). The first unit
table is the list of units (单位名单); every other table may only name its units. Each cell was
already checked by the file adapter (range, decimals, duplicate keys); here the tables are
checked against each other, every problem naming file, row and column, all found at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import duckdb
import pyarrow as pa

from shidian import duck
from shidian.problems import Problem, Source, problems_from_rows
from shidian.rewards.rules import RewardRules

TableKind = Literal["units", "recipients"]
#: Problems listed per kind before the rest are only counted.
LIMIT = 200


@dataclass(frozen=True)
class FactTable:
    """One input table: its display name (file), kind, the facts it provides, the Arrow data
    (with ``_row``, the sheet row)."""

    name: str
    kind: TableKind
    facts: tuple[str, ...]
    table: pa.Table


@dataclass(frozen=True)
class Facts:
    """The joined inputs of an allocation: one row per unit with every fact; the recipients."""

    units: pa.Table
    recipients: pa.Table | None


def check_facts(rules: RewardRules, tables: list[FactTable]) -> tuple[Facts | None, list[Problem]]:
    """Join ``tables`` into the allocation's inputs, or every Problem found."""
    problems: list[Problem] = []
    unit_tables = [t for t in tables if t.kind == "units"]
    people = [t for t in tables if t.kind == "recipients"]
    if not tables:
        return None, [
            Problem("rewards.facts.no_tables", "没有提供事实表 (no fact tables)", Source("<facts>"))
        ]
    if rules.per_person and not people:
        problems.append(
            Problem(
                "rewards.facts.missing_recipients",
                "规则含按人计奖阶段, 需要受益人名单 (recipient_id, unit_code, category, basis)",
                Source("<facts>"),
            )
        )
    if not rules.per_person and people:
        problems.append(
            Problem(
                "rewards.facts.unexpected_recipients",
                "规则没有按人计奖阶段, 不需要受益人名单",
                Source(people[0].name),
            )
        )
    if len(people) > 1:
        problems.append(
            Problem("rewards.facts.duplicate_table", "只能提供一份受益人名单", Source(people[1].name))
        )
    provider: dict[str, FactTable] = {}
    for t in unit_tables:
        for fact in t.facts:
            if fact in provider:
                problems.append(
                    Problem(
                        "rewards.facts.duplicate_fact",
                        f"{rules.fact(fact).label} ({fact}) 已由 {provider[fact].name} 提供",
                        Source(t.name, column=fact),
                    )
                )
            else:
                provider[fact] = t
    for declared in rules.facts:
        if declared.name not in provider:
            problems.append(
                Problem(
                    "rewards.facts.missing_fact",
                    f"没有任何事实表提供 {declared.label} ({declared.name}) 这一列 (missing fact column)",
                    Source(unit_tables[0].name if unit_tables else "<facts>", column=declared.name),
                )
            )
    if problems:
        return None, problems
    con = duck.connect()
    try:
        for index, t in enumerate(tables):
            con.register(f"t{index}", t.table)
        names = {id(t): f"t{index}" for index, t in enumerate(tables)}
        if unit_tables:
            first = names[id(unit_tables[0])]
            units_sql = f"SELECT unit_code, {_name_expr(con, first)} AS unit_name FROM {first}"
        else:
            units_sql = f"SELECT DISTINCT unit_code, '' AS unit_name FROM {names[id(people[0])]}"
        con.sql(f"CREATE TABLE units AS {units_sql}")
        for t in [*unit_tables[1:], *(people if unit_tables else [])]:
            problems += _unknown_units(con, names[id(t)], t.name)
        for fact, t in provider.items():
            if t is not (unit_tables[0] if unit_tables else None):
                problems += _missing_values(con, names[id(t)], t.name, fact, rules.fact(fact).label)
        for t in people:
            problems += _unknown_categories(con, rules, names[id(t)], t.name)
        if problems:
            return None, problems
        joins = " ".join(
            f"LEFT JOIN (SELECT unit_code, {', '.join(f for f, p in provider.items() if p is t)} FROM {names[id(t)]}) "
            f"AS j{k} USING (unit_code)"
            for k, t in enumerate(unit_tables)
        )
        columns = "".join(f", {f.name}" for f in rules.facts)
        units = con.sql(
            f"SELECT unit_code, unit_name{columns} FROM units {joins} ORDER BY unit_code"
        ).to_arrow_table()
        recipients = None
        if people:
            recipients = con.sql(
                f"SELECT recipient_id, unit_code, category, coalesce(basis, '') AS basis FROM {names[id(people[0])]} "
                "ORDER BY unit_code, recipient_id"
            ).to_arrow_table()
        return Facts(units, recipients), []
    finally:
        con.close()


def _name_expr(con: duckdb.DuckDBPyConnection, table: str) -> str:
    columns = {row[0] for row in con.sql(f"DESCRIBE {table}").fetchall()}
    return "coalesce(unit_name, '')" if "unit_name" in columns else "''"


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], list[tuple[object, ...]], int]:
    result = con.sql(sql)
    names = [d[0] for d in result.description]
    rows = result.fetchall()
    return names, rows[:LIMIT], len(rows)


def _truncated(file: str, found: int) -> list[Problem]:
    if found <= LIMIT:
        return []
    return [Problem("table.problems.truncated", f"另有 {found - LIMIT} 个同类问题未列出", Source(file))]


def _unknown_units(con: duckdb.DuckDBPyConnection, table: str, file: str) -> list[Problem]:
    names, rows, found = _rows(
        con,
        f"SELECT _row, unit_code FROM {table} WHERE unit_code NOT IN (SELECT unit_code FROM units) ORDER BY _row",
    )
    return problems_from_rows(
        names,
        rows,
        "rewards.facts.unknown_unit",
        "单位 {unit_code} 不在单位名单 (第一张事实表) 中 (unknown unit)",
        file,
        "unit_code",
    ) + _truncated(file, found)


def _missing_values(
    con: duckdb.DuckDBPyConnection, table: str, file: str, fact: str, label: str
) -> list[Problem]:
    result = con.sql(
        f"SELECT unit_code FROM units WHERE unit_code NOT IN (SELECT unit_code FROM {table}) ORDER BY unit_code"
    ).fetchall()
    problems = [
        Problem(
            "rewards.facts.missing_value",
            f"单位 {code} 没有 {label} ({fact}) (missing value)",
            Source(file, column=fact),
        )
        for (code,) in result[:LIMIT]
    ]
    return problems + _truncated(file, len(result))


def _unknown_categories(
    con: duckdb.DuckDBPyConnection, rules: RewardRules, table: str, file: str
) -> list[Problem]:
    categories = sorted(
        {cat for s in rules.stages if s.allocator.kind == "per_person" for cat in s.allocator.rates}
    )
    listed = ", ".join(f"'{c}'" for c in categories)
    names, rows, found = _rows(
        con, f"SELECT _row, category FROM {table} WHERE category NOT IN ({listed}) ORDER BY _row"
    )
    return problems_from_rows(
        names,
        rows,
        "rewards.facts.unknown_category",
        "类别 {category} 不是规则中的类别 (" + ", ".join(categories) + ") (unknown category)",
        file,
        "category",
    ) + _truncated(file, found)
