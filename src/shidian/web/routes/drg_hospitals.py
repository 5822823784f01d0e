"""A hospital's DRG results (医疗机构结算结果): its cases, monthly payments, year-end statement,
and the explanation of any of its cases.

Access (数据权限): a hospital user sees only its own hospital; any other hospital, or a case
of one, answers 404 exactly as a hospital that does not exist, in pages and API alike.
Cases are personal data: every view of a case list or a case writes an audit record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from markupsafe import Markup

from shidian.drg.model import CATEGORIES, CATEGORY_LABELS
from shidian.platform import audit
from shidian.platform.access import may_see_hospital, visible_hospital_ids
from shidian.platform.accounts import User
from shidian.web.deps import Conn, CurrentUser
from shidian.web.drg_models import (
    ANNUAL_LABELS,
    CASE_LABELS,
    PAYMENT_LABELS,
    CaseExplanationOut,
    CaseFilters,
    CasePage,
    HospitalPayments,
    HospitalYear,
    RunInfo,
)
from shidian.web.drg_results import (
    MAX_PAGE_SIZE,
    PAGE_SIZE,
    OpenRun,
    case_page,
    case_row_from_text,
    drg_policy,
    explain,
    once_per_key,
    open_run,
    payments,
    run_files_summary,
    run_record,
    selectable_runs,
)
from shidian.web.errors import responses as error_responses
from shidian.web.templating import language, render, templates

router = APIRouter()

NOT_FOUND = "没有该医疗机构或病例 (not found)"
MAX_FILTER_LENGTH = 64


def _not_found() -> HTTPException:
    return HTTPException(status_code=404, detail=NOT_FOUND)


def _hospital(
    request: Request, conn: Conn, user: User, run_id: str | None, hospital_id: str
) -> tuple[OpenRun, HospitalYear]:
    """The run and the hospital's year row, if the user may see that hospital; else 404."""
    if not may_see_hospital(user, hospital_id):
        raise _not_found()
    opened = open_run(request.app.state.settings.var_dir, conn, user, run_id)
    summary = run_files_summary(opened.path, opened.dataset)
    year = next((h for h in summary.hospitals if h.hospital_id == hospital_id), None)
    if year is None:
        raise _not_found()
    return opened, year


def case_filters(
    category: str | None = None, drg_code: str | None = None, month: str | None = None, q: str | None = None
) -> CaseFilters:
    """Filters from a query string; blanks mean no filter, a bad value is a 422."""

    def text(value: str | None, name: str) -> str | None:
        value = (value or "").strip()
        if len(value) > MAX_FILTER_LENGTH:
            raise HTTPException(status_code=422, detail=f"{name} 过长 (too long)")
        return value or None

    chosen = text(category, "category")
    if chosen is not None and chosen not in CATEGORIES:
        raise HTTPException(status_code=422, detail=f"病例类型应为 {' / '.join(CATEGORIES)} 之一 (category)")
    number = text(month, "month")
    if number is not None and not (number.isdigit() and 1 <= int(number) <= 12):
        raise HTTPException(status_code=422, detail="月份应为 1–12 (month)")
    return CaseFilters(
        category=chosen,
        drg_code=text(drg_code, "drg_code"),
        month=None if number is None else int(number),
        q=text(q, "q"),
    )


Category = Annotated[str | None, Query(description="normal / high / low / whole_group")]
Month = Annotated[str | None, Query(description="出院月份 1–12")]
Page = Annotated[int, Query(ge=1, description="页码, 从 1 开始")]


def _audit_cases(request: Request, conn: Conn, user: User, action: str, page: CasePage) -> None:
    audit.record(
        conn,
        request,
        user,
        action,
        page.hospital_id,
        {"run_id": page.run_id, "filters": page.filters.params(), "page": page.page, "rows": len(page.cases)},
    )


def _cases_context(opened: OpenRun, year: HospitalYear, page: CasePage) -> dict[str, object]:
    return {
        "run": RunInfo.of(opened.run),
        "hospital": year,
        "page": page,
        "filters": page.filters,
        "categories": CATEGORY_LABELS,
    }


@once_per_key(maxsize=256)
def hospital_year_html(run: Path, dataset: Path, hospital_id: str, lang: str) -> Markup:
    """Monthly payments and year-end statement of a hospital, rendered once per run and language."""
    year = next(h for h in run_files_summary(run, dataset).hospitals if h.hospital_id == hospital_id)
    context = {
        "hospital": year,
        "payments": payments(run, hospital_id),
        "annual_labels": ANNUAL_LABELS,
        "payment_labels": PAYMENT_LABELS,
    }
    return Markup(templates.get_template("drg/_hospital_year.html").render(context))


