"""Risk assessment (危险性评估): the six levels, verbatim, and a behaviour checklist.

The levels are the national service standard's (国家基本公共卫生服务规范（第三版）严重精神障碍
患者管理服务规范), shown to users word for word. The checklist only *suggests* a level: the
doctor confirms or changes it. Each behaviour maps to the lowest level whose description it
meets; the suggestion is the highest level among the behaviours ticked (0 when none).

The confirmed level starts at the suggestion (the form pre-fills it; the API and the import take
it when no level is given). A confirmed level *below* the suggestion needs the doctor's reason,
which is stored, shown on the patient's page, audited and listed for the township's review
(issue 16 item 10; 000 篇3 第11、12项: the level decides the follow-up interval and the guardian
reward, so it is never lowered silently). A level above the suggestion needs no reason.

Reading chosen (docs/registry.md): level 5 is a weapon used against *other people*, or arson or
explosion; self-harm or suicide, even with a knife, is level 4 (“包括自伤、自杀”).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

RISK_LEVELS: dict[int, str] = {
    0: "0级: 无符合以下1–5级中的任何行为",
    1: "1级: 口头威胁, 喊叫, 但没有打砸行为",
    2: "2级: 打砸行为, 局限在家里, 针对财物, 能被劝说制止",
    3: "3级: 明显打砸行为, 不分场合, 针对财物, 不能接受劝说而停止",
    4: "4级: 持续的打砸行为, 不分场合, 针对财物或人, 不能接受劝说而停止 (包括自伤、自杀)",
    5: "5级: 持械针对人的任何暴力行为, 或者纵火、爆炸等行为, 无论在家里还是公共场合",
}


@dataclass(frozen=True)
class Behaviour:
    """One checklist item (行为): code, question in Chinese, level it suggests."""

    code: str
    text: str
    level: int


BEHAVIOURS: tuple[Behaviour, ...] = (
    Behaviour("verbal_threat", "口头威胁或喊叫, 没有打砸", 1),
    Behaviour("smash_home_stoppable", "在家里打砸财物, 能被劝说制止", 2),
    Behaviour("smash_anywhere", "明显打砸财物, 不分场合, 劝说不能停止", 3),
    Behaviour("smash_persistent", "持续打砸, 不分场合, 针对财物或他人(徒手), 劝说不能停止", 4),
    Behaviour("self_harm", "自伤或自杀行为 (含持刀等器械自伤、自杀)", 4),
    Behaviour("armed_violence", "持械(刀、棍等)对他人实施暴力, 无论在家或公共场合", 5),
    Behaviour("arson_explosion", "纵火、爆炸等行为", 5),
)
_LEVEL_OF = {b.code: b.level for b in BEHAVIOURS}


def suggest_level(ticked: Iterable[str]) -> int:
    """The level the ticked behaviours suggest: the highest of theirs, 0 when none.

    Raises ValueError for an unknown behaviour code (a programming or input error the caller
    reports).
    """
    level = 0
    for code in ticked:
        if code not in _LEVEL_OF:
            raise ValueError(f"unknown behaviour {code!r}")
        level = max(level, _LEVEL_OF[code])
    return level


def valid_level(level: object) -> bool:
    """A risk level is an integer 0–5."""
    return isinstance(level, int) and not isinstance(level, bool) and 0 <= level <= 5


def confirmed_level(suggested: int, confirmed: int | None) -> int:
    """The confirmed level: the doctor's, or the suggestion when the doctor gave none."""
    return suggested if confirmed is None else confirmed


def needs_reason(suggested: int, confirmed: int, reason: str | None) -> bool:
    """A level confirmed below the suggestion without a (non-blank) reason: refused."""
    return confirmed < suggested and not (reason or "").strip()
