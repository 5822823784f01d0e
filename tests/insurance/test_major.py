"""大病保险 / 大病补偿: the second layer above the basic scheme (issue 18, ``[major]``).

Expected values are worked by hand from the illustrative policies' sentences: the layer pays, on
the person's year of 个人自付合规医疗费用 (可补偿费用 − 基本医保补偿), each band's ratio on the part
inside it, rounded once to the fen, at most its yearly limit; a claim gets F(after) − F(before).
Every case is priced by the batch and by the desk (``both``), which must agree to the fen.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shidian.insurance.claims import price_claims, state_after
from shidian.insurance.model import claims_table
from shidian.insurance.policy import parse_insurance_policy
from shidian.policy import read_reference_policy
from tests.insurance.helpers import COUNTY_FLOOR, INSTITUTIONS, D, claim, insurance_policy
from tests.insurance.test_tiers import CITY, GENERAL, both
from tests.properties import property_settings

FLOOR = insurance_policy(COUNTY_FLOOR)


def test_major_layer_accumulates_over_the_year():
    """示例市: “超过3000元 … 50%”. A: 县级 C2 12000: 基本 8525.00 (5000×70% + 6700×75%), 自付合规
    12000 − 8525 = 3475.00, 大病 (3475 − 3000) × 50% = 237.50. B: 高血压门诊 1000 at T1: 年度定额 600
    (100%), 自付 400.00, 累计 3875.00, F = 875 × 50% = 437.50, 本次 437.50 − 237.50 = 200.00.
    C: an ordinary visit (普通门诊 is not counted by this policy): no 大病 part."""
    rows = [
        claim("A", "P1", "C2", "12000"),
        claim("B", "P1", "T1", "1000", kind="outpatient", month=3, chronic_disease="HBP"),
        claim("C", "P1", "T1", "50", kind="outpatient", month=4),
    ]
    out = both(rows, GENERAL, CITY)
    a, b, c = out["A"], out["B"], out["C"]
    assert (a["reimbursement"], a["major_oop"], a["major_cum"], a["major_paid"]) == (
        D("8525.00"),
        D("3475.00"),
        D("3475.00"),
        D("237.50"),
    )
    assert (b["reimbursement"], b["major_oop"], b["major_cum"], b["major_paid"]) == (
        D("600.00"),
        D("400.00"),
        D("3875.00"),
        D("200.00"),
    )
    assert (c["major_oop"], c["major_paid"]) == (None, None)
    assert "大病保险 (示例政策: 个人自付合规费用超过3000元分段赔付50%/60%/70%, 年度最高2万元)" in a["reason"]
    assert a["reason"].endswith("本次个人自付合规费用3475.00元, 年度累计3475.00元, 大病保险支付237.50元")
    # the state carries the year's 自付合规 total; pricing B after A's state gives B's row
    after_a = state_after(price_claims(claims_table(rows[:1]), GENERAL, INSTITUTIONS, CITY))
    assert [u for u in after_a.usage.to_pylist() if u["bucket"] == "major_oop"] == [
        {"person_id": "P1", "bucket": "major_oop", "used": D("3475.00")}
    ]
    alone = price_claims(claims_table(rows[1:2]), GENERAL, INSTITUTIONS, CITY, after_a).to_pylist()[0]
    assert (alone["major_cum"], alone["major_paid"]) == (D("3875.00"), D("200.00"))


def test_major_layer_bands_and_yearly_limit():
    """A: C2 100000: 基本 5000×70% + 94700×75% = 74525.00; 自付 25475.00; 大病 7000×50% +
    15475×60% = 3500 + 9285 = 12785.00. B: 精神病定点住院 100000 (85%, 共用封顶8万, 余5475.00):
    基本 5475.00, 自付 94525.00, 累计 120000.00; F = 3500 + 20000×60% + 90000×70% = 78500 → 年度
    最高 20000.00; 本次 20000 − 12785 = 7215.00."""
    rows = [
        claim("A", "P1", "C2", "100000"),
        claim("B", "P1", "C2", "100000", month=6, inpatient_category="psychiatric"),
    ]
    out = both(rows, GENERAL, CITY)
    assert (out["A"]["reimbursement"], out["A"]["major_paid"]) == (D("74525.00"), D("12785.00"))
    b = out["B"]
    assert (b["reimbursement"], b["major_oop"], b["major_cum"], b["major_paid"]) == (
        D("5475.00"),
        D("94525.00"),
        D("120000.00"),
        D("7215.00"),
    )


def test_major_layer_counts_the_rules_the_policy_names():
    """示例县: “超过5000元的部分按60%”, 普通门诊与正常分娩也计入. A: 门诊 200 at T1: 30% = 60, 每次
    最高 15.00; 自付 185.00, 累计 185.00, below 5000: 0.00. B: 正常分娩 6000 at T1: 定额 300.00, 自付
    5700.00, 累计 5885.00, 大病 (5885 − 5000) × 60% = 531.00. R: a private clinic (not designated):
    rejected, never counted."""
    rows = [
        claim("A", "P1", "T1", "200", kind="outpatient"),
        claim("B", "P1", "T1", "6000", month=2, delivery="normal"),
        claim("R", "P1", "N1", "9000", month=3),
    ]
    out = both(rows, GENERAL, FLOOR)
    a, b, r = out["A"], out["B"], out["R"]
    assert (a["reimbursement"], a["major_oop"], a["major_cum"], a["major_paid"]) == (
        D("15.00"),
        D("185.00"),
        D("185.00"),
        D("0.00"),
    )
    assert (b["reimbursement"], b["major_oop"], b["major_cum"], b["major_paid"]) == (
        D("300.00"),
        D("5700.00"),
        D("5885.00"),
        D("531.00"),
    )
    assert r["status"] == "rejected" and r["major_oop"] is None


def test_county_2010_has_no_major_layer():
    policy = insurance_policy()
    assert policy.major_bands is None
    row = both([claim("A", "P1", "C2", "50000")], GENERAL, policy)["A"]
    assert (row["major_oop"], row["major_cum"], row["major_paid"]) == (None, None, None)
    assert "大病保险" not in row["reason"]


def test_major_bands_are_checked_with_key_and_line():
    text, _ = read_reference_policy("insurance", "illustrative-city-tiers")
    for old, new, why in (
        ("bands = [[3000, 0.50], [10000, 0.60]", "bands = [[3000, 0.50], [2000, 0.60]", "严格递增"),
        ("bands = [[3000, 0.50], [10000, 0.60]", "bands = [[3000, 1.50], [10000, 0.60]", "major.bands"),
        ('rules = ["inpatient", "chronic"]', 'rules = ["inpatient", "dental"]', "major.rules"),
    ):
        assert old in text
        policy, problems = parse_insurance_policy(text.replace(old, new), "p.toml")
        assert policy is None, why
        assert any(why in p.message or p.where.key == why for p in problems), problems
        assert problems[0].where.row is not None


def test_major_parameters_are_listed_readably():
    """`shidian insurance policy NAME` and the web policy page show the bands as written."""
    from shidian.cli.insurance import _show_value
    from shidian.web.policies.models import show_value

    bands = CITY.source.values["major.bands"]
    assert _show_value(bands) == "[[3000.00, 0.50], [10000.00, 0.60], [30000.00, 0.70]]"
    assert show_value(bands) == "[[3000.00, 0.50], [10000.00, 0.60], [30000.00, 0.70]]"
    assert show_value(CITY.source.values["major.rules"]) == "inpatient; chronic"


def test_monthly_outpatient_limit_before_the_yearly_cap():
    """示例县: 门诊 30%, 每次最高 15, 每月最高 40, 年度 300. March: three visits of 100 at T1 →
    30 → 15 each; the month's 40 leaves 15, 15, 10 (超出 5 不予补偿). April: 15 again (a new month)."""
    rows = [
        claim("A", "P1", "T1", "100", kind="outpatient", month=3, day=1),
        claim("B", "P1", "T1", "100", kind="outpatient", month=3, day=2),
        claim("C", "P1", "T1", "100", kind="outpatient", month=3, day=3),
        claim("D", "P1", "T1", "100", kind="outpatient", month=4, day=1),
    ]
    out = both(rows, GENERAL, FLOOR)
    assert [out[k]["reimbursement"] for k in "ABCD"] == [D("15.00"), D("15.00"), D("10.00"), D("15.00")]
    assert (out["C"]["month_cap"], out["C"]["month_cap_used"]) == (D("40.00"), D("10.00"))
    assert "门诊每月封顶线40.00: 本次计入10.00, 超出部分5.00不予补偿" in out["C"]["reason"]
    # the yearly cap counts what the months let through: 300 − 15 − 15 − 10 = 260 left after C
    assert out["C"]["cap_after"] == D("260.00") and out["D"]["cap_after"] == D("245.00")
    after = state_after(price_claims(claims_table(rows), GENERAL, INSTITUTIONS, FLOOR))
    months = {
        u["bucket"]: u["used"] for u in after.usage.to_pylist() if u["bucket"].startswith("outpatient_month")
    }
    assert months == {"outpatient_month:3": D("40.00"), "outpatient_month:4": D("15.00")}


