"""Classification at each follow-up and the next due date (规范 4.分类干预), worked dates."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shidian.policy import read_reference_policy
from shidian.registry import FollowUpFindings, classify, next_due_on, registry_policy
from shidian.registry.followup import add_months, due_state
from shidian.registry.policy import parse_registry_policy

POLICY = registry_policy("national-2018")
D = dt.date


@pytest.mark.parametrize(
    ("findings", "expected"),
    [
        (FollowUpFindings(3), "unstable"),  # 危险性为3~5级
        (FollowUpFindings(5), "unstable"),
        (FollowUpFindings(0, symptoms="marked"), "unstable"),  # 精神病性症状明显
        (FollowUpFindings(0, insight="lacking"), "unstable"),  # 自知力缺乏
        (FollowUpFindings(0, serious_adverse_reaction=True), "unstable"),  # 严重药物不良反应
        (FollowUpFindings(0, serious_physical_illness=True), "unstable"),  # 严重躯体疾病
        (FollowUpFindings(1), "basic"),  # 危险性为1~2级
        (FollowUpFindings(2), "basic"),
        (FollowUpFindings(0, symptoms="present"), "basic"),  # 精神症状较差
        (FollowUpFindings(0, insight="partial"), "basic"),  # 自知力较差
        (FollowUpFindings(0, social_function="poor"), "basic"),  # 社会功能较差
        (FollowUpFindings(0), "stable"),  # 0级且其他正常
        (FollowUpFindings(0, social_function="fair"), "stable"),  # 社会功能处于一般或良好
    ],
)
def test_standard_4_classification(findings, expected):
    assert classify(findings) == expected


def test_risk_outside_0_to_5_is_refused():
    with pytest.raises(ValueError):
        classify(FollowUpFindings(6))


def test_unstable_follow_up_within_two_weeks():
    """不稳定: 2周内随访 — 2020-03-20 + 14 天 = 2020-04-03."""
    assert next_due_on(D(2020, 3, 20), "unstable", "stable", POLICY) == D(2020, 4, 3)


def test_basic_first_time_two_weeks():
    """基本稳定 (之前稳定): 2周时随访 — 2020-02-20 + 14 天 = 2020-03-05 (2020 闰年 2 月 29 天)."""
    assert next_due_on(D(2020, 2, 20), "basic", "stable", POLICY) == D(2020, 3, 5)
    assert next_due_on(D(2020, 2, 20), "basic", None, POLICY) == D(2020, 3, 5)
    assert next_due_on(D(2020, 2, 20), "basic", "unstable", POLICY) == D(2020, 3, 5)


def test_basic_stabilised_at_the_two_week_visit_three_months():
    """趋于稳定者 3个月时随访 — 2020-03-05 + 3 个月 = 2020-06-05."""
    assert next_due_on(D(2020, 3, 5), "stable", "basic", POLICY) == D(2020, 6, 5)


def test_basic_not_stabilised_one_month():
    """未达到稳定者 1个月时随访 — 2020-01-31 + 1 个月 = 2020-02-29 (月末取当月最后一天)."""
    assert next_due_on(D(2020, 1, 31), "basic", "basic", POLICY) == D(2020, 2, 29)
    assert next_due_on(D(2021, 1, 31), "basic", "basic", POLICY) == D(2021, 2, 28)


def test_stable_three_months():
    """稳定: 3个月时随访 — 2020-11-30 + 3 个月 = 2021-02-28."""
    assert next_due_on(D(2020, 11, 30), "stable", "stable", POLICY) == D(2021, 2, 28)
    assert next_due_on(D(2020, 5, 10), "stable", None, POLICY) == D(2020, 8, 10)


def test_a_province_may_tighten_the_intervals():
    text, source = read_reference_policy("registry", "national-2018")
    tightened, problems = parse_registry_policy(
        text.replace("stable_months = 3", "stable_months = 2"), source
    )
    assert tightened is not None, problems
    assert next_due_on(D(2020, 5, 10), "stable", None, tightened) == D(2020, 7, 10)


def test_a_broken_policy_names_the_key():
    text, source = read_reference_policy("registry", "national-2018")
    policy, problems = parse_registry_policy(text.replace("unstable_days = 14", "unstable_days = 0"), source)
    assert policy is None and problems[0].where.key == "intervals.unstable_days"


def test_due_state_on_the_work_list():
    """today 2020-06-10, due_soon_days 7: 06-09 逾期; 06-17 (7 天内) 到期; 06-18 未到期."""
    today = D(2020, 6, 10)
    assert due_state(D(2020, 6, 9), today, POLICY) == "overdue"
    assert due_state(D(2020, 6, 17), today, POLICY) == "due"
    assert due_state(D(2020, 6, 18), today, POLICY) == "ok"
    assert due_state(None, today, POLICY) == "due"


@given(st.dates(min_value=D(1990, 1, 1), max_value=D(2100, 1, 1)), st.integers(0, 24))
def test_add_months_lands_in_the_right_month_and_never_later_day(day, months):
    later = add_months(day, months)
    assert (later.year * 12 + later.month) - (day.year * 12 + day.month) == months
    assert later.day <= day.day


@given(
    st.builds(
        FollowUpFindings,
        st.integers(0, 5),
        st.sampled_from(["marked", "present", "remitted"]),
        st.sampled_from(["lacking", "partial", "good"]),
        st.sampled_from(["poor", "fair", "good"]),
        st.booleans(),
        st.booleans(),
    ),
    st.sampled_from([None, "stable", "basic", "unstable"]),
)
def test_the_next_visit_is_never_later_than_three_months(findings, previous):
    day = D(2020, 1, 15)
    due = next_due_on(day, classify(findings), previous, POLICY)
    assert day < due <= add_months(day, 3)
    if findings.risk_level >= 3:
        assert (due - day).days <= 14
