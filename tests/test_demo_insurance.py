"""The demo county: deterministic, valid ID numbers, every feature present, settles cleanly."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pyarrow.compute as pc

from shidian.demo.insurance import build_county, generate_insurance_county
from shidian.insurance.batch import reimburse
from shidian.insurance.id_number import id_number_error
from shidian.insurance.io import read_inputs
from shidian.insurance.model import CATEGORIES
from tests.insurance.helpers import insurance_policy


def test_same_seed_same_files(tmp_path: Path):
    first = generate_insurance_county(tmp_path / "a", persons=400, seed=7)
    second = generate_insurance_county(tmp_path / "b", persons=400, seed=7)
    assert first == second and first["persons.csv"] == 400
    for name in first:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_county_is_realistic_and_valid():
    tables = build_county(persons=5000, seed=11, year=2010)
    people = tables["persons"]
    assert all(id_number_error(n) is None for n in people.column("id_number").to_pylist())
    assert len(set(people.column("id_number").to_pylist())) == people.num_rows
    assert set(people.column("category").to_pylist()) <= set(CATEGORIES)
    assert {"general", "dibao", "wubao", "disabled"} <= set(people.column("category").to_pylist())
    assert all(len(c) == 12 and c.isdigit() for c in tables["villages"].column("village_code").to_pylist())
    institutions = tables["institutions"]
    assert set(institutions.column("level").to_pylist()) == {1, 2, 3}
    assert (
        0 in institutions.column("designated").to_pylist()
        and 0 in institutions.column("in_county").to_pylist()
    )
    claims = tables["claims"]
    assert claims.num_rows > 2 * people.num_rows
    assert pc.sum(pc.is_valid(claims.column("transfer_of"))).as_py() > 0
    assert set(claims.column("delivery").drop_null().to_pylist()) == {"normal", "pathological"}
    assert pc.sum(pc.is_valid(claims.column("chronic_disease"))).as_py() > 0
    assert (
        pc.sum(claims.column("certificate")).as_py() > 0
        and pc.sum(claims.column("cataract_eyes")).as_py() > 0
    )
    assert tables["prior_year"].num_rows > 0


def test_demo_county_settles_with_every_check_passing(tmp_path: Path):
    generate_insurance_county(tmp_path, persons=3000, seed=3)
    inputs, problems, _ = read_inputs(tmp_path)
    assert inputs is not None, problems[:5]
    result, problems = reimburse(inputs, insurance_policy())
    assert result is not None, problems[:5]
    assert result.ok, [c for c in result.checks if not c.ok]
    t = result.totals
    assert 0 < int(t["rejected"]) < int(t["paid"])
    assert Decimal("0.5") < Decimal(t["use_ratio"]) < Decimal("1.5")  # roughly 以收定支
    assert int(t["health_checks"]) > 0
