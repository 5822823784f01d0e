"""Registry reports (工作清单、乡镇预警、管理指标、有奖监护、导出): what the caller's area shows.

Each reads the store within the caller's scope and hands the rows to the core; lists of
personal data and exports are audited. ``indicator_values`` serves system callers (the pilot
plans, the CLI) without a user's scope.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pyarrow as pa
import sqlalchemy as sa

from shidian.money import round_fen
from shidian.platform import audit, clock
from shidian.platform.access import can
from shidian.platform.accounts import User
from shidian.platform.audit import Client
from shidian.platform.crypto import DataKeys
from shidian.registry import INDICATORS, Period
from shidian.registry.events import (
    LoweredLevelsListed,
    PatientsExported,
    RewardsExported,
    RewardsListed,
    WarningsViewed,
    WorklistViewed,
)
from shidian.registry.indicators import indicator_table, rate_text, required_followups, unit_indicator_table
from shidian.registry.io import xlsx
from shidian.registry.model import DISORDER_NAMES
from shidian.registry.policy import RegistryPolicy
from shidian.registry.records import IndicatorRow, LoweredRow, WarningRow, WorkItem
from shidian.registry.rewards import guardian_reward_details
from shidian.registry.service.common import not_found, policy, require
from shidian.registry.store import reports, scope
from shidian.registry.store.scope import Scope, scope_of

#: indicator → target key of the policy
TARGETS = {
    "SMD_REGULAR_MGMT_RATE": "managed_rate",
    "SMD_TREATMENT_RATE": "treatment_rate",
    "SMD_SCHIZ_TREATMENT_RATE": "schizophrenia_treatment_rate",
    "SMD_REHAB_RATE": "rehab_rate",
    "SMD_PSY_SUPPORT_RATE": "psy_support_rate",
}
REWARD_CATEGORIES = {"risk_3_plus": "三级以上", "risk_below_3": "三级以下"}
#: the core's column → the list's (``RewardRow``)
REWARD_COLUMNS = {"annual": "annual_assessment"}
EXPORT_HEADERS = [
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


# ---- work list and warnings ---------------------------------------------------------------


def worklist_items(conn: sa.Connection, area: Scope, rules: RegistryPolicy, today: dt.date) -> list[WorkItem]:
    """Patients in management whose next follow-up is overdue or due within ``due_soon_days``."""
    rows = reports.worklist_rows(conn, area, today + dt.timedelta(days=rules.due_soon_days))
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


def work_list(
    conn: sa.Connection, user: User, client: Client | None = None
) -> tuple[dt.date, list[WorkItem]]:
    """(today, the due and overdue follow-ups in the user's area) (工作清单)."""
    require(user, "registry.view")
    today = clock.today()
    items = worklist_items(conn, scope_of(conn, user), policy(), today)
    audit.log(conn, WorklistViewed(rows=len(items)), user, client)
    return today, items


def warnings(conn: sa.Connection, user: User, client: Client | None = None) -> list[WarningRow]:
    """Per village: patients overdue by more than ``township_warning_days``, and unstable
    patients without a case-management team (乡镇预警); audited (counts of patients by village)."""
    require(user, "registry.view")
    today = clock.today()
    limit = today - dt.timedelta(days=policy().township_warning_days)
    rows = [
        WarningRow(
            village_code=r.code,
            village_name=r.name,
            overdue=int(r.overdue or 0),
            max_days_overdue=0 if r.oldest is None else (today - reports.as_date(r.oldest)).days,
            unstable_without_team=int(r.no_team or 0),
        )
        for r in reports.warning_rows(conn, scope_of(conn, user), limit)
    ]
    audit.log(conn, WarningsViewed(rows=len(rows)), user, client)
    return rows


# ---- indicators ---------------------------------------------------------------------------


@dataclass(frozen=True)
class IndicatorReport:
    area_code: str
    area_name: str
    rows: list[IndicatorRow]


def area_indicators(
    conn: sa.Connection,
    rules: RegistryPolicy,
    area_id: int,
    area_code: str,
    villages: frozenset[int],
    period: Period,
) -> pa.Table:
    """The indicators of ``villages`` (already scoped) for ``period``, shape 1 under ``area_code``."""
    counts = reports.indicator_counts(conn, villages, period, required_followups(rules, period))
    services = reports.service_counts(conn, scope.units_below(conn, area_id), period)
    return indicator_table(counts, services, area_code, period)


def indicator_values(
    conn: sa.Connection, unit_code: str, period: Period, rules: RegistryPolicy | None = None
) -> pa.Table | None:
    """Shape 1 for every village under the unit ``unit_code`` (no user scope: for system callers
    such as the pilot plans and the CLI); None when no unit has that code."""
    area = scope.area_by_code(conn, unit_code)
    if area is None:
        return None
    villages = scope.villages_under(conn, [area.id])
    return area_indicators(conn, rules or policy(), area.id, area.code, villages, period)


def unit_indicator_values(
    conn: sa.Connection, unit_code: str, period: Period, rules: RegistryPolicy | None = None
) -> pa.Table | None:
    """Shape 1 per unit under ``unit_code`` (no user scope: for system callers such as the pilot
    plans, whose reports come from each reporting unit): the patient indicators of every village
    with patients, the service counts of every unit that recorded them. Empty when no patient of
    the area was followed up in ``period`` (the registry has no data for it, not 0%); None when
    no unit has that code."""
    area = scope.area_by_code(conn, unit_code)
    if area is None:
        return None
    rules = rules or policy()
    villages = scope.villages_under(conn, [area.id])
    counts = reports.village_indicator_counts(conn, villages, period, required_followups(rules, period))
    if not any(row["followed"] for row in counts):
        return indicator_table({}, {}, area.code, period).slice(0, 0)
    services = reports.unit_service_counts(conn, scope.units_below(conn, area.id), period)
    return unit_indicator_table(counts, services, period)


def indicator_rows(table: pa.Table, rules: RegistryPolicy) -> list[IndicatorRow]:
    rows = []
    for r in table.to_pylist():
        code = r["indicator_code"]
        target = rules.targets.get(TARGETS.get(code, ""))
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
                below_target=(
                    None
                    if target is None or not denominator
                    else numerator < target * denominator  # exact: no rounded rate compared
                ),
            )
        )
    return rows


