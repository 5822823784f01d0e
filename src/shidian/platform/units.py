"""The unit tree (单位树): every unit (bureau, county, township, village, hospital, office) with
its parent. One walk of the tree for every domain: ``all_units`` and ``descendants`` in memory,
``units_under`` as one recursive query.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from shidian.platform.db.schema import units


@dataclass(frozen=True)
class UnitRow:
    """A unit (单位): id, code, name, kind, parent id, region code."""

    id: int
    code: str
    name: str
    kind: str
    parent_id: int | None
    region_code: str | None


def all_units(conn: sa.Connection) -> dict[int, UnitRow]:
    """Every unit by id."""
    rows = conn.execute(
        sa.select(
            units.c.id, units.c.code, units.c.name, units.c.kind, units.c.parent_id, units.c.region_code
        )
    ).all()
    return {r.id: UnitRow(*r) for r in rows}


def descendants(tree: dict[int, UnitRow], root: int) -> set[int]:
    """``root`` and every unit below it (walking ``parent_id``; a cycle cannot loop forever)."""
    children: dict[int, list[int]] = {}
    for unit in tree.values():
        if unit.parent_id is not None:
            children.setdefault(unit.parent_id, []).append(unit.id)
    found, stack = {root}, [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def units_under(conn: sa.Connection, unit_ids: Iterable[int], kind: str | None = None) -> frozenset[int]:
    """Units at or below ``unit_ids`` (of ``kind`` if given), by one recursive query."""
    ids = sorted(set(unit_ids))
    if not ids:
        return frozenset()
    tree = sa.select(units.c.id, units.c.kind).where(units.c.id.in_(ids)).cte("tree", recursive=True)
    tree = tree.union_all(sa.select(units.c.id, units.c.kind).join(tree, units.c.parent_id == tree.c.id))
    query = sa.select(tree.c.id)
    if kind is not None:
        query = query.where(tree.c.kind == kind)
    return frozenset(int(r) for r in conn.execute(query).scalars())
