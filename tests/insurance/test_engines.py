"""The resident-insurance batch on Spark writes the same files as on DuckDB, byte for byte (issue 21).

Two implementations of the claim frame run the one pricing text (``claims._price``): on DuckDB
the positional frame (``frame.claim_frame``: row positions and a numpy sort, the fast path of
``bench/insurance.py``), on any ``Engine`` the joined frame (``frame.JoinedFrame``: lookups as
joins on ids, ``ord`` a ``row_number`` window, every step joined back on the row id), which is
what Spark runs. A hypothesis property pins the two together on DuckDB under every shipped
policy, also after a prior state; a generated county is then reimbursed on both engines and
every output file compared byte for byte. The Spark tests run on a real local Spark (the
session fixture in tests/conftest.py), skipped without Java.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shidian.demo.insurance import generate_insurance_county
from shidian.dialect import DuckDBEngine
from shidian.insurance.batch_files import reimburse_files
from shidian.insurance.claims import price_claims, state_after
from shidian.insurance.model import claims_table
from shidian.insurance.policy import POLICIES
from tests.insurance.helpers import CITY_TIERS, COUNTY_FLOOR, GENERAL_FEE, INSTITUTIONS, insurance_policy
from tests.insurance.test_invariants import years
from tests.properties import property_settings

POOLED = "county-2010 (户内共享)"
BASES = ("county-2010", GENERAL_FEE, CITY_TIERS, COUNTY_FLOOR, POOLED)
POLICY_OF = {base: insurance_policy(base) for base in BASES if base != POOLED} | {
    POOLED: insurance_policy(**{"outpatient.cap_scope": '"household"'})  # the household's outpatient cap
}


@property_settings(30)
@given(years(), st.sampled_from(BASES), st.integers(0, 7))
def test_the_joined_frame_prices_like_the_positional_frame(year, base, split):
    """Claim by claim, every column and type: the SQL path (joins on row ids, window functions)
    equals the positional fast path, also for claims priced after the state of earlier ones
    (prior cap usage, episodes that a transfer continues)."""
    people, rows = year
    policy = POLICY_OF[base]
    if base == POOLED:  # one household: its members share the outpatient cap
        column = people.schema.get_field_index("household_id")
        people = people.set_column(column, "household_id", pa.array(["H1"] * people.num_rows, pa.string()))
    split = min(split, len(rows) - 1)
    earlier, claims = rows[:split], claims_table(rows[split:])
    prior = (
        state_after(price_claims(claims_table(earlier), people, INSTITUTIONS, policy)) if earlier else None
    )
    fast = price_claims(claims, people, INSTITUTIONS, policy, prior)
    for engine in (DuckDBEngine(), SparkTextOnDuckDB()):
        joined = price_claims(claims, people, INSTITUTIONS, policy, prior, engine=engine)
        assert joined.schema == fast.schema
        assert joined.to_pylist() == fast.to_pylist(), engine.dialect


class SparkTextOnDuckDB(DuckDBEngine):
    """DuckDB running the text written for Spark (the trail joined by ``concat_ws('', …)``,
    not ``concat``): the Spark text gives the same rows under every policy, without starting
    Spark; how Spark itself reads it is the byte-for-byte test's below."""

    dialect = "spark"


#: A year of one person that the generator does not draw: a stay, a transfer up to a city
#: hospital continuing it (one deductible per episode), a second county-level stay of another
#: illness (the county rule), and four visits of one day (once a day, the monthly limit).
STORY = """\
Z001,P0000001,I00004,inpatient,2010-03-01,2010-03-10,8000.00,500.00,0,0,0,0,0,,0,0,,0,0,,0,0,3000.00,0,,
Z002,P0000001,I00007,inpatient,2010-03-10,2010-03-20,20000.00,800.00,0,0,0,0,0,,0,0,Z001,0,1,,0,0,9000.00,0,,
Z003,P0000001,I00005,inpatient,2010-06-01,2010-06-05,5000.00,100.00,0,0,0,0,0,,0,0,,0,0,,0,0,2000.00,0,,
Z004,P0000001,I00003,outpatient,2010-04-02,2010-04-02,60.00,0,0,0,0,0,0,,0,0,,0,0,,0,0,20.00,0,,
Z005,P0000001,I00003,outpatient,2010-04-02,2010-04-02,35.00,0,0,0,0,0,0,,0,0,,0,0,,0,0,20.00,0,,
Z006,P0000001,I00001,outpatient,2010-04-02,2010-04-02,15.00,0,0,0,0,0,0,,0,0,,0,0,,0,0,5.00,0,,
Z007,P0000001,I00003,outpatient,2010-04-09,2010-04-09,150.00,0,0,0,0,0,0,,0,0,,0,0,,0,0,50.00,0,,
"""


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated county of 300 insured (about 650 claims, paid and rejected) and ``STORY``."""
    folder = tmp_path_factory.mktemp("county")
    generate_insurance_county(folder, persons=300, seed=21, year=2010)
    with (folder / "claims.csv").open("a", encoding="utf-8") as claims:
        claims.write(STORY)
    return folder


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("policy", ["county-2010", COUNTY_FLOOR])
def test_spark_writes_the_duckdb_files_byte_for_byte(spark, county, tmp_path, policy):
    loaded, problems = POLICIES.load(policy, None)
    assert loaded is not None, problems
    outputs = {}
    for engine in ("duckdb", "spark"):
        outcome = reimburse_files(county, tmp_path / engine, loaded, engine=engine)
        assert outcome.record is not None, outcome.problems
        outputs[engine] = _files(tmp_path / engine)
    assert {"claims_out.csv", "run.json"} <= set(outputs["duckdb"])
    assert outputs["spark"].keys() == outputs["duckdb"].keys()
    different = [name for name in outputs["duckdb"] if outputs["duckdb"][name] != outputs["spark"][name]]
    assert different == []
    # the windows are exercised, not only single claims
    claims = outputs["duckdb"]["claims_out.csv"].decode()
    assert all(f",{rule}," in claims for rule in ("transfer", "county_repeat", "rejected", "standard"))


def test_a_refused_spark_session_is_a_problem_and_writes_nothing(county, tmp_path, monkeypatch):
    """The engine's refusal (tests/test_spark.py) becomes insurance.engine.spark_settings."""
    from shidian.dialect import SparkSettingsError
    from shidian.insurance import batch_files

    def refuse(master: str | None) -> None:
        raise SparkSettingsError("spark.sql.decimalOperations.allowPrecisionLoss=true")

    monkeypatch.setattr(batch_files, "spark_session", refuse)
    loaded, _ = POLICIES.load("county-2010", None)
    assert loaded is not None
    outcome = batch_files.reimburse_files(county, tmp_path / "out", loaded, engine="spark")
    assert outcome.result is None and outcome.record is None
    assert [p.code for p in outcome.problems] == ["insurance.engine.spark_settings"]
    assert "allowPrecisionLoss" in outcome.problems[0].message
    assert not (tmp_path / "out").exists()
