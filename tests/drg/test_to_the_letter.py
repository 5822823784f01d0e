"""Issue 16, DRG items: the money the seed text allows, when it allows it (000 篇6 第十八条, 000 篇5 三(四)).

Expected values are the articles' arithmetic worked by hand (in each docstring), never the code's output.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from shidian.drg.io import read_inputs
from shidian.drg.policy import PARAMS

HANDWORKED = Path(__file__).parent / "data" / "handworked"


def test_000p5_3_4_incentive_pool_cites_part_three_section_four():
    """篇5 "三、工作步骤 … (四)组织实施阶段(2021年7月起) … 2.按月核算费用 3.年终决算费用": 三(四), not 四(四)."""
    method = next(p for p in PARAMS if p.key == "year_end.method")
    assert "篇5 三(四)" in method.article and "四(四)" not in method.article.replace("三(四)", "")
    docs = (Path(__file__).parents[2] / "docs" / "drg.md").read_text(encoding="utf-8")
    assert "篇5 四(四)" not in docs and "000 篇5 三(四)" in docs


def test_every_input_problem_in_one_round(tmp_path: Path):
    """A cases file with a duplicate case id (row 3), a negative total cost (row 4) and an unknown
    hospital (row 5): the three problems come in one round, each naming its file, row and column."""
    data = tmp_path / "data"
    shutil.copytree(HANDWORKED, data)
    lines = (data / "cases.csv").read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].replace("K02,", "K01,", 1)  # row 3 repeats K01
    lines[3] = lines[3].replace(",3000.00,", ",-3000.00,", 1)  # row 4: negative cost
    lines[4] = lines[4].replace(",H1,", ",H9,", 1)  # row 5: hospital H9 is not in hospitals.csv
    (data / "cases.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    inputs, problems, _ = read_inputs(data)
    assert inputs is None
    found = {(p.code, p.where.file, p.where.row, p.where.column) for p in problems}
    assert ("table.row.duplicate_key", "cases.csv", 3, "case_id") in found
    assert any(
        code.startswith("table.cell") and (row, col) == (4, "total_cost") for code, _f, row, col in found
    )
    assert ("drg.case.unknown_hospital", "cases.csv", 5, "hospital_id") in found
    assert len(problems) == 3, problems
