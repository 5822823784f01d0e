"""Score cards (考核评分): rules, deductions, ranking, and the officials' Excel layout.

Issue #5: "Evaluation score cards: weights per indicator, scoring rules (linear to target,
thresholds, deductions per finding), rankings of units; exported as Excel in the officials'
layout (merged multi-row Chinese headers) and as charts."
"""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from shidian.pilots.aggregate import aggregate
from shidian.pilots.attainment import attainment
from shidian.pilots.model import Deduction, Scorecard, ScoreItem
from shidian.pilots.scorecard_excel import write_scorecard_xlsx
from shidian.pilots.scoring import chart_data, score
from tests.pilots.helpers import (
    TOWN_A,
    TOWN_B,
    UNITS,
    VILLAGE_A1,
    VILLAGE_B1,
    VILLAGE_B2,
    by_key,
    small_plan,
    values,
)
from tests.properties import examples

AS_OF = date(2021, 6, 30)
CARD = Scorecard(
    items=(
        ScoreItem("RATE", Decimal(60), "linear"),
        ScoreItem(
            "YN",
            Decimal(30),
            "thresholds",
            thresholds=((Decimal(100), Decimal(1)), (Decimal(50), Decimal("0.5"))),
        ),
        ScoreItem("COUNT", Decimal(10), "achieved"),
    ),
    deductions=(Deduction("serious", Decimal(5), Decimal(8)), Deduction("general", Decimal(1))),
    total=Decimal(100),
    level="township",
)


def scored(findings: pa.Table | None = None):  # type: ignore[no-untyped-def]
    plan = dataclasses.replace(small_plan(), scorecard=CARD)
    rows = [
        (VILLAGE_A1, "RATE", date(2021, 6, 1), "", 72, 100),  # 琴江镇 72%
        (VILLAGE_B1, "RATE", date(2021, 6, 1), "", 20, 50),
        (VILLAGE_B2, "RATE", date(2021, 6, 1), "", 10, 50),  # 小松镇 30/100 = 30%
        (VILLAGE_A1, "YN", date(2021, 6, 1), "", 1, None),  # 琴江镇 1/1 = 100%
        (VILLAGE_B1, "YN", date(2021, 6, 1), "", 1, None),
        (VILLAGE_B2, "YN", date(2021, 6, 1), "", 0, None),  # 小松镇 1/2 = 50%
        (VILLAGE_A1, "COUNT", date(2021, 6, 1), "", 4, None),
        (VILLAGE_B1, "COUNT", date(2021, 6, 1), "", 6, None),
        (VILLAGE_B2, "COUNT", date(2021, 6, 1), "", 5, None),  # 小松镇 11 ≥ 10
    ]
    attained = attainment(plan, aggregate(plan, UNITS, values(rows)), AS_OF)
    return plan, score(plan, attained, findings)


def test_rules_and_points() -> None:
    _, scores = scored()
    items = by_key(scores.items, "unit_code", "item")
    # RATE linear to 80: 琴江镇 72/80 = 0.9 × 60 = 54; 小松镇 30/80 = 0.375 × 60 = 22.5
    assert items[(TOWN_A, 0)]["points"] == Decimal("54.00")
    assert items[(TOWN_B, 0)]["share"] == Decimal("0.375")
    assert items[(TOWN_B, 0)]["points"] == Decimal("22.50")
    # YN thresholds [[100, 1], [50, 0.5]]: 琴江镇 100 → 30; 小松镇 50 → 15
    assert (items[(TOWN_A, 1)]["points"], items[(TOWN_B, 1)]["points"]) == (Decimal(30), Decimal(15))
    # COUNT achieved (≥ 10): 琴江镇 4 → 0; 小松镇 11 → 10
    assert (items[(TOWN_A, 2)]["points"], items[(TOWN_B, 2)]["points"]) == (Decimal(0), Decimal(10))
    totals = by_key(scores.totals, "unit_code")
    # 琴江镇 54 + 30 + 0 = 84 (rank 1); 小松镇 22.5 + 15 + 10 = 47.5 (rank 2)
    assert (totals[TOWN_A]["total"], totals[TOWN_A]["rank"]) == (Decimal(84), 1)
    assert (totals[TOWN_B]["total"], totals[TOWN_B]["rank"]) == (Decimal("47.5"), 2)
    assert set(scores.totals["level"].to_pylist()) == {"township"}


def test_deductions_per_finding_with_cap() -> None:
    findings = pa.table(
        {
            "unit_code": [TOWN_A, TOWN_A, TOWN_B, TOWN_B],
            "severity": ["serious", "serious", "general", "other"],
        }
    )
    _, scores = scored(findings)
    totals = by_key(scores.totals, "unit_code")
    # 琴江镇: 2 serious × 5 = 10, capped at 8 → 84 − 8 = 76; 小松镇: 1 general × 1 → 46.5 (unknown severity ignored)
    assert (totals[TOWN_A]["deduction"], totals[TOWN_A]["total"], totals[TOWN_A]["findings"]) == (
        Decimal(8),
        Decimal(76),
        2,
    )
    assert (totals[TOWN_B]["deduction"], totals[TOWN_B]["total"]) == (Decimal(1), Decimal("46.5"))


