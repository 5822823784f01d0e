"""Claim pricing, one hand-worked example per rule of 004 篇6 (and 002 篇四's 一般诊疗费).

Every expected amount is worked by hand from the seed sentence quoted in the docstring, with
the reference policy county-2010 (起付线 50/100/500, 比例 75%/65%/40%, 封顶线 45,000).
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from shidian.insurance.model import USAGE_SCHEMA, PriorState
from tests.insurance.helpers import GENERAL_FEE, D, claim, insurance_policy, persons, price


def test_004p6_3_4_3_inpatient_deductible_and_ratio_by_level():
    """三(四)3: “住院补偿比例: 一级医院75%, 二级医院65%, 三级医院40%, 一、二、三级医院住院起付线分别为50元、100元、500元”;
    公式 “医药费用总额—起付线—自费部分—… = 统筹医疗费”.

    One 2000.00 stay each (three persons, so no other rule interferes):
      level 1: (2000 − 50) × 75% = 1462.50
      level 2: (2000 − 100) × 65% = 1235.00
      level 3: (2000 − 500) × 40% = 600.00 (a referred stay at the city hospital)
    """
    people = persons(("P1", "general"), ("P2", "general"), ("P3", "general"))
    out = price(
        [
            claim("A", "P1", "T1", "2000.00"),
            claim("B", "P2", "C2", "2000.00"),
            claim("C", "P3", "S3", "2000.00", referral=1),
        ],
        people,
    )
    assert [out[c]["deductible"] for c in "ABC"] == [D("50.00"), D("100.00"), D("500.00")]
    assert [out[c]["reimbursement"] for c in "ABC"] == [D("1462.50"), D("1235.00"), D("600.00")]
    assert all(out[c]["status"] == "paid" and out[c]["rule"] == "inpatient" for c in "ABC")
    assert "起付线100.00 (2级医院)" in out["B"]["reason"] and "1900.00×65%=1235.00" in out["B"]["reason"]


def test_004p6_3_4_3_rounding_is_half_up_to_the_fen():
    """四舍五入: 2级, 总费用 100.10: (100.10 − 100) × 65% = 0.065 → 0.07 (half up; half-even would give 0.06)."""
    out = price([claim("A", "P1", "C2", "100.10")])
    assert out["A"]["reimbursement"] == D("0.07")


def test_004p6_3_4_3_annual_inpatient_cap_45000():
    """三(四)3: “住院补偿封顶线4.5万元”. Three referred level-3 stays of 100,000.00 each:
    1st: (100000 − 500) × 40% = 39800.00, cap left 45000 − 39800 = 5200.00
    2nd: another disease at a county-level hospital, deductible not counted again (三(四)1):
         100000 × 40% = 40000.00 > 5200.00 left → 5200.00, cap left 0
    3rd: 40000.00 computed, nothing left → 0.00
    """
    out = price(
        [
            claim("A", "P1", "S3", "100000.00", month=1, referral=1),
            claim("B", "P1", "S3", "100000.00", month=3, referral=1),
            claim("C", "P1", "S3", "100000.00", month=5, referral=1),
        ]
    )
    assert [out[c]["reimbursement"] for c in "ABC"] == [D("39800.00"), D("5200.00"), D("0.00")]
    assert out["B"]["amount_before_cap"] == D("40000.00")
    assert (out["B"]["cap_before"], out["B"]["cap_after"]) == (D("5200.00"), D("0.00"))
    assert "超出部分34800.00不予补偿" in out["B"]["reason"]
    assert out["C"]["status"] == "paid"


def test_004p6_3_4_1_no_deductible_for_listed_categories():
    """三(四)1: “五保户, 低保户, 残疾人, 特困户, 孤儿 … 凭有效证件报销时, 原则上不设起付线”.
    Level 2, 1000.00: waived 1000 × 65% = 650.00; a general person (1000 − 100) × 65% = 585.00."""
    categories = ["wubao", "dibao", "disabled", "tekun", "orphan", "general"]
    people = persons(*((f"P{i}", c) for i, c in enumerate(categories)))
    out = price([claim(f"X{i}", f"P{i}", "C2", "1000.00") for i in range(len(categories))], people)
    for i, category in enumerate(categories[:-1]):
        assert out[f"X{i}"]["deductible"] == 0 and out[f"X{i}"]["reimbursement"] == D("650.00"), category
        assert out[f"X{i}"]["deductible_rule"] == "category" and "免起付线" in out[f"X{i}"]["reason"]
    assert out["X5"]["reimbursement"] == D("585.00")


def test_004p6_3_4_1_only_first_county_level_admission_pays_a_deductible():
    """三(四)1: “一年内因不同疾病, 在县级以上医院多次住院只计算首次住院的起付线”. 1000.00 each:
    Jan level 2: (1000 − 100) × 65% = 585.00 (the first county-level stay)
    Mar level 2, another disease: 1000 × 65% = 650.00
    May level 1 (乡镇卫生院 is not county level): (1000 − 50) × 75% = 712.50
    Jul level 3 (referred): 1000 × 40% = 400.00
    """
    out = price(
        [
            claim("A", "P1", "C2", "1000.00", month=1),
            claim("B", "P1", "C2", "1000.00", month=3),
            claim("C", "P1", "T1", "1000.00", month=5),
            claim("D", "P1", "S3", "1000.00", month=7, referral=1),
        ]
    )
    assert [out[c]["deductible"] for c in "ABCD"] == [D("100.00"), D(0), D("50.00"), D(0)]
    assert [out[c]["reimbursement"] for c in "ABCD"] == [D("585.00"), D("650.00"), D("712.50"), D("400.00")]
    assert out["B"]["deductible_rule"] == "county_repeat" and "只计首次" in out["B"]["reason"]


def test_004p6_3_4_1_first_admission_switch_when_the_first_stay_was_waived():
    """A first county-level stay waived for TCM (≥70%) — does it use up “首次”? Both readings:
    Jan 县中医院, 1000.00 with 800.00 TCM: no deductible, ratio 65% + 10 = 75% → 750.00
    Mar 县医院, 1000.00: first_charged (default): (1000 − 100) × 65% = 585.00;
                         first_admission: 1000 × 65% = 650.00
    """
    rows = [
        claim("A", "P1", "M2", "1000.00", month=1, tcm_cost="800.00"),
        claim("B", "P1", "C2", "1000.00", month=3),
    ]
    charged = price(rows)
    assert charged["A"]["reimbursement"] == D("750.00") and charged["B"]["reimbursement"] == D("585.00")
    admission = price(rows, policy=insurance_policy(**{"inpatient.repeat_deductible": '"first_admission"'}))
    assert admission["B"]["reimbursement"] == D("650.00")


def test_004p6_3_4_1_partial_pay_items_counted_at_60_and_50_percent_banded():
    """三(四)1: “支付部分费用在1000元以内按60%, 1000元以上按50%计入可补偿费用, 单项、次特殊材料费用,
    在1000元以内按60%, 1000元以上按50%计入补偿费用”. Level 2, total 5000.00 with 特检 1500, 血液 400,
    特材 3000 (banded, per item):
      特检 1000 × 60% + 500 × 50% = 850; 血液 400 × 60% = 240; 特材 600 + 2000 × 50% = 1600
      counted 2690 of 4900 → not counted 2210; reimbursable 5000 − 2210 = 2790.00
      (2790 − 100) × 65% = 1748.50
    """
    out = price(
        [
            claim(
                "A", "P1", "C2", "5000.00", special_exam="1500.00", blood="400.00", special_material="3000.00"
            )
        ]
    )
    assert out["A"]["partial_total"] == D("4900.00") and out["A"]["partial_counted"] == D("2690.00")
    assert out["A"]["reimbursable"] == D("2790.00")
    assert out["A"]["reimbursement"] == D("1748.50")
    assert (
        "部分支付项目不计入2210.00 (部分支付项目4900.00, 每项1000元以内按60%、超出部分按50%计入 (004 篇6 三(四)1), "
        "计入2690.00)" in out["A"]["reason"]
    )


def test_004p6_3_4_1_partial_pay_step_reading():
    """The same stay with ``partial_pay.bands = "step"`` (the whole item at one share):
    特检 1500 > 1000 → 750; 血液 240; 特材 3000 → 1500; counted 2490; reimbursable 5000 − 2410 = 2590
    (2590 − 100) × 65% = 1618.50
    """
    policy = insurance_policy(**{"partial_pay.bands": '"step"'})
    out = price(
        [
            claim(
                "A", "P1", "C2", "5000.00", special_exam="1500.00", blood="400.00", special_material="3000.00"
            )
        ],
        policy=policy,
    )
    assert out["A"]["reimbursable"] == D("2590.00") and out["A"]["reimbursement"] == D("1618.50")
    assert "每项1000元以内按60%、超过1000元的按50%计入" in out["A"]["reason"]


def test_004p6_3_4_3_formula_line_reading_of_partial_pay():
    """三(四)3 公式行: “医药费用总额—起付线—自费部分—【(特检费+特治费+血液费)X60%+特材费X50%】”
    (``partial_pay.reading = "formula_line"``): subtract (1500 + 400) × 60% + 3000 × 50% = 2640;
      reimbursable 5000 − 2640 = 2360; (2360 − 100) × 65% = 1469.00
    """
    policy = insurance_policy(**{"partial_pay.reading": '"formula_line"'})
    out = price(
        [
            claim(
                "A", "P1", "C2", "5000.00", special_exam="1500.00", blood="400.00", special_material="3000.00"
            )
        ],
        policy=policy,
    )
    assert out["A"]["reimbursable"] == D("2360.00") and out["A"]["reimbursement"] == D("1469.00")
    assert (
        "部分支付项目不计入2640.00 (部分支付项目4900.00, (特检+特治+血液)×60%+特材×50%不计入"
        in out["A"]["reason"]
    )


def test_004p6_3_4_1_partial_pay_counted_amount_rounded_half_up_once():
    """特检 333.33 × 60% = 199.998 → counted 200.00; not counted 133.33; total 1000.00 at level 1:
    reimbursable 1000 − 133.33 = 866.67; (866.67 − 50) × 75% = 612.5025 → 612.50."""
    out = price([claim("A", "P1", "T1", "1000.00", special_exam="333.33")])
    assert out["A"]["partial_counted"] == D("200.00") and out["A"]["reimbursable"] == D("866.67")
    assert out["A"]["reimbursement"] == D("612.50")


def test_004p6_3_4_3_self_pay_is_never_reimbursed():
    """公式: “医药费用总额—起付线—自费部分”: level 2, 5000.00 with 1200.00 自费 → (3800 − 100) × 65% = 2405.00."""
    out = price([claim("A", "P1", "C2", "5000.00", self_pay="1200.00")])
    assert out["A"]["reimbursable"] == D("3800.00") and out["A"]["reimbursement"] == D("2405.00")


def test_004p6_3_4_3_outpatient_30_percent_without_deductible_and_002p4_general_fee():
    """三(四)3: “门诊补偿不设起付线, 每次门诊补偿比例为门诊费用的30%”; 002 篇四: 一般诊疗费 “收费标准暂定为
    10 元, 在医保基金中支付” — under the variant county-2010-general-fee, which applies 002 篇四
    (issue 16 item 7: county-2010 itself does not).
      village clinic, 50.00 of which 10.00 一般诊疗费: 10.00 + (50 − 10) × 30% = 22.00
      township centre, 50.00 without it: 50 × 30% = 15.00
    """
    out = price(
        [
            claim("A", "P1", "V1", "50.00", kind="outpatient", general_fee="10.00"),
            claim("B", "P1", "T1", "50.00", kind="outpatient", month=2),
        ],
        policy=insurance_policy(GENERAL_FEE),
    )
    assert out["A"]["general_fee_paid"] == D("10.00") and out["A"]["reimbursement"] == D("22.00")
    assert out["A"]["deductible"] == 0 and "不设起付线" in out["A"]["reason"]
    assert out["B"]["reimbursement"] == D("15.00")


def test_004p6_3_4_3_county_2010_pays_the_general_fee_at_30_percent_like_any_outpatient_cost():
    """004 篇6 三(四)3: “每次门诊补偿比例为门诊费用的30%” — the county's own rule; 一般诊疗费 is 002 篇四's
    (another province, 2011), off in county-2010 (issue 16 item 7):
      village clinic, 50.00 of which 10.00 一般诊疗费: 50 × 30% = 15.00, nothing paid as a fee
    """
    out = price([claim("A", "P1", "V1", "50.00", kind="outpatient", general_fee="10.00")])
    assert out["A"]["general_fee_paid"] == 0
    assert out["A"]["reimbursement"] == D("15.00") and "一般诊疗费" not in out["A"]["reason"]


def test_004p6_3_4_2_outpatient_cap_per_person_and_year():
    """三(四)2: “门诊统筹实行按比例补偿, 封顶的方式” (cap 300.00 in county-2010 and its variant
    county-2010-general-fee, which applies 002 篇四's 一般诊疗费):
    600.00 → 180.00 (left 120.00); 600.00 → 180.00 computed, 120.00 paid (left 0);
    30.00 with 10.00 一般诊疗费 → 10.00 (the fee is outside the cap) + 20 × 30% = 6.00 over the cap → 10.00
    """
    out = price(
        [
            claim("A", "P1", "T1", "600.00", kind="outpatient", month=1),
            claim("B", "P1", "T1", "600.00", kind="outpatient", month=2),
            claim("C", "P1", "V1", "30.00", kind="outpatient", month=3, general_fee="10.00"),
        ],
        policy=insurance_policy(GENERAL_FEE),
    )
    assert [out[c]["reimbursement"] for c in "ABC"] == [D("180.00"), D("120.00"), D("10.00")]
    assert out["C"]["cap_before"] == 0 and out["C"]["amount_before_cap"] == D("6.00")


def test_004p6_3_4_2_ordinary_outpatient_only_at_township_and_village():
    """三(四)2: “以乡村两级定点医疗机构为服务主体” (pooled_levels = [1]): a visit at the county hospital is rejected."""
    out = price([claim("A", "P1", "C2", "80.00", kind="outpatient")])
    assert out["A"]["status"] == "rejected" and out["A"]["reject_code"] == "outpatient_level"
    assert out["A"]["reimbursement"] == 0 and "乡、村两级" in out["A"]["reason"]


def test_004p6_3_4_3_chronic_disease_fixed_annual_amount():
    """三(四)3: “特殊病种(慢性病)门诊补偿实行按病种定额补偿” (高血压 600.00 a year, within it 100%):
    visits of 250.00 → 250.00, 250.00, then 100.00 (600 − 500 left)."""
    out = price(
        [
            claim(c, "P1", "T1", "250.00", kind="outpatient", month=m, chronic_disease="HBP")
            for c, m in zip("ABC", (1, 2, 3), strict=True)
        ]
    )
    assert [out[c]["reimbursement"] for c in "ABC"] == [D("250.00"), D("250.00"), D("100.00")]
    assert out["C"]["rule"] == "chronic" and out["C"]["cap_bucket"] == "chronic:HBP"
    assert "高血压" in out["C"]["reason"]


def test_004p6_3_4_1_normal_delivery_flat_300_pathological_as_disease():
    """三(四)1: “住院分娩正常产每次补偿300元, 病理产科的住院分娩按疾病住院补偿标准补偿”.
    normal, 2500.00: 300.00, no deductible; normal, 200.00: 200.00 (never above the cost)
    pathological at level 2, 2500.00: (2500 − 100) × 65% = 1560.00
    """
    people = persons(("P1", "general"), ("P2", "general"), ("P3", "general"))
    out = price(
        [
            claim("A", "P1", "C2", "2500.00", delivery="normal"),
            claim("B", "P2", "T1", "200.00", delivery="normal"),
            claim("C", "P3", "C2", "2500.00", delivery="pathological"),
        ],
        people,
    )
    assert out["A"]["reimbursement"] == D("300.00") and out["A"]["deductible"] == 0
    assert out["A"]["rule"] == "delivery" and out["A"]["cap_bucket"] == "inpatient"
    assert out["B"]["reimbursement"] == D("200.00")
    assert out["C"]["rule"] == "inpatient" and out["C"]["reimbursement"] == D("1560.00")


def test_004p6_3_4_1_cataract_500_per_eye_outpatient_inpatient_as_usual():
    """三(四)1: “门诊人工晶体植入手术每一例患眼一次补偿500元, 住院手术按住院标准补偿”.
    outpatient, 2 eyes, 3000.00: 1000.00; 1 eye, 400.00: 400.00 (the cost)
    inpatient at level 2, 3000.00: (3000 − 100) × 65% = 1885.00
    """
    people = persons(("P1", "general"), ("P2", "general"), ("P3", "general"))
    out = price(
        [
            claim("A", "P1", "C2", "3000.00", kind="outpatient", cataract_eyes=2),
            claim("B", "P2", "C2", "400.00", kind="outpatient", cataract_eyes=1),
            claim("C", "P3", "C2", "3000.00", cataract_eyes=1),
        ],
        people,
    )
    assert out["A"]["reimbursement"] == D("1000.00") and out["A"]["rule"] == "cataract"
    assert out["B"]["reimbursement"] == D("400.00")
    assert out["C"]["rule"] == "inpatient" and out["C"]["reimbursement"] == D("1885.00")


def test_004p6_3_4_1_tcm_outpatient_fracture_no_deductible_capped_at_200():
    """三(四)1: “中医门诊补偿 … 骨折等用中医药治疗的非手术病人 … 不设起付线封顶为200元”:
    150.00 → 150.00; another 150.00 → 50.00 (200 − 150 left)."""
    out = price(
        [
            claim("A", "P1", "M2", "150.00", kind="outpatient", tcm_fracture=1, tcm_cost="150.00", month=1),
            claim("B", "P1", "M2", "150.00", kind="outpatient", tcm_fracture=1, tcm_cost="150.00", month=2),
        ]
    )
    assert [out[c]["reimbursement"] for c in "AB"] == [D("150.00"), D("50.00")]
    assert out["A"]["rule"] == "tcm_fracture"


def test_004p6_3_4_1_tcm_at_least_70_percent_no_deductible_ratio_up_10():
    """三(四)1: “中医药服务住院费用占总费用70%(含70%)以上的, 住院报销不设起付线, 补偿比例同时提高10%”.
    县中医院 (2), 1000.00 with 700.00 TCM (exactly 70%): 1000 × (65% + 10%) = 750.00
    with 699.99 TCM: (1000 − 100) × 65% = 585.00
    relative reading (65% × 1.1 = 71.5%): 1000 × 71.5% = 715.00
    """
    people = persons(("P1", "general"), ("P2", "general"))
    rows = [
        claim("A", "P1", "M2", "1000.00", tcm_cost="700.00"),
        claim("B", "P2", "M2", "1000.00", tcm_cost="699.99"),
    ]
    out = price(rows, people)
    assert out["A"]["deductible"] == 0 and out["A"]["ratio"] == D("0.75")
    assert out["A"]["reimbursement"] == D("750.00") and out["A"]["deductible_rule"] == "tcm"
    assert out["B"]["reimbursement"] == D("585.00")
    relative = price(rows, people, insurance_policy(**{"tcm.increase_mode": '"relative"'}))
    assert relative["A"]["ratio"] == D("0.715") and relative["A"]["reimbursement"] == D("715.00")


def test_004p6_3_4_1_coordination_with_other_insurance_never_above_the_cost():
    """三(四)1: “… 其目的是防止合计补偿超出实际住院费用”. Level 2, 1000.00, computed (1000 − 100) × 65% = 585.00:
    another insurer paid 600.00 → at most 1000 − 600 = 400.00
    another insurer paid 300.00 → at most 700.00 → 585.00
    """
    people = persons(("P1", "general"), ("P2", "general"))
    out = price(
        [
            claim("A", "P1", "C2", "1000.00", other_insurance_paid="600.00"),
            claim("B", "P2", "C2", "1000.00", other_insurance_paid="300.00"),
        ],
        people,
    )
    assert out["A"]["reimbursement"] == D("400.00") and out["A"]["coordination_limit"] == D("400.00")
    assert out["B"]["reimbursement"] == D("585.00")
    assert "其他保险" in out["A"]["reason"]


def test_004p6_3_4_1_and_5_out_of_area_certificate_and_referral():
    """三(四)1: “外出务工农民, 上学的学生凭 … 证明 … 在外地住院治疗后, 返回参合地按同等级别医院予以审核报销”;
    三(四)5(2): non-designated institutions, or out of the county without a referral: nothing. 2000.00 each:
      A 外地医院 (3, not designated) with a certificate: (2000 − 500) × 40% = 600.00
      B 外地医院 without one: rejected; C 民营诊所 in the county, even with one: rejected
      D 市中心医院 (designated, out of the county) without a referral: rejected; E with one: 600.00
    """
    people = persons(*((f"P{i}", "general") for i in range(5)))
    out = price(
        [
            claim("A", "P0", "A3", "2000.00", certificate=1),
            claim("B", "P1", "A3", "2000.00"),
            claim("C", "P2", "N1", "2000.00", certificate=1),
            claim("D", "P3", "S3", "2000.00"),
            claim("E", "P4", "S3", "2000.00", referral=1),
        ],
        people,
    )
    assert out["A"]["reimbursement"] == D("600.00") and "外出务工" in out["A"]["reason"]
    assert out["B"]["reject_code"] == "not_designated" and out["C"]["reject_code"] == "not_designated"
    assert out["D"]["reject_code"] == "not_referred" and "转诊手续" in out["D"]["reason"]
    assert out["E"]["reimbursement"] == D("600.00")


def test_rejections_named_by_the_issue_carry_their_reason():
    """Not insured that year, unknown person, unknown institution, listed items above the total,
    dated outside the policy year: ``rejected``, 0.00, and the reason in Chinese."""
    people = persons(("P1", "general"), ("P2", "general", 0))
    out = price(
        [
            claim("A", "P2", "C2", "1000.00"),
            claim("B", "P9", "C2", "1000.00"),
            claim("C", "P1", "X1", "1000.00"),
            claim("D", "P1", "C2", "1000.00", self_pay="600.00", tcm_cost="300.00", special_exam="200.00"),
            claim("E", "P1", "C2", "1000.00", month=12, day=30),
        ],
        people,
    )
    codes = {c: out[c]["reject_code"] for c in "ABCDE"}
    assert codes == {
        "A": "not_insured",
        "B": "not_insured",
        "C": "unknown_institution",
        "D": "items_exceed_total",
        "E": "outside_year",
    }
    assert all(out[c]["status"] == "rejected" and out[c]["reimbursement"] == 0 for c in "ABCDE")
    assert "未参合" in out["A"]["reason"] and "X1" in out["C"]["reason"]
    assert "1100.00 超过医疗总费用 1000.00" in out["D"]["reason"] and "2011-01-04" in out["E"]["reason"]


def test_a_stay_admitted_last_year_and_discharged_this_year_belongs_to_this_year():
    """The claim's year is its end (discharge) date's."""
    stay = claim("A", "P1", "C2", "1000.00", month=1, day=3) | {"start_date": dt.date(2009, 12, 25)}
    out = price([stay])
    assert out["A"]["status"] == "paid" and out["A"]["reimbursement"] == D("585.00")


def test_prior_state_counts_against_the_cap_at_the_desk():
    """The desk prices one claim after the person's state: inpatient 44,900.00 used → 100.00 left."""
    prior = PriorState(
        usage=pa.Table.from_pylist(
            [{"person_id": "P1", "bucket": "inpatient", "used": D("44900.00")}], schema=USAGE_SCHEMA
        )
    )
    out = price([claim("A", "P1", "T1", "2000.00")], prior=prior)
    assert out["A"]["amount_before_cap"] == D("1462.50") and out["A"]["reimbursement"] == D("100.00")
    assert out["A"]["cap_before"] == D("100.00")
