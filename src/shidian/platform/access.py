"""Access scoping (数据权限): what a user's role and unit let the user see and do.

Every query of hospital data goes through ``visible_hospital_ids``; every action through
``can``. A hospital user sees its own hospital only, in pages and in the API alike.
"""

from __future__ import annotations

from shidian.platform.accounts import User
from shidian.problems import refusal

#: action → roles allowed
PERMISSIONS: dict[str, frozenset[str]] = {
    "drg.view_all": frozenset({"admin", "settlement_officer", "leader", "pilot_office"}),
    "drg.import": frozenset({"admin", "settlement_officer"}),
    "drg.run": frozenset({"admin", "settlement_officer"}),
    "drg.publish": frozenset({"admin", "settlement_officer"}),
    "drg.view_own_hospital": frozenset({"hospital"}),
    "insurance.desk": frozenset({"settlement_officer", "hospital"}),
    "insurance.claims_view": frozenset({"admin", "settlement_officer", "leader", "hospital"}),
    "insurance.view_all": frozenset({"admin", "settlement_officer", "leader"}),
    "insurance.import": frozenset({"admin", "settlement_officer"}),
    "admin.users": frozenset({"admin"}),
    # cancel any running import (its importer may always cancel their own)
    "imports.cancel_any": frozenset({"admin"}),
    "admin.audit": frozenset({"admin", "leader"}),
    "pilots.reports.view": frozenset({"admin", "leader", "pilot_office", "reporting_unit"}),
    "pilots.plans.load": frozenset({"admin", "pilot_office"}),
    "pilots.supervision.view": frozenset({"admin", "leader", "pilot_office", "reporting_unit"}),
    "pilots.supervision.manage": frozenset({"pilot_office"}),
    # 试点方案 / 目标监测 / 考核评分: read-only; rows scoped by shidian.pilots.scope.visible_units
    "pilots.plans.view": frozenset({"admin", "leader", "pilot_office", "reporting_unit"}),
    # pilot scoping (shidian.pilots.scope): every unit; a pilot office's area; a reporting unit's
    # own unit and the units directly under it (whose reports it approves)
    "pilots.view_all": frozenset({"admin", "leader"}),
    "pilots.view_area": frozenset({"pilot_office"}),
    "pilots.reports.enter": frozenset({"reporting_unit"}),
    # the visited unit answers a supervision visit: evidence, rectification done (整改完成)
    "pilots.supervision.respond": frozenset({"reporting_unit"}),
    # 严重精神障碍患者管理 (registry): scoping by area in shidian.registry.store.scope
    "registry.view": frozenset({"admin", "pilot_office", "leader", "reporting_unit", "mental_health_doctor"}),
    "registry.view_all": frozenset({"admin", "pilot_office", "leader"}),
    "registry.edit": frozenset({"mental_health_doctor"}),
    "registry.import": frozenset({"mental_health_doctor", "pilot_office"}),
    "registry.export_unmasked": frozenset({"pilot_office"}),
    "registry.assign": frozenset({"admin", "pilot_office"}),
    # sees the villages assigned in registry_doctor_areas (not those under the user's unit)
    "registry.assigned_areas": frozenset({"mental_health_doctor"}),
    # 以奖代补: the pilot office allocates; a reporting unit sees its own unit only
    "rewards.allocate": frozenset({"admin", "pilot_office"}),
    "rewards.view_all": frozenset({"admin", "pilot_office", "leader"}),
    "rewards.view": frozenset({"admin", "pilot_office", "leader", "reporting_unit"}),
    # 医共体按人头总额预付: the insurance bureau settles; a member institution (a hospital user whose
    # hospital id is a member) sees its own 医共体 only (shidian.capitation.service)
    "capitation.settle": frozenset({"admin", "settlement_officer"}),
    "capitation.view_all": frozenset({"admin", "settlement_officer", "leader", "pilot_office"}),
    "capitation.view": frozenset({"admin", "settlement_officer", "leader", "pilot_office", "hospital"}),
    "policies.view": frozenset(
        {
            "admin",
            "settlement_officer",
            "leader",
            "pilot_office",
            "hospital",
            "reporting_unit",
            "mental_health_doctor",
        }
    ),
}


#: Roles that read every unit's reports, visits and rectifications (领导/审计, 管理员).
READ_ALL_ROLES = frozenset({"admin", "leader"})


def can(user: User, action: str) -> bool:
    return user.role in PERMISSIONS.get(action, frozenset())


def require_permission(user: User, action: str) -> None:
    """Refuse (``forbidden``) a user whose role may not take ``action`` (services call this)."""
    if not can(user, action):
        raise refusal("forbidden", "auth.forbidden", "无权访问 (forbidden)")


def visible_hospital_ids(user: User) -> set[str] | None:
    """None means every hospital; otherwise the hospital ids the user may see (maybe none)."""
    if can(user, "drg.view_all"):
        return None
    if can(user, "drg.view_own_hospital") and user.hospital_id:
        return {user.hospital_id}
    return set()


def may_see_hospital(user: User, hospital_id: str) -> bool:
    visible = visible_hospital_ids(user)
    return visible is None or hospital_id in visible
