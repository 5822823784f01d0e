"""``shidian demo generate``: a DRG region in OUT_DIR, a county in OUT_DIR/insurance and its 医共体 in OUT_DIR/capitation."""

from __future__ import annotations

import csv
from pathlib import Path

from typer.testing import CliRunner

from shidian.cli import app

runner = CliRunner()


def test_generate_writes_a_region_and_a_county_that_the_batches_take(tmp_path: Path):
    data = tmp_path / "data"
    made = runner.invoke(
        app, ["demo", "generate", str(data), "--cases", "300", "--hospitals", "5", "--persons", "300"]
    )
    assert made.exit_code == 0, made.output
    assert {"insurance/persons.csv", "insurance/claims.csv"} <= {
        str(p.relative_to(data)) for p in data.rglob("*.csv")
    }
    settled = runner.invoke(
        app, ["drg", "settle", str(data), "--out", str(tmp_path / "drg"), "--policy", "guigang-2020"]
    )
    assert settled.exit_code == 0, settled.output
    reimbursed = runner.invoke(
        app,
        [
            "insurance",
            "reimburse",
            str(data / "insurance"),
            "--out",
            str(tmp_path / "ins"),
            "--policy",
            "demo-county-2020",
        ],
    )
    assert reimbursed.exit_code == 0, reimbursed.output
    with (tmp_path / "ins" / "claims_out.csv").open(encoding="utf-8") as handle:
        priced = list(csv.DictReader(handle))
    with (data / "insurance" / "claims.csv").open(encoding="utf-8") as handle:
        assert len(priced) == sum(1 for _ in csv.DictReader(handle)) > 300


def test_generate_only_the_county_and_refuses_too_few(tmp_path: Path):
    county = runner.invoke(app, ["demo", "generate", str(tmp_path / "c"), "--cases", "0", "--persons", "200"])
    assert county.exit_code == 0, county.output
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["capitation", "insurance"]
    few = runner.invoke(app, ["demo", "generate", str(tmp_path / "few"), "--persons", "50"])
    assert few.exit_code == 2 and "--persons" in few.output
    assert not (tmp_path / "few").exists()
