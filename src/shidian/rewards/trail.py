"""The explanation trail (分配说明): each unit's arithmetic in Chinese, as one SQL expression.

Built in the same columnar pass as the amounts (``concat_ws`` over CASE expressions, no Python
per unit): every number is a column of the unit's row or a stage total computed once. Shape::

    <stage title>: <thresholds>; <weight or quantity> …= <raw>; <cap>; <budget>; 本阶段 <amount> 元 | … | 合计 <total> 元

Numbers are shown as in the officials' tables: thousands separators, money with 2 decimals,
facts without trailing zeros.
"""

from __future__ import annotations

from decimal import Decimal

from shidian.display import number as format_number
from shidian.display import yuan as format_yuan
from shidian.rewards.model import StageResult
from shidian.rewards.rules import CUT_LABELS, RewardRules, Stage

__all__ = ["recipient_trail_sql", "unit_trail_sql"]


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _yuan(fen: str) -> str:
    return (
        f"(format('{{:,}}', CAST(({fen}) // 100 AS HUGEINT)) || '.' || "
        f"lpad(CAST(CAST(({fen}) % 100 AS INTEGER) AS VARCHAR), 2, '0'))"
    )


def _num(expr: str) -> str:
    return (
        f"(CASE WHEN ({expr}) < 0 THEN '-' ELSE '' END || format('{{:,}}', CAST(trunc(abs({expr})) AS HUGEINT)) || "
        f"CASE WHEN ({expr}) = trunc({expr}) THEN '' ELSE '.' || "
        f"rtrim(split_part(CAST(CAST({expr} AS DECIMAL(38,8)) AS VARCHAR), '.', 2), '0') END)"
    )


def unit_trail_sql(rules: RewardRules, results: tuple[StageResult, ...]) -> str:
    """The ``explanation`` column over ``alloc``."""
    parts = [_stage_sql(rules, stage, results[i], i) for i, stage in enumerate(rules.stages)]
    parts.append(f"'合计 ' || {_yuan('total_fen')} || ' 元'")
    return "concat_ws(' | ', " + ", ".join(parts) + ")"


def _stage_sql(rules: RewardRules, stage: Stage, result: StageResult, i: int) -> str:
    p = f"s{i}_"
    header = stage.title + (f" [{stage.article}]" if stage.article else "")
    pot = rules.stage_pot(stage)
    if pot is not None:
        header += f" (本阶段资金 {format_yuan(pot)} 元)"
    segments: list[str] = []
    for t in stage.thresholds:
        fact = rules.fact(t.fact)
        limit = format_number(t.min)
        if stage.allocator.kind == "share" and rules.fund.cut == "redistribute":
            fail = f"{t.name}: 未达门槛, 不参与本阶段分配"
        else:
            where = CUT_LABELS["return" if stage.allocator.kind == "own_funds" else rules.fund.cut]
            fail = f"{t.name}: 未达门槛, 本阶段应得 ' || {_yuan(f'{p}raw')} || ' 元不予拨付 ({where})"
        segments.append(
            f"CASE WHEN {t.fact} >= CAST('{t.min}' AS DECIMAL(38,8)) "
            f"THEN '{fact.label} ' || {_num(t.fact)} || ' ≥ {limit}{fact.unit} ({t.name})' "
            f"ELSE '{fact.label} ' || {_num(t.fact)} || ' < {limit}{fact.unit}, {fail}' END"
        )
    allocator = stage.allocator
    if allocator.kind == "share":
        segments.append(_share_sql(rules, stage, result, p))
    elif allocator.kind == "own_funds":
        segments.extend(_own_funds_sql(rules, stage, result, p))
    elif allocator.kind == "rate":
        fact = rules.fact(allocator.quantity)
        unit = fact.unit or "单位"
        segments.append(
            f"'{allocator.name}: {fact.label} ' || {_num(allocator.quantity)} || ' {fact.unit} × "
            f"{format_number(allocator.rate)} 元/{unit} = ' || {_yuan(f'{p}raw')} || ' 元'"
        )
    else:
        terms = " || ' + ' || ".join(
            f"'{allocator.labels.get(cat, cat)} ' || {p}n_{_ident(cat)} || ' 人 × {format_yuan(rate)} 元'"
            for cat, rate in allocator.rates.items()
        )
        segments.append(f"'{allocator.name}: ' || {terms} || ' = ' || {_yuan(f'{p}raw')} || ' 元'")
    cap = stage.cap
    if cap is not None:
        where = CUT_LABELS[(cap.cut or rules.fund.cut) if allocator.kind == "share" else "return"]
        segments.append(
            f"CASE WHEN {p}cap IS NOT NULL AND {p}cut_c > 0 THEN '{cap.name} ' || {_yuan(f'{p}cap')} || ' 元: 核减 ' "
            f"|| {_yuan(f'{p}cut_c')} || ' 元 ({where})' "
            f"WHEN {p}fixed THEN '{cap.name}: 按权重应得超过封顶, 按封顶 ' || {_yuan(f'{p}cap')} || ' 元计 ({where})' "
            f"WHEN {p}cap IS NOT NULL THEN '未超过{cap.name} ' || {_yuan(f'{p}cap')} || ' 元' END"
        )
    if (
        result.budget is not None
        and result.before_budget is not None
        and result.before_budget > result.budget
    ):
        segments.append(
            _lit(
                f"本阶段合计 {format_yuan(result.before_budget)} 元超出预算 {format_yuan(result.budget)} 元, "
                f"按比例核减 (× {format_yuan(result.budget)} ÷ {format_yuan(result.before_budget)}, 最大余额法取整到分)"
            )
        )
    segments.append(f"'本阶段 ' || {_yuan(f'{p}amount')} || ' 元'")
    return f"'{header}: ' || concat_ws('; ', {', '.join(segments)})"


