"""One claim as the discharge desk reads it: normalised once, its input checks, why it is refused.

``normalised`` fills ``model.CLAIM_DEFAULTS``, makes every amount a ``Decimal`` and finds the
chronic disease; the checks and the pricing (``desk.py``) all read that one normalised claim.
``input_problems`` are the claim row checks of ``validate.validate_inputs`` (same codes);
``reject_code`` is why the fund pays nothing (004 篇6 三(四)5 and the input rules).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from shidian.insurance.desk_state import DeskInstitution, DeskPerson
from shidian.insurance.model import CLAIM_DEFAULTS
from shidian.insurance.policy import ChronicDisease, InsurancePolicy
from shidian.money import FEN, ZERO
from shidian.problems import Problem, Source

PARTIAL_ITEMS = ("special_exam", "special_treatment", "blood", "special_material")
LISTED_ITEMS = ("self_pay", *PARTIAL_ITEMS, "tcm_cost", "general_fee")
MONEY = ("total_cost", *LISTED_ITEMS, "other_insurance_paid", "drug_cost", "catalogue_external_drug_cost")


def dec(value: object) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def fen_text(value: Decimal) -> str:
    """A money amount as DuckDB prints a DECIMAL(…, 2): ``1234.50``."""
    return f"{value.quantize(FEN):f}"


def normalised(
    claim: Mapping[str, Any], policy: InsurancePolicy
) -> tuple[dict[str, Any], ChronicDisease | None]:
    """The claim with its defaults, money as ``Decimal``, and its chronic disease (or None)."""
    c: dict[str, Any] = {**CLAIM_DEFAULTS, **claim}
    for key in MONEY:
        c[key] = dec(c[key])
    chronic = (
        next((d for d in policy.chronic_diseases if d.code == c["chronic_disease"]), None)
        if c["kind"] == "outpatient"
        else None
    )
    c["chronic_code"] = chronic.code if chronic else None
    return c, chronic


def reject_code(
    c: Mapping[str, Any], person: DeskPerson | None, inst: DeskInstitution | None, policy: InsurancePolicy
) -> str | None:
    """Why the fund pays nothing (三(四)5 and the input rules), first match; None when it pays."""
    out_of_area = (
        c["kind"] == "inpatient" and c["certificate"] == 1 and inst is not None and inst.in_county == 0
    )
    if person is None or not person.insured:
        return "not_insured"
    if inst is None:
        return "unknown_institution"
    if c["end_date"].year != policy.year:
        return "outside_year"
    if sum((c[i] for i in LISTED_ITEMS), ZERO) > c["total_cost"]:
        return "items_exceed_total"
    if inst.designated == 0 and not out_of_area:
        return "not_designated"
    if inst.in_county == 0 and not out_of_area and c["referral"] == 0 and c["transfer_of"] is None:
        return "not_referred"
    if (
        c["kind"] == "outpatient"
        and c["cataract_eyes"] == 0
        and c["chronic_code"] is None
        and c["tcm_fracture"] == 0
        and inst.level not in policy.outpatient_levels
    ):
        return "outpatient_level"
    if (
        c["kind"] == "inpatient"
        and policy.special(c["inpatient_category"]) is None
        and policy.tier(inst.level, inst.where) is None
    ):
        return "no_tier"
    return None


def input_problems(c: Mapping[str, Any], policy: InsurancePolicy, source: str) -> list[Problem]:
    """The input problems of one normalised claim that its cell types cannot catch (the claim
    row checks of ``validate.validate_inputs``, same codes), each naming the field."""
    found: list[tuple[str, str, str]] = []
    start, end = c["start_date"], c["end_date"]
    if isinstance(start, dt.date) and isinstance(end, dt.date) and start > end:
        found.append(
            ("dates_reversed", "start_date", f"开始日期 {start} 晚于结束日期 {end} (start after end)")
        )
    if c["delivery"] is not None and c["kind"] == "outpatient":
        found.append(
            (
                "delivery_outpatient",
                "delivery",
                f"门诊就诊不能有住院分娩类型 {c['delivery']} (delivery on an outpatient claim)",
            )
        )
    if c["kind"] == "inpatient" and (c["chronic_disease"] is not None or c["tcm_fracture"] == 1):
        found.append(
            (
                "outpatient_only",
                "chronic_disease",
                "特殊慢性病与中医门诊骨折治疗只适用于门诊 (outpatient-only item on an inpatient claim)",
            )
        )
    codes = {d.code for d in policy.chronic_diseases}
    if c["chronic_disease"] is not None and c["kind"] == "outpatient" and c["chronic_disease"] not in codes:
        found.append(
            (
                "unknown_chronic_disease",
                "chronic_disease",
                f"特殊慢性病编码 {c['chronic_disease']} 不在政策的病种表中 (unknown chronic disease)",
            )
        )
    category = c["inpatient_category"]
    if category is not None and c["kind"] == "outpatient":
        found.append(
            (
                "inpatient_category_outpatient",
                "inpatient_category",
                f"门诊就诊不能有特殊住院类别 {category} (inpatient category on an outpatient claim)",
            )
        )
    if category is not None and c["kind"] == "inpatient" and policy.special(category) is None:
        found.append(
            (
                "unknown_inpatient_category",
                "inpatient_category",
                f"特殊住院类别 {category} 不在政策的 inpatient.special 中 (unknown inpatient category)",
            )
        )
    types = int(c["cataract_eyes"] > 0) + int(c["chronic_disease"] is not None) + int(c["tcm_fracture"] == 1)
    if c["kind"] == "outpatient" and types > 1:
        found.append(
            (
                "conflicting_types",
                "cataract_eyes",
                "一次门诊只能是白内障手术、特殊慢性病、中医骨折治疗之一 (conflicting outpatient types)",
            )
        )
    total = c["total_cost"]
    if c["other_insurance_paid"] > total:
        found.append(
            (
                "other_above_total",
                "other_insurance_paid",
                f"其他保险已付 {c['other_insurance_paid']} 大于医疗总费用 {total}",
            )
        )
    if c["drug_cost"] > total:
        found.append(("drugs_above_total", "drug_cost", f"药品费用 {c['drug_cost']} 大于医疗总费用 {total}"))
    if c["catalogue_external_drug_cost"] > c["drug_cost"]:
        found.append(
            (
                "external_above_drugs",
                "catalogue_external_drug_cost",
                f"目录外药品费用 {c['catalogue_external_drug_cost']} 大于药品费用 {c['drug_cost']}",
            )
        )
    if c["transfer_of"] is not None and c["kind"] != "inpatient":
        found.append(
            (
                "transfer_not_inpatient",
                "transfer_of",
                f"转诊只能在住院之间: {c['claim_id']} 或其来源 {c['transfer_of']} 不是住院 (transfers link inpatient stays)",
            )
        )
    return [
        Problem(f"insurance.claim.{code}", message, Source(source, column=column))
        for code, column, message in found
    ]


# ---- a claim and its priced values as stored and answered (JSON text) ---------------------------

RATIO = Decimal("0.0001")


def show(name: str, value: Any) -> Any:
    """A priced value as JSON: money with 2 decimals, ratios with 4, dates ISO."""
    if isinstance(value, Decimal):
        return f"{value.quantize(RATIO if name == 'ratio' else FEN):f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def canonical(claim: Mapping[str, Any]) -> dict[str, Any]:
    """The request as stored and compared for idempotency (same meaning → same dict)."""
    return {k: show(k, v) for k, v in sorted(claim.items())}