def test_linear_rule_for_a_decreasing_target() -> None:
    plan = small_plan()
    rate = dataclasses.replace(
        plan.indicator("RATE"),
        targets=(dataclasses.replace(plan.indicator("RATE").targets[0], value=Decimal(20), direction="<="),),
    )
    plan = dataclasses.replace(
        plan, indicators=(rate,), scorecard=Scorecard((ScoreItem("RATE", Decimal(100)),), level="village")
    )
    rows = [
        (VILLAGE_A1, "RATE", date(2021, 6, 1), "", 25, 100),
        (VILLAGE_B1, "RATE", date(2021, 6, 1), "", 10, 100),
    ]
    scores = score(plan, attainment(plan, aggregate(plan, UNITS, values(rows)), AS_OF))
    totals = by_key(scores.totals, "unit_code")
    # 25 vs ≤ 20: 1 − (25 − 20)/20 = 0.75 → 75; 10 ≤ 20 → 100
    assert (totals[VILLAGE_A1]["total"], totals[VILLAGE_B1]["total"]) == (Decimal(75), Decimal(100))


@settings(max_examples=examples(30), deadline=None)
@given(st.integers(0, 100), st.integers(0, 100))
def test_a_higher_value_never_scores_less(low: int, extra: int) -> None:
    plan = dataclasses.replace(
        small_plan(), scorecard=Scorecard((ScoreItem("RATE", Decimal(100)),), level="village")
    )
    high = min(100, low + extra)
    rows = [
        (VILLAGE_A1, "RATE", date(2021, 6, 1), "", low, 100),
        (VILLAGE_B1, "RATE", date(2021, 6, 1), "", high, 100),
    ]
    totals = by_key(
        score(plan, attainment(plan, aggregate(plan, UNITS, values(rows)), AS_OF)).totals, "unit_code"
    )
    assert totals[VILLAGE_B1]["total"] >= totals[VILLAGE_A1]["total"]
    assert totals[VILLAGE_B1]["rank"] <= totals[VILLAGE_A1]["rank"]


def test_scorecard_excel_has_merged_chinese_headers(tmp_path: Path) -> None:
    plan, scores = scored()
    path = tmp_path / "score.xlsx"
    write_scorecard_xlsx(plan, scores, path, AS_OF, {TOWN_A: "琴江镇", TOWN_B: "小松镇"})
    ws = openpyxl.load_workbook(path)["考核评分表"]
    merged = {str(r) for r in ws.merged_cells.ranges}
    # title across all 3 + 3×3 + 4 = 16 columns; 排名 over rows 2–3; the first item over D2:F2
    assert {
        "A1:P1",
        "A2:A3",
        "B2:B3",
        "C2:C3",
        "D2:F2",
        "G2:I2",
        "J2:L2",
        "M2:M3",
        "N2:O2",
        "P2:P3",
    } <= merged
    assert ws["D2"].value == "治疗率\n分值 60"
    assert [ws.cell(3, c).value for c in range(4, 7)] == ["实际值", "目标值", "得分"]
    assert [ws.cell(4, c).value for c in (1, 2, 3)] == [1, TOWN_A, "琴江镇"]
    assert ws["P4"].value == 84
    assert "图表" in openpyxl.load_workbook(path).sheetnames


def test_chart_data() -> None:
    _, scores = scored()
    data = chart_data(scores.totals)
    assert data["categories"] == [TOWN_A, TOWN_B]
    assert data["series"] == [{"name": "总分", "data": [84.0, 47.5]}]


def test_a_findings_own_points_replace_the_cards() -> None:
    findings = pa.table(
        {
            "unit_code": [TOWN_A, TOWN_A, TOWN_B],
            "severity": ["serious", "serious", "unlisted"],
            "points": pa.array([Decimal(2), None, Decimal("1.5")], pa.decimal128(18, 2)),
        }
    )
    _, scores = scored(findings)
    totals = by_key(scores.totals, "unit_code")
    # 琴江镇: 2 (its own) + 5 (the card's, no points given) = 7 ≤ cap 8 → 84 − 7 = 77
    assert (totals[TOWN_A]["deduction"], totals[TOWN_A]["total"]) == (Decimal(7), Decimal(77))
    # 小松镇: a severity the card does not list deducts its own 1.5 → 47.5 − 1.5 = 46
    assert (totals[TOWN_B]["deduction"], totals[TOWN_B]["total"]) == (Decimal("1.5"), Decimal(46))