def test_once_a_day():
    """示例县: “每人一天只能报销一次”. Two visits of 100 on 3 March (T1, then V1): 15.00, then 0 (本日
    第2次); 4 March: 15.00 again. The month counts what was paid: 15 + 0 + 15 = 30 of 40."""
    rows = [
        claim("A", "P1", "T1", "100", kind="outpatient", month=3, day=3),
        claim("B", "P1", "V1", "100", kind="outpatient", month=3, day=3),
        claim("C", "P1", "T1", "100", kind="outpatient", month=3, day=4),
    ]
    out = both(rows, GENERAL, FLOOR)
    assert [out[k]["reimbursement"] for k in "ABC"] == [D("15.00"), D("0.00"), D("15.00")]
    assert [out[k]["day_visit"] for k in "ABC"] == [1, 2, 1]
    assert "每人一天只能报销一次: 本日第2次门诊, 本次15.00不予补偿" in out["B"]["reason"]
    assert out["C"]["cap_after"] == D("270.00")
    # after A's state, B alone is still the day's second visit
    after_a = state_after(price_claims(claims_table(rows[:1]), GENERAL, INSTITUTIONS, FLOOR))
    alone = price_claims(claims_table(rows[1:2]), GENERAL, INSTITUTIONS, FLOOR, after_a).to_pylist()[0]
    assert (alone["day_visit"], alone["reimbursement"]) == (2, D("0.00"))


@property_settings(30)
@given(
    st.lists(
        st.tuples(st.integers(1, 4), st.sampled_from(["T1", "V1"]), st.integers(1, 40_000), st.booleans()),
        min_size=1,
        max_size=10,
    )
)
def test_crowded_outpatient_months_batch_equals_desk(visits):
    """Many ordinary visits (and a few chronic ones) in a few days of March and April: once a day,
    the month and the year bind often; the desk, claim by claim, gives the batch's rows to the fen."""
    rows = [
        claim(
            f"V{i:02d}",
            "P1",
            where,
            f"{fen / 100:.2f}",
            kind="outpatient",
            month=3 + day % 2,
            day=day,
            **({"chronic_disease": "HBP"} if chronic else {}),
        )
        for i, (day, where, fen, chronic) in enumerate(visits)
    ]
    out = both(rows, GENERAL, FLOOR)
    plain = [r for r in out.values() if r["rule"] == "outpatient"]
    assert sum(r["reimbursement"] for r in plain) <= D("300")
