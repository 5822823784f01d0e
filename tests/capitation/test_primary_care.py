"""Public-health and primary-care money, 002 篇四 and 001 第十八篇, worked by hand."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from shidian.capitation.policy import PRIMARY_CARE_POLICIES, parse_primary_care_policy
from shidian.capitation.primary_care import (
    CommunityHealth,
    Township,
    Village,
    deficit_subsidies,
    public_health,
    village_subsidies,
)
from shidian.cli import app

runner = CliRunner()
POLICY = PRIMARY_CARE_POLICIES.named("shaanxi-2011")


def _community(cid: str, residents: int, workload: str, score: str) -> CommunityHealth:
    return CommunityHealth(cid, residents, Decimal(workload), Decimal(score))


def test_002p4_2_1_per_capita_funds_assessed_deducted_and_rewarded():
    """人均 25 元: A 10 万人 → 250 万, B 6 万人 → 150 万; 年初预拨 50%: 125 万、75 万.
    B 50 分, 低于 60 分 10 分 × 1% = 扣 10% → 扣 15 万 (三(四) “绩效考核差的可扣减”);
    A 95 分 ≥ 90, 独得扣减的 15 万 (“好的可给予适当奖励”): A 应得 265 万, 考核后拨付 140 万;
    B 应得 135 万, 考核后拨付 60 万. 到村 (四 “不低于40%”): A 工作量 45% → 119.25 万; B 30% 按 40% → 54 万."""
    rows, returned = public_health(
        [_community("A", 100000, "0.45", "95"), _community("B", 60000, "0.30", "50")], POLICY
    )
    a, b = rows
    assert (a.budget, b.budget) == (Decimal("2500000.00"), Decimal("1500000.00"))
    assert (a.prepaid, b.prepaid) == (Decimal("1250000.00"), Decimal("750000.00"))
    assert b.deduction == Decimal("150000.00") and a.reward == Decimal("150000.00")
    assert (a.entitlement, b.entitlement) == (Decimal("2650000.00"), Decimal("1350000.00"))
    assert (a.after_assessment, b.after_assessment) == (Decimal("1400000.00"), Decimal("600000.00"))
    assert (a.village_amount, b.village_amount) == (Decimal("1192500.00"), Decimal("540000.00"))
    assert returned == 0


def test_002p4_3_4_deductions_return_to_the_finance_when_nobody_earns_a_reward():
    """两个医共体都低于 90 分: B (40 分) 扣 20% = 30 万, 无人可奖, 退回财政 30 万."""
    rows, returned = public_health(
        [_community("A", 100000, "0.5", "80"), _community("B", 60000, "0.5", "40")], POLICY
    )
    assert rows[1].deduction == Decimal("300000.00") and rows[0].reward == 0
    assert returned == Decimal("300000.00")


def test_002p4_4_village_subsidy_topped_up_to_ten_thousand():
    """“每个行政村每年补助总额不低于10000元”: 达标且其他补助 2000 → 省 5000, 县补 3000;
    未达标、无其他补助 → 县补 10000; 达标且其他补助 8000 → 已达 13000, 县补 0."""
    rows = village_subsidies(
        [
            Village("V1", "", True, Decimal("2000")),
            Village("V2", "", False, Decimal("0")),
            Village("V3", "", True, Decimal("8000")),
        ],
        POLICY,
    )
    assert [(r.provincial, r.county_top_up, r.total) for r in rows] == [
        (Decimal("5000.00"), Decimal("3000.00"), Decimal("10000.00")),
        (Decimal("0"), Decimal("10000.00"), Decimal("10000.00")),
        (Decimal("5000.00"), Decimal("0"), Decimal("13000.00")),
    ]


def test_002p4_2_3_deficit_subsidy_assessed_then_settled_against_the_prepayment():
    """经常性支出 100 万 − 收入 80 万 = 差额 20 万; 55 分 → 系数 0.95 → 补助 19 万; 已预拨 15 万 → 结算补拨 4 万.
    收入大于支出 → 差额 0; 已预拨 1 万 → 结算收回 1 万 (“先预拨后结算”)."""
    rows = deficit_subsidies(
        [
            Township("T1", "", Decimal("1000000"), Decimal("800000"), Decimal("150000"), Decimal("55")),
            Township("T2", "", Decimal("500000"), Decimal("600000"), Decimal("10000"), Decimal("90")),
        ],
        POLICY,
    )
    assert (rows[0].deficit, rows[0].coefficient, rows[0].subsidy, rows[0].settlement) == (
        Decimal("200000"),
        Decimal("0.95"),
        Decimal("190000.00"),
        Decimal("40000.00"),
    )
    assert (rows[1].subsidy, rows[1].settlement) == (Decimal("0"), Decimal("-10000"))


def test_002p4_2_1_a_per_capita_amount_under_25_is_refused():
    text = PRIMARY_CARE_POLICIES.text("shaanxi-2011").replace("per_capita = 25", "per_capita = 20")
    policy, problems = parse_primary_care_policy(text, "p.toml")
    assert policy is None
    assert problems[0].where.key == "public_health.per_capita"


def test_primary_care_cli_writes_results_and_warns_on_low_village_workload(tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "health.csv").write_text(
        "医共体编号,常住人口,村卫生室工作量占比,考核得分\nA,100000,0.45,95\nB,60000,0.30,50\n", encoding="gbk"
    )
    (data / "villages.csv").write_text(
        "village_code,qualified,other_subsidy\nV1,是,2000\nV2,否,0\n", encoding="utf-8"
    )
    out = tmp_path / "out"
    result = runner.invoke(app, ["capitation", "primary-care", str(data), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)["run"]
    assert record["warnings"] == 1 and all(c["ok"] for c in record["checks"])
    with (out / "public_health.csv").open(encoding="utf-8") as f:
        rows = {r["community_id"]: r for r in csv.DictReader(f)}
    assert rows["A"]["entitlement"] == "2650000.00"
    with (out / "warnings.csv").open(encoding="utf-8") as f:
        assert [r["code"] for r in csv.DictReader(f)] == ["capitation.health.village_workload_low"]
    assert not (out / "township_subsidies.csv").exists()


def test_primary_care_cli_bad_cells_write_nothing(tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "townships.csv").write_text(
        "institution_id,recurring_spending,recurring_income,score\nT1,abc,800000,55\n", encoding="utf-8"
    )
    result = runner.invoke(app, ["capitation", "primary-care", str(data), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "townships.csv:2:recurring_spending: table.cell.not_number" in result.output
    assert not (tmp_path / "o").exists()
