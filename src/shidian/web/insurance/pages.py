"""Insurance pages (城乡居民医保): datasets, the desk's claims, batch runs with the fund ledger,
statements per institution, village notices and the health-check list.

Officers and leaders see the whole county; a hospital user sees its own institution only (its
desk claims and its monthly statement). Thin routes: each parses, calls one service
(``shidian.insurance.service``, which checks scope and writes the audit record) and renders.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response

from shidian.display import percent
from shidian.insurance.model import CATEGORY_LABELS
from shidian.insurance.service.datasets import import_dataset
from shidian.insurance.service.overview import overview as insurance_overview
from shidian.insurance.service.runs import run_dataset, run_download, view_run
from shidian.platform.accounts import User
from shidian.web.deps import Conn, check_csrf, client_of, require
from shidian.web.paging import matches, paginate
from shidian.web.templating import render

router = APIRouter()
Viewer = Annotated[User, Depends(require("insurance.claims_view"))]
Officer = Annotated[User, Depends(require("insurance.import"))]
#: Free text of a form field: anything but NUL.
TEXT = r"^[^\x00]*$"


def _overview(request: Request, conn: Conn, user: User, extra: dict[str, Any], status: int = 200) -> Response:
    context = {
        **insurance_overview(conn, user, client_of(request), request.app.state.settings.var_dir),
        "problems": [],
        **extra,
    }
    return render(request, "insurance/overview.html", context, status)


@router.get("/insurance", include_in_schema=False)
def overview(request: Request, conn: Conn, user: Viewer) -> Response:
    return _overview(request, conn, user, {})


@router.post("/insurance/imports", include_in_schema=False, dependencies=[Depends(check_csrf)])
def import_upload(
    request: Request,
    user: Officer,
    files: Annotated[list[UploadFile], File(description="persons, institutions, claims …")],
    name: Annotated[str, Form(max_length=200, pattern=TEXT)] = "",
    policy_id: Annotated[str, Form(max_length=64, pattern=r"^[a-z0-9-]+$")] = "county-2010",
) -> Response:
    # a sync route: reading the files, checking the county (seconds) and the page run in the thread pool
    uploads = [(u.filename or "", u.file.read()) for u in files if u.filename]
    engine = request.app.state.engine
    var_dir = request.app.state.settings.var_dir
    # an import job: one at a time across the server's processes (409 job.busy otherwise)
    dataset_id, problems = import_dataset(
        engine, user, var_dir, uploads, policy_id, name or "参合数据", client_of(request)
    )
    if dataset_id is None:
        with engine.begin() as conn:
            return _overview(request, conn, user, {"problems": problems}, 422)
    return RedirectResponse(f"/insurance?imported={dataset_id}", status_code=303)


@router.post("/insurance/runs", include_in_schema=False, dependencies=[Depends(check_csrf)])
def start_run(
    request: Request,
    user: Officer,
    dataset_id: Annotated[str, Form(pattern=r"^[0-9a-f]{32}$")],
) -> Response:
    settings = request.app.state.settings
    run_id = run_dataset(request.app.state.engine, user, settings.var_dir, dataset_id, client_of(request))
    return RedirectResponse(f"/insurance/runs/{run_id}", status_code=303)


def _monthly_chart(monthly: list[dict[str, str]]) -> dict[str, Any]:
    months = [f"{int(m['month'])}月" for m in monthly]
    received = any(m.get("received_to_date") for m in monthly)  # a contributions file was given
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"data": ["累计补偿支出", "收入按月均摊", *(["累计到账筹资"] if received else [])]},
        # the axis labels inside the chart: a county's millions would be cut at the left edge
        "grid": {"left": 16, "right": 24, "containLabel": True},
        "xAxis": {"type": "category", "data": months},
        "yAxis": {"type": "value", "name": "元"},
        "series": [
            {"name": "累计补偿支出", "type": "bar", "data": [m["cumulative"] for m in monthly]},
            {"name": "收入按月均摊", "type": "line", "data": [m["pace_limit"] for m in monthly]},
            *(
                [{"name": "累计到账筹资", "type": "line", "data": [m["received_to_date"] for m in monthly]}]
                if received
                else []
            ),
        ],
    }


@router.get("/insurance/runs/{run_id}", include_in_schema=False)
def run_page(request: Request, conn: Conn, user: Viewer, run_id: str) -> Response:
    var_dir = request.app.state.settings.var_dir
    context = view_run(conn, user, var_dir, run_id, client_of(request))
    if "monthly" in context:
        context["chart"] = _monthly_chart(context["monthly"])
        context["use_pct"] = percent(context["use_ratio"])
        for pool in context["pools"]:
            pool["use_pct"] = percent(Decimal(pool["use_ratio"])) if pool["use_ratio"] else ""
    settlement = context["settlement"]
    keep = matches(request, "st", {"institution": "institution_id", "month": "month"})
    context["statements_page"] = paginate(
        request,
        settlement,
        name="st",
        keep=keep,
        sortable=(*STATEMENT_MONEY, "institution_id", "month", "claims"),
    )
    kept = [r for r in settlement if keep(r)]
    context["statement_totals"] = {
        key: sum((Decimal(r[key]) for r in kept if r.get(key)), Decimal(0))
        for key in (*STATEMENT_MONEY, "claims")
    }
    context["statement_institutions"] = sorted({r["institution_id"] for r in settlement})
    if "health_checks" in context:
        context["health_page"] = paginate(
            request,
            context["health_checks"],
            name="hc",
            keep=matches(request, "hc", {"village": "village_code", "category": "category"}),
            sortable=("person_id", "name", "village_code", "category"),
            per_page=100,
        )
        context["category_labels"] = CATEGORY_LABELS
        context["village_names"] = {v["village_code"]: v["village_name"] for v in context["villages"]}
    return render(request, "insurance/run.html", context)


#: The money columns of the statements table (each has a total).
STATEMENT_MONEY = ("advanced", "rejected_amount", "catalogue_deduction", "payable")


@router.get("/insurance/runs/{run_id}/files/{name:path}", include_in_schema=False)
def run_file_download(request: Request, conn: Conn, user: Viewer, run_id: str, name: str) -> Response:
    path = run_download(conn, user, request.app.state.settings.var_dir, run_id, name, client_of(request))
    return FileResponse(path, filename=path.name)
