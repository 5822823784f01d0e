"""Pilot-plan demo (试点方案演示数据): the 社会心理服务 plan, a county's reports, a supervision visit.

Loads the ``psy-service`` template (quarterly, 2019-10 … 2021-12) for the demo county 平南县
450821 and its townships and villages (``shidian.demo.area``, shared with the registry demo:
created only when absent), adds a county and a township reporting user, and fills the demo
year's (2020) four quarters: most reports on time and approved, some late, some missing, one
returned; one village reports no counselling room, so it lands on the supervision list. The
plan's registry indicators (在册患者规范管理率 …) come from the registry demo's 2020 follow-ups
of the same villages. A supervision visit to 寺面镇 has two findings: one rectified and
verified, one still open long after its deadline (an overdue warning on the pilot office's
page). Deterministic; skipped when the plan is already loaded.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa

from shidian.demo.area import COUNTY, DEMO_YEAR, TOWNSHIPS, VILLAGE_NAMES
from shidian.pilots.plan_file import TEMPLATES
from shidian.pilots.service.plans import load_plan_text
from shidian.pilots.supervision import due_date
from shidian.platform.accounts import create_unit, create_user
from shidian.platform.db.pilots_schema import (
    pilot_findings,
    pilot_plans,
    pilot_rectifications,
    pilot_report_values,
    pilot_reports,
    pilot_visits,
)
from shidian.platform.db.schema import units, users
from shidian.platform.units import all_units, descendants

#: (username, password, role, unit code, display name), printed with the other demo users.
PILOT_USERS = (
    ("pn_county", "county-2020-demo", "reporting_unit", "450821", "平南县填报员 周敏"),
    ("pn_town", "town-2020-demo", "reporting_unit", "450821100", "平南镇填报员 黄伟"),
)
QUARTERS = tuple(dt.date(DEMO_YEAR, month, 1) for month in (1, 4, 7, 10))


def _unit(conn: sa.Connection, code: str, name: str, kind: str, parent: int | None) -> int:
    found = conn.execute(sa.select(units.c.id).where(units.c.code == code)).scalar()
    if found is not None:
        return int(found)
    return create_unit(conn, code, name, kind, parent_id=parent, region_code=code)


def _user_id(conn: sa.Connection, username: str) -> int | None:
    found = conn.execute(sa.select(users.c.id).where(users.c.username == username)).scalar()
    return None if found is None else int(found)


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)


def setup_pilots_demo(engine: sa.Engine) -> list[tuple[str, str, str]]:
    """Units, users, the loaded plan, the demo year's reports and a visit; returns the users created."""
    created: list[tuple[str, str, str]] = []
    with engine.begin() as conn:
        county = _unit(conn, COUNTY[0], COUNTY[1], "county", None)
        towns: list[int] = []
        villages: list[int] = []
        for t_code, t_name in TOWNSHIPS:
            town = _unit(conn, t_code, t_name, "township", county)
            towns.append(town)
            for v_index, v_name in enumerate(VILLAGE_NAMES, start=1):
                villages.append(_unit(conn, f"{t_code}{v_index:03d}", f"{t_name}{v_name}", "village", town))
        codes = {u.code: u.id for u in all_units(conn).values()}
        for username, password, role, unit_code, display in PILOT_USERS:
            if _user_id(conn, username) is None:
                create_user(conn, username, password, role, codes[unit_code], display)
            created.append((username, password, role))
        if (
            conn.execute(sa.select(pilot_plans.c.id).where(pilot_plans.c.code == "psy-service")).first()
            is not None
        ):
            return created
        office = _user_id(conn, "pilot")
        text = TEMPLATES["psy-service"].read_text(encoding="utf-8")
        scope = descendants(all_units(conn), county)
        plan_id, _, problems = load_plan_text(conn, text, "psy-service.yaml", None, scope=scope)
        if plan_id is None:
            raise ValueError("psy-service template has problems: " + "; ".join(map(str, problems[:5])))
        conn.execute(pilot_plans.update().where(pilot_plans.c.id == plan_id).values(loaded_by=office))
        county_user, town_user = _user_id(conn, "pn_county"), _user_id(conn, "pn_town")
        _reports(conn, plan_id, county, towns, villages, office, county_user, town_user)
        _visit(conn, plan_id, towns[2], office)
    return created


