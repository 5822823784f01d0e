"""Completeness and timeliness (完整性与及时性) and overdue rectifications (逾期整改), worked by hand.

Due rule (docs/pilots.md): a period's report is due by the ``due_day`` (default 10th) of the
month after the period ends.
"""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from shidian.pilots.supervision import (
    LATE,
    MISSING,
    ON_TIME,
    PENDING,
    Received,
    Rectification,
    UnitCompleteness,
    completeness,
    due_date,
    overdue_rectifications,
    rectification_transition,
    timeliness,
)


def test_due_dates_month_quarter_year() -> None:
    """3月报 → 4月10日; 第一季度 (1–3月) → 4月10日; 2020年报 → 2021年1月10日; 12月报 → 次年1月10日."""
    assert due_date(date(2021, 3, 1), "month") == date(2021, 4, 10)
    assert due_date(date(2021, 1, 1), "quarter") == date(2021, 4, 10)
    assert due_date(date(2020, 1, 1), "year") == date(2021, 1, 10)
    assert due_date(date(2020, 12, 1), "month") == date(2021, 1, 10)
    # due day 31 in February (2021 is not a leap year) → 28 February
    assert due_date(date(2021, 1, 1), "month", due_day=31) == date(2021, 2, 28)
    assert due_date(date(2021, 1, 1), "month", due_day=5) == date(2021, 2, 5)


def test_timeliness_worked_example() -> None:
    """Monthly plan from 2021-01; as of 2021-04-12, units A and B.

    Periods started by 04-12: Jan, Feb, Mar, Apr → due 02-10, 03-10, 04-10, 05-10.
    A: Jan submitted 02-10 (on the due day: on time), Feb 03-12 (2 days late), Mar never
       (due 04-10, 04-12 − 04-10 = 2 days missing), Apr never (not yet due: pending).
    B: Jan 02-01 (on time), Feb 03-01 resubmitted 03-20 after a return (first date counts: on
       time), Mar 04-09 (on time), Apr 04-11 (early: on time).
    """
    received = [
        Received("A", date(2021, 1, 1), date(2021, 2, 10)),
        Received("A", date(2021, 2, 1), date(2021, 3, 12)),
        Received("B", date(2021, 1, 1), date(2021, 2, 1)),
        Received("B", date(2021, 2, 1), date(2021, 3, 20)),
        Received("B", date(2021, 2, 1), date(2021, 3, 1)),
        Received("B", date(2021, 3, 1), date(2021, 4, 9)),
        Received("B", date(2021, 4, 1), date(2021, 4, 11)),
    ]
    rows = timeliness(["A", "B"], date(2021, 1, 1), date(2021, 12, 31), "month", received, date(2021, 4, 12))
    got = [(r.unit, r.period_start.month, r.status, r.days_late) for r in rows]
    assert got == [
        ("A", 1, ON_TIME, 0),
        ("A", 2, LATE, 2),
        ("A", 3, MISSING, 2),
        ("A", 4, PENDING, 0),
        ("B", 1, ON_TIME, 0),
        ("B", 2, ON_TIME, 0),
        ("B", 3, ON_TIME, 0),
        ("B", 4, ON_TIME, 0),
    ]
    assert rows[1].due_on == date(2021, 3, 10) and rows[1].period == "2021年2月"
    # A: due = Jan, Feb, Mar = 3 (Apr pending); received 2; on time 1; late 1; missing 1.
    # B: due = 4 (Apr received early counts); received 4; on time 4.
    assert completeness(rows) == [
        UnitCompleteness("A", due=3, received=2, on_time=1, late=1, missing=1),
        UnitCompleteness("B", due=4, received=4, on_time=4, late=0, missing=0),
    ]
    assert completeness(rows)[0].complete_ratio == 2 / 3


def test_timeliness_stops_at_plan_end_and_ignores_reports_of_other_units() -> None:
    rows = timeliness(
        ["A"], date(2020, 10, 1), date(2020, 12, 31), "quarter", [Received("Z", date(2020, 10, 1), date(2021, 1, 1))],
        date(2021, 6, 1),
    )  # fmt: skip
    # one quarter (Q4 2020), due 2021-01-10, missing by 2021-06-01: 21 + 28 + 31 + 30 + 31 + 1 = 142 days
    assert [(r.period, r.status, r.days_late) for r in rows] == [("2020年第4季度", MISSING, 142)]


def test_overdue_rectification_raises_a_warning() -> None:
    """限期整改: open past its deadline → warning; done / verified / not yet due → none."""
    items = [
        Rectification(1, "大洲镇", "补齐在册患者随访记录", date(2021, 3, 31), "open"),
        Rectification(2, "丹竹镇", "配备心理咨询室", date(2021, 3, 1), "done"),
        Rectification(3, "思旺镇", "建立热线台账", date(2021, 5, 1), "open"),
        Rectification(4, "大安镇", "整改台账", date(2021, 2, 1), "verified"),
        Rectification(5, "官成镇", "开展培训", date(2021, 1, 15), "open"),
    ]
    warnings = overdue_rectifications(items, date(2021, 4, 10))
    assert [w.details["id"] for w in warnings] == ["5", "1"]  # most overdue first
    assert all(w.severity == "warning" and w.code == "pilots.rectification.overdue" for w in warnings)
    # 2021-04-10 − 2021-03-31 = 10 days
    assert "大洲镇" in warnings[1].message and "已逾期 10 天" in warnings[1].message
    # on the deadline day itself an item is not yet overdue
    assert overdue_rectifications(items[:1], date(2021, 3, 31)) == []


def test_rectification_transitions() -> None:
    assert rectification_transition("open", "mark_done") == "done"
    assert rectification_transition("done", "verify") == "verified"
    assert rectification_transition("done", "reopen") == "open"
    assert rectification_transition("open", "verify") is None
    assert rectification_transition("verified", "mark_done") is None


@given(
    st.dates(date(2000, 1, 1), date(2099, 12, 1)),
    st.sampled_from(["month", "quarter", "year"]),
    st.integers(1, 31),
)
def test_due_date_is_after_the_period_and_within_the_next_month(day: date, kind: str, due_day: int) -> None:
    from shidian.pilots.entry import period_end, period_start_of

    start = period_start_of(day, kind)
    due = due_date(start, kind, due_day)
    end = period_end(start, kind)
    assert end < due and (due.year, due.month) == ((end.year + (end.month == 12)), end.month % 12 + 1)


@given(
    st.lists(st.tuples(st.sampled_from("ABC"), st.integers(0, 11), st.integers(-20, 40)), max_size=30),
    st.dates(date(2021, 1, 1), date(2022, 3, 1)),
)
def test_completeness_counts_add_up(reports: list[tuple[str, int, int]], as_of: date) -> None:
    """due = on time + late + missing; received = on time + late; no unit gets more than due."""
    received = [
        Received(
            unit, date(2021, 1 + month, 1), due_date(date(2021, 1 + month, 1), "month") + timedelta(days=late)
        )
        for unit, month, late in reports
    ]
    rows = timeliness(["A", "B", "C"], date(2021, 1, 1), date(2021, 12, 31), "month", received, as_of)
    for total in completeness(rows):
        assert total.due == total.on_time + total.late + total.missing
        assert total.received == total.on_time + total.late
        assert total.due <= 12


def test_who_moves_a_rectification_item() -> None:
    """The visited unit reports it done (or the office for it); only the office verifies or reopens."""
    from shidian.pilots.supervision import may_add_evidence, may_rectify

    assert may_rectify("mark_done", manages=False, visited=True)
    assert may_rectify("mark_done", manages=True, visited=False)
    assert not may_rectify("verify", manages=False, visited=True)
    assert not may_rectify("reopen", manages=False, visited=True)
    assert may_rectify("verify", manages=True, visited=False)
    assert not may_rectify("mark_done", manages=False, visited=False)
    assert may_add_evidence(manages=False, visited=True) and not may_add_evidence(
        manages=False, visited=False
    )


def test_supervision_list_names_the_visible_units_behind_their_targets() -> None:
    """A village that reported 否 (0) for a yes/no target of 100 % due 2021-12-31 is overdue after the
    deadline; units outside ``names`` are not listed; no approved values → an explaining note."""
    import pyarrow as pa

    from shidian.pilots.model import VALUES_SCHEMA
    from shidian.pilots.supervision import NO_APPROVED_REPORT, supervision_list
    from tests.pilots.helpers import UNITS, VILLAGE_A1, VILLAGE_B1, small_plan, values

    plan = small_plan()
    table = values(
        [
            (VILLAGE_A1, "YN", date(2021, 10, 1), "", 0, None),
            (VILLAGE_B1, "YN", date(2021, 10, 1), "", 0, None),
        ]
    )
    listing, note = supervision_list(plan, UNITS, table, {VILLAGE_A1: "琴江镇一村"}, date(2022, 1, 15))
    assert note is None and [u["unit_code"] for u in listing] == [VILLAGE_A1]
    item = next(i for i in listing[0]["items"] if i["indicator_code"] == "YN")
    assert item["status"] == "overdue" and item["value"] == "0" and item["target"] == "100"
    assert listing[0]["overdue"] >= 1 and listing[0]["unit_name"] == "琴江镇一村"
    empty = pa.table(
        {n: pa.array([], VALUES_SCHEMA.field(n).type) for n in VALUES_SCHEMA.names}, schema=VALUES_SCHEMA
    )
    assert supervision_list(plan, UNITS, empty, {VILLAGE_A1: "x"}, date(2022, 1, 15)) == (
        [],
        NO_APPROVED_REPORT,
    )
