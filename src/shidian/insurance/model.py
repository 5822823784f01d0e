"""The resident-insurance data model (城乡居民医保/新农合数据模型): inputs, prior state, results.

The core takes Arrow tables with the column types below and returns Arrow tables; the file
adapter (``shidian.insurance.io``) turns files into these tables and back. Money columns are
``decimal128(18, 2)`` (yuan, fen precision); ratios ``decimal128(9, 4)``.

Claims are priced in a total order per person: ``(start_date, end_date, claim_id)``. The
prior state (``PriorState``) is what a person's earlier claims of the policy year left behind;
``shidian.insurance.claims.price_claims`` prices new claims after it, so that the discharge
desk (one claim, the person's stored state) and the county-year batch agree to the fen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import pyarrow as pa

from shidian.problems import Problem
from shidian.runs import Check

MONEY = pa.decimal128(18, 2)
RATIO = pa.decimal128(9, 4)

#: Person categories (人员类别), 004 篇6 三(二)1 and 三(四)1.
CATEGORIES = ("general", "wubao", "dibao", "tekun", "disabled", "orphan")
CATEGORY_LABELS = {
    "general": "一般参合人员",
    "wubao": "五保户",
    "dibao": "低保户",
    "tekun": "特困户",
    "disabled": "残疾人",
    "orphan": "孤儿",
}
KINDS = ("inpatient", "outpatient")
KIND_LABELS = {"inpatient": "住院", "outpatient": "门诊"}
DELIVERIES = ("normal", "pathological")
DELIVERY_LABELS = {"normal": "正常产", "pathological": "病理产"}
#: Other texts people write for a coded value (besides its label): read as the code on import,
#: at the desk and in the API (issue 19 item 2).
VARIANTS: tuple[tuple[str, str], ...] = (
    ("一般", "general"),
    ("普通", "general"),
    ("一般人员", "general"),
    ("五保", "wubao"),
    ("五保供养", "wubao"),
    ("低保", "dibao"),
    ("特困", "tekun"),
    ("特困人员", "tekun"),
    ("特困供养", "tekun"),
    ("残疾", "disabled"),
    ("残疾人员", "disabled"),
    ("孤儿人员", "orphan"),
    ("住院治疗", "inpatient"),
    ("门诊治疗", "outpatient"),
    ("顺产", "normal"),
    ("正常分娩", "normal"),
    ("病理分娩", "pathological"),
    ("个人", "individual"),
    ("民政代缴", "civil_affairs"),
    ("中央", "central"),
    ("自治区", "region"),
    ("省级", "region"),
    ("市级", "city"),
    ("县级", "county"),
)


def code_of(value: object, labels: dict[str, str]) -> object:
    """A coded value given by its Chinese label or a variant (``住院``, ``住院治疗``) as its code
    (``inpatient``); anything else unchanged, for the caller's own check."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text in labels:
        return text
    for code, label in labels.items():
        if text == label or text == label.split(" (")[0] or text.lower() == code:
            return code
    return next((code for variant, code in VARIANTS if variant == text and code in labels), value)


#: Claim statuses: the batch contract (claims_out.csv ``status``).
PAID, REJECTED = "paid", "rejected"

#: Pricing rules (``rule`` column of priced claims) and their Chinese labels.
RULE_LABELS = {
    "inpatient": "住院补偿",
    "delivery": "住院分娩正常产定额补偿",
    "outpatient": "门诊统筹补偿",
    "chronic": "特殊慢性病门诊定额补偿",
    "cataract": "白内障门诊人工晶体植入定额补偿",
    "tcm_fracture": "中医门诊骨折非手术治疗补偿",
    "rejected": "不予补偿",
}

#: Reasons a claim is rejected (``reject_code``), checked in this order.
REJECT_CODES = (
    "not_insured",
    "unknown_institution",
    "outside_year",
    "items_exceed_total",
    "not_designated",
    "not_referred",
    "outpatient_level",
    "no_tier",
)

#: Where an institution is, seen from the insured county (机构所在地, ``institutions.place``):
#: 县内 / 县外市内 / 市外省内 / 省外. Policies choose their inpatient tier by level and place.
PLACES = ("county", "city", "province", "outside")
PLACE_LABELS = {"county": "县内", "city": "县外市内", "province": "市外省内", "outside": "省外"}

#: Contribution sources (筹资来源), 004 篇6 三(二).
SOURCES = ("individual", "civil_affairs", "central", "region", "city", "county")
SOURCE_LABELS = {
    "individual": "个人缴费",
    "civil_affairs": "民政医疗救助代缴个人部分",
    "central": "中央财政补助",
    "region": "自治区财政补助",
    "city": "市级财政补助",
    "county": "县级财政补助",
}
#: 三(二)3: “各级财政补助资金全部划入大病统筹基金”.
GOVERNMENT_SOURCES = ("central", "region", "city", "county")
#: The two pools (三(三)1: “通过设立统筹基金分别对住院和门诊费用进行补偿”): a claim's kind decides
#: which pays it (inpatient: 大病统筹; outpatient, with 特殊慢性病 “纳入门诊统筹管理”: 门诊统筹).
POOLS = ("inpatient", "outpatient")
POOL_LABELS = {"inpatient": "大病统筹基金 (住院)", "outpatient": "门诊统筹基金 (门诊)", "total": "合计"}

