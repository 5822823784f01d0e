"""Registry access scoping (严重精神障碍患者数据权限): which villages' patients a user sees.

* a community mental-health doctor (精防医生) sees the villages assigned to the doctor
  (``registry_doctor_areas``; an assigned township or county stands for all its villages);
* a user of a township, county or city unit sees the villages under that unit;
* the pilot office, leaders and administrators of a unit without a region (试点办, 卫健委) see all.

``Scope.villages`` is None for "all", else the set of village unit ids (maybe empty). Pages and
the API answer 404 for a patient outside the scope, exactly as for one that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from shidian.platform.access import can
from shidian.platform.accounts import User
from shidian.platform.db.registry_schema import registry_doctor_areas
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
    if user.role == "mental_health_doctor":
        assigned = conn.execute(
            sa.select(registry_doctor_areas.c.unit_id).where(registry_doctor_areas.c.user_id == user.id)
        ).scalars()
        return Scope(villages_under(conn, assigned))
    if user.unit_kind in AREA_KINDS:
        return Scope(villages_under(conn, [user.unit_id]))
    if can(user, "registry.view_all"):
        return Scope(None)
    return Scope(frozenset())
