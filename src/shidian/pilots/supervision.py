"""Supervision (督导): completeness and timeliness of reports, overdue rectifications.

Issue #5: "Completeness and timeliness per unit and period (reports due vs received, on time
vs late)" and "rectification items (限期整改) with deadlines and status; overdue rectifications
raise warnings". The seeds ask for supervision and 限期整改 (000 篇3 四(四); 001 第四篇, 第九篇)
but name no reporting deadline, so the due date is a parameter of the loaded plan
(``due_day``, default 10: a period's report is due by the 10th of the month after the period
ends — a month's report by the 10th of the next month, a quarter's by the 10th of the month
after the quarter, a year's by 10 January). docs/pilots.md records the choice.

Also the supervision list (督导名单: the units lagging behind their targets) and who may act on
a rectification item (the visited unit reports it done, the pilot office verifies or reopens).

Pure: takes dates, expected units and periods, received reports, tables of values; returns rows
and Problems.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa

from shidian.display import trimmed
from shidian.money import round_to
from shidian.pilots.aggregate import aggregate
from shidian.pilots.attainment import attainment
from shidian.pilots.entry import next_period, period_end, period_label, periods_between
from shidian.pilots.model import Plan
from shidian.problems import Problem, Source

#: The default due day (截止日): the report of a period is due by this day of the next month.
DEFAULT_DUE_DAY = 10

#: Report timeliness (报送及时性) of one unit and period.
ON_TIME, LATE, MISSING, NOT_DUE, PENDING = "on_time", "late", "missing", "not_due", "pending"
TIMELINESS_LABELS = {
    ON_TIME: "按时报送",
    LATE: "逾期报送",
    MISSING: "逾期未报",
    NOT_DUE: "未到截止日",
    PENDING: "未报 (未到截止日)",
}

#: Rectification statuses (整改状态): open → done (整改完成, by the unit) → verified (核实销号).
RECTIFICATION_STATUSES = {"open": "整改中", "done": "已整改待核实", "verified": "已核实销号"}
#: Severity of a finding (问题严重程度).
SEVERITIES = {"minor": "一般", "major": "较重", "serious": "严重"}
#: Words accepted for a severity in a findings file (督导发现问题表), each → its code: the codes, the
#: labels above, and 轻微 (a slight finding: the lowest level, like 一般). See docs/pilots.md.
SEVERITY_WORDS = {
    **{code: code for code in SEVERITIES},
    **{label: code for code, label in SEVERITIES.items()},
    "轻微": "minor",
}


def severity_code(word: str) -> str | None:
    """The severity code of a word written in a findings file (case and spaces ignored)."""
    return SEVERITY_WORDS.get(word.strip().lower())


def due_date(start: date, kind: str, due_day: int = DEFAULT_DUE_DAY) -> date:
    """The day a period's report is due (截止日): ``due_day`` of the month after the period ends.

    A day past the month's end (``due_day`` 31 in a short month) means the month's last day.
    """
    if not 1 <= due_day <= 31:
        raise ValueError(f"due_day {due_day} is not a day of the month")
    following = period_end(start, kind) + timedelta(days=1)  # first day of the next month
    last = next_period(following, "month") - timedelta(days=1)
    return min(following.replace(day=1) + timedelta(days=due_day - 1), last)


@dataclass(frozen=True)
class Received:
    """A report received (已报): unit, period start, the date it was first submitted (首次提交)."""

    unit: str
    period_start: date
    submitted_on: date


@dataclass(frozen=True)
class Timeliness:
    """One unit and period: the due date, when it was first submitted, the status, days late."""

    unit: str
    period_start: date
    period: str
    due_on: date
    submitted_on: date | None
    status: str
    days_late: int


@dataclass(frozen=True)
class UnitCompleteness:
    """One unit's totals (完整性与及时性): reports due, received, on time, late, missing."""

    unit: str
    due: int
    received: int
    on_time: int
    late: int
    missing: int

    @property
    def complete_ratio(self) -> float | None:
        """Received ÷ due (display only), None when nothing is due yet."""
        return None if self.due == 0 else self.received / self.due

    @property
    def on_time_ratio(self) -> float | None:
        return None if self.due == 0 else self.on_time / self.due


def timeliness(
    units: Sequence[str],
    first_day: date,
    last_day: date,
    kind: str,
    received: Iterable[Received],
    as_of: date,
    due_day: int = DEFAULT_DUE_DAY,
) -> list[Timeliness]:
    """Every unit × every period that has started by ``as_of``, ordered by unit then period.

    A report first submitted on or before its due date is on time, after it late; one never
    submitted is missing once its due date has passed, pending before. Later resubmissions
    (after a return) do not change the date: timeliness is about the first submission.
    """
    got: dict[tuple[str, date], date] = {}
    for item in received:
        key = (item.unit, item.period_start)
        if key not in got or item.submitted_on < got[key]:
            got[key] = item.submitted_on
    starts = [p for p in periods_between(first_day, min(last_day, as_of), kind) if p <= as_of]
    rows: list[Timeliness] = []
    for unit in units:
        for start in starts:
            due = due_date(start, kind, due_day)
            submitted = got.get((unit, start))
            if submitted is not None:
                late = (submitted - due).days
                status = LATE if late > 0 else ON_TIME
                days_late = max(late, 0)
            elif as_of > due:
                status, days_late = MISSING, (as_of - due).days
            else:
                status, days_late = PENDING, 0
            rows.append(Timeliness(unit, start, period_label(start, kind), due, submitted, status, days_late))
    return rows


