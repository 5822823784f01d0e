"""Issue 18's policy shapes, hand-worked from the illustrative policies' own sentences.

Every expected amount is worked by hand in the docstring or comment next to it from the policy
file's numbers (``src/shidian/policies/insurance/illustrative-*.toml``), never copied from the
code; each claim is priced by the batch and by the desk, which must agree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from shidian.demo.insurance import build_county, generate_insurance_county
from shidian.insurance.claims import price_claims
from shidian.insurance.io import read_inputs
from shidian.insurance.model import INSTITUTIONS_SCHEMA, InsuranceInputs
from shidian.insurance.policy import parse_insurance_policy
from shidian.insurance.validate import validate_inputs
from shidian.policy import read_reference_policy
from tests.insurance.helpers import (
    CITY_TIERS,
    COUNTY_FLOOR,
    INSTITUTIONS,
    D,
    claim,
    insurance_policy,
    persons,
    price,
)
from tests.insurance.test_desk import desk_year

CITY = insurance_policy(CITY_TIERS)
FLOOR = insurance_policy(COUNTY_FLOOR)


def both(rows: list[dict[str, Any]], people: pa.Table, policy: Any) -> dict[str, dict[str, Any]]:
    """The batch's rows by claim id, after checking the desk gives the same, claim by claim."""
    batch = price(rows, people, policy)
    desk, _ = desk_year(rows, people, policy)
    assert {r["claim_id"]: r for r in desk} == batch
    return batch


GENERAL = persons(("P1", "general"))
DIBAO = persons(("P1", "dibao"))


# ---- place-based tiers, bands on the pooled cost, a points uplift (illustrative-city-tiers) ----


def test_tier_by_place_city_hospital():
    """县外市内 (S3, place city): 起付线600, 60%: (10000 − 600) × 60% = 5640.00."""
    row = both([claim("A", "P1", "S3", "10000", referral=1)], GENERAL, CITY)["A"]
    assert (row["deductible"], row["ratio"], row["reimbursement"]) == (D("600"), D("0.6"), D("5640.00"))
    assert row["reason"].startswith("住院·县外市内医院 (示例政策: 县外市内医院起付线600元, 补偿60%)")
    assert "起付线600.00 (县外市内医院)" in row["reason"]


def test_tier_outside_the_province():
    """省外 (O2, referred): 起付线1500, 40%: (5000 − 1500) × 40% = 1400.00."""
    row = both([claim("A", "P1", "O2", "5000", referral=1)], GENERAL, CITY)["A"]
    assert (row["deductible"], row["reimbursement"]) == (D("1500"), D("1400.00"))


def test_bands_on_the_pooled_cost():
    """县级 (C2): 起付线300; 起付线以上 11700: 5000 × 70% + 6700 × 75% = 3500 + 5025 = 8525.00."""
    row = both([claim("A", "P1", "C2", "12000")], GENERAL, CITY)["A"]
    assert row["reimbursement"] == D("8525.00") and row["ratio"] == D("0.75")
    assert "0.00-5000.00元段5000.00×70% + 5000.00元以上段6700.00×75% = 8525.00" in row["reason"]


def test_points_uplift_for_civil_affairs_in_the_county():
    """低保户 at C2: 免起付线; ratios +5 points: 5000 × 75% + 7000 × 80% = 3750 + 5600 = 9350.00."""
    row = both([claim("A", "P1", "C2", "12000")], DIBAO, CITY)["A"]
    assert (row["deductible"], row["reimbursement"]) == (D("0"), D("9350.00"))
    assert (
        "(民政救助对象: 补偿比例提高5个百分点, 示例政策: 民政救助对象县内住院补偿比例提高5个百分点)"
        in row["reason"]
    )


def test_uplift_limited_to_its_tiers():
    """The uplift names the county tiers only: 低保户 at S3 (city) keeps 60%: 10000 × 60% = 6000.00."""
    row = both([claim("A", "P1", "S3", "10000", referral=1)], DIBAO, CITY)["A"]
    assert row["reimbursement"] == D("6000.00") and "民政救助对象" not in row["reason"]


