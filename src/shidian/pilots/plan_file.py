"""Plan files (方案文件): a pilot plan as YAML, parsed and validated into ``model.Plan``.

``parse_plan(text, source)`` returns ``(plan, problems)``: every problem names the file, the
line and the path inside the document (``indicators[3].targets[0].deadline``) and says why in
Chinese. Any error means no plan. The format (every field) is documented in docs/pilots.md.

Problem codes: ``pilots.plan.{yaml,not_mapping,required,type,unknown_field,not_allowed,
duplicate_code,unknown_unit,no_lead,unknown_phase,phase_dates,target_no_deadline,
target_after_end,rate_averaged,aggregation_invalid,unknown_population,unknown_level,
milestone_after_deadline,milestone_order,duplicate_target,target_out_of_range,
unknown_indicator,unknown_task,weights,thresholds_order,unknown_area_parent,area_code,area_level,
hierarchy_cycle}``.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

import yaml

from shidian.pilots.model import (
    ACCUMULATIONS,
    DEFAULT_LEVELS_DIGITS,
    DIRECTIONS,
    KIND_AGGREGATIONS,
    KINDS,
    LEVEL_NAMES,
    PATHS,
    PERIODS,
    SCORE_RULES,
    SOURCES,
    Area,
    Deduction,
    Indicator,
    LeadingGroup,
    Level,
    Milestone,
    Phase,
    Plan,
    PlanUnit,
    PopulationGroup,
    Scorecard,
    ScoreItem,
    Target,
    Task,
)
from shidian.problems import Problem, ProblemsError, Severity, Source, has_errors

T = TypeVar("T")

#: The shipped templates (模板): name → file name under ``shidian/pilots/templates``.
TEMPLATE_FILES = {
    "psy-service": "psy-service.yaml",
    "county-medical-community": "county-medical-community.yaml",
    "drg-reform": "drg-reform.yaml",
    "medical-beauty-campaign": "medical-beauty-campaign.yaml",
}

#: Words that mean "average" in an aggregation field: rejected for rates.
_AVERAGE_WORDS = ("average", "avg", "mean", "平均")

_PLAN_FIELDS = [
    "code",
    "name",
    "seed",
    "kind",
    "start",
    "end",
    "period",
    "objectives",
    "levels",
    "areas",
    "populations",
    "units",
    "leading_group",
    "phases",
    "tasks",
    "indicators",
    "scorecard",
    "notes",
]


def _template_dir() -> Path:
    return Path(str(importlib.resources.files("shidian.pilots") / "templates"))


#: name → path of each shipped template.
TEMPLATES: dict[str, Path] = {name: _template_dir() / file for name, file in TEMPLATE_FILES.items()}


def load_template(name: str) -> Plan:
    """The shipped template ``name`` (one of ``TEMPLATES``), parsed."""
    if name not in TEMPLATES:
        known = ", ".join(TEMPLATES)
        raise ProblemsError(
            [Problem("pilots.template.unknown", f"没有模板 {name} (可用: {known})", Source("<template>"))]
        )
    return load_plan(TEMPLATES[name])


def load_plan(path: Path | str) -> Plan:
    """Read and validate a YAML plan file; raise ``ProblemsError`` with every problem when it has
    errors. (An .xlsx plan is read by the adapter ``plan_excel.load_plan_file``.)"""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProblemsError(
            [Problem("pilots.plan.unreadable", f"无法读取方案文件: {exc}", Source(path.name))]
        ) from exc
    plan, problems = parse_plan(text, path.name)
    if plan is None:
        raise ProblemsError(problems)
    return plan


def parse_plan(text: str, source: str) -> tuple[Plan | None, list[Problem]]:
    """Parse and validate a YAML plan; ``(None, problems)`` when there is any error."""
    try:
        data = yaml.safe_load(text)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        return None, [Problem("pilots.plan.yaml", f"YAML 格式错误: {exc}", Source(source, line))]
    lines: dict[str, int] = {}
    if node is not None:
        _index_lines(node, "", lines)
    return plan_from_data(data, source, lines)


def plan_from_data(
    data: Any, source: str, lines: dict[str, int] | None = None
) -> tuple[Plan | None, list[Problem]]:
    """Validate plain data (as YAML or the Excel reader produce it) into a Plan."""
    reader = _Reader(source, lines or {})
    plan = reader.plan(data)
    problems = sorted(reader.problems, key=lambda p: (p.where.row or 0, p.where.key or ""))
    if plan is None or has_errors(problems):
        return None, problems
    return plan, problems


def _index_lines(node: yaml.Node, path: str, lines: dict[str, int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = f"{path}.{key.value}" if path else str(key.value)
            lines[sub] = key.start_mark.line + 1
            _index_lines(value, sub, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index_lines(item, f"{path}[{i}]", lines)


# ---------------------------------------------------------------------------------------------
# Writing


def plan_to_data(plan: Plan) -> dict[str, Any]:
    """A plan as plain data (the YAML document), fields in the documented order."""
    data: dict[str, Any] = {
        "code": plan.code,
        "name": plan.name,
        "seed": plan.seed,
        "kind": plan.kind,
        "start": plan.start,
        "end": plan.end,
        "period": plan.period,
        "objectives": list(plan.objectives),
        "levels": [{"code": lv.code, "name": lv.name, "digits": lv.digits} for lv in plan.levels],
    }
    if plan.areas:
        data["areas"] = [
            {"code": a.code, "name": a.name, "parent": a.parent, "level": a.level} for a in plan.areas
        ]
    data["populations"] = [{"code": p.code, "name": p.name} for p in plan.populations]
    data["units"] = [{"code": u.code, "name": u.name} for u in plan.units]
    if plan.leading_group is not None:
        g = plan.leading_group
        data["leading_group"] = {
            "name": g.name,
            "head": g.head,
            "office": g.office,
            "office_unit": g.office_unit,
            "members": list(g.members),
        }
    data["phases"] = [
        {"code": p.code, "name": p.name, "start": p.start, "end": p.end, "steps": list(p.steps)}
        for p in plan.phases
    ]
    data["tasks"] = [_task_data(t) for t in plan.tasks]
    data["indicators"] = [_indicator_data(i) for i in plan.indicators]
    if plan.scorecard is not None:
        data["scorecard"] = _scorecard_data(plan.scorecard)
    if plan.notes:
        data["notes"] = list(plan.notes)
    return data


def plan_to_yaml(plan: Plan) -> str:
    """The plan as a YAML document that ``parse_plan`` reads back to an equal Plan."""
    return yaml.safe_dump(plan_to_data(plan), allow_unicode=True, sort_keys=False, width=100)


def _num(value: Decimal) -> int | float:
    """A Decimal for YAML: an int when whole, else the float whose shortest repr is the value."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def _task_data(t: Task) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": t.code,
        "name": t.name,
        "lead": list(t.lead),
        "partners": list(t.partners),
    }
    if t.deadline is not None:
        data["deadline"] = t.deadline
    if t.phase:
        data["phase"] = t.phase
    if t.description:
        data["description"] = t.description
    return data


