"""Issue 19 item 2: every coded value is accepted by its Chinese label (and common variants)
wherever data comes in, and tables may be named in Chinese."""

from __future__ import annotations

from pathlib import Path

from shidian.drg.uploads import accepted_files
from shidian.insurance.io import read_inputs
from shidian.registry.io import read_registry
from tests.insurance.helpers import id_number, insurance_policy


def test_persons_with_chinese_categories_and_files_named_in_chinese_are_read(tmp_path: Path) -> None:
    (tmp_path / "参合人员.csv").write_text(
        "人员编号,身份证号,姓名,家庭编号,人员类别,村代码,是否参合\n"
        f"P1,{id_number(1)},张一,H1,特困户,152922001001,1\n"
        f"P2,{id_number(2)},张二,H1,低保,152922001001,1\n"
        f"P3,{id_number(3)},张三,H2,一般参合人员,152922001001,是\n",
        encoding="utf-8",
    )
    (tmp_path / "医疗机构.csv").write_text(
        "institution_id,name,level,designated,in_county\nH1,平南县第一卫生院,1,1,1\n", encoding="utf-8"
    )
    (tmp_path / "claims.csv").write_text(
        "claim_id,person_id,institution_id,kind,start_date,end_date,total_cost,self_pay\n"
        "C1,P1,H1,住院,2010-02-01,2010-02-06,2000,0\nC2,P3,H1,门诊,2010-03-01,2010-03-01,100,0\n",
        encoding="utf-8",
    )
    inputs, problems, _ = read_inputs(tmp_path, insurance_policy())
    assert [p for p in problems if p.severity == "error"] == [], problems
    assert inputs is not None
    assert inputs.persons.column("category").to_pylist() == ["tekun", "dibao", "general"]
    assert inputs.claims.column("kind").to_pylist() == ["inpatient", "outpatient"]


def test_a_thousand_rows_with_one_unknown_category_are_one_problem(tmp_path: Path) -> None:
    rows = "".join(f"P{n},{id_number(n)},张{n},H{n},贫困户,152922001001,1\n" for n in range(1, 1001))
    (tmp_path / "persons.csv").write_text(
        "person_id,id_number,name,household_id,category,village_code,insured\n" + rows, encoding="utf-8"
    )
    (tmp_path / "institutions.csv").write_text(
        "institution_id,name,level,designated,in_county\nH1,卫生院,1,1,1\n", encoding="utf-8"
    )
    (tmp_path / "claims.csv").write_text(
        "claim_id,person_id,institution_id,kind,start_date,end_date,total_cost,self_pay\n", encoding="utf-8"
    )
    _, problems, _ = read_inputs(tmp_path, insurance_policy())
    unknown = [p for p in problems if p.code == "table.cell.not_allowed"]
    assert len(unknown) == 1
    assert unknown[0].details["rows"] == "1000" and unknown[0].where.row == 2
    assert "特困户 (tekun)" in unknown[0].message  # the allowed values by their Chinese names


def test_the_registry_import_reads_the_treatment_as_the_form_shows_it(tmp_path: Path) -> None:
    path = tmp_path / "registry.csv"
    path.write_text(
        "姓名,身份证号,村代码,诊断编码,登记日期,治疗情况\n"
        f"甲,{id_number(1)},450821100001,F20,2024-01-05,服药治疗\n"
        f"乙,{id_number(2)},450821100001,F20,2024-01-05,住院治疗\n"
        f"丙,{id_number(3)},450821100001,F20,2024-01-05,服药\n",
        encoding="utf-8",
    )
    rows, problems = read_registry(path, "registry.csv")
    assert problems == [] and rows is not None
    assert [patient.treatment for _, patient, _ in rows] == ["medication", "hospital", "medication"]


def test_drg_files_named_in_chinese_are_taken_as_their_tables() -> None:
    accepted, problems = accepted_files([("医疗机构.xlsx", 10), ("病例.csv", 10), ("病组.csv", 10)])
    assert problems == []
    assert [name for _, name in accepted] == ["hospitals.xlsx", "cases.csv", "drg_groups.csv"]
