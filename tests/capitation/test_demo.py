"""The demo county's two 医共体: consistent with the county, deterministic, and settled from its claims."""

from __future__ import annotations

import csv
from pathlib import Path

from typer.testing import CliRunner

from shidian.cli import app
from shidian.demo.capitation import generate_capitation_county
from shidian.demo.insurance import generate_insurance_county

runner = CliRunner()


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_two_communities_led_by_the_county_hospitals_settle_from_the_county_run(tmp_path: Path):
    county = tmp_path / "insurance"
    generate_insurance_county(county, persons=4000, seed=9, year=2010)
    first = generate_capitation_county(county, tmp_path / "cap", seed=9)
    generate_capitation_county(county, tmp_path / "cap2", seed=9)
    for name in first:
        assert (tmp_path / "cap" / name).read_bytes() == (tmp_path / "cap2" / name).read_bytes(), name

    institutions = {r["institution_id"]: r["name"] for r in _rows(county / "institutions.csv")}
    leads = {
        r["community_id"]: institutions[r["lead_institution_id"]]
        for r in _rows(tmp_path / "cap" / "communities.csv")
    }
    assert leads == {"A": "县人民医院", "B": "县中医院"}  # 001 第十七篇 四(一)2
    members = _rows(tmp_path / "cap" / "members.csv")
    assert all(m["institution_id"] in institutions for m in members)
    villages = {r["village_code"] for r in _rows(county / "villages.csv")}
    mapped = {r["village_code"]: r["community_id"] for r in _rows(tmp_path / "cap" / "villages.csv")}
    assert set(mapped) == villages and set(mapped.values()) == {"A", "B"}
    clinics = {
        m["name"].rsplit(" (", 1)[1].rstrip(")"): m["community_id"] for m in members if m["tier"] == "village"
    }
    assert clinics == mapped  # each village's clinic is a member of the 医共体 its village belongs to

    run = tmp_path / "run"
    assert runner.invoke(app, ["insurance", "reimburse", str(county), "--out", str(run)]).exit_code == 0
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "capitation",
            "settle",
            str(tmp_path / "cap"),
            "--out",
            str(out),
            "--policy",
            "county-2010",
            "--claims",
            str(run),
        ],
    )
    assert result.exit_code == 0, result.output
    insured = sum(int(r["insured"]) for r in _rows(out / "settlement.csv"))
    persons = _rows(county / "persons.csv")
    assert insured == sum(int(p["insured"]) for p in persons)
    due = sorted({r["due_on"] for r in _rows(out / "prepayments.csv")})
    assert due == [
        "2010-01-15",
        "2010-04-15",
        "2010-07-14",
        "2010-10-20",
    ]  # 2010 calendar, 国办发明电〔2009〕19号
