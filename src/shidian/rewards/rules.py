"""Reward rules (以奖代补分配规则): a fund, the facts it reads, its stages and their named steps.

A rule file is TOML (``policies/rewards/<name>.toml``). Its vocabulary is small on purpose:

* ``[fund]`` — the pot (资金总额, yuan) or ``open_ended = true`` for a fund paid per verified
  quantity with no fixed total; ``cut_amounts`` says where money cut by a threshold or a cap goes
  (``return`` 退回资金 / ``redistribute`` 在其他单位间再分配);
* ``[facts.<name>]`` — each fact a unit reports (基数、得分、数量), with a Chinese ``label`` (also
  accepted as the column header) and an allowed range;
* ``[stages.<id>]`` — the stages in order (e.g. 预拨 then 考核结算), each taking ``pot_ratio`` of the
  pot or a fixed ``amount``; ``[stages.<id>.steps.<id>]`` — its named steps, each of one ``kind``:

  ``threshold`` 门槛 (fact ≥ min, else nothing in this stage), ``share`` 按权重分配 (the stage's
  pot in proportion to the product of facts), ``rate`` 按量计奖 (quantity × rate), ``per_person``
  按人计奖 (a rate per recipient category), ``own_funds`` 按本单位资金拨付 (the unit's own base ×
  ratio, or the rest of it; pro rata only when the stage's pot cannot cover the claims),
  ``bands`` 按考核分档结算 (after own_funds: a ratio by score band, the rest returned), ``cap``
  封顶 (per unit), ``budget`` 预算封顶 (pro-rata reduction when the stage's total exceeds its
  budget).

Every step has a Chinese ``name`` and may have ``name_en``; explanations quote them. Parsing
returns every problem at once, each naming the file, key path and line. ``overrides``
(``stages.evaluation.steps.pass.min=70``) change a value before validation: the what-if mode.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import tomllib
from collections.abc import Sequence
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from shidian.money import FEN, ONE, ZERO
from shidian.policy import PolicyMeta
from shidian.problems import Problem, Source
from shidian.rewards.model import (
    ALLOCATORS,
    CUT_LABELS,
    CUT_MODES,
    FACT_NAME,
    FACT_SCALE,
    RESERVED_FACTS,
    STEP_KINDS,
    STEP_LABELS,
    CutMode,
    Fact,
    Fund,
    RewardRules,
    Stage,
    Step,
)

__all__ = ["CUT_LABELS", "CutMode", "Fact", "Fund", "RewardRules", "Stage", "Step", "parse_rules"]

# ---- parsing -------------------------------------------------------------------------------

_META_REQUIRED = ("id", "name", "region", "version", "effective_from", "seed")
_FUND_KEYS = {"name", "pot", "open_ended", "cut_amounts", "unit_label", "article"}
_FACT_KEYS = {"label", "min", "max", "unit", "article"}
_STAGE_KEYS = {"name", "name_en", "pot_ratio", "amount", "steps", "article"}
_COMMON_STEP_KEYS = {"kind", "name", "name_en", "article"}
_STEP_KEYS = {
    "threshold": {"fact", "min"},
    "share": {"weight"},
    "rate": {"quantity", "rate"},
    "per_person": {"rates", "labels"},
    "own_funds": {"base", "ratio", "rest"},
    "bands": {"fact", "bands"},
    "cap": {"max", "max_fact", "ratio", "cut_amounts"},
    "budget": {"amount"},
}


class _Collector:
    def __init__(self, text: str, source: str):
        self.text = text
        self.source = source
        self.problems: list[Problem] = []

    def add(self, code: str, key: str, message: str) -> None:
        self.problems.append(
            Problem(code, message, Source(self.source, row=_line_of(self.text, key), key=key))
        )


def parse_rules(
    text: str, source: str, overrides: Sequence[tuple[str, str]] = ()
) -> tuple[RewardRules | None, list[Problem]]:
    """Parse and validate a rule file; ``overrides`` are ``(dotted key, TOML value)`` pairs."""
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        line = int(match.group(1)) if match else None
        return None, [Problem("rewards.rules.syntax", f"TOML 语法错误: {exc}", Source(source, row=line))]
    c = _Collector(text, source)
    for key, value in overrides:
        _apply_override(data, key, value, c)
    meta = _meta(data.get("meta"), c)
    fund = _fund(data.get("fund"), c)
    facts = _facts(data.get("facts"), c)
    stages = _stages(data.get("stages"), c, {f.name for f in facts or ()})
    for key in data:
        if key not in ("meta", "fund", "facts", "stages"):
            c.add("rewards.rules.unknown_key", key, f"未知的键 {key} (unknown key)")
    if fund is not None and stages is not None and not c.problems:
        _check_pots(fund, stages, c)
    if c.problems or meta is None or fund is None or facts is None or stages is None:
        return None, c.problems
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return RewardRules(meta, fund, facts, stages, source, sha, tuple(overrides)), []


def _apply_override(data: dict[str, Any], key: str, value: str, c: _Collector) -> None:
    *parents, name = key.split(".")
    node: Any = data
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, dict) or (name not in node and not parents):
        c.add("rewards.rules.override_unknown", key, f"无法修改 {key}: 规则文件中没有这一项 (no such table)")
        return
    try:
        parsed = tomllib.loads(f"v = {value}", parse_float=Decimal)["v"]
    except tomllib.TOMLDecodeError:
        parsed = value
    node[name] = parsed


def _meta(raw: Any, c: _Collector) -> PolicyMeta | None:
    if not isinstance(raw, dict):
        c.add("rewards.rules.missing_key", "meta", "缺少 [meta] 表 (missing [meta])")
        return None
    ok = True
    for key in _META_REQUIRED:
        if key not in raw:
            c.add("rewards.rules.missing_key", f"meta.{key}", f"缺少 [meta] 中的 {key} (missing key)")
            ok = False
    for key in ("effective_from", "effective_to"):
        if key in raw and not isinstance(raw[key], dt.date):
            c.add("rewards.rules.invalid_value", f"meta.{key}", f"应为日期 YYYY-MM-DD, 实际为 {raw[key]!r}")
            ok = False
    if not ok:
        return None
    return PolicyMeta(
        id=str(raw["id"]),
        name=str(raw["name"]),
        region=str(raw["region"]),
        version=str(raw["version"]),
        effective_from=raw["effective_from"],
        effective_to=raw.get("effective_to"),
        seed=str(raw["seed"]),
        supersedes=str(raw["supersedes"]) if "supersedes" in raw else None,
    )


_FACT_UNIT = Decimal(1).scaleb(-FACT_SCALE)
_LARGEST = Decimal(10) ** 15


def _number(
    raw: Any, key: str, c: _Collector, *, minimum: Decimal | None = ZERO, fen: bool = False
) -> Decimal | None:
    if isinstance(raw, bool) or not isinstance(raw, (int, Decimal)):
        c.add("rewards.rules.invalid_value", key, f"{key} 应为数值 (a number), 实际为 {raw!r}")
        return None
    number = Decimal(raw)
    if not number.is_finite():
        c.add("rewards.rules.invalid_value", key, f"{key} 应为有限数值, 实际为 {raw!r}")
        return None
    if minimum is not None and number < minimum:
        c.add(
            "rewards.rules.negative", key, f"{key} 不能小于 {minimum} (must not be negative), 实际为 {number}"
        )
        return None
    if abs(number) >= _LARGEST:
        c.add("rewards.rules.invalid_value", key, f"{key} 应小于 10^15, 实际为 {number}")
        return None
    if fen and number != number.quantize(FEN):
        c.add("rewards.rules.invalid_value", key, f"{key} 为金额, 最多保留两位小数 (fen), 实际为 {number}")
        return None
    if number != number.quantize(_FACT_UNIT):
        c.add(
            "rewards.rules.invalid_value",
            key,
            f"{key} 最多 8 位小数, 实际为 {number} (never rounded)",
        )
        return None
    return number


def _text(raw: Any, key: str, c: _Collector, default: str | None = None) -> str:
    if raw is None and default is not None:
        return default
    if not isinstance(raw, str) or not raw.strip():
        c.add(
            "rewards.rules.missing_key" if raw is None else "rewards.rules.invalid_value",
            key,
            f"{key} 应为非空文字 (non-empty text)",
        )
        return ""
    return _plain(raw, key, c)


def _plain(raw: Any, key: str, c: _Collector) -> str:
    """An optional text; quotes and backslashes are refused (texts are quoted into SQL)."""
    text = str(raw).strip()
    if any(ch in text for ch in "'\\\n"):
        c.add("rewards.rules.invalid_value", key, f"{key} 不能含有单引号、反斜杠或换行 (no quotes)")
        return ""
    return text


def _unknown(raw: dict[str, Any], allowed: set[str], prefix: str, c: _Collector) -> None:
    for key in raw:
        if key not in allowed:
            c.add("rewards.rules.unknown_key", f"{prefix}.{key}", f"未知的键 {prefix}.{key} (unknown key)")


def _cut(raw: Any, key: str, c: _Collector) -> CutMode | None:
    if raw not in CUT_MODES:
        c.add(
            "rewards.rules.invalid_value",
            key,
            f"{key} 应为 return (退回资金) 或 redistribute (再分配), 实际为 {raw!r}",
        )
        return None
    return raw  # type: ignore[no-any-return]


def _fund(raw: Any, c: _Collector) -> Fund | None:
    if not isinstance(raw, dict):
        c.add("rewards.rules.missing_key", "fund", "缺少 [fund] 表 (missing [fund])")
        return None
    _unknown(raw, _FUND_KEYS, "fund", c)
    name = _text(raw.get("name"), "fund.name", c)
    open_ended = raw.get("open_ended", False)
    if not isinstance(open_ended, bool):
        c.add("rewards.rules.invalid_value", "fund.open_ended", "fund.open_ended 应为 true 或 false")
        return None
    pot: Decimal | None = None
    if "pot" in raw:
        if open_ended:
            c.add("rewards.rules.invalid_value", "fund.pot", "open_ended = true 的资金不能同时给出 pot")
            return None
        pot = _number(raw["pot"], "fund.pot", c, fen=True)
        if pot is None:
            return None
    elif not open_ended:
        c.add(
            "rewards.rules.missing_pot",
            "fund",
            "缺少资金总额 fund.pot (或写明 open_ended = true 表示按量据实奖补, 不设总额) (missing pot)",
        )
        return None
    cut = _cut(raw.get("cut_amounts", "return"), "fund.cut_amounts", c)
    unit_label = _plain(raw.get("unit_label", "单位"), "fund.unit_label", c)
    if cut is None or not name:
        return None
    return Fund(name, pot, cut, str(unit_label))


def _facts(raw: Any, c: _Collector) -> tuple[Fact, ...] | None:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        c.add("rewards.rules.invalid_value", "facts", "[facts] 应为表 (a table of facts)")
        return None
    facts = []
    for name, spec in raw.items():
        key = f"facts.{name}"
        if not FACT_NAME.match(name) or name in RESERVED_FACTS:
            c.add("rewards.rules.invalid_value", key, f"事实名 {name} 应为小写英文标识符且不是保留列名")
            continue
        if not isinstance(spec, dict):
            c.add("rewards.rules.invalid_value", key, f"{key} 应为表 (a table)")
            continue
        _unknown(spec, _FACT_KEYS, key, c)
        label = _text(spec.get("label"), f"{key}.label", c)
        low = _number(spec.get("min", ZERO), f"{key}.min", c)
        high = _number(spec["max"], f"{key}.max", c) if "max" in spec else None
        if low is not None and high is not None and high < low:
            c.add("rewards.rules.invalid_value", f"{key}.max", f"{key}.max 小于 min")
        facts.append(Fact(name, label, low or ZERO, high, _plain(spec.get("unit", ""), f"{key}.unit", c)))
    return tuple(facts)


def _stages(raw: Any, c: _Collector, facts: set[str]) -> tuple[Stage, ...] | None:
    if not isinstance(raw, dict) or not raw:
        c.add("rewards.rules.missing_key", "stages", "缺少 [stages.<id>] (at least one stage)")
        return None
    stages = []
    for stage_id, spec in raw.items():
        key = f"stages.{stage_id}"
        if not FACT_NAME.match(stage_id):
            c.add("rewards.rules.invalid_value", key, f"阶段代码 {stage_id} 应为小写英文标识符, 如 upfront")
            continue
        if not isinstance(spec, dict):
            c.add("rewards.rules.invalid_value", key, f"{key} 应为表 (a table)")
            continue
        _unknown(spec, _STAGE_KEYS, key, c)
        name = _text(spec.get("name"), f"{key}.name", c)
        ratio = _number(spec["pot_ratio"], f"{key}.pot_ratio", c) if "pot_ratio" in spec else None
        if ratio is not None and ratio > ONE:
            c.add("rewards.rules.invalid_value", f"{key}.pot_ratio", f"{key}.pot_ratio 应在 0 到 1 之间")
        amount = _number(spec["amount"], f"{key}.amount", c, fen=True) if "amount" in spec else None
        if ratio is not None and amount is not None:
            c.add("rewards.rules.invalid_value", key, f"{key} 只能给出 pot_ratio 或 amount 之一")
        steps = _steps(spec.get("steps"), key, c, facts)
        if steps is None:
            continue
        stages.append(
            Stage(
                stage_id,
                name,
                _plain(spec.get("name_en", ""), f"{key}.name_en", c),
                ratio,
                amount,
                steps,
                _plain(spec.get("article", ""), f"{key}.article", c),
            )
        )
    return tuple(stages)


def _steps(raw: Any, prefix: str, c: _Collector, facts: set[str]) -> tuple[Step, ...] | None:
    key = f"{prefix}.steps"
    if not isinstance(raw, dict) or not raw:
        c.add("rewards.rules.missing_key", key, f"缺少 [{key}.<id>] 规则步骤 (no steps)")
        return None
    steps: list[Step] = []
    count = len(c.problems)
    for step_id, spec in raw.items():
        skey = f"{key}.{step_id}"
        if not isinstance(spec, dict):
            c.add("rewards.rules.invalid_value", skey, f"{skey} 应为表 (a table)")
            continue
        kind = spec.get("kind")
        if kind not in STEP_KINDS:
            c.add(
                "rewards.rules.unknown_step_kind",
                f"{skey}.kind",
                f"未知的步骤类型 {kind!r}, 应为 {' / '.join(STEP_KINDS)} 之一 (unknown step kind)",
            )
            continue
        _unknown(spec, _COMMON_STEP_KEYS | _STEP_KEYS[kind], skey, c)
        step = _step(step_id, kind, spec, skey, c, facts)
        if step is not None:
            steps.append(step)
    if len(c.problems) > count:
        return None
    _check_order(steps, prefix, c)
    return tuple(steps) if len(c.problems) == count else None


def _fact_ref(raw: Any, key: str, c: _Collector, facts: set[str]) -> str:
    if not isinstance(raw, str) or raw not in facts:
        c.add("rewards.rules.unknown_fact", key, f"{key} = {raw!r} 不是 [facts] 中声明的事实 (unknown fact)")
        return ""
    return raw


def _step(
    step_id: str, kind: str, spec: dict[str, Any], key: str, c: _Collector, facts: set[str]
) -> Step | None:
    name = _text(spec.get("name"), f"{key}.name", c, default=STEP_LABELS[kind])
    common: dict[str, Any] = {
        "id": step_id,
        "kind": kind,
        "name": name,
        "name_en": _plain(spec.get("name_en", ""), f"{key}.name_en", c),
        "article": _plain(spec.get("article", ""), f"{key}.article", c),
    }
    if kind == "threshold":
        low = _number(spec.get("min"), f"{key}.min", c, minimum=None)
        return Step(**common, fact=_fact_ref(spec.get("fact"), f"{key}.fact", c, facts), min=low or ZERO)
    if kind == "share":
        weight = spec.get("weight")
        if isinstance(weight, str):
            weight = [weight]
        if not isinstance(weight, list) or not weight:
            c.add(
                "rewards.rules.invalid_value",
                f"{key}.weight",
                f'{key}.weight 应为事实名列表, 如 ["score", "population"]',
            )
            return None
        return Step(**common, weight=tuple(_fact_ref(w, f"{key}.weight", c, facts) for w in weight))
    if kind == "rate":
        rate = _number(spec.get("rate"), f"{key}.rate", c)
        return Step(
            **common, quantity=_fact_ref(spec.get("quantity"), f"{key}.quantity", c, facts), rate=rate or ZERO
        )
    if kind == "per_person":
        rates_raw, labels_raw = spec.get("rates"), spec.get("labels", {})
        if not isinstance(rates_raw, dict) or not rates_raw:
            c.add("rewards.rules.invalid_value", f"{key}.rates", f"{key}.rates 应为 类别 = 金额 的表")
            return None
        for cat in rates_raw:
            if not FACT_NAME.match(cat):
                c.add(
                    "rewards.rules.invalid_value",
                    f"{key}.rates.{cat}",
                    f"类别代码 {cat} 应为小写英文标识符, 如 risk_3_plus",
                )
        rates = {cat: _number(v, f"{key}.rates.{cat}", c, fen=True) for cat, v in rates_raw.items()}
        labels = labels_raw if isinstance(labels_raw, dict) else {}
        return Step(
            **common,
            rates=MappingProxyType({k: v for k, v in rates.items() if v is not None}),
            labels=MappingProxyType({k: _plain(labels.get(k, k), f"{key}.labels.{k}", c) for k in rates}),
        )
    if kind == "own_funds":
        return _own_funds(common, spec, key, c, facts)
    if kind == "bands":
        return _bands(common, spec, key, c, facts)
    if kind == "cap":
        has_max, has_fact = "max" in spec, "max_fact" in spec
        if has_max == has_fact:
            c.add("rewards.rules.invalid_value", key, f"{key} 应恰好给出 max (元) 或 max_fact (事实名) 之一")
            return None
        cut = _cut(spec["cut_amounts"], f"{key}.cut_amounts", c) if "cut_amounts" in spec else None
        if has_max:
            return Step(**common, max=_number(spec["max"], f"{key}.max", c, fen=True), cut=cut)
        ratio = _number(spec.get("ratio", ONE), f"{key}.ratio", c)
        return Step(
            **common,
            max_fact=_fact_ref(spec["max_fact"], f"{key}.max_fact", c, facts),
            ratio=ratio or ZERO,
            cut=cut,
        )
    amount = _number(spec["amount"], f"{key}.amount", c, fen=True) if "amount" in spec else None
    return Step(**common, amount=amount)


def _own_funds(
    common: dict[str, Any], spec: dict[str, Any], key: str, c: _Collector, facts: set[str]
) -> Step | None:
    """按本单位资金拨付: the unit's own ``base`` (yuan) × ``ratio``, or ``rest = true``: what the
    earlier own_funds stages on the same base left of it (checked in ``_check_pots``)."""
    base = _fact_ref(spec.get("base"), f"{key}.base", c, facts)
    rest = spec.get("rest", False)
    if not isinstance(rest, bool):
        c.add("rewards.rules.invalid_value", f"{key}.rest", f"{key}.rest 应为 true 或 false")
        return None
    if rest and "ratio" in spec:
        c.add("rewards.rules.invalid_value", key, f"{key} 只能给出 ratio 或 rest = true 之一")
        return None
    ratio = _number(spec.get("ratio", ONE), f"{key}.ratio", c)
    if ratio is not None and ratio > ONE:
        c.add("rewards.rules.invalid_value", f"{key}.ratio", f"{key}.ratio 应在 0 到 1 之间")
    return Step(**common, base=base, ratio=ratio or ZERO, rest=rest)


def _bands(
    common: dict[str, Any], spec: dict[str, Any], key: str, c: _Collector, facts: set[str]
) -> Step | None:
    """按考核分档结算: ``bands = [{ min = 90, ratio = 1 }, { min = 80, ratio = 0.9 }, …]``, the
    mins strictly decreasing; a unit takes the ratio of the first band whose min it reaches."""
    fact = _fact_ref(spec.get("fact"), f"{key}.fact", c, facts)
    raw = spec.get("bands")
    if not isinstance(raw, list) or not raw or not all(isinstance(b, dict) for b in raw):
        c.add(
            "rewards.rules.invalid_value",
            f"{key}.bands",
            f"{key}.bands 应为分档列表, 如 [{{ min = 90, ratio = 1 }}, {{ min = 80, ratio = 0.9 }}]",
        )
        return None
    bands: list[tuple[Decimal, Decimal]] = []
    for n, band in enumerate(raw, start=1):
        where = f"{key}.bands"
        extra = set(band) - {"min", "ratio"}
        if extra or "min" not in band or "ratio" not in band:
            c.add("rewards.rules.invalid_value", where, f"{where} 第 {n} 档应恰有 min 和 ratio 两项")
            continue
        low = _number(band["min"], where, c, minimum=None)
        ratio = _number(band["ratio"], where, c)
        if low is None or ratio is None:
            continue
        if ratio > ONE:
            c.add("rewards.rules.invalid_value", where, f"{where} 第 {n} 档 ratio 应在 0 到 1 之间")
        if bands and low >= bands[-1][0]:
            c.add("rewards.rules.invalid_value", where, f"{where} 各档 min 应从高到低排列 (第 {n} 档)")
        bands.append((low, ratio))
    return Step(**common, fact=fact, bands=tuple(bands))


def _check_order(steps: list[Step], prefix: str, c: _Collector) -> None:
    """threshold* → one allocator → cap? → budget?; per_person takes neither threshold nor cap."""
    kinds = [s.kind for s in steps]
    allocators = [k for k in kinds if k in ALLOCATORS]
    if len(allocators) != 1:
        c.add(
            "rewards.rules.step_order",
            f"{prefix}.steps",
            f"{prefix} 应恰有一个分配步骤 (share / rate / per_person), 实际 {len(allocators)} 个",
        )
        return
    rank = {
        "threshold": 0,
        "share": 1,
        "rate": 1,
        "per_person": 1,
        "own_funds": 1,
        "bands": 2,
        "cap": 3,
        "budget": 4,
    }
    if (
        kinds != sorted(kinds, key=lambda k: rank[k])
        or kinds.count("cap") > 1
        or kinds.count("budget") > 1
        or kinds.count("bands") > 1
    ):
        c.add(
            "rewards.rules.step_order",
            f"{prefix}.steps",
            f"{prefix} 的步骤顺序应为: 门槛 (threshold)…, 分配, 分档 (bands, 至多一个), "
            "封顶 (cap, 至多一个), 预算封顶 (budget, 至多一个)",
        )
    allocator = allocators[0]
    if "bands" in kinds and allocator != "own_funds":
        c.add(
            "rewards.rules.step_order",
            f"{prefix}.steps",
            f"{prefix}: 分档结算 (bands) 只用于按本单位资金拨付 (own_funds) 的阶段",
        )
    if allocator == "own_funds" and ("cap" in kinds or "budget" in kinds):
        c.add(
            "rewards.rules.step_order",
            f"{prefix}.steps",
            f"{prefix}: 按本单位资金拨付 (own_funds) 的阶段以本单位资金为上限、本阶段资金为预算, "
            "不用 cap 或 budget 步骤",
        )
    if allocator == "per_person" and ("threshold" in kinds or "cap" in kinds):
        c.add(
            "rewards.rules.step_order",
            f"{prefix}.steps",
            f"{prefix}: 按人计奖 (per_person) 不接受 threshold 或 cap 步骤",
        )
    if allocator == "share" and "budget" in kinds:
        c.add(
            "rewards.rules.step_order",
            f"{prefix}.steps",
            f"{prefix}: 按权重分配的阶段以本阶段资金为预算, 不用 budget 步骤",
        )


def _check_pots(fund: Fund, stages: tuple[Stage, ...], c: _Collector) -> None:
    ratios = [s for s in stages if s.pot_ratio is not None]
    if ratios and fund.pot is None:
        c.add(
            "rewards.rules.missing_pot",
            "fund",
            "有阶段按 pot_ratio 取资金, 但 [fund] 没有资金总额 pot (missing pot)",
        )
    for stage in stages:
        key = f"stages.{stage.id}"
        has_pot = stage.pot_ratio is not None or stage.amount is not None
        kind = stage.allocator.kind if any(s.kind in ALLOCATORS for s in stage.steps) else ""
        if kind == "share" and not has_pot:
            c.add(
                "rewards.rules.missing_pot",
                key,
                f"{key} 按权重分配, 需要本阶段资金 pot_ratio 或 amount (missing pot)",
            )
        budget = stage.budget
        if budget is not None and budget.amount is None and not has_pot:
            c.add(
                "rewards.rules.missing_pot",
                f"{key}.steps.{budget.id}",
                f"{key} 的预算封顶步骤没有 amount, 本阶段也没有资金 (missing pot)",
            )
    earlier: set[str] = set()
    for stage in stages:
        own = next((s for s in stage.steps if s.kind == "own_funds"), None)
        if own is None:
            continue
        if own.rest and own.base not in earlier:
            c.add(
                "rewards.rules.invalid_value",
                f"stages.{stage.id}.steps.{own.id}.rest",
                f"stages.{stage.id}: rest = true 需要前面有按同一资金 {own.base} 拨付的阶段",
            )
        earlier.add(own.base)
    if fund.pot is not None and not any(s.amount is not None for s in stages):
        total = sum((s.pot_ratio or ZERO for s in ratios), ZERO)
        if ratios and total != ONE:
            c.add(
                "rewards.rules.shares_not_one",
                "stages",
                f"各阶段 pot_ratio 之和应为 1, 实际为 {total} (stage shares must sum to 1)",
            )


def _line_of(text: str, dotted: str) -> int | None:
    """The 1-based line where ``dotted`` (a table or a key) is written, if found."""
    parts = dotted.split(".")
    lines = text.splitlines()
    for cut in range(len(parts), 0, -1):
        table, rest = ".".join(parts[:cut]), parts[cut:]
        current = ""
        for number, line in enumerate(lines, start=1):
            stripped = line.strip()
            header = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?", stripped)
            if header:
                current = header.group(1).replace(" ", "")
                if current == table and not rest:
                    return number
                continue
            if current == table and rest and re.match(rf"^{re.escape(rest[0])}\s*=", stripped):
                return number
    return None