def test_institution_without_a_tier_is_rejected_and_named():
    """A3 is out of the county with no place: no tier takes it (stays are refused, 'no_tier')."""
    row = price([claim("A", "P1", "A3", "5000", certificate=1)], GENERAL, CITY)["A"]
    assert (row["status"], row["reject_code"]) == ("rejected", "no_tier")
    assert row["reason"] == "不予补偿: 本政策没有适用于3级、所在地未填的医疗机构的住院档次 (inpatient.tiers)"
    tables = build_county(persons=100, seed=1, year=2010)
    institutions = tables["institutions"].set_column(
        5, "place", pa.array([None] * tables["institutions"].num_rows, pa.string())
    )
    inputs = InsuranceInputs(tables["persons"], institutions, tables["claims"], tables["villages"])
    problems = [p for p in validate_inputs(inputs, CITY) if p.code == "insurance.institution.no_tier"]
    out_of_county = [r for r in institutions.to_pylist() if r["in_county"] == 0]
    assert len(problems) == len(out_of_county) > 0
    assert problems[0].where.column == "place" and problems[0].where.row is not None


def test_unknown_place_value_is_a_problem_naming_the_row(tmp_path: Path):
    generate_insurance_county(tmp_path, persons=100, seed=5)
    table = pacsv.read_csv(tmp_path / "institutions.csv")
    places = table.column("place").to_pylist()
    places[2] = "abroad"
    pacsv.write_csv(
        table.set_column(table.schema.get_field_index("place"), "place", pa.array(places)),
        tmp_path / "institutions.csv",
    )
    inputs, problems, _ = read_inputs(tmp_path)
    assert inputs is None
    bad = [p for p in problems if p.where.column == "place"]
    assert bad and bad[0].where.row == 4 and "abroad" in bad[0].message


# ---- bands on the reimbursable cost, floor, stay and tier caps, factor uplift (illustrative-county-floor) ----


def test_bands_on_the_reimbursable_cost():
    """县级 (C2), 30000: 起付线300 in the first band: (5000 − 300) × 60% + 15000 × 70% + 10000 × 80%
    = 2820 + 10500 + 8000 = 21320.00 (保底 30000 × 30% = 9000 does not apply)."""
    row = both([claim("A", "P1", "C2", "30000")], GENERAL, FLOOR)["A"]
    assert (row["reimbursement"], row["ratio"]) == (D("21320.00"), D("0.8"))
    assert "保底" not in row["reason"]


def test_floor_ratio_on_the_total_cost():
    """三级 (S3), 10000 with 6000 自费: 可补偿 4000; (4000 − 800) × 45% = 1440 < 保底 10000 × 30% = 3000
    (≤ 可补偿 4000): 3000.00."""
    row = both([claim("A", "P1", "S3", "10000", self_pay="6000", referral=1)], GENERAL, FLOOR)["A"]
    assert row["reimbursement"] == D("3000.00")
    assert (
        "保底: 实际补偿比不低于住院总费用的30% (示例政策: 实际补偿比不低于住院总费用的30%, 不足按30%补偿), 按保底补偿3000.00"
        in row["reason"]
    )


def test_stay_cap_and_tier_cap():
    """乡镇卫生院 (T1): (5000 − 100) × 80% = 3920 → 每次最高 3000; 本档年封顶 20000: six stays
    take 18000, the seventh 2000. A 县级 stay (C2, 1000: (1000 − 300) × 60% = 420.00) has its own cap."""
    rows = [claim(f"T{k}", "P1", "T1", "5000", month=k) for k in range(1, 8)]
    rows.append(claim("C", "P1", "C2", "1000", month=9))
    priced = both(rows, GENERAL, FLOOR)
    assert [priced[f"T{k}"]["reimbursement"] for k in range(1, 8)] == [D("3000.00")] * 6 + [D("2000.00")]
    assert priced["T1"]["cap_bucket"] == "inpatient:level_1" and priced["T7"]["cap_after"] == 0
    assert "每次住院补偿限3000.00" in priced["T1"]["reason"]
    assert "乡镇卫生院住院补偿封顶线20000.00" in priced["T7"]["reason"]
    assert (priced["C"]["cap_bucket"], priced["C"]["reimbursement"]) == ("inpatient:level_2", D("420.00"))


