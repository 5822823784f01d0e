"""The registry's repository (严重精神障碍患者档案): register patients, record follow-ups and
team work, read patients within a user's scope.

Every function takes a connection inside the request's one transaction; a function that finds
problems returns them and writes nothing, so the caller's transaction commits nothing either.
Patients outside the caller's scope are ``NotFound``, exactly like patients that do not exist.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa

from shidian.insurance.id_number import id_number_error, mask_id, mask_name
from shidian.platform.accounts import User
from shidian.platform.clock import now
from shidian.platform.crypto import DataKeys
from shidian.platform.db.registry_schema import (
    registry_assessments,
    registry_diagnoses,
    registry_followups,
    registry_guardians,
    registry_patients,
    registry_team_actions,
    registry_team_members,
)
from shidian.platform.db.schema import units
from shidian.problems import Problem, Source
from shidian.registry import FollowUpFindings, classify, disorder_of, next_due_on, normalise_icd10
from shidian.registry.followup import due_state
from shidian.registry.policy import RegistryPolicy
from shidian.registry.risk import BEHAVIOURS, suggest_level, valid_level
from shidian.web.registry_access import Scope
from shidian.web.registry_models import (
    FollowUpIn,
    FollowUpOut,
    FollowUpResult,
    PatientDetail,
    PatientIn,
    PatientRow,
    TeamActionIn,
    TeamActionOut,
    TeamMemberIn,
    TeamMemberOut,
)

ID_HEAD, ID_TAIL = 4, 4  # 4508**********1234
ID_REASONS = {
    "format": "应为 18 位, 前 17 位为数字, 末位为数字或 X",
    "check": "校验码不符 (GB 11643)",
    "birth": "出生日期无效",
}
_BEHAVIOUR_CODES = {b.code for b in BEHAVIOURS}
PAGE_SIZE = 50


class NotFound(Exception):
    """No such patient, or one outside the caller's scope (answered as 404)."""


@dataclass(frozen=True)
class Village:
    id: int
    code: str
    name: str


def _problem(code: str, message: str, column: str | None = None, source: str = "request") -> Problem:
    return Problem(code, message, Source(source, column=column))


def new_registry_no() -> str:
    """A pseudonymous registry number (档案号): ``P`` and 10 random hex digits."""
    return "P" + secrets.token_hex(5).upper()


def find_village(conn: sa.Connection, code: str) -> Village | None:
    row = conn.execute(
        sa.select(units.c.id, units.c.code, units.c.name).where(
            units.c.code == code, units.c.kind == "village"
        )
    ).first()
    return None if row is None else Village(int(row.id), str(row.code), str(row.name))


# ---- registering ------------------------------------------------------------------------


