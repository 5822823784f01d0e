"""Quarterly prepayments paid (季度预拨到账): recorded against the prepayments a run makes due.

001 第十七篇 七(二): "每季度前10个工作日内及时足额预拨到位". A run says what is due and by when
(``prepayments.csv``); the insurance bureau records what it paid and on which day. Each
prepayment's status: paid in full on time (及时足额), paid late, part paid (未足额), or unpaid.
A payment beyond what is due is refused unless the officer gives the reason (超额拨付: its status
says so). A prepayment not paid in full after its due day is overdue (逾期) on the business date.
Pure: the store keeps the records (table ``capitation_payments``), by year: a correction of the
year's run does not lose what was paid against the run it corrects.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from shidian.capitation.model import Prepayment
from shidian.money import ZERO

#: Nothing paid, at the fen (amounts read "0.00", as in the run's files).
FEN_ZERO = ZERO.quantize(Decimal("0.01"))


@dataclass(frozen=True)
class Payment:
    """One payment recorded against a 医共体's quarterly prepayment."""

    community_id: str
    quarter: int
    amount: Decimal
    paid_on: dt.date
    #: the bank or treasury reference of the transfer (凭证号)
    reference: str = ""
    #: why more than was outstanding was paid (required then)
    reason: str = ""


@dataclass(frozen=True)
class PrepaymentStatus:
    """A prepayment due, what was paid against it, the last day paid and its status."""

    community_id: str
    quarter: int
    due_on: dt.date
    due: Decimal
    paid: Decimal
    outstanding: Decimal
    last_paid_on: dt.date | None
    status: str  # on_time | late | part_paid | unpaid | overpaid
    #: not paid in full and past its due day on the business date (逾期未足额)
    overdue: bool = False

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]


STATUS_LABELS = {
    "on_time": "及时足额",
    "late": "足额但逾期",
    "part_paid": "未足额",
    "unpaid": "未拨付",
    "overpaid": "超额拨付",
}


def statuses(
    due: Sequence[Prepayment], paid: Sequence[Payment], today: dt.date | None = None
) -> list[PrepaymentStatus]:
    """Each prepayment due with what was paid against it, in the order given; with ``today``
    (the business date) the ones not paid in full after their due day are overdue."""
    rows = []
    for p in due:
        mine = [x for x in paid if x.community_id == p.community_id and x.quarter == p.quarter]
        total = sum((x.amount for x in mine), FEN_ZERO)
        last = max((x.paid_on for x in mine), default=None)
        if not mine:
            status = "unpaid"
        elif total < p.amount:
            status = "part_paid"
        elif total > p.amount:
            status = "overpaid"
        elif last is not None and last > p.due_on:
            status = "late"
        else:
            status = "on_time"
        rows.append(
            PrepaymentStatus(
                p.community_id,
                p.quarter,
                p.due_on,
                p.amount,
                total,
                p.amount - total,
                last,
                status,
                today is not None and total < p.amount and today > p.due_on,
            )
        )
    return rows
