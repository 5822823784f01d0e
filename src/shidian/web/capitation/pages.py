"""医共体按人头总额预付 pages: settle a year (from uploaded files, or with the spending of a
resident-insurance run), publish or correct a run, read it, record prepayments paid, and run the
public-health and primary-care money (002 篇四).

The insurance bureau settles, publishes and records payments; leaders and the pilot office read
every run; a member institution reads the published runs of its own 医共体 only. Each route
calls one ``shidian.capitation.service`` workflow.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from shidian.capitation import service
from shidian.capitation.model import TIER_LABELS
from shidian.capitation.payments import Payment
from shidian.capitation.policy import POLICIES, PRIMARY_CARE_POLICIES
from shidian.platform.access import can
from shidian.platform.accounts import User
from shidian.platform.clock import today
from shidian.problems import Problem, Refused, request_problem
from shidian.web.deps import Conn, check_csrf, client_of, require
from shidian.web.fields import read_uploads
from shidian.web.templating import render

router = APIRouter()
Viewer = Annotated[User, Depends(require("capitation.view"))]
Settler = Annotated[User, Depends(require("capitation.settle"))]
Uploads = Annotated[list[UploadFile] | None, File(description="fund.toml 与输入表 (.csv/.xlsx)")]
MAX_UPLOAD_BYTES = 50 << 20
HexId = Annotated[str, Form(max_length=32, pattern=r"^[0-9a-f]*$")]
Text = Annotated[str, Form(max_length=2000, pattern=r"^[^\x00]*$")]


def _var_dir(request: Request) -> Any:
    return request.app.state.settings.var_dir


def _index(request: Request, conn: Conn, user: User, problems: list[Any], status_code: int = 200) -> Response:
    settler = can(user, "capitation.settle")
    context = {
        "runs": service.overview(conn, user),
        "policies": POLICIES.names() if settler else [],
        "insurance_runs": service.insurance_runs(conn, user) if settler else [],
        "problems": problems,
    }
    return render(request, "capitation/index.html", context, status_code=status_code)


@router.get("/capitation", include_in_schema=False)
def capitation_index(request: Request, conn: Conn, user: Viewer) -> Response:
    return _index(request, conn, user, [])


@router.post("/capitation/settle", include_in_schema=False, dependencies=[Depends(check_csrf)])
def capitation_settle(
    request: Request,
    conn: Conn,
    user: Settler,
    policy: Annotated[str, Form(max_length=100)],
    files: Uploads = None,
    claims_run_id: HexId = "",
) -> Response:
    # a sync route: the settlement (seconds), the page and its queries run in the thread pool
    uploads = read_uploads(files, MAX_UPLOAD_BYTES)
    run_id, problems = service.settle_uploads(
        request.app.state.engine,
        user,
        _var_dir(request),
        policy,
        uploads,
        client_of(request),
        claims_run_id or None,
    )
    if run_id is None:
        return _index(request, conn, user, problems, status_code=422)
    return RedirectResponse(f"/capitation/runs/{run_id}", status_code=303)


@router.get("/capitation/runs/{run_id}", include_in_schema=False)
def capitation_run(request: Request, conn: Conn, user: Viewer, run_id: str) -> Response:
    view = service.run_view(conn, user, _var_dir(request), run_id)
    context = {
        "view": view,
        "chart": chart(view),
        "names": service.user_names(conn),
        "error_summary": service.error_summary(view.row["error"]),
        "problems": service.run_problems(view.row["error"]),
        "overdue": [p for p in view.paid if p.overdue],
        "tier_labels": TIER_LABELS,
    }
    return render(request, "capitation/run.html", context)


@router.post("/capitation/runs/{run_id}/publish", include_in_schema=False, dependencies=[Depends(check_csrf)])
def capitation_publish(
    request: Request,
    conn: Conn,
    user: Settler,
    run_id: str,
    corrects_run_id: HexId = "",
    reason: Text = "",
) -> Response:
    service.publish_run(conn, user, run_id, corrects_run_id or None, reason, client_of(request))
    return RedirectResponse(f"/capitation/runs/{run_id}", status_code=303)


def _prepayments(
    request: Request,
    conn: Conn,
    user: User,
    run_id: str,
    problems: list[Problem],
    form: dict[str, str],
    status_code: int = 200,
) -> Response:
    view = service.run_view(conn, user, _var_dir(request), run_id)
    context = {
        "view": view,
        "problems": problems,
        "form": form,
        "today": today().isoformat(),
        "communities": sorted({p.community_id for p in view.prepayments}),
        "totals": {
            "due": sum((p.due for p in view.paid), Decimal(0)),
            "paid": sum((p.paid for p in view.paid), Decimal(0)),
            "outstanding": sum((max(p.outstanding, Decimal(0)) for p in view.paid), Decimal(0)),
        },
    }
    return render(request, "capitation/prepayments.html", context, status_code=status_code)


@router.get("/capitation/runs/{run_id}/prepayments", include_in_schema=False)
def capitation_prepayments(request: Request, conn: Conn, user: Viewer, run_id: str) -> Response:
    """Each quarterly prepayment due beside what was paid, overdue ones marked; the bureau's form."""
    return _prepayments(request, conn, user, run_id, [], {})


