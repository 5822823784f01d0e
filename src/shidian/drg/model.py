"""The DRG data model (DRG付费数据模型): the core's inputs, parameters and results.

The core takes Arrow tables with the column types below and returns Arrow tables; adapters
(``shidian.drg.io``) turn files into these tables and back. Money columns are
``decimal128(18, 2)`` (yuan, fen precision), points and coefficients ``decimal128(38, 8)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import pyarrow as pa

from shidian.problems import Problem
from shidian.runs import Check

MONEY = pa.decimal128(18, 2)
POINTS = pa.decimal128(38, 8)

#: Case categories (病例类型), Article 11 and 14.
NORMAL, HIGH, LOW, WHOLE_GROUP = "normal", "high", "low", "whole_group"
CATEGORIES = (NORMAL, HIGH, LOW, WHOLE_GROUP)
CATEGORY_LABELS = {NORMAL: "正常病例", HIGH: "高倍率病例", LOW: "低倍率病例", WHOLE_GROUP: "整组单议病例"}

HOSPITALS_SCHEMA = pa.schema([("hospital_id", pa.string()), ("name", pa.string()), ("level", pa.int64())])
GROUPS_SCHEMA = pa.schema(
    [("drg_code", pa.string()), ("name", pa.string()), ("weight", POINTS), ("basic", pa.int8())]
)
CASES_SCHEMA = pa.schema(
    [
        ("case_id", pa.string()),
        ("hospital_id", pa.string()),
        ("discharge_date", pa.date32()),
        ("drg_code", pa.string()),
        ("total_cost", MONEY),
        ("fund_paid", MONEY),
        ("patient_cash", MONEY),
        ("self_pay", MONEY),
        ("unreasonable_cost", MONEY),
        ("review_approved", pa.int8()),
        ("new_technology", pa.int8()),
        ("review_date", pa.date32()),
    ]
)
REFERENCE_SCHEMA = pa.schema([("drg_code", pa.string()), ("level", pa.int64()), ("total_cost", MONEY)])
ASSESSMENT_SCHEMA = pa.schema([("hospital_id", pa.string()), ("coefficient", POINTS)])
DEDUCTIONS_SCHEMA = pa.schema(
    [
        ("hospital_id", pa.string()),
        ("month", pa.int64()),
        ("amount", MONEY),
        ("points", POINTS),
        ("audit_date", pa.date32()),
    ]
)
#: year_end_groups: DRG codes supplied by the year end for cases that could not be grouped
#: in their month (000 篇6 第十八条(一)5: 待补录上传后全部归于年底进行入组).
REGROUPED_SCHEMA = pa.schema([("case_id", pa.string()), ("drg_code", pa.string())])
#: The label of a case held to the year end (statements, report, pages).
YEAR_END_GROUPING_LABEL = "年底入组"


@dataclass(frozen=True)
class SettlementParams:
    """settlement.toml: the year, the annual DRG budget (DRG总额预算) and monthly shares."""

    year: int
    drg_budget: Decimal
    monthly_shares: tuple[Decimal, ...] | None = None
    #: The build-up from the fund (000 篇6 第六条: scheme, item, label, amount, article) when
    #: ``drg_budget`` was derived from ``[fund_budget]``; empty when it was given directly.
    budget_lines: tuple[tuple[str, str, str, Decimal, str], ...] = ()


@dataclass(frozen=True)
class DrgInputs:
    """Everything one settlement reads. Optional tables are None when not given.

    Each table may carry a ``_row`` int column (the row in its source file) so that problems
    found by the core name the row; ``sources`` maps a table name to its file name.
    """

    params: SettlementParams
    hospitals: pa.Table
    groups: pa.Table
    cases: pa.Table
    reference: pa.Table | None = None
    assessment: pa.Table | None = None
    deductions: pa.Table | None = None
    regrouped: pa.Table | None = None
    sources: Mapping[str, str] = field(default_factory=dict)

    def source(self, table: str) -> str:
        return self.sources.get(table, f"{table}.csv")


@dataclass(frozen=True)
class SettlementResult:
    """The tables a settlement produces, its warnings, invariant checks and totals."""

    case_points: pa.Table
    monthly: pa.Table
    monthly_payments: pa.Table
    annual: pa.Table
    standards: pa.Table
    coefficients: pa.Table
    warnings: tuple[Problem, ...]
    checks: tuple[Check, ...]
    totals: Mapping[str, str]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)
