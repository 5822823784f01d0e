"""有奖监护 (000 篇3 第11项): the guardian list with the assessment each entry rests on."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from shidian.registry import guardian_rewards, registry_policy
from shidian.registry.rewards import DETAILS, SHAPE3, guardian_reward_details

D = dt.date


def _tables() -> tuple[pa.Table, pa.Table]:
    patients = pa.table(
        {
            "recipient_id": ["A", "B", "C", "D", "E"],
            "unit_code": ["450821100001", "450821100002", "450821100001", "450821100001", "450821100002"],
            "has_guardian": [True, True, False, True, True],
            "registered_on": [D(2018, 1, 1)] * 5,
            "status": ["managed", "managed", "managed", "managed", "deceased"],
            "status_on": pa.array([None, None, None, None, D(2019, 12, 1)], pa.date32()),
        }
    )
    assessments = pa.table(
        {
            "assessment_id": [11, 12, 13, 20, 21, 31, 51],
            "recipient_id": ["A", "A", "A", "B", "B", "C", "E"],
            "assessed_on": [
                D(2020, 3, 1),
                D(2020, 6, 3),
                D(2020, 10, 1),
                D(2019, 6, 1),
                D(2020, 5, 5),
                D(2020, 4, 1),
                D(2020, 1, 2),
            ],
            "risk_level": [1, 3, 2, 4, 0, 5, 4],
        }
    )
    return patients, assessments


def test_000p3_item11_highest_level_of_the_year():
    """The non-reference ``highest`` reading (issue 16 item 11 moved the default to ``annual``). A: 2020 年最高 3 级 (6-3) → 三级以上 (≥3000元); B: 2020 仅 0 级 (2019 年 4 级不计) → 三级以下;
    C 无监护人, D 年内无评估, E 2019 年死亡: 不列入。"""
    patients, assessments = _tables()
    table = guardian_rewards(patients, assessments, 2020, basis="highest")
    assert table.schema == SHAPE3
    assert table.to_pylist() == [
        {
            "recipient_id": "A",
            "unit_code": "450821100001",
            "category": "risk_3_plus",
            "basis": "2020-06-03 危险性评估 3级 (评估记录 12)",
        },
        {
            "recipient_id": "B",
            "unit_code": "450821100002",
            "category": "risk_below_3",
            "basis": "2020-05-05 危险性评估 0级 (评估记录 21)",
        },
    ]


def test_000p3_item11_latest_assessment_reading():
    """latest: A 年内最后一次 10-1 为 2 级 → 三级以下。"""
    patients, assessments = _tables()
    table = guardian_rewards(patients, assessments, 2020, basis="latest")
    first = table.to_pylist()[0]
    assert (first["category"], first["basis"]) == (
        "risk_below_3",
        "2020-10-01 危险性评估 2级 (评估记录 13)",
    )


def test_level_3_itself_is_three_and_above():
    """“三级以上” 含三级: 2019 年 B 4 级 → 三级以上; A 2019 无评估。"""
    patients, assessments = _tables()
    table = guardian_rewards(patients, assessments, 2019)
    assert table.column("recipient_id").to_pylist() == ["B"]
    assert table.column("category").to_pylist() == ["risk_3_plus"]


def _marked(ids: set[int]) -> tuple[pa.Table, pa.Table]:
    patients, assessments = _tables()
    annual = [i in ids for i in assessments.column("assessment_id").to_pylist()]
    return patients, assessments.append_column("annual", pa.array(annual, pa.bool_()))


def test_000p3_item11_reward_rests_on_the_years_last_assessment_by_default():
    """第11项 “每年定期开展…危险等级评估”: the reward rests on the year's periodic assessment, not on the
    worst visit. A, 2020: 3-1 1级, 6-3 3级, 10-1 2级, none marked → the last, 10-1 2级 → 三级以下
    (≥ 500 元, not 3,000: the 6-3 visit no longer turns 500 into 3,000)."""
    patients, assessments = _tables()
    first = guardian_rewards(patients, assessments, 2020).to_pylist()[0]
    assert (first["recipient_id"], first["category"], first["basis"]) == (
        "A",
        "risk_below_3",
        "2020-10-01 危险性评估 2级 (评估记录 13)",
    )


def test_000p3_item11_the_assessment_marked_annual_is_the_basis():
    """A's 6-3 assessment (3级) is marked as the year's periodic assessment → 三级以上 (≥ 3,000 元)
    although a later visit (10-1) found 2级; the list shows the date, level, id and the mark.
    With ``latest`` the mark is ignored: 10-1 2级 → 三级以下."""
    patients, assessments = _marked({12})
    details = guardian_reward_details(patients, assessments, 2020)
    assert details.schema == DETAILS
    a = details.to_pylist()[0]
    assert (a["category"], a["assessment_id"], a["assessed_on"], a["risk_level"], a["annual"]) == (
        "risk_3_plus",
        12,
        D(2020, 6, 3),
        3,
        True,
    )
    assert a["basis"] == "2020-06-03 危险性评估 3级 (评估记录 12) 年度定期评估"
    latest = guardian_rewards(patients, assessments, 2020, basis="latest").to_pylist()[0]
    assert latest["category"] == "risk_below_3"


def test_000p3_item11_two_marked_assessments_the_last_one_counts():
    """Both 3-1 (1级) and 6-3 (3级) marked annual: the later marked one, 6-3 3级 → 三级以上;
    the unmarked 10-1 does not count when a marked one exists."""
    patients, assessments = _marked({11, 12})
    first = guardian_reward_details(patients, assessments, 2020).to_pylist()[0]
    assert (first["assessment_id"], first["category"]) == (12, "risk_3_plus")


def test_000p3_item11_reference_policy_pays_on_the_annual_assessment():
    """national-2018 follows the text: rewards.basis = "annual"."""
    assert registry_policy("national-2018").reward_basis == "annual"