def check_patient(
    conn: sa.Connection,
    keys: DataKeys,
    scope: Scope,
    data: PatientIn,
    today: dt.date,
    source: str = "request",
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The patient's column values, or the problems (every one found) that refuse it."""
    problems: list[Problem] = []
    name = data.name.strip()
    if not name:
        problems.append(
            _problem("registry.patient.name_required", "姓名不能为空 (name required)", "name", source)
        )
    number = data.id_number.strip().upper()
    reason = id_number_error(number)
    if reason is not None:
        problems.append(
            _problem(
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
            _problem(
                "registry.patient.unknown_diagnosis",
                f"诊断编码 {data.icd10!r} 不属于六类严重精神障碍 (F20, F25, F22, F31, F06, F70–F79) (unknown diagnosis)",
                "icd10",
                source,
            )
        )
    village = find_village(conn, data.village_code.strip())
    if village is None:
        problems.append(
            _problem(
                "registry.patient.unknown_village",
                f"没有代码为 {data.village_code!r} 的村/社区 (unknown village)",
                "village_code",
                source,
            )
        )
    elif not scope.allows(village.id):
        problems.append(
            _problem(
                "registry.patient.outside_area",
                f"{village.name} 不在您负责的地区 (outside your area)",
                "village_code",
                source,
            )
        )
    registered_on = data.registered_on or today
    if registered_on > today:
        problems.append(
            _problem(
                "registry.patient.in_future", "登记日期不能晚于今天 (in the future)", "registered_on", source
            )
        )
    if data.diagnosed_on is not None and data.diagnosed_on > today:
        problems.append(
            _problem(
                "registry.patient.in_future", "诊断日期不能晚于今天 (in the future)", "diagnosed_on", source
            )
        )
    if reason is None:
        digest = keys.id_hmac(number)
        if conn.execute(
            sa.select(registry_patients.c.id).where(registry_patients.c.id_hmac == digest)
        ).first():
            problems.append(
                _problem(
                    "registry.patient.duplicate",
                    "该身份证号已登记 (already registered)",
                    "id_number",
                    source,
                )
            )
    if problems or village is None or disorder is None or code is None:
        return None, problems
    return {
        "registry_no": new_registry_no(),
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
        # 登记后首次随访: 本系统约定 2 周内 (docs/registry.md)
        "next_due_on": registered_on + dt.timedelta(days=14),
    }, []


def insert_patient(
    conn: sa.Connection, keys: DataKeys, values: dict[str, Any], data: PatientIn, user: User | None
) -> int:
    patient_id = int(
        conn.execute(
            registry_patients.insert()
            .values(**values, created_at=now(), created_by=getattr(user, "id", None))
            .returning(registry_patients.c.id)
        ).scalar_one()
    )
    conn.execute(
        registry_diagnoses.insert().values(
            patient_id=patient_id,
            icd10=values["icd10"],
            disorder=values["disorder"],
            diagnosed_on=values["diagnosed_on"],
            hospital=values["diagnosing_hospital"],
            recorded_at=now(),
        )
    )
    if values["has_guardian"]:
        assert data.guardian_name is not None
        guardian = data.guardian_name.strip()
        conn.execute(
            registry_guardians.insert().values(
                patient_id=patient_id,
                name_enc=keys.encrypt(guardian, "guardian_name"),
                phone_enc=keys.encrypt(data.guardian_phone.strip(), "guardian_phone")
                if data.guardian_phone
                else None,
                name_masked=mask_name(guardian),
                relation=(data.guardian_relation or "").strip() or None,
            )
        )
    return patient_id


def register_patient(
    conn: sa.Connection, keys: DataKeys, user: User, scope: Scope, data: PatientIn, today: dt.date
) -> tuple[str | None, list[Problem]]:
    values, problems = check_patient(conn, keys, scope, data, today)
    if values is None:
        return None, problems
    insert_patient(conn, keys, values, data, user)
    return str(values["registry_no"]), []


# ---- reading ----------------------------------------------------------------------------


def _row_query() -> sa.Select[Any]:
    p = registry_patients
    return sa.select(
        p.c.id,
        p.c.registry_no,
        p.c.name_masked,
        p.c.id_masked,
        p.c.sex,
        p.c.birth_year,
        units.c.code.label("village_code"),
        units.c.name.label("village_name"),
        p.c.village_id,
        p.c.disorder,
        p.c.icd10,
        p.c.registered_on,
        p.c.status,
        p.c.status_on,
        p.c.treatment,
        p.c.last_followed_on,
        p.c.last_class,
        p.c.last_risk,
        p.c.next_due_on,
    ).join(units, units.c.id == p.c.village_id)


def patient_row(row: Any, today: dt.date, policy: RegistryPolicy) -> PatientRow:
    state: Literal["overdue", "due", "ok", "inactive"] = "inactive"
    if row.status == "managed":
        state = due_state(row.next_due_on, today, policy)
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
    scope: Scope,
    policy: RegistryPolicy,
    today: dt.date,
    *,
    q: str | None = None,
    status: str | None = None,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> tuple[int, list[PatientRow]]:
    """A page of the patients in scope (masked), by village then registry number."""
    p = registry_patients
    where = [scope.where(p.c.village_id)]
    if status:
        where.append(p.c.status == status)
    if q:
        text = q.strip().upper()
        if id_number_error(text) is None:
            where.append(p.c.id_hmac == keys.id_hmac(text))  # lookup by ID number via the HMAC
        else:
            where.append(sa.or_(p.c.registry_no == text, units.c.code.startswith(q.strip(), autoescape=True)))
    query = _row_query().where(*where)
    total = int(conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one())
    rows = conn.execute(
        query.order_by(units.c.code, p.c.registry_no).limit(page_size).offset((page - 1) * page_size)
    ).all()
    return total, [patient_row(r, today, policy) for r in rows]


def find_patient(conn: sa.Connection, scope: Scope, registry_no: str) -> Any:
    row = conn.execute(_row_query().where(registry_patients.c.registry_no == registry_no)).first()
    if row is None or not scope.allows(int(row.village_id)):
        raise NotFound(registry_no)
    return row


def patient_detail(
    conn: sa.Connection,
    keys: DataKeys,
    scope: Scope,
    policy: RegistryPolicy,
    today: dt.date,
    registry_no: str,
    *,
    unmasked: bool,
) -> PatientDetail:
    row = find_patient(conn, scope, registry_no)
    pid = int(row.id)
    full = conn.execute(sa.select(registry_patients).where(registry_patients.c.id == pid)).one()
    guardian = conn.execute(
        sa.select(registry_guardians)
        .where(registry_guardians.c.patient_id == pid)
        .order_by(registry_guardians.c.id)
    ).first()
    base = patient_row(row, today, policy)
    if unmasked:
        base = base.model_copy(
            update={
                "name": keys.decrypt(full.name_enc, "name"),
                "id_number": keys.decrypt(full.id_enc, "id_number"),
            }
        )
    followups = conn.execute(
        sa.select(registry_followups)
        .where(registry_followups.c.patient_id == pid)
        .order_by(registry_followups.c.followed_on.desc(), registry_followups.c.id.desc())
    ).all()
    members = conn.execute(
        sa.select(registry_team_members)
        .where(registry_team_members.c.patient_id == pid)
        .order_by(registry_team_members.c.id)
    ).all()
    actions = conn.execute(
        sa.select(registry_team_actions)
        .where(registry_team_actions.c.patient_id == pid)
        .order_by(registry_team_actions.c.acted_on.desc(), registry_team_actions.c.id.desc())
    ).all()

    def clear(blob: bytes | None, column: str, masked: str | None = None) -> str | None:
        if blob is None:
            return None
        return keys.decrypt(blob, column) if unmasked else (masked or "***")

    return PatientDetail(
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
        team=[
            TeamMemberOut(id=m.id, role=m.role, member_name=m.member_name, phone=m.phone, added_on=m.added_on)
            for m in members
        ],
        actions=[
            TeamActionOut(id=a.id, member_id=a.member_id, acted_on=a.acted_on, action=a.action)
            for a in actions
        ],
        needs_team=row.last_class == "unstable" and not members,
        assessed_this_year=sum(
            1 for f in followups if f.followed_on.year == today.year and f.risk_level is not None
        ),
        required_per_year=policy.min_followups,
        health_checks_12_months=sum(
            1 for f in followups if f.health_check and f.followed_on > today - dt.timedelta(days=365)
        ),
        required_health_checks=policy.health_checks,
    )


# ---- follow-ups and teams -----------------------------------------------------------------


def record_followup(
    conn: sa.Connection,
    user: User,
    scope: Scope,
    policy: RegistryPolicy,
    registry_no: str,
    data: FollowUpIn,
    today: dt.date,
) -> tuple[FollowUpResult | None, list[Problem]]:
    """Check and save a follow-up and its risk assessment; classify and set the next due date."""
    row = find_patient(conn, scope, registry_no)
    problems: list[Problem] = []
    if not valid_level(data.risk_level):
        problems.append(
            _problem(
                "registry.followup.invalid_risk",
                f"危险性等级应为 0–5 级, 实际为 {data.risk_level} (risk level)",
                "risk_level",
            )
        )
    unknown = [b for b in data.behaviours if b not in _BEHAVIOUR_CODES]
    if unknown:
        problems.append(
            _problem(
                "registry.followup.unknown_behaviour",
                f"未知的行为项 {', '.join(unknown)} (unknown behaviour)",
                "behaviours",
            )
        )
    if data.followed_on < row.registered_on:
        problems.append(
            _problem(
                "registry.followup.before_registration",
                f"随访日期 {data.followed_on} 早于登记日期 {row.registered_on} (before registration)",
                "followed_on",
            )
        )
    if data.followed_on > today:
        problems.append(
            _problem(
                "registry.followup.in_future",
                f"随访日期 {data.followed_on} 晚于今天 (in the future)",
                "followed_on",
            )
        )
    if row.status in ("moved", "deceased") and (row.status_on is None or row.status_on <= data.followed_on):
        problems.append(
            _problem(
                "registry.followup.off_register",
                "患者已迁出或死亡, 不能再随访 (off the register)",
                "followed_on",
            )
        )
    if problems:
        return None, problems
    suggested = suggest_level(data.behaviours)
    findings = FollowUpFindings(
        data.risk_level,
        data.symptoms,
        data.insight,
        data.social_function,
        data.adverse_reaction,
        data.physical_illness,
    )
    classification = classify(findings)
    f = registry_followups
    pid = int(row.id)
    previous = conn.execute(
        sa.select(f.c.classification)
        .where(f.c.patient_id == pid, f.c.followed_on <= data.followed_on)
        .order_by(f.c.followed_on.desc(), f.c.id.desc())
        .limit(1)
    ).scalar()
    due = next_due_on(data.followed_on, classification, previous, policy)
    followup_id = int(
        conn.execute(
            f.insert()
            .values(
                patient_id=pid,
                village_id=int(row.village_id),
                followed_on=data.followed_on,
                risk_level=data.risk_level,
                symptoms=data.symptoms,
                insight=data.insight,
                social_function=data.social_function,
                adverse_reaction=data.adverse_reaction,
                physical_illness=data.physical_illness,
                treatment=data.treatment,
                rehab=data.rehab,
                psy_support=data.psy_support,
                health_check=data.health_check,
                classification=classification,
                next_due_on=due,
                note=(data.note or "").strip() or None,
                doctor_id=user.id,
                created_at=now(),
            )
            .returning(f.c.id)
        ).scalar_one()
    )
    conn.execute(
        registry_assessments.insert().values(
            patient_id=pid,
            followup_id=followup_id,
            assessed_on=data.followed_on,
            risk_level=data.risk_level,
            suggested_level=suggested,
            behaviours=list(data.behaviours),
            assessor_id=user.id,
        )
    )
    if row.last_followed_on is None or data.followed_on >= row.last_followed_on:
        conn.execute(
            registry_patients.update()
            .where(registry_patients.c.id == pid)
            .values(
                last_followed_on=data.followed_on,
                last_class=classification,
                last_risk=data.risk_level,
                next_due_on=due,
                treatment=data.treatment,
                rehab=data.rehab,
            )
        )
    has_team = conn.execute(
        sa.select(registry_team_members.c.id).where(registry_team_members.c.patient_id == pid).limit(1)
    ).first()
    return FollowUpResult(
        registry_no=registry_no,
        followup_id=followup_id,
        suggested_level=suggested,
        risk_level=data.risk_level,
        classification=classification,
        next_due_on=due,
        refer_now=classification == "unstable",
        needs_team=classification == "unstable" and has_team is None,
    ), []


def add_team_member(
    conn: sa.Connection, user: User, scope: Scope, registry_no: str, data: TeamMemberIn, today: dt.date
) -> int:
    row = find_patient(conn, scope, registry_no)
    return int(
        conn.execute(
            registry_team_members.insert()
            .values(
                patient_id=int(row.id),
                role=data.role,
                member_name=data.member_name.strip(),
                phone=(data.phone or "").strip() or None,
                added_on=today,
                added_by=user.id,
            )
            .returning(registry_team_members.c.id)
        ).scalar_one()
    )


def add_team_action(
    conn: sa.Connection, user: User, scope: Scope, registry_no: str, data: TeamActionIn, today: dt.date
) -> tuple[int | None, list[Problem]]:
    row = find_patient(conn, scope, registry_no)
    problems: list[Problem] = []
    if data.acted_on > today:
        problems.append(_problem("registry.team.in_future", "日期不能晚于今天 (in the future)", "acted_on"))
    if data.member_id is not None:
        member = conn.execute(
            sa.select(registry_team_members.c.id).where(
                registry_team_members.c.id == data.member_id,
                registry_team_members.c.patient_id == int(row.id),
            )
        ).first()
        if member is None:
            problems.append(
                _problem(
                    "registry.team.unknown_member",
                    "该成员不属于此患者的个案管理团队 (unknown member)",
                    "member_id",
                )
            )
    if problems:
        return None, problems
    action_id = conn.execute(
        registry_team_actions.insert()
        .values(
            patient_id=int(row.id),
            member_id=data.member_id,
            acted_on=data.acted_on,
            action=data.action.strip(),
            recorded_by=user.id,
        )
        .returning(registry_team_actions.c.id)
    ).scalar_one()
    return int(action_id), []
