"""DRG settlement run pages (结算批次): start, follow, publish, correct, compare, download.

A run settles a dataset under a reference policy in the background (``app.state.executor``,
``shidian.platform.jobs``) and is a draft until an officer publishes it; a published run is
read-only, and a correction is a new run naming the run it corrects (PRODUCT.md principle 4).
Officers, leaders and the pilot office see runs; hospital users do not. The JSON API of the
same workflows is ``shidian.web.drg.api``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from shidian.display import cell
from shidian.display import number as format_number
from shidian.drg import store
from shidian.drg.service import publish_run, start_run
from shidian.drg.service.results import RUN_FILES, any_run, compare_runs, run_file
from shidian.drg.service.runs import error_summary, run_problems
from shidian.money import D
from shidian.platform.accounts import User
from shidian.platform.files import run_dir
from shidian.platform.settings import Settings
from shidian.policy import reference_policy_names
from shidian.problems import Refused
from shidian.web.deps import Conn, check_csrf, client_of, require
from shidian.web.templating import gettext as _
from shidian.web.templating import render

router = APIRouter()
Viewer = Annotated[User, Depends(require("drg.view_all"))]
Runner = Annotated[User, Depends(require("drg.run"))]
Publisher = Annotated[User, Depends(require("drg.publish"))]

FINISHED = ("draft", "published", "failed")
#: The media types of the files of a run that may be downloaded (docs/drg-outputs.md).
MEDIA_TYPES = {
    "report.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "run.json": "application/json",
}
CSV = "text/csv; charset=utf-8"


def N_(message: str) -> str:
    """Mark a message for extraction (pybabel); it is translated where it is shown."""
    return message


#: Run totals in display order, with their (English message id) labels.
TOTALS = (
    ("year", N_("Year")),
    ("drg_budget", N_("DRG budget (yuan)")),
    ("cases", N_("Cases")),
    ("normal", N_("Normal cases")),
    ("high", N_("High-ratio cases")),
    ("low", N_("Low-ratio cases")),
    ("whole_group", N_("Whole-group review cases")),
    ("year_end_grouping", N_("Cases grouped at the year end")),
    ("total_cost", N_("Total medical cost (yuan)")),
    ("fund_paid", N_("Paid by the pooled fund (yuan)")),
    ("final_points", N_("Points")),
    ("year_point_value", N_("Year point value (yuan)")),
    ("entitlement", N_("Entitlement (yuan)")),
    ("monthly_paid", N_("Paid monthly (yuan)")),
    ("settlement", N_("Year-end settlement (yuan)")),
    ("surplus_cut", N_("Surplus cut (yuan)")),
    ("self_pay_cut", N_("Self-pay cut (yuan)")),
    ("reference_cases", N_("Reference cases")),
    ("reference_cost", N_("Reference cost (yuan)")),
    ("drg_budget_source", N_("DRG budget source")),
)
#: Totals shown as written, never as numbers.
TEXT_TOTALS = frozenset({"year"})
#: Coded totals and their values' labels (English message ids): where the DRG budget came from
#: (given in settlement.toml, or from the fund's budget lines: docs/drg.md).
CODED_TOTALS = {"drg_budget_source": {"given": N_("as given"), "fund": N_("from the fund's budget lines")}}


# ---- shared helpers -----------------------------------------------------------------------------


def _number(value: object) -> Decimal | None:
    try:
        return D(value) if isinstance(value, str | int | Decimal) and value != "" else None
    except (InvalidOperation, TypeError, ValueError):
        return None


#: Totals that are counts of cases (whole numbers with separators).
COUNT_TOTALS = frozenset(
    {"cases", "normal", "high", "low", "whole_group", "year_end_grouping", "reference_cases"}
)


def _fmt(value: object, key: str = "amount") -> str:
    """A total for display through ``shidian.display``: yuan at the fen, points to 2 decimals,
    a point value to 4, counts as whole numbers; the exact digits stay in run.json."""
    number = _number(value)
    if number is None:
        return "" if value is None else str(value)
    return format_number(number) if key in COUNT_TOTALS else cell(key, number)


def _totals_rows(totals: dict[str, str] | None) -> list[dict[str, str]]:
    totals = totals or {}
    known = dict(TOTALS)
    keys = [k for k, _label in TOTALS if k in totals] + sorted(k for k in totals if k not in known)
    return [
        {
            "key": k,
            "label": _(known[k]) if k in known else k,
            "value": (
                totals[k]
                if k in TEXT_TOTALS
                else _(CODED_TOTALS[k].get(str(totals[k]), str(totals[k])))
                if k in CODED_TOTALS
                else _fmt(totals[k], k)
            ),
        }
        for k in keys
    ]


# ---- pages --------------------------------------------------------------------------------------


def _runs_page(request: Request, conn: Conn, error: str | None = None, status: int = 200) -> Response:
    all_runs = store.list_runs(conn)
    datasets = store.list_datasets(conn)
    return render(
        request,
        "drg/runs.html",
        {
            "runs": all_runs,
            "datasets": datasets,
            "dataset_names": {d["id"]: d["name"] for d in datasets},
            "published": [r for r in all_runs if r["status"] == "published"],
            "policies": reference_policy_names("drg"),
            "names": store.user_names(conn),
            "error": error,
        },
        status,
    )


@router.get("/drg/runs", include_in_schema=False)
def runs_page(request: Request, conn: Conn, user: Viewer) -> Response:
    return _runs_page(request, conn)


@router.post("/drg/runs", include_in_schema=False, dependencies=[Depends(check_csrf)])
def start_run_form(
    request: Request,
    conn: Conn,
    user: Runner,
    dataset_id: Annotated[str, Form()],
    policy_id: Annotated[str, Form()],
    corrects_run_id: Annotated[str, Form()] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    note = note.replace("\x00", "").strip()
    try:
        with request.app.state.engine.begin() as tx:  # committed before the job reads it
            run_id = start_run(
                tx, user, dataset_id, policy_id, corrects_run_id or None, note, client_of(request)
            )
    except Refused as refused:
        if refused.reason != "invalid":
            raise
        return _runs_page(request, conn, "；".join(p.message for p in refused.problems), 422)
    request.app.state.executor.submit(run_id)
    return RedirectResponse(f"/drg/runs/{run_id}", status_code=303)


@router.get("/drg/runs/{run_id}", include_in_schema=False)
def run_page(request: Request, conn: Conn, user: Viewer, run_id: str) -> Response:
    run = any_run(conn, run_id)
    settings: Settings = request.app.state.settings
    folder = run_dir(settings.var_dir, run_id)
    files = [n for n in RUN_FILES if run["status"] in ("draft", "published") and (folder / n).is_file()]
    corrected_by = [r for r in store.list_runs(conn) if r["corrects_run_id"] == run_id]
    datasets = store.list_datasets(conn)
    return render(
        request,
        "drg/run.html",
        {
            "run": run,
            "error_summary": error_summary(run["error"]),
            "problems": run_problems(run["error"]),
            "totals": _totals_rows(run["totals"]),
            "files": files,
            "corrected_by": corrected_by,
            "datasets": datasets,
            "dataset_names": {d["id"]: d["name"] for d in datasets},
            "policies": reference_policy_names("drg"),
            "names": store.user_names(conn),
            # a draft of a year with a published run must name the run it corrects (issue 19)
            "year_published": [r for r in store.published_of_year(conn, run["year"]) if r["id"] != run_id],
        },
    )


@router.get("/drg/runs/{run_id}/status", include_in_schema=False)
def run_status(request: Request, conn: Conn, user: Viewer, run_id: str) -> Response:
    """The progress partial; polled every second while the run is queued or running."""
    run = any_run(conn, run_id)
    context = {
        "run": run,
        "error_summary": error_summary(run["error"]),
        "problems": run_problems(run["error"]),
    }
    response = render(request, "drg/_run_status.html", context)
    if run["status"] in FINISHED and request.headers.get("HX-Request"):
        response.headers["HX-Refresh"] = "true"  # show totals, checks and files of the finished run
    return response


@router.get("/drg/runs/{run_id}/files/{name}", include_in_schema=False)
def run_file_download(request: Request, conn: Conn, user: Viewer, run_id: str, name: str) -> Response:
    settings: Settings = request.app.state.settings
    run, path = run_file(conn, user, settings.var_dir, run_id, name, client_of(request))
    media_type = MEDIA_TYPES.get(name, CSV)
    return FileResponse(path, media_type=media_type, filename=f"drg-{run['year']}-{run_id[:8]}-{name}")


@router.post("/drg/runs/{run_id}/publish", include_in_schema=False, dependencies=[Depends(check_csrf)])
def publish_form(
    request: Request,
    conn: Conn,
    user: Publisher,
    run_id: str,
    corrects_run_id: Annotated[str, Form(max_length=32, pattern=r"^[0-9a-f]*$")] = "",
    reason: Annotated[str, Form(max_length=2000, pattern=r"^[^\x00]*$")] = "",
) -> Response:
    publish_run(conn, user, run_id, client_of(request), corrects_run_id or None, reason)
    return RedirectResponse(f"/drg/runs/{run_id}", status_code=303)


@router.get("/drg/compare", include_in_schema=False)
def compare_page(
    request: Request, conn: Conn, user: Viewer, a: str | None = None, b: str | None = None
) -> Response:
    """Two runs side by side: totals, and per hospital entitlement and settlement."""
    settings: Settings = request.app.state.settings
    choices = [r for r in store.list_runs(conn) if r["status"] in ("draft", "published")]
    context: dict[str, Any] = {"choices": choices, "a": None, "b": None, "selected": (a or "", b or "")}
    if a and b:
        run_a, run_b, hospitals = compare_runs(conn, user, settings.var_dir, a, b)
        totals_a, totals_b = run_a["totals"] or {}, run_b["totals"] or {}
        totals = []
        for row in _totals_rows({**totals_b, **totals_a}):
            key = row["key"]
            if key in TEXT_TOTALS:
                totals.append(
                    {
                        "label": row["label"],
                        "a": totals_a.get(key, ""),
                        "b": totals_b.get(key, ""),
                        "diff": "",
                    }
                )
                continue
            va, vb = _number(totals_a.get(key)), _number(totals_b.get(key))
            totals.append(
                {"label": row["label"], "a": _fmt(totals_a.get(key), key), "b": _fmt(totals_b.get(key), key),
                 "diff": _fmt(vb - va, key) if va is not None and vb is not None else ""}
            )  # fmt: skip
        chart = {
            "tooltip": {"trigger": "axis"},
            "legend": {},
            "xAxis": {"type": "category", "data": [h["name"] or h["hospital_id"] for h in hospitals]},
            "yAxis": {"type": "value"},
            "series": [
                {"name": "A", "type": "bar", "data": [str(h["settlement_a"] or 0) for h in hospitals]},
                {"name": "B", "type": "bar", "data": [str(h["settlement_b"] or 0) for h in hospitals]},
            ],
        }
        context.update(a=run_a, b=run_b, totals=totals, hospitals=hospitals, chart=chart, fmt=_fmt)
    return render(request, "drg/compare.html", context)
