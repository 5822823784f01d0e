"""Helpers for the reward tests: shipped rules with overrides, unit tables from literals."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from shidian.policy import read_reference_policy
from shidian.rewards import Allocation, RewardRules, allocate, parse_rules

DEC = pa.decimal128(38, 8)


def shipped(name: str, **overrides: str) -> RewardRules:
    """A shipped rule file; ``overrides`` are key paths with ``__`` for dots."""
    text, source = read_reference_policy("rewards", name)
    rules, problems = parse_rules(text, source, [(k.replace("__", "."), v) for k, v in overrides.items()])
    assert rules is not None, problems
    return rules


def fixture(name: str, **overrides: str) -> RewardRules:
    """A rule file of tests/rewards/data (not shipped); ``overrides`` as in ``shipped``."""
    path = Path(__file__).parent / "data" / f"{name}.toml"
    rules, problems = parse_rules(
        path.read_text(encoding="utf-8"), str(path), [(k.replace("__", "."), v) for k, v in overrides.items()]
    )
    assert rules is not None, problems
    return rules


def units(rows: list[tuple[str, ...]], facts: tuple[str, ...]) -> pa.Table:
    """``rows`` of (unit_code, fact values as text…) → the unit table ``allocate`` reads."""
    columns: dict[str, pa.Array] = {
        "unit_code": pa.array([r[0] for r in rows], pa.string()),
        "unit_name": pa.array([f"单位{r[0]}" for r in rows], pa.string()),
    }
    for i, name in enumerate(facts, start=1):
        columns[name] = pa.array([Decimal(r[i]) for r in rows], DEC)
    return pa.table(columns)


def people(rows: list[tuple[str, str, str]]) -> pa.Table:
    return pa.table(
        {
            "recipient_id": [r[0] for r in rows],
            "unit_code": [r[1] for r in rows],
            "category": [r[2] for r in rows],
            "basis": [f"危险性评估 ({r[0]})" for r in rows],
        }
    )


def run(rules: RewardRules, table: pa.Table, recipients: pa.Table | None = None) -> Allocation:
    allocation, problems = allocate(rules, table, recipients)
    assert allocation is not None, problems
    assert allocation.ok, [c for c in allocation.checks if not c.ok]
    return allocation


def amounts(allocation: Allocation, column: str = "total_yuan") -> dict[str, Decimal]:
    data = allocation.units.to_pydict()
    return dict(zip(data["unit_code"], data[column], strict=True))
