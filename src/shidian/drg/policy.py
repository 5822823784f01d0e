"""DRG policy (DRG付费政策参数): the parameters of 000 篇6 and 篇5, declared once.

``PARAMS`` is the table every DRG policy file is validated against; ``DrgPolicy`` is the
frozen, typed view the core computes with. Documentation of each parameter is generated from
``PARAMS`` (``docs/policies/drg.md``), so the article and help text live only here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from shidian.policy import (
    Param,
    Policy,
    PolicyKind,
    boolean,
    choice,
    decimal,
    integer,
    load_policy,
    table_list,
    typed_policy,
)
from shidian.problems import Problem

ONE = Decimal(1)

PARAMS: tuple[Param, ...] = (
    Param(
        "groups.unstable_max_cases",
        integer(min=0),
        "000 篇6 第十一条",
        "参考病例数不超过此数的病组为不稳定病组 (a DRG with at most this many reference cases is unstable)",
        field="unstable_max_cases",
    ),
    Param(
        "groups.basic_coefficient",
        decimal(min=Decimal(0)),
        "000 篇6 第十三条(一)",
        "基础病组各级医疗机构统一的差异系数 (one coefficient for basic groups at every level)",
        default=ONE,
        field="basic_coefficient",
    ),
    Param(
        "groups.missing_level_coefficient",
        decimal(min=Decimal(0)),
        "000 篇6 第十三条(一) (未规定, 本系统约定)",
        "稳定病组在某等级无参考病例时的差异系数 (coefficient of a stable DRG at a level with no reference case)",
        default=ONE,
        field="missing_level_coefficient",
    ),
    Param(
        "classes.high_ratio_bands",
        table_list(max_base_points=decimal(min=Decimal(0)), multiple=decimal(min=ONE)),
        "000 篇6 第十一条(一)",
        "高倍率判定: 基准点数上限及对应倍数, 最后一档 max_base_points 取很大值 (high-ratio bands)",
    ),
    Param(
        "classes.low_ratio",
        decimal(min=Decimal(0), max=ONE),
        "000 篇6 第十一条(二)",
        "低于同级别病组例均费用此倍数为低倍率病例 (low-ratio threshold)",
        field="low_ratio",
    ),
    Param(
        "prepayment.ratio",
        decimal(min=Decimal(0), max=ONE),
        "000 篇6 第十八条",
        "月度预付比例 (monthly prepayment ratio; the rest is the quality deposit or incentive pool)",
        field="prepay_ratio",
    ),
    Param(
        "prepayment.whole_group_ratio",
        decimal(min=Decimal(0), max=ONE),
        "000 篇6 第十八条(二)5",
        "整组单议病例预拨点数比例 (share of whole-group review points counted in the monthly prepayment)",
        field="whole_group_prepay_ratio",
    ),
    Param(
        "prepayment.ungroupable_at_year_end",
        boolean(),
        "000 篇6 第十八条(一)5",
        "仍不能入组的病案归于年底入组、清算时拨付: 不预拨, 不计入月度总点数 (ungroupable cases wait for the "
        "year end: no monthly prepayment, no monthly points); false: 按整组单议按月预拨",
        default=True,
        field="ungroupable_at_year_end",
    ),
    Param(
        "prepayment.review_month_after_approval",
        boolean(),
        "000 篇6 第十八条(三)(四)",
        "特病单议核准追加点数在评审确认次月拨付: 追加点数 × 病例所在月月度点值 × 预拨比例 (approved extra "
        "points paid the month after approval at the case month's point value × ratio); 无核准日期或 false: 年终清算",
        default=True,
        field="review_month_after_approval",
    ),
    Param(
        "prepayment.deduction_month_after_audit",
        boolean(),
        "000 篇6 第十八条(四)",
        "审核扣减于审核次月执行 (deductions taken in the month after the audit date, at the point value of "
        "their own month); 无审核日期或 false: 于扣款所属月份执行",
        default=True,
        field="deduction_month_after_audit",
    ),
    Param(
        "prepayment.monthly_formula",
        choice("as_written", "non_fund_inclusive"),
        "000 篇6 第十八条(二)(三)",
        "月度点值公式: as_written 按原文 (预算÷点数, 减患者现金); non_fund_inclusive 月度点值计入非统筹支付",
        field="monthly_formula",
    ),
    Param(
        "advance.months",
        integer(min=0),
        "000 篇6 第十七条",
        "年度预付: 每年1月预付上年度统筹基金月均支付费用的月数, 次年1月重新核定、差额补退 (months of last "
        "year's average monthly fund payments advanced each January; used when the advances table is given)",
        default=2,
        field="advance_months",
    ),
    Param(
        "schemes.point_value",
        choice("joint", "per_scheme"),
        "000 篇6 第六条",
        "职工医保和居民医保的点值: joint 联合点值 (两险种基金分别纳入同一DRG总额预算, 一个月度点值、一个年度点值; "
        "按原文); per_scheme 分险种点值 (各险种DRG预算 ÷ 本险种病例点数, 月度预拨与年终清算分险种计算后相加; "
        "需在 settlement.toml 按险种给出 fund_budget, 病例注明险种) (joint: one point value for all cases, the literal reading; "
        "per_scheme: each scheme's budget over its own cases' points)",
        default="joint",
        field="scheme_point_value",
    ),
    Param(
        "year_end.method",
        choice("point_value", "incentive_pool"),
        "000 篇6 第十九条 / 篇5 三(四)",
        "年终清算方式: point_value 按年度点值清算 (贵港); incentive_pool 激励基金池按鼓励系数分配 (汕尾)",
        field="year_end_method",
    ),
    Param(
        "year_end.apply_caps",
        boolean(),
        "000 篇6 第十九条(三)",
        "是否执行结余率与自费比例两项限制 (apply the surplus and self-pay caps)",
        field="apply_caps",
    ),
    Param(
        "year_end.surplus_cap_ratio",
        decimal(min=Decimal(0)),
        "000 篇6 第十九条(三)",
        "年结余率上限, 占实际消费总额 (surplus cap as a share of the hospital's actual total cost)",
        field="surplus_cap_ratio",
    ),
    Param(
        "year_end.self_pay_cap_ratio",
        decimal(min=Decimal(0), max=ONE),
        "000 篇6 第十九条(三)",
        "自费费用比例上限 (self-pay cap as a share of total cost)",
        field="self_pay_cap_ratio",
    ),
)


@dataclass(frozen=True)
class HighRatioBand:
    """高倍率判定界值: cases of a DRG with base points ≤ ``max_base_points`` use ``multiple``."""

    max_base_points: Decimal
    multiple: Decimal


@dataclass(frozen=True)
class DrgPolicy:
    """A validated DRG policy, typed. ``source`` keeps the file's id, version and hash."""

    source: Policy
    unstable_max_cases: int
    basic_coefficient: Decimal
    missing_level_coefficient: Decimal
    high_ratio_bands: tuple[HighRatioBand, ...]
    low_ratio: Decimal
    prepay_ratio: Decimal
    whole_group_prepay_ratio: Decimal
    ungroupable_at_year_end: bool
    review_month_after_approval: bool
    deduction_month_after_audit: bool
    monthly_formula: str
    advance_months: int
    scheme_point_value: str
    year_end_method: str
    apply_caps: bool
    surplus_cap_ratio: Decimal
    self_pay_cap_ratio: Decimal

    @property
    def name(self) -> str:
        return self.source.meta.id


def parse_drg_policy(text: str, source: str) -> tuple[DrgPolicy | None, list[Problem]]:
    """Validate a DRG policy's TOML text; every problem names the file, key and line."""
    policy, problems = load_policy(text, source, PARAMS)
    if policy is None:
        return None, problems
    v: Mapping[str, Any] = policy.values
    bands = tuple(HighRatioBand(r["max_base_points"], r["multiple"]) for r in v["classes.high_ratio_bands"])
    uppers = [b.max_base_points for b in bands]
    if uppers != sorted(uppers) or len(set(uppers)) != len(uppers):
        from shidian.problems import Source

        return None, [
            Problem(
                "policy.param.invalid",
                "参数 classes.high_ratio_bands 无效: max_base_points 应严格递增",
                Source(source, key="classes.high_ratio_bands"),
            )
        ]
    return (
        typed_policy(
            DrgPolicy,
            policy,
            high_ratio_bands=bands,
        ),
        [],
    )


#: The DRG policies: ``POLICIES.load(name, policy_file)``, ``POLICIES.named(name)``.
POLICIES = PolicyKind("drg", "DRG点数法付费 (DRG point-method payment)", PARAMS, parse_drg_policy)