def completeness(rows: Iterable[Timeliness]) -> list[UnitCompleteness]:
    """Per unit, in first-seen order: reports due (截止日已过 or received), received, on time, late,
    missing. A report received before its due date counts as due and on time."""
    totals: dict[str, list[int]] = {}
    for row in rows:
        t = totals.setdefault(row.unit, [0, 0, 0, 0, 0])
        if row.status == PENDING:
            continue
        t[0] += 1
        t[1] += row.status in (ON_TIME, LATE)
        t[2] += row.status == ON_TIME
        t[3] += row.status == LATE
        t[4] += row.status == MISSING
    return [UnitCompleteness(unit, *t) for unit, t in totals.items()]


@dataclass(frozen=True)
class Rectification:
    """A rectification item (整改事项): id, unit, the action required, deadline (限期), status."""

    id: int
    unit: str
    action: str
    deadline: date
    status: str
    closed_on: date | None = None


def overdue_rectifications(items: Iterable[Rectification], as_of: date) -> list[Problem]:
    """A warning for every item still open after its deadline (逾期未整改), most overdue first."""
    late = [i for i in items if i.status == "open" and i.deadline < as_of]
    late.sort(key=lambda i: (i.deadline, i.id))
    return [
        Problem(
            "pilots.rectification.overdue",
            f"{i.unit}: 整改事项「{i.action}」限期 {i.deadline.isoformat()}, 已逾期 "
            f"{(as_of - i.deadline).days} 天未整改 (overdue rectification)",
            Source("<supervision>", key=f"rectification/{i.id}"),
            severity="warning",
            details={"unit": i.unit, "days": str((as_of - i.deadline).days), "id": str(i.id)},
        )
        for i in late
    ]


def rectification_transition(status: str, action: str) -> str | None:
    """open → done (mark_done), done → verified (verify), done → open (reopen): else None."""
    return {("open", "mark_done"): "done", ("done", "verify"): "verified", ("done", "reopen"): "open"}.get(
        (status, action)
    )


def may_rectify(step: str, *, manages: bool, visited: bool) -> bool:
    """Who moves a rectification item: the visited unit (被督导单位) or the pilot office managing
    the visit reports it done (``mark_done``); only the office verifies (核实销号) or reopens."""
    return manages or visited if step == "mark_done" else manages


def may_add_evidence(*, manages: bool, visited: bool) -> bool:
    """Evidence files (佐证材料) come from the pilot office managing the visit or the visited unit."""
    return manages or visited


# ---- the supervision list (督导名单) ------------------------------------------------------------

#: Why an empty supervision list does not mean "nobody lags".
NO_APPROVED_REPORT = "尚无审核通过的报表 (no approved report yet)"


def supervision_list(
    plan: Plan, units: pa.Table, values: pa.Table, names: Mapping[str, str], as_of: date
) -> tuple[list[dict[str, Any]], str | None]:
    """The supervision list (督导名单): per unit of ``names`` (unit code → name, the units one may
    see), its targets lagging (进度滞后) or overdue (逾期未达标) on ``values`` (the approved
    reports), most overdue first — from ``aggregate`` and ``attainment`` over the hierarchy
    ``units`` (``UNITS_SCHEMA``). Only indicators entered as reports (``source: report``) count
    here: registry indicators are judged on the registry's pages. The second item explains an
    empty list that does not mean "nobody lags" (no approved report yet)."""
    if values.num_rows == 0:
        return [], NO_APPROVED_REPORT
    reported = {i.code for i in plan.indicators if i.source == "report"}
    groups = {g.code: g.name for g in plan.populations}
    by_unit: dict[str, dict[str, Any]] = {}
    for row in attainment(plan, aggregate(plan, units, values), as_of).to_pylist():
        code = row["unit_code"]
        if (
            code not in names
            or row["indicator_code"] not in reported
            or row["status"] not in ("lagging", "overdue")
        ):
            continue
        entry = by_unit.setdefault(
            code, {"unit_code": code, "unit_name": names[code], "overdue": 0, "lagging": 0, "items": []}
        )
        entry[row["status"]] += 1
        entry["items"].append(
            {
                "indicator_code": row["indicator_code"],
                "indicator_name": row["indicator_name"],
                "population": groups.get(row["population"], row["population"]),
                "value": None if row["value"] is None or not row["has_data"] else _two(row["value"]),
                "expected": None if row["expected"] is None else _two(row["expected"]),
                "target": None if row["target"] is None else _two(row["target"]),
                "status": row["status"],
                "status_label": row["status_label"],
            }
        )
    listing = sorted(by_unit.values(), key=lambda u: (-u["overdue"], -u["lagging"], u["unit_code"]))
    return listing, None


def _two(value: Decimal) -> str:
    """A value for display: two decimals, half up, trailing zeros dropped (87.5, 100, 0)."""
    return trimmed(round_to(Decimal(value), 2))
