"""Access scoping (数据权限): what a user's role and unit let the user see and do.

Every query of hospital data goes through ``visible_hospital_ids``; every action through
``can``. A hospital user sees its own hospital only, in pages and in the API alike.
"""

from __future__ import annotations

from shidian.web.accounts import User

#: action → roles allowed
PERMISSIONS: dict[str, frozenset[str]] = {
    "drg.view_all": frozenset({"admin", "settlement_officer", "leader", "pilot_office"}),
    "drg.import": frozenset({"admin", "settlement_officer"}),
    "drg.run": frozenset({"admin", "settlement_officer"}),
    "drg.publish": frozenset({"admin", "settlement_officer"}),
    "drg.view_own_hospital": frozenset({"hospital"}),
    "admin.users": frozenset({"admin"}),
    "admin.audit": frozenset({"admin", "leader"}),
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


def can(user: User, action: str) -> bool:
    return user.role in PERMISSIONS.get(action, frozenset())


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
