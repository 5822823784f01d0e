"""Who sees which units in the pilot pages (数据权限, docs/pilots.md).

A reporting unit sees its own unit (and the units directly below it, whose reports it
approves); a pilot office sees its area — the subtree of the unit its office belongs to (the
office unit's parent), or every unit when the office sits at the top; leaders and administrators
read everything. The roles behind each case are in ``shidian.platform.access.PERMISSIONS``
(``pilots.view_all``, ``pilots.view_area``, ``pilots.reports.enter``).
"""

from __future__ import annotations

from shidian.pilots.workflow import Actor
from shidian.platform.access import can
from shidian.platform.accounts import User
from shidian.platform.units import UnitRow, descendants


def office_area(tree: dict[int, UnitRow], user: User) -> frozenset[int]:
    """A pilot office's area (辖区): the subtree of its unit's parent, or everything at the top."""
    own = tree.get(user.unit_id)
    if own is None:
        return frozenset()
    if own.kind == "office" and own.parent_id is None:
        return frozenset(tree)
    root = own.parent_id if own.kind == "office" and own.parent_id is not None else own.id
    return frozenset(descendants(tree, root))


def actor_for(tree: dict[int, UnitRow], user: User) -> Actor:
    """The workflow's view of ``user``: role, unit and, for a pilot office, its area."""
    area = office_area(tree, user) if can(user, "pilots.view_area") else None
    return Actor(user.role, user.unit_id, area)


def reads_all(user: User) -> bool:
    """Leaders and administrators read every unit (and every plan)."""
    return can(user, "pilots.view_all")


def visible_units(tree: dict[int, UnitRow], user: User) -> set[int]:
    """The units whose reports, visits and rectifications ``user`` may read."""
    if reads_all(user):
        return set(tree)
    if can(user, "pilots.view_area"):
        return set(office_area(tree, user))
    if can(user, "pilots.reports.enter"):
        return {user.unit_id} | {u.id for u in tree.values() if u.parent_id == user.unit_id}
    return set()


def is_visited_unit(user: User, unit_id: int) -> bool:
    """``user`` reports for the unit a supervision visit went to (被督导单位)."""
    return can(user, "pilots.supervision.respond") and user.unit_id == unit_id