def test_factor_uplift():
    """低保户 at C2, 10000: 免起付线; ratios ×1.2: 5000 × 72% + 5000 × 84% = 3600 + 4200 = 7800.00."""
    row = both([claim("A", "P1", "C2", "10000")], DIBAO, FLOOR)["A"]
    assert (row["deductible"], row["reimbursement"], row["ratio"]) == (D("0"), D("7800.00"), D("0.84"))
    assert "(民政救助对象: 补偿比例×1.2" in row["reason"]


def test_tcm_relative_increase_of_twenty_percent():
    """中医药 1500 of 2000 (≥ 70%) at T1: 免起付线, 80% × 1.2 = 96%: 2000 × 96% = 1920.00."""
    row = both([claim("A", "P1", "T1", "2000", tcm_cost="1500")], GENERAL, FLOOR)["A"]
    assert (row["deductible"], row["ratio"], row["reimbursement"]) == (D("0"), D("0.96"), D("1920.00"))


def test_outpatient_visit_cap():
    """门诊统筹 at T1, 100: 30% = 30.00 → 每次最高 15.00."""
    row = both([claim("A", "P1", "T1", "100", kind="outpatient")], GENERAL, FLOOR)["A"]
    assert row["reimbursement"] == D("15.00") and "每次门诊补偿限15.00" in row["reason"]


# ---- the format refuses what it cannot price, naming the key and line ----


def test_tier_with_both_ratio_and_bands_is_refused_with_its_line():
    text, _ = read_reference_policy("insurance", COUNTY_FLOOR)
    bad = text.replace("ratio = 0.80\n", "ratio = 0.80\nbands = [[0, 0.5]]\n", 1)
    policy, problems = parse_insurance_policy(bad, "p.toml")
    assert policy is None
    line = next(i for i, t in enumerate(bad.splitlines(), start=1) if t == "[[inpatient.tiers]]")
    assert [(p.code, p.where.key, p.where.row) for p in problems] == [
        ("policy.param.invalid", "inpatient.tiers", line)
    ]
    assert "恰有 ratio 与 bands 之一" in problems[0].message


def test_bad_bands_and_uplift_tiers_are_refused():
    text, _ = read_reference_policy("insurance", COUNTY_FLOOR)
    for old, new, why in (
        ("[[0, 0.60], [5000, 0.70], [20000, 0.80]]", "[[0, 0.60], [5000, 0.70], [5000, 0.80]]", "严格递增"),
        ("[[0, 0.45], [10000, 0.55]]", "[[100, 0.45]]", "下限应为 0"),
        (
            'categories = ["wubao", "dibao"]',
            'categories = ["wubao", "dibao"]\ntiers = ["level_9"]',
            "level_9",
        ),
        ("places = ", "places = ", ""),
    ):
        if not why:
            continue
        policy, problems = parse_insurance_policy(text.replace(old, new), "p.toml")
        assert policy is None and why in problems[0].message, problems
    policy, problems = parse_insurance_policy(
        text.replace('cap_scope = "tier"', 'cap_scope = "shared"'), "p.toml"
    )
    assert policy is None and any("cap_scope" in p.message for p in problems)


def test_county_2010_in_the_new_format_gives_the_same_claims_as_before():
    """The demo county (3000 persons, seed 3) priced under county-2010 (and its 一般诊疗费
    variant) in the tier format: every claim's row, every column including the trail, hashes
    as it did under the level_1..3 format (computed with the code before issue 18)."""
    import hashlib
    import io

    tables = build_county(persons=3000, seed=3, year=2010)
    for base, digest in (
        ("county-2010", "799c133f6ddd19f75c122c77b76f84bd969155ff1572475302eb5ac124c9184b"),
        ("county-2010-general-fee", "9aa4f720adf12e8112107bdd254b8923331f51a2811ddbe410b277e38ae6d4a0"),
    ):
        priced = price_claims(
            tables["claims"], tables["persons"], tables["institutions"], insurance_policy(base)
        )
        # the 大病保险 columns came later (issue 18, second round): empty without a [major] layer;
        # every column that existed then hashes as it did
        later = ["day_visit", "month_cap", "month_cap_used", "major_oop", "major_cum", "major_paid"]
        for column in later:
            assert priced.column(column).null_count == priced.num_rows
        priced = priced.drop_columns(later)
        buffer = io.BytesIO()
        pacsv.write_csv(priced, buffer)
        assert priced.num_rows == 6824
        assert hashlib.sha256(buffer.getvalue()).hexdigest() == digest, base