@router.post(
    "/capitation/runs/{run_id}/prepayments", include_in_schema=False, dependencies=[Depends(check_csrf)]
)
def capitation_record_payment(
    request: Request,
    conn: Conn,
    user: Settler,
    run_id: str,
    community_id: Annotated[str, Form(max_length=64)],
    quarter: Annotated[str, Form(max_length=1)],
    amount: Annotated[str, Form(max_length=20)],
    paid_on: Annotated[str, Form(max_length=10)],
    reference: Annotated[str, Form(max_length=100, pattern=r"^[^\x00]*$")] = "",
    reason: Text = "",
) -> Response:
    """Record a quarterly prepayment as paid (到账登记); the page again with the problem if refused."""
    form = {
        "community_id": community_id,
        "quarter": quarter,
        "amount": amount,
        "paid_on": paid_on,
        "reference": reference,
        "reason": reason,
    }
    try:
        payment = Payment(
            community_id,
            _quarter(quarter),
            _amount(amount),
            _date(paid_on),
            reference.strip(),
            reason.strip(),
        )
        service.record_prepayment(conn, user, _var_dir(request), run_id, payment, client_of(request))
    except Refused as refused:
        if refused.reason != "invalid":
            raise
        return _prepayments(request, conn, user, run_id, refused.problems, form, 422)
    return RedirectResponse(f"/capitation/runs/{run_id}/prepayments", status_code=303)


def _quarter(text: str) -> int:
    if text not in ("1", "2", "3", "4"):
        raise Refused("invalid", [request_problem("request.invalid", "季度应为 1 至 4", column="quarter")])
    return int(text)


def _amount(text: str) -> Decimal:
    try:
        return Decimal(text.replace(",", "").strip())
    except InvalidOperation:
        raise Refused(
            "invalid",
            [request_problem("capitation.prepayment.bad_amount", "到账金额不是数字", column="amount")],
        ) from None


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise Refused(
            "invalid", [request_problem("request.invalid", "到账日期应为 YYYY-MM-DD", column="paid_on")]
        ) from None


def chart(view: service.RunView) -> dict[str, Any]:
    """An ECharts bar chart per 医共体: pot, spending, retained surplus, the fund's overspend share."""
    ids = [e.community_id for e in view.year_ends]

    def series(name: str, field: str) -> dict[str, Any]:
        return {"name": name, "type": "bar", "data": [str(getattr(e, field)) for e in view.year_ends]}

    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 90, "right": 20, "bottom": 40, "top": 40},
        "xAxis": {"type": "category", "data": ids},
        "yAxis": {"type": "value", "name": "元"},
        "series": [
            series("预算基金", "pot"),
            series("基金支出", "spending"),
            series("结余留用", "retained"),
            series("基金分担", "fund_share"),
        ],
    }


# ---- public-health and primary-care money (002 篇四) ------------------------------------------


def _primary_care(
    request: Request,
    user: User,
    done: service.PrimaryCareDone | None,
    problems: list[Problem],
    status_code: int = 200,
) -> Response:
    context = {"policies": PRIMARY_CARE_POLICIES.names(), "done": done, "problems": problems}
    return render(request, "capitation/primary_care.html", context, status_code=status_code)


@router.get("/capitation/primary-care", include_in_schema=False)
def primary_care_page(request: Request, user: Settler) -> Response:
    return _primary_care(request, user, None, [])


@router.post("/capitation/primary-care", include_in_schema=False, dependencies=[Depends(check_csrf)])
def primary_care_run(
    request: Request,
    conn: Conn,
    user: Settler,
    policy: Annotated[str, Form(max_length=100)],
    files: Uploads = None,
) -> Response:
    uploads = read_uploads(files, MAX_UPLOAD_BYTES)
    done, problems = service.primary_care_uploads(
        conn, user, _var_dir(request), policy, uploads, client_of(request)
    )
    if done is None:
        return _primary_care(request, user, None, problems, 422)
    return _primary_care(request, user, done, problems)
