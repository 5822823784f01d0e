"""DRG result pages (DRG结算结果页面): the overview, a hospital's results, one case explained.

The overview (DRG付费总览: budget, points, point values, payments, case mix, warnings) is for
roles that see every hospital (``drg.view_all``); a hospital's page (its cases, monthly
payments and year-end statement) and a case's explanation are for whoever may see that
hospital (``shidian.drg.service.results``). Every number comes from the run's files, read once
per run and kept in memory (``shidian.drg.results``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from shidian.display import number, plain, point_value, points, yuan
from shidian.drg.fund_budget import SCHEMES
from shidian.drg.model import CATEGORY_LABELS
from shidian.drg.results.cases import PAGE_SIZE
from shidian.drg.results.files import once_per_key, payments, run_files_summary, run_near_caps, scheme_rows
from shidian.drg.results.models import CasePage, HospitalYear, RunFilesSummary
from shidian.drg.service import explain_run_case
from shidian.drg.service.results import OpenRun, hospital_cases, open_hospital, open_run, selectable_runs
from shidian.money import D
from shidian.platform.accounts import User
from shidian.problems import Refused
from shidian.web.caching import cached_page
from shidian.web.deps import client_of, signed_in_work
from shidian.web.drg.models import (
    ANNUAL_LABELS,
    CASE_LABELS,
    PAYMENT_LABELS,
    SCHEME_LABELS,
    Category,
    Month,
    Page,
    RunInfo,
    case_filters,
    explanation_out,
)
from shidian.web.paging import paginate
from shidian.web.templating import language, render, templates

router = APIRouter()

#: Warning codes an officer acts on, in the order the overview lists them.
WARNING_CODES = {
    "drg.coefficient.level_inversion": "差异系数倒挂, 须专家论证 (第十三条(一))",
    "drg.annual.cap_applied": "已执行年终清算限制 (第十九条(三))",
    "drg.payment.negative_month": "月度预拨金额为负",
    "drg.month.no_cases": "当月无出院病例",
    "drg.case.year_end_grouping": "年底入组病例 (第十八条(一)5)",
    "drg.review.no_date": "特病单议无审核日期",
    "drg.deduction.no_date": "扣款无审核日期",
    "drg.input.ignored": "未启用规则的输入未读取",
}
WARNINGS_PER_PAGE = 25


def warnings_context(request: Request, summary: RunFilesSummary) -> dict[str, Any]:
    """The overview's warnings: counts by code, and the page asked for (``page``), of the
    code asked for (``kind``), the codes an officer acts on first."""
    order = list(WARNING_CODES)
    warnings = sorted(summary.warnings, key=lambda w: order.index(w.code) if w.code in order else len(order))
    counts: dict[str, int] = {}
    for w in warnings:
        counts[w.code] = counts.get(w.code, 0) + 1
    kind = request.query_params.get("kind", "")
    return {
        "warnings": paginate(
            request,
            warnings,
            keep=(lambda w: w.code == kind) if kind else None,
            per_page=WARNINGS_PER_PAGE,
        ),
        "warning_counts": counts,
        "warning_labels": WARNING_CODES,
    }


def _money(value: str | None) -> str:
    return "—" if value is None else yuan(D(value))


def _count(value: str | None) -> str:
    return "—" if value is None else number(D(value))


def column_totals(rows: Sequence[Any], keys: Iterable[str]) -> dict[str, Decimal]:
    """Σ of each money or points column over ``rows`` (records or dicts), for a totals row."""
    totals: dict[str, Decimal] = {}
    for key in keys:
        values = [r[key] if isinstance(r, dict) else getattr(r, key, None) for r in rows]
        numbers = [D(v) for v in values if isinstance(v, Decimal | int) and not isinstance(v, bool)]
        if numbers and len(numbers) == len(values):
            totals[key] = sum(numbers, Decimal(0))
    return totals


def kpis(totals: dict[str, str]) -> list[dict[str, str]]:
    """The headline numbers (关键指标) from run.json's totals."""
    mix = " / ".join(_count(totals.get(k)) for k in ("normal", "high", "low", "whole_group"))
    return [
        {"label": "DRG总额预算 (元)", "value": _money(totals.get("drg_budget"))},
        {"label": "病例数", "value": _count(totals.get("cases"))},
        {"label": "正常 / 高倍率 / 低倍率 / 整组单议", "value": mix},
        {"label": "年度总点数", "value": points(totals.get("final_points"))},
        *_year_point_values(totals),
        {"label": "应得金额合计 (元)", "value": _money(totals.get("entitlement"))},
        {"label": "月度已预拨合计 (元)", "value": _money(totals.get("monthly_paid"))},
        {"label": "年终清算合计 (元)", "value": _money(totals.get("settlement"))},
    ]


