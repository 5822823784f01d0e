"""End to end: a resident-insurance run → the 医共体 year end (``--claims RUN_DIR`` + ``villages``).

The spending of a 医共体 is the fund's paid reimbursements of the insured of its villages; the
expected sums are computed here from ``claims_out.csv`` and ``persons.csv``, not from the file
the capitation run reads (``notice_villages.csv``).
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from shidian.capitation.policy import POLICIES
from shidian.cli import app
from shidian.demo.insurance import generate_insurance_county

runner = CliRunner()


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def test_capitation_from_a_resident_insurance_run(tmp_path):
    county = tmp_path / "county"
    generate_insurance_county(county, persons=1500, seed=5, year=2010)
    run = tmp_path / "insurance-run"
    result = runner.invoke(app, ["insurance", "reimburse", str(county), "--out", str(run), "--json"])
    assert result.exit_code == 0, result.output

    villages = [r["village_code"] for r in _rows(county / "villages.csv")]
    half = len(villages) // 2
    community = {v: ("A" if i < half else "B") for i, v in enumerate(villages)}
    data = tmp_path / "data"
    data.mkdir()
    _write(
        data / "fund.toml",
        "year = 2010\nfunding_total = 300000\nfunding_last_year = 250000\ncatastrophic = 20000\naccident = 5000\n",
    )
    _write(data / "communities.csv", "community_id,name,lead_institution_id\nA,甲医共体,A1\nB,乙医共体,B1\n")
    _write(
        data / "members.csv",
        "institution_id,name,community_id,tier\nA1,甲县医院,A,县级\nA2,甲乡镇,A,乡镇\nA3,甲村,A,村\n"
        "B1,乙县医院,B,县级\nB2,乙乡镇,B,乡镇\nB3,乙村,B,村\n",
    )
    _write(data / "scores.csv", "institution_id,score\nA1,90\nA2,80\nA3,70\nB1,90\nB2,80\nB3,70\n")
    _write(
        data / "villages.csv",
        "village_code,community_id\n" + "".join(f"{v},{c}\n" for v, c in community.items()),
    )
    policy = tmp_path / "county-2010.toml"
    text = POLICIES.text("langxi-2020").replace("effective_from = 2020-01-01", "effective_from = 2010-01-01")
    _write(policy, text.replace("effective_to = 2020-12-31", "effective_to = 2010-12-31"))

    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "capitation",
            "settle",
            str(data),
            "--out",
            str(out),
            "--policy-file",
            str(policy),
            "--claims",
            str(run),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output

    village_of = {r["person_id"]: r["village_code"] for r in _rows(county / "persons.csv")}
    paid: dict[str, Decimal] = defaultdict(Decimal)
    for claim in _rows(run / "claims_out.csv"):
        if claim["status"] == "paid":
            paid[community[village_of[claim["person_id"]]]] += Decimal(claim["reimbursement"])
    insured: dict[str, int] = defaultdict(int)
    for person in _rows(county / "persons.csv"):
        if person["insured"] == "1":
            insured[community[person["village_code"]]] += 1
    settlement = {r["community_id"]: r for r in _rows(out / "settlement.csv")}
    for cid in ("A", "B"):
        assert Decimal(settlement[cid]["spending"]) == paid[cid]
        assert int(settlement[cid]["insured"]) == insured[cid]
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert (
        record["inputs"]["notice_villages.csv"]["run_id"]
        == json.loads((run / "run.json").read_text())["run_id"]
    )


def test_an_unmapped_village_and_a_spending_table_are_refused(tmp_path):
    county = tmp_path / "county"
    generate_insurance_county(county, persons=300, seed=3, year=2010)
    run = tmp_path / "run"
    assert runner.invoke(app, ["insurance", "reimburse", str(county), "--out", str(run)]).exit_code == 0
    villages = [r["village_code"] for r in _rows(county / "villages.csv")]
    data = tmp_path / "data"
    data.mkdir()
    _write(
        data / "fund.toml",
        "year = 2020\nfunding_total = 300000\nfunding_last_year = 250000\ncatastrophic = 0\naccident = 0\n",
    )
    _write(data / "communities.csv", "community_id,name,lead_institution_id\nA,甲,A1\n")
    _write(data / "members.csv", "institution_id,name,community_id,tier\nA1,甲县医院,A,县级\n")
    _write(data / "scores.csv", "institution_id,score\nA1,90\n")
    _write(data / "spending.csv", "community_id,fund_paid\nA,1\n")
    _write(data / "villages.csv", f"village_code,community_id\n{villages[0]},A\n999999999999,Q\n")
    result = runner.invoke(
        app, ["capitation", "settle", str(data), "--out", str(tmp_path / "o"), "--claims", str(run), "--json"]
    )
    assert result.exit_code == 1
    codes = {p["code"] for p in json.loads(result.output)["problems"]}
    assert codes >= {
        "capitation.claims.spending_too",
        "capitation.villages.unknown_community",
        "capitation.villages.unmapped",
        "capitation.claims.other_year",
    }
    assert not (tmp_path / "o").exists()