def test_helpers_institutions_carry_places():
    assert INSTITUTIONS.schema == INSTITUTIONS_SCHEMA


# ---- special inpatient categories (inpatient.special) ----


def test_special_category_with_its_own_ratio_whatever_the_institution():
    """精神病定点住院 at T1 (a 乡镇卫生院 tier would be 100 / 80% with a 3000 stay cap):
    起付线0, 80%: 10000 × 80% = 8000.00, in its own cap bucket (cap_scope tier, 30000)."""
    row = both([claim("A", "P1", "T1", "10000", inpatient_category="psychiatric")], GENERAL, FLOOR)["A"]
    assert (row["deductible"], row["ratio"], row["reimbursement"]) == (D("0"), D("0.8"), D("8000.00"))
    assert row["cap_bucket"] == "inpatient:psychiatric" and row["cap"] == D("30000")
    assert row["reason"].startswith("住院·精神病定点住院 (示例政策: 精神病定点住院起付线0元, 补偿80%)")


def test_accident_at_a_flat_ratio_with_a_stay_cap():
    """无责任人意外伤害 at S3: (30000 − 300) × 50% = 14850 → 每次最高 10000.00 (保底 9000 lower)."""
    row = both([claim("A", "P1", "S3", "30000", referral=1, inpatient_category="accident")], GENERAL, FLOOR)[
        "A"
    ]
    assert row["reimbursement"] == D("10000.00") and "每次住院补偿限10000.00" in row["reason"]


def test_flat_amount_category():
    """剖宫产定额补助 1000 (city-tiers, shared cap): 6000 → 1000.00; 600 → 600.00 (以统筹费用为限)."""
    priced = both(
        [
            claim("A", "P1", "C2", "6000", inpatient_category="caesarean"),
            claim("B", "P1", "C2", "600", month=6, inpatient_category="caesarean"),
        ],
        GENERAL,
        CITY,
    )
    assert (priced["A"]["reimbursement"], priced["A"]["ratio"]) == (D("1000.00"), None)
    assert "统筹费用6000.00; 每次定额1000.00" in priced["A"]["reason"]
    assert priced["B"]["reimbursement"] == D("600.00") and "以统筹费用为限: 600.00" in priced["B"]["reason"]
    assert priced["A"]["cap_bucket"] == "inpatient"


def test_unknown_or_outpatient_inpatient_category_is_an_input_problem():
    tables = build_county(persons=100, seed=1, year=2010)
    claims = tables["claims"]
    kinds = claims.column("kind").to_pylist()
    first_in, first_out = kinds.index("inpatient"), kinds.index("outpatient")
    categories = [None] * claims.num_rows
    categories[first_in], categories[first_out] = "martian", "psychiatric"
    claims = claims.set_column(
        claims.schema.get_field_index("inpatient_category"),
        "inpatient_category",
        pa.array(categories, pa.string()),
    )
    inputs = InsuranceInputs(tables["persons"], tables["institutions"], claims, tables["villages"])
    codes = {p.code: p for p in validate_inputs(inputs, FLOOR)}
    assert codes["insurance.claim.unknown_inpatient_category"].where.column == "inpatient_category"
    assert codes["insurance.claim.inpatient_category_outpatient"].where.row == first_out + 2


def test_demo_county_settles_under_every_illustrative_policy():
    """The whole batch (ledger, statements, notices, invariants) under the new shapes: every
    check passes, including the caps of each tier (cap_scope tier) and the deductible bound."""
    from shidian.insurance.batch import reimburse

    tables = build_county(persons=1000, seed=4, year=2010)
    inputs = InsuranceInputs(
        tables["persons"],
        tables["institutions"],
        tables["claims"],
        tables["villages"],
        prior_year=tables["prior_year"],
        contributions=tables["contributions"],
    )
    for policy in (CITY, FLOOR):
        result, problems = reimburse(inputs, policy)
        assert result is not None, problems[:5]
        assert result.ok, [c for c in result.checks if not c.ok]
        assert int(result.totals["paid"]) > 0
