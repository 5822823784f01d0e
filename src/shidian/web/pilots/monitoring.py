"""Monitoring and score-card pages (目标监测 / 考核评分) of a loaded plan.

``/pilots/plans/{id}/monitoring``: attainment of every target per unit in red-yellow-green with
a chart, drilling down from the top visible units (county) to their children (township …);
``/pilots/plans/{id}/scorecard``: scores and ranking, and ``scorecard.xlsx`` in the officials'
layout. Both read the plan's approved (locked) reports only.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from shidian.pilots.model import STATUS_LABELS, STATUSES
from shidian.pilots.service import monitoring as service
from shidian.platform.accounts import User
from shidian.platform.clock import today
from shidian.web.deps import Conn, client_of, require
from shidian.web.pilots.views import ranking_chart, status_chart
from shidian.web.templating import render

router = APIRouter()
Viewer = Annotated[User, Depends(require("pilots.plans.view"))]
AsOf = Annotated[str | None, Query(max_length=10, pattern=r"^\d{4}-\d{2}-\d{2}$")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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
    day = _as_of(as_of)
    mon = service.monitoring(conn, user, plan_id, day, unit)
    focus = mon.focus
    populations = {p.code: p.name for p in mon.plan.populations}  # 人群 by name, not code
    focus_rows = [
        {**r, "population": populations.get(r["population"], r["population"]) if r["population"] else None}
        for r in mon.rows
        if focus is not None and r["unit_code"] == focus.code
    ]
    return render(
        request,
        "pilots/monitoring.html",
        {
            "plan_row": mon.plan_row,
            "plan": mon.plan,
            "as_of": day.isoformat(),
            "focus": focus,
            "trail": mon.trail,
            "focus_rows": focus_rows,
            "summaries": mon.summaries,
            "counts": service.status_counts(mon.rows),
            "statuses": [(s, STATUS_LABELS[s]) for s in STATUSES],
            "has_values": mon.has_values,
            "chart": status_chart(mon.summaries),
        },
    )


@router.get("/pilots/plans/{plan_id:int}/scorecard", include_in_schema=False)
def scorecard_page(request: Request, conn: Conn, user: Viewer, plan_id: int, as_of: AsOf = None) -> Response:
    day = _as_of(as_of)
    card = service.scorecard(conn, user, plan_id, day)
    scores = card.scores
    totals = scores.totals.to_pylist() if scores is not None and scores.totals.num_columns else []
    items: dict[str, dict[int, Any]] = {}
    if scores is not None and scores.items.num_columns:
        for item in scores.items.to_pylist():
            items.setdefault(item["unit_code"], {})[item["item"]] = item
    return render(
        request,
        "pilots/scorecard.html",
        {
            "plan_row": card.plan_row,
            "plan": card.plan,
            "as_of": day.isoformat(),
            "totals": totals,
            "items": items,
            "names": card.names,
            "card": card.plan.scorecard,
            "chart": ranking_chart(totals, card.names),
        },
    )


@router.get("/pilots/plans/{plan_id:int}/scorecard.xlsx", include_in_schema=False)
def scorecard_xlsx(request: Request, conn: Conn, user: Viewer, plan_id: int, as_of: AsOf = None) -> Response:
    data, filename = service.export_scorecard(conn, user, plan_id, _as_of(as_of), client_of(request))
    return Response(
        data, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )
