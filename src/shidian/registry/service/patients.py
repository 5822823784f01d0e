"""Registering and reading patients (患者登记、名册、档案): the checks of a registration, the
masked list, one patient's page; each view and each registration is audited."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import sqlalchemy as sa

from shidian.insurance.id_number import id_number_error, mask_id, mask_name
from shidian.platform import audit, clock
from shidian.platform.access import can
from shidian.platform.accounts import User
from shidian.platform.audit import Client
from shidian.platform.crypto import DataKeys
from shidian.problems import Problem
from shidian.registry import disorder_of, normalise_icd10
from shidian.registry.events import PatientRegistered, PatientsListed, PatientViewed, TransferRequested
from shidian.registry.followup import due_state
from shidian.registry.policy import RegistryPolicy
from shidian.registry.records import (
    AssessmentOut,
    FollowUpOut,
    PatientDetail,
    PatientIn,
    PatientRow,
    TeamActionOut,
    TeamMemberOut,
)
from shidian.registry.service.common import find_in_scope, policy, problem, require
from shidian.registry.store import patients
from shidian.registry.store.patients import PAGE_SIZE
from shidian.registry.store.scope import Scope, scope_of

ID_HEAD, ID_TAIL = 4, 4  # 4508**********1234
ID_REASONS = {
    "format": "应为 18 位, 前 17 位为数字, 末位为数字或 X",
    "check": "校验码不符 (GB 11643)",
    "birth": "出生日期无效",
}


def may_unmask(user: User) -> bool:
    """Clear identifiers on a patient's page: the doctors who follow the patient and the office."""
    return can(user, "registry.edit") or can(user, "registry.export_unmasked")


def check_patient(
    conn: sa.Connection,
    keys: DataKeys,
    scope: Scope,
    data: PatientIn,
    today: dt.date,
    source: str = "request",
    rules: RegistryPolicy | None = None,
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The patient's column values, or the problems (every one found) that refuse it. Writes
    nothing: the registration, the import and the demo write with ``save_patient``."""
    problems: list[Problem] = []
    name = data.name.strip()
    if not name:
        problems.append(
            problem("registry.patient.name_required", "姓名不能为空 (name required)", "name", source)
        )
    number = data.id_number.strip().upper()
    reason = id_number_error(number)
    if reason is not None:
        problems.append(
            problem(
                "registry.patient.invalid_id",
                f"身份证号无效: {ID_REASONS[reason]} (invalid ID number)",
                "id_number",
                source,
            )
        )
    code = normalise_icd10(data.icd10)
    disorder = disorder_of(data.icd10)
    if disorder is None:
        problems.append(
            problem(
                "registry.patient.unknown_diagnosis",
                f"诊断编码 {data.icd10!r} 不属于六类严重精神障碍 (F20, F25, F22, F31, F06, F70–F79) (unknown diagnosis)",
                "icd10",
                source,
            )
        )
    village = patients.find_village(conn, data.village_code.strip())
    if village is None:
        problems.append(
            problem(
                "registry.patient.unknown_village",
                f"没有代码为 {data.village_code!r} 的村/社区 (unknown village)",
                "village_code",
                source,
            )
        )
    elif not scope.allows(village.id):
        problems.append(
            problem(
                "registry.patient.outside_area",
                f"{village.name} 不在您负责的地区 (outside your area)",
                "village_code",
                source,
            )
        )
    registered_on = data.registered_on or today
    if registered_on > today:
        problems.append(
            problem(
                "registry.patient.in_future", "登记日期不能晚于今天 (in the future)", "registered_on", source
            )
        )
    if data.diagnosed_on is not None and data.diagnosed_on > today:
        problems.append(
            problem(
                "registry.patient.in_future", "诊断日期不能晚于今天 (in the future)", "diagnosed_on", source
            )
        )
    # A duplicate is named only when the caller may see where it is held (the record or a
    # transfer request in the caller's area); one held elsewhere becomes a transfer request,
    # answered as a new registration (issue 22 finding 1; docs/web.md, Security).
    held = patients.holders(conn, keys.id_hmac(number)) if reason is None else []
    if any(scope.allows(h.village_id) for h in held):
        problems.append(
            problem(
                "registry.patient.duplicate", "该身份证号已登记 (already registered)", "id_number", source
            )
        )
    if problems or village is None or disorder is None or code is None:
        return None, problems
    first_followup = (rules or policy()).first_followup_days
    return {
        "registry_no": patients.new_registry_no(),
        "name_enc": keys.encrypt(name, "name"),
        "id_enc": keys.encrypt(number, "id_number"),
        "id_hmac": keys.id_hmac(number),
        "name_masked": mask_name(name),
        "id_masked": mask_id(number, ID_HEAD, ID_TAIL),
        "sex": "M" if int(number[16]) % 2 else "F",
        "birth_year": int(number[6:10]),
        "village_id": village.id,
        "address_enc": keys.encrypt(data.address.strip(), "address") if data.address else None,
        "disorder": disorder.code,
        "icd10": code,
        "diagnosed_on": data.diagnosed_on,
        "diagnosing_hospital": (data.diagnosing_hospital or "").strip() or None,
        "registered_on": registered_on,
        "treatment": data.treatment,
        "rehab": False,
        "status": "managed",
        "status_on": None,
        "has_guardian": bool(data.guardian_name and data.guardian_name.strip()),
        # 登记后首次随访: policy intervals.first_after_registration_days (docs/registry.md)
        "next_due_on": registered_on + dt.timedelta(days=first_followup),
        TRANSFER_OF: held[0].patient_id if held else None,
    }, []


#: The key of ``check_patient``'s values naming the record held outside the caller's area
#: (None for a new patient); ``save_patient`` pops it.
TRANSFER_OF = "_transfer_of"


def save_patient(
    conn: sa.Connection,
    keys: DataKeys,
    values: dict[str, Any],
    data: PatientIn,
    user: User | None,
    client: Client | None = None,
) -> int | None:
    """Write a checked registration: the patient (its id), or, for an ID number held outside the
    caller's area, a transfer request to that area, logged for review (None). The caller's answer
    is the same in both cases."""
    transfer_of = values.pop(TRANSFER_OF, None)
    if transfer_of is None:
        return patients.insert_patient(conn, keys, values, data, user)
    held_no = patients.insert_transfer(conn, values, int(transfer_of), user)
    village = patients.find_village(conn, data.village_code.strip())
    event = TransferRequested(
        target=held_no, registry_no=str(values["registry_no"]), village=village.code if village else ""
    )
    audit.log(conn, event, user, client)
    return None


def register_patient(
    conn: sa.Connection, keys: DataKeys, user: User, data: PatientIn, client: Client | None = None
) -> tuple[str | None, list[Problem]]:
    """Register a patient in the doctor's area: (registry number, []) or (None, problems)."""
    require(user, "registry.edit")
    values, problems = check_patient(conn, keys, scope_of(conn, user), data, clock.today())
    if values is None:
        return None, problems
    save_patient(conn, keys, values, data, user, client)
    registry_no = str(values["registry_no"])
    audit.log(conn, PatientRegistered(target=registry_no), user, client)
    return registry_no, []


def patient_row(row: Any, today: dt.date, rules: RegistryPolicy) -> PatientRow:
    state: Literal["overdue", "due", "ok", "inactive"] = "inactive"
    if row.status == "managed":
        state = due_state(row.next_due_on, today, rules)
    return PatientRow(
        registry_no=row.registry_no,
        name=row.name_masked,
        id_number=row.id_masked,
        sex=row.sex,
        birth_year=row.birth_year,
        village_code=row.village_code,
        village_name=row.village_name,
        disorder=row.disorder,
        icd10=row.icd10,
        registered_on=row.registered_on,
        status=row.status,
        treatment=row.treatment,
        last_followed_on=row.last_followed_on,
        last_class=row.last_class,
        last_risk=row.last_risk,
        next_due_on=row.next_due_on,
        due_state=state,
    )


def list_patients(
    conn: sa.Connection,
    keys: DataKeys,
    user: User,
    client: Client | None = None,
    *,
    q: str | None = None,
    status: str | None = None,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> tuple[int, list[PatientRow]]:
    """A page of the patients in the user's area (masked), searched by registry number, ID
    number (looked up by its HMAC) or village code."""
    require(user, "registry.view")
    id_hmac = text = None
    if q:
        number = q.strip().upper()
        if id_number_error(number) is None:
            id_hmac = keys.id_hmac(number)
        else:
            text = q.strip()
    total, rows = patients.page_rows(
        conn, scope_of(conn, user), status=status, id_hmac=id_hmac, text=text, page=page, page_size=page_size
    )
    today = clock.today()
    listed = [patient_row(r, today, policy()) for r in rows]
    audit.log(conn, PatientsListed(q=bool(q), page=page, rows=len(listed)), user, client)
    return total, listed


def patient_detail(
    conn: sa.Connection, keys: DataKeys, user: User, registry_no: str, client: Client | None = None
) -> PatientDetail:
    """One patient with follow-ups and team; identifiers in clear only when ``may_unmask``."""
    require(user, "registry.view")
    row = find_in_scope(conn, scope_of(conn, user), registry_no)
    unmasked = may_unmask(user)
    record = patients.patient_record(conn, int(row.id))
    today, rules = clock.today(), policy()
    full, guardian, followups = record.row, record.guardian, record.followups
    base = patient_row(row, today, rules)
    if unmasked:
        base = base.model_copy(
            update={
                "name": keys.decrypt(full.name_enc, "name"),
                "id_number": keys.decrypt(full.id_enc, "id_number"),
            }
        )

    def clear(blob: bytes | None, column: str, masked: str | None = None) -> str | None:
        if blob is None:
            return None
        return keys.decrypt(blob, column) if unmasked else (masked or "***")

    detail = PatientDetail(
        patient=base,
        masked=not unmasked,
        address=clear(full.address_enc, "address"),
        diagnosing_hospital=full.diagnosing_hospital,
        diagnosed_on=full.diagnosed_on,
        guardian_name=None
        if guardian is None
        else clear(guardian.name_enc, "guardian_name", guardian.name_masked),
        guardian_phone=None if guardian is None else clear(guardian.phone_enc, "guardian_phone"),
        guardian_relation=None if guardian is None else guardian.relation,
        followups=[
            FollowUpOut(
                id=f.id,
                followed_on=f.followed_on,
                risk_level=f.risk_level,
                classification=f.classification,
                next_due_on=f.next_due_on,
                treatment=f.treatment,
                rehab=f.rehab,
                psy_support=f.psy_support,
                health_check=f.health_check,
                note=f.note,
            )
            for f in followups
        ],
        assessments=[
            AssessmentOut(
                id=a.id,
                assessed_on=a.assessed_on,
                suggested_level=a.suggested_level,
                risk_level=a.risk_level,
                lowered_reason=a.lowered_reason,
                annual_assessment=bool(a.annual),
                followup_id=a.followup_id,
            )
            for a in record.assessments
        ],
        team=[
            TeamMemberOut(id=m.id, role=m.role, member_name=m.member_name, phone=m.phone, added_on=m.added_on)
            for m in record.members
        ],
        actions=[
            TeamActionOut(id=a.id, member_id=a.member_id, acted_on=a.acted_on, action=a.action)
            for a in record.actions
        ],
        needs_team=row.last_class == "unstable" and not record.members,
        assessed_this_year=sum(
            1 for f in followups if f.followed_on.year == today.year and f.risk_level is not None
        ),
        required_per_year=rules.min_followups,
        health_checks_12_months=sum(
            1 for f in followups if f.health_check and f.followed_on > today - dt.timedelta(days=365)
        ),
        required_health_checks=rules.health_checks,
    )
    audit.log(conn, PatientViewed(target=registry_no, masked=detail.masked), user, client)
    return detail
