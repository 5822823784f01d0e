"""The six disorders' ICD-10 codes and the risk checklist (危险性评估)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shidian.registry import BEHAVIOURS, RISK_LEVELS, disorder_of, suggest_level
from shidian.registry.risk import valid_level


@pytest.mark.parametrize(
    ("code", "disorder"),
    [
        ("F20", "schizophrenia"),
        ("f20.0 ", "schizophrenia"),
        ("F25.1", "schizoaffective"),
        ("F22", "paranoid_psychosis"),
        ("F31.2", "bipolar"),
        ("F06.8", "epilepsy"),
        ("F70", "intellectual_disability"),
        ("F79.9", "intellectual_disability"),
    ],
)
def test_the_six_disorders_accept_their_icd10_codes(code, disorder):
    found = disorder_of(code)
    assert found is not None and found.code == disorder


@pytest.mark.parametrize("code", ["F32", "F30.1", "F60", "G40", "F2", "F20.123", "X", "", "F20-0", "F80"])
def test_other_codes_are_unknown_diagnoses(code):
    """F32 抑郁, F30 单次躁狂, G40 癫痫本身: none of the six."""
    assert disorder_of(code) is None


def test_risk_levels_are_the_standards_text_verbatim():
    assert RISK_LEVELS[0] == "0级: 无符合以下1–5级中的任何行为"
    assert RISK_LEVELS[4].endswith("不能接受劝说而停止 (包括自伤、自杀)")
    assert RISK_LEVELS[5] == "5级: 持械针对人的任何暴力行为, 或者纵火、爆炸等行为, 无论在家里还是公共场合"
    assert sorted(RISK_LEVELS) == [0, 1, 2, 3, 4, 5]


def test_suicide_attempt_with_a_knife_at_home_is_level_4_not_5():
    """4级 “包括自伤、自杀”; 5级 是持械针对 (他) 人的暴力, 或纵火、爆炸。"""
    assert suggest_level(["self_harm"]) == 4


@pytest.mark.parametrize(
    ("ticked", "level"),
    [
        ([], 0),
        (["verbal_threat"], 1),
        (["smash_home_stoppable"], 2),
        (["verbal_threat", "smash_anywhere"], 3),
        (["smash_persistent"], 4),
        (["armed_violence"], 5),
        (["arson_explosion", "verbal_threat"], 5),
    ],
)
def test_the_checklist_suggests_the_highest_level_ticked(ticked, level):
    assert suggest_level(ticked) == level


def test_an_unknown_behaviour_is_refused():
    with pytest.raises(ValueError):
        suggest_level(["dancing"])


@given(st.sets(st.sampled_from([b.code for b in BEHAVIOURS])))
def test_suggestion_is_a_valid_level_and_monotone(ticked):
    level = suggest_level(ticked)
    assert valid_level(level)
    assert all(suggest_level(ticked | {b.code}) >= level for b in BEHAVIOURS)


def test_levels_outside_0_to_5_are_invalid():
    assert not valid_level(6) and not valid_level(-1) and not valid_level(True) and valid_level(0)
