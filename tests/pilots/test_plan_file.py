"""Plan files (方案文件): every bad plan is rejected with file, line, path and reason.

Issue #5: "A plan file with an unknown unit, a target without a deadline, an indicator that
aggregates a rate by averaging, or a cycle in the hierarchy is rejected with a clear message."
"""

from __future__ import annotations

import pytest

from shidian.pilots.plan_file import parse_plan, plan_to_yaml
from shidian.problems import has_errors
from tests.pilots.helpers import small_plan

BASE = """\
code: p
name: 方案
start: 2020-01-01
end: 2021-12-31
levels:
  - {code: county, name: 县, digits: 6}
  - {code: township, name: 乡镇, digits: 9}
populations:
  - {code: officials, name: 干部职工}
units:
  - {code: health, name: 县卫生健康委}
  - {code: police, name: 县公安局}
phases:
  - {code: run, name: 实施, start: 2020-01-01, end: 2021-12-31}
"""


def problems_of(text: str) -> list[tuple[str, int | None, str | None]]:
    plan, problems = parse_plan(text, "bad.yaml")
    assert plan is None
    assert has_errors(problems)
    assert all(p.where.file == "bad.yaml" for p in problems)
    return [(p.code, p.where.row, p.where.key) for p in problems if p.severity == "error"]


def test_unknown_unit_in_the_responsibility_list() -> None:
    text = BASE + "tasks:\n  - {code: T1, name: 宣传, lead: [health], partners: [propaganda]}\n"
    assert problems_of(text) == [("pilots.plan.unknown_unit", 16, "tasks[0].partners[0]")]


def test_task_without_lead() -> None:
    text = BASE + "tasks:\n  - {code: T1, name: 宣传, partners: [health]}\n"
    assert problems_of(text) == [("pilots.plan.no_lead", 16, "tasks[0].lead")]


def test_target_without_deadline_names_the_path() -> None:
    text = BASE + (
        "indicators:\n"
        "  - {code: A, name: a, kind: count, reported_by: county}\n"
        "  - code: B\n"
        "    name: b\n"
        "    kind: count\n"
        "    reported_by: county\n"
        "    targets:\n"
        "      - {value: 5, direction: '>='}\n"
    )
    [(code, line, path)] = problems_of(text)
    assert (code, path) == ("pilots.plan.target_no_deadline", "indicators[1].targets[0].deadline")
    assert line == 22  # the target's line: the key is absent, so its nearest parent is named


def test_rate_aggregated_by_averaging() -> None:
    text = (
        BASE
        + "indicators:\n  - {code: R, name: 治疗率, kind: rate, reported_by: township, aggregation: average}\n"
    )
    assert problems_of(text) == [("pilots.plan.rate_averaged", 16, "indicators[0].aggregation")]
    _, problems = parse_plan(text, "bad.yaml")
    assert "Σ分子 ÷ Σ分母" in problems[0].message


def test_aggregation_not_allowed_for_kind() -> None:
    text = (
        BASE
        + "indicators:\n  - {code: C, name: 数量, kind: count, reported_by: county, aggregation: ratio}\n"
    )
    assert problems_of(text) == [("pilots.plan.aggregation_invalid", 16, "indicators[0].aggregation")]


def test_cycle_in_the_hierarchy() -> None:
    text = BASE + (
        "areas:\n"
        "  - {code: '360730', name: 石城县, parent: '360730101', level: county}\n"
        "  - {code: '360730100', name: 琴江镇, parent: '360730', level: township}\n"
        "  - {code: '360730101', name: 小松镇, parent: '360730100', level: township}\n"
    )
    found = problems_of(text)
    assert ("pilots.plan.hierarchy_cycle", 16, "areas[0].parent") in found
    # the county under a township, and a township under a township, are level errors too
    assert ("pilots.plan.area_level", 16, "areas[0].level") in found
    _, problems = parse_plan(text, "bad.yaml")
    cycle = next(p for p in problems if p.code == "pilots.plan.hierarchy_cycle")
    assert "360730 → 360730101 → 360730100 → 360730" in cycle.message


def test_area_code_length_and_unknown_parent() -> None:
    text = BASE + (
        "areas:\n"
        "  - {code: '36073', name: 石城县, level: county}\n"
        "  - {code: '360730100', name: 琴江镇, parent: '360799', level: township}\n"
    )
    assert problems_of(text) == [
        ("pilots.plan.area_code", 16, "areas[0].code"),
        ("pilots.plan.unknown_area_parent", 17, "areas[1].parent"),
    ]