def _indicator_data(i: Indicator) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": i.code,
        "name": i.name,
        "unit": i.unit,
        "kind": i.kind,
        "reported_by": i.reported_by,
        "aggregation": i.aggregation,
        "source": i.source,
        "scale": _num(i.scale),
        "accumulate": i.accumulate,
    }
    if i.task:
        data["task"] = i.task
    if i.basis:
        data["basis"] = i.basis
    data["targets"] = [_target_data(t) for t in i.targets]
    return data


def _target_data(t: Target) -> dict[str, Any]:
    data: dict[str, Any] = {"value": _num(t.value), "direction": t.direction, "deadline": t.deadline}
    if t.population:
        data["population"] = t.population
    if t.level:
        data["level"] = t.level
    if t.baseline:
        data["baseline"] = _num(t.baseline)
    if t.start is not None:
        data["start"] = t.start
    if t.path != "linear":
        data["path"] = t.path
    if t.milestones:
        data["milestones"] = [{"due": m.due, "value": _num(m.value)} for m in t.milestones]
    if t.basis:
        data["basis"] = t.basis
    return data


def _scorecard_data(card: Scorecard) -> dict[str, Any]:
    items = []
    for item in card.items:
        row: dict[str, Any] = {"indicator": item.indicator, "weight": _num(item.weight), "rule": item.rule}
        if item.name:
            row["name"] = item.name
        if item.population:
            row["population"] = item.population
        if item.thresholds:
            row["thresholds"] = [[_num(a), _num(b)] for a, b in item.thresholds]
        items.append(row)
    data: dict[str, Any] = {"total": _num(card.total)}
    if card.level:
        data["level"] = card.level
    data["items"] = items
    data["deductions"] = [
        {"severity": d.severity, "points": _num(d.points)}
        | ({"cap": _num(d.cap)} if d.cap is not None else {})
        for d in card.deductions
    ]
    return data


