"""Synthetic DRG region (DRG 演示数据): the input tables of ``shidian drg settle``.

``generate_drg_region`` writes a made-up 贵港-like region in the layout of docs/drg.md
"Inputs": hospitals, DRG groups, a year of discharged cases, a previous year of reference
cases, ``settlement.toml``, assessment coefficients and audit deductions. The data are shaped
to exercise every rule: skewed group popularity, provincial and computed weights, basic
groups, rare (unstable) groups and one group new this year, three hospital levels with
different costs and case mixes, high- and low-ratio outliers, ungroupable and new-technology
cases, hospitals over the self-pay cap, winter peaks and quiet weekends.

All randomness comes from ``numpy.random.default_rng(seed)`` (split into independent
streams), so equal arguments give byte-identical files. Cases are drawn and written in
chunks of ``CHUNK_ROWS`` rows, vectorised, so ten million cases take seconds and bounded
memory. Money is drawn as integer fen and written as exact yuan text (two decimals); floats
only shape the distributions and never reach a file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pa_csv

from shidian.money import D, round_fen, split_largest_remainder

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: Rows drawn and written at a time; part of the output's identity (same seed, same bytes).
CHUNK_ROWS = 1_000_000
#: The reference year (``reference_cases.csv``) is about as large as the year, at most this.
REFERENCE_MAX_ROWS = 1_000_000

HOSPITALS_COLUMNS = ("hospital_id", "name", "level")
DRG_GROUPS_COLUMNS = ("drg_code", "name", "weight", "basic")
CASES_COLUMNS = (
    "case_id",
    "hospital_id",
    "discharge_date",
    "drg_code",
    "total_cost",
    "fund_paid",
    "patient_cash",
    "self_pay",
    "unreasonable_cost",
    "review_approved",
    "new_technology",
)
ASSESSMENT_COLUMNS = ("hospital_id", "coefficient")
DEDUCTIONS_COLUMNS = ("hospital_id", "month", "amount", "points")
REFERENCE_CASES_COLUMNS = ("drg_code", "hospital_id", "total_cost")

# Shares of cases (or of high outliers, for review) with each feature.
HIGH_OUTLIER_SHARE = 0.005  # cost × 4–8: high-ratio (高倍率) cases
LOW_OUTLIER_SHARE = 0.03  # cost × 0.1–0.25: low-ratio (低倍率) cases
UNGROUPABLE_SHARE = 0.01  # blank drg_code (无法入组)
NEW_TECHNOLOGY_SHARE = 0.002  # 新技术
REVIEW_APPROVED_SHARE = 0.30  # of the high outliers: 特病单议核准
UNREASONABLE_SHARE = 0.02  # some 不合理费用
OTHER_INSURANCE_SHARE = 0.08  # 大病保险 / 医疗救助 pay part of the non-fund cost
BASIC_GROUP_SHARE = 0.10  # 基础病组
PROVINCIAL_WEIGHT_SHARE = 0.60  # groups with a provincial weight; the rest are computed

# Month (Jan..Dec) and weekday (Mon..Sun) factors of discharges: winter peaks, Spring Festival.
_SEASON = (1.14, 0.90, 1.04, 0.99, 0.96, 0.92, 0.95, 0.96, 0.97, 1.00, 1.05, 1.16)
_WEEKDAY = (1.06, 1.05, 1.03, 1.03, 1.02, 0.86, 0.78)

# MDC letter -> (log-cost effect, disease words). The letter opens every DRG code.
_MDC: dict[str, tuple[float, tuple[str, ...]]] = {
    "A": (1.8, ("肝移植", "肾移植", "呼吸机支持", "造血干细胞移植")),
    "B": (0.3, ("脑出血", "脑梗死", "颅内肿瘤", "癫痫", "帕金森病")),
    "C": (-0.2, ("白内障", "青光眼", "视网膜脱离")),
    "D": (-0.1, ("慢性鼻窦炎", "扁桃体炎", "中耳炎", "甲状腺肿物")),
    "E": (0.0, ("肺炎", "慢性阻塞性肺病", "支气管哮喘", "肺恶性肿瘤", "肺栓塞", "呼吸衰竭")),
    "F": (0.3, ("冠心病", "急性心肌梗死", "心力衰竭", "高血压", "心律失常")),
    "G": (0.0, ("阑尾炎", "胃溃疡", "消化道出血", "结直肠恶性肿瘤", "腹股沟疝")),
    "H": (0.1, ("胆囊结石", "肝硬化", "急性胰腺炎", "肝恶性肿瘤")),
    "I": (0.2, ("股骨骨折", "腰椎间盘突出", "膝关节骨性关节炎", "骨质疏松")),
    "J": (-0.2, ("乳腺恶性肿瘤", "皮肤感染", "带状疱疹")),
    "K": (-0.1, ("糖尿病", "甲状腺功能亢进", "电解质紊乱")),
    "L": (0.0, ("泌尿系结石", "肾衰竭", "尿路感染")),
    "M": (-0.1, ("前列腺增生", "前列腺恶性肿瘤")),
    "N": (-0.1, ("子宫肌瘤", "卵巢囊肿", "宫颈恶性肿瘤")),
    "O": (-0.3, ("剖宫产", "阴道分娩", "先兆流产")),
    "P": (0.1, ("新生儿黄疸", "早产儿", "新生儿肺炎")),
    "Q": (0.0, ("贫血", "血小板减少")),
    "R": (0.5, ("淋巴瘤", "白血病")),
    "S": (-0.1, ("败血症", "病毒性肝炎", "肺结核")),
    "T": (-0.2, ("精神分裂症", "抑郁症")),
    "V": (0.0, ("颅脑损伤", "药物中毒")),
    "W": (0.6, ("烧伤",)),
    "X": (-0.5, ("康复治疗", "随访检查")),
    "Z": (1.0, ("多发严重创伤",)),
}
# Second letter -> kind: 0 surgical (外科手术), 1 procedure (非手术操作), 2 medical (内科).
_KIND_OF_LETTER = {"B": 0, "C": 0, "D": 0, "J": 0, "K": 1, "Q": 1, "R": 2, "S": 2, "T": 2, "U": 2, "V": 2}
_KIND_COST = (0.9, 0.35, 0.0)
_KIND_SUFFIX = ("手术", "介入治疗", "")
# Last digit -> severity (并发症或合并症): log-cost effect and name suffix.
_SEVERITY = {
    "1": (0.55, "，伴严重并发症或合并症"),
    "3": (0.25, "，伴一般并发症或合并症"),
    "5": (0.0, "，不伴并发症或合并症"),
    "9": (0.1, ""),
}
_SPLITS = (("9",), ("3", "5"), ("1", "3", "5"))

# Hospital names by level: 3 city hospitals, 2 county hospitals, 1 township health centres.
_LEVEL3_NAMES = (
    "贵港市人民医院",
    "贵港市第一人民医院",
    "贵港市中医医院",
    "桂平市人民医院",
    "贵港市第二人民医院",
)
_COUNTIES = ("港北区", "港南区", "覃塘区", "平南县", "桂平市")
_COUNTY_KINDS = ("人民医院", "中医医院", "妇幼保健院", "第二人民医院", "第三人民医院")
_PRIVATE_NAMES = ("贵港和平医院", "贵港仁爱医院", "平南博爱医院", "桂平协和医院", "港南康华医院")
_TOWNS = {  # county -> its towns (镇), each with a health centre (卫生院)
    "港北区": "根竹 武乐 庆丰 大圩 奇石 中里",
    "港南区": "桥圩 木格 木梓 湛江 东津 八塘 新塘 瓦塘",
    "覃塘区": "黄练 石卡 五里 山北 东龙 三里 樟木 蒙公 大岭",
    "平南县": "大安 武林 大鹏 思旺 大洲 镇隆 上渡 六陈 同和 安怀 丹竹 官成",
    "桂平市": "木乐 木圭 石咀 油麻 社坡 罗秀 麻垌 社步 金田 江口 蒙圩 白沙",
}
_LEVEL_SHARE = {3: 0.05, 2: 0.20}  # the rest are level 1
_LEVEL_VOLUME = {1: 1.0, 2: 6.0, 3: 25.0}  # relative cases per hospital
_LEVEL_COST = {1: -0.30, 2: -0.10, 3: 0.15}  # log-cost effect
_LEVEL_CASE_MIX = {1: -0.8, 2: 0.0, 3: 0.5}  # tilt towards expensive groups
_LEVEL_FUND_RATIO = {1: 0.72, 2: 0.66, 3: 0.60}

_CSV_OPTIONS = pa_csv.WriteOptions(include_header=False, quoting_style="none")


@dataclass(frozen=True)
class _Groups:
    """DRG groups: codes, names, cost model, popularity per level, rare and basic groups."""

    codes: list[str]
    names: list[str]
    weights: list[str | None]
    basic: npt.NDArray[np.int8]
    mu: FloatArray  # mean log cost (yuan)
    sigma: FloatArray
    popularity: dict[int, FloatArray]  # level -> probability over groups (0 for rare ones)
    rare: IntArray  # indices of rare groups, the first one new this year


@dataclass(frozen=True)
class _Hospitals:
    ids: list[str]
    names: list[str]
    level: IntArray
    share: FloatArray  # probability that a case is this hospital's
    cost_effect: FloatArray
    fund_ratio: FloatArray
    self_pay_ratio: FloatArray


def generate_drg_region(
    out_dir: Path,
    *,
    cases: int,
    hospitals: int,
    seed: int,
    year: int = 2020,
    budget_ratio: Decimal = Decimal("0.97"),
) -> dict[str, int]:
    """Write a synthetic region's DRG inputs into ``out_dir``; return rows per file name.

    ``cases`` discharged cases of ``year`` across ``hospitals`` hospitals; the DRG budget is
    ``budget_ratio`` × the year's pooled-fund payments, rounded half up to the fen.
    """
    if cases < 1:
        raise ValueError(f"cases must be at least 1, got {cases}")
    if hospitals < 3:
        raise ValueError(f"hospitals must be at least 3 (one per level), got {hospitals}")
    if not 1971 <= year <= 9999:
        raise ValueError(f"year out of range: {year}")
    out_dir.mkdir(parents=True, exist_ok=True)
    structure_rng, reference_rng, cases_rng, tables_rng = np.random.default_rng(seed).spawn(4)
    groups = _make_groups(structure_rng, n_groups=int(np.clip(cases // 40, 40, 600)))
    hosp = _make_hospitals(structure_rng, hospitals)

    hospitals_table = pa.table(
        [pa.array(hosp.ids), pa.array(hosp.names), pa.array(hosp.level)], HOSPITALS_COLUMNS
    )
    groups_table = pa.table(
        [
            pa.array(groups.codes),
            pa.array(groups.names),
            pa.array(groups.weights, pa.string()),
            pa.array(groups.basic),
        ],
        DRG_GROUPS_COLUMNS,
    )
    counts = {
        "hospitals.csv": _write_csv(out_dir / "hospitals.csv", HOSPITALS_COLUMNS, [hospitals_table]),
        "drg_groups.csv": _write_csv(out_dir / "drg_groups.csv", DRG_GROUPS_COLUMNS, [groups_table]),
    }
    n_reference = min(REFERENCE_MAX_ROWS, max(1, round(cases * 0.96)))
    counts["reference_cases.csv"] = _write_csv(
        out_dir / "reference_cases.csv",
        REFERENCE_CASES_COLUMNS,
        _reference_chunks(reference_rng, groups, hosp, n_reference),
    )
    fund_fen = [0]
    counts["cases.csv"] = _write_csv(
        out_dir / "cases.csv", CASES_COLUMNS, _case_chunks(cases_rng, groups, hosp, cases, year, fund_fen)
    )
    budget = round_fen(Decimal(fund_fen[0]) / 100 * D(budget_ratio))
    shares = _monthly_shares(tables_rng, year - 1)
    (out_dir / "settlement.toml").write_text(_settlement_toml(year, budget, shares), encoding="utf-8")
    counts["assessment.csv"] = _write_csv(
        out_dir / "assessment.csv", ASSESSMENT_COLUMNS, [_assessment(tables_rng, hosp)]
    )
    counts["deductions.csv"] = _write_csv(
        out_dir / "deductions.csv", DEDUCTIONS_COLUMNS, [_deductions(tables_rng, hosp)]
    )
    return counts


# ---- structure: groups and hospitals -------------------------------------------------------


def _make_groups(rng: np.random.Generator, *, n_groups: int) -> _Groups:
    """``n_groups`` DRGs: MDC letter + kind letter + ADRG digit + severity digit."""
    mdcs = sorted(_MDC)
    letters = sorted(_KIND_OF_LETTER)
    adrgs = [m + k + str(d) for m in mdcs for k in letters for d in range(1, 10)]
    codes: list[str] = []
    names: list[str] = []
    mu: list[float] = []
    mdc_noise = dict(zip(mdcs, rng.normal(0.0, 0.2, len(mdcs)).tolist(), strict=True))
    for i in rng.permutation(len(adrgs)).tolist():
        if len(codes) >= n_groups:
            break
        adrg = adrgs[i]
        mdc_cost, diseases = _MDC[adrg[0]]
        kind = _KIND_OF_LETTER[adrg[1]]
        disease = diseases[int(rng.integers(len(diseases)))] + _KIND_SUFFIX[kind]
        adrg_mu = np.log(4000.0) + mdc_cost + mdc_noise[adrg[0]] + _KIND_COST[kind] + rng.normal(0.0, 0.25)
        for severity in _SPLITS[int(rng.choice(3, p=[0.3, 0.35, 0.35]))]:
            codes.append(adrg + severity)
            names.append(disease + _SEVERITY[severity][1])
            mu.append(float(adrg_mu) + _SEVERITY[severity][0])
    codes, names, mu = codes[:n_groups], names[:n_groups], mu[:n_groups]
    order = np.argsort(np.array(codes), kind="stable")
    codes = [codes[i] for i in order]
    names = [names[i] for i in order]
    mu_arr = np.array(mu)[order]
    g = len(codes)
    sigma = rng.uniform(0.25, 0.45, g)

    # Zipf-like popularity over a random ranking; rare groups get their cases one by one.
    base = (rng.permutation(g) + 3.0) ** -1.1
    n_rare = max(3, round(0.02 * g))
    rare = rng.choice(np.argsort(base)[: max(n_rare, g // 4)], size=n_rare, replace=False).astype(np.int64)
    base[rare] = 0.0
    z = (mu_arr - mu_arr.mean()) / mu_arr.std()
    popularity: dict[int, FloatArray] = {}
    for level, tilt in _LEVEL_CASE_MIX.items():
        p = base * np.exp(tilt * z)
        popularity[level] = p / p.sum()

    # Basic groups (基础病组): common groups without complications.
    is_rare = np.zeros(g, dtype=bool)
    is_rare[rare] = True
    simple = np.array([c[-1] in "59" for c in codes]) & ~is_rare
    candidates = np.flatnonzero(simple)[np.argsort(-base[simple], kind="stable")]
    n_basic = min(round(BASIC_GROUP_SHARE * g), candidates.size)
    chosen = rng.choice(candidates[: max(n_basic, candidates.size // 2)], size=n_basic, replace=False)
    basic = np.zeros(g, dtype=np.int8)
    basic[chosen] = 1

    # Provincial weights (省级权重), 4 decimals, near the true cost ratio; others computed.
    mean_cost = np.exp(mu_arr + sigma**2 / 2)
    weight = mean_cost / (mean_cost @ popularity[2]) * rng.uniform(0.92, 1.08, g)
    given = rng.random(g) < PROVINCIAL_WEIGHT_SHARE
    given[rare[0]] = True  # a group new this year has no history to compute a weight from
    units = np.maximum(np.rint(weight * 10_000), 1).astype(np.int64).tolist()
    weights = [
        str(Decimal(u).scaleb(-4)) if giv else None for u, giv in zip(units, given.tolist(), strict=True)
    ]
    return _Groups(codes, names, weights, basic, mu_arr, sigma, popularity, rare)


def _make_hospitals(rng: np.random.Generator, n: int) -> _Hospitals:
    """``n`` hospitals, many township (level 1), some county (2), few city (3) hospitals."""
    n3 = max(1, round(_LEVEL_SHARE[3] * n))
    n2 = max(1, round(_LEVEL_SHARE[2] * n))
    level = rng.permutation(np.repeat(np.array([3, 2, 1], dtype=np.int64), [n3, n2, n - n3 - n2]))
    pools = {
        3: list(_LEVEL3_NAMES),
        2: [c + k for c in _COUNTIES for k in _COUNTY_KINDS if c + k not in _LEVEL3_NAMES]
        + list(_PRIVATE_NAMES),
        1: [f"{county}{town}镇卫生院" for county, towns in _TOWNS.items() for town in towns.split()],
    }
    names = [""] * n
    for lvl, pool in pools.items():
        where = np.flatnonzero(level == lvl).tolist()
        for k, i in enumerate(where):
            if k % len(pool) == 0:
                order = rng.permutation(len(pool)).tolist()
            name = pool[order[k % len(pool)]]
            names[i] = name if k < len(pool) else f"{name}第{k // len(pool) + 1}分院"
    volume = np.array([_LEVEL_VOLUME[v] for v in level.tolist()]) * rng.lognormal(0.0, 0.5, n)
    fund = np.array([_LEVEL_FUND_RATIO[v] for v in level.tolist()]) + rng.normal(0.0, 0.02, n)
    self_pay = rng.uniform(0.02, 0.08, n)
    over_cap = rng.choice(n, size=max(1, round(0.08 * n)), replace=False)
    self_pay[over_cap] = rng.uniform(0.11, 0.14, over_cap.size)  # above the 10% self-pay cap
    return _Hospitals(
        ids=[f"H{i:04d}" for i in range(1, n + 1)],
        names=names,
        level=level,
        share=volume / volume.sum(),
        cost_effect=np.array([_LEVEL_COST[v] for v in level.tolist()]) + rng.normal(0.0, 0.08, n),
        fund_ratio=np.clip(fund, 0.57, 0.73),
        self_pay_ratio=self_pay,
    )


# ---- cases ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Draw:
    hospital: IntArray
    drg: IntArray  # == number of groups: ungroupable
    total_fen: IntArray
    high: npt.NDArray[np.bool_]


def _rare_slots(
    rng: np.random.Generator, groups: _Groups, n: int, *, reference: bool
) -> tuple[IntArray, IntArray]:
    """Positions (sorted) and groups of the rare groups' few cases among ``n`` rows."""
    counts = rng.integers(1, 9, groups.rare.size)
    if reference:
        counts[0] = 0  # new this year: no history (无相应历史数据)
        counts[1] = rng.integers(1, 6)  # at most 5: unstable (不稳定病组)
    counts = np.minimum(counts, max(1, n // (10 * groups.rare.size)))
    slot_groups = rng.permutation(np.repeat(groups.rare, counts))
    positions = rng.choice(n, size=slot_groups.size, replace=False)
    order = np.argsort(positions)
    return positions[order].astype(np.int64), slot_groups[order].astype(np.int64)


def _draw(
    rng: np.random.Generator,
    groups: _Groups,
    hosp: _Hospitals,
    start: int,
    m: int,
    slots: tuple[IntArray, IntArray],
    cost_factor: float,
) -> _Draw:
    """Hospital, group and total cost (fen) of rows ``start .. start + m``."""
    hospital = rng.choice(len(hosp.ids), size=m, p=hosp.share).astype(np.int64)
    level = hosp.level[hospital]
    drg = np.empty(m, dtype=np.int64)
    for lvl, p in groups.popularity.items():
        rows = np.flatnonzero(level == lvl)
        drg[rows] = rng.choice(p.size, size=rows.size, p=p)
    ungroupable = rng.random(m) < UNGROUPABLE_SHARE
    positions, slot_groups = slots
    lo, hi = np.searchsorted(positions, [start, start + m])
    drg[positions[lo:hi] - start] = slot_groups[lo:hi]
    ungroupable[positions[lo:hi] - start] = False
    log_cost = (
        groups.mu[drg]
        + hosp.cost_effect[hospital]
        + groups.sigma[drg] * rng.standard_normal(m)
        + np.log(cost_factor)
    )
    cost = np.exp(log_cost)
    u = rng.random(m)
    high = u < HIGH_OUTLIER_SHARE
    low = (u >= HIGH_OUTLIER_SHARE) & (u < HIGH_OUTLIER_SHARE + LOW_OUTLIER_SHARE)
    cost[high] *= rng.uniform(4.0, 8.0, int(high.sum()))
    cost[low] *= rng.uniform(0.10, 0.25, int(low.sum()))
    total_fen = np.maximum(np.rint(cost * 100), 5_000).astype(np.int64)
    drg[ungroupable] = len(groups.codes)
    return _Draw(hospital, drg, total_fen, high)


def _reference_chunks(
    rng: np.random.Generator, groups: _Groups, hosp: _Hospitals, n: int
) -> Iterator[pa.Table]:
    """The previous year's cases (历史数据): 5% cheaper, same mix."""
    slots = _rare_slots(rng, groups, n, reference=True)
    codes = pa.array([*groups.codes, None], pa.string())
    ids = pa.array(hosp.ids)
    for start in range(0, n, CHUNK_ROWS):
        d = _draw(rng, groups, hosp, start, min(CHUNK_ROWS, n - start), slots, cost_factor=0.95)
        yield pa.table([codes.take(d.drg), ids.take(d.hospital), _yuan(d.total_fen)], REFERENCE_CASES_COLUMNS)


def _case_chunks(
    rng: np.random.Generator, groups: _Groups, hosp: _Hospitals, n: int, year: int, fund_fen: list[int]
) -> Iterator[pa.Table]:
    """The year's cases in discharge order; adds the fund payments to ``fund_fen[0]``."""
    first = dt.date(year, 1, 1)
    n_days = (dt.date(year + 1, 1, 1) - first).days
    dates = np.datetime64(first, "D") + np.arange(n_days)
    month = dates.astype("datetime64[M]").astype(np.int64) % 12
    weekday = (dates.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    p_day = np.array(_SEASON)[month] * np.array(_WEEKDAY)[weekday]
    per_day = rng.multinomial(n, p_day / p_day.sum())
    day_of_row = np.repeat(np.arange(n_days, dtype=np.int32), per_day)
    slots = _rare_slots(rng, groups, n, reference=False)
    codes = pa.array([*groups.codes, None], pa.string())
    ids = pa.array(hosp.ids)
    last_id = year * 10**9
    for start in range(0, n, CHUNK_ROWS):
        m = min(CHUNK_ROWS, n - start)
        d = _draw(rng, groups, hosp, start, m, slots, cost_factor=1.0)
        total = d.total_fen
        steps = rng.integers(1, 4, m)
        if start == 0:
            steps[0] = 1  # the first case is always <year>000000001 (README: shidian drg explain)
        case_id = last_id + np.cumsum(steps)
        last_id = int(case_id[-1])
        fund_ratio = np.clip(hosp.fund_ratio[d.hospital] + rng.uniform(-0.04, 0.04, m), 0.55, 0.75)
        fund = np.floor(total * fund_ratio).astype(np.int64)
        other = np.where(
            rng.random(m) < OTHER_INSURANCE_SHARE, np.floor(total * rng.uniform(0.01, 0.08, m)), 0
        ).astype(np.int64)
        cash = total - fund - other
        self_ratio = np.clip(hosp.self_pay_ratio[d.hospital] * np.exp(rng.normal(-0.045, 0.3, m)), 0.0, 0.35)
        self_pay = np.minimum(np.floor(total * self_ratio).astype(np.int64), cash)
        unreasonable = np.where(
            rng.random(m) < UNREASONABLE_SHARE, np.floor(total * rng.uniform(0.01, 0.10, m)), 0
        ).astype(np.int64)
        review = (d.high & (rng.random(m) < REVIEW_APPROVED_SHARE)).astype(np.int8)
        new_tech = (rng.random(m) < NEW_TECHNOLOGY_SHARE).astype(np.int8)
        fund_fen[0] += int(fund.sum())
        discharge = pa.array(dates[day_of_row[start : start + m]])
        columns: list[Any] = [pa.array(case_id), ids.take(d.hospital), discharge, codes.take(d.drg)]
        columns += [_yuan(a) for a in (total, fund, cash, self_pay, unreasonable)]
        yield pa.table([*columns, pa.array(review), pa.array(new_tech)], CASES_COLUMNS)


# ---- small tables --------------------------------------------------------------------------


def _monthly_shares(rng: np.random.Generator, previous_year: int) -> list[Decimal]:
    """Last year's monthly shares of pooled-fund inpatient spending, 4 decimals, summing to 1."""
    days = [
        (dt.date(previous_year + m // 12, m % 12 + 1, 1) - dt.date(previous_year, m, 1)).days
        for m in range(1, 13)
    ]
    spending = np.array(_SEASON) * np.array(days) * rng.lognormal(0.0, 0.03, 12)
    micro = np.rint(spending / spending.sum() * 1_000_000).astype(np.int64).tolist()
    return split_largest_remainder(Decimal(1), [Decimal(x) for x in micro], scale=4)


def _settlement_toml(year: int, budget: Decimal, shares: list[Decimal]) -> str:
    share_text = ", ".join(f'"{s}"' for s in shares)
    return (
        "# 演示数据（合成，非真实）：DRG 年度结算参数\n"
        f"year = {year}\n"
        f'drg_budget = "{budget}"  # DRG 总额预算（统筹基金，元）\n'
        f"monthly_shares = [{share_text}]  # 上年度各月住院统筹基金费用占比\n"
    )


def _assessment(rng: np.random.Generator, hosp: _Hospitals) -> pa.Table:
    """Assessment coefficients (考核系数): most 1.00, a fifth between 0.95 and 0.99."""
    n = len(hosp.ids)
    hundredths = np.where(rng.random(n) < 0.2, rng.integers(95, 100, n), 100).tolist()
    return pa.table(
        [pa.array(hosp.ids), pa.array([str(Decimal(h).scaleb(-2)) for h in hundredths])], ASSESSMENT_COLUMNS
    )


def _deductions(rng: np.random.Generator, hosp: _Hospitals) -> pa.Table:
    """A few dozen audit deductions (审核扣款) and deducted points (扣除点数), one per hospital-month."""
    n = len(hosp.ids)
    k = min(n * 12, int(np.clip(n // 2, 24, 60)))
    slots = np.sort(rng.choice(n * 12, size=k, replace=False))
    amount_fen = rng.integers(100_00, 20_000_00, k)
    points = np.where(rng.random(k) < 0.4, 0, rng.integers(1, 3_000, k)).tolist()
    return pa.table(
        [
            pa.array([hosp.ids[s // 12] for s in slots.tolist()]),
            pa.array((slots % 12 + 1).astype(np.int64)),
            _yuan(amount_fen.astype(np.int64)),
            pa.array([str(Decimal(p).scaleb(-2)) for p in points]),
        ],
        DEDUCTIONS_COLUMNS,
    )


# ---- writing -------------------------------------------------------------------------------


def _yuan(fen: IntArray) -> Any:
    """Integer fen as an exact DECIMAL(18,2) Arrow array (written as yuan text, e.g. 1234.56)."""
    words = np.empty((fen.size, 2), dtype="<i8")
    words[:, 0] = fen
    words[:, 1] = fen >> 63  # sign extension to 128 bits
    return pa.Array.from_buffers(pa.decimal128(18, 2), fen.size, [None, pa.py_buffer(words)])


def _write_csv(path: Path, columns: tuple[str, ...], tables: Iterable[pa.Table]) -> int:
    """Write UTF-8 CSV: a plain header row, then the tables' rows; return the row count."""
    rows = 0
    with path.open("wb") as sink:
        sink.write((",".join(columns) + "\n").encode("utf-8"))
        writer = None
        for table in tables:
            if writer is None:
                writer = pa_csv.CSVWriter(sink, table.schema, write_options=_CSV_OPTIONS)
            writer.write_table(table)
            rows += table.num_rows
        if writer is not None:
            writer.close()
    return rows