#: The cap bucket of a household's shared outpatient cap (户内共享, ``outpatient.cap_scope =
#: "household"``): ``outpatient_household:<户号>``, read over every member's usage.
HOUSEHOLD_BUCKET = "outpatient_household:"

PERSONS_SCHEMA = pa.schema(
    [
        ("person_id", pa.string()),
        ("id_number", pa.string()),
        ("name", pa.string()),
        ("household_id", pa.string()),
        ("category", pa.string()),
        ("village_code", pa.string()),
        ("insured", pa.int8()),
    ]
)
INSTITUTIONS_SCHEMA = pa.schema(
    [
        ("institution_id", pa.string()),
        ("name", pa.string()),
        ("level", pa.int64()),
        ("designated", pa.int8()),
        ("in_county", pa.int8()),
        ("place", pa.string()),
    ]
)
CLAIMS_SCHEMA = pa.schema(
    [
        ("claim_id", pa.string()),
        ("person_id", pa.string()),
        ("institution_id", pa.string()),
        ("kind", pa.string()),
        ("start_date", pa.date32()),
        ("end_date", pa.date32()),
        ("total_cost", MONEY),
        ("self_pay", MONEY),
        ("special_exam", MONEY),
        ("special_treatment", MONEY),
        ("blood", MONEY),
        ("special_material", MONEY),
        ("tcm_cost", MONEY),
        ("delivery", pa.string()),
        ("cataract_eyes", pa.int64()),
        ("other_insurance_paid", MONEY),
        ("transfer_of", pa.string()),
        ("certificate", pa.int8()),
        ("referral", pa.int8()),
        ("chronic_disease", pa.string()),
        ("tcm_fracture", pa.int8()),
        ("general_fee", MONEY),
        ("drug_cost", MONEY),
        ("catalogue_external_drug_cost", MONEY),
        ("desk_paid", MONEY),
        ("inpatient_category", pa.string()),
    ]
)
VILLAGES_SCHEMA = pa.schema([("village_code", pa.string()), ("name", pa.string())])


def or_empty(table: pa.Table | None, schema: pa.Schema) -> pa.Table:
    """``table``, or an empty table of ``schema`` for an optional table that was not given."""
    return table if table is not None else schema.empty_table()


#: Contributions received (筹资到账): one row per payment into the fund, by source (``SOURCE_LABELS``).
CONTRIBUTIONS_SCHEMA = pa.schema(
    [("source", pa.string()), ("received_date", pa.date32()), ("amount", MONEY), ("reference", pa.string())]
)
#: The ledger's receipts by source: due (persons × rates), received, outstanding, overpaid.
RECEIPTS_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("source_label", pa.string()),
        ("due", MONEY),
        ("received", MONEY),
        ("outstanding", MONEY),
        ("overpaid", MONEY),
        ("received_inpatient", MONEY),
        ("received_outpatient", MONEY),
    ]
)
#: The ledger by pool (``POOLS``, then ``total``, their sum): income due, spending, balance, use
#: ratio; with a contributions file, received, outstanding and the balance by what was received.
POOLS_SCHEMA = pa.schema(
    [
        ("pool", pa.string()),
        ("pool_label", pa.string()),
        ("income", MONEY),
        ("reimbursements", MONEY),
        ("balance", MONEY),
        ("use_ratio", RATIO),
        ("months_ahead", pa.int64()),
        ("received", MONEY),
        ("outstanding", MONEY),
        ("cash_balance", MONEY),
    ]
)
#: Month by month per pool: the pace (以收定支) and overdraft of each pool against its own income.
POOL_MONTHLY_SCHEMA = pa.schema(
    [
        ("pool", pa.string()),
        ("pool_label", pa.string()),
        ("month", pa.int64()),
        ("reimbursements", MONEY),
        ("cumulative", MONEY),
        ("income_to_date", MONEY),
        ("pace_limit", MONEY),
        ("use_ratio", RATIO),
        ("ahead", pa.int8()),
        ("received_to_date", MONEY),
        ("overdrawn", pa.int8()),
    ]
)
PRIOR_YEAR_SCHEMA = pa.schema(
    [("person_id", pa.string()), ("reimbursement", MONEY), ("health_check", pa.int8())]
)