def _own_funds_sql(rules: RewardRules, stage: Stage, result: StageResult, p: str) -> list[str]:
    step = stage.allocator
    base = rules.fact(step.base)
    base_fen = f"CAST(round({step.base} * 100, 0) AS HUGEINT)"
    if step.rest:
        claim = (
            f"'{step.name}: {base.label} ' || {_yuan(base_fen)} || ' 元 − 前阶段应拨 ' "
            f"|| {_yuan(f'{base_fen} - {p}w')} || ' 元 = 剩余 ' || {_yuan(f'{p}w')} || ' 元'"
        )
    else:
        claim = (
            f"'{step.name}: {base.label} ' || {_yuan(base_fen)} || ' 元 × {format_number(step.ratio)} = ' "
            f"|| {_yuan(f'{p}w')} || ' 元'"
        )
    segments = [claim]
    if (
        result.before_budget is not None
        and result.budget is not None
        and result.before_budget > result.budget
    ):
        segments.append(
            f"'各单位应拨合计 {format_yuan(result.before_budget)} 元超出本阶段资金 {format_yuan(result.budget)} 元, "
            f"按比例核减为 ' || {_yuan(f'{p}raw')} || ' 元 (最大余额法取整到分)'"
        )
    bands = stage.bands
    if bands is not None:
        fact = rules.fact(bands.fact)
        whens = " ".join(
            f"WHEN {bands.fact} >= CAST('{low}' AS DECIMAL(38,8)) THEN '{fact.label} ' || {_num(bands.fact)} "
            f"|| ' ≥ {format_number(low)}{fact.unit}, 拨付 × {format_number(ratio)}'"
            for low, ratio in bands.bands
        )
        lowest = format_number(bands.bands[-1][0]) if bands.bands else "0"
        segments.append(
            f"'{bands.name}: ' || CASE {whens} ELSE '{fact.label} ' || {_num(bands.fact)} "
            f"|| ' 低于最低档 {lowest}{fact.unit}, 不予拨付' END || ' = ' "
            f"|| {_yuan(f'CAST(round(CAST({p}raw AS DECIMAL(38,0)) * {p}band, 0) AS HUGEINT)')} || ' 元'"
        )
    segments.append(
        f"CASE WHEN {p}cut_t > 0 THEN '未拨付 ' || {_yuan(f'{p}cut_t')} || ' 元退回资金 (不分给其他单位)' END"
    )
    return segments


def _share_sql(rules: RewardRules, stage: Stage, result: StageResult, p: str) -> str:
    weights = stage.allocator.weight
    labels = "×".join(rules.fact(w).label for w in weights)
    values = " || '×' || ".join(_num(w) for w in weights)
    weight_sum = format_number(result.weight_sum or Decimal(0))
    shared = format_yuan(result.shared_pot or Decimal(0))
    among = "达到门槛的单位" if result.pool_is_eligible and stage.thresholds else "各单位"
    redistributes = stage.cap is not None and (stage.cap.cut or rules.fund.cut) == "redistribute"
    capped_note = f" (已扣除按封顶计的 {result.capped} 个单位)" if redistributes and result.capped else ""
    formula = (
        f"'{stage.allocator.name}: {labels} ' || {values} || ' ÷ {among}合计 {weight_sum} × {shared} 元{capped_note} = ' "
        f"|| {_yuan(f'{p}raw')} || ' 元 (最大余额法取整到分)'"
    )
    excluded = f"{p}w = 0 OR NOT {p}eligible" if result.pool_is_eligible else f"{p}w = 0"
    return (
        f"CASE WHEN {p}fixed AND {p}cut_c = 0 THEN '{stage.allocator.name}: 按封顶计' "
        f"WHEN {excluded} THEN '{stage.allocator.name}: {labels} ' || {values} || ', 不参与分配' ELSE {formula} END"
    )


def recipient_trail_sql(rules: RewardRules, results: tuple[StageResult, ...]) -> str:
    """The ``explanation`` column over ``people`` (one row per recipient)."""
    parts = []
    for i, stage in enumerate(rules.stages):
        step = stage.allocator
        if step.kind != "per_person":
            continue
        cases = " ".join(
            f"WHEN '{cat}' THEN '{step.labels.get(cat, cat)}: {format_yuan(rate)} 元'"
            for cat, rate in step.rates.items()
        )
        text = f"'{stage.title}: ' || CASE category {cases} END || CASE WHEN basis <> '' THEN ' (依据: ' || basis || ')' ELSE '' END"
        result = results[i]
        if (
            result.budget is not None
            and result.before_budget is not None
            and result.before_budget > result.budget
        ):
            text += " || " + _lit(f"; 合计超出预算 {format_yuan(result.budget)} 元, 按比例核减")
        parts.append(text + f" || '; 本阶段 ' || {_yuan(f'p{i}_amount')} || ' 元'")
    return "concat_ws(' | ', " + ", ".join(parts) + ")"


def _ident(category: str) -> str:
    return "".join(ch if ch.isalnum() and ch.isascii() else "_" for ch in category)
