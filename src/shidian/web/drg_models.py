"""Typed DRG results (DRG结算结果模型) for pages and API, with the Chinese labels of their columns.

Pages render these models and the API returns them, so HTML and JSON cannot drift apart.
Decimals are written to JSON as strings (pydantic's rule for ``Decimal``), never as floats.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, PlainSerializer

#: A Decimal written to JSON as a plain string (``"0.00000000"``), never a float.
Dec = Annotated[Decimal, PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json")]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class MonthRow(_Model):
    """monthly.csv: one month of the region (月度点值)."""

    month: int
    budget: Dec
    total_points: Dec
    non_fund: Dec
    point_value: Dec


class HospitalYear(_Model):
    """annual.csv: one hospital's year-end statement (年终清算), with its name."""

    hospital_id: str
    name: str
    year_points: Dec
    year_point_value: Dec
    assessment_coefficient: Dec
    entitlement: Dec
    surplus_cut: Dec
    self_pay_cut: Dec
    patient_cash: Dec
    monthly_paid: Dec
    settlement: Dec
    audit_deductions: Dec
    cases: int
    final_points: Dec
    deducted_points: Dec
    total_cost: Dec
    fund_paid: Dec
    self_pay: Dec
    withheld: Dec | None
    incentive: Dec | None


class CaseMix(_Model):
    """Cases of one hospital by class (病例类型构成), counts and shares in percent (2 decimals)."""

    hospital_id: str
    name: str
    cases: int
    normal: int
    high: int
    low: int
    whole_group: int
    high_pct: Dec
    low_pct: Dec
    whole_group_pct: Dec


class RunWarning(_Model):
    """warnings.csv: code, where, message."""

    code: str
    where: str
    message: str


class NearCap(_Model):
    """A hospital near a year-end cap (接近年终清算限制, 000 篇6 第十九条(三))."""

    hospital_id: str
    name: str
    cap: Literal["self_pay", "surplus"]
    actual_pct: Dec
    cap_pct: Dec
    message: str


class RunFilesSummary(_Model):
    """Everything the overview shows that comes from the run's files."""

    totals: dict[str, str]
    policy: dict[str, str]
    months: list[MonthRow]
    hospitals: list[HospitalYear]
    case_mix: list[CaseMix]
    warnings: list[RunWarning]


class CaseRow(_Model):
    """One row of case_points (病例点数)."""

    case_id: str
    hospital_id: str
    month: int
    drg_code: str | None
    category: str
    category_label: str
    base_points: Dec | None
    coefficient: Dec | None
    prepay_points: Dec
    final_points: Dec
    level: int
    cost: Dec
    unreasonable_cost: Dec
    extra_points: Dec
    review_approved: int
    new_technology: int


class CaseFilters(_Model):
    category: str | None = None
    drg_code: str | None = None
    month: int | None = None
    q: str | None = None

    def params(self) -> dict[str, str]:
        """The filters as query parameters (for links), blanks left out."""
        return {k: str(v) for k, v in self.model_dump().items() if v not in (None, "")}


class CasePage(_Model):
    run_id: str
    hospital_id: str
    filters: CaseFilters
    total: int
    page: int
    page_size: int
    pages: int
    cases: list[CaseRow]


class PaymentRow(_Model):
    """monthly_payments.csv: one hospital-month (月度预拨)."""

    month: int
    cases: int
    prepay_points: Dec
    point_value: Dec
    patient_cash: Dec
    non_fund: Dec
    allocation: Dec
    prepaid_allocation: Dec
    withheld: Dec
    deducted_points_amount: Dec
    deducted_points: Dec
    audit_deduction: Dec
    amount: Dec


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
    "deducted_points_amount": "扣除点数金额",
    "deducted_points": "扣除点数",
    "audit_deduction": "审核扣款",
    "amount": "实际拨付",
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
}
