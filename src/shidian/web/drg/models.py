"""The DRG JSON API's shapes (接口数据结构): datasets, runs, the pages' results, column labels.

Pydantic models, so that ``/api/openapi.json`` describes every request and response; the
converters turn the rows of ``shidian.drg.store`` into them. The result rows themselves
(months, hospitals' years, cases, payments) are ``shidian.drg.results.models``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from fastapi import HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from shidian.drg.model import CATEGORIES
from shidian.drg.results.cases import case_row_from_text
from shidian.drg.results.models import (
    CaseFilters,
    CaseMix,
    CaseRow,
    HospitalYear,
    MonthRow,
    NearCap,
    PaymentRow,
    RunWarning,
)
from shidian.drg.service.explain import ExplainedCase
from shidian.drg.service.runs import error_summary, run_problems
from shidian.web.errors import ProblemOut, problem_out
from shidian.web.fields import TEXT, DatasetId, RunId, Timestamp

#: Ids of datasets and runs: 32 lower-case hex digits (``uuid4().hex``).
RunStatus = Literal["queued", "running", "draft", "published", "failed"]


class FileOut(BaseModel):
    sha256: str
    rows: int | None = None


class DatasetOut(BaseModel):
    """A validated set of DRG input files (数据集)."""

    id: str
    name: str
    year: int
    uploaded_by: int | None
    uploaded_at: Timestamp
    cases: int | None
    files: dict[str, FileOut]


class CheckOut(BaseModel):
    """One invariant check of a run (自检): name, what it checks, result, the numbers."""

    name: str
    description: str = ""
    ok: bool
    detail: str = ""


class RunOut(BaseModel):
    """A settlement run (结算批次); ``totals`` are decimal strings in yuan or points."""

    id: str
    status: RunStatus
    progress: str | None
    year: int
    dataset_id: str
    policy_id: str
    policy_version: str | None
    corrects_run_id: str | None
    note: str | None
    created_by: int | None
    created_at: Timestamp
    finished_at: Timestamp | None
    published_by: int | None
    published_at: Timestamp | None
    totals: dict[str, str] | None
    checks: list[CheckOut] | None
    warnings: int | None
    error: str | None = Field(description="失败原因 (first line of the error of a failed run)")
    problems: list[ProblemOut] | None = Field(
        default=None, description="失败结算的问题 (the problems that stopped a failed run, if any)"
    )


class RunCreate(BaseModel):
    """Start a run: settle a dataset under a reference policy, optionally correcting a published run."""

    dataset_id: DatasetId
    policy_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")]
    corrects_run_id: RunId | None = None
    note: Annotated[str, Field(max_length=2000, pattern=TEXT)] | None = None


class PublishIn(BaseModel):
    """Publish a draft; when its year already has a published run: the run it corrects and why."""

    corrects_run_id: RunId | None = None
    reason: Annotated[str, Field(max_length=2000, pattern=TEXT)] = ""


def dataset_out(row: dict[str, Any]) -> DatasetOut:
    manifest = row.get("manifest") or {}
    files = {name: FileOut(**info) for name, info in (manifest.get("files") or {}).items()}
    return DatasetOut(
        id=row["id"],
        name=row["name"],
        year=row["year"],
        uploaded_by=row["uploaded_by"],
        uploaded_at=row["uploaded_at"],
        cases=manifest.get("cases"),
        files=files,
    )


def run_out(row: dict[str, Any]) -> RunOut:
    fields: dict[str, Any] = {name: row.get(name) for name in RunOut.model_fields}
    fields["error"] = error_summary(row.get("error"))
    problems = run_problems(row.get("error"))
    fields["problems"] = None if problems is None else [problem_out(p) for p in problems]
    return RunOut.model_validate(fields)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class RunInfo(_Model):
    """A settlement run (结算批次) as the pages show it."""

    id: str
    status: str
    year: int
    policy_id: str
    policy_version: str | None
    dataset_id: str
    created_at: dt.datetime | None
    published_at: dt.datetime | None
    note: str | None

    @classmethod
    def of(cls, run: Mapping[str, Any]) -> RunInfo:
        return cls.model_validate({k: run.get(k) for k in cls.model_fields})


class Overview(_Model):
    """GET /api/drg/runs/{id}/overview: the overview page's numbers."""

    run: RunInfo
    totals: dict[str, str]
    policy: dict[str, str]
    months: list[MonthRow]
    hospitals: list[HospitalYear]
    case_mix: list[CaseMix]
    warnings: list[RunWarning]
    near_caps: list[NearCap]


