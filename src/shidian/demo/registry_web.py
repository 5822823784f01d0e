"""Registry demo (严重精神障碍患者管理演示数据): a county with townships and villages, the demo
``doctor`` assigned to the villages of one township, a few hundred patients followed up through
the demo year and on to the business date — some overdue, some unstable with a case-management
team.

Units are the demo county's (``shidian.demo.area``: county 450821, townships 450821100…,
villages 450821100001…) and are created only when absent (the pilots demo may create the same
ones). Deterministic for a seed; everything is dated within the demo year (2020): patients are
registered on or before it, followed up from January (or their registration) to December, and
the services (counselling rooms per village, hotline contacts of the county) are its months —
so the registry's 2020 indicators are the pilot plan's registry numbers of 2020.

A real registry keeps following its patients up, so the follow-ups go on to the business date
(``platform.clock.today()``), at the policy's cadence with a few days' slack, drawn from a second
random stream per patient: the 2020 follow-ups (and so every 2020 number) are those of the demo
year alone, and the doctor's work list on the business date shows a realistic mix — most
patients up to date, some due soon, a few overdue (one in twelve stops being seen some weeks or
months before today). They resume after the pilot plan's last day (``RESUMED_ON``): the plan
(2019-10 … 2021-12) judges its last quarter with registry data, which stays 2020-Q4, the quarter
its reports and services are of, so the score card keeps showing the demo year's numbers.
"""

from __future__ import annotations

import datetime as dt
import random

import sqlalchemy as sa

from shidian.demo.area import COUNTY, TOWNSHIPS, VILLAGE_NAMES, YEAR_END, YEAR_START
from shidian.insurance.id_number import check_char
from shidian.platform import clock
from shidian.platform.accounts import User, create_unit, get_user
from shidian.platform.crypto import DataKeys
from shidian.platform.db.schema import units
from shidian.platform.settings import Settings
from shidian.registry import RegistryPolicy, registry_policy
from shidian.registry.records import FollowUpIn, FollowUpResult, PatientIn
from shidian.registry.service import check_patient, save_followup, save_patient
from shidian.registry.store import assignments, followups, reports
from shidian.registry.store import patients as patient_store
from shidian.registry.store.scope import Scope

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗梁"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
ICD10 = (("F20.0", 55), ("F20.3", 10), ("F31.1", 12), ("F25.0", 5), ("F22", 6), ("F06.2", 5), ("F70", 7))
DOCTOR = "doctor"
#: the follow-ups after the demo year start the day after the psy-service plan's last day (2021-12-31)
RESUMED_ON = dt.date(2022, 1, 1)


def _unit(conn: sa.Connection, code: str, name: str, kind: str, parent: int | None) -> int:
    found = conn.execute(sa.select(units.c.id).where(units.c.code == code)).scalar()
    if found is not None:
        return int(found)
    return create_unit(conn, code, name, kind, parent_id=parent, region_code=code)


def setup_registry_demo(settings: Settings, engine: sa.Engine, patients: int = 300, seed: int = 2020) -> None:
    """Units, the doctor's areas, patients and the demo year's follow-ups (skipped when present)."""
    keys = DataKeys.from_env(settings.secret_key)
    policy = registry_policy()
    rng = random.Random(seed)
    today = YEAR_END  # the demo's records are the year's: entered as on its last day
    business_day = clock.today()  # then the follow-ups go on to the business date
    with engine.begin() as conn:
        county = _unit(conn, COUNTY[0], COUNTY[1], "county", None)
        villages: list[tuple[int, str]] = []
        first_township: list[int] = []
        for t_index, (t_code, t_name) in enumerate(TOWNSHIPS):
            township = _unit(conn, t_code, t_name, "township", county)
            for v_index, v_name in enumerate(VILLAGE_NAMES, start=1):
                v_code = f"{t_code}{v_index:03d}"
                village = _unit(conn, v_code, f"{t_name}{v_name}", "village", township)
                villages.append((village, v_code))
                if t_index == 0:
                    first_township.append(village)
                # 村心理咨询室 (000 篇3 二(二)2): the village's rooms, one opened in the summer here and there
                reports.replace_services(
                    conn,
                    village,
                    [
                        {
                            "month": dt.date(today.year, m, 1),
                            "counselling_rooms": int(v_index != 4 or (t_index == 0 and m >= 7)),
                            "hotline_contacts": None,
                        }
                        for m in range(1, 13)
                    ],
                )
        # 县心理援助热线 (000 篇3 三(二)8): the county's hotline, contacts per month
        reports.replace_services(
            conn,
            county,
            [
                {
                    "month": dt.date(today.year, m, 1),
                    "counselling_rooms": None,
                    "hotline_contacts": 60 + 9 * m,
                }
                for m in range(1, 13)
            ],
        )
        found = assignments.user_named(conn, DOCTOR)
        doctor = None if found is None else found.id
        if doctor is not None:
            for village in first_township[:3]:
                assignments.add_area(conn, doctor, village)
        if patient_store.any_in_villages(conn, [v for v, _ in villages]):
            return
        acting = get_user(conn, doctor) if doctor is not None else None
        codes = [c for c, _ in ICD10]
        weights = [w for _, w in ICD10]
        for n in range(patients):
            village_code = villages[n % len(villages)][1]
            birth = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(0, 50 * 365))
            first17 = f"450821{birth:%Y%m%d}{n % 1000:03d}"
            name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
            registered_on = today - dt.timedelta(days=rng.randrange(60, 1500))
            data = PatientIn(
                name=name,
                id_number=first17 + check_char(first17),
                village_code=village_code,
                icd10=rng.choices(codes, weights)[0],
                diagnosed_on=registered_on - dt.timedelta(days=rng.randrange(0, 200)),
                diagnosing_hospital="平南县第三人民医院",
                registered_on=registered_on,
                treatment="medication",
                address=f"{village_code} {rng.randrange(1, 99)}号",
                guardian_name=rng.choice(SURNAMES) + rng.choice(GIVEN) if rng.random() < 0.9 else None,
                guardian_phone=f"138{rng.randrange(10**7, 10**8)}",
                guardian_relation=rng.choice(("父亲", "母亲", "配偶", "子女", "兄弟姐妹")),
            )
            values, problems = check_patient(conn, keys, Scope(None), data, today)
            if values is None:
                raise ValueError(f"demo patient refused: {problems}")
            save_patient(conn, keys, values, data, acting)
            if acting is None:
                continue
            last_due = _year_of_followups(
                conn,
                rng,
                acting,
                values["registry_no"],
                max(registered_on, YEAR_START),
                today,
                policy,
            )
            _followups_since(
                conn,
                random.Random(f"{seed}-{n}"),
                acting,
                values["registry_no"],
                last_due,
                business_day,
                policy,
            )


