"""Quarterly prepayment (按季度预拨): a quarter of each 医共体's pot, due by a working day.

001 第十七篇 七(二): "医保管理部门要将医保资金实行按人头总额预付,每季度前10个工作日内及时足额
预拨到位" — "足额": the four quarters together are the whole pot, split in equal parts to the fen by
largest remainder (the earlier quarter takes a left-over fen first).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from shidian.capitation.model import Prepayment
from shidian.capitation.policy import CapitationPolicy
from shidian.capitation.working_days import nth_working_day, quarter_start
from shidian.money import ONE, split_largest_remainder

QUARTERS = (1, 2, 3, 4)


def prepayments(
    year: int, pots: Mapping[str, Decimal], order: Sequence[str], policy: CapitationPolicy
) -> list[Prepayment]:
    """Each community's four quarterly prepayments with their due dates, in community order."""
    due = {
        q: nth_working_day(quarter_start(year, q), policy.due_working_day, policy.holidays, policy.workdays)
        for q in QUARTERS
    }
    found: list[Prepayment] = []
    for cid in order:
        parts = split_largest_remainder(pots[cid], [ONE] * len(QUARTERS)) if pots[cid] else [pots[cid]] * 4
        found.extend(Prepayment(cid, q, due[q], part) for q, part in zip(QUARTERS, parts, strict=True))
    return found
