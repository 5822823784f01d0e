"""Case explanations (病例点数说明): why a case has its class and points, step by step.

``explain_case`` takes one row of ``case_points`` with its DRG's standards, its level's
coefficient row and the reference totals, and writes the arithmetic in Chinese with the
articles behind each step. It recomputes every number with the scalar twins in
``shidian.money`` and says so if the run's value differs, so an explanation is also a check.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from shidian.drg.fund_budget import SCHEMES
from shidian.drg.model import CATEGORY_LABELS
from shidian.drg.points import RULES
from shidian.drg.policy import DrgPolicy
from shidian.money import ZERO, D, div_round, round_points

Row = Mapping[str, object]


@dataclass(frozen=True)
class Explanation:
    case_id: str
    category: str
    final_points: Decimal
    lines: tuple[str, ...]
    consistent: bool

    def text(self) -> str:
        return "\n".join(self.lines)


def _d(row: Row, key: str) -> Decimal:
    value = row.get(key)
    return ZERO if value is None or value == "" else D(str(value))


def explain_case(
    case: Row,
    standard: Row | None,
    coefficient: Row | None,
    totals: Row,
    policy: DrgPolicy,
    month_values: Mapping[tuple[str, str], str] | None = None,
) -> Explanation:
    """The explanation of one case. ``standard``/``coefficient`` are None for ungroupable cases.
    ``month_values``: the run's monthly point values by (scheme or "", month), to name the point
    values a case with a scheme is paid at (000 篇6 第六条)."""
    category = str(case["category"])
    cost, unreasonable = _d(case, "cost"), _d(case, "unreasonable_cost")
    total_cost = cost + unreasonable
    final = _d(case, "final_points")
    lines = [
        f"病例 {case['case_id']} · 医疗机构 {case['hospital_id']} ({case['level']}级) · {case['month']}月出院 · "
        f"DRG {case.get('drg_code') or '(未入组)'}",
        f"合规费用 = 医疗总费用 {total_cost} − 不合理费用 {unreasonable} = {cost} 元 (000 篇6 第十一条: 实际合规费用)",
    ]
    n_all, sum_all = int(str(totals["reference_cases"])), D(str(totals["reference_cost"]))
    expected: Decimal
    if category == "whole_group":
        reason = (
            "无法入组"
            if not case.get("drg_code")
            else "开展新技术"
            if str(case.get("new_technology")) == "1"
            else f"不稳定病组 (参考病例数 {standard['n_drg'] if standard else 0} ≤ {policy.unstable_max_cases})"
        )
        all_avg = div_round(sum_all, D(n_all), 8)
        expected = div_round(cost * n_all * 100, sum_all, 8)
        lines += [
            f"类型: 整组单议病例, 原因: {reason} (000 篇6 第十一条、第十四条)",
            f"全区DRG例均费用 = {sum_all} ÷ {n_all} = {all_avg} 元",
            f"病例点数 = {cost} ÷ {all_avg} × 100 = {expected} (第十六条(四), 按未舍入的例均费用计算)",
        ]
    else:
        assert standard is not None and coefficient is not None
        base, coef = _d(standard, "base_points"), _d(coefficient, "coefficient")
        n_drg, sum_drg = int(str(standard["n_drg"])), _d(standard, "sum_drg")
        thr_n, thr_sum = int(str(coefficient["threshold_n"])), _d(coefficient, "threshold_sum")
        weight_note = (
            "省级权重" if str(standard.get("weight_given")).lower() in ("true", "1") else "本地测算权重"
        )
        level_avg = div_round(thr_sum, D(thr_n), 8)
        multiple = _d(coefficient, "high_multiple")
        normal = round_points(base * coef)
        lines += [
            f"基准点数 = 权重 {_d(standard, 'weight')} ({weight_note}) × 100 = {base} (第十条、第十五条)",
            f"全区本DRG例均费用 = {sum_drg} ÷ {n_drg} = {div_round(sum_drg, D(n_drg), 8)} 元; "
            f"同级别例均费用 = {thr_sum} ÷ {thr_n} = {level_avg} 元",
            f"差异系数 = {coef} (第十三条)",
            f"判定界值: 高倍率 > {multiple} × {level_avg} = {round_points(multiple * level_avg)} 元; "
            f"低倍率 < {policy.low_ratio} × {level_avg} = {round_points(policy.low_ratio * level_avg)} 元 (第十一条)",
            f"类型: {CATEGORY_LABELS[category]} (第十一条)",
        ]
        if category == "normal":
            expected = normal
            lines.append(f"病例点数 = {base} × {coef} = {expected} (第十六条(一))")
        elif category == "low":
            raw = div_round(base * cost * n_drg, sum_drg, 8)
            expected = min(base, raw)
            capped = " 超过基准点数, 取基准点数" if raw > base else ""
            lines.append(
                f"病例点数 = {base} × ({cost} ÷ 全区本DRG例均费用) = {raw}{capped} → {expected} (第十六条(二))"
            )
        else:
            lines.append(f"正常点数 = {base} × {coef} = {normal} (第十六条(三))")
            expected = normal
            if str(case.get("review_approved")) == "1":
                extra_multiple = div_round(cost * thr_n, thr_sum, 8) - multiple
                extra = round_points(extra_multiple * normal)
                expected = normal + extra
                lines += [
                    f"核准追加倍数 = {cost} ÷ {level_avg} − {multiple} = {extra_multiple}",
                    f"核准追加点数 = {extra_multiple} × {normal} = {extra}; 病例点数 = {normal} + {extra} = {expected}",
                ]
            else:
                lines.append("未经特病单议核准, 无追加点数 (第十四条): 病例点数 = 正常点数")
    prepay = _d(case, "prepay_points")
    review_month = case.get("review_pay_month")
    if str(case.get("year_end_grouping")) == "1":
        lines.append(
            f"年底入组: 上传时未能入组, 月度预拨点数 {prepay}, 不计入月度总点数, 于年终清算时拨付 "
            "(000 篇6 第十八条(一)5)"
        )
    elif category == "whole_group":
        lines.append(f"月度预拨点数 = {final} × {policy.whole_group_prepay_ratio} = {prepay} (第十八条(二)5)")
    elif category == "high":
        paid = (
            f"追加点数于{review_month}月按{case['month']}月点值 × 预拨比例拨付 (第十八条(三)(四): 评审确认次月)"
            if review_month not in (None, "")
            else "追加点数年终清算"
        )
        lines.append(f"月度预拨点数 = 正常点数 {prepay} (第十八条(二)3; {paid})")
    else:
        lines.append(f"月度预拨点数 = 病例点数 {prepay} (第十八条(二))")
    lines += _scheme_lines(case, totals, month_values or {})
    rule = RULES[f"drg.points.{category}"]
    lines.append(f"规则 {rule.id} ({rule.article}): {rule.formula}")
    consistent = expected == final
    if not consistent:
        lines.append(f"注意: 复算结果 {expected} 与结算结果 {final} 不一致")
    return Explanation(str(case["case_id"]), category, final, tuple(lines), consistent)


def _scheme_lines(case: Row, totals: Row, month_values: Mapping[tuple[str, str], str]) -> list[str]:
    """The case's scheme and the point values its points are paid at (000 篇6 第六条): its
    scheme's own with per-scheme point values, else the joint ones; nothing without a scheme."""
    scheme = str(case.get("scheme") or "")
    if not scheme:
        return []
    name, month = SCHEMES.get(scheme, scheme), str(case.get("month"))
    own = totals.get(f"scheme.{scheme}.year_point_value")
    if own is not None:
        return [
            f"险种: {name}; 分险种点值 (000 篇6 第六条: 本险种DRG预算 ÷ 本险种病例点数): "
            f"{name}{month}月月度点值 {month_values.get((scheme, month), '—')} (第十八条(二)), "
            f"{name}年度点值 {own} (第十九条(一))"
        ]
    return [
        f"险种: {name}; 联合点值 (000 篇6 第六条: 两险种基金纳入同一DRG总额预算): "
        f"{month}月月度点值 {month_values.get(('', month), '—')} (第十八条(二)), "
        f"年度点值 {totals.get('year_point_value', '—')} (第十九条(一))"
    ]
