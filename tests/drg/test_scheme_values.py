"""Per-scheme point values (分险种点值, 000 篇6 第六条 read per scheme), worked by hand.

"职工医保和居民医保的基金分别纳入DRG总额预算" (第六条). With ``schemes.point_value = "per_scheme"``
each scheme's DRG budget is divided by the points of its own cases (第十八条(二) month by month,
第十九条(一) for the year); the default ``joint`` keeps one point value (the literal reading).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import openpyxl
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from shidian.drg.model import DrgInputs
from shidian.drg.policy import parse_drg_policy
from shidian.drg.service import settle_folder
from shidian.drg.settlement import settle
from shidian.money import POINT, ZERO
from shidian.policy import read_reference_policy
from tests.conftest import drg_policy, region
from tests.drg.test_caps import write_region
from tests.drg.test_invariants import regions
from tests.drg.test_schemes import SCHEMES, rows, with_schemes
from tests.properties import property_settings

PER_SCHEME = {"point_value": '"per_scheme"'}


def policy_file(folder: Path, name: str = "guigang-2020", mode: str = "per_scheme") -> Path:
    """The reference policy with ``schemes.point_value`` set to ``mode``."""
    text, _ = read_reference_policy("drg", name)
    assert 'point_value = "joint"' in text
    path = folder / f"{name}-{mode}.toml"
    path.write_text(text.replace('point_value = "joint"', f'point_value = "{mode}"'), encoding="utf-8")
    return path


def budgets(folder: Path, **pooled: str) -> Path:
    text = "year = 2020\n" + "".join(
        f'[fund_budget.{scheme}]\npooled_budget = "{amount}"\n' for scheme, amount in pooled.items()
    )
    (folder / "settlement.toml").write_text(text, encoding="utf-8")
    return folder


def test_the_reference_policies_keep_one_joint_point_value():
    """第六条 read literally: one DRG budget, one point value (docs/drg.md); the switch is stated."""
    for name in ("guigang-2020", "shanwei-2021"):
        assert drg_policy(name).scheme_point_value == "joint"


def test_000p6_art6_each_scheme_settled_with_its_own_point_value(tmp_path):
    """The region of test_caps (P1, P2 level 2; six normal cases of 100 points, cost 1000, fund
    700, patient cash 300; P1's self-pay 50, P2's 95 a case) with test_schemes' schemes: 职工 =
    P1's January and February cases (200 points), 居民 = P1's March case and P2's three (400
    points). Budgets from the fund (第六条): 职工 2,400.00, 居民 3,000.00, in twelfths.

    Months (第十八条(二)(三), as written, 90%):
    * 职工: 2400 ÷ 12 = 200.00 a month; January 100 points → point value 200 ÷ 100 = 2; February
      the same; March has no 职工 case → 0. P1: (100 × 2 − 300) × 0.9 = −90.00 in January and
      in February.
    * 居民: 3000 ÷ 12 = 250.00 a month; January (P2-1) and February (P2-2) 100 points → 2.5;
      March (P1-3, P2-3) 200 points → 1.25. P2: (100 × 2.5 − 300) × 0.9 = −45.00 twice, March
      (100 × 1.25 − 300) × 0.9 = −157.50; P1's March 居民 case the same −157.50.
    Year (第十九条(一)):
    * 职工: (2000 − 1400 + 2400) ÷ 200 = 15; 居民: (4000 − 2800 + 3000) ÷ 400 = 10.5 (one joint
      value would be (6000 − 4200 + 5400) ÷ 600 = 12).
    * P1: 职工 200 × 15 = 3000.00, 居民 100 × 10.5 = 1050.00, entitlement 4050.00 on a total
      cost of 3000: surplus 1050 > 30% × 3000 = 900, cut 150.00 (第十九条(三), the hospital's).
      Shared by entitlement 3000 : 1050: 111.11|1… and 38.88|8…, the last fen to the larger
      remainder (居民): 111.11 and 38.89.
      职工 settlement 3000 − 111.11 − 600 − (−180.00) = 2468.89 (fund payment 2288.89);
      居民 1050 − 38.89 − 300 − (−157.50) = 868.61 (fund payment 711.11);
      P1's settlement 4050 − 150 − 900 + 337.50 = 3337.50 = 2468.89 + 868.61.
    * P2: 居民 300 × 10.5 = 3150.00, surplus 150 = 5% (no cut), self-pay 285 = 9.5% (no cut);
      settlement 3150 − 900 + 247.50 = 2497.50, fund payment 2250.00.
    * Funds: 职工 pays 2288.89 of 2400.00 (balance 111.11), 居民 711.11 + 2250.00 = 2961.11 of
      3000.00 (balance 38.89): together the 150.00 cut.
    """
    data = budgets(with_schemes(write_region(tmp_path / "in")), employee="2400.00", resident="3000.00")
    run, problems = settle_folder(data, tmp_path / "out", "guigang-2020", policy_file(tmp_path))
    assert run is not None, problems
    out = tmp_path / "out"
    monthly = {(r["scheme"], r["month"]): (r["budget"], r["point_value"]) for r in rows(out / "monthly.csv")}
    assert len(monthly) == 24
    assert monthly["employee", "1"] == ("200.00", "2.00000000")
    assert monthly["employee", "2"] == ("200.00", "2.00000000")
    assert monthly["employee", "3"] == ("200.00", "0.00000000")
    assert monthly["resident", "1"] == ("250.00", "2.50000000")
    assert monthly["resident", "3"] == ("250.00", "1.25000000")
    payments = {
        (r["hospital_id"], r["month"], r["scheme"]): (r["point_value"], r["amount"])
        for r in rows(out / "monthly_payments.csv")
    }
    assert payments["P1", "1", "employee"] == ("2.00000000", "-90.00")
    assert payments["P1", "3", "resident"] == ("1.25000000", "-157.50")
    assert payments["P1", "3", "employee"] == ("0.00000000", "0.00")
    assert payments["P2", "2", "resident"] == ("2.50000000", "-45.00")
    annual = {r["hospital_id"]: r for r in rows(out / "annual.csv")}
    assert annual["P1"]["year_point_value"] == ""  # each scheme has its own
    assert (annual["P1"]["entitlement"], annual["P1"]["surplus_cut"]) == ("4050.00", "150.00")
    assert (annual["P1"]["monthly_paid"], annual["P1"]["settlement"]) == ("-337.50", "3337.50")
    assert (annual["P2"]["entitlement"], annual["P2"]["settlement"]) == ("3150.00", "2497.50")
    got = [
        (
            r["hospital_id"],
            r["scheme"],
            r["year_point_value"],
            r["monthly_paid"],
            r["settlement"],
            r["fund_payment"],
        )
        for r in rows(out / "scheme_payments.csv")
    ]
    assert got == [
        ("P1", "employee", "15.00000000", "-180.00", "2468.89", "2288.89"),
        ("P1", "resident", "10.50000000", "-157.50", "868.61", "711.11"),
        ("P2", "resident", "10.50000000", "-247.50", "2497.50", "2250.00"),
    ]
    totals = run.result.totals
    assert "year_point_value" not in totals and totals["scheme_point_value"] == "per_scheme"
    assert totals["scheme.employee.year_point_value"] == "15.00000000"
    assert totals["scheme.resident.year_point_value"] == "10.50000000"
    assert (totals["scheme.employee.fund_payment"], totals["scheme.employee.balance"]) == (
        "2288.89",
        "111.11",
    )
    assert (totals["scheme.resident.fund_payment"], totals["scheme.resident.balance"]) == ("2961.11", "38.89")
    assert run.result.ok, [c for c in run.result.checks if not c.ok]
    names = {c.name for c in run.result.checks}
    assert {
        "year_value_conserved.employee",
        "year_value_conserved.resident",
        "scheme_year_end_adds_up",
    } <= names
    assert "year_value_conserved" not in names


def test_per_scheme_outputs_show_each_schemes_point_value(tmp_path):
    data = budgets(with_schemes(write_region(tmp_path / "in")), employee="2400.00", resident="3000.00")
    run, problems = settle_folder(data, tmp_path / "out", "guigang-2020", policy_file(tmp_path))
    assert run is not None, problems
    book = openpyxl.load_workbook(tmp_path / "out" / "report.xlsx", read_only=True)
    summary = {r[0]: r[1] for r in book["汇总"].iter_rows(values_only=True) if r[0]}
    assert summary["年度点值 (职工医保)"] == 15 and summary["年度点值 (居民医保)"] == 10.5
    months = list(book["月度点值"].iter_rows(values_only=True))
    assert months[0][:2] == ("险种", "月份") and months[1][:2] == ("职工医保", 1)
    assert months[13][:2] == ("居民医保", 1) and months[13][-1] == 2.5
    header = next(book["险种记账"].iter_rows(values_only=True))
    assert "年度点值" in header
    hospital = openpyxl.load_workbook(tmp_path / "out" / "hospitals" / "P1.xlsx", read_only=True)
    paid = list(hospital["月度拨付"].iter_rows(values_only=True))
    assert paid[0][:3] == ("月份", "险种", "病例数")
    assert paid[1][:2] == (1, "职工医保") and paid[2][:2] == (1, "居民医保")
    warnings = [w.message for w in run.result.warnings if w.code == "drg.month.no_cases"]
    assert "职工医保 3月无出院病例, 当月点值为0, 月度预算留待年终清算" in warnings


def test_per_scheme_with_one_scheme_is_the_joint_settlement(tmp_path):
    """Every case 职工, its budget the whole 5,820.00: the per-scheme settlement is the joint one
    (the same numbers in every file), only labelled by scheme."""
    every = {k: "employee" for k in SCHEMES}
    joint_in = budgets(with_schemes(write_region(tmp_path / "a"), every), employee="5820.00")
    per_in = budgets(with_schemes(write_region(tmp_path / "b"), every), employee="5820.00")
    joint, problems = settle_folder(joint_in, tmp_path / "joint", "guigang-2020")
    assert joint is not None, problems
    per, problems = settle_folder(per_in, tmp_path / "per", "guigang-2020", policy_file(tmp_path))
    assert per is not None, problems

    def table(folder: str, name: str, drop: tuple[str, ...] = ()) -> list[dict[str, str]]:
        return [{k: v for k, v in r.items() if k not in drop} for r in rows(tmp_path / folder / name)]

    for name in ("case_points.csv", "scheme_payments.csv", "drg_budget.csv"):
        assert table("per", name) == table("joint", name), name
    assert table("per", "monthly.csv", ("scheme",)) == table("joint", "monthly.csv")
    assert table("per", "monthly_payments.csv", ("scheme",)) == table("joint", "monthly_payments.csv")
    drop = ("year_point_value",)
    assert table("per", "annual.csv", drop) == table("joint", "annual.csv", drop)
    assert per.result.totals["scheme.employee.year_point_value"] == joint.result.totals["year_point_value"]


def test_without_a_scheme_column_per_scheme_is_joint(tmp_path):
    """No ``scheme`` on the cases: one scheme (第六条 has nothing to split), the joint settlement."""
    joint, _ = settle_folder(write_region(tmp_path / "a"), tmp_path / "joint", "guigang-2020")
    per, problems = settle_folder(
        write_region(tmp_path / "b"), tmp_path / "per", "guigang-2020", policy_file(tmp_path)
    )
    assert joint is not None and per is not None, problems
    for name in ("monthly.csv", "monthly_payments.csv", "annual.csv"):
        assert (tmp_path / "per" / name).read_bytes() == (tmp_path / "joint" / name).read_bytes()
    assert [w.code for w in per.result.warnings if w.code.startswith("drg.scheme")] == ["drg.scheme.single"]


def test_per_scheme_needs_each_schemes_budget(tmp_path):
    data = with_schemes(write_region(tmp_path / "in"))  # drg_budget given, not by scheme
    run, problems = settle_folder(data, tmp_path / "out", "guigang-2020", policy_file(tmp_path))
    assert run is None
    assert [(p.code, p.where.file, p.where.key) for p in problems] == [
        ("drg.scheme.budget_by_scheme", "settlement.toml", "drg_budget")
    ]
    assert not (tmp_path / "out").exists()
    budgets(data, resident="3000.00")
    run, problems = settle_folder(data, tmp_path / "out", "guigang-2020", policy_file(tmp_path))
    assert run is None
    assert [(p.code, p.where.key) for p in problems] == [
        ("drg.scheme.budget_missing", "fund_budget.employee")
    ]
    assert not (tmp_path / "out").exists()


def test_per_scheme_deductions_name_their_scheme(tmp_path):
    """A deduction's points are valued at its scheme's point value and its money charged to that
    fund (第十八条(三)(四)): under per-scheme values a row without a scheme is refused, by row."""
    data = budgets(with_schemes(write_region(tmp_path / "in")), employee="2400.00", resident="3000.00")
    (data / "deductions.csv").write_text(
        "hospital_id,month,amount,points,险种\nP1,1,10.00,0,职工\nP2,1,0,10,\n", encoding="utf-8"
    )
    run, problems = settle_folder(data, tmp_path / "out", "guigang-2020", policy_file(tmp_path))
    assert run is None
    assert [(p.code, p.where.file, p.where.row, p.where.column) for p in problems] == [
        ("drg.scheme.deduction_missing", "deductions.csv", 3, "scheme")
    ]
    assert not (tmp_path / "out").exists()
    (data / "deductions.csv").write_text(
        "hospital_id,month,amount,points,险种\nP1,1,10.00,0,职工\nP2,1,0,10,居民\n", encoding="utf-8"
    )
    run, problems = settle_folder(data, tmp_path / "out", "guigang-2020", policy_file(tmp_path))
    assert run is not None, problems
    payments = {
        (r["hospital_id"], r["month"], r["scheme"]): r
        for r in rows(tmp_path / "out" / "monthly_payments.csv")
    }
    # P1 January 职工: −90.00 − 10.00 审核扣款; P2 January 居民: −45.00 − 10 points × 2.5 = −70.00
    assert payments["P1", "1", "employee"]["amount"] == "-100.00"
    assert payments["P2", "1", "resident"]["deducted_points_amount"] == "25.00"
    assert payments["P2", "1", "resident"]["amount"] == "-70.00"
    assert run.result.ok


def test_the_switch_is_validated():
    text, source = read_reference_policy("drg", "guigang-2020")
    policy, problems = parse_drg_policy(text.replace('point_value = "joint"', 'point_value = "both"'), source)
    assert policy is None
    assert [(p.code, p.where.key) for p in problems] == [("policy.param.invalid", "schemes.point_value")]


def with_random_schemes(inputs: DrgInputs, schemes: list[str], employee: str, resident: str) -> DrgInputs:
    """``inputs`` with a scheme per case and a DRG budget per scheme (第六条)."""
    cases = inputs.cases.append_column("scheme", pa.array(schemes[: inputs.cases.num_rows], pa.string()))
    lines = (
        ("employee", "drg_budget", "职工医保", Decimal(employee), "000 篇6 第六条"),
        ("resident", "drg_budget", "居民医保", Decimal(resident), "000 篇6 第六条"),
    )
    params = replace(inputs.params, drg_budget=Decimal(employee) + Decimal(resident), budget_lines=lines)
    return replace(inputs, cases=cases, params=params)


@property_settings(15)
@given(
    regions(),
    st.lists(st.sampled_from(["employee", "resident"]), min_size=40, max_size=40),
    st.integers(1_000_00, 5_000_000_00),
    st.integers(1_000_00, 5_000_000_00),
    st.sampled_from(["guigang-2020", "shanwei-2021"]),
    st.booleans(),
)
def test_each_schemes_money_is_conserved(data, schemes, employee, resident, name, caps):
    """Per scheme: Σ over hospitals (entitlement − patient cash) = the scheme's budget up to the
    roundings (half a fen a hospital, half a point unit a year point) with neutral coefficients
    and no caps; with the caps every hospital's scheme charges add up to its payments to the fen
    and each scheme's months to its budget (the run's own checks, all passing)."""
    hospitals, groups, cases, _ = data
    budget = {"employee": Decimal(employee) / 100, "resident": Decimal(resident) / 100}
    inputs = with_random_schemes(
        region(hospitals, groups, cases, "0"), schemes, str(budget["employee"]), str(budget["resident"])
    )
    policy = drg_policy(name, apply_caps="true" if caps else "false", **PER_SCHEME)
    result, problems = settle(inputs, policy)
    assert result is not None, problems
    assert result.ok, [c for c in result.checks if not c.ok]
    assert result.scheme_payments is not None
    charged = result.scheme_payments.to_pylist()
    for row in result.annual.to_pylist():
        mine = [r for r in charged if r["hospital_id"] == row["hospital_id"]]
        assert sum((r["fund_payment"] for r in mine), ZERO) == row["monthly_paid"] + row["settlement"]
    idle = {w.where.key for w in result.warnings if w.code == "drg.scheme.no_cases"}
    for scheme in ("employee", "resident"):
        assert (f"fund_budget.{scheme}" in idle) == (scheme not in schemes[: len(cases)])
        months = [m for m in result.monthly.to_pylist() if m["scheme"] == scheme]
        assert sum((m["budget"] for m in months), ZERO) == budget[scheme]
        points = sum((r["final_points"] for r in charged if r["scheme"] == scheme), ZERO)
        if caps or name != "guigang-2020" or points == 0:
            continue
        owed = sum((r["value"] for r in charged if r["scheme"] == scheme), ZERO)
        tolerance = Decimal("0.005") * len(hospitals) + points * POINT / 2
        assert abs(owed - budget[scheme]) <= tolerance


def test_a_cases_explanation_names_its_schemes_point_values(tmp_path):
    """``shidian drg explain``: P1-3 (居民, March) is paid at 居民's March point value 1.25 and
    year point value 10.5; under the joint reading at the joint ones."""
    from shidian.drg.service import explain_case

    data = budgets(with_schemes(write_region(tmp_path / "in")), employee="2400.00", resident="3000.00")
    run, problems = settle_folder(data, tmp_path / "per", "guigang-2020", policy_file(tmp_path))
    assert run is not None, problems
    lines = explain_case(tmp_path / "per", "P1-3").found.explanation.lines
    assert (
        "险种: 居民医保; 分险种点值 (000 篇6 第六条: 本险种DRG预算 ÷ 本险种病例点数): "
        "居民医保3月月度点值 1.25000000 (第十八条(二)), 居民医保年度点值 10.50000000 (第十九条(一))"
    ) in lines
    case_points = {r["case_id"]: r["scheme"] for r in rows(tmp_path / "per" / "case_points.csv")}
    assert case_points["P1-1"] == "employee" and case_points["P1-3"] == "resident"
    joint, problems = settle_folder(data, tmp_path / "joint", "guigang-2020")
    assert joint is not None, problems
    lines = explain_case(tmp_path / "joint", "P1-3").found.explanation.lines
    # joint: March 5400 ÷ 12 = 450.00 over 200 points = 2.25; year (6000 − 4200 + 5400) ÷ 600 = 12
    assert (
        "险种: 居民医保; 联合点值 (000 篇6 第六条: 两险种基金纳入同一DRG总额预算): "
        "3月月度点值 2.25000000 (第十八条(二)), 年度点值 12.00000000 (第十九条(一))"
    ) in lines


def test_a_deductions_scheme_is_named_as_unused_under_joint_point_values(tmp_path):
    data = budgets(with_schemes(write_region(tmp_path / "in")), employee="2400.00", resident="3000.00")
    (data / "deductions.csv").write_text(
        "hospital_id,month,amount,points,险种\nP1,1,10.00,0,职工\n", encoding="utf-8"
    )
    run, problems = settle_folder(data, tmp_path / "out", "guigang-2020")
    assert run is not None, problems
    ignored = [w for w in run.result.warnings if w.code == "drg.input.ignored"]
    assert [(w.where.file, w.where.column) for w in ignored] == [("deductions.csv", "scheme")]
    assert "schemes.point_value 为 joint" in ignored[0].message


def test_the_settle_command_prints_each_schemes_year_point_value(tmp_path):
    from typer.testing import CliRunner

    from shidian.cli import app

    data = budgets(with_schemes(write_region(tmp_path / "in")), employee="2400.00", resident="3000.00")
    args = [
        "drg",
        "settle",
        str(data),
        "--out",
        str(tmp_path / "out"),
        "--policy-file",
        str(policy_file(tmp_path)),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "职工医保年度点值 (分险种点值, 000 篇6 第六条)" in result.output
    assert "15.0000" in result.output and "10.5000" in result.output