class HospitalPayments(_Model):
    """GET /api/drg/runs/{id}/hospitals/{hid}/payments: monthly payments and year-end statement."""

    run_id: str
    hospital_id: str
    name: str
    months: list[PaymentRow]
    year: HospitalYear


class CaseExplanationOut(_Model):
    """GET /api/drg/runs/{id}/cases/{case_id}: the case's row and its explanation, line by line."""

    run_id: str
    case: CaseRow
    lines: list[str]
    consistent: bool
    policy_matches_run: bool


#: annual.csv columns → Chinese label (docs/drg-outputs.md).
ANNUAL_LABELS: dict[str, str] = {
    "hospital_id": "医疗机构编码",
    "name": "医疗机构名称",
    "cases": "病例数",
    "final_points": "病例点数合计",
    "deducted_points": "扣除点数",
    "year_points": "年度点数",
    "year_point_value": "年度点值",
    "assessment_coefficient": "考核系数",
    "entitlement": "应得金额 (年度点数 × 年度点值 × 考核系数)",
    "total_cost": "医疗总费用",
    "fund_paid": "统筹基金支付",
    "self_pay": "自费费用",
    "surplus_cut": "结余超限扣减",
    "self_pay_cut": "自费超限扣减",
    "patient_cash": "患者支付现金 (非统筹支付)",
    "monthly_paid": "月度已预拨合计",
    "audit_deductions": "审核扣款",
    "withheld": "留作激励基金池",
    "incentive": "激励金额",
    "settlement": "年终清算金额 (负数为追回)",
}

#: monthly_payments.csv columns → Chinese label.
PAYMENT_LABELS: dict[str, str] = {
    "month": "月份",
    "cases": "病例数",
    "prepay_points": "预拨点数",
    "point_value": "月度点值",
    "patient_cash": "患者支付现金",
    "non_fund": "非统筹支付",
    "allocation": "应拨金额",
    "prepaid_allocation": "预拨金额",
    "withheld": "留作激励基金池",
    "review_points": "特病单议追加点数",
    "review_amount": "特病单议追加拨付",
    "deducted_points_amount": "扣除点数金额",
    "deducted_points": "扣除点数",
    "audit_deduction": "审核扣款",
    "amount": "实际拨付",
}

#: scheme_payments.csv columns → Chinese label (000 篇6 第六条: each fund's share of a hospital).
SCHEME_LABELS: dict[str, str] = {
    "scheme": "险种",
    "cases": "病例数",
    "final_points": "病例点数合计",
    "year_point_value": "年度点值",
    "patient_cash": "患者支付现金",
    "monthly_paid": "月度已预拨",
    "settlement": "年终清算",
    "fund_payment": "记入该险种基金",
}

#: case_points columns → Chinese label.
CASE_LABELS: dict[str, str] = {
    "case_id": "病案号",
    "hospital_id": "医疗机构编码",
    "month": "出院月份",
    "drg_code": "DRG编码",
    "category_label": "病例类型",
    "level": "医院等级",
    "cost": "合规费用",
    "unreasonable_cost": "不合理费用",
    "base_points": "基准点数",
    "coefficient": "差异系数",
    "extra_points": "核准追加点数",
    "prepay_points": "月度预拨点数",
    "final_points": "病例点数",
    "review_approved": "特病单议核准",
    "new_technology": "新技术",
    "year_end_grouping": "年底入组",
}


def explanation_out(run_id: str, explained: ExplainedCase) -> CaseExplanationOut:
    found = explained.found
    return CaseExplanationOut(
        run_id=run_id,
        case=case_row_from_text(found.case),
        lines=list(found.explanation.lines),
        consistent=found.explanation.consistent,
        policy_matches_run=explained.policy_matches_run,
    )


# ---- the case filters of a query string ------------------------------------------------------------

MAX_FILTER_LENGTH = 64
Category = Annotated[str | None, Query(description="normal / high / low / whole_group")]
Month = Annotated[str | None, Query(description="出院月份 1–12")]
Page = Annotated[int, Query(ge=1, description="页码, 从 1 开始")]


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
