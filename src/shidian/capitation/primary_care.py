"""Public-health and primary-care money (基本公共卫生经费与基层补偿): 002 篇四; 001 第十八篇.

Three calculations, each with its sentence:

* **public-health funds per 医共体** (002 篇二(一): "按照不低于人均 25 元的标准落实基本公共卫生
  服务经费"; 001 第十八篇: "基本公共卫生服务经费按医共体常住人口总额预算, … 年初预拨部分工作经费,
  绩效考核后发放"): budget = per-capita amount × residents; prepaid = budget × prepaid ratio; after
  the assessment, 三(四) "对绩效考核差的可扣减资金安排, 对绩效考核好的可给予适当奖励": a deduction of
  ``deduction_per_point`` of the budget per point under the pass mark (never below 0); the money
  deducted rewards the 医共体 at or above the reward mark, in proportion to their budgets (largest
  remainder), or returns to the finance when none is; final payment = entitlement − prepaid;
* **at least 40% to village clinics** (四: "安排不低于40%的基本公共卫生服务工作量由村卫生室承担,
  并相应落实不低于40%的基本公共卫生服务经费"): the village clinics' part of a 医共体's entitlement
  = entitlement × max(floor, their workload share); a workload share under the floor is a warning;
* **village clinic subsidy floor** (四: "省财政按每个行政村一个卫生室每年5000元的标准给予补助 …
  原则上每个行政村每年补助总额不低于10000元"): provincial = 5,000 if the clinic qualifies; county
  top-up = max(0, floor − provincial − other subsidies);
* **deficit subsidy of township health centres** (二、二(三): "经常性收支差额由政府按照'核定任务、
  核定收支、绩效考核补助'的办法补助", "实行先预拨后结算"): deficit = max(0, recurring spending −
  recurring income); subsidy = deficit × the assessment coefficient (the same deduction per point);
  settlement = subsidy − prepaid (negative: recovered).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from shidian.money import ONE, ZERO, round_fen, split_largest_remainder
from shidian.policy import Policy
from shidian.problems import Problem, Source
from shidian.runs import Check

ART_PH = "002 篇四 二(一); 001 第十八篇"
ART_ASSESS = "002 篇四 三(四)"
ART_VILLAGE = "002 篇四 四"
ART_DEFICIT = "002 篇四 二、二(三)"


@dataclass(frozen=True)
class PrimaryCarePolicy:
    """The typed primary-care policy."""

    source: Policy
    per_capita: Decimal
    prepaid_ratio: Decimal
    pass_mark: Decimal
    deduction_per_point: Decimal
    reward_mark: Decimal
    village_min_ratio: Decimal
    village_floor: Decimal
    provincial_per_village: Decimal


@dataclass(frozen=True)
class CommunityHealth:
    """A 医共体's public-health inputs: residents (常住人口), the village clinics' workload share, score."""

    community_id: str
    residents: int
    village_workload_ratio: Decimal
    score: Decimal


@dataclass(frozen=True)
class PublicHealth:
    """A 医共体's public-health money: budget, prepaid, deduction, reward, entitlement, the
    payment after assessment (entitlement − prepaid), and the village clinics' part."""

    community_id: str
    residents: int
    score: Decimal
    budget: Decimal
    prepaid: Decimal
    deduction: Decimal
    reward: Decimal
    entitlement: Decimal
    after_assessment: Decimal
    village_ratio: Decimal
    village_amount: Decimal
    other_amount: Decimal


@dataclass(frozen=True)
class Village:
    """A village (行政村) and its clinic: qualified (实行零差率且考核达标), other subsidies (元)."""

    village_code: str
    name: str
    qualified: bool
    other_subsidy: Decimal


@dataclass(frozen=True)
class VillageSubsidy:
    village_code: str
    provincial: Decimal
    other_subsidy: Decimal
    county_top_up: Decimal
    total: Decimal


@dataclass(frozen=True)
class Township:
    """A township health centre's recurring spending and income, the amount prepaid, its score."""

    institution_id: str
    name: str
    recurring_spending: Decimal
    recurring_income: Decimal
    prepaid: Decimal
    score: Decimal


@dataclass(frozen=True)
class DeficitSubsidy:
    institution_id: str
    deficit: Decimal
    coefficient: Decimal
    subsidy: Decimal
    prepaid: Decimal
    settlement: Decimal


def coefficient(score: Decimal, policy: PrimaryCarePolicy) -> Decimal:
    """The assessment coefficient: 1 − deduction per point × points under the pass mark, ≥ 0."""
    return max(ZERO, ONE - policy.deduction_per_point * max(ZERO, policy.pass_mark - score))


