"""The synthetic DRG region (shidian.demo.drg): documented layout, determinism, money invariants.

Headers are written out here from docs/drg.md "Inputs", not imported from the generator, so a
drift between the two fails. Amounts are read with csv + Decimal, never float.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import re
import tomllib
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from types import ModuleType

import pytest

from shidian.demo.drg import generate_drg_region

CASES = 5_000
HOSPITALS = 12
SEED = 7
YEAR = 2020

HEADERS = {
    "hospitals.csv": ["hospital_id", "name", "level"],
    "drg_groups.csv": ["drg_code", "name", "weight", "basic"],
    "cases.csv": [
        "case_id",
        "hospital_id",
        "discharge_date",
        "drg_code",
        "total_cost",
        "fund_paid",
        "patient_cash",
        "self_pay",
        "unreasonable_cost",
        "review_approved",
        "new_technology",
    ],
    "assessment.csv": ["hospital_id", "coefficient"],
    "deductions.csv": ["hospital_id", "month", "amount", "points"],
    "reference_cases.csv": ["drg_code", "hospital_id", "total_cost"],
}
ALL_FILES = sorted([*HEADERS, "settlement.toml"])
BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("region")
    counts = generate_drg_region(out, cases=CASES, hospitals=HOSPITALS, seed=SEED, year=YEAR)
    return out, counts


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def money(text: str) -> Decimal:
    """An amount as written: yuan with exactly two decimals."""
    assert re.fullmatch(r"-?\d+\.\d{2}", text), text
    return Decimal(text)


def test_files_have_the_documented_headers_and_the_returned_counts(
    region: tuple[Path, dict[str, int]],
) -> None:
    out, counts = region
    assert sorted(p.name for p in out.iterdir()) == ALL_FILES
    assert counts == {name: len(read_rows(out / name)) for name in HEADERS}
    for name, header in HEADERS.items():
        first_line = (out / name).read_text(encoding="utf-8").split("\n", 1)[0]
        assert first_line == ",".join(header), name
    assert counts["cases.csv"] == CASES
    assert counts["hospitals.csv"] == counts["assessment.csv"] == HOSPITALS
    assert 0.9 * CASES <= counts["reference_cases.csv"] <= CASES
    assert 24 <= counts["deductions.csv"] <= 60


def test_same_seed_gives_identical_bytes_and_another_seed_differs(
    region: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    out, _ = region
    generate_drg_region(tmp_path / "again", cases=CASES, hospitals=HOSPITALS, seed=SEED, year=YEAR)
    generate_drg_region(tmp_path / "other", cases=CASES, hospitals=HOSPITALS, seed=SEED + 1, year=YEAR)
    for name in ALL_FILES:
        assert (tmp_path / "again" / name).read_bytes() == (out / name).read_bytes(), name
    assert (tmp_path / "other" / "cases.csv").read_bytes() != (out / "cases.csv").read_bytes()
    assert (tmp_path / "other" / "hospitals.csv").read_bytes() != (out / "hospitals.csv").read_bytes()


def test_settlement_shares_sum_exactly_to_one_and_budget_follows_fund(
    region: tuple[Path, dict[str, int]],
) -> None:
    out, _ = region
    settlement = tomllib.loads((out / "settlement.toml").read_text(encoding="utf-8"))
    assert settlement["year"] == YEAR
    shares = [Decimal(s) for s in settlement["monthly_shares"]]
    assert len(shares) == 12
    assert all(isinstance(s, str) and re.fullmatch(r"0\.\d{4}", s) for s in settlement["monthly_shares"])
    assert sum(shares, Decimal(0)) == Decimal(1)
    assert max(shares[0], shares[11]) > max(shares[5:8])  # winter peak
    fund = sum((money(r["fund_paid"]) for r in read_rows(out / "cases.csv")), Decimal(0))
    budget = money(settlement["drg_budget"])
    assert budget == (fund * Decimal("0.97")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def test_case_amounts_are_exact_and_consistent(region: tuple[Path, dict[str, int]]) -> None:
    out, _ = region
    for row in read_rows(out / "cases.csv"):
        total, fund, cash = money(row["total_cost"]), money(row["fund_paid"]), money(row["patient_cash"])
        self_pay, unreasonable = money(row["self_pay"]), money(row["unreasonable_cost"])
        assert total > 0 and fund >= 0 and cash >= 0 and self_pay >= 0 and unreasonable >= 0, row
        assert fund + cash <= total, row
        assert self_pay <= total and unreasonable <= total, row
        assert row["review_approved"] in ("0", "1") and row["new_technology"] in ("0", "1"), row


def test_case_ids_are_unique_and_discharges_fall_in_the_year(region: tuple[Path, dict[str, int]]) -> None:
    out, _ = region
    rows = read_rows(out / "cases.csv")
    ids = [r["case_id"] for r in rows]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(rf"{YEAR}\d{{9}}", i) for i in ids)
    dates = [dt.date.fromisoformat(r["discharge_date"]) for r in rows]
    assert all(d.year == YEAR for d in dates)
    assert len({d.month for d in dates}) == 12


def test_rule_triggers_are_present(region: tuple[Path, dict[str, int]]) -> None:
    """Ungroupable cases, basic groups, unstable groups, both kinds of weight, all levels."""
    out, _ = region
    groups = read_rows(out / "drg_groups.csv")
    codes = {g["drg_code"] for g in groups}
    assert len(codes) == len(groups)
    assert all(re.fullmatch(r"[A-Z]{2}\d{2}", c) for c in codes)
    assert any(g["basic"] == "1" for g in groups)
    assert {g["basic"] for g in groups} == {"0", "1"}
    weights = [g["weight"] for g in groups]
    assert "" in weights
    assert all(re.fullmatch(r"\d+\.\d{1,4}", w) for w in weights if w)

    cases = read_rows(out / "cases.csv")
    assert any(r["drg_code"] == "" for r in cases)  # ungroupable
    assert {r["drg_code"] for r in cases} - {""} <= codes
    assert any(r["new_technology"] == "1" for r in cases)

    reference = read_rows(out / "reference_cases.csv")
    per_group = Counter(r["drg_code"] for r in reference if r["drg_code"])
    assert set(per_group) <= codes
    assert any(per_group[c] <= 5 for c in codes)  # unstable (不稳定病组)

    hospitals = read_rows(out / "hospitals.csv")
    levels = Counter(h["level"] for h in hospitals)
    assert set(levels) == {"1", "2", "3"}
    assert levels["1"] > levels["3"]
    assert {r["hospital_id"] for r in cases} <= {h["hospital_id"] for h in hospitals}


def test_assessment_and_deductions_are_in_range(region: tuple[Path, dict[str, int]]) -> None:
    out, _ = region
    hospital_ids = {h["hospital_id"] for h in read_rows(out / "hospitals.csv")}
    coefficients = [Decimal(r["coefficient"]) for r in read_rows(out / "assessment.csv")]
    assert all(Decimal("0.95") <= c <= 1 for c in coefficients)
    for row in read_rows(out / "deductions.csv"):
        assert row["hospital_id"] in hospital_ids
        assert 1 <= int(row["month"]) <= 12
        assert money(row["amount"]) > 0 and Decimal(row["points"]) >= 0


def test_tiny_region_and_bad_arguments(tmp_path: Path) -> None:
    counts = generate_drg_region(tmp_path, cases=100, hospitals=3, seed=1)
    assert counts["cases.csv"] == 100 and counts["hospitals.csv"] == 3
    with pytest.raises(ValueError, match="hospitals"):
        generate_drg_region(tmp_path, cases=100, hospitals=2, seed=1)
    with pytest.raises(ValueError, match="cases"):
        generate_drg_region(tmp_path, cases=0, hospitals=3, seed=1)


def load_pandas_reference() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pandas_drg", BENCH / "pandas_drg.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pandas_reference_settles_the_region(region: tuple[Path, dict[str, int]], tmp_path: Path) -> None:
    out, _ = region
    pandas_drg = load_pandas_reference()
    pandas_drg.settle_pandas(out, tmp_path)
    expected = {
        "case_points.csv": (pandas_drg.CASE_POINTS_COLUMNS, CASES),
        "monthly.csv": (pandas_drg.MONTHLY_COLUMNS, 12),
        "monthly_payments.csv": (pandas_drg.MONTHLY_PAYMENTS_COLUMNS, 12 * HOSPITALS),
        "annual.csv": (pandas_drg.ANNUAL_COLUMNS, HOSPITALS),
    }
    compared = {  # the columns bench/drg_settle.py compares with the engine's outputs
        "case_points.csv": {"case_id", "category", "final_points"},
        "monthly.csv": {"month", "point_value"},
        "monthly_payments.csv": {"hospital_id", "month", "amount"},
        "annual.csv": {"hospital_id", "settlement"},
    }
    for name, (columns, n_rows) in expected.items():
        rows = read_rows(tmp_path / name)
        assert list(rows[0]) == columns, name
        assert compared[name] <= set(columns), name
        assert len(rows) == n_rows, name
    categories = Counter(r["category"] for r in read_rows(tmp_path / "case_points.csv"))
    assert set(categories) == {"normal", "high", "low", "whole_group"}
