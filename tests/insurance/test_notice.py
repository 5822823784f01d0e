"""Public notice per village (004 篇6 三(五)2 公示栏), masked."""

from __future__ import annotations

import pyarrow as pa

from shidian.insurance.claims import price_claims
from shidian.insurance.model import PERSONS_SCHEMA, VILLAGES_SCHEMA, claims_table
from shidian.insurance.notice import public_notice
from tests.insurance.helpers import INSTITUTIONS, D, claim, id_number, insurance_policy

PEOPLE = pa.Table.from_pylist(
    [
        {"person_id": "P1", "id_number": id_number(1), "name": "张小三", "household_id": "H1", "category": "general",
         "village_code": "152922001001", "insured": 1},
        {"person_id": "P2", "id_number": id_number(2), "name": "李四", "household_id": "H2", "category": "general",
         "village_code": "152922001002", "insured": 1},
        {"person_id": "P3", "id_number": id_number(3), "name": "王五", "household_id": "H3", "category": "general",
         "village_code": "152922001002", "insured": 1},
    ],
    schema=PERSONS_SCHEMA,
)  # fmt: skip
VILLAGES = pa.Table.from_pylist(
    [{"village_code": "152922001001", "name": "东湾村"}, {"village_code": "152922001002", "name": "西岭村"}],
    schema=VILLAGES_SCHEMA,
)
ROWS = [
    claim("A", "P1", "T1", "1000.00", month=2),  # (1000 − 50) × 75% = 712.50
    claim("B", "P2", "T1", "250.00", kind="outpatient", chronic_disease="HBP", month=1),
    claim("C", "P2", "T1", "250.00", kind="outpatient", chronic_disease="HBP", month=2),
    claim("D", "P3", "V1", "50.00", kind="outpatient", month=3),  # 15.00, summarised per village
    claim("E", "P3", "V1", "40.00", kind="outpatient", month=4),  # 12.00
]


def notice(policy=None):
    policy = policy or insurance_policy()
    priced = price_claims(claims_table(ROWS), PEOPLE, INSTITUTIONS, policy)
    return public_notice(priced, PEOPLE, INSTITUTIONS, VILLAGES, policy)


def test_004p6_3_5_2_notice_lists_by_village_masked():
    """Names 张小三 → 张*三, 李四 → 李*; ID numbers keep 6 + 4; the two chronic visits are one row."""
    rows, villages = notice()
    listed = rows.to_pylist()
    assert [
        (r["village_code"], r["masked_name"], r["item"], r["visits"], r["reimbursement"]) for r in listed
    ] == [
        ("152922001001", "张*三", "住院补偿", 1, D("712.50")),
        ("152922001002", "李*", "特殊慢性病门诊: 高血压 (Ⅱ、Ⅲ期)", 2, D("500.00")),
    ]
    assert listed[0]["masked_id_number"] == id_number(1)[:6] + "*" * 8 + id_number(1)[-4:]
    assert listed[0]["village_name"] == "东湾村" and listed[0]["institution_name"] == "第1乡镇卫生院"
    summary = {v["village_code"]: v for v in villages.to_pylist()}
    west = summary["152922001002"]
    assert (west["outpatient_visits"], west["outpatient_amount"]) == (2, D("27.00"))
    assert west["reimbursement"] == D("527.00") and west["persons_reimbursed"] == 2 and west["insured"] == 2


def test_ordinary_outpatient_visits_listed_when_the_policy_says_so():
    rows, villages = notice(insurance_policy(**{"notice.list_outpatient": "true"}))
    assert len(rows) == 4
    assert sum(v["outpatient_visits"] for v in villages.to_pylist()) == 0
