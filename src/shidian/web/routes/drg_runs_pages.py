"""DRG settlement runs (结算批次): start, follow, publish, correct, compare, download.

A run settles a dataset under a reference policy in the background (``app.state.executor``)
and is a draft until an officer publishes it; a published run is read-only, and a correction
is a new run naming the run it corrects (PRODUCT.md principle 4). Pages and the JSON API share
the same rules: officers, leaders and the pilot office see runs; hospital users do not.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, RedirectResponse, Response

from shidian.display import grouped
from shidian.drg.io import HOSPITALS
from shidian.money import MONEY_SQL_TYPE, D
from shidian.platform import audit
from shidian.platform.accounts import User
from shidian.platform.db.schema import users
from shidian.platform.files import dataset_dir, query, run_dir, sql_path
from shidian.platform.settings import Settings
from shidian.policy import reference_policy_names
from shidian.tables import find_table, read_table
from shidian.web.access_runs import visible_run
from shidian.web.deps import Conn, check_csrf, require
from shidian.web.drg_api import HEX_ID, RunCreate, RunOut, error_summary, run_out
from shidian.web.drg_runs import create_run, get_run, list_datasets, list_runs, publish_run
from shidian.web.errors import responses as error_responses
from shidian.web.templating import gettext as _
from shidian.web.templating import render

router = APIRouter()
Viewer = Annotated[User, Depends(require("drg.view_all"))]
Runner = Annotated[User, Depends(require("drg.run"))]
Publisher = Annotated[User, Depends(require("drg.publish"))]
RunIdPath = Annotated[str, PathParam(pattern=HEX_ID, description="结算批次编号 (run id)")]

FINISHED = ("draft", "published", "failed")
#: The files of a run that may be downloaded, with their media types (docs/drg-outputs.md).
RUN_FILES = {
    "report.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "annual.csv": "text/csv; charset=utf-8",
    "monthly.csv": "text/csv; charset=utf-8",
    "monthly_payments.csv": "text/csv; charset=utf-8",
    "case_points.csv": "text/csv; charset=utf-8",
    "drg_standards.csv": "text/csv; charset=utf-8",
    "coefficients.csv": "text/csv; charset=utf-8",
    "warnings.csv": "text/csv; charset=utf-8",
    "run.json": "application/json",
}


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
)
#: Totals shown as written, never as numbers.
TEXT_TOTALS = frozenset({"year"})
_ID = re.compile(HEX_ID)


# ---- shared helpers -----------------------------------------------------------------------------


def _number(value: object) -> Decimal | None:
    try:
        return D(value) if isinstance(value, str | int | Decimal) and value != "" else None
    except (InvalidOperation, TypeError, ValueError):
        return None


def _fmt(value: object) -> str:
    """A total for display: exact digits with thousands separators (no float on the way)."""
    number = _number(value)
    if number is None:
        return "" if value is None else str(value)
    return grouped(number)


def _totals_rows(totals: dict[str, str] | None) -> list[dict[str, str]]:
    totals = totals or {}
    known = dict(TOTALS)
    keys = [k for k, _label in TOTALS if k in totals] + sorted(k for k in totals if k not in known)
    return [
        {
            "key": k,
            "label": _(known[k]) if k in known else k,
            "value": totals[k] if k in TEXT_TOTALS else _fmt(totals[k]),
        }
        for k in keys
    ]


def _run_or_404(conn: sa.Connection, run_id: str) -> dict[str, Any]:
    run = get_run(conn, run_id) if _ID.match(run_id) else None
    if run is None:
        raise HTTPException(status_code=404, detail="结算不存在 (no such run)")
    return run


def _user_names(conn: sa.Connection) -> dict[int, str]:
    return {row.id: row.display_name for row in conn.execute(sa.select(users.c.id, users.c.display_name))}


def _start_run(
    request: Request,
    user: User,
    dataset_id: str,
    policy_id: str,
    corrects: str | None,
    note: str | None,
) -> str:
    """Create the run (with its audit record) in one committed transaction, then queue it.

    The executor reads the run from its own connection, so the row must be committed first.
    Raises ValueError with a message for the user when the request cannot start a run.
    """
    if policy_id not in reference_policy_names("drg"):
        raise ValueError(f"未知的政策 {policy_id!r} (unknown policy)")
    if not _ID.match(dataset_id):
        raise ValueError("数据集不存在 (no such dataset)")
    if corrects is not None and not _ID.match(corrects):
        raise ValueError("只能更正已发布的结算 (only a published run can be corrected)")
    engine: sa.Engine = request.app.state.engine
    with engine.begin() as tx:
        run_id = create_run(tx, dataset_id, policy_id, user.id, corrects, note or None)
        audit.record(
            tx,
            request,
            user,
            "drg.run_started",
            run_id,
            {"dataset_id": dataset_id, "policy_id": policy_id, "corrects_run_id": corrects},
        )
    request.app.state.executor.submit(run_id)
    return run_id


def _publish(request: Request, conn: sa.Connection, user: User, run_id: str) -> None:
    run = _run_or_404(conn, run_id)
    try:
        publish_run(conn, run_id, user.id)
    except ValueError:
        raise HTTPException(
            status_code=409,
            detail=f"只有草稿状态的结算可以发布, 此结算为 {run['status']} (only a draft can be published)",
        ) from None
    audit.record(
        conn, request, user, "drg.run_published", run_id, {"corrects_run_id": run["corrects_run_id"]}
    )


# ---- pages --------------------------------------------------------------------------------------


def _runs_page(
    request: Request, conn: sa.Connection, error: str | None = None, status: int = 200
) -> Response:
    all_runs = list_runs(conn)
    datasets = list_datasets(conn)
    return render(
        request,
        "drg/runs.html",
        {
            "runs": all_runs,
            "datasets": datasets,
            "dataset_names": {d["id"]: d["name"] for d in datasets},
            "published": [r for r in all_runs if r["status"] == "published"],
            "policies": reference_policy_names("drg"),
            "names": _user_names(conn),
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
    try:
        run_id = _start_run(
            request, user, dataset_id, policy_id, corrects_run_id or None, note.replace("\x00", "").strip()
        )
    except ValueError as exc:
        return _runs_page(request, conn, str(exc), 422)
    return RedirectResponse(f"/drg/runs/{run_id}", status_code=303)


@router.get("/drg/runs/{run_id}", include_in_schema=False)
def run_page(request: Request, conn: Conn, user: Viewer, run_id: str) -> Response:
    run = _run_or_404(conn, run_id)
    settings: Settings = request.app.state.settings
    folder = run_dir(settings.var_dir, run_id)
    files = [n for n in RUN_FILES if run["status"] in ("draft", "published") and (folder / n).is_file()]
    corrected_by = [r for r in list_runs(conn) if r["corrects_run_id"] == run_id]
    datasets = list_datasets(conn)
    return render(
        request,
        "drg/run.html",
        {
            "run": run,
            "error_summary": error_summary(run["error"]),
            "totals": _totals_rows(run["totals"]),
            "files": files,
            "corrected_by": corrected_by,
            "datasets": datasets,
            "dataset_names": {d["id"]: d["name"] for d in datasets},
            "policies": reference_policy_names("drg"),
            "names": _user_names(conn),
        },
    )


@router.get("/drg/runs/{run_id}/status", include_in_schema=False)
def run_status(request: Request, conn: Conn, user: Viewer, run_id: str) -> Response:
    """The progress partial; polled every second while the run is queued or running."""
    run = _run_or_404(conn, run_id)
    response = render(
        request, "drg/_run_status.html", {"run": run, "error_summary": error_summary(run["error"])}
    )
    if run["status"] in FINISHED and request.headers.get("HX-Request"):
        response.headers["HX-Refresh"] = "true"  # show totals, checks and files of the finished run
    return response


@router.get("/drg/runs/{run_id}/files/{name}", include_in_schema=False)
def run_file(request: Request, conn: Conn, user: Viewer, run_id: str, name: str) -> Response:
    if name not in RUN_FILES or not _ID.match(run_id):
        raise HTTPException(status_code=404, detail="没有这个文件 (no such file)")
    run = visible_run(conn, user, run_id)
    settings: Settings = request.app.state.settings
    path = run_dir(settings.var_dir, run["id"]) / name
    if not path.is_file():
        raise HTTPException(status_code=404, detail="没有这个文件 (no such file)")
    audit.record(conn, request, user, "drg.run_downloaded", run_id, {"file": name})
    return FileResponse(path, media_type=RUN_FILES[name], filename=f"drg-{run['year']}-{run_id[:8]}-{name}")


@router.post("/drg/runs/{run_id}/publish", include_in_schema=False, dependencies=[Depends(check_csrf)])
def publish_form(request: Request, conn: Conn, user: Publisher, run_id: str) -> Response:
    _publish(request, conn, user, run_id)
    return RedirectResponse(f"/drg/runs/{run_id}", status_code=303)


def _hospital_names(settings: Settings, *dataset_ids: str) -> dict[str, str]:
    names: dict[str, str] = {}
    for dataset_id in dataset_ids:
        path = find_table(dataset_dir(settings.var_dir, dataset_id), HOSPITALS.name)
        table = read_table(path, HOSPITALS)[0] if path is not None else None
        if table is not None:
            names.update(
                zip(table.column("hospital_id").to_pylist(), table.column("name").to_pylist(), strict=True)
            )
    return names


def _compare_hospitals(settings: Settings, a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """Per hospital: entitlement and settlement of A and B, and B − A (exact decimals, DuckDB)."""
    paths = [sql_path(run_dir(settings.var_dir, r["id"]) / "annual.csv") for r in (a, b)]
    side = (
        "SELECT hospital_id, CAST(entitlement AS {t}) AS e, CAST(settlement AS {t}) AS s "
        "FROM read_csv({path}, header = true, all_varchar = true)"
    )
    rows = query(
        f"""
        WITH a AS ({side.format(t=MONEY_SQL_TYPE, path=paths[0])}),
             b AS ({side.format(t=MONEY_SQL_TYPE, path=paths[1])})
        SELECT coalesce(a.hospital_id, b.hospital_id) AS hospital_id,
               a.e AS entitlement_a, b.e AS entitlement_b, b.e - a.e AS entitlement_diff,
               a.s AS settlement_a, b.s AS settlement_b, b.s - a.s AS settlement_diff
        FROM a FULL OUTER JOIN b ON a.hospital_id = b.hospital_id
        ORDER BY 1
        """
    )
    names = _hospital_names(settings, a["dataset_id"], b["dataset_id"])
    for row in rows:
        row["name"] = names.get(row["hospital_id"], "")
    return rows


@router.get("/drg/compare", include_in_schema=False)
def compare_page(
    request: Request, conn: Conn, user: Viewer, a: str | None = None, b: str | None = None
) -> Response:
    """Two runs side by side: totals, and per hospital entitlement and settlement."""
    settings: Settings = request.app.state.settings
    choices = [r for r in list_runs(conn) if r["status"] in ("draft", "published")]
    context: dict[str, Any] = {"choices": choices, "a": None, "b": None, "selected": (a or "", b or "")}
    if a and b:
        for run_id in (a, b):
            if not _ID.match(run_id):
                raise HTTPException(status_code=404, detail="结算不存在 (no such run)")
        run_a, run_b = visible_run(conn, user, a), visible_run(conn, user, b)
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
                {"label": row["label"], "a": _fmt(totals_a.get(key)), "b": _fmt(totals_b.get(key)),
                 "diff": _fmt(vb - va) if va is not None and vb is not None else ""}
            )  # fmt: skip
        hospitals = _compare_hospitals(settings, run_a, run_b)
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


# ---- API ----------------------------------------------------------------------------------------


@router.get("/api/drg/runs", response_model=list[RunOut], responses=error_responses(401, 403))
def api_runs(conn: Conn, user: Viewer) -> list[RunOut]:
    """Every DRG settlement run, newest first, drafts included."""
    return [run_out(r) for r in list_runs(conn)]


@router.post(
    "/api/drg/runs",
    status_code=201,
    response_model=RunOut,
    responses=error_responses(400, 401, 403, 422),
    dependencies=[Depends(check_csrf)],
)
def api_start_run(request: Request, conn: Conn, user: Runner, body: RunCreate) -> RunOut:
    """Start a run; it is queued, then runs in the background. Poll ``GET /api/drg/runs/{id}``."""
    try:
        run_id = _start_run(request, user, body.dataset_id, body.policy_id, body.corrects_run_id, body.note)
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    return run_out(_run_or_404(conn, run_id))


@router.get("/api/drg/runs/{run_id}", response_model=RunOut, responses=error_responses(401, 403, 404, 422))
def api_run(conn: Conn, user: Viewer, run_id: RunIdPath) -> RunOut:
    """One run, in any state: queued, running, draft, published or failed."""
    return run_out(_run_or_404(conn, run_id))


@router.post(
    "/api/drg/runs/{run_id}/publish",
    response_model=RunOut,
    responses=error_responses(401, 403, 404, 409, 422),
    dependencies=[Depends(check_csrf)],
)
def api_publish(request: Request, conn: Conn, user: Publisher, run_id: RunIdPath) -> RunOut:
    """Publish a draft; a published run is read-only, so publishing anything else is a 409."""
    _publish(request, conn, user, run_id)
    return run_out(_run_or_404(conn, run_id))
