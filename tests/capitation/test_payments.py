"""Quarterly prepayments paid against those due (001 第十七篇 七(二) "每季度前10个工作日内及时足额
预拨到位"), worked by hand, and a property: paid + outstanding = due, to the fen."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from shidian.capitation.model import Prepayment
from shidian.capitation.payments import Payment, statuses

DUE = Prepayment("A", 1, dt.date(2020, 1, 15), Decimal("13671000.00"))


def test_each_status_by_hand():
    """13,671,000.00 due by 2020-01-15 (the 10th working day): nothing paid → 未拨付, overdue on
    01-16 but not on 01-15; 1,000.00 → 未足额, 13,670,000.00 outstanding; the rest on 01-20 → 足额但
    逾期; all on 01-15 → 及时足额; 0.01 more (with a reason) → 超额拨付, outstanding −0.01."""
    (unpaid,) = statuses([DUE], [], dt.date(2020, 1, 16))
    assert (unpaid.status, unpaid.overdue, unpaid.paid) == ("unpaid", True, Decimal("0.00"))
    assert str(unpaid.paid) == "0.00"
    assert statuses([DUE], [], dt.date(2020, 1, 15))[0].overdue is False
    part = [Payment("A", 1, Decimal("1000.00"), dt.date(2020, 1, 10), "R1")]
    (partly,) = statuses([DUE], part, dt.date(2020, 2, 1))
    assert (partly.status, partly.outstanding, partly.overdue) == ("part_paid", Decimal("13670000.00"), True)
    rest = [*part, Payment("A", 1, Decimal("13670000.00"), dt.date(2020, 1, 20), "R2")]
    (late,) = statuses([DUE], rest, dt.date(2020, 2, 1))
    assert (late.status, late.outstanding, late.overdue, late.label) == ("late", 0, False, "足额但逾期")
    on_time = [Payment("A", 1, Decimal("13671000.00"), dt.date(2020, 1, 15), "R")]
    assert statuses([DUE], on_time)[0].label == "及时足额"
    more = [*on_time, Payment("A", 1, Decimal("0.01"), dt.date(2020, 1, 16), "R3", "银行多划")]
    (over,) = statuses([DUE], more)
    assert (over.status, over.outstanding, over.label) == ("overpaid", Decimal("-0.01"), "超额拨付")
    other = [
        Payment("B", 1, Decimal("5.00"), dt.date(2020, 1, 2), "R"),
        Payment("A", 2, Decimal("5.00"), dt.date(2020, 1, 2), "R"),
    ]
    assert statuses([DUE], other)[0].status == "unpaid"  # another 医共体's or quarter's payment


fen = st.integers(min_value=1, max_value=10**10).map(lambda n: Decimal(n) / 100)


@given(st.lists(st.tuples(fen, st.integers(min_value=0, max_value=60)), max_size=6), st.integers(0, 60))
def test_paid_and_outstanding_make_up_what_is_due(payments, day):
    start = dt.date(2020, 1, 1)
    paid = [Payment("A", 1, amount, start + dt.timedelta(days=d), "R") for amount, d in payments]
    today = start + dt.timedelta(days=day)
    (status,) = statuses([DUE], paid, today)
    assert status.paid + status.outstanding == DUE.amount
    assert status.paid == sum((p.amount for p in paid), Decimal(0))
    assert status.overdue == (status.paid < DUE.amount and today > DUE.due_on)
    assert (status.status == "overpaid") == (status.paid > DUE.amount)
