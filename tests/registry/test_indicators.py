"""Registry indicators on a small hand-made registry (000 篇3 第12、14项; 000 篇7 (八))."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shidian.registry import Period, compute_indicators, registry_policy
from shidian.registry.indicators import SHAPE1, rate_text, required_followups
from tests.properties import examples

D = dt.date
POLICY = registry_policy()

# id, disorder, registered_on, status, status_on
PATIENTS = [
    (1, "schizophrenia", D(2019, 5, 1), "managed", None),
    (2, "schizophrenia", D(2019, 1, 1), "managed", None),
    (3, "bipolar", D(2020, 3, 1), "managed", None),
    (4, "epilepsy", D(2018, 1, 1), "deceased", D(2020, 6, 30)),  # 年末前死亡: 不在册
    (5, "schizophrenia", D(2017, 1, 1), "moved", D(2021, 2, 1)),  # 年末后迁出: 在册
    (6, "intellectual_disability", D(2021, 1, 5), "managed", None),  # 年末后登记: 不在册
    (7, "schizophrenia", D(2016, 1, 1), "lost", D(2020, 8, 1)),  # 失访: 仍在册
]
# patient, date, risk level, treatment, rehab, psychological support
FOLLOWUPS = [
    (1, D(2020, 2, 1), 0, "medication", False, False),
    (1, D(2020, 5, 1), 1, "medication", True, False),
    (1, D(2020, 8, 1), 0, "medication", False, True),
    (1, D(2020, 11, 1), 0, "medication", False, False),
    (2, D(2020, 2, 3), 2, "none", False, False),
    (2, D(2020, 5, 3), None, "none", False, False),  # 无危险性评估: 不计入规范管理
    (2, D(2020, 8, 3), 3, "none", False, False),
    (2, D(2020, 11, 3), 4, "hospital", False, True),  # 年内最后一次在住院: 非居家
    (3, D(2020, 3, 10), 0, "none", False, True),
    (3, D(2020, 6, 10), 0, "none", False, False),
    (3, D(2020, 9, 10), 0, "none", False, False),
    (3, D(2020, 12, 10), 0, "none", False, False),
    (4, D(2020, 2, 1), 0, "medication", True, True),
    (7, D(2020, 2, 15), 1, "medication", False, False),
    (1, D(2019, 12, 1), 0, "medication", True, True),  # 上一年: 不计
]


def _tables() -> tuple[pa.Table, pa.Table, pa.Table]:
    patients = pa.table(
        {
            "patient_id": [p[0] for p in PATIENTS],
            "disorder": [p[1] for p in PATIENTS],
            "registered_on": [p[2] for p in PATIENTS],
            "status": [p[3] for p in PATIENTS],
            "status_on": pa.array([p[4] for p in PATIENTS], pa.date32()),
        }
    )
    followups = pa.table(
        {
            "patient_id": [f[0] for f in FOLLOWUPS],
            "followed_on": [f[1] for f in FOLLOWUPS],
            "risk_level": pa.array([f[2] for f in FOLLOWUPS], pa.int8()),
            "treatment": [f[3] for f in FOLLOWUPS],
            "rehab": [f[4] for f in FOLLOWUPS],
            "psy_support": [f[5] for f in FOLLOWUPS],
        }
    )
    services = pa.table(
        {
            "unit_code": ["V1", "V1", "V1", "V2", "V1", "V1", "V1"],
            "month": [
                D(2020, 3, 1),
                D(2020, 9, 1),
                D(2021, 1, 1),
                D(2019, 12, 1),
                D(2020, 1, 1),
                D(2020, 12, 1),
                D(2019, 12, 1),
            ],
            "counselling_rooms": pa.array([2, 3, 5, 1, None, None, None], pa.int32()),
            "hotline_contacts": pa.array([None, None, None, None, 10, 15, 100], pa.int32()),
        }
    )
    return patients, followups, services


def _values(table: pa.Table) -> dict[str, tuple[Decimal, Decimal | None]]:
    return {r["indicator_code"]: (r["numerator"], r["denominator"]) for r in table.to_pylist()}


@pytest.fixture
def year_2020() -> dict[str, tuple[Decimal, Decimal | None]]:
    patients, followups, services = _tables()
    table = compute_indicators(patients, followups, services, Period.parse("2020"), "450821", POLICY)
    assert table.schema == SHAPE1
    assert set(table.column("unit_code").to_pylist()) == {"450821"}
    assert set(table.column("period_start").to_pylist()) == {D(2020, 1, 1)}
    assert set(table.column("population").to_pylist()) == {""}
    return _values(table)


def test_000p3_item12_regular_management_rate(year_2020):
    """在册 (2020-12-31): 1, 2, 3, 5, 7 = 5 人 (4 年内死亡, 6 次年登记)。
    年内含危险性评估的随访 ≥ 4 次: 1 (4 次), 3 (4 次); 2 只有 3 次有评估 → 2/5。"""
    assert year_2020["SMD_REGULAR_MGMT_RATE"] == (2, 5)


def test_000p3_item12_treatment_rate(year_2020):
    """年内有服药或住院治疗记录: 1 (服药), 2 (住院), 7 (服药) → 3/5。"""
    assert year_2020["SMD_TREATMENT_RATE"] == (3, 5)


def test_000p3_item12_schizophrenia_treatment_rate(year_2020):
    """在册精神分裂症: 1, 2, 5, 7 = 4; 其中治疗 1, 2, 7 → 3/4。"""
    assert year_2020["SMD_SCHIZ_TREATMENT_RATE"] == (3, 4)


def test_000p3_item14_rehab_rate(year_2020):
    """居家 = 年内最后一次随访不在住院: 1, 3, 5 (无随访), 7 = 4 (2 在住院);
    参与社区康复: 1 → 1/4。"""
    assert year_2020["SMD_REHAB_RATE"] == (1, 4)


def test_000p3_item14_psychological_support(year_2020):
    """居家患者及家属获心理疏导: 1, 3 → 2/4 (2 住院, 不计)。"""
    assert year_2020["SMD_PSY_SUPPORT_RATE"] == (2, 4)


def test_counselling_rooms_and_hotline_where_recorded(year_2020):
    """心理咨询室: V1 截至年末最近一次 3 (9月), V2 1 → 4, 无分母;
    热线: 2020 年 1 月 10 + 12 月 15 = 25 (2019 年 100 不计)。"""
    assert year_2020["PSY_COUNSELLING_ROOMS"] == (4, None)
    assert year_2020["PSY_HOTLINE_CONTACTS"] == (25, None)


def test_a_quarter_needs_one_assessed_follow_up():
    """2020-Q1: 需要 ⌈4 × 3 ÷ 12⌉ = 1 次; 在册 (3-31): 1, 2, 3, 4 (6 月才死亡), 5, 7 = 6;
    Q1 有评估随访: 1 (2-1), 2 (2-3), 3 (3-10), 4 (2-1), 7 (2-15) → 5/6。
    心理咨询室: V1 截至 3-31 为 2, V2 1 → 3; 热线 1 月 10。"""
    patients, followups, services = _tables()
    period = Period.parse("2020-Q1")
    assert required_followups(POLICY, period) == 1
    values = _values(compute_indicators(patients, followups, services, period, "450821", POLICY))
    assert values["SMD_REGULAR_MGMT_RATE"] == (5, 6)
    assert values["PSY_COUNSELLING_ROOMS"] == (3, None)
    assert values["PSY_HOTLINE_CONTACTS"] == (10, None)


def test_no_services_recorded_means_no_service_rows():
    patients, followups, _ = _tables()
    values = _values(compute_indicators(patients, followups, None, Period.parse("2020-06"), "X", POLICY))
    assert "PSY_COUNSELLING_ROOMS" not in values and "PSY_HOTLINE_CONTACTS" not in values


@pytest.mark.parametrize("text", ["2020-13", "20", "2020-Q5", "2020/01", "abc"])
def test_bad_periods_are_refused(text):
    with pytest.raises(ValueError):
        Period.parse(text)


def test_rate_text():
    """2/3 = 66.666…% → 66.7% (四舍五入); 1/8 = 12.5%。"""
    assert rate_text(Decimal(2), Decimal(3)) == "2/3 = 66.7%"
    assert rate_text(Decimal(1), Decimal(8)) == "1/8 = 12.5%"
    assert rate_text(Decimal(4), None) == "4"


_patient = st.tuples(
    st.sampled_from(["schizophrenia", "bipolar", "epilepsy"]),
    st.dates(min_value=D(2018, 1, 1), max_value=D(2021, 6, 1)),
    st.sampled_from(["managed", "moved", "deceased", "lost"]),
    st.dates(min_value=D(2019, 1, 1), max_value=D(2021, 12, 31)),
)
_followup = st.tuples(
    st.integers(0, 7),
    st.dates(min_value=D(2019, 6, 1), max_value=D(2021, 6, 1)),
    st.one_of(st.none(), st.integers(0, 5)),
    st.sampled_from(["medication", "hospital", "none"]),
    st.booleans(),
    st.booleans(),
)


@settings(max_examples=examples(40), deadline=None)
@given(st.lists(_patient, min_size=1, max_size=8), st.lists(_followup, max_size=30), st.randoms())
def test_invariants_numerators_within_denominators_and_order_irrelevant(patients, followups, rng):
    p = pa.table(
        {
            "patient_id": list(range(len(patients))),
            "disorder": [x[0] for x in patients],
            "registered_on": [x[1] for x in patients],
            "status": [x[2] for x in patients],
            "status_on": pa.array(
                [None if x[2] in ("managed", "lost") else x[3] for x in patients], pa.date32()
            ),
        }
    )
    rows = [f for f in followups if f[0] < len(patients)]
    f = pa.table(
        {
            "patient_id": pa.array([r[0] for r in rows], pa.int64()),
            "followed_on": pa.array([r[1] for r in rows], pa.date32()),
            "risk_level": pa.array([r[2] for r in rows], pa.int8()),
            "treatment": pa.array([r[3] for r in rows], pa.string()),
            "rehab": pa.array([r[4] for r in rows], pa.bool_()),
            "psy_support": pa.array([r[5] for r in rows], pa.bool_()),
        }
    )
    period = Period.parse("2020")
    values = _values(compute_indicators(p, f, None, period, "X", POLICY))
    for numerator, denominator in values.values():
        assert denominator is not None and 0 <= numerator <= denominator
    assert values["SMD_SCHIZ_TREATMENT_RATE"][1] <= values["SMD_TREATMENT_RATE"][1]
    shuffled = f.take(pa.array(rng.sample(range(f.num_rows), f.num_rows), pa.int64()))
    assert _values(compute_indicators(p, shuffled, None, period, "X", POLICY)) == values


def _by_village(patients: pa.Table, followups: pa.Table, period: Period) -> list[dict[str, object]]:
    import duckdb

    from shidian.registry.indicators import indicator_sql

    con = duckdb.connect()
    try:
        con.register("patients", patients)
        con.register("followups", followups)
        sql = indicator_sql("patients", "followups", period, required_followups(POLICY, period), by="village")
        return con.sql(sql).to_arrow_table().to_pylist()
    finally:
        con.close()


@settings(max_examples=examples(40), deadline=None)
@given(
    st.lists(st.tuples(_patient, st.sampled_from(["V1", "V2", "V3"])), min_size=1, max_size=8),
    st.lists(_followup, max_size=30),
    st.sampled_from(["2020", "2020-Q3", "2020-06"]),
)
def test_per_village_counts_add_up_to_the_area(patients, followups, text):
    """The plans take the registry per village and roll it up (Σ numerators, Σ denominators):
    that must give the area's own numbers, for every count of the query."""
    p = pa.table(
        {
            "patient_id": list(range(len(patients))),
            "disorder": [x[0][0] for x in patients],
            "registered_on": [x[0][1] for x in patients],
            "status": [x[0][2] for x in patients],
            "status_on": pa.array(
                [None if x[0][2] in ("managed", "lost") else x[0][3] for x in patients], pa.date32()
            ),
            "village": [x[1] for x in patients],
        }
    )
    rows = [f for f in followups if f[0] < len(patients)]
    f = pa.table(
        {
            "patient_id": pa.array([r[0] for r in rows], pa.int64()),
            "followed_on": pa.array([r[1] for r in rows], pa.date32()),
            "risk_level": pa.array([r[2] for r in rows], pa.int8()),
            "treatment": pa.array([r[3] for r in rows], pa.string()),
            "rehab": pa.array([r[4] for r in rows], pa.bool_()),
            "psy_support": pa.array([r[5] for r in rows], pa.bool_()),
        }
    )
    period = Period.parse(text)
    area = _values(compute_indicators(p, f, None, period, "X", POLICY))
    villages = _by_village(p, f, period)
    on_register = {
        village
        for (_, registered_on, status, status_on), village in patients
        if registered_on <= period.end and (status in ("managed", "lost") or status_on > period.end)
    }
    assert [v["unit_code"] for v in villages] == sorted(on_register)  # one row per village, in order
    from shidian.registry.indicators import unit_indicator_table

    per_unit = unit_indicator_table(villages, [], period).to_pylist()
    for code, (numerator, denominator) in area.items():
        mine = [r for r in per_unit if r["indicator_code"] == code]
        assert sum((r["numerator"] for r in mine), Decimal(0)) == numerator
        assert sum((r["denominator"] for r in mine), Decimal(0)) == denominator
    followed = {r[0] for r in rows if period.start <= r[1] <= period.end}
    assert sum(int(v["followed"] or 0) for v in villages) <= len(followed)


def test_services_per_recording_unit():
    """Per unit: its own latest counselling-room count up to the end, its hotline contacts in the
    period (the area's ``services_sql`` is their sum: 3 + 1 rooms, 10 + 15 contacts)."""
    import duckdb

    from shidian.registry.indicators import unit_services_sql

    _, _, services = _tables()
    con = duckdb.connect()
    try:
        con.register("services", services)
        rows = con.sql(unit_services_sql("services", Period.parse("2020"))).to_arrow_table().to_pylist()
    finally:
        con.close()
    assert sorted((r["unit_code"], r["indicator_code"], int(r["n"])) for r in rows) == [
        ("V1", "PSY_COUNSELLING_ROOMS", 3),
        ("V1", "PSY_HOTLINE_CONTACTS", 25),
        ("V2", "PSY_COUNSELLING_ROOMS", 1),
    ]
