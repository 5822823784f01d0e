"""Registry access scoping (严重精神障碍患者数据权限): which villages' patients a user sees.

* a community mental-health doctor (精防医生) sees the villages assigned to the doctor
  (``registry_doctor_areas``; an assigned township or county stands for all its villages);
* a user of a township, county or city unit sees the villages under that unit;
* the pilot office, leaders and administrators of a unit without a region (试点办, 卫健委) see all.

``Scope.villages`` is None for "all", else the set of village unit ids (maybe empty). The
services refuse a patient outside the scope as ``not_found``, exactly as one that does not exist.
Scoping lives here, with the registry's tables, not in ``shidian.platform.access``: it reads
``registry_doctor_areas``; the permissions it consults are in ``PERMISSIONS`` there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from shidian.platform.access import can
from shidian.platform.accounts import User
from shidian.platform.db.registry_schema import registry_doctor_areas
from shidian.platform.db.schema import units
from shidian.platform.units import units_under

AREA_KINDS = ("city", "county", "township", "village")


@dataclass(frozen=True)
class Scope:
    villages: frozenset[int] | None

    def allows(self, village_id: int) -> bool:
        return self.villages is None or village_id in self.villages

    def where(self, column: sa.ColumnElement[int]) -> sa.ColumnElement[bool]:
        """A SQL condition restricting ``column`` (a village id) to the scope."""
        if self.villages is None:
            return sa.true()
        if not self.villages:
            return sa.false()
        return column.in_(sorted(self.villages))


def villages_under(conn: sa.Connection, unit_ids: Iterable[int]) -> frozenset[int]:
    """Village units at or below ``unit_ids``."""
    return units_under(conn, unit_ids, kind="village")


def scope_of(conn: sa.Connection, user: User) -> Scope:
    if not can(user, "registry.view"):
        return Scope(frozenset())
    if can(user, "registry.assigned_areas"):
        assigned = conn.execute(
            sa.select(registry_doctor_areas.c.unit_id).where(registry_doctor_areas.c.user_id == user.id)
        ).scalars()
        return Scope(villages_under(conn, assigned))
    if user.unit_kind in AREA_KINDS:
        return Scope(villages_under(conn, [user.unit_id]))
    if can(user, "registry.view_all"):
        return Scope(None)
    return Scope(frozenset())


def units_below(conn: sa.Connection, unit_id: int) -> frozenset[int]:
    """Every unit at or below ``unit_id`` (any kind): where services may be recorded."""
    tree = sa.select(units.c.id).where(units.c.id == unit_id).cte("tree_all", recursive=True)
    tree = tree.union_all(sa.select(units.c.id).join(tree, units.c.parent_id == tree.c.id))
    return frozenset(int(i) for i in conn.execute(sa.select(tree.c.id)).scalars())


@dataclass(frozen=True)
class Area:
    id: int
    code: str
    name: str


def area_by_code(conn: sa.Connection, code: str) -> Area | None:
    row = conn.execute(sa.select(units.c.id, units.c.code, units.c.name).where(units.c.code == code)).first()
    return None if row is None else Area(int(row.id), str(row.code), str(row.name))


def area_by_id(conn: sa.Connection, unit_id: int) -> Area | None:
    row = conn.execute(sa.select(units.c.id, units.c.code, units.c.name).where(units.c.id == unit_id)).first()
    return None if row is None else Area(int(row.id), str(row.code), str(row.name))


def all_villages(conn: sa.Connection) -> frozenset[int]:
    return frozenset(
        int(i) for i in conn.execute(sa.select(units.c.id).where(units.c.kind == "village")).scalars()
    )
