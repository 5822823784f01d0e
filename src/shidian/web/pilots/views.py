"""What the pilot pages show, shaped for the templates: plan tables, charts, problem rows."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from shidian.pilots.model import STATUS_LABELS, STATUSES, Plan
from shidian.problems import Problem

KIND_LABELS = {"count": "数量", "rate": "率", "amount": "金额", "yes_no": "是否"}
AGGREGATION_LABELS = {"sum": "求和", "ratio": "Σ分子÷Σ分母", "share": "是的比例", "none": "不汇总"}
SOURCE_LABELS = {"report": "报表", "registry": "登记系统"}
PERIOD_LABELS = {"month": "月报", "quarter": "季报", "year": "年报"}


def problem_rows(problems: Sequence[Problem]) -> list[dict[str, Any]]:
    """Problems as template rows: row, column, message, code."""
    return [
        {
            "row": p.where.row,
            "column": p.where.column,
            "message": p.message,
            "code": p.code,
            "severity": p.severity,
        }
        for p in problems
    ]


def responsibility_rows(plan: Plan) -> list[dict[str, Any]]:
    """The responsibility list (责任清单) with unit names."""
    phases = {p.code: p.name for p in plan.phases}
    return [
        {
            "code": t.code,
            "name": t.name,
            "lead": "、".join(plan.unit_name(u) for u in t.lead),
            "partners": "、".join(plan.unit_name(u) for u in t.partners),
            "deadline": t.deadline.isoformat() if t.deadline else "",
            "phase": phases.get(t.phase, t.phase),
            "description": t.description,
        }
        for t in plan.tasks
    ]


def indicator_rows(plan: Plan) -> list[dict[str, Any]]:
    """Indicators with their targets as text (≥ 90 % by 2021-12-31; milestones)."""
    populations = {p.code: p.name for p in plan.populations}
    levels = {lv.code: lv.name for lv in plan.levels}
    rows = []
    for ind in plan.indicators:
        targets = []
        for t in ind.targets:
            who = populations.get(t.population, t.population) if t.population else ""
            where = levels.get(t.level, t.level) if t.level else ""
            steps = "；".join(f"{m.due.isoformat()} {_num(m.value)}" for m in t.milestones)
            targets.append(
                {
                    "text": f"{'≥' if t.direction == '>=' else '≤'} {_num(t.value)} {ind.unit}",
                    "deadline": t.deadline.isoformat(),
                    "population": who,
                    "level": where,
                    "milestones": steps,
                }
            )
        rows.append(
            {
                "code": ind.code,
                "name": ind.name,
                "unit": ind.unit,
                "kind": KIND_LABELS.get(ind.kind, ind.kind),
                "reported_by": levels.get(ind.reported_by, ind.reported_by),
                "aggregation": AGGREGATION_LABELS.get(ind.aggregation, ind.aggregation),
                "source": SOURCE_LABELS.get(ind.source, ind.source),
                "basis": ind.basis,
                "targets": targets,
            }
        )
    return rows


def _num(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def status_chart(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """An ECharts option: per unit, its targets stacked by status in green-yellow-red."""
    colours = {"achieved": "#12b76a", "on_track": "#a6f4c5", "lagging": "#fdb022", "overdue": "#f04438"}
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"data": [STATUS_LABELS[s] for s in STATUSES]},
        "grid": {"left": 120, "right": 20, "top": 40, "bottom": 20},
        "xAxis": {"type": "value"},
        "yAxis": {"type": "category", "data": [s["name"] for s in summaries], "inverse": True},
        "series": [
            {
                "name": STATUS_LABELS[status],
                "type": "bar",
                "stack": "targets",
                "itemStyle": {"color": colours[status]},
                "data": [s["counts"][status] for s in summaries],
            }
            for status in STATUSES
        ],
    }


def ranking_chart(totals: list[dict[str, Any]], names: dict[str, str]) -> dict[str, Any]:
    """An ECharts option: the totals as a horizontal bar chart, best first."""
    shown = totals[:30]
    return {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 120, "right": 20, "top": 20, "bottom": 20},
        "xAxis": {"type": "value"},
        "yAxis": {
            "type": "category",
            "inverse": True,
            "data": [names.get(r["unit_code"], r["unit_code"]) for r in shown],
        },
        "series": [{"name": "总分", "type": "bar", "data": [str(r["total"]) for r in shown]}],
    }
