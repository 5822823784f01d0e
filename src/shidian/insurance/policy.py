"""Resident-insurance policy (新农合/城乡居民医保政策参数): 004 篇6's parameters, declared once.

``PARAMS`` is the table every insurance policy file is validated against; ``InsurancePolicy``
is the frozen, typed view the core computes with. ``docs/policies/insurance.md`` is generated
from ``PARAMS``. Section numbers are 004 篇6's (三(四)1 = 三、主要内容 (四) 1.补偿范围).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from shidian.insurance.model import CATEGORIES, GOVERNMENT_SOURCES, PLACES, SOURCE_LABELS
from shidian.money import round_fen, round_to
from shidian.policy import (
    Converter,
    Param,
    Policy,
    PolicyKind,
    boolean,
    choice,
    decimal,
    integer,
    line_of_key,
    load_policy,
    table_list,
    typed_policy,
)
from shidian.problems import Problem, Source

ZERO, ONE = Decimal(0), Decimal(1)
LEVELS = (1, 2, 3)


#: How to write a county's or city's rules (the head of docs/policies/insurance.md).
GUIDE = """
## Writing a county's rules (编写本地政策文件)

A policy is one TOML file: `[meta]` (id, name, region, version, effective dates, seed), then the
parameters below. Copy a shipped policy (`src/shidian/policies/insurance/`) and replace the
numbers and the comments: every parameter line is preceded by a comment quoting the local
document's sentence (原文) it comes from; where the document leaves a value open, write
“本政策取值” and why. Check the file with `shidian insurance policy NAME --policy-file FILE`:
every problem names the key and its line. Shipped: `county-2010` (004 篇6), its variant
`county-2010-general-fee`, and two **illustrative** policies (示例政策, not a real region's
numbers: they show the shapes) `illustrative-city-tiers` and `illustrative-county-floor`.

**Inpatient tiers (住院档次, `[[inpatient.tiers]]`).** A stay takes the *first* tier, in file
order, whose `levels` contain the institution's level (1/2/3) and whose `places` contain its
place (`institutions.place`: `county` 县内, `city` 县外市内, `province` 市外省内, `outside` 省外;
a blank place is `county` for an institution in the county, else unknown). Leave `places` out
for a tier that does not depend on where the institution is (this also takes institutions of
unknown place). An institution no tier takes is a problem of the institutions file naming its
row (`insurance.institution.no_tier`); at the desk its stays are refused. Any number of tiers:

```toml
[[inpatient.tiers]]          # “乡镇卫生院住院起付线100元, 补偿比例85%”
key = "township"
name = "乡镇卫生院"          # shown in each claim's 补偿计算说明
levels = [1]
places = ["county"]
deductible = 100
ratio = 0.85
article = "某县方案 三(二)2"  # the sentence the trail cites

[[inpatient.tiers]]          # “县级医院 起付线以上5000元以内70%, 5000元以上75%”
key = "county"
name = "县级医院"
levels = [2, 3]
places = ["county"]
deductible = 300
bands = [[0, 0.70], [5000, 0.75]]
```

**Segmented ratios (分段计算, `bands`).** `[[lower bound, ratio], ...]` from 0, bounds rising;
each band pays its ratio on the part of the cost inside it, summed and rounded once to the fen.
`inpatient.bands_on` says what the bounds measure: `pooled` (default) the cost above the
deductible (“起付线以上0–5000元部分”); `reimbursable` the reimbursable cost itself, the part
below the deductible paying nothing (“5000元以下部分”). Worked: 县级, deductible 300, 12,000
reimbursable, `pooled`: 11,700 above the deductible = 5,000 × 70% + 6,700 × 75% = 8,525.00.