def _year_of_followups(
    conn: sa.Connection,
    rng: random.Random,
    doctor: User,
    registry_no: str,
    start: dt.date,
    today: dt.date,
    policy: RegistryPolicy,
) -> dt.date | None:
    """Visits roughly on time; one patient in seven stops being seen (overdue); some unstable.
    Returns the last visit's due date (None when the patient was not seen in the year or
    stopped being seen: the follow-ups after the year pick such a patient up again)."""
    day = start + dt.timedelta(days=rng.randrange(1, 20))
    lapses = rng.random() < 0.15
    unstable_patient = rng.random() < 0.12
    due: dt.date | None = None
    while day <= today:
        result = _visit(conn, rng, doctor, registry_no, day, today, policy, unstable_patient, 0.6)
        if result.needs_team and rng.random() < 0.7:
            _add_team(conn, doctor, registry_no, day)
        due = result.next_due_on
        if lapses and rng.random() < 0.5:
            return None
        day = result.next_due_on + dt.timedelta(days=rng.randrange(-3, 5))
    return due


def _followups_since(
    conn: sa.Connection,
    rng: random.Random,
    doctor: User,
    registry_no: str,
    due: dt.date | None,
    today: dt.date,
    policy: RegistryPolicy,
) -> None:
    """The follow-ups after the demo year, from ``RESUMED_ON`` up to the business date ``today``:
    from the last 2020 due date when later, else in the first quarter of ``RESUMED_ON``'s year,
    then at the policy's cadence, a few days early or late; fewer unstable patients than in
    2020 (treatment works); one patient in twelve stops being seen between one and six months
    before today (the work list's overdue ones), and the others' next visits are due after
    today, some of them within the due-soon window."""
    spread = RESUMED_ON + dt.timedelta(days=rng.randrange(0, 90))
    day = max(
        (spread if due is None else max(due, spread)) + dt.timedelta(days=rng.randrange(-3, 5)), RESUMED_ON
    )
    stops_on = today - dt.timedelta(days=rng.randrange(30, 180)) if rng.random() < 1 / 12 else today
    unstable_patient = rng.random() < 0.06
    team = False
    while day <= stops_on:
        result = _visit(conn, rng, doctor, registry_no, day, today, policy, unstable_patient, 0.3)
        if result.needs_team and not team and rng.random() < 0.7:
            _add_team(conn, doctor, registry_no, day)
            team = True
        day = result.next_due_on + dt.timedelta(days=rng.randrange(-3, 5))


def _visit(
    conn: sa.Connection,
    rng: random.Random,
    doctor: User,
    registry_no: str,
    day: dt.date,
    today: dt.date,
    policy: RegistryPolicy,
    unstable_patient: bool,
    unstable_share: float,
) -> FollowUpResult:
    """One follow-up on ``day``: mostly no risk; an unstable patient at risk ``unstable_share``
    of the time."""
    risk = (
        rng.choice((3, 4, 2))
        if unstable_patient and rng.random() < unstable_share
        else rng.choices((0, 1, 2), (80, 12, 8))[0]
    )
    behaviours = {
        0: [],
        1: ["verbal_threat"],
        2: ["smash_home_stoppable"],
        3: ["smash_anywhere"],
        4: ["self_harm"],
    }[risk]
    result, problems = save_followup(
        conn,
        doctor,
        Scope(None),
        policy,
        registry_no,
        FollowUpIn(
            followed_on=day,
            risk_level=risk,
            behaviours=behaviours,
            symptoms="marked" if risk >= 3 else "remitted",
            treatment=rng.choices(("medication", "hospital", "none"), (80, 5, 15))[0],
            rehab=rng.random() < 0.6,
            psy_support=rng.random() < 0.55,
            health_check=day.month == 6,
        ),
        today,
    )
    if result is None:
        raise ValueError(f"demo follow-up refused: {problems}")
    return result


def _add_team(conn: sa.Connection, doctor: User, registry_no: str, day: dt.date) -> None:
    """The patient's case-management team (个案管理团队) and its first joint visit."""
    found = patient_store.find_row(conn, registry_no)
    assert found is not None
    patient_id = int(found.id)
    for role, member in (
        ("village_committee", "村委 韦主任"),
        ("grid_worker", "网格员 覃明"),
        ("police", "民警 黄勇"),
        ("doctor", "精防医生 刘洋"),
    ):
        followups.insert_team_member(conn, patient_id, role, member, None, day, doctor.id)
    followups.insert_team_action(conn, patient_id, None, day, "个案管理团队联合走访, 落实监护", doctor.id)