@router.get("/drg/hospitals/{hospital_id}", include_in_schema=False)
def hospital_page(
    request: Request,
    conn: Conn,
    user: CurrentUser,
    hospital_id: str,
    run: str | None = None,
    category: Category = None,
    drg_code: str | None = None,
    month: Month = None,
    q: str | None = None,
    page: Page = 1,
) -> Response:
    opened, year = _hospital(request, conn, user, run, hospital_id)
    filters = case_filters(category, drg_code, month, q)
    cases = case_page(opened.path, opened.id, hospital_id, filters, page, PAGE_SIZE)
    audit.record(
        conn,
        request,
        user,
        "drg.hospital_viewed",
        hospital_id,
        {"run_id": opened.id, "filters": filters.params(), "page": page},
    )
    return render(
        request,
        "drg/hospital.html",
        {
            **_cases_context(opened, year, cases),
            "runs": selectable_runs(conn, user),
            "year_html": hospital_year_html(opened.path, opened.dataset, hospital_id, language.get()),
            "annual_labels": ANNUAL_LABELS,
        },
    )


@router.get("/drg/hospitals/{hospital_id}/cases", include_in_schema=False)
def hospital_cases_partial(
    request: Request,
    conn: Conn,
    user: CurrentUser,
    hospital_id: str,
    run: str | None = None,
    category: Category = None,
    drg_code: str | None = None,
    month: Month = None,
    q: str | None = None,
    page: Page = 1,
) -> Response:
    """The case table with its count and pager (HTMX swaps it into the hospital page)."""
    opened, year = _hospital(request, conn, user, run, hospital_id)
    cases = case_page(
        opened.path, opened.id, hospital_id, case_filters(category, drg_code, month, q), page, PAGE_SIZE
    )
    _audit_cases(request, conn, user, "drg.cases_listed", cases)
    return render(request, "drg/_hospital_cases.html", _cases_context(opened, year, cases))


def _explanation(request: Request, conn: Conn, user: User, run_id: str, case_id: str) -> CaseExplanationOut:
    opened = open_run(request.app.state.settings.var_dir, conn, user, run_id)
    policy = drg_policy(str(opened.run["policy_id"]))
    if policy is None:
        raise HTTPException(status_code=409, detail="本结算所用政策无法加载 (policy of the run not found)")
    found = explain(opened.path, case_id, policy, visible_hospital_ids(user))
    if found is None:
        raise _not_found()
    row = case_row_from_text(found.case)
    audit.record(
        conn, request, user, "drg.case_viewed", case_id, {"run_id": opened.id, "hospital_id": row.hospital_id}
    )
    return CaseExplanationOut(
        run_id=opened.id,
        case=row,
        lines=list(found.explanation.lines),
        consistent=found.explanation.consistent,
        policy_matches_run=run_record(opened.path)["policy"].get("sha256") == policy.source.sha256,
    )


@router.get("/drg/runs/{run_id}/cases/{case_id}", include_in_schema=False)
def case_page_view(request: Request, conn: Conn, user: CurrentUser, run_id: str, case_id: str) -> Response:
    explained = _explanation(request, conn, user, run_id, case_id)
    return render(
        request,
        "drg/case.html",
        {"explained": explained, "case": explained.case, "labels": CASE_LABELS},
    )


# ---- JSON API --------------------------------------------------------------------------------


@router.get(
    "/api/drg/runs/{run_id}/hospitals/{hospital_id}/cases",
    response_model=CasePage,
    responses=error_responses(401, 404, 409, 422),
)
def cases_api(
    request: Request,
    conn: Conn,
    user: CurrentUser,
    run_id: str,
    hospital_id: str,
    category: Category = None,
    drg_code: str | None = None,
    month: Month = None,
    q: Annotated[str | None, Query(description="病案号包含此文本")] = None,
    page: Page = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = PAGE_SIZE,
) -> CasePage:
    """A hospital's cases with their class and points, filtered, a page at a time (by case id)."""
    opened, _ = _hospital(request, conn, user, run_id, hospital_id)
    cases = case_page(
        opened.path, opened.id, hospital_id, case_filters(category, drg_code, month, q), page, page_size
    )
    _audit_cases(request, conn, user, "drg.cases_listed", cases)
    return cases


@router.get(
    "/api/drg/runs/{run_id}/hospitals/{hospital_id}/payments",
    response_model=HospitalPayments,
    responses=error_responses(401, 404, 409),
)
def payments_api(
    request: Request, conn: Conn, user: CurrentUser, run_id: str, hospital_id: str
) -> HospitalPayments:
    """A hospital's monthly payments (monthly_payments.csv) and year-end statement (annual.csv)."""
    opened, year = _hospital(request, conn, user, run_id, hospital_id)
    return HospitalPayments(
        run_id=opened.id,
        hospital_id=hospital_id,
        name=year.name,
        months=payments(opened.path, hospital_id),
        year=year,
    )


@router.get(
    "/api/drg/runs/{run_id}/cases/{case_id}",
    response_model=CaseExplanationOut,
    responses=error_responses(401, 404, 409),
)
def case_api(
    request: Request, conn: Conn, user: CurrentUser, run_id: str, case_id: str
) -> CaseExplanationOut:
    """One case: its row and the explanation of its class and points, with the articles."""
    return _explanation(request, conn, user, run_id, case_id)