**Uplifts (上调, `[[inpatient.uplifts]]`).** For person `categories` and/or `tiers` (either left
out = all). `mode = "points"` adds `amount` to every band's ratio (0.05 = 5 个百分点); `mode =
"factor"` multiplies (1.2 = “上调20%”, rounded to 4 places). The 中医药 increase (`tcm.*`)
applies first, then the uplifts in file order; no ratio exceeds 100%.

**Special inpatient categories (特殊住院类别, `[[inpatient.special]]`).** Chosen by the claim's
`inpatient_category` column (its value is the category's `key`), whatever the institution:
精神病定点住院 with its own deductible and ratio, 无责任人意外伤害 at a flat ratio, or a fixed
amount per stay (`flat_amount`, at most the cost above the deductible). Each has `key`, `name`,
`deductible`, exactly one of `ratio`/`bands`/`flat_amount`, optional `stay_cap`, and its yearly
`annual_cap` under `cap_scope = "tier"`. An unknown category, or one on an outpatient claim, is
a problem naming the row. (正常分娩 has its own fixed amount: `delivery.normal_amount`.)

```toml
[[inpatient.special]]        # “无责任人意外伤害住院, 起付线以上按50%补偿, 每次最高1万元”
key = "accident"
name = "无责任人意外伤害"
deductible = 300
ratio = 0.50
stay_cap = 10000
```

**Floor (保底, `inpatient.floor_ratio`).** “实际补偿比不低于住院总费用的30%, 不足按30%补偿”:
`floor_ratio = 0.30`, `floor_base = "total"` (or `"reimbursable"`). The stay gets at least
`floor_base × floor_ratio` (rounded to the fen), never more than its reimbursable cost.

**Caps (封顶).** `inpatient.cap_scope = "shared"`: one yearly `inpatient.annual_cap` for all
tiers (and normal deliveries). `"tier"`: each tier's own yearly `annual_cap` (and no
`inpatient.annual_cap`). A tier's `stay_cap` limits each stay (“每次住院最高补偿3000元”), after
the floor. Outpatient: `outpatient.annual_cap` per person and year, `outpatient.visit_cap` per
visit (“每次门诊补偿不超过15元”).

Order of one inpatient stay: reimbursable cost → deductible (waivers, transfer chain, county
rule) → tier ratio or bands, with 中医药 increase and uplifts → floor → stay cap → coordination
with other insurance → yearly cap. The trail (`reason`) names the tier, each band used, each
uplift, the floor and the caps, with the policy's `article`/`name` text.

**大病保险 / 大病补偿 (`[major]`).** A second layer above the basic scheme, on the person's year
of 个人自付合规医疗费用 (each counted claim's reimbursable cost − its basic reimbursement, never
below 0): “个人自付合规医疗费用超过起付线的, 实行分段赔付: 8000元–3万元(含)部分50%; 3万–5万元(含)
部分60%; 5万元以上部分70%”, “年度最高支付限额 …”:

```toml
[major]
bands = [[8000, 0.50], [30000, 0.60], [50000, 0.70]]   # the first lower bound is the 起付标准
annual_cap = 300000                                     # optional
rules = ["inpatient", "chronic"]                        # which claims count (default)
article = "某省大病保险方案 三(二)"
```

`F(x)` = each band's ratio on the part of `x` inside it, summed, rounded once to the fen, at
most `annual_cap`; a claim's layer payment is `F(year so far after it) − F(before it)`, so the
year's total is `F(year's total)` whatever the order of rounding. It is reported apart from the
basic reimbursement (`major_paid`; `reimbursement` stays the basic scheme's, the fund ledger and
settlement are unchanged): the layer is usually paid from another purse (a commercial insurer).
Without `[major]` the columns are empty.

**Monthly outpatient limit (`outpatient.monthly_cap`).** “门诊每人每月补偿不超过50元”: each
ordinary outpatient visit's amount is first limited by what the person's month (the visit's
`end_date` month) has left, then by the yearly `outpatient.annual_cap`.

**Once a day (`outpatient.once_per_day = true`).** “每人一天只能报销一次”: the person's second and
later ordinary outpatient visits of a day (the visit's `end_date`, in pricing order) are paid 0.
Order of an ordinary visit: 30% → per-visit limit → once a day → month → year.

**Household pooling (户内共享, `outpatient.cap_scope = "household"`).** For rules worded like
“门诊统筹以户为单位封顶, 家庭成员共享” (a shape issue 18 lists; write your own document's sentence):
the ordinary outpatient yearly cap is held by the household (the persons' `household_id`,
户号/家庭编号), not by each person. `outpatient.household_cap = "per_member"` (default): the
household's cap is `outpatient.annual_cap` × the household's insured members (“按参合人数计入
家庭账户”); `"fixed"`: `outpatient.annual_cap` per household. The
household's visits use it in the order `(start_date, end_date, claim_id)` across its members
(the monthly limit and once-a-day rule stay per person and apply first). A person without a
household id keeps a cap of their own. Worked: cap 50/person, household of 3 insured → 150
shared; A's visit of 120 is paid 120, then B's visit of 40 is paid 30 (150 − 120), the 10 above
the household's cap not paid. Default `"person"`: each person's own cap, as before. The batch
and the discharge desk both price pooled visits (at the desk: in the order they are posted, the
household's members' years locked together).
"""


def string_list(*options: str) -> Converter:
    """A TOML array of distinct strings, each one of ``options`` (may be empty)."""

    def convert(value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or any(v not in options for v in value):
            raise ValueError(f"应为 {' / '.join(options)} 组成的数组, 实际为 {value!r}")
        if len(set(value)) != len(value):
            raise ValueError(f"数组中有重复值: {value!r}")
        return tuple(str(v) for v in value)

    return convert


def level_list() -> Converter:
    """A non-empty TOML array of distinct institution levels (1, 2, 3)."""

    def convert(value: Any) -> tuple[int, ...]:
        if (
            not isinstance(value, list)
            or not value
            or any(isinstance(v, bool) or v not in LEVELS for v in value)
            or len(set(value)) != len(value)
        ):
            raise ValueError(f"应为由 1、2、3 组成的非空数组, 实际为 {value!r}")
        return tuple(sorted(int(v) for v in value))

    return convert


def _money() -> Converter:
    def convert(value: Any) -> Decimal:
        number: Decimal = decimal(min=ZERO)(value)
        if number != number.quantize(Decimal("0.01")):
            raise ValueError(f"金额最多两位小数, 实际为 {number}")
        return number.quantize(Decimal("0.01"))

    return convert


def _ratio() -> Converter:
    def convert(value: Any) -> Decimal:
        number: Decimal = decimal(min=ZERO, max=ONE)(value)
        if number != number.quantize(Decimal("0.0001")):
            raise ValueError(f"比例最多四位小数, 实际为 {number}")
        return number

    return convert


UPLIFT_MODES = ("points", "factor")


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"应为非空字符串, 实际为 {value!r}")
    return value


def _key(value: Any) -> str:
    """A code: letters, digits, ``_`` or ``-`` (it names cap buckets and appears in SQL)."""
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_-]+", value):
        raise ValueError(f"编码应由字母、数字、_ 或 - 组成, 实际为 {value!r}")
    return value


def _places(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError(f"应为由 {' / '.join(PLACES)} 组成的非空数组, 实际为 {value!r}")
    places: tuple[str, ...] = string_list(*PLACES)(value)
    return places


def _rows(required: Mapping[str, Converter], optional: Mapping[str, Converter], *, empty: bool) -> Converter:
    """A TOML array of tables with ``required`` keys and any of ``optional`` (absent: None)."""

    def convert(value: Any) -> tuple[Mapping[str, Any], ...]:
        if not isinstance(value, list) or (not value and not empty):
            raise ValueError("应为非空的表数组 (a non-empty array of tables)")
        rows = []
        for i, row in enumerate(value, start=1):
            if not isinstance(row, dict):
                raise ValueError(f"第 {i} 项应为表")
            missing = [k for k in required if k not in row]
            unknown = [k for k in row if k not in required and k not in optional]
            if missing or unknown:
                raise ValueError(
                    f"第 {i} 项"
                    + (f" 缺少键 {', '.join(missing)}" if missing else "")
                    + (f" 有未知键 {', '.join(unknown)}" if unknown else "")
                    + f" (必填: {', '.join(required)}; 可选: {', '.join(optional)})"
                )
            try:
                out = {k: required[k](row[k]) for k in required}
                out.update({k: (optional[k](row[k]) if k in row else None) for k in optional})
            except ValueError as exc:
                raise ValueError(f"第 {i} 项: {exc}") from exc
            rows.append(out)
        return tuple(rows)

    return convert


def _bands(value: Any) -> tuple[tuple[Decimal, Decimal], ...]:
    """分段: ``[[下限, 比例], ...]``, the first lower bound 0, lower bounds strictly increasing."""
    if not isinstance(value, list) or not value:
        raise ValueError("bands 应为非空数组 [[下限元, 比例], ...]")
    bands = []
    for i, band in enumerate(value, start=1):
        if not isinstance(band, list) or len(band) != 2:
            raise ValueError(f"bands 第 {i} 段应为 [下限元, 比例], 实际为 {band!r}")
        bands.append((_money()(band[0]), _ratio()(band[1])))
    if bands[0][0] != 0:
        raise ValueError("bands 第 1 段的下限应为 0")
    if any(b[0] >= a[0] for a, b in zip(bands[1:], bands, strict=False)):
        raise ValueError("bands 的下限应严格递增")
    return tuple(bands)


def _categories(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError(f"应为由 {' / '.join(CATEGORIES)} 组成的非空数组, 实际为 {value!r}")
    categories: tuple[str, ...] = string_list(*CATEGORIES)(value)
    return categories


def _any_text(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or any(not isinstance(v, str) for v in value):
        raise ValueError(f"应为非空的字符串数组, 实际为 {value!r}")
    if len(set(value)) != len(value):
        raise ValueError(f"数组中有重复值: {value!r}")
    return tuple(value)


_TIER_ROWS = _rows(
    {"key": _key, "name": _text, "levels": level_list(), "deductible": _money()},
    {
        "places": _places,
        "ratio": _ratio(),
        "bands": _bands,
        "stay_cap": _money(),
        "annual_cap": _money(),
        "article": _text,
    },
    empty=False,
)


def _uplift_amount(value: Any) -> Decimal:
    """0 ≤ amount ≤ 10, at most four decimals (a ratio's precision)."""
    number: Decimal = decimal(min=ZERO, max=Decimal(10))(value)
    if number != number.quantize(Decimal("0.0001")):
        raise ValueError(f"最多四位小数, 实际为 {number}")
    return number


_SPECIAL_ROWS = _rows(
    {"key": _key, "name": _text, "deductible": _money()},
    {
        "ratio": _ratio(),
        "bands": _bands,
        "flat_amount": _money(),
        "stay_cap": _money(),
        "annual_cap": _money(),
        "article": _text,
    },
    empty=True,
)
_UPLIFT_ROWS = _rows(
    {"key": _key, "name": _text, "mode": choice(*UPLIFT_MODES), "amount": _uplift_amount},
    {"categories": _categories, "tiers": _any_text, "article": _text},
    empty=True,
)


_LEVEL_PARAMS = tuple(
    Param(
        f"catalogue.level_{level}.external_drug_limit",
        _ratio(),
        "004 篇6 三(四)1",
        f"{level}级医院《基本目录》外药品费用占药品费用比例上限 (catalogue-external drug share limit)",
    )
    for level in LEVELS
)

_TIER_PARAMS = (
    Param(
        "inpatient.tiers",
        _TIER_ROWS,
        "004 篇6 三(四)3; issue 18 (通用格式)",
        "住院档次 (inpatient tiers), 按顺序取第一个匹配的档次。每档: key 编码; name 名称 (进入补偿说明); "
        "levels 适用的医院等级数组 (1、2、3); places 可选, 适用的机构所在地数组 "
        "(county 县内 / city 县外市内 / province 市外省内 / outside 省外; 省略 = 不论所在地, "
        "所在地未填的机构只匹配不限所在地的档次); deductible 起付线 (元); ratio 补偿比例, 或 bands "
        "分段比例 [[下限元, 比例], ...] (分段计算, 二者恰选其一); stay_cap 可选, 每次住院补偿上限 (元); "
        'annual_cap 可选, 本档年度封顶线 (inpatient.cap_scope = "tier" 时必填); article 可选, 原文依据',
        field=None,
    ),
    Param(
        "inpatient.special",
        _SPECIAL_ROWS,
        "issue 18 (“精神病定点住院 …”, “无责任人意外伤害按 x% 补偿”)",
        "特殊住院类别 (special inpatient categories), 由就诊的 inpatient_category 列 (住院类别) 选定, "
        "不论机构等级与所在地。每类: key 编码 (即 inpatient_category 的值); name 名称; deductible 起付线; "
        "ratio 补偿比例, 或 bands 分段比例, 或 flat_amount 每次定额 (以可补偿费用为限; 三者恰选其一); "
        'stay_cap 可选, 每次住院补偿上限; annual_cap 本类年度封顶线 (inpatient.cap_scope = "tier" 时必填, '
        '"shared" 时不填: 计入共用的住院封顶线); article 可选, 原文依据',
        default=(),
        required=False,
        field=None,
    ),
    Param(
        "inpatient.bands_on",
        choice("pooled", "reimbursable"),
        "issue 18 (本系统约定)",
        "分段的金额口径: pooled 起付线以上的统筹费用从 0 起分段 (“起付线以上0-5000元部分”); "
        "reimbursable 可补偿费用 (含起付线) 分段, 起付线以下部分不补偿 (“5000元以下部分”)",
        default="pooled",
        required=False,
        field="bands_on",
    ),
    Param(
        "inpatient.cap_scope",
        choice("shared", "tier"),
        "issue 18",
        "住院封顶线: shared 各档共用 inpatient.annual_cap; tier 每档各自的 annual_cap (各档分别封顶)",
        default="shared",
        required=False,
        field="cap_scope",
    ),
    Param(
        "inpatient.floor_ratio",
        _ratio(),
        "issue 18 (“实际补偿比不低于住院总费用的x%, 不足按x%补偿”)",
        "保底补偿比 (minimum actual compensation ratio): 按比例计算的住院补偿低于 floor_base × 此比例时按此补偿 "
        "(以可补偿费用为限); 省略 = 无保底",
        required=False,
        field="floor_ratio",
    ),
    Param(
        "inpatient.floor_base",
        choice("total", "reimbursable"),
        "issue 18",
        "保底补偿比的基数: total 住院总费用; reimbursable 可补偿费用",
        default="total",
        required=False,
        field="floor_base",
    ),
    Param(
        "inpatient.floor_article",
        _text,
        "issue 18",
        "保底补偿比的原文依据 (进入补偿说明)",
        default="",
        required=False,
        field="floor_article",
    ),
    Param(
        "inpatient.uplifts",
        _UPLIFT_ROWS,
        "issue 18 (“民政救助对象 … 上调20%”)",
        "补偿比例上调 (uplifts), 依次叠加在档次比例 (及中医药提高) 之上, 每段比例分别上调, 不超过 100%。每项: "
        "key 编码; name 名称; mode points 加 amount 个百分点 (0.05 = 5个百分点) 或 factor 乘以 amount (1.2 = 上调20%); "
        "categories 可选, 适用的人员类别 (省略 = 所有人); tiers 可选, 适用的档次 key (省略 = 所有档次); "
        "article 可选, 原文依据",
        default=(),
        required=False,
        field=None,
    ),
    Param(
        "outpatient.visit_cap",
        _money(),
        "issue 18 (门诊每次补偿限额)",
        "普通门诊统筹每次补偿上限, 元/次; 省略 = 不限",
        required=False,
        field="outpatient_visit_cap",
    ),
    Param(
        "outpatient.monthly_cap",
        _money(),
        "issue 18 (门诊每月补偿限额)",
        "普通门诊统筹每人每月补偿上限, 元/人·月 (按就诊结束日期的月份), 在年度封顶线之前适用; 省略 = 不限",
        required=False,
        field="outpatient_monthly_cap",
    ),
    Param(
        "outpatient.once_per_day",
        boolean(),
        "issue 18 (“每人一天只能报销一次”)",
        "普通门诊统筹每人每天只补偿一次: true 同一天 (就诊结束日期) 的第二次及以后的普通门诊不予补偿 (补偿 0); "
        "false 不限",
        default=False,
        required=False,
        field="outpatient_once_per_day",
    ),
    Param(
        "outpatient.cap_scope",
        choice("person", "household"),
        "issue 18 (门诊“家庭成员共享”/家庭账户, 本系统约定)",
        "普通门诊统筹年度封顶线的持有者: person 每人各自封顶; household 以户为单位封顶, 家庭成员 "
        "(persons.household_id 相同者) 共享一个年度额度 (户内共济); household_id 为空的人仍按每人封顶",
        default="person",
        required=False,
        field="outpatient_cap_scope",
    ),
    Param(
        "outpatient.household_cap",
        choice("per_member", "fixed"),
        "issue 18 (本系统约定)",
        "outpatient.cap_scope = household 时家庭额度的算法: per_member outpatient.annual_cap × 户内本年度参合人数 "
        "(“按参合人数计入家庭账户”); fixed 每户 outpatient.annual_cap",
        default="per_member",
        required=False,
        field="outpatient_household_cap",
    ),
)

#: The rules whose claims count towards the 大病保险 layer (``major.rules``).
MAJOR_RULES = ("inpatient", "delivery", "chronic", "outpatient", "cataract", "tcm_fracture")


def _major_bands(value: Any) -> tuple[tuple[Decimal, Decimal], ...]:
    """大病保险分段: ``[[下限, 比例], ...]`` over the year's 合规自付费用, the first lower bound the
    起付标准 (may be 0), lower bounds strictly increasing."""
    if not isinstance(value, list) or not value:
        raise ValueError("major.bands 应为非空数组 [[下限元, 比例], ...]")
    bands = []
    for i, band in enumerate(value, start=1):
        if not isinstance(band, list) or len(band) != 2:
            raise ValueError(f"major.bands 第 {i} 段应为 [下限元, 比例], 实际为 {band!r}")
        bands.append((_money()(band[0]), _ratio()(band[1])))
    if any(b[0] >= a[0] for a, b in zip(bands[1:], bands, strict=False)):
        raise ValueError("major.bands 的下限应严格递增")
    return tuple(bands)


_MAJOR_PARAMS = (
    Param(
        "major.bands",
        _major_bands,
        "issue 18 (大病保险: 起付标准、分段比例、最高支付限额)",
        "大病保险 / 大病补偿 (second layer above the basic scheme): [[下限元, 比例], ...], 按参保人年度累计"
        "个人自付合规医疗费用 (可补偿费用 − 基本医保补偿) 分段; 第一段下限即起付标准 "
        "(“个人自付合规医疗费用超过起付线的, 实行分段赔付”); 每段按其比例支付段内部分, 合计四舍五入到分; "
        "省略 = 无大病保险层",
        required=False,
        field="major_bands",
    ),
    Param(
        "major.annual_cap",
        _money(),
        "issue 18",
        "大病保险年度最高支付限额, 元/人·年; 省略 = 不限",
        required=False,
        field="major_cap",
    ),
    Param(
        "major.rules",
        string_list(*MAJOR_RULES),
        "issue 18 (本政策取值)",
        "计入大病保险的补偿类别 (inpatient 住院, delivery 正常分娩, chronic 特殊慢性病门诊, outpatient 普通门诊, "
        "cataract 白内障, tcm_fracture 中医骨折)",
        default=("inpatient", "chronic"),
        required=False,
        field="major_rules",
    ),
    Param(
        "major.article",
        _text,
        "issue 18",
        "大病保险的原文依据 (进入补偿说明)",
        default="",
        required=False,
        field="major_article",
    ),
)

PARAMS: tuple[Param, ...] = (
    Param(
        "fund.year",
        integer(min=1990, max=2200),
        "004 篇6 三(二)1",
        "政策年度 (the policy year)",
        field="year",
    ),
    Param("funding.individual", _money(), "004 篇6 三(二)1", "农民个人缴费, 元/人·年 (individual share)"),
    Param("funding.central", _money(), "004 篇6 三(二)3", "中央财政补助, 元/人·年 (central subsidy)"),
    Param("funding.region", _money(), "004 篇6 三(二)3", "自治区财政补助, 元/人·年 (region subsidy)"),
    Param("funding.city", _money(), "004 篇6 三(二)3", "市级财政补助, 元/人·年 (city subsidy)"),
    Param("funding.county", _money(), "004 篇6 三(二)3", "县级财政补助, 元/人·年 (county subsidy)"),
    Param(
        "funding.civil_affairs_categories",
        string_list(*CATEGORIES),
        "004 篇6 三(二)1",
        "个人缴费由民政医疗救助基金支出的人员类别 (categories whose individual share civil affairs pays)",
        field="civil_affairs_categories",
    ),
    *_LEVEL_PARAMS,
    *_TIER_PARAMS,
    *_MAJOR_PARAMS,
    Param(
        "inpatient.annual_cap",
        _money(),
        "004 篇6 三(四)3",
        "住院补偿封顶线, 元/人·年 (annual inpatient cap, includes flat delivery payments); "
        'inpatient.cap_scope = "shared" 时必填, "tier" 时不得填写',
        required=False,
        field="inpatient_cap",
    ),
    Param(
        "inpatient.waived_categories",
        string_list(*CATEGORIES),
        "004 篇6 三(四)1",
        "凭有效证件报销不设起付线的人员类别 (categories without a deductible)",
        field="waived_categories",
    ),
    Param(
        "inpatient.county_level",
        integer(min=1, max=3),
        "004 篇6 三(四)1",
        "“县级以上医院”的最低等级 (lowest level counted as county-level or above)",
        field="county_level",
    ),
    Param(
        "inpatient.repeat_deductible",
        choice("first_charged", "first_admission"),
        "004 篇6 三(四)1 (本系统约定)",
        "县级以上医院多次住院只计首次起付线: first_charged 首次计算了起付线的住院; "
        "first_admission 首次住院, 即使其免起付线",
        field="repeat_deductible",
    ),
    Param(
        "partial_pay.reading",
        choice("sentence", "formula_line"),
        "004 篇6 三(四)1 与 三(四)3 (两处矛盾, 本系统约定)",
        "部分支付项目: sentence 按三(四)1 原句 1000元以内60%、以上50%计入可补偿费用; "
        "formula_line 按三(四)3 公式行扣除 (特检+特治+血液)×60% + 特材×50%",
        field="partial_reading",
    ),
    Param(
        "partial_pay.bands",
        choice("banded", "step"),
        "004 篇6 三(四)1 (本系统约定)",
        "sentence 读法下 1000 元界值: banded 分段累进 (前1000元×60% + 超出部分×50%); step 整额按一档",
        field="partial_bands",
    ),
    Param(
        "partial_pay.threshold",
        _money(),
        "004 篇6 三(四)1",
        "部分支付项目分段界值 (band limit), 元",
        field="partial_threshold",
    ),
    Param(
        "partial_pay.share_within",
        _ratio(),
        "004 篇6 三(四)1",
        "界值以内计入可补偿费用的比例 (share counted up to the limit)",
        field="partial_share_within",
    ),
    Param(
        "partial_pay.share_above",
        _ratio(),
        "004 篇6 三(四)1",
        "界值以上计入可补偿费用的比例 (share counted above the limit)",
        field="partial_share_above",
    ),
    Param(
        "partial_pay.formula_items_excluded",
        _ratio(),
        "004 篇6 三(四)3 公式",
        "formula_line 读法: 特检、特治、血液费用扣除比例 (share of exam/treatment/blood subtracted)",
        field="formula_items_excluded",
    ),
    Param(
        "partial_pay.formula_material_excluded",
        _ratio(),
        "004 篇6 三(四)3 公式",
        "formula_line 读法: 特殊材料费用扣除比例 (share of special materials subtracted)",
        field="formula_material_excluded",
    ),
    Param(
        "outpatient.ratio",
        _ratio(),
        "004 篇6 三(四)3",
        "门诊统筹每次补偿比例 (outpatient ratio per visit)",
        field="outpatient_ratio",
    ),
    Param(
        "outpatient.annual_cap",
        _money(),
        "004 篇6 三(四)2 (金额见另附门诊统筹方案, 本政策取值)",
        "门诊统筹封顶线, 元/人·年 (annual outpatient cap)",
        field="outpatient_cap",
    ),
    Param(
        "outpatient.pooled_levels",
        level_list(),
        "004 篇6 三(四)2、三(四)4",
        "门诊统筹补偿的定点医疗机构等级 (levels where ordinary outpatient visits are pooled)",
        field="outpatient_levels",
    ),
    Param(
        "outpatient.chronic_diseases",
        table_list(code=str, name=str, annual_amount=_money(), ratio=_ratio()),
        "004 篇6 三(四)3 (病种与定额本政策取值)",
        "特殊病种(慢性病)门诊按病种定额补偿: 病种编码、名称、年度定额(元)、定额内补偿比例",
    ),
    Param(
        "general_fee.enabled",
        boolean(),
        "002 篇四 二(二) (004 篇6 三(四)3 无此项)",
        "是否执行一般诊疗费: true 基层门诊的一般诊疗费 (不超过 amount) 由基金全额支付, 其余按门诊比例; "
        "false 一般诊疗费与其他门诊费用一同按门诊统筹比例补偿 (general fee paid in full by the fund)",
        field="general_fee_enabled",
    ),
    Param(
        "general_fee.amount",
        _money(),
        "002 篇四 二(二)",
        "一般诊疗费收费标准, 在医保基金中支付 (general consultation fee paid by the fund), 元/次",
        field="general_fee_amount",
    ),
    Param(
        "general_fee.levels",
        level_list(),
        "002 篇四 二(二)",
        "执行一般诊疗费的基层医疗机构等级 (levels of primary institutions charging it)",
        field="general_fee_levels",
    ),
    Param(
        "delivery.normal_amount",
        _money(),
        "004 篇6 三(四)1",
        "住院分娩正常产每次定额补偿 (flat payment per normal delivery), 元",
        field="delivery_amount",
    ),
    Param(
        "cataract.amount_per_eye",
        _money(),
        "004 篇6 三(四)1",
        "白内障门诊人工晶体植入每例患眼补偿 (flat payment per eye), 元",
        field="cataract_amount_per_eye",
    ),
    Param(
        "tcm.inpatient_share",
        _ratio(),
        "004 篇6 三(四)1",
        "中医药服务住院费用占总费用的比例下限 (含) (TCM share of an admission's cost)",
        field="tcm_share",
    ),
    Param(
        "tcm.waive_deductible",
        boolean(),
        "004 篇6 三(四)1",
        "中医药费用达到比例的住院不设起付线 (no deductible for such admissions)",
        field="tcm_waive_deductible",
    ),
    Param(
        "tcm.ratio_increase",
        _ratio(),
        "004 篇6 三(四)1",
        "中医药费用达到比例的住院补偿比例提高幅度 (ratio increase)",
        field="tcm_ratio_increase",
    ),
    Param(
        "tcm.increase_mode",
        choice("points", "relative"),
        "004 篇6 三(四)1 (本系统约定)",
        "“补偿比例同时提高10%”: points 加10个百分点; relative 乘以 1.1",
        field="tcm_increase_mode",
    ),
    Param(
        "tcm.fracture_cap",
        _money(),
        "004 篇6 三(四)1",
        "中医门诊骨折非手术治疗封顶线, 元/人·年 (annual cap)",
        field="tcm_fracture_cap",
    ),
    Param(
        "tcm.fracture_ratio",
        _ratio(),
        "004 篇6 三(四)1 (比例未载明, 本系统约定)",
        "中医门诊骨折非手术治疗补偿比例 (ratio within the cap)",
        field="tcm_fracture_ratio",
    ),
    Param(
        "notice.id_keep_head",
        integer(min=0, max=10),
        "004 篇6 三(五)2; PRODUCT 个人隐私",
        "公示身份证号保留前几位 (leading ID digits shown)",
        field="notice_id_head",
    ),
    Param(
        "notice.id_keep_tail",
        integer(min=0, max=8),
        "004 篇6 三(五)2; PRODUCT 个人隐私",
        "公示身份证号保留后几位 (trailing ID characters shown)",
        field="notice_id_tail",
    ),
    Param(
        "notice.list_outpatient",
        boolean(),
        "004 篇6 三(五)2 (本系统约定)",
        "公示是否逐笔列出普通门诊统筹补偿 (false: 按村汇总人次与金额)",
        field="notice_list_outpatient",
    ),
    *(
        Param(
            f"pools.outpatient_share.{source}",
            _ratio(),
            "004 篇6 三(二)3、三(三)1"
            + ("" if source in GOVERNMENT_SOURCES else " (比例原文未载, 本政策取值)"),
            f"{label}划入门诊统筹基金的比例, 其余划入大病统筹基金 (share of this source into the outpatient pool)",
        )
        for source, label in SOURCE_LABELS.items()
    ),
    Param(
        "ledger.pace_ratio",
        decimal(min=Decimal("0.01"), max=Decimal(10)),
        "004 篇6 三(三)",
        "以收定支预警: 累计支出超过 当年收入 × 已过月数/12 × 此比例 时预警 (pace warning ratio)",
        field="ledger_pace_ratio",
    ),
)


@dataclass(frozen=True)
class Tier:
    """One inpatient tier (住院档次): which institutions (levels, places) and its terms.

    ``bands`` are ``(lower bound, ratio)`` pairs, the first from 0 (a flat ratio is one band);
    ``places`` None: any place, also an institution whose place is not given.
    """

    key: str
    name: str
    levels: tuple[int, ...]
    places: tuple[str, ...] | None
    deductible: Decimal
    bands: tuple[tuple[Decimal, Decimal], ...]
    stay_cap: Decimal | None
    annual_cap: Decimal | None
    article: str
    #: A special inpatient category (``inpatient.special``): chosen by the claim's
    #: ``inpatient_category``, never by the institution; ``flat`` pays a fixed amount per stay.
    special: bool = False
    flat: Decimal | None = None

    def matches(self, level: int | None, place: str | None) -> bool:
        return level in self.levels and (self.places is None or place in self.places)


@dataclass(frozen=True)
class Uplift:
    """A ratio uplift (补偿比例上调) for person categories and/or tiers: ``points`` adds
    ``amount`` (0.05 = 5 个百分点), ``factor`` multiplies by it (1.2 = 上调20%)."""

    key: str
    name: str
    mode: str
    amount: Decimal
    categories: tuple[str, ...] | None
    tiers: tuple[str, ...] | None
    article: str

    def applies(self, category: str | None, tier: str | None) -> bool:
        return (self.categories is None or category in self.categories) and (
            self.tiers is None or tier in self.tiers
        )

    def apply(self, ratio: Decimal) -> Decimal:
        if self.mode == "points":
            return min(ONE, ratio + self.amount)
        return min(ONE, round_to(ratio * self.amount, 4))


@dataclass(frozen=True)
class ChronicDisease:
    """特殊慢性病: code, name, annual fixed amount (年度定额) and the ratio within it."""

    code: str
    name: str
    annual_amount: Decimal
    ratio: Decimal


@dataclass(frozen=True)
class InsurancePolicy:
    """A validated resident-insurance policy, typed. ``source`` keeps id, version and hash."""

    source: Policy
    year: int
    funding: Mapping[str, Decimal]
    civil_affairs_categories: tuple[str, ...]
    tiers: tuple[Tier, ...]
    specials: tuple[Tier, ...]
    uplifts: tuple[Uplift, ...]
    external_drug_limits: Mapping[int, Decimal]
    bands_on: str
    cap_scope: str
    floor_ratio: Decimal | None
    floor_base: str
    floor_article: str
    outpatient_visit_cap: Decimal | None
    outpatient_monthly_cap: Decimal | None
    outpatient_once_per_day: bool
    outpatient_cap_scope: str
    outpatient_household_cap: str
    major_bands: tuple[tuple[Decimal, Decimal], ...] | None
    major_cap: Decimal | None
    major_rules: tuple[str, ...]
    major_article: str
    inpatient_cap: Decimal | None
    waived_categories: tuple[str, ...]
    county_level: int
    repeat_deductible: str
    partial_reading: str
    partial_bands: str
    partial_threshold: Decimal
    partial_share_within: Decimal
    partial_share_above: Decimal
    formula_items_excluded: Decimal
    formula_material_excluded: Decimal
    outpatient_ratio: Decimal
    outpatient_cap: Decimal
    outpatient_levels: tuple[int, ...]
    chronic_diseases: tuple[ChronicDisease, ...]
    general_fee_enabled: bool
    general_fee_amount: Decimal
    general_fee_levels: tuple[int, ...]
    delivery_amount: Decimal
    cataract_amount_per_eye: Decimal
    tcm_share: Decimal
    tcm_waive_deductible: bool
    tcm_ratio_increase: Decimal
    tcm_increase_mode: str
    tcm_fracture_cap: Decimal
    tcm_fracture_ratio: Decimal
    notice_id_head: int
    notice_id_tail: int
    notice_list_outpatient: bool
    ledger_pace_ratio: Decimal
    outpatient_share: Mapping[str, Decimal]

    @property
    def name(self) -> str:
        return self.source.meta.id

    def tier(self, level: int | None, place: str | None) -> Tier | None:
        """The first tier matching an institution's level and place (None: no tier)."""
        return next((t for t in self.tiers if t.matches(level, place)), None)

    def special(self, key: str | None) -> Tier | None:
        """The special inpatient category named by a claim's ``inpatient_category``."""
        return next((t for t in self.specials if t.key == key), None)

    @property
    def terms(self) -> tuple[Tier, ...]:
        """Every set of inpatient terms a stay can take: the tiers, then the special categories."""
        return self.tiers + self.specials

    def tier_cap(self, tier: Tier) -> tuple[str, Decimal]:
        """The inpatient cap bucket and amount of a stay in ``tier`` (``inpatient.cap_scope``)."""
        if self.cap_scope == "tier":
            assert tier.annual_cap is not None
            return f"inpatient:{tier.key}", tier.annual_cap
        assert self.inpatient_cap is not None
        return "inpatient", self.inpatient_cap

    def major_amount(self, oop: Decimal) -> Decimal:
        """大病保险 on a year's cumulative 个人自付合规费用 ``oop``: each band's ratio on the part of
        ``oop`` inside it, summed, rounded once to the fen, at most ``major_cap``. A claim's
        payment is ``major_amount(after) − major_amount(before)`` (so the year's total is
        ``major_amount`` of the year's total)."""
        assert self.major_bands is not None
        bands = self.major_bands
        total = ZERO
        for k, (lo, r) in enumerate(bands):
            hi = bands[k + 1][0] if k + 1 < len(bands) else None
            top = oop if hi is None else min(oop, hi)
            total += r * max(ZERO, top - lo)
        amount = round_fen(total)
        return amount if self.major_cap is None else min(amount, self.major_cap)

    def per_person(self, source: str) -> Decimal:
        """Yuan per insured person per year from ``source`` (个人缴费 for both individual sources)."""
        return self.funding["individual" if source == "civil_affairs" else source]

    def per_person_by_pool(self, source: str) -> dict[str, Decimal]:
        """Yuan per insured person per year from ``source`` into each pool (``POOLS``): the
        outpatient share rounded to the fen (half up), the inpatient pool the rest (三(二)3)."""
        whole = self.per_person(source)
        outpatient = round_fen(whole * self.outpatient_share[source])
        return {"inpatient": whole - outpatient, "outpatient": outpatient}


def parse_insurance_policy(text: str, source: str) -> tuple[InsurancePolicy | None, list[Problem]]:
    """Validate an insurance policy's TOML text; every problem names the file, key and line."""
    policy, problems = load_policy(text, source, PARAMS)
    if policy is None:
        return None, problems
    v: Mapping[str, Any] = policy.values
    chronic = tuple(
        ChronicDisease(r["code"], r["name"], r["annual_amount"], r["ratio"])
        for r in v["outpatient.chronic_diseases"]
    )
    codes = [c.code for c in chronic]
    if len(set(codes)) != len(codes) or any(not c.strip() for c in codes):
        return None, [
            Problem(
                "policy.param.invalid",
                "参数 outpatient.chronic_diseases 无效: 病种编码须非空且不重复",
                Source(source, key="outpatient.chronic_diseases"),
            )
        ]
    if v["notice.id_keep_head"] + v["notice.id_keep_tail"] > 14:
        return None, [
            Problem(
                "policy.param.invalid",
                "参数 notice.id_keep_head + notice.id_keep_tail 不得超过 14 (至少遮盖 4 位)",
                Source(source, key="notice.id_keep_head"),
            )
        ]
    tiers, specials, uplifts, problems = _tiers_and_uplifts(v, source, text)
    if problems:
        return None, problems
    return (
        typed_policy(
            InsurancePolicy,
            policy,
            funding={s: v[f"funding.{s}"] for s in ("individual", "central", "region", "city", "county")},
            tiers=tiers,
            specials=specials,
            uplifts=uplifts,
            external_drug_limits={lv: v[f"catalogue.level_{lv}.external_drug_limit"] for lv in LEVELS},
            chronic_diseases=chronic,
            outpatient_share={s: v[f"pools.outpatient_share.{s}"] for s in SOURCE_LABELS},
        ),
        [],
    )


def _tiers_and_uplifts(
    v: Mapping[str, Any], source: str, text: str
) -> tuple[tuple[Tier, ...], tuple[Tier, ...], tuple[Uplift, ...], list[Problem]]:
    """The typed tiers and uplifts, and what is wrong across their rows (key and line named)."""
    problems: list[Problem] = []

    def bad(key: str, message: str, item: int | None = None) -> None:
        where = Source(source, row=_line(text, key, item), key=key)
        problems.append(Problem("policy.param.invalid", f"参数 {key} 无效: {message}", where))

    tiers = []
    shared = v["inpatient.cap_scope"] == "shared"
    for i, r in enumerate(v["inpatient.tiers"], start=1):
        if (r["ratio"] is None) == (r["bands"] is None):
            bad("inpatient.tiers", f"第 {i} 项 ({r['key']}) 须恰有 ratio 与 bands 之一", i)
            continue
        if shared and r["annual_cap"] is not None:
            bad("inpatient.tiers", f'第 {i} 项 ({r["key"]}): cap_scope = "shared" 时档次不设 annual_cap', i)
        if not shared and r["annual_cap"] is None:
            bad("inpatient.tiers", f'第 {i} 项 ({r["key"]}): cap_scope = "tier" 时每档须有 annual_cap', i)
        bands = r["bands"] if r["bands"] is not None else ((ZERO, r["ratio"]),)
        tiers.append(
            Tier(
                r["key"],
                r["name"],
                r["levels"],
                r["places"],
                r["deductible"],
                bands,
                r["stay_cap"],
                r["annual_cap"],
                r["article"] or "",
            )
        )
    specials = []
    for i, r in enumerate(v["inpatient.special"], start=1):
        if sum(r[k] is not None for k in ("ratio", "bands", "flat_amount")) != 1:
            bad("inpatient.special", f"第 {i} 项 ({r['key']}) 须恰有 ratio、bands、flat_amount 之一", i)
            continue
        if shared and r["annual_cap"] is not None:
            bad("inpatient.special", f'第 {i} 项 ({r["key"]}): cap_scope = "shared" 时不设 annual_cap', i)
        if not shared and r["annual_cap"] is None:
            bad("inpatient.special", f'第 {i} 项 ({r["key"]}): cap_scope = "tier" 时须有 annual_cap', i)
        bands = (
            r["bands"]
            if r["bands"] is not None
            else ((ZERO, r["ratio"] if r["ratio"] is not None else ZERO),)
        )
        specials.append(
            Tier(
                r["key"],
                r["name"],
                LEVELS,
                None,
                r["deductible"],
                bands,
                r["stay_cap"],
                r["annual_cap"],
                r["article"] or "",
                special=True,
                flat=r["flat_amount"],
            )
        )
    keys = [t.key for t in tiers]
    if len(set(keys + [t.key for t in specials])) != len(keys) + len(specials):
        bad("inpatient.tiers", f"档次与特殊住院类别的 key 须互不相同: {keys + [t.key for t in specials]}")
    if shared and v["inpatient.annual_cap"] is None:
        bad("inpatient.annual_cap", 'cap_scope = "shared" 时须有住院封顶线')
    if not shared and v["inpatient.annual_cap"] is not None:
        bad("inpatient.annual_cap", 'cap_scope = "tier" 时封顶线在各档 annual_cap 中, 此处不得填写')
    uplifts = []
    for i, r in enumerate(v["inpatient.uplifts"], start=1):
        unknown = [t for t in (r["tiers"] or ()) if t not in keys and t not in {s.key for s in specials}]
        if unknown:
            bad("inpatient.uplifts", f"第 {i} 项 ({r['key']}) 的 tiers 有未定义的档次 {unknown}", i)
        if r["mode"] == "points" and r["amount"] > ONE:
            bad(
                "inpatient.uplifts",
                f"第 {i} 项 ({r['key']}): points 的 amount 是比例 (0.05 = 5个百分点), 不得大于 1",
                i,
            )
        uplifts.append(
            Uplift(
                r["key"], r["name"], r["mode"], r["amount"], r["categories"], r["tiers"], r["article"] or ""
            )
        )
    if len({u.key for u in uplifts}) != len(uplifts):
        bad("inpatient.uplifts", "上调项 key 重复")
    return tuple(tiers), tuple(specials), tuple(uplifts), problems


def _line(text: str, key: str, item: int | None = None) -> int | None:
    """The line of the ``item``-th ``[[key]]`` header (1-based), else where ``key`` is set."""
    if item is not None:
        headers = [n for n, line in enumerate(text.splitlines(), start=1) if line.strip() == f"[[{key}]]"]
        if len(headers) >= item:
            return headers[item - 1]
    return line_of_key(text, key)


#: The resident-insurance policies: ``POLICIES.load(name, policy_file)``, ``POLICIES.named(name)``.
POLICIES = PolicyKind(
    "insurance", "城乡居民医保 (resident medical insurance)", PARAMS, parse_insurance_policy
)
