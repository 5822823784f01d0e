"""A straightforward pandas DRG settlement (贵港 2020): the speed baseline and a cross-check.

This is what a competent data analyst would write from docs/drg.md, sections 1–7: read the
CSV inputs with pandas, compute in float64 with vectorised merges, groupbys and
``np.where``, write the results with ``to_csv``. It shares no code with ``shidian.drg`` on
purpose: ``bench/drg_settle.py`` times both and compares their results, so agreement is
evidence that both read the rules the same way. Floats are fine here (it is not the engine):
results agree with the exact engine to well under a fen and 1e-6 points, except at
rounding ties.

Policy: ``guigang-2020`` (year-end method ``point_value``, monthly formula ``as_written``).

With ``--lean`` it is the leaner script of issue 20: it reads the CSVs and computes the
settlement in floats, without the exact 四舍五入 steps and without writing any output — the
least work anyone could do, the floor for the engine's default command.

Usage: ``python bench/pandas_drg.py DATA_DIR OUT_DIR [--lean]``
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

# guigang-2020 parameters (000 篇6).
UNSTABLE_MAX_CASES = 5  # 第十一条: a DRG with at most this many reference cases is unstable
HIGH_RATIO_BANDS = ((100, 3.0), (200, 2.5), (300, 2.0), (500, 1.5))  # 第十一条(一): base points <= bound
HIGH_RATIO_ABOVE = 1.3  # base points > 500
LOW_RATIO = 0.3  # 第十一条(二)
WHOLE_GROUP_PREPAY_RATIO = 0.70  # 第十八条(二)5
PREPAY_RATIO = 0.90  # 第十八条
SURPLUS_CAP_RATIO = 0.30  # 第十九条(三)
SELF_PAY_CAP_RATIO = 0.10  # 第十九条(三)
BASIC_COEFFICIENT = 1.0  # 第十三条(一) 同城同病同价
MISSING_LEVEL_COEFFICIENT = 1.0

CASE_POINTS_COLUMNS = [
    "case_id",
    "hospital_id",
    "month",
    "drg_code",
    "category",
    "base_points",
    "coefficient",
    "prepay_points",
    "final_points",
    "level",
    "cost",
    "high_multiple",
    "extra_points",
]
MONEY_COLUMNS = {
    "budget",
    "patient_cash",
    "audit_deduction",
    "amount",
    "entitlement",
    "surplus_cut",
    "self_pay_cut",
    "monthly_paid",
    "settlement",
    "audit_deductions",
    "total_cost",
    "self_pay",
    "cost",
}
MONTHLY_COLUMNS = ["month", "budget", "total_points", "point_value"]
MONTHLY_PAYMENTS_COLUMNS = [
    "hospital_id",
    "month",
    "cases",
    "prepay_points",
    "point_value",
    "patient_cash",
    "deducted_points",
    "audit_deduction",
    "amount",
]
ANNUAL_COLUMNS = [
    "hospital_id",
    "year_points",
    "year_point_value",
    "assessment_coefficient",
    "entitlement",
    "surplus_cut",
    "self_pay_cut",
    "patient_cash",
    "monthly_paid",
    "settlement",
    "audit_deductions",
    "total_cost",
    "self_pay",
]


LEAN = "--lean" in sys.argv[3:]


def round_half_up(values: pd.Series | np.ndarray | float, decimals: int) -> pd.Series | np.ndarray | float:
    """四舍五入 on floats: ties away from zero (not numpy's half-to-even); as is with ``--lean``."""
    if LEAN:
        return values
    scale = 10.0**decimals
    return np.sign(values) * np.floor(np.abs(values) * scale + 0.5) / scale


def settle_pandas(data_dir: Path, out_dir: Path) -> None:
    """Read DATA_DIR's inputs, settle the year, write the four result tables to OUT_DIR."""
    hospitals = pd.read_csv(data_dir / "hospitals.csv", dtype={"hospital_id": str})
    groups = pd.read_csv(data_dir / "drg_groups.csv", dtype={"drg_code": str})
    cases = pd.read_csv(data_dir / "cases.csv", dtype={"case_id": str, "hospital_id": str, "drg_code": str})
    for column in ("unreasonable_cost", "review_approved", "new_technology"):
        if column not in cases:
            cases[column] = 0
    if "basic" not in groups:
        groups["basic"] = 0
    reference_path = data_dir / "reference_cases.csv"
    if reference_path.exists():
        reference = pd.read_csv(reference_path, dtype={"drg_code": str, "hospital_id": str})
    else:  # 第十九条(五): the year's own cases
        reference = cases[["drg_code", "hospital_id", "total_cost"]]
    assessment = _optional_csv(data_dir / "assessment.csv", ["hospital_id", "coefficient"])
    deductions = _optional_csv(data_dir / "deductions.csv", ["hospital_id", "month", "amount", "points"])
    with (data_dir / "settlement.toml").open("rb") as f:
        settlement = tomllib.load(f)
    budget = float(settlement["drg_budget"])

    # 1–3. Reference statistics, weights, base points, stability, level coefficients.
    if "level" not in reference:
        reference = reference.merge(hospitals[["hospital_id", "level"]], on="hospital_id", how="left")
    reference = reference.dropna(subset=["drg_code"])
    n_all, sum_all = len(reference), reference["total_cost"].sum()
    by_drg = reference.groupby("drg_code")["total_cost"].agg(n_drg="count", sum_drg="sum").reset_index()
    by_level = (
        reference.groupby(["drg_code", "level"])["total_cost"]
        .agg(n_level="count", sum_level="sum")
        .reset_index()
    )
    groups = groups.merge(by_drg, on="drg_code", how="left")
    groups[["n_drg", "sum_drg"]] = groups[["n_drg", "sum_drg"]].fillna(0)
    computed_weight = round_half_up(groups["sum_drg"] * n_all / (groups["n_drg"] * sum_all), 8)
    groups["weight"] = groups["weight"].fillna(computed_weight)
    groups["base_points"] = round_half_up(groups["weight"] * 100, 8)

    # 4–5. Case classes and points.
    cases["month"] = pd.to_datetime(cases["discharge_date"], format="%Y-%m-%d").dt.month
    cases = cases.merge(hospitals[["hospital_id", "level"]], on="hospital_id", how="left")
    cases = cases.merge(
        groups[["drg_code", "base_points", "n_drg", "sum_drg", "basic"]], on="drg_code", how="left"
    )
    cases = cases.merge(by_level, on=["drg_code", "level"], how="left")
    stable = cases["n_drg"].fillna(0) > UNSTABLE_MAX_CASES
    basic = cases["basic"].fillna(0) == 1
    base = cases["base_points"]
    cases["cost"] = cases["total_cost"] - cases["unreasonable_cost"]
    level_coefficient = round_half_up(
        cases["sum_level"] * cases["n_drg"] / (cases["n_level"] * cases["sum_drg"]), 8
    )
    cases["coefficient"] = np.select(
        [~stable, basic, cases["n_level"].isna()],
        [1.0, BASIC_COEFFICIENT, MISSING_LEVEL_COEFFICIENT],
        default=level_coefficient,
    )
    threshold_n = cases["n_level"].fillna(cases["n_drg"])
    threshold_sum = cases["sum_level"].fillna(cases["sum_drg"])
    cases["high_multiple"] = np.select(
        [base <= bound for bound, _ in HIGH_RATIO_BANDS], [m for _, m in HIGH_RATIO_BANDS], HIGH_RATIO_ABOVE
    )
    whole = cases["drg_code"].isna() | ~stable | (cases["new_technology"] == 1)
    high = ~whole & (cases["cost"] * threshold_n > cases["high_multiple"] * threshold_sum)
    low = ~whole & ~high & (cases["cost"] * threshold_n < LOW_RATIO * threshold_sum)
    cases.loc[whole, "coefficient"] = 1.0
    cases["category"] = np.select([whole, high, low], ["whole_group", "high", "low"], "normal")

    normal_points = round_half_up(base * cases["coefficient"], 8)
    low_points = np.minimum(base, round_half_up(base * cases["cost"] * cases["n_drg"] / cases["sum_drg"], 8))
    extra_multiple = round_half_up(cases["cost"] * threshold_n / threshold_sum, 8) - cases["high_multiple"]
    approved = high & (cases["review_approved"] == 1)
    cases["extra_points"] = np.where(approved, round_half_up(extra_multiple * normal_points, 8), 0.0)
    whole_points = round_half_up(cases["cost"] * n_all / sum_all * 100, 8)
    cases["final_points"] = np.select(
        [whole, high, low], [whole_points, normal_points + cases["extra_points"], low_points], normal_points
    )
    cases["prepay_points"] = np.select(
        [whole, high],
        [round_half_up(cases["final_points"] * WHOLE_GROUP_PREPAY_RATIO, 8), normal_points],
        cases["final_points"],
    )

    # 年底入组 (000 篇6 第十八条(一)5): a case without a DRG waits for the year end: no monthly
    # prepayment points and none of its patient cash in its month.
    held = cases["drg_code"].isna()
    cases["prepay_points"] = np.where(held, 0.0, cases["prepay_points"])
    cases["month_cash"] = np.where(held, 0.0, cases["patient_cash"])

    # 6. Monthly budgets, point values, prepayments (as_written).
    monthly = pd.DataFrame({"month": range(1, 13)})
    monthly["budget"] = _split_budget(budget, settlement.get("monthly_shares"))
    month_points = cases.groupby("month")["prepay_points"].sum()
    monthly["total_points"] = monthly["month"].map(month_points).fillna(0.0)
    monthly["point_value"] = np.where(
        monthly["total_points"] > 0, round_half_up(monthly["budget"] / monthly["total_points"], 8), 0.0
    )
    per_month = (
        cases.groupby(["hospital_id", "month"])
        .agg(
            cases=("case_id", "size"),
            prepay_points=("prepay_points", "sum"),
            patient_cash=("month_cash", "sum"),
        )
        .reset_index()
    )
    deducted = (
        deductions.groupby(["hospital_id", "month"])
        .agg(audit_deduction=("amount", "sum"), deducted_points=("points", "sum"))
        .reset_index()
    )
    grid = pd.MultiIndex.from_product(
        [hospitals["hospital_id"], range(1, 13)], names=["hospital_id", "month"]
    )
    payments = grid.to_frame(index=False).merge(monthly[["month", "point_value"]], on="month")
    payments = payments.merge(per_month, on=["hospital_id", "month"], how="left")
    payments = payments.merge(deducted, on=["hospital_id", "month"], how="left")
    payments = payments.fillna(
        {c: 0 for c in ("cases", "prepay_points", "patient_cash", "audit_deduction", "deducted_points")}
    )
    payments["amount"] = (
        round_half_up(
            (payments["prepay_points"] * payments["point_value"] - payments["patient_cash"]) * PREPAY_RATIO, 2
        )
        - round_half_up(payments["deducted_points"] * payments["point_value"], 2)
        - payments["audit_deduction"]
    )

    # 7. Year-end settlement (point_value method, caps applied).
    cases["non_fund"] = cases["total_cost"] - cases["fund_paid"]
    per_hospital = cases.groupby("hospital_id").agg(
        final_points=("final_points", "sum"),
        total_cost=("total_cost", "sum"),
        fund_paid=("fund_paid", "sum"),
        patient_cash=("non_fund", "sum"),
        self_pay=("self_pay", "sum"),
    )
    paid = payments.groupby("hospital_id").agg(
        monthly_paid=("amount", "sum"),
        audit_deductions=("audit_deduction", "sum"),
        deducted_points=("deducted_points", "sum"),
    )
    annual = hospitals[["hospital_id"]].merge(per_hospital, on="hospital_id", how="left").fillna(0)
    annual = annual.merge(paid, on="hospital_id", how="left")
    annual = annual.merge(
        assessment.rename(columns={"coefficient": "assessment_coefficient"}), on="hospital_id", how="left"
    )
    annual["assessment_coefficient"] = annual["assessment_coefficient"].fillna(1.0)
    annual["year_points"] = annual["final_points"] - annual["deducted_points"]
    year_point_value = round_half_up(
        (annual["total_cost"].sum() - annual["fund_paid"].sum() + budget) / annual["year_points"].sum(), 8
    )
    annual["year_point_value"] = year_point_value
    annual["entitlement"] = round_half_up(
        annual["year_points"] * year_point_value * annual["assessment_coefficient"], 2
    )
    annual["surplus_cut"] = round_half_up(
        np.maximum(
            0.0, annual["entitlement"] - annual["total_cost"] - SURPLUS_CAP_RATIO * annual["total_cost"]
        ),
        2,
    )
    annual["self_pay_cut"] = round_half_up(
        np.maximum(0.0, annual["self_pay"] - SELF_PAY_CAP_RATIO * annual["total_cost"]), 2
    )
    annual["settlement"] = (
        annual["entitlement"]
        - annual["surplus_cut"]
        - annual["self_pay_cut"]
        - annual["patient_cash"]
        - annual["monthly_paid"]
        - annual["audit_deductions"]
    )

    if LEAN:  # the settlement is computed; the lean baseline writes nothing
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, frame, columns, order in (
        ("case_points", cases, CASE_POINTS_COLUMNS, ["case_id"]),
        ("monthly", monthly, MONTHLY_COLUMNS, ["month"]),
        ("monthly_payments", payments, MONTHLY_PAYMENTS_COLUMNS, ["hospital_id", "month"]),
        ("annual", annual, ANNUAL_COLUMNS, ["hospital_id"]),
    ):
        # Float sums carry noise in the last bits: print money to the fen, points to 8 decimals.
        decimals = {c: 2 if c in MONEY_COLUMNS else 8 for c in columns if frame[c].dtype.kind == "f"}
        frame[columns].sort_values(order).round(decimals).to_csv(out_dir / f"{name}.csv", index=False)


def _optional_csv(path: Path, columns: list[str]) -> pd.DataFrame:
    if path.exists():
        return pd.read_csv(path, dtype={"hospital_id": str})
    return pd.DataFrame({c: pd.Series(dtype=str if c == "hospital_id" else float) for c in columns})


def _split_budget(budget: float, shares: list[str] | None) -> list[float]:
    """Monthly budgets: budget × share, in fen, leftover fen to the largest remainders."""
    weights = np.array([float(s) for s in shares]) if shares else np.ones(12)
    budget_fen = round(budget * 100)
    exact = budget_fen * weights / weights.sum()
    fen = np.floor(exact)
    leftover = int(budget_fen - fen.sum())
    order = np.argsort(-(exact - fen), kind="stable")
    fen[order[:leftover]] += 1
    return list(fen / 100)


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4) or sys.argv[3:] not in ([], ["--lean"]):
        sys.exit("usage: python bench/pandas_drg.py DATA_DIR OUT_DIR [--lean]")
    settle_pandas(Path(sys.argv[1]), Path(sys.argv[2]))
