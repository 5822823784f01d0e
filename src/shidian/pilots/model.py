"""The pilot-plan data model (试点方案数据模型): a plan as immutable records.

A plan (试点方案) holds its objectives (工作目标), phases (工作步骤/时间进度), leading group
(领导小组及办公室), the departments taking part (成员单位), the responsibility list (责任清单:
each task with its lead (牵头) and partner (配合) units), indicators (指标) with targets (目标值),
the org hierarchy it applies to (市 → 县/区 → 乡镇/街道 → 村/社区) and the reporting period.
A score card (考核评分表) may be attached.

Plans are read by ``shidian.pilots.plan_file`` (YAML) and ``shidian.pilots.plan_excel``
(Excel); every field is documented in docs/pilots.md. Indicator values flow in the one shape of
``VALUES_SCHEMA`` (docs/briefs: "shape 1").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pyarrow as pa

#: Numerators and denominators of indicator values.
NUMBER = pa.decimal128(38, 8)

#: Indicator values (报表数据), the one shape every source of values produces.
VALUES_SCHEMA = pa.schema(
    [
        ("unit_code", pa.string()),
        ("indicator_code", pa.string()),
        ("period_start", pa.date32()),
        ("population", pa.string()),
        ("numerator", NUMBER),
        ("denominator", NUMBER),
    ]
)

#: The org hierarchy given to aggregation: one row per unit (area), its parent and level.
UNITS_SCHEMA = pa.schema([("unit_code", pa.string()), ("parent_code", pa.string()), ("level", pa.string())])

#: Indicator kinds: count (数量), rate (率 = 分子 ÷ 分母), amount (金额), yes_no (是/否).
KINDS = ("count", "rate", "amount", "yes_no")
#: How an indicator rolls up the hierarchy. ``sum``: Σ numerators (counts, amounts, yes/no as a
#: number of units); ``ratio``: Σ numerators ÷ Σ denominators (rates — never an average of
#: rates); ``share``: for yes/no, the share of reporting units answering yes (Σ yes ÷ Σ units);
#: ``none``: only the reporting level has a value.
AGGREGATIONS = ("sum", "ratio", "share", "none")
#: Which aggregations each kind may use (the first is the default).
KIND_AGGREGATIONS = {
    "count": ("sum", "none"),
    "amount": ("sum", "none"),
    "rate": ("ratio", "none"),
    "yes_no": ("share", "sum", "none"),
}
#: Where values come from: ``report`` (报表, entered by reporting units) or ``registry``
#: (computed by ``shidian.registry`` from case records).
SOURCES = ("report", "registry")
#: How values over several periods combine for attainment: ``latest`` (a stock: the value of the
#: last period reported, e.g. 建成率) or ``cumulative`` (a flow: the sum since the plan start,
#: e.g. 热线服务人次).
ACCUMULATIONS = ("latest", "cumulative")
#: Target directions: at least (≥, 不低于/达到/以上) or at most (≤, 不超过/以下).
DIRECTIONS = (">=", "<=")
#: Expected-path shapes between milestones: ``linear`` (time-prorated) or ``step`` (the last
#: milestone passed).
PATHS = ("linear", "step")
#: Reporting periods (报告周期).
PERIODS = ("month", "quarter", "year")

#: The administrative levels (行政层级) and the length of their GB/T 2260 / 统计用区划代码 codes.
CITY, COUNTY, TOWNSHIP, VILLAGE = "city", "county", "township", "village"
DEFAULT_LEVELS_DIGITS = {CITY: 6, COUNTY: 6, TOWNSHIP: 9, VILLAGE: 12}
LEVEL_NAMES = {CITY: "市", COUNTY: "县/区", TOWNSHIP: "乡镇/街道", VILLAGE: "村/社区"}

#: Attainment statuses (达标状态) and their colours (红黄绿).
ACHIEVED, ON_TRACK, LAGGING, OVERDUE = "achieved", "on_track", "lagging", "overdue"
STATUSES = (ACHIEVED, ON_TRACK, LAGGING, OVERDUE)
STATUS_COLOURS = {ACHIEVED: "green", ON_TRACK: "green", LAGGING: "yellow", OVERDUE: "red"}
STATUS_LABELS = {ACHIEVED: "已达标", ON_TRACK: "进度正常", LAGGING: "进度滞后", OVERDUE: "逾期未达标"}

#: Score rules (评分规则) of a score card item.
SCORE_RULES = ("linear", "thresholds", "achieved")


@dataclass(frozen=True)
class Level:
    """One level of the org hierarchy: ``code`` (city/county/township/village or another name),
    ``name`` (市 …), ``digits`` (length of the area code at this level; 0 = no code rule)."""

    code: str
    name: str
    digits: int = 0


@dataclass(frozen=True)
class Area:
    """An area of the hierarchy a plan applies to (试点地区): GB/T 2260 code (6 digits for 市/县,
    9 for 乡镇/街道, 12 for 村/社区 as in 统计用区划代码), name, parent code ('' at the top), level."""

    code: str
    name: str
    parent: str
    level: str


@dataclass(frozen=True)
class PopulationGroup:
    """A population group (人群) targets may be set for, e.g. ``officials`` 机关企事业单位干部职工."""

    code: str
    name: str


@dataclass(frozen=True)
class Phase:
    """A phase (阶段) with its dates and steps (工作步骤), e.g. 前期准备阶段 2020-09 … 2020-12."""

    code: str
    name: str
    start: date
    end: date
    steps: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlanUnit:
    """A department or body taking part (成员单位), e.g. ``health`` 县卫生健康委."""

    code: str
    name: str


@dataclass(frozen=True)
class LeadingGroup:
    """The leading group (领导小组) and its office (办公室): who heads it, where the office sits
    (a PlanUnit code) and the member units."""

    name: str
    head: str = ""
    office: str = ""
    office_unit: str = ""
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class Task:
    """One line of the responsibility list (责任清单): the task, its lead units (牵头; several
    when the seed says 分别负责), partner units (配合), deadline and phase."""

    code: str
    name: str
    lead: tuple[str, ...]
    partners: tuple[str, ...] = ()
    deadline: date | None = None
    phase: str = ""
    description: str = ""


@dataclass(frozen=True)
class Milestone:
    """An intermediate target (阶段目标): ``value`` by ``due``."""

    due: date
    value: Decimal


@dataclass(frozen=True)
class Target:
    """A target (目标值): ``value`` in the indicator's display unit (90 for 90% when the scale is
    100), ``direction`` ≥ or ≤, ``deadline``, optional milestones, the population group it is for
    ('' = whole population), the level of units it applies to ('' = every level), the baseline the
    path starts from at ``start`` (default: the plan start), and the seed text it comes from."""

    value: Decimal
    direction: str
    deadline: date
    milestones: tuple[Milestone, ...] = ()
    population: str = ""
    level: str = ""
    baseline: Decimal = Decimal(0)
    start: date | None = None
    path: str = "linear"
    basis: str = ""


@dataclass(frozen=True)
class Indicator:
    """An indicator (指标): code, name, display unit (% / 个 / 人 / 万元), kind, the level that
    reports it, how it aggregates, where values come from, the scale (value = numerator ÷
    denominator × scale for rates: 100 for percent, 100000 for 每10万人口), how periods combine,
    and its targets."""

    code: str
    name: str
    unit: str
    kind: str
    reported_by: str
    aggregation: str
    source: str = "report"
    scale: Decimal = Decimal(1)
    accumulate: str = "latest"
    targets: tuple[Target, ...] = ()
    task: str = ""
    basis: str = ""


@dataclass(frozen=True)
class ScoreItem:
    """One line of a score card (考核评分表): the indicator (and population), its weight (分值),
    the rule (``linear`` to target, ``thresholds`` [(达到值, 得分比例)…], ``achieved`` all or
    nothing)."""

    indicator: str
    weight: Decimal
    rule: str = "linear"
    population: str = ""
    thresholds: tuple[tuple[Decimal, Decimal], ...] = ()
    name: str = ""


@dataclass(frozen=True)
class Deduction:
    """Points deducted per supervision finding (督导发现问题) of a severity, with an optional cap."""

    severity: str
    points: Decimal
    cap: Decimal | None = None


@dataclass(frozen=True)
class Scorecard:
    """A score card (考核评分表): items, deductions per finding, the total (满分)."""

    items: tuple[ScoreItem, ...]
    deductions: tuple[Deduction, ...] = ()
    total: Decimal = Decimal(100)
    level: str = ""


@dataclass(frozen=True)
class Plan:
    """A pilot plan (试点方案). ``seed`` names the seed article it is taken from (e.g. ``000 篇3``);
    ``start``/``end`` bound the plan (the phases lie within); ``levels`` is the hierarchy from the
    top down; ``period`` the reporting period (month/quarter/year)."""

    code: str
    name: str
    start: date
    end: date
    seed: str = ""
    kind: str = "plan"
    objectives: tuple[str, ...] = ()
    phases: tuple[Phase, ...] = ()
    leading_group: LeadingGroup | None = None
    units: tuple[PlanUnit, ...] = ()
    tasks: tuple[Task, ...] = ()
    indicators: tuple[Indicator, ...] = ()
    levels: tuple[Level, ...] = ()
    areas: tuple[Area, ...] = ()
    populations: tuple[PopulationGroup, ...] = ()
    period: str = "month"
    scorecard: Scorecard | None = None
    notes: tuple[str, ...] = field(default=())

    def indicator(self, code: str) -> Indicator:
        """The indicator with this code (KeyError if none)."""
        for ind in self.indicators:
            if ind.code == code:
                return ind
        raise KeyError(code)

    def unit_name(self, code: str) -> str:
        """The name of a plan unit (部门), or the code itself when not declared."""
        return next((u.name for u in self.units if u.code == code), code)

    def level_codes(self) -> tuple[str, ...]:
        return tuple(level.code for level in self.levels)
