"""The DRG budget from the fund (DRG总额预算), 000 篇6 第六条: per scheme, then in total.

"职工医保和居民医保的基金分别纳入DRG总额预算": each scheme's DRG budget is its pooled fund's
spending budget (统筹基金支出预算总额) minus the items the article lists; the DRG budget of the
settlement is their sum. ``settlement.toml`` gives either ``drg_budget`` directly (marked as
given) or ``[fund_budget.employee]`` / ``[fund_budget.resident]`` with ``pooled_budget`` and the
items below (an item not stated is 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from shidian.money import ZERO

ARTICLE = "000 篇6 第六条"
SCHEMES: Mapping[str, str] = {"employee": "职工医保", "resident": "居民医保"}
#: The items subtracted from a scheme's pooled budget, in the article's order; ``outpatient_pool``
#: is the residents' only (第六条(二)).
ITEMS: Mapping[str, str] = {
    "outpatient_pool": "门诊统筹(含普通门诊统筹、一般诊疗费、家庭医生签约服务费等)支出预算",
    "special_chronic_outpatient": "门诊特殊慢性病(包括异地)统筹支出预算",
    "per_diem": "按床日付费统筹支出预算",
    "pharmacy": "药店购药统筹支出预算",
    "special_drugs": "普通住院期间特药单独核算支出预算",
    "out_of_region_inpatient": "区外异地住院结算统筹支出预算",
    "non_pilot_hospitals": "非DRG试点医院普通住院结算统筹支出预算",
    "manual_settlement": "住院手工结算统筹支出预算",
    "catastrophic": "大病保险支出预算",
    "adjustment_reserve": "年度预算调节金",
    "other": "法律法规规定的其他支出预算",
}
POOLED = "pooled_budget"


def scheme_items(scheme: str) -> tuple[str, ...]:
    """The items a scheme subtracts (the employees' have no 门诊统筹)."""
    return tuple(k for k in ITEMS if scheme == "resident" or k != "outpatient_pool")


@dataclass(frozen=True)
class FundBudgetLine:
    """One line of the build-up: scheme (or ``total``), item, Chinese label, amount, article."""

    scheme: str
    item: str
    label: str
    amount: Decimal
    article: str


def drg_budget_lines(
    schemes: Mapping[str, Mapping[str, Decimal]],
) -> tuple[list[FundBudgetLine], dict[str, Decimal], Decimal]:
    """The build-up lines, each scheme's DRG budget and the total (schemes in the article's order)."""
    lines: list[FundBudgetLine] = []
    budgets: dict[str, Decimal] = {}
    for scheme, name in SCHEMES.items():
        if scheme not in schemes:
            continue
        values = schemes[scheme]
        pooled = values[POOLED]
        lines.append(FundBudgetLine(scheme, POOLED, f"{name}统筹基金支出预算总额", pooled, ARTICLE))
        budget = pooled
        for item in scheme_items(scheme):
            amount = values.get(item, ZERO)
            budget -= amount
            lines.append(FundBudgetLine(scheme, item, f"减: {ITEMS[item]}", amount, ARTICLE))
        lines.append(FundBudgetLine(scheme, "drg_budget", f"{name}点数法付费DRG预算总额", budget, ARTICLE))
        budgets[scheme] = budget
    total = sum(budgets.values(), ZERO)
    lines.append(FundBudgetLine("total", "drg_budget", "DRG总额预算 (各险种之和)", total, ARTICLE))
    return lines, budgets, total
