"""The report workflow (填报审核流程): transitions, refusals, lock and change requests.

Issue #5 "Reporting": reporting units enter values for their own unit; submit → approve by
the level above → locked (changes after lock need the approver).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shidian.pilots.workflow import (
    ACTIONS,
    TRANSITIONS,
    Actor,
    Refusal,
    decide,
    is_editable,
    is_locked,
    next_status,
    permission,
)

# A county (1) with two townships (10, 11); village 100 belongs to township 10.
COUNTY, TOWN_A, TOWN_B, VILLAGE = 1, 10, 11, 100
PARENT = {TOWN_A: COUNTY, TOWN_B: COUNTY, VILLAGE: TOWN_A}
TOWN_A_USER = Actor("reporting_unit", TOWN_A)
TOWN_B_USER = Actor("reporting_unit", TOWN_B)
VILLAGE_USER = Actor("reporting_unit", VILLAGE)
COUNTY_OFFICE = Actor("pilot_office", 99, area=frozenset({COUNTY, TOWN_A, TOWN_B, VILLAGE}))
LEADER = Actor("leader", 50)


def test_issue5_full_cycle_draft_submit_approve_locks() -> None:
    """草稿 → 提交 → 审核通过 (锁定): the township fills, the county office approves."""
    status = decide(TOWN_A_USER, "save", None, TOWN_A, COUNTY)
    assert status == "draft"
    status = decide(TOWN_A_USER, "submit", status, TOWN_A, COUNTY)
    assert status == "submitted"
    status = decide(COUNTY_OFFICE, "approve", status, TOWN_A, COUNTY)
    assert status == "approved"
    assert is_locked(status) and not is_editable(status)


def test_issue5_returned_report_is_edited_and_resubmitted() -> None:
    """退回后本单位修改再提交."""
    assert decide(COUNTY_OFFICE, "return", "submitted", TOWN_A, COUNTY) == "returned"
    assert is_editable("returned")
    assert decide(TOWN_A_USER, "save", "returned", TOWN_A, COUNTY) == "returned"
    assert decide(TOWN_A_USER, "submit", "returned", TOWN_A, COUNTY) == "submitted"


def test_issue5_locked_report_cannot_be_saved_or_resubmitted() -> None:
    for action in ("save", "submit", "approve", "return"):
        actor = TOWN_A_USER if action in ("save", "submit") else COUNTY_OFFICE
        result = decide(actor, action, "approved", TOWN_A, COUNTY)
        assert isinstance(result, Refusal) and result.status == 409, action
    refusal = decide(TOWN_A_USER, "save", "approved", TOWN_A, COUNTY)
    assert isinstance(refusal, Refusal) and "修改申请" in refusal.reason


def test_issue5_change_after_lock_needs_the_approver() -> None:
    """锁定后修改须经审核人同意: request (unit) → grant (approver) → draft again."""
    assert decide(TOWN_A_USER, "request_change", "approved", TOWN_A, COUNTY) == "approved"
    # the unit cannot grant its own request
    own = decide(TOWN_A_USER, "grant_change", "approved", TOWN_A, COUNTY, change_requested=True)
    assert isinstance(own, Refusal) and own.status == 403
    granted = decide(COUNTY_OFFICE, "grant_change", "approved", TOWN_A, COUNTY, change_requested=True)
    assert granted == "draft"
    refused = decide(COUNTY_OFFICE, "refuse_change", "approved", TOWN_A, COUNTY, change_requested=True)
    assert refused == "approved"


def test_grant_without_request_and_double_request_are_refused() -> None:
    result = next_status("approved", "grant_change", change_requested=False)
    assert isinstance(result, Refusal) and result.status == 409
    result = next_status("approved", "request_change", change_requested=True)
    assert isinstance(result, Refusal) and result.status == 409


def test_submitted_report_cannot_be_edited_until_returned() -> None:
    result = decide(TOWN_A_USER, "save", "submitted", TOWN_A, COUNTY)
    assert isinstance(result, Refusal) and result.status == 409
    result = decide(COUNTY_OFFICE, "approve", "draft", TOWN_A, COUNTY)
    assert isinstance(result, Refusal) and result.status == 409


def test_a_unit_enters_only_its_own_reports() -> None:
    """本单位填报: township B may neither save nor read township A's report."""
    assert isinstance(permission(TOWN_B_USER, "save", TOWN_A, COUNTY), Refusal)
    assert isinstance(permission(TOWN_B_USER, "read", TOWN_A, COUNTY), Refusal)
    assert isinstance(permission(COUNTY_OFFICE, "save", TOWN_A, COUNTY), Refusal)
    assert isinstance(permission(LEADER, "save", TOWN_A, COUNTY), Refusal)


def test_the_level_above_approves_parent_unit_or_office_of_the_area() -> None:
    """上级审核: the township approves its village; the county office approves in its area."""
    assert permission(TOWN_A_USER, "approve", VILLAGE, TOWN_A) is None
    assert permission(TOWN_A_USER, "read", VILLAGE, TOWN_A) is None
    assert permission(COUNTY_OFFICE, "approve", VILLAGE, TOWN_A) is None
    # not the sibling township, not the village itself, not an office outside its area
    assert isinstance(permission(TOWN_B_USER, "approve", VILLAGE, TOWN_A), Refusal)
    assert isinstance(permission(VILLAGE_USER, "approve", VILLAGE, TOWN_A), Refusal)
    other_office = Actor("pilot_office", 98, area=frozenset({2, 20}))
    assert isinstance(permission(other_office, "approve", TOWN_A, COUNTY), Refusal)
    office_without_area = Actor("pilot_office", 98)
    assert isinstance(permission(office_without_area, "approve", TOWN_A, COUNTY), Refusal)


def test_leader_reads_everything_and_changes_nothing() -> None:
    assert permission(LEADER, "read", VILLAGE, TOWN_A) is None
    for action in ("save", "submit", "approve", "return", "grant_change"):
        assert isinstance(permission(LEADER, action, VILLAGE, TOWN_A), Refusal)


def test_nobody_approves_their_own_unit() -> None:
    office_in_own_area = Actor("pilot_office", COUNTY, area=frozenset({COUNTY, TOWN_A}))
    assert isinstance(permission(office_in_own_area, "approve", COUNTY, None), Refusal)


@given(
    st.sampled_from([None, "draft", "submitted", "approved", "returned"]),
    st.sampled_from(sorted(ACTIONS)),
    st.booleans(),
)
def test_every_transition_is_declared_or_refused(status: str | None, action: str, pending: bool) -> None:
    """The machine never invents a status: the result is in TRANSITIONS or a 409 Refusal."""
    result = next_status(status, action, change_requested=pending)
    if isinstance(result, Refusal):
        assert result.status == 409
    else:
        assert TRANSITIONS[(status, action)] == result


@pytest.mark.parametrize("status", [None, "draft", "returned"])
def test_editable_statuses(status: str | None) -> None:
    assert is_editable(status) and not is_locked(status)
