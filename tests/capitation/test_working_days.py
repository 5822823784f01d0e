"""Quarterly due dates, 001 第十七篇 七(二): “每季度前10个工作日内及时足额预拨到位”."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from shidian.capitation.prepayment import prepayments
from shidian.capitation.working_days import nth_working_day, quarter_start

from .helpers import policy


def test_001p17_7_2_due_on_the_tenth_working_day_of_each_quarter_2020():
    """2020 年 (国办发明电〔2019〕16号): 1 月 1 日元旦 → 1 月 2、3、6–10、13–15 日, 第 10 个为 1 月 15 日;
    4 月 6 日清明 → 4 月 1–3、7–10、13–15 日, 4 月 15 日; 7 月无假 → 1–3、6–10、13–14 日, 7 月 14 日;
    10 月 1–8 日国庆中秋, 10 月 10 日 (周六) 调休上班 → 9、10、12–16、19–21 日, 10 月 21 日."""
    p = policy()
    due = [nth_working_day(quarter_start(2020, q), 10, p.holidays, p.workdays) for q in (1, 2, 3, 4)]
    assert due == [dt.date(2020, 1, 15), dt.date(2020, 4, 15), dt.date(2020, 7, 14), dt.date(2020, 10, 21)]


def test_without_holidays_the_tenth_working_day_counts_weekdays_only():
    """2021 年 1 月 1 日是周五; 不设假日时第 1 个工作日即 1 月 1 日, 第 10 个为 1 月 14 日 (周四)."""
    assert nth_working_day(dt.date(2021, 1, 1), 10, (), ()) == dt.date(2021, 1, 14)


def test_001p17_7_2_four_quarters_are_the_whole_pot():
    """“足额”: 预算基金 100.03 元分四季: 25.01、25.01、25.01、25.00 (早的季度先得多余的分)."""
    rows = prepayments(2020, {"A": Decimal("100.03")}, ["A"], policy())
    assert [str(r.amount) for r in rows] == ["25.01", "25.01", "25.01", "25.00"]
    assert [r.quarter for r in rows] == [1, 2, 3, 4]