def public_health(
    communities: Sequence[CommunityHealth], policy: PrimaryCarePolicy
) -> tuple[list[PublicHealth], Decimal]:
    """Each 医共体's public-health money, and the deducted money returned to the finance."""
    budgets = [round_fen(policy.per_capita * c.residents) for c in communities]
    deductions = [
        b - round_fen(b * coefficient(c.score, policy)) for c, b in zip(communities, budgets, strict=True)
    ]
    pool = sum(deductions, ZERO)
    good = [c.score >= policy.reward_mark and b > 0 for c, b in zip(communities, budgets, strict=True)]
    rewards = [ZERO] * len(communities)
    returned = ZERO
    if pool > 0 and any(good):
        rewards = split_largest_remainder(
            pool, [b if g else ZERO for b, g in zip(budgets, good, strict=True)]
        )
    else:
        returned = pool
    rows = []
    for c, budget, deduction, reward in zip(communities, budgets, deductions, rewards, strict=True):
        prepaid = round_fen(budget * policy.prepaid_ratio)
        entitlement = budget - deduction + reward
        ratio = max(policy.village_min_ratio, c.village_workload_ratio)
        village = round_fen(entitlement * ratio)
        rows.append(
            PublicHealth(
                c.community_id,
                c.residents,
                c.score,
                budget,
                prepaid,
                deduction,
                reward,
                entitlement,
                entitlement - prepaid,
                ratio,
                village,
                entitlement - village,
            )
        )
    return rows, returned


def village_subsidies(villages: Sequence[Village], policy: PrimaryCarePolicy) -> list[VillageSubsidy]:
    """Each village's provincial subsidy and the county's top-up to the floor."""
    rows = []
    for v in villages:
        provincial = policy.provincial_per_village if v.qualified else ZERO
        top_up = max(ZERO, policy.village_floor - provincial - v.other_subsidy)
        rows.append(
            VillageSubsidy(
                v.village_code, provincial, v.other_subsidy, top_up, provincial + v.other_subsidy + top_up
            )
        )
    return rows


def deficit_subsidies(townships: Sequence[Township], policy: PrimaryCarePolicy) -> list[DeficitSubsidy]:
    """Each township health centre's deficit subsidy after assessment, and its settlement."""
    rows = []
    for t in townships:
        deficit = max(ZERO, t.recurring_spending - t.recurring_income)
        coef = coefficient(t.score, policy)
        subsidy = round_fen(deficit * coef)
        rows.append(DeficitSubsidy(t.institution_id, deficit, coef, subsidy, t.prepaid, subsidy - t.prepaid))
    return rows


@dataclass(frozen=True)
class PrimaryCareRun:
    """The results of the tables given (None where a table was not), totals, checks, warnings."""

    public_health: list[PublicHealth] | None
    returned: Decimal
    villages: list[VillageSubsidy] | None
    townships: list[DeficitSubsidy] | None
    totals: dict[str, str]
    checks: list[Check]
    warnings: list[Problem]


def run_primary_care(
    communities: Sequence[CommunityHealth] | None,
    villages: Sequence[Village] | None,
    townships: Sequence[Township] | None,
    policy: PrimaryCarePolicy,
    health_file: str = "health.csv",
) -> PrimaryCareRun:
    """Every calculation whose table is given, with its invariants and warnings."""
    checks: list[Check] = []
    warnings: list[Problem] = []
    totals: dict[str, str] = {}
    ph, returned = (None, ZERO) if communities is None else public_health(communities, policy)
    if ph is not None and communities is not None:
        budget = sum((r.budget for r in ph), ZERO)
        entitled = sum((r.entitlement for r in ph), ZERO)
        totals |= {"public_health_budget_yuan": str(budget), "public_health_returned_yuan": str(returned)}
        checks.append(
            Check(
                "public_health_conserved",
                "各医共体应得之和 + 退回财政 = 公共卫生经费预算之和; 村卫生室部分 + 其余 = 应得",
                entitled + returned == budget
                and all(r.village_amount + r.other_amount == r.entitlement for r in ph)
                and all(r.deduction <= r.budget for r in ph),
                f"{entitled} + {returned} vs {budget}",
            )
        )
        for c in communities:
            if c.village_workload_ratio < policy.village_min_ratio:
                warnings.append(
                    Problem(
                        "capitation.health.village_workload_low",
                        f"医共体 {c.community_id} 村卫生室承担的公共卫生工作量占比 {c.village_workload_ratio} 低于 "
                        f"{policy.village_min_ratio} (002 篇四 四): 经费仍按 {policy.village_min_ratio} 落实到村",
                        Source(health_file, column="village_workload_ratio", key=c.community_id),
                        "warning",
                    )
                )
    vs = None if villages is None else village_subsidies(villages, policy)
    if vs is not None:
        totals["village_top_up_yuan"] = str(sum((v.county_top_up for v in vs), ZERO))
        checks.append(
            Check(
                "village_floor",
                "每个行政村补助总额 ≥ 下限, 县级补足 ≥ 0",
                all(v.total >= policy.village_floor and v.county_top_up >= 0 for v in vs),
                f"{len(vs)} 个行政村",
            )
        )
    ts = None if townships is None else deficit_subsidies(townships, policy)
    if ts is not None:
        totals["township_subsidy_yuan"] = str(sum((t.subsidy for t in ts), ZERO))
        checks.append(
            Check(
                "deficit_bounded",
                "差额补助不超过经常性收支差额; 结算 = 补助 − 已预拨",
                all(0 <= t.subsidy <= t.deficit and t.settlement == t.subsidy - t.prepaid for t in ts),
                f"{len(ts)} 个乡镇卫生院",
            )
        )
    return PrimaryCareRun(ph, returned, vs, ts, totals, checks, warnings)