# ---------------------------------------------------------------------------------------------
# Reading and validation


class _Missing:
    pass


_MISSING = _Missing()


class _Reader:
    """Reads plain data into model records, collecting problems with their path and line."""

    def __init__(self, source: str, lines: dict[str, int]):
        self.source = source
        self.lines = lines
        self.problems: list[Problem] = []

    # -- problems ------------------------------------------------------------------------------

    def where(self, path: str) -> Source:
        probe = path
        while probe and probe not in self.lines:
            cut = max(probe.rfind("."), probe.rfind("["))
            probe = probe[:cut] if cut > 0 else ""
        return Source(self.source, self.lines.get(probe), None, path or None)

    def add(self, code: str, path: str, message: str, severity: Severity = "error") -> None:
        self.problems.append(Problem(f"pilots.plan.{code}", message, self.where(path), severity))

    # -- primitives ----------------------------------------------------------------------------

    def mapping(self, data: Any, path: str, fields: list[str]) -> dict[str, Any] | None:
        if not isinstance(data, dict):
            self.add("type", path, f"{path or '方案'} 应是一个映射 (键: 值), 实为 {_type_name(data)}")
            return None
        for key in data:
            if str(key) not in fields:
                self.add("unknown_field", _join(path, str(key)), f"未知字段 {key} (已忽略)", "warning")
        return data

    def get(self, data: dict[str, Any], path: str, key: str, required: bool = True) -> Any:
        value = data.get(key, _MISSING)
        if value is _MISSING or value is None or value == "":
            if required:
                self.add("required", _join(path, key), f"缺少必填字段 {key}")
            return _MISSING
        return value

    def text(
        self, data: dict[str, Any], path: str, key: str, required: bool = True, default: str = ""
    ) -> str:
        value = self.get(data, path, key, required)
        if value is _MISSING:
            return default
        if isinstance(value, (dict, list)):
            self.add("type", _join(path, key), f"{key} 应是文字, 实为 {_type_name(value)}")
            return default
        if isinstance(value, bool):  # YAML 1.1 reads yes/no/on/off unquoted as booleans
            self.add(
                "type",
                _join(path, key),
                f'{key} 的值被 YAML 读成了是/否 ({value}); 代码或文字请加引号, 如 "YES"',
            )
            return default
        return str(value).strip()

    def choice(
        self, data: dict[str, Any], path: str, key: str, options: tuple[str, ...], default: str
    ) -> str:
        value = self.text(data, path, key, required=False, default=default)
        if value not in options:
            self.add(
                "not_allowed", _join(path, key), f"{key} 的值 {value} 不在允许范围 ({', '.join(options)})"
            )
            return default
        return value

    def day(self, data: dict[str, Any], path: str, key: str, required: bool = True) -> date | None:
        value = self.get(data, path, key, required)
        if value is _MISSING:
            return None
        parsed = _to_date(value)
        if parsed is None:
            self.add("type", _join(path, key), f"{key} 应是日期 YYYY-MM-DD, 实为 {value!r}")
        return parsed

    def number(self, data: dict[str, Any], path: str, key: str, required: bool = True) -> Decimal | None:
        value = self.get(data, path, key, required)
        if value is _MISSING:
            return None
        parsed = _to_decimal(value)
        if parsed is None:
            self.add("type", _join(path, key), f"{key} 应是数字, 实为 {value!r}")
        return parsed

    def seq(self, data: dict[str, Any], path: str, key: str) -> list[Any]:
        value = data.get(key)
        if value is None:
            return []
        if isinstance(value, (str, int, float)) and key in (
            "lead",
            "partners",
            "members",
            "steps",
            "objectives",
        ):
            return [value]
        if not isinstance(value, list):
            self.add("type", _join(path, key), f"{key} 应是列表, 实为 {_type_name(value)}")
            return []
        return value

    def strings(self, data: dict[str, Any], path: str, key: str) -> tuple[str, ...]:
        out = []
        for i, item in enumerate(self.seq(data, path, key)):
            if isinstance(item, (dict, list)) or item is None:
                self.add("type", f"{_join(path, key)}[{i}]", f"{key} 的每一项应是文字")
                continue
            out.append(str(item).strip())
        return tuple(out)

    def records(
        self,
        data: dict[str, Any],
        key: str,
        read: Callable[[Any, str], T | None],
        code_of: Callable[[T], str],
    ) -> tuple[T, ...]:
        out: list[T] = []
        seen: dict[str, int] = {}
        for i, item in enumerate(self.seq(data, "", key)):
            path = f"{key}[{i}]"
            rec = read(item, path)
            if rec is None:
                continue
            code = code_of(rec)
            if code in seen:
                self.add(
                    "duplicate_code", f"{path}.code", f"代码 {code} 重复 (已在 {key}[{seen[code]}] 使用)"
                )
                continue
            seen[code] = i
            out.append(rec)
        return tuple(out)

    # -- the plan ------------------------------------------------------------------------------

    def plan(self, data: Any) -> Plan | None:
        if not isinstance(data, dict):
            self.add("not_mapping", "", "方案文件应是一个 YAML 映射 (code: …, name: …, indicators: …)")
            return None
        self.mapping(data, "", _PLAN_FIELDS)
        code = self.text(data, "", "code")
        name = self.text(data, "", "name")
        start = self.day(data, "", "start")
        end = self.day(data, "", "end")
        if start and end and end < start:
            self.add("phase_dates", "end", f"方案结束日期 {end} 早于开始日期 {start}")
        levels = self.records(data, "levels", self.level, lambda lv: lv.code) or _default_levels()
        level_codes = [lv.code for lv in levels]
        populations = self.records(data, "populations", self.population, lambda p: p.code)
        units = self.records(data, "units", self.unit, lambda u: u.code)
        unit_codes = {u.code for u in units}
        phases = self.records(data, "phases", self.phase, lambda p: p.code)
        self.check_phases(phases, start, end)
        phase_codes = {p.code for p in phases}
        group = None
        if data.get("leading_group") is not None:
            group = self.leading_group(data["leading_group"], "leading_group", unit_codes)
        tasks = self.records(
            data, "tasks", lambda d, p: self.task(d, p, unit_codes, phase_codes), lambda t: t.code
        )
        task_codes = {t.code for t in tasks}
        ctx = _Context(level_codes, {p.code for p in populations}, task_codes, end)
        indicators = self.records(
            data, "indicators", lambda d, p: self.indicator(d, p, ctx), lambda i: i.code
        )
        areas = self.records(data, "areas", lambda d, p: self.area(d, p, levels), lambda a: a.code)
        self.check_areas(areas, levels)
        card = None
        if data.get("scorecard") is not None:
            card = self.scorecard(data["scorecard"], "scorecard", indicators, ctx)
        seed = self.text(data, "", "seed", required=False)
        kind = self.choice(data, "", "kind", ("plan", "campaign"), "plan")
        period = self.choice(data, "", "period", PERIODS, "month")
        objectives = self.strings(data, "", "objectives")
        notes = self.strings(data, "", "notes")
        if start is None or end is None:
            return None
        return Plan(
            code=code,
            name=name,
            start=start,
            end=end,
            seed=seed,
            kind=kind,
            objectives=objectives,
            phases=phases,
            leading_group=group,
            units=units,
            tasks=tasks,
            indicators=indicators,
            levels=levels,
            areas=areas,
            populations=populations,
            period=period,
            scorecard=card,
            notes=notes,
        )

    def level(self, data: Any, path: str) -> Level | None:
        d = self.mapping(data, path, ["code", "name", "digits"])
        if d is None:
            return None
        code = self.text(d, path, "code")
        digits = self.number(d, path, "digits", required=False)
        return Level(
            code,
            self.text(d, path, "name", required=False, default=LEVEL_NAMES.get(code, code)),
            int(digits) if digits is not None else DEFAULT_LEVELS_DIGITS.get(code, 0),
        )

    def population(self, data: Any, path: str) -> PopulationGroup | None:
        d = self.mapping(data, path, ["code", "name"])
        if d is None:
            return None
        return PopulationGroup(self.text(d, path, "code"), self.text(d, path, "name"))

    def unit(self, data: Any, path: str) -> PlanUnit | None:
        d = self.mapping(data, path, ["code", "name"])
        if d is None:
            return None
        return PlanUnit(self.text(d, path, "code"), self.text(d, path, "name"))

    def phase(self, data: Any, path: str) -> Phase | None:
        d = self.mapping(data, path, ["code", "name", "start", "end", "steps"])
        if d is None:
            return None
        code, name = self.text(d, path, "code"), self.text(d, path, "name")
        start, end = self.day(d, path, "start"), self.day(d, path, "end")
        if start is None or end is None:
            return None
        if end < start:
            self.add("phase_dates", f"{path}.end", f"阶段 {name} 的结束日期 {end} 早于开始日期 {start}")
        return Phase(code, name, start, end, self.strings(d, path, "steps"))

    def check_phases(self, phases: tuple[Phase, ...], start: date | None, end: date | None) -> None:
        for i, p in enumerate(phases):
            if (start and p.start < start) or (end and p.end > end):
                self.add(
                    "phase_dates",
                    f"phases[{i}]",
                    f"阶段 {p.name} ({p.start}…{p.end}) 超出方案期限 ({start}…{end})",
                )

    def leading_group(self, data: Any, path: str, unit_codes: set[str]) -> LeadingGroup | None:
        d = self.mapping(data, path, ["name", "head", "office", "office_unit", "members"])
        if d is None:
            return None
        office_unit = self.text(d, path, "office_unit", required=False)
        if office_unit and office_unit not in unit_codes:
            self.add("unknown_unit", f"{path}.office_unit", f"办公室所在单位 {office_unit} 未在 units 中列出")
        members = self.strings(d, path, "members")
        for i, m in enumerate(members):
            if m not in unit_codes:
                self.add("unknown_unit", f"{path}.members[{i}]", f"成员单位 {m} 未在 units 中列出")
        return LeadingGroup(
            self.text(d, path, "name"),
            self.text(d, path, "head", required=False),
            self.text(d, path, "office", required=False),
            office_unit,
            members,
        )

    def task(self, data: Any, path: str, unit_codes: set[str], phase_codes: set[str]) -> Task | None:
        d = self.mapping(data, path, ["code", "name", "lead", "partners", "deadline", "phase", "description"])
        if d is None:
            return None
        lead = self.strings(d, path, "lead")
        partners = self.strings(d, path, "partners")
        if not lead:
            self.add("no_lead", f"{path}.lead", "任务没有牵头单位 (lead)")
        for key, codes in (("lead", lead), ("partners", partners)):
            for i, c in enumerate(codes):
                if c not in unit_codes:
                    self.add("unknown_unit", f"{path}.{key}[{i}]", f"单位 {c} 未在 units 中列出")
        phase = self.text(d, path, "phase", required=False)
        if phase and phase not in phase_codes:
            self.add("unknown_phase", f"{path}.phase", f"阶段 {phase} 未在 phases 中列出")
        return Task(
            self.text(d, path, "code"),
            self.text(d, path, "name"),
            lead,
            partners,
            self.day(d, path, "deadline", required=False),
            phase,
            self.text(d, path, "description", required=False),
        )

    def indicator(self, data: Any, path: str, ctx: _Context) -> Indicator | None:
        fields = [
            "code",
            "name",
            "unit",
            "kind",
            "reported_by",
            "aggregation",
            "source",
            "scale",
            "accumulate",
            "targets",
            "task",
            "basis",
        ]
        d = self.mapping(data, path, fields)
        if d is None:
            return None
        code, name = self.text(d, path, "code"), self.text(d, path, "name")
        kind = self.choice(d, path, "kind", KINDS, "count")
        allowed = KIND_AGGREGATIONS[kind]
        aggregation = self.text(d, path, "aggregation", required=False, default=allowed[0])
        if aggregation.lower() in _AVERAGE_WORDS and kind == "rate":
            self.add(
                "rate_averaged",
                f"{path}.aggregation",
                f"率指标 {code} 不能按平均值汇总 (率的平均数不等于总体率): 请用 ratio (Σ分子 ÷ Σ分母)",
            )
            aggregation = allowed[0]
        elif aggregation not in allowed:
            self.add(
                "aggregation_invalid",
                f"{path}.aggregation",
                f"{kind} 类指标 {code} 的汇总方式 {aggregation} 不可用 (可用: {', '.join(allowed)})",
            )
            aggregation = allowed[0]
        reported_by = self.text(d, path, "reported_by")
        if reported_by and reported_by not in ctx.levels:
            self.add("unknown_level", f"{path}.reported_by", f"层级 {reported_by} 未在 levels 中列出")
        scale = self.number(d, path, "scale", required=False)
        if scale is None:
            scale = (
                Decimal(100)
                if kind == "rate" or (kind == "yes_no" and aggregation == "share")
                else Decimal(1)
            )
        if scale <= 0:
            self.add("not_allowed", f"{path}.scale", f"scale 应大于 0, 实为 {scale}")
        task = self.text(d, path, "task", required=False)
        if task and task not in ctx.tasks:
            self.add("unknown_task", f"{path}.task", f"任务 {task} 未在 tasks 中列出")
        targets = []
        seen: dict[tuple[str, str], int] = {}
        for i, item in enumerate(self.seq(d, path, "targets")):
            tpath = f"{path}.targets[{i}]"
            t = self.target(item, tpath, ctx, kind, scale, aggregation)
            if t is None:
                continue
            key = (t.population, t.level)
            if key in seen:
                self.add(
                    "duplicate_target",
                    tpath,
                    f"目标与 targets[{seen[key]}] 重复 (同一人群 {t.population or '全人群'} 与层级)",
                )
                continue
            seen[key] = i
            targets.append(t)
        return Indicator(
            code=code,
            name=name,
            unit=self.text(d, path, "unit", required=False),
            kind=kind,
            reported_by=reported_by,
            aggregation=aggregation,
            source=self.choice(d, path, "source", SOURCES, "report"),
            scale=scale,
            accumulate=self.choice(d, path, "accumulate", ACCUMULATIONS, "latest"),
            targets=tuple(targets),
            task=task,
            basis=self.text(d, path, "basis", required=False),
        )

    def target(
        self, data: Any, path: str, ctx: _Context, kind: str, scale: Decimal, aggregation: str
    ) -> Target | None:
        fields = [
            "value",
            "direction",
            "deadline",
            "milestones",
            "population",
            "level",
            "baseline",
            "start",
            "path",
            "basis",
        ]
        d = self.mapping(data, path, fields)
        if d is None:
            return None
        value = self.number(d, path, "value")
        direction = self.choice(d, path, "direction", DIRECTIONS, ">=")
        if self.get(d, path, "deadline", required=False) is _MISSING:
            self.add("target_no_deadline", f"{path}.deadline", "目标没有完成期限 (deadline)")
            deadline = None
        else:
            deadline = self.day(d, path, "deadline")
        population = self.text(d, path, "population", required=False)
        if population and population not in ctx.populations:
            self.add("unknown_population", f"{path}.population", f"人群 {population} 未在 populations 中列出")
        level = self.text(d, path, "level", required=False)
        if level and level not in ctx.levels:
            self.add("unknown_level", f"{path}.level", f"层级 {level} 未在 levels 中列出")
        if deadline and ctx.end and deadline > ctx.end:
            self.add(
                "target_after_end",
                f"{path}.deadline",
                f"目标期限 {deadline} 晚于方案结束日期 {ctx.end}",
                "warning",
            )
        bounded = (kind == "rate" and scale == 100) or (kind == "yes_no" and aggregation != "sum")
        if value is not None and (value < 0 or (bounded and value > scale)):
            self.add("target_out_of_range", f"{path}.value", f"目标值 {value} 超出 {kind} 指标的取值范围")
        milestones = []
        last: date | None = None
        for i, item in enumerate(self.seq(d, path, "milestones")):
            mpath = f"{path}.milestones[{i}]"
            md = self.mapping(item, mpath, ["due", "value"])
            if md is None:
                continue
            due, mvalue = self.day(md, mpath, "due"), self.number(md, mpath, "value")
            if due is None or mvalue is None:
                continue
            if deadline and due > deadline:
                self.add(
                    "milestone_after_deadline", f"{mpath}.due", f"阶段目标日期 {due} 晚于目标期限 {deadline}"
                )
            if last and due <= last:
                self.add("milestone_order", f"{mpath}.due", f"阶段目标日期 {due} 应晚于上一个 {last}")
            last = due
            milestones.append(Milestone(due, mvalue))
        baseline = self.number(d, path, "baseline", required=False)
        if value is None or deadline is None:
            return None
        return Target(
            value=value,
            direction=direction,
            deadline=deadline,
            milestones=tuple(milestones),
            population=population,
            level=level,
            baseline=baseline if baseline is not None else Decimal(0),
            start=self.day(d, path, "start", required=False),
            path=self.choice(d, path, "path", PATHS, "linear"),
            basis=self.text(d, path, "basis", required=False),
        )

    def area(self, data: Any, path: str, levels: tuple[Level, ...]) -> Area | None:
        d = self.mapping(data, path, ["code", "name", "parent", "level"])
        if d is None:
            return None
        code = self.text(d, path, "code")
        level = self.text(d, path, "level")
        spec = next((lv for lv in levels if lv.code == level), None)
        if spec is None:
            self.add("unknown_level", f"{path}.level", f"层级 {level} 未在 levels 中列出")
        elif spec.digits and (len(code) != spec.digits or not code.isdigit()):
            self.add(
                "area_code", f"{path}.code", f"{spec.name}代码 {code} 应为 {spec.digits} 位数字 (GB/T 2260)"
            )
        return Area(code, self.text(d, path, "name"), self.text(d, path, "parent", required=False), level)

    def check_areas(self, areas: tuple[Area, ...], levels: tuple[Level, ...]) -> None:
        from shidian.pilots.hierarchy import find_cycles

        order = {lv.code: i for i, lv in enumerate(levels)}
        by_code = {a.code: (i, a) for i, a in enumerate(areas)}
        for i, a in enumerate(areas):
            if not a.parent:
                continue
            parent = by_code.get(a.parent)
            if parent is None:
                self.add(
                    "unknown_area_parent", f"areas[{i}].parent", f"上级地区 {a.parent} 未在 areas 中列出"
                )
                continue
            pa_ = parent[1]
            if a.level in order and pa_.level in order and order[pa_.level] >= order[a.level]:
                self.add(
                    "area_level",
                    f"areas[{i}].level",
                    f"{a.name} ({a.level}) 的上级 {pa_.name} ({pa_.level}) 层级不高于它",
                )
        for cycle in find_cycles({a.code: a.parent for a in areas}):
            i = by_code[cycle[0]][0]
            self.add(
                "hierarchy_cycle", f"areas[{i}].parent", f"地区层级有环: {' → '.join([*cycle, cycle[0]])}"
            )

    def scorecard(
        self, data: Any, path: str, indicators: tuple[Indicator, ...], ctx: _Context
    ) -> Scorecard | None:
        d = self.mapping(data, path, ["total", "level", "items", "deductions"])
        if d is None:
            return None
        total = self.number(d, path, "total", required=False) or Decimal(100)
        level = self.text(d, path, "level", required=False)
        if level and level not in ctx.levels:
            self.add("unknown_level", f"{path}.level", f"层级 {level} 未在 levels 中列出")
        codes = {i.code for i in indicators}
        items = []
        for i, item in enumerate(self.seq(d, path, "items")):
            ipath = f"{path}.items[{i}]"
            idata = self.mapping(
                item, ipath, ["indicator", "weight", "rule", "population", "thresholds", "name"]
            )
            if idata is None:
                continue
            code = self.text(idata, ipath, "indicator")
            if code and code not in codes:
                self.add("unknown_indicator", f"{ipath}.indicator", f"指标 {code} 未在 indicators 中列出")
            weight = self.number(idata, ipath, "weight")
            rule = self.choice(idata, ipath, "rule", SCORE_RULES, "linear")
            population = self.text(idata, ipath, "population", required=False)
            if population and population not in ctx.populations:
                self.add(
                    "unknown_population", f"{ipath}.population", f"人群 {population} 未在 populations 中列出"
                )
            thresholds = list(self.thresholds(idata, ipath))
            if rule == "thresholds" and not thresholds:
                self.add("required", f"{ipath}.thresholds", "thresholds 规则需要列出 [达到值, 得分比例]")
            if weight is not None:
                items.append(
                    ScoreItem(
                        code,
                        weight,
                        rule,
                        population,
                        tuple(thresholds),
                        self.text(idata, ipath, "name", required=False),
                    )
                )
        weights = sum((it.weight for it in items), Decimal(0))
        if items and weights != total:
            self.add("weights", f"{path}.items", f"各项分值之和 {weights} 不等于满分 {total}")
        deductions = []
        for i, item in enumerate(self.seq(d, path, "deductions")):
            dpath = f"{path}.deductions[{i}]"
            dd = self.mapping(item, dpath, ["severity", "points", "cap"])
            if dd is None:
                continue
            points = self.number(dd, dpath, "points")
            if points is not None:
                deductions.append(
                    Deduction(
                        self.text(dd, dpath, "severity"),
                        points,
                        self.number(dd, dpath, "cap", required=False),
                    )
                )
        return Scorecard(tuple(items), tuple(deductions), total, level)

    def thresholds(self, data: dict[str, Any], path: str) -> Iterator[tuple[Decimal, Decimal]]:
        last: Decimal | None = None
        for i, pair in enumerate(self.seq(data, path, "thresholds")):
            tpath = f"{path}.thresholds[{i}]"
            if not isinstance(pair, list) or len(pair) != 2:
                self.add("type", tpath, "每个阈值应是 [达到值, 得分比例]")
                continue
            at, share = _to_decimal(pair[0]), _to_decimal(pair[1])
            if at is None or share is None or not Decimal(0) <= share <= Decimal(1):
                self.add("type", tpath, "阈值应是 [数字, 0 到 1 之间的得分比例]")
                continue
            if last is not None and at >= last:
                self.add("thresholds_order", tpath, "阈值应从高到低排列")
            last = at
            yield at, share


class _Context:
    def __init__(self, levels: list[str], populations: set[str], tasks: set[str], end: date | None):
        self.levels = levels
        self.populations = populations
        self.tasks = tasks
        self.end = end


def _default_levels() -> tuple[Level, ...]:
    return tuple(Level(code, LEVEL_NAMES[code], digits) for code, digits in DEFAULT_LEVELS_DIGITS.items())


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _type_name(value: Any) -> str:
    return {dict: "映射", list: "列表", str: "文字", int: "整数", float: "数字", bool: "是/否"}.get(
        type(value), type(value).__name__
    )


def _to_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip().replace("/", "-")
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    if len(text) == 7:  # 2020-12: the month's last day is what a plan means by "2020年12月底"
        try:
            first = date.fromisoformat(text + "-01")
        except ValueError:
            return None
        nxt = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        return date.fromordinal(nxt.toordinal() - 1)
    return None


def _to_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, float):
        return Decimal(repr(value))
    try:
        number = Decimal(str(value).strip().rstrip("%"))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None