def _year_point_values(totals: dict[str, str]) -> list[dict[str, str]]:
    """The year point value, or each scheme's when each has its own (分险种点值, 000 篇6 第六条)."""
    if "year_point_value" in totals or not totals.get("scheme_point_value"):
        return [{"label": "年度点值", "value": point_value(totals.get("year_point_value"))}]
    return [
        {"label": f"{label}年度点值", "value": point_value(totals[f"scheme.{scheme}.year_point_value"])}
        for scheme, label in SCHEMES.items()
        if f"scheme.{scheme}.year_point_value" in totals
    ]


def _month_series(summary: RunFilesSummary) -> list[dict[str, Any]]:
    """Budget bars and point-value lines by month: one pair, or one per scheme (第六条)."""
    schemes = list(dict.fromkeys(m.scheme for m in summary.months))
    series: list[dict[str, Any]] = []
    for scheme in schemes:
        rows = [m for m in summary.months if m.scheme == scheme]
        label = f"{SCHEMES.get(scheme, scheme)} " if scheme else ""
        series.append(
            {"name": f"{label}月度预算 (元)", "type": "bar", "data": [plain(m.budget) for m in rows]}
        )
        series.append(
            {
                "name": f"{label}月度点值",
                "type": "line",
                "yAxisIndex": 1,
                "data": [plain(m.point_value) for m in rows],
            }
        )
    return series


