"""Typed DRG results (DRG结算结果模型): the rows a run's files give, as the results store reads them.

Pages render these models and the API returns them, so HTML and JSON cannot drift apart.
Decimals are written to JSON as strings (pydantic's rule for ``Decimal``), never as floats.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, PlainSerializer

from shidian.drg.fund_budget import SCHEMES

#: A Decimal written to JSON as a plain string (``"0.00000000"``), never a float.
Dec = Annotated[Decimal, PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json")]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class MonthRow(_Model):
    """monthly.csv: one month of the region (月度点值); of one scheme when each scheme has its
    own point value (``scheme``, 000 篇6 第六条), else ``scheme`` is None."""

    month: int
    budget: Dec
    total_points: Dec
    non_fund: Dec
    point_value: Dec
    scheme: str | None = None


class HospitalYear(_Model):
    """annual.csv: one hospital's year-end statement (年终清算), with its name."""

    hospital_id: str
    name: str
    year_points: Dec
    year_point_value: Dec | None  # None: each scheme has its own (scheme_payments.csv, 第六条)
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

    @property
    def place(self) -> str:
        """``where`` as a page shows it: an input's ``file:column`` as it is, a place in the run's
        own results (``<run>:monthly_payments.H0001.3``) by its result and keys (月度预拨 H0001 3月)."""
        return run_place(self.where)


#: The run's own results a warning may point into (``Source("<run>", key="<result>.<keys>")``).
_RESULTS = {
    "monthly": "月度点值",
    "monthly_payments": "月度预拨",
    "annual": "年终清算",
    "coefficients": "差异系数",
}


def run_place(where: str) -> str:
    """A warning's place in words: ``<run>:monthly_payments.H0001.3.employee`` → ``月度预拨 H0001
    3月 职工医保``, ``<run>:coefficients.GC45.3`` → ``差异系数 GC45 3级``; other places unchanged."""
    if not where.startswith("<run>:"):
        return where
    result, *keys = where.removeprefix("<run>:").split(".")
    if result not in _RESULTS:
        return where
    words = [_RESULTS[result]]
    for key in keys:
        if key in SCHEMES:
            words.append(SCHEMES[key])
        elif key.isdigit() and result == "coefficients":
            words.append(f"{key}级")
        elif key.isdigit():
            words.append(f"{key}月")
        else:
            words.append(key)
    return " ".join(words)


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
    year_end_grouping: int = 0  # 年底入组 (000 篇6 第十八条(一)5)


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
    review_points: Dec = Decimal(0)  # 特病单议核准追加点数, paid this month (第十八条(三)(四))
    review_amount: Dec = Decimal(0)
    scheme: str | None = None  # the scheme of the row with per-scheme point values (第六条)


class SchemeRow(_Model):
    """scheme_payments.csv: a hospital's fund payments charged to one scheme (000 篇6 第六条)."""

    scheme: str
    cases: int
    final_points: Dec
    year_point_value: Dec | None = None
    patient_cash: Dec
    value: Dec
    monthly_paid: Dec
    settlement: Dec
    fund_payment: Dec