#: Prior state, usage: what each cap bucket of a person has already paid in the policy year.
#: Buckets: ``inpatient``, ``outpatient``, ``tcm_fracture``, ``chronic:<disease code>``.
USAGE_SCHEMA = pa.schema([("person_id", pa.string()), ("bucket", pa.string()), ("used", MONEY)])
#: Prior state, episodes: every earlier inpatient claim of the year with its episode (a transfer
#: chain, 连续转诊), the deductible the episode has charged so far and how many of its
#: admissions count for the "first county-level admission" rule. One row per claim; the
#: episode's figures repeat on each of its claims.
EPISODES_SCHEMA = pa.schema(
    [
        ("claim_id", pa.string()),
        ("person_id", pa.string()),
        ("episode_id", pa.string()),
        ("episode_deductible", MONEY),
        ("episode_county_admissions", pa.int64()),
    ]
)


@dataclass(frozen=True)
class PriorState:
    """What a person's earlier claims of the policy year left behind (年度内既往状态).

    ``usage`` (``USAGE_SCHEMA``) and ``episodes`` (``EPISODES_SCHEMA``). Build it with
    ``claims.state_after(priced)`` from priced claims, or keep it per person at the desk.
    """

    usage: pa.Table = field(default_factory=USAGE_SCHEMA.empty_table)
    episodes: pa.Table = field(default_factory=EPISODES_SCHEMA.empty_table)


@dataclass(frozen=True)
class InsuranceInputs:
    """Everything one county-year batch reads. Optional tables are None when not given.

    Each table may carry a ``_row`` int column (the row in its source file) so that problems
    found by the core name the row; ``sources`` maps a table name to its file name.
    """

    persons: pa.Table
    institutions: pa.Table
    claims: pa.Table
    villages: pa.Table | None = None
    prior_year: pa.Table | None = None
    contributions: pa.Table | None = None
    sources: Mapping[str, str] = field(default_factory=dict)

    def source(self, table: str) -> str:
        return self.sources.get(table, f"{table}.csv")


@dataclass(frozen=True)
class Ledger:
    """The fund ledger (基金台账): contributions, reimbursements by type and level, months.

    ``contributions``: what is due, by source and person category (persons × the policy's
    rates) and its part in each pool; ``receipts``: by source, what is due, what was received
    (and its part in each pool) and what is outstanding (None without a contributions file);
    ``pools`` (``POOLS_SCHEMA``) and ``pool_monthly`` (``POOL_MONTHLY_SCHEMA``): the two pools
    and their sum; ``monthly``: the months of the sum.
    """

    contributions: pa.Table
    reimbursements: pa.Table
    monthly: pa.Table
    summary: Mapping[str, str]
    receipts: pa.Table | None = None
    pools: pa.Table = field(default_factory=POOLS_SCHEMA.empty_table)
    pool_monthly: pa.Table = field(default_factory=POOL_MONTHLY_SCHEMA.empty_table)


@dataclass(frozen=True)
class ReimbursementResult:
    """What a county-year batch produces: priced claims, ledger, statements, notice, list."""

    claims: pa.Table
    ledger: Ledger
    settlement: pa.Table
    notice: pa.Table
    villages: pa.Table
    health_checks: pa.Table
    warnings: tuple[Problem, ...]
    checks: tuple[Check, ...]
    totals: Mapping[str, str]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


#: Values of the optional claim columns when a row does not give them (as the file adapter does).
CLAIM_DEFAULTS: Mapping[str, object] = {
    "self_pay": Decimal(0),
    "special_exam": Decimal(0),
    "special_treatment": Decimal(0),
    "blood": Decimal(0),
    "special_material": Decimal(0),
    "tcm_cost": Decimal(0),
    "delivery": None,
    "cataract_eyes": 0,
    "other_insurance_paid": Decimal(0),
    "transfer_of": None,
    "certificate": 0,
    "referral": 0,
    "chronic_disease": None,
    "tcm_fracture": 0,
    "general_fee": Decimal(0),
    "drug_cost": Decimal(0),
    "catalogue_external_drug_cost": Decimal(0),
    "desk_paid": None,
    "inpatient_category": None,
}


def claims_table(rows: list[Mapping[str, object]]) -> pa.Table:
    """A claims table (``CLAIMS_SCHEMA``) from dicts; absent optional columns take their defaults.

    For the discharge desk and tests: ``claim_id, person_id, institution_id, kind, start_date,
    end_date, total_cost`` are required in every row; money as ``Decimal``, dates as ``date``.
    """
    required = ("claim_id", "person_id", "institution_id", "kind", "start_date", "end_date", "total_cost")
    filled = []
    for row in rows:
        missing = [k for k in required if k not in row]
        if missing:
            raise ValueError(f"claim row lacks {missing}")
        filled.append({**CLAIM_DEFAULTS, **row})
    return pa.Table.from_pylist(filled, schema=CLAIMS_SCHEMA)