def charts(summary: RunFilesSummary) -> dict[str, dict[str, Any]]:
    """ECharts options, drawn by static/js/app.js. Numbers stay exact strings."""
    months = list(dict.fromkeys(f"{m.month}月" for m in summary.months))
    month_series = _month_series(summary)
    names = [h.name for h in summary.hospitals]
    many = len(names) > 15
    zoom = [{"type": "slider", "end": 100 if not many else 15 * 100 // len(names)}] if many else []
    axis_label = {"interval": 0, "rotate": 30} if len(names) > 6 else {"interval": 0}
    mix_names = [m.name for m in summary.case_mix]
    return {
        "chart-months": {
            "tooltip": {"trigger": "axis"},
            "legend": {"data": [s["name"] for s in month_series]},
            "grid": {"left": 100, "right": 70},
            "xAxis": {"type": "category", "data": months},
            "yAxis": [{"type": "value", "name": "元"}, {"type": "value", "name": "点值"}],
            "series": month_series,
        },
        "chart-payments": {
            "tooltip": {"trigger": "axis"},
            "legend": {"data": ["月度已预拨 (元)", "年终清算 (元)"]},
            "grid": {"left": 90, "bottom": 90 if len(names) > 6 else 40},
            "xAxis": {"type": "category", "data": names, "axisLabel": axis_label},
            "yAxis": {"type": "value", "name": "元"},
            "dataZoom": zoom,
            "series": [
                {
                    "name": "月度已预拨 (元)",
                    "type": "bar",
                    "stack": "paid",
                    "data": [plain(h.monthly_paid) for h in summary.hospitals],
                },
                {
                    "name": "年终清算 (元)",
                    "type": "bar",
                    "stack": "paid",
                    "data": [plain(h.settlement) for h in summary.hospitals],
                },
            ],
        },
        "chart-case-mix": {
            "tooltip": {"trigger": "axis"},
            "legend": {"data": ["高倍率 %", "低倍率 %", "整组单议 %"]},
            "grid": {"left": 60, "bottom": 90 if len(mix_names) > 6 else 40},
            "xAxis": {"type": "category", "data": mix_names, "axisLabel": axis_label},
            "yAxis": {"type": "value", "name": "%"},
            "dataZoom": zoom,
            "series": [
                {
                    "name": label,
                    "type": "bar",
                    "stack": "share",
                    "data": [plain(getattr(m, key)) for m in summary.case_mix],
                }
                for label, key in (
                    ("高倍率 %", "high_pct"),
                    ("低倍率 %", "low_pct"),
                    ("整组单议 %", "whole_group_pct"),
                )
            ],
        },
    }


@once_per_key(maxsize=32)
def overview_body(run: Path, dataset: Path, policy_id: str, run_id: str, lang: str) -> Markup:
    """The overview's body (KPIs, charts, warnings, hospitals) of a run in a language.

    It is the same for every user who may see the overview, and a run's files never change,
    so it is rendered once per run and language (``lang`` is the key; the current request's
    language renders it).
    """
    summary = run_files_summary(run, dataset)
    context = {
        "run": {"id": run_id},
        "summary": summary,
        "near_caps": run_near_caps(run, dataset, policy_id),
        "mix": {m.hospital_id: m for m in summary.case_mix},
        "kpis": kpis(summary.totals),
        "charts": charts(summary),
        "annual_labels": ANNUAL_LABELS,
        "hospital_totals": column_totals(
            summary.hospitals, ("cases", "year_points", "entitlement", "monthly_paid", "settlement")
        ),
    }
    return Markup(templates.get_template("drg/_overview_body.html").render(context))


@router.get("/drg/overview", include_in_schema=False)
async def overview_page(request: Request, run: str | None = None) -> Response:
    return await signed_in_work(
        request, lambda conn, user: _overview(request, conn, user, run), action="drg.view_all"
    )


def _overview(request: Request, conn: sa.Connection, user: User, run: str | None) -> Response:
    opened = open_run(conn, user, request.app.state.settings.var_dir, run)
    runs = selectable_runs(conn, user)

    def build() -> Response:
        body = overview_body(
            opened.path, opened.dataset, str(opened.run["policy_id"]), opened.id, language.get()
        )
        return render(
            request,
            "drg/overview.html",
            {
                "run": RunInfo.of(opened.run),
                "policy_name": run_files_summary(opened.path, opened.dataset).policy.get("name", ""),
                "runs": runs,
                "body": body,
                **warnings_context(request, run_files_summary(opened.path, opened.dataset)),
            },
        )

    return _published(request, opened, [runs], build)


def _published(
    request: Request, opened: OpenRun, parts: list[object], build: Callable[[], Response]
) -> Response:
    """A page of a published run from the page cache (ETag / 304, ``shidian.web.caching``);
    a draft's page is rendered every time (its status, and so its page, will change)."""
    if opened.run.get("status") != "published":
        return build()
    return cached_page(request, [opened.id, opened.run.get("status"), *parts], build)


# ---- a hospital's results -------------------------------------------------------------------------


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
    rows = payments(run, hospital_id)
    by_scheme = any(p.scheme for p in rows)  # each scheme its own point value (第六条)
    labels = (
        {"month": PAYMENT_LABELS["month"], "scheme": "险种", **PAYMENT_LABELS}
        if by_scheme
        else PAYMENT_LABELS
    )
    context = {
        "hospital": year,
        "payments": [{**p.model_dump(), "scheme": SCHEMES.get(p.scheme or "", p.scheme)} for p in rows],
        "payment_totals": column_totals(
            rows, [k for k in PAYMENT_LABELS if k not in ("month", "point_value") and "coefficient" not in k]
        ),
        "annual_labels": ANNUAL_LABELS
        if year.year_point_value is not None
        else {k: v for k, v in ANNUAL_LABELS.items() if k != "year_point_value"},
        "payment_labels": labels,
        "schemes": [
            {**r.model_dump(), "scheme": SCHEMES.get(r.scheme, r.scheme)}
            for r in scheme_rows(run, hospital_id)
        ],
        "scheme_labels": SCHEME_LABELS,
    }
    return Markup(templates.get_template("drg/_hospital_year.html").render(context))


@router.get("/drg/hospitals/{hospital_id}", include_in_schema=False)
async def hospital_page(
    request: Request,
    hospital_id: str,
    run: str | None = None,
    category: Category = None,
    drg_code: str | None = None,
    month: Month = None,
    q: str | None = None,
    page: Page = 1,
) -> Response:
    def work(conn: sa.Connection, user: User) -> Response:
        try:
            opened, year = open_hospital(conn, user, request.app.state.settings.var_dir, run, hospital_id)
        except Refused as refused:
            if run is None and refused.reason == "not_found" and user.hospital_id == hospital_id:
                # a hospital's own page where no published DRG settlement includes it (a 居民医保
                # desk hospital outside the DRG pilot): say so, with its other work, not a dead 404
                return render(
                    request, "drg/hospital_none.html", {"hospital_id": hospital_id}, status_code=404
                )
            raise
        filters = case_filters(category, drg_code, month, q)
        cases = hospital_cases(
            conn, user, opened, hospital_id, filters, page, PAGE_SIZE, client_of(request), whole_page=True
        )
        runs = selectable_runs(conn, user)
        return _published(
            request,
            opened,
            [runs],
            lambda: render(
                request,
                "drg/hospital.html",
                {
                    **_cases_context(opened, year, cases),
                    "runs": runs,
                    "year_html": hospital_year_html(opened.path, opened.dataset, hospital_id, language.get()),
                    "annual_labels": ANNUAL_LABELS,
                },
            ),
        )

    return await signed_in_work(request, work)


@router.get("/drg/hospitals/{hospital_id}/cases", include_in_schema=False)
async def hospital_cases_partial(
    request: Request,
    hospital_id: str,
    run: str | None = None,
    category: Category = None,
    drg_code: str | None = None,
    month: Month = None,
    q: str | None = None,
    page: Page = 1,
) -> Response:
    """The case table with its count and pager (HTMX swaps it into the hospital page)."""

    def work(conn: sa.Connection, user: User) -> Response:
        opened, year = open_hospital(conn, user, request.app.state.settings.var_dir, run, hospital_id)
        filters = case_filters(category, drg_code, month, q)
        cases = hospital_cases(conn, user, opened, hospital_id, filters, page, PAGE_SIZE, client_of(request))
        return _published(
            request,
            opened,
            [request.headers.get("hx-request", "")],
            lambda: render(request, "drg/_hospital_cases.html", _cases_context(opened, year, cases)),
        )

    return await signed_in_work(request, work)


@router.get("/drg/runs/{run_id}/cases/{case_id}", include_in_schema=False)
async def case_page_view(request: Request, run_id: str, case_id: str) -> Response:
    def work(conn: sa.Connection, user: User) -> Response:
        opened, explained = explain_run_case(
            conn, user, request.app.state.settings.var_dir, run_id, case_id, client_of(request)
        )
        out = explanation_out(opened.id, explained)
        return _published(
            request,
            opened,
            [],
            lambda: render(
                request, "drg/case.html", {"explained": out, "case": out.case, "labels": CASE_LABELS}
            ),
        )

    return await signed_in_work(request, work)
