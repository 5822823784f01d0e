"""Insurance pages (城乡居民医保): datasets, the desk's claims, batch runs with the fund ledger,
statements per institution, village notices and the health-check list.

Officers and leaders see the whole county; a hospital user sees its own institution only (its
desk claims and its monthly statement). Every view of personal data (desk claims, notices, the
health-check list) and every change writes an audit record.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import anyio.to_thread
import sqlalchemy as sa
from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response

from shidian.platform import audit
from shidian.platform.access import can
from shidian.platform.accounts import User
from shidian.platform.db.insurance_schema import insurance_desk_claims, insurance_institutions
from shidian.platform.files import run_dir
from shidian.policy import reference_policy_names
from shidian.problems import Problem
from shidian.web.deps import Conn, check_csrf, require
from shidian.web.drg_api import TEXT
from shidian.web.insurance_datasets import import_insurance_dataset, list_insurance_datasets
from shidian.web.insurance_runs import (
    count_rows,
    get_insurance_run,
    list_insurance_runs,
    notice_files,
    read_csv,
    run_file,
    run_insurance_batch,
    statement_files,
)
from shidian.web.templating import render

router = APIRouter()
Viewer = Annotated[User, Depends(require("insurance.claims_view"))]
Officer = Annotated[User, Depends(require("insurance.import"))]
HEALTH_CHECK_ROWS = 100
RECENT_CLAIMS = 20


def _own(user: User) -> str | None:
    """The institution a hospital user is limited to; None for users who see the county."""
    return None if can(user, "insurance.view_all") else (user.hospital_id or "\x00")


def _desk_summary(conn: sa.Connection, user: User) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    claims, institutions = insurance_desk_claims, insurance_institutions
    own = _own(user)
    where = [claims.c.status == "paid"] + ([claims.c.institution_id == own] if own else [])
    by_institution = conn.execute(
        sa.select(
            claims.c.institution_id,
            sa.func.count().label("claims"),
            sa.func.sum(claims.c.reimbursement_fen).label("fen"),
        )
        .where(*where)
        .group_by(claims.c.institution_id)
        .order_by(claims.c.institution_id)
    ).mappings()
    summary = [
        {**r, "amount": f"{(Decimal(r['fen'] or 0) / 100).quantize(Decimal('0.01'))}"} for r in by_institution
    ]
    names = dict(conn.execute(sa.select(institutions.c.institution_id, institutions.c.name).distinct()).all())
    for row in summary:
        row["name"] = names.get(row["institution_id"], "")
    recent_query = sa.select(claims).order_by(claims.c.created_at.desc()).limit(RECENT_CLAIMS)
    if own:
        recent_query = recent_query.where(claims.c.institution_id == own)
    recent = [dict(r) for r in conn.execute(recent_query).mappings()]
    return summary, recent


def _overview(request: Request, conn: Conn, user: User, extra: dict[str, Any], status: int = 200) -> Response:
    summary, recent = _desk_summary(conn, user)
    if recent:
        audit.record(
            conn, request, user, "insurance.desk_view", None, {"claims": [r["claim_id"] for r in recent]}
        )
    context = {
        "datasets": list_insurance_datasets(conn) if can(user, "insurance.view_all") else [],
        "runs": list_insurance_runs(conn),
        "desk_summary": summary,
        "recent": recent,
        "policies": reference_policy_names("insurance"),
        "problems": [],
        **extra,
    }
    return render(request, "insurance/overview.html", context, status)


@router.get("/insurance", include_in_schema=False)
def overview(request: Request, conn: Conn, user: Viewer) -> Response:
    return _overview(request, conn, user, {})


@router.post("/insurance/imports", include_in_schema=False, dependencies=[Depends(check_csrf)])
async def import_dataset(
    request: Request,
    user: Officer,
    files: Annotated[list[UploadFile], File(description="persons, institutions, claims …")],
    name: Annotated[str, Form(max_length=200, pattern=TEXT)] = "",
    policy_id: Annotated[str, Form(max_length=64, pattern=r"^[a-z0-9-]+$")] = "county-2010",
) -> Response:
    uploads = [(u.filename or "", await u.read()) for u in files if u.filename]
    engine = request.app.state.engine
    var_dir = request.app.state.settings.var_dir

    def land() -> tuple[str | None, list[Problem]]:
        with engine.begin() as conn:
            dataset_id, problems = import_insurance_dataset(
                conn, var_dir, uploads, policy_id, name or "参合数据", user.id
            )
            if dataset_id is not None:
                files = [n for n, _ in uploads]
                audit.record(conn, request, user, "insurance.import", dataset_id, {"files": files})
        return dataset_id, problems

    dataset_id, problems = await anyio.to_thread.run_sync(land)  # checking a county takes seconds
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
    engine = request.app.state.engine
    try:
        run_id = run_insurance_batch(engine, request.app.state.settings.var_dir, dataset_id, user.id)
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    with engine.begin() as conn:
        audit.record(conn, request, user, "insurance.run", run_id, {"dataset_id": dataset_id})
    return RedirectResponse(f"/insurance/runs/{run_id}", status_code=303)


def _run_or_404(conn: sa.Connection, run_id: str) -> dict[str, Any]:
    run = get_insurance_run(conn, run_id) if len(run_id) == 32 and run_id.isalnum() else None
    if run is None:
        raise HTTPException(status_code=404, detail="结算不存在 (no such run)")
    return run


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
    run = _run_or_404(conn, run_id)
    var_dir = request.app.state.settings.var_dir
    folder = run_dir(var_dir, run_id)
    own = _own(user)
    settlement = read_csv(folder / "settlement.csv")
    if own:
        settlement = [r for r in settlement if r["institution_id"] == own]
    context: dict[str, Any] = {
        "run": run,
        "settlement": settlement,
        "own": own,
        "totals": run["totals"] or {},
    }
    if not own and run["status"] == "done":
        monthly = read_csv(folder / "ledger_monthly.csv")
        use_ratio = Decimal(context["totals"].get("use_ratio", "0"))
        context |= {
            "contributions": read_csv(folder / "ledger_contributions.csv"),
            "receipts": read_csv(folder / "ledger_receipts.csv"),  # none without a contributions file
            "reimbursements": read_csv(folder / "ledger_reimbursements.csv"),
            "monthly": monthly,
            "chart": _monthly_chart(monthly),
            "use_pct": f"{use_ratio * 100:.2f}%",
            "overspent": use_ratio > 1 or any(m["ahead"] == "1" for m in monthly),
            "overdrawn": any(m.get("overdrawn") == "1" for m in monthly),
            "statements": statement_files(var_dir, run_id),
            "notices": notice_files(var_dir, run_id),
            "villages": read_csv(folder / "notice_villages.csv"),
            "health_checks": read_csv(folder / "health_checks.csv", HEALTH_CHECK_ROWS),
            "health_check_count": count_rows(folder / "health_checks.csv"),
        }
        audit.record(conn, request, user, "insurance.run_view", run_id, {"health_checks": "listed"})
    else:
        context["statements"] = [s for s in statement_files(var_dir, run_id) if s == own]
    return render(request, "insurance/run.html", context)


@router.get("/insurance/runs/{run_id}/files/{name:path}", include_in_schema=False)
def run_file_download(request: Request, conn: Conn, user: Viewer, run_id: str, name: str) -> Response:
    _run_or_404(conn, run_id)
    own = _own(user)
    if own and name != f"statements/{own}.xlsx":
        raise HTTPException(status_code=403, detail="无权下载 (forbidden)")
    path = run_file(request.app.state.settings.var_dir, run_id, name)
    if path is None:
        raise HTTPException(status_code=404, detail="没有这个文件 (no such file)")
    audit.record(conn, request, user, "insurance.run_download", run_id, {"file": name})
    return FileResponse(path, filename=path.name)