def test_duplicate_codes() -> None:
    text = BASE + (
        "indicators:\n"
        "  - {code: A, name: a, kind: count, reported_by: county}\n"
        "  - {code: A, name: b, kind: count, reported_by: county}\n"
    )
    assert problems_of(text) == [("pilots.plan.duplicate_code", 17, "indicators[1].code")]


def test_unknown_population_and_level() -> None:
    text = BASE + (
        "indicators:\n"
        "  - code: L\n"
        "    name: 知晓率\n"
        "    kind: rate\n"
        "    reported_by: village\n"
        "    targets:\n"
        "      - {value: 90, direction: '>=', deadline: 2021-12-31, population: students}\n"
    )
    assert problems_of(text) == [
        ("pilots.plan.unknown_level", 19, "indicators[0].reported_by"),
        ("pilots.plan.unknown_population", 21, "indicators[0].targets[0].population"),
    ]


def test_milestone_after_deadline_and_out_of_order() -> None:
    text = BASE + (
        "indicators:\n"
        "  - code: R\n"
        "    name: 率\n"
        "    kind: rate\n"
        "    reported_by: county\n"
        "    targets:\n"
        "      - value: 80\n"
        "        direction: '>='\n"
        "        deadline: 2021-06-30\n"
        "        milestones:\n"
        "          - {due: 2021-03-31, value: 50}\n"
        "          - {due: 2020-12-31, value: 40}\n"
        "          - {due: 2021-12-31, value: 80}\n"
    )
    assert problems_of(text) == [
        ("pilots.plan.milestone_order", 26, "indicators[0].targets[0].milestones[1].due"),
        ("pilots.plan.milestone_after_deadline", 27, "indicators[0].targets[0].milestones[2].due"),
    ]


def test_target_out_of_range_and_duplicate_target() -> None:
    text = BASE + (
        "indicators:\n"
        "  - code: R\n"
        "    name: 率\n"
        "    kind: rate\n"
        "    reported_by: county\n"
        "    targets:\n"
        "      - {value: 120, direction: '>=', deadline: 2021-12-31}\n"
        "      - {value: 80, direction: '>=', deadline: 2021-12-31}\n"
    )
    assert problems_of(text) == [
        ("pilots.plan.target_out_of_range", 21, "indicators[0].targets[0].value"),
        ("pilots.plan.duplicate_target", 22, "indicators[0].targets[1]"),
    ]


def test_missing_fields_wrong_types_and_choices() -> None:
    text = "code: p\nstart: someday\nend: 2021-12-31\nperiod: weekly\n"
    assert problems_of(text) == [
        ("pilots.plan.required", 1, "name"),
        ("pilots.plan.type", 2, "start"),
        ("pilots.plan.not_allowed", 4, "period"),
    ]


def test_yaml_booleans_are_not_taken_for_codes() -> None:
    text = BASE + "indicators:\n  - {code: YES, name: 是否, kind: yes_no, reported_by: county}\n"
    assert problems_of(text) == [("pilots.plan.type", 16, "indicators[0].code")]


def test_scorecard_weights_must_add_up() -> None:
    text = BASE + (
        "indicators:\n"
        "  - {code: A, name: a, kind: count, reported_by: county}\n"
        "scorecard:\n"
        "  total: 100\n"
        "  items:\n"
        "    - {indicator: A, weight: 60}\n"
        "    - {indicator: Z, weight: 30}\n"
    )
    assert problems_of(text) == [
        ("pilots.plan.weights", 19, "scorecard.items"),
        ("pilots.plan.unknown_indicator", 21, "scorecard.items[1].indicator"),
    ]


def test_not_yaml() -> None:
    plan, problems = parse_plan("code: [unclosed\n", "bad.yaml")
    assert plan is None
    assert problems[0].code == "pilots.plan.yaml"


def test_unknown_field_is_a_warning_only() -> None:
    plan, problems = parse_plan(BASE + "colour: red\n", "ok.yaml")
    assert plan is not None
    assert [(p.code, p.severity) for p in problems] == [("pilots.plan.unknown_field", "warning")]


@pytest.mark.parametrize("text", ["", "- a\n- b\n"])
def test_not_a_mapping(text: str) -> None:
    plan, problems = parse_plan(text, "bad.yaml")
    assert plan is None and problems[0].code == "pilots.plan.not_mapping"


def test_yaml_round_trip() -> None:
    plan = small_plan()
    again, problems = parse_plan(plan_to_yaml(plan), "again.yaml")
    assert problems == []
    assert again == plan