def indicators(conn: sa.Connection, user: User, period: Period, area: str | None = None) -> IndicatorReport:
    """The indicators of ``area`` (a unit code; default: the user's unit and everything the user
    may see) for ``period``; ``not_found`` when the area is outside the user's scope."""
    require(user, "registry.view")
    user_scope = scope_of(conn, user)
    found = scope.area_by_code(conn, area) if area else scope.area_by_id(conn, user.unit_id)
    if found is None:
        raise not_found()
    if area is None:
        villages = user_scope.villages
        if villages is None:
            villages = scope.all_villages(conn)
    else:
        villages = scope.villages_under(conn, [found.id])
        if user_scope.villages is not None:
            villages = villages & user_scope.villages
            if not villages:
                raise not_found()
    table = area_indicators(conn, policy(), found.id, found.code, villages, period)
    return IndicatorReport(found.code, found.name, indicator_rows(table, policy()))


# ---- guardian rewards and exports ---------------------------------------------------------


def _rewards(conn: sa.Connection, user: User, year: int) -> pa.Table:
    require(user, "registry.view")
    patients, assessments = reports.reward_inputs(conn, scope_of(conn, user), year)
    rules = policy()
    table = guardian_reward_details(
        patients, assessments, year, basis=rules.reward_basis, high_level=rules.reward_high_level
    )
    minimum = {"risk_3_plus": rules.reward_high_min_yuan, "risk_below_3": rules.reward_low_min_yuan}
    amounts = [str(round_fen(minimum[c])) for c in table.column("category").to_pylist()]
    table = table.rename_columns([REWARD_COLUMNS.get(n, n) for n in table.column_names])
    people = reports.reward_people(conn, scope_of(conn, user))
    found = [people.get(no, ("", "")) for no in table.column("recipient_id").to_pylist()]
    table = table.append_column("village_name", pa.array([f[0] for f in found], pa.string()))
    table = table.append_column("guardians", pa.array([f[1] for f in found], pa.string()))
    return table.append_column("min_yuan", pa.array(amounts, pa.string()))


