"""Registry reports (工作清单、预警、指标、有奖监护): set-based queries over the registry tables.

The work list and the warnings read ``registry_patients`` by village and due date (one indexed
range query); the indicators run ``shidian.registry.indicator_sql`` — the same SQL the pure
core runs in DuckDB — on PostgreSQL or SQLite over sub-selects restricted to the area.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from shidian.platform.crypto import DataKeys
from shidian.platform.db.registry_schema import registry_assessments, registry_patients, registry_team_members
from shidian.platform.db.schema import units
from shidian.registry import INDICATORS, Period, guardian_rewards, indicator_sql, registry_policy
from shidian.registry.indicators import indicator_table, rate_text, required_followups, services_sql
from shidian.registry.model import DISORDER_NAMES
from shidian.registry.policy import RegistryPolicy
from shidian.web.registry_access import Scope, villages_under
from shidian.web.registry_models import IndicatorRow, WarningRow, WorkItem

#: indicator → target key of the policy
TARGETS = {
    "SMD_REGULAR_MGMT_RATE": "managed_rate",
    "SMD_TREATMENT_RATE": "treatment_rate",
    "SMD_SCHIZ_TREATMENT_RATE": "schizophrenia_treatment_rate",
    "SMD_REHAB_RATE": "rehab_rate",
    "SMD_PSY_SUPPORT_RATE": "psy_support_rate",
}
WORKLIST_LIMIT = 500


def worklist(conn: sa.Connection, scope: Scope, policy: RegistryPolicy, today: dt.date) -> list[WorkItem]:
    """Patients in management whose next follow-up is overdue or due within ``due_soon_days``."""
    p = registry_patients
    horizon = today + dt.timedelta(days=policy.due_soon_days)
    rows = conn.execute(
        sa.select(
            p.c.registry_no,
            p.c.name_masked,
            units.c.name.label("village_name"),
            p.c.disorder,
            p.c.last_class,
            p.c.last_risk,
            p.c.last_followed_on,
            p.c.next_due_on,
        )
        .join(units, units.c.id == p.c.village_id)
        .where(scope.where(p.c.village_id), p.c.status == "managed", p.c.next_due_on <= horizon)
        .order_by(p.c.next_due_on, p.c.registry_no)
        .limit(WORKLIST_LIMIT)
    ).all()
    return [
        WorkItem(
            registry_no=r.registry_no,
            name=r.name_masked,
            village_name=r.village_name,
            disorder=DISORDER_NAMES.get(r.disorder, r.disorder),
            last_class=r.last_class,
            last_risk=r.last_risk,
            last_followed_on=r.last_followed_on,
            next_due_on=r.next_due_on,
            state="overdue" if r.next_due_on < today else "due",
            days_overdue=max(0, (today - r.next_due_on).days),
        )
        for r in rows
    ]


def warnings(conn: sa.Connection, scope: Scope, policy: RegistryPolicy, today: dt.date) -> list[WarningRow]:
    """Per village: patients overdue by more than ``township_warning_days``, and unstable
    patients without a case-management team (乡镇预警)."""
    p = registry_patients
    limit = today - dt.timedelta(days=policy.township_warning_days)
    has_team = sa.exists().where(registry_team_members.c.patient_id == p.c.id)
    overdue = sa.and_(p.c.next_due_on < limit)
    no_team = sa.and_(p.c.last_class == "unstable", ~has_team)
    rows = conn.execute(
        sa.select(
            units.c.code,
            units.c.name,
            sa.func.sum(sa.case((overdue, 1), else_=0)).label("overdue"),
            sa.func.min(sa.case((overdue, p.c.next_due_on), else_=None)).label("oldest"),
            sa.func.sum(sa.case((no_team, 1), else_=0)).label("no_team"),
        )
        .join(units, units.c.id == p.c.village_id)
        .where(scope.where(p.c.village_id), p.c.status == "managed", sa.or_(overdue, no_team))
        .group_by(units.c.code, units.c.name)
        .order_by(units.c.code)
    ).all()
    return [
        WarningRow(
            village_code=r.code,
            village_name=r.name,
            overdue=int(r.overdue or 0),
            max_days_overdue=0 if r.oldest is None else (today - _date(r.oldest)).days,
            unstable_without_team=int(r.no_team or 0),
        )
        for r in rows
    ]


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _ids(ids: frozenset[int] | set[int]) -> str:
    return ", ".join(str(int(i)) for i in sorted(ids)) or "NULL"


def area_villages(conn: sa.Connection, scope: Scope, area_id: int) -> frozenset[int]:
    villages = villages_under(conn, [area_id])
    return villages if scope.villages is None else villages & scope.villages


def indicators(
    conn: sa.Connection,
    policy: RegistryPolicy,
    area_id: int,
    area_code: str,
    villages: frozenset[int],
    period: Period,
) -> pa.Table:
    """The indicators of ``villages`` (already scoped) for ``period``, shape 1 under ``area_code``."""
    ids = _ids(villages)
    patients = (
        "(SELECT id AS patient_id, disorder, registered_on, status, status_on "
        f"FROM registry_patients WHERE village_id IN ({ids})) AS pa"
    )
    # pre-filtered by village and date: PostgreSQL reads ix_registry_followups_village_on alone
    followups = (
        "(SELECT patient_id, followed_on, risk_level, treatment, rehab, psy_support FROM registry_followups "
        f"WHERE village_id IN ({ids}) "
        f"AND followed_on >= '{period.start.isoformat()}' AND followed_on <= '{period.end.isoformat()}')"
    )
    sql = indicator_sql(patients, followups, period, required_followups(policy, period))
    counts = dict(conn.execute(sa.text(sql)).mappings().one())
    tree = villages_under_all(conn, area_id)
    services = (
        "(SELECT u.code AS unit_code, s.month, s.counselling_rooms, s.hotline_contacts "
        f"FROM registry_services s JOIN units u ON u.id = s.unit_id WHERE s.unit_id IN ({_ids(tree)}))"
    )
    service_counts = dict(conn.execute(sa.text(services_sql(services, period))).mappings().one())
    return indicator_table(counts, service_counts, area_code, period)


def indicator_values(
    conn: sa.Connection, unit_code: str, period: Period, policy: RegistryPolicy | None = None
) -> pa.Table | None:
    """Shape 1 for every village under the unit ``unit_code`` (no user scope: for system callers
    such as the pilot plans and the CLI); None when no unit has that code."""
    row = conn.execute(sa.select(units.c.id, units.c.code).where(units.c.code == unit_code)).first()
    if row is None:
        return None
    return indicators(
        conn,
        policy or registry_policy(),
        int(row.id),
        str(row.code),
        villages_under(conn, [int(row.id)]),
        period,
    )


def villages_under_all(conn: sa.Connection, unit_id: int) -> frozenset[int]:
    """Every unit at or below ``unit_id`` (any kind): where services may be recorded."""
    tree = sa.select(units.c.id).where(units.c.id == unit_id).cte("tree_all", recursive=True)
    tree = tree.union_all(sa.select(units.c.id).join(tree, units.c.parent_id == tree.c.id))
    return frozenset(int(i) for i in conn.execute(sa.select(tree.c.id)).scalars())


def indicator_rows(table: pa.Table, policy: RegistryPolicy) -> list[IndicatorRow]:
    rows = []
    for r in table.to_pylist():
        code = r["indicator_code"]
        target = policy.targets.get(TARGETS.get(code, ""))
        numerator: Decimal = r["numerator"]
        denominator: Decimal | None = r["denominator"]
        rows.append(
            IndicatorRow(
                unit_code=r["unit_code"],
                indicator_code=code,
                name=INDICATORS[code][0],
                period_start=r["period_start"],
                population=r["population"],
                numerator=str(int(numerator)),
                denominator=None if denominator is None else str(int(denominator)),
                value=rate_text(numerator, denominator),
                target=None if target is None else f"≥ {(target * 100).normalize():f}%",
            )
        )
    return rows


def rewards(conn: sa.Connection, scope: Scope, policy: RegistryPolicy, year: int) -> pa.Table:
    """The 有奖监护 list (shape 3) of the patients in scope for ``year``."""
    p, a = registry_patients, registry_assessments
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    patient_rows = conn.execute(
        sa.select(
            p.c.registry_no.label("recipient_id"),
            units.c.code.label("unit_code"),
            p.c.has_guardian,
            p.c.registered_on,
            p.c.status,
            p.c.status_on,
        )
        .join(units, units.c.id == p.c.village_id)
        .where(scope.where(p.c.village_id), p.c.registered_on <= end)
    ).all()
    assessment_rows = conn.execute(
        sa.select(
            a.c.id.label("assessment_id"),
            p.c.registry_no.label("recipient_id"),
            a.c.assessed_on,
            a.c.risk_level,
        )
        .join(p, p.c.id == a.c.patient_id)
        .where(scope.where(p.c.village_id), a.c.assessed_on >= start, a.c.assessed_on <= end)
    ).all()
    patients = pa.table(
        {
            "recipient_id": pa.array([r.recipient_id for r in patient_rows], pa.string()),
            "unit_code": pa.array([r.unit_code for r in patient_rows], pa.string()),
            "has_guardian": pa.array([bool(r.has_guardian) for r in patient_rows], pa.bool_()),
            "registered_on": pa.array([_date(r.registered_on) for r in patient_rows], pa.date32()),
            "status": pa.array([r.status for r in patient_rows], pa.string()),
            "status_on": pa.array(
                [None if r.status_on is None else _date(r.status_on) for r in patient_rows], pa.date32()
            ),
        }
    )
    assessments = pa.table(
        {
            "assessment_id": pa.array([int(r.assessment_id) for r in assessment_rows], pa.int64()),
            "recipient_id": pa.array([r.recipient_id for r in assessment_rows], pa.string()),
            "assessed_on": pa.array([_date(r.assessed_on) for r in assessment_rows], pa.date32()),
            "risk_level": pa.array([int(r.risk_level) for r in assessment_rows], pa.int32()),
        }
    )
    return guardian_rewards(
        patients, assessments, year, basis=policy.reward_basis, high_level=policy.reward_high_level
    )


def export_rows(
    conn: sa.Connection, keys: DataKeys, scope: Scope, unmasked: bool
) -> tuple[list[str], list[list[Any]]]:
    """The patient list export: masked names and ID numbers unless ``unmasked``."""
    p = registry_patients
    headers = [
        "档案号",
        "姓名",
        "身份证号",
        "村/社区代码",
        "村/社区",
        "病种",
        "诊断编码",
        "登记日期",
        "在册状态",
        "末次随访",
        "下次随访",
    ]
    rows = conn.execute(
        sa.select(
            p.c.registry_no,
            p.c.name_enc,
            p.c.name_masked,
            p.c.id_enc,
            p.c.id_masked,
            units.c.code,
            units.c.name,
            p.c.disorder,
            p.c.icd10,
            p.c.registered_on,
            p.c.status,
            p.c.last_followed_on,
            p.c.next_due_on,
        )
        .join(units, units.c.id == p.c.village_id)
        .where(scope.where(p.c.village_id))
        .order_by(units.c.code, p.c.registry_no)
    ).all()
    out = [
        [
            r.registry_no,
            keys.decrypt(r.name_enc, "name") if unmasked else r.name_masked,
            keys.decrypt(r.id_enc, "id_number") if unmasked else r.id_masked,
            r.code,
            r.name,
            DISORDER_NAMES.get(r.disorder, r.disorder),
            r.icd10,
            str(r.registered_on),
            r.status,
            "" if r.last_followed_on is None else str(r.last_followed_on),
            "" if r.next_due_on is None else str(r.next_due_on),
        ]
        for r in rows
    ]
    return headers, out


def xlsx(sheet: str, headers: list[str], rows: list[list[Any]]) -> bytes:
    """A one-sheet workbook (openpyxl write-only)."""
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    ws = book.create_sheet(sheet)
    ws.append(headers)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
