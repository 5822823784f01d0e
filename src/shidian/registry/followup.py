"""Follow-up classification and the next due date (随访评估与分类干预).

The national service standard (国家基本公共卫生服务规范（第三版）严重精神障碍患者管理服务规范,
“4.分类干预”) sorts a patient at every follow-up into one of three classes:

* ``unstable`` 病情不稳定: 危险性为3~5级, 或精神病性症状明显、自知力缺乏、有严重药物不良反应或
  严重躯体疾病 → refer at once (立即转诊); follow up within 2 weeks;
* ``basic`` 病情基本稳定: 危险性为1~2级, 或精神症状、自知力、社会功能状况至少有一方面较差 →
  follow up at 2 weeks; at that visit, 3 months if it has stabilised, 1 month if not;
* ``stable`` 病情稳定: 危险性为0级, 且精神症状基本消失, 自知力基本恢复, 社会功能处于一般或良好,
  无严重药物不良反应, 躯体疾病稳定 → follow up at 3 months.

Readings chosen (docs/registry.md): “趋于稳定” at the 2-week visit means the visit classifies
the patient ``stable`` (then the stable interval, 3 months, applies — the same number); a
patient still ``basic`` at a visit that followed a ``basic`` visit is “未达到稳定” and is seen
again in 1 month, and monthly while that lasts. Months are calendar months; a day that does not
exist in the target month becomes the month's last day (1月31日 + 1个月 = 2月28/29日).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Literal

from shidian.registry.policy import RegistryPolicy

CLASSES = {"unstable": "病情不稳定", "basic": "病情基本稳定", "stable": "病情稳定"}


@dataclass(frozen=True)
class FollowUpFindings:
    """What a follow-up found (随访评估结果).

    ``symptoms``: marked (明显) / present (较差) / remitted (基本消失);
    ``insight``: lacking (缺乏) / partial (不全, 较差) / good (基本恢复);
    ``social_function``: poor (较差) / fair (一般) / good (良好).
    """

    risk_level: int
    symptoms: str = "remitted"
    insight: str = "good"
    social_function: str = "good"
    serious_adverse_reaction: bool = False
    serious_physical_illness: bool = False


def classify(f: FollowUpFindings) -> str:
    """``unstable``, ``basic`` or ``stable`` by the standard's 4.分类干预 rules, in that order."""
    if not 0 <= f.risk_level <= 5:
        raise ValueError(f"risk level must be 0–5, got {f.risk_level}")
    if (
        f.risk_level >= 3
        or f.symptoms == "marked"
        or f.insight == "lacking"
        or f.serious_adverse_reaction
        or f.serious_physical_illness
    ):
        return "unstable"
    if f.risk_level >= 1 or f.symptoms == "present" or f.insight == "partial" or f.social_function == "poor":
        return "basic"
    return "stable"


def add_months(day: dt.date, months: int) -> dt.date:
    """Calendar months later; the month's last day when ``day`` does not exist there."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def next_due_on(
    followed_on: dt.date, classification: str, previous: str | None, policy: RegistryPolicy
) -> dt.date:
    """The date the next follow-up is due, from this visit's class and the previous visit's.

    ``previous`` is the class of the patient's previous follow-up (None for the first).
    """
    if classification == "unstable":
        return followed_on + dt.timedelta(days=policy.unstable_days)
    if classification == "basic":
        if previous == "basic":
            return add_months(followed_on, policy.basic_not_stabilised_months)
        return followed_on + dt.timedelta(days=policy.basic_first_days)
    if classification == "stable":
        if previous == "basic":
            return add_months(followed_on, policy.basic_stabilised_months)
        return add_months(followed_on, policy.stable_months)
    raise ValueError(f"unknown classification {classification!r}")


def due_state(
    due_on: dt.date | None, today: dt.date, policy: RegistryPolicy
) -> Literal["overdue", "due", "ok"]:
    """``overdue`` (逾期), ``due`` (到期, within ``due_soon_days``) or ``ok``; ``due`` when never seen."""
    if due_on is None:
        return "due"
    if due_on < today:
        return "overdue"
    if (due_on - today).days <= policy.due_soon_days:
        return "due"
    return "ok"