def reward_list(conn: sa.Connection, user: User, year: int, client: Client | None = None) -> pa.Table:
    """The 有奖监护 list (shape 3) of the patients in the user's area for ``year``, with the
    assessment each row rests on (``assessment_id``, ``assessed_on``, ``risk_level``,
    ``annual_assessment``) and the policy's minimum for its category (``min_yuan``): the
    columns of ``RewardRow``."""
    table = _rewards(conn, user, year)
    audit.log(conn, RewardsListed(target=str(year), rows=table.num_rows), user, client)
    return table


REWARD_HEADERS = [
    "档案号 recipient_id",
    "村/社区 unit_code",
    "类别 category",
    "依据 basis",
    "评估日期 assessed_on",
    "危险等级 risk_level",
    "年度定期评估 annual",
    "奖励下限(元/年) min_yuan",
    "村/社区名称 village",
    "监护人 guardians",
]


def export_rewards(conn: sa.Connection, user: User, year: int, client: Client | None = None) -> bytes:
    """The 有奖监护 list as an Excel workbook, with the assessment each amount rests on."""
    table = _rewards(conn, user, year)
    audit.log(conn, RewardsExported(target=str(year), rows=table.num_rows), user, client)
    return xlsx(
        "有奖监护",
        REWARD_HEADERS,
        [
            [
                r["recipient_id"],
                r["unit_code"],
                REWARD_CATEGORIES[r["category"]],
                r["basis"],
                r["assessed_on"].isoformat(),
                r["risk_level"],
                "是" if r["annual_assessment"] else "",
                Decimal(r["min_yuan"]),
                r["village_name"],
                r["guardians"],
            ]
            for r in table.to_pylist()
        ],
    )


def lowered_levels(
    conn: sa.Connection, user: User, year: int, client: Client | None = None
) -> list[LoweredRow]:
    """The year's risk assessments in the user's area confirmed below the checklist's suggestion,
    with the doctor's reason, for the township's review (乡镇复核); audited like the work list."""
    require(user, "registry.view")
    rows = [
        LoweredRow(
            registry_no=r.registry_no,
            name=r.name_masked,
            village_code=r.village_code,
            village_name=r.village_name,
            assessed_on=reports.as_date(r.assessed_on),
            suggested_level=int(r.suggested_level),
            risk_level=int(r.risk_level),
            lowered_reason=r.lowered_reason,
            followup_id=r.followup_id,
            doctor=r.doctor,
        )
        for r in reports.lowered_rows(conn, scope_of(conn, user), dt.date(year, 1, 1), dt.date(year, 12, 31))
    ]
    audit.log(conn, LoweredLevelsListed(target=str(year), rows=len(rows)), user, client)
    return rows


def export_patients(conn: sa.Connection, keys: DataKeys, user: User, client: Client | None = None) -> bytes:
    """Every patient in the user's area as an Excel workbook; names and ID numbers masked
    unless the role has ``registry.export_unmasked``."""
    require(user, "registry.view")
    unmasked = can(user, "registry.export_unmasked")
    rows = [
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
        for r in reports.export_rows(conn, scope_of(conn, user))
    ]
    audit.log(conn, PatientsExported(rows=len(rows), unmasked=unmasked), user, client)
    return xlsx("在册患者", EXPORT_HEADERS, rows)