def _reports(
    conn: sa.Connection,
    plan_id: int,
    county: int,
    towns: list[int],
    villages: list[int],
    office: int | None,
    county_user: int | None,
    town_user: int | None,
) -> None:
    """The demo year's Q1–Q4. Lateness pattern (days after the due date, None = missing) by unit index."""
    lateness: dict[int, tuple[int | None, ...]] = {
        county: (-3, -1, 6, -2),
        towns[0]: (-5, -4, -3, 0),
        towns[1]: (-2, 14, -1, None),
        towns[2]: (9, None, 21, -6),
    }
    for index, village in enumerate(villages):
        lateness[village] = (
            (-4, -2, -1, None)
            if index % 5 == 4
            else ((-3, 2, -2, -1) if index % 3 == 1 else (-6, -5, -4, -3))
        )
    for unit, pattern in lateness.items():
        for quarter, late in zip(QUARTERS, pattern, strict=True):
            if late is None:
                continue
            due = due_date(quarter, "quarter")
            submitted = _at(due + dt.timedelta(days=late))
            is_county = unit == county
            returned = unit == towns[1] and quarter == QUARTERS[1]
            status = "returned" if returned else "approved"
            report_id = conn.execute(
                pilot_reports.insert().values(
                    plan_id=plan_id,
                    unit_id=unit,
                    period_start=quarter,
                    due_on=due,
                    status=status,
                    entered_by=county_user if is_county else town_user,
                    entered_at=submitted,
                    first_submitted_at=submitted,
                    submitted_by=county_user if is_county else town_user,
                    submitted_at=submitted,
                    approved_by=None if returned else office,
                    approved_at=None if returned else submitted + dt.timedelta(days=2),
                    returned_by=office if returned else None,
                    returned_at=submitted + dt.timedelta(days=1) if returned else None,
                    comment="工作小组成立文件未附, 请补充后重新提交" if returned else None,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            conn.execute(
                pilot_report_values.insert(), _values(report_id, unit, county, towns, villages, quarter)
            )


def _values(
    report_id: object, unit: int, county: int, towns: list[int], villages: list[int], quarter: dt.date
) -> list[dict[str, object]]:
    q = QUARTERS.index(quarter) + 1
    rows: list[tuple[str, str, int, int | None]] = []
    if unit == county:
        rows = [
            ("SCHOOL_COUNSEL_ROOM_RATE", "", 38 + 3 * q, 52),
            ("SCHOOL_COUNSEL_TEACHER_RATE", "", 40 + 2 * q, 52),
            ("EMPLOYER_SERVICE_RATE", "", 60 + 5 * q, 96),
            ("PSY_HOSPITAL_CLINIC", "", 1, None),
            ("GENERAL_HOSPITAL_PSY_RATE", "", 2 + (q > 2), 4),
            ("PSY_HOTLINE_24H", "", 1, None),
            ("CRISIS_TEAM", "", 1, None),
            ("PSYCHIATRISTS_PER_100K", "", 26 + q, 1_120_000),
            ("PSY_WORKERS_PER_100K", "", 190 + 15 * q, 1_120_000),
            ("REHAB_STATIONS", "", 1, None),
            ("PSY_LITERACY_RATE", "officials", 830 + 20 * q, 1000),
            ("PSY_LITERACY_RATE", "students", 1620 + 40 * q, 2000),
            ("PSY_LITERACY_RATE", "urban", 610 + 15 * q, 1000),
            ("PSY_LITERACY_RATE", "rural", 380 + 20 * q, 1000),
            ("NEW_PSY_BEDS", "", 20 + 5 * q, None),
            ("NEW_CARE_BEDS", "", 18 + 4 * q, None),
            ("TOTAL_PSY_BEDS", "", 300 + 25 * q, None),
            ("CLASS_PSY_LESSON_RATE", "", 700 + 40 * q, 1000),
            ("SPECIAL_GROUP_COUNSEL_RATE", "", 55 + 5 * q, 100),
        ]
    elif unit in towns:
        rows = [
            ("TOWNSHIP_WORKGROUP", "", 1, None),
            ("TOWNSHIP_HC_PSY_STAFF", "", int(unit != towns[2] or q >= 3), None),
        ]
    else:
        index = villages.index(unit)
        rows = [("PSY_ROOM_RATE", "", int(index % 4 != 3 or (q == 4 and index < 6)), None)]
    return [
        {
            "report_id": report_id,
            "indicator_code": code,
            "population": population,
            "numerator": Decimal(num),
            "denominator": None if den is None else Decimal(den),
        }
        for code, population, num, den in rows
    ]


def _visit(conn: sa.Connection, plan_id: int, town: int, office: int | None) -> None:
    """寺面镇, mid-June of the demo year: two findings; one rectification verified, one open and overdue."""
    visited = dt.date(DEMO_YEAR, 6, 15)
    visit_id = conn.execute(
        pilot_visits.insert().values(
            plan_id=plan_id,
            unit_id=town,
            visited_on=visited,
            team="县社会心理服务体系建设试点工作领导小组办公室 陈静、县卫生健康委 李明",
            summary="第二季度督导: 乡镇卫生院心理专干未配备, 工作小组会议记录不全。",
            created_by=office,
            created_at=_at(visited, 16),
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    findings = (
        ("TOWNSHIP_HC_PSY_STAFF", "乡镇卫生院未配备精神卫生专干", "major", Decimal("3.00"),
         "配备1名精神卫生专干并报县卫生健康委备案", dt.date(DEMO_YEAR, 8, 31), "open"),
        ("TOWNSHIP_WORKGROUP", "工作小组会议记录不全", "minor", Decimal("1.00"),
         f"补齐{DEMO_YEAR}年上半年会议记录", dt.date(DEMO_YEAR, 7, 15), "verified"),
    )  # fmt: skip
    for indicator, description, severity, points, action, deadline, status in findings:
        finding_id = conn.execute(
            pilot_findings.insert().values(
                visit_id=visit_id,
                indicator_code=indicator,
                description=description,
                severity=severity,
                deduction_points=points,
                created_by=office,
                created_at=_at(visited, 17),
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        done = status == "verified"
        conn.execute(
            pilot_rectifications.insert().values(
                finding_id=finding_id,
                action=action,
                deadline=deadline,
                status=status,
                created_by=office,
                created_at=_at(visited, 17),
                done_at=_at(deadline - dt.timedelta(days=5)) if done else None,
                closed_by=office if done else None,
                closed_at=_at(deadline - dt.timedelta(days=2)) if done else None,
            )
        )
