"""Case classes and points on the hand-worked region (tests/drg/data/handworked).

Reference cases (reference_cases.csv), costs in yuan:
  A: level 1: 800, 1000, 1200 (n 3, Σ 3000, avg 1000); level 3: 1800, 2000, 2200 (n 3, Σ 6000, avg 2000)
     region: n 6, Σ 9000, avg 1500
  B: level 3 only: 6 × 10000 (n 6, Σ 60000); provincial weight 2.5 given
  C: basic group; level 1: 3 × 2000, level 3: 3 × 4000 (n 6, Σ 18000)
  U: 3000, 5000 (n 2 ≤ 5: unstable)
  all grouped: n 20, Σ 95000, avg 4750
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from shidian.drg.io import read_inputs
from shidian.drg.settlement import settle
from shidian.money import round_points
from tests.conftest import HANDWORKED, drg_policy, rows_by

# 第十条: 权重 = 本DRG例均费用 ÷ 全区所有病例例均费用 = (9000/6) ÷ (95000/20) = 0.315789473… → 0.31578947
WEIGHT_A = D("0.31578947")
BASE_A = WEIGHT_A * 100  # 第十五条: 31.57894700
# 第十三条: 等级差异系数 = 同级别例均费用 ÷ 全区本DRG例均费用
COEF_A1 = D("0.66666667")  # 1000 / 1500 = 0.666666666… 四舍五入
COEF_A3 = D("1.33333333")  # 2000 / 1500
NORMAL_A1 = round_points(BASE_A * COEF_A1)  # 21.05263144
NORMAL_A3 = round_points(BASE_A * COEF_A3)  # 42.10526256


@pytest.fixture(scope="module")
def result():
    inputs, problems, _ = read_inputs(HANDWORKED)
    assert inputs is not None, problems
    res, problems = settle(inputs, drg_policy("guigang-2020"))
    assert res is not None, problems
    return res


@pytest.fixture(scope="module")
def cases(result):
    return rows_by(result.case_points, "case_id")


def test_000p6_art10_15_weight_and_base_points(result):
    """第十条权重 = 例均费用之比; 省级权重优先; 第十五条基准点数 = 权重 × 100, 保留8位小数."""
    standards = rows_by(result.standards, "drg_code")
    assert standards["A"]["weight"] == WEIGHT_A
    assert standards["A"]["base_points"] == D("31.57894700")
    assert standards["B"]["weight"] == D("2.5") and standards["B"]["weight_given"]
    assert standards["B"]["base_points"] == D("250")
    # C: (18000/6) ÷ 4750 = 0.631578947… → 0.63157895
    assert standards["C"]["weight"] == D("0.63157895")


def test_000p6_art11_unstable_group_threshold_is_a_parameter(result):
    """第十一条 (原文缺字): 参考病例数 ≤ 5 为不稳定病组; U 只有2例."""
    standards = rows_by(result.standards, "drg_code")
    assert not standards["U"]["stable"]
    assert standards["A"]["stable"] and standards["B"]["stable"]
    res, _ = settle(read_inputs(HANDWORKED)[0], drg_policy(**{"unstable_max_cases": "6"}))
    assert not rows_by(res.standards, "drg_code")["A"]["stable"]  # 6 cases ≤ 6


def test_000p6_art13_level_coefficients(result):
    coefficients = {(r["drg_code"], r["level"]): r["coefficient"] for r in result.coefficients.to_pylist()}
    assert coefficients["A", 1] == COEF_A1
    assert coefficients["A", 3] == COEF_A3
    assert coefficients["C", 1] == coefficients["C", 3] == D(1)  # 基础病组同城同病同价
    assert coefficients["U", 1] == D(1)  # 第十三条(二) 非稳定病组差异系数为1
    assert coefficients["B", 1] == D(1)  # 该等级无参考病例: missing_level_coefficient


def test_000p6_art13_lower_level_above_higher_is_reported_not_changed():
    """A lower level's coefficient above the higher level's goes to expert review, unchanged."""
    from tests.conftest import case, region

    inputs = region(
        [("L1", 1), ("L3", 3)],
        [("A", None, 0)],
        [case(f"a{i}", "L1", "A", "3000") for i in range(3)]
        + [case(f"b{i}", "L3", "A", "1000") for i in range(3)],
        "1200.00",
    )
    res, _ = settle(inputs, drg_policy())
    inversions = [w for w in res.warnings if w.code == "drg.coefficient.level_inversion"]
    assert len(inversions) == 1 and "1级" in inversions[0].message and "3级" in inversions[0].message
    coefficients = {r["level"]: r["coefficient"] for r in res.coefficients.to_pylist()}
    assert coefficients[1] == D("1.5")  # 3000 / 2000, kept as computed


def test_000p6_art16_1_normal_case(cases):
    """正常病例点数 = 基准点数 × 差异系数: K01 (1级, 1000元) = 31.578947 × 0.66666667."""
    assert cases["K01"]["category"] == "normal"
    assert cases["K01"]["final_points"] == NORMAL_A1 == D("21.05263144")
    assert cases["K05"]["final_points"] == NORMAL_A3 == D("42.10526256")


def test_000p6_art11_1_high_ratio_is_strictly_above_the_band(cases):
    """基准点数 ≤100 → 3倍同级别例均费用 = 3000元: 3000.01 is high, 3000.00 is normal."""
    assert cases["K02"]["category"] == "high"
    assert cases["K03"]["category"] == "normal"


def test_000p6_art16_3_high_ratio_extra_points_only_when_approved(cases):
    """核准追加倍数 = 3000.01 ÷ 1000 − 3 = 0.00001; 追加点数 = 0.00001 × 21.05263144 → 0.00021053."""
    k02 = cases["K02"]
    assert k02["extra_points"] == D("0.00021053")
    assert k02["final_points"] == NORMAL_A1 + D("0.00021053")
    assert k02["prepay_points"] == NORMAL_A1  # 第十八条(二)3: 预拨按正常病例点数
    k12 = cases["K12"]  # 3级 6000.01 > 3 × 2000, not approved
    assert k12["category"] == "high" and k12["final_points"] == NORMAL_A3 and k12["extra_points"] == 0


def test_000p6_art16_2_low_ratio_points(cases):
    """低倍率: 299.99 < 0.3 × 1000; 点数 = 31.578947 × 299.99 ÷ 1500 = 6.315578870… → 6.31557887."""
    assert cases["K04"]["category"] == "low"
    assert cases["K04"]["final_points"] == D("6.31557887")


def test_000p6_art16_2_low_ratio_points_capped_at_base_points():
    """A level-3 low case can cost more than the region average: points stop at the base points."""
    from tests.conftest import case, region

    # The year's own cases are the reference (第十九条(五)): level 1: 30 × 100; level 3: 3 × 10000 + x.
    # x = 2000 < 0.3 × (32000 / 4 = 8000) → low; raw = 100 × 2000 × 34 ÷ 35000 = 194.28… > 100 → 100.
    cases = [case(f"a{i:02}", "L1", "A", "100") for i in range(30)]
    cases += [case(f"b{i}", "L3", "A", "10000") for i in range(3)]
    inputs = region(
        [("L1", 1), ("L3", 3)], [("A", "1", 0)], [*cases, case("x", "L3", "A", "2000")], "1000.00"
    )
    res, _ = settle(inputs, drg_policy())
    x = rows_by(res.case_points, "case_id")["x"]
    assert x["category"] == "low"
    assert x["final_points"] == x["base_points"] == D(100)


def test_000p6_art14_16_4_whole_group_cases(cases):
    """整组单议点数 = 合规费用 ÷ 全区例均费用(4750) × 100; 预拨 70% (第十八条(二)5)."""
    # U 不稳定: 4400 / 4750 × 100 = 92.631578947… → 92.63157895; 70% = 64.842105265 → 64.84210527 (四舍五入)
    assert cases["K07"]["category"] == "whole_group"
    assert cases["K07"]["final_points"] == D("92.63157895")
    assert cases["K07"]["prepay_points"] == D("64.84210527")
    # 无法入组: 1100 / 4750 × 100 = 23.157894736… → 23.15789474
    assert cases["K08"]["category"] == "whole_group" and cases["K08"]["final_points"] == D("23.15789474")
    # 新技术: 2000 / 4750 × 100 = 42.105263157… → 42.10526316
    assert cases["K09"]["category"] == "whole_group" and cases["K09"]["final_points"] == D("42.10526316")


def test_000p6_art11_compliant_cost_excludes_unreasonable_cost(cases):
    """K10: 3500 − 600 = 2900 ≤ 3000 → normal, though its total cost is above the band."""
    assert cases["K10"]["category"] == "normal"
    assert cases["K10"]["cost"] == D("2900.00")


def test_000p6_art12_basic_group_same_coefficient_everywhere(cases):
    assert cases["K11"]["coefficient"] == D(1)
    assert cases["K11"]["final_points"] == D("63.15789500")


def test_every_category_occurs_and_the_checks_pass(result):
    assert result.ok, [c for c in result.checks if not c.ok]
    assert set(result.case_points.column("category").to_pylist()) == {"normal", "high", "low", "whole_group"}


def _reference_by_hospital(tmp_path, last_hospital: str):
    """The hand-worked region with its reference cases' levels given by hospital (H1 is level
    1, H3 level 3) instead of in a level column, but for the last row (U, 5000), whose level is
    blank and whose hospital is ``last_hospital``."""
    import csv
    import shutil

    data = tmp_path / "data"
    shutil.copytree(HANDWORKED, data)
    with (HANDWORKED / "reference_cases.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    lines = ["drg_code,level,total_cost,hospital_id"]
    for i, row in enumerate(rows):
        by_level = {"1": "H1", "3": "H3"}[row["level"]]
        if i == len(rows) - 1:
            lines.append(f"{row['drg_code']},,{row['total_cost']},{last_hospital}")
        elif i % 2:  # every other row: the level from the hospital alone
            lines.append(f"{row['drg_code']},,{row['total_cost']},{by_level}")
        else:  # a given level wins over the hospital's
            lines.append(
                f"{row['drg_code']},{row['level']},{row['total_cost']},{'H3' if by_level == 'H1' else 'H1'}"
            )
    (data / "reference_cases.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return data, rows


def test_a_reference_case_takes_its_level_else_its_hospitals(tmp_path):
    data, rows = _reference_by_hospital(tmp_path, "H3")
    inputs, problems, _ = read_inputs(data)
    assert problems == [] and inputs is not None and inputs.reference is not None
    expected = [int(row["level"]) for row in rows[:-1]] + [3]
    assert inputs.reference.column("level").to_pylist() == expected
    assert inputs.reference.column("_row").to_pylist() == list(range(2, len(rows) + 2))
    assert inputs.reference.column("total_cost").to_pylist() == [D(row["total_cost"]) for row in rows]


@pytest.mark.parametrize("hospital", ["H9", ""])
def test_a_reference_case_without_level_or_known_hospital_is_a_problem_at_its_row(tmp_path, hospital):
    data, rows = _reference_by_hospital(tmp_path, hospital)
    inputs, problems, _ = read_inputs(data)
    assert inputs is None
    assert [(p.code, p.where.file, p.where.row, p.where.column) for p in problems] == [
        ("drg.reference.no_level", "reference_cases.csv", len(rows) + 1, "hospital_id")
    ]
    assert f"医疗机构编码 {hospital or '(空)'}" in problems[0].message
