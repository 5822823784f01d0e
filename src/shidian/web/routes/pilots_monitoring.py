"""Monitoring and score-card pages (目标监测 / 考核评分) of a loaded plan.

``/pilots/plans/{id}/monitoring``: attainment of every target per unit in red-yellow-green with
a chart, drilling down from the top visible units (county) to their children (township …);
``/pilots/plans/{id}/scorecard``: scores and ranking, and ``scorecard.xlsx`` in the officials'
layout. Both read the plan's approved (locked) reports only.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from shidian.pilots.model import STATUS_LABELS, STATUSES
from shidian.pilots.scorecard_excel import write_scorecard_xlsx
from shidian.platform import audit
from shidian.platform.accounts import User
from shidian.platform.clock import today
from shidian.web.deps import Conn, require
from shidian.web.pilots_plans import (
    focus_units,
    monitoring,
    ranking_chart,
    scorecard,
    status_chart,
    status_counts,
    unit_summaries,
)
from shidian.web.pilots_reports import get_plan
from shidian.web.templating import render

router = APIRouter()
Viewer = Annotated[User, Depends(require("pilots.plans.view"))]
AsOf = Annotated[str | None, Query(max_length=10, pattern=r"^\d{4}-\d{2}-\d{2}$")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _plan_row(conn: Any, plan_id: int) -> Any:
    row = get_plan(conn, plan_id)
    if row is None:
        raise HTTPException(404)
    return row


def _as_of(text: str | None) -> date:
    if not text:
        return today()
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise HTTPException(422, "as_of") from exc


@router.get("/pilots/plans/{plan_id:int}/monitoring", include_in_schema=False)
def monitoring_page(
    request: Request,
    conn: Conn,
    user: Viewer,
    plan_id: int,
    as_of: AsOf = None,
    unit: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    row = _plan_row(conn, plan_id)
    day = _as_of(as_of)
    mon = monitoring(conn, row, user, day)
    focus = None
    if unit is not None:
        if unit not in mon.visible or unit not in mon.tree:
            raise HTTPException(404)  # no leak of units outside the user's area
        focus = mon.tree[unit]
    shown = focus_units(mon, focus)
    summaries = unit_summaries(mon, shown)
    focus_rows = [r for r in mon.rows if focus is not None and r["unit_code"] == focus.code]
    trail = []
    walk = focus
    while walk is not None and walk.id in mon.visible:
        trail.append(walk)
        walk = mon.tree.get(walk.parent_id) if walk.parent_id is not None else None
    return render(
        request,
        "pilots/monitoring.html",
        {
            "plan_row": row,
            "plan": mon.plan,
            "as_of": day.isoformat(),
            "focus": focus,
            "trail": list(reversed(trail)),
            "focus_rows": focus_rows,
            "summaries": summaries,
            "counts": status_counts(mon.rows),
            "statuses": [(s, STATUS_LABELS[s]) for s in STATUSES],
            "has_values": mon.has_values,
            "chart": status_chart(summaries),
        },
    )


@router.get("/pilots/plans/{plan_id:int}/scorecard", include_in_schema=False)
def scorecard_page(request: Request, conn: Conn, user: Viewer, plan_id: int, as_of: AsOf = None) -> Response:
    row = _plan_row(conn, plan_id)
    day = _as_of(as_of)
    plan, scores, names = scorecard(conn, row, user, day)
    totals = scores.totals.to_pylist() if scores is not None and scores.totals.num_columns else []
    items: dict[str, dict[int, Any]] = {}
    if scores is not None and scores.items.num_columns:
        for item in scores.items.to_pylist():
            items.setdefault(item["unit_code"], {})[item["item"]] = item
    return render(
        request,
        "pilots/scorecard.html",
        {
            "plan_row": row,
            "plan": plan,
            "as_of": day.isoformat(),
            "totals": totals,
            "items": items,
            "names": names,
            "card": plan.scorecard,
            "chart": ranking_chart(totals, names),
        },
    )


@router.get("/pilots/plans/{plan_id:int}/scorecard.xlsx", include_in_schema=False)
def scorecard_xlsx(request: Request, conn: Conn, user: Viewer, plan_id: int, as_of: AsOf = None) -> Response:
    row = _plan_row(conn, plan_id)
    day = _as_of(as_of)
    plan, scores, names = scorecard(conn, row, user, day)
    if scores is None or not scores.totals.num_columns:
        raise HTTPException(404)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scorecard.xlsx"
        write_scorecard_xlsx(plan, scores, path, day, names)
        data = path.read_bytes()
    audit.record(
        conn, request, user, "pilots.scorecard_exported", f"pilot_plan/{plan_id}", {"as_of": day.isoformat()}
    )
    filename = f"scorecard-{plan.code}-{day.isoformat()}.xlsx"
    return Response(
        data, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )
