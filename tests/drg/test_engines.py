"""The DRG settlement on Spark writes the same files as on DuckDB, byte for byte (issue 21).

A small generated region (the demo generator) is settled under both reference policies on both
engines and every output file is compared byte for byte: guigang-2020 from CSV inputs with
reference cases, shanwei-2021 from the year's own cases (第十九条(五), no reference file) read
from a Parquet folder as Spark writes it. Runs on a real local Spark (the session fixture in
tests/conftest.py), skipped without Java.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from shidian.demo.drg import generate_drg_region
from shidian.drg.io import read_inputs
from shidian.drg.service import settle_folder

#: The outputs that name no input file (warnings.csv, report.xlsx and run.json cite cases.csv or cases.parquet).
RESULTS = (
    "annual.csv",
    "case_points.csv",
    "coefficients.csv",
    "drg_standards.csv",
    "monthly.csv",
    "monthly_payments.csv",
)


@pytest.fixture(scope="module")
def regions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``csv``: a generated region; ``own``: without reference cases; ``parquet``: ``own`` with
    its cases as a folder of two Parquet parts."""
    root = tmp_path_factory.mktemp("regions")
    csv = root / "csv"
    generate_drg_region(csv, cases=300, hospitals=4, seed=21)
    own = root / "own"
    shutil.copytree(csv, own)
    (own / "reference_cases.csv").unlink()
    parquet = root / "parquet"
    shutil.copytree(own, parquet)
    inputs, problems, _ = read_inputs(csv)
    assert inputs is not None, problems
    cases = inputs.cases.drop_columns(["_row"])
    (parquet / "cases.parquet").mkdir()
    half = cases.num_rows // 2
    pq.write_table(cases.slice(0, half), parquet / "cases.parquet" / "part-00000.parquet")
    pq.write_table(cases.slice(half), parquet / "cases.parquet" / "part-00001.parquet")
    (parquet / "cases.parquet" / "_SUCCESS").write_bytes(b"")
    (parquet / "cases.csv").unlink()
    no_cases = root / "no_cases"  # the cases elsewhere: a URI (--cases)
    shutil.copytree(parquet, no_cases)
    shutil.move(no_cases / "cases.parquet", root / "lake.parquet")
    return {"csv": csv, "own": own, "parquet": parquet, "no_cases": no_cases, "lake": root / "lake.parquet"}


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_parquet_cases_settle_like_csv(regions, tmp_path):
    """The same cases as CSV or as a Parquet folder give the same results (DuckDB)."""
    outputs = []
    for name in ("own", "parquet"):
        settled, problems = settle_folder(regions[name], tmp_path / name, "shanwei-2021")
        assert settled is not None, problems
        outputs.append(_files(tmp_path / name))
    assert [outputs[0][n] == outputs[1][n] for n in RESULTS] == [True] * len(RESULTS)
    assert "cases.parquet" in outputs[1]["run.json"].decode()


@pytest.mark.parametrize(("policy", "region"), [("guigang-2020", "csv"), ("shanwei-2021", "parquet")])
def test_spark_writes_the_duckdb_files_byte_for_byte(spark, regions, tmp_path, policy, region):
    outputs = {}
    for engine in ("duckdb", "spark"):
        settled, problems = settle_folder(regions[region], tmp_path / engine, policy, engine=engine)
        assert settled is not None, problems
        outputs[engine] = _files(tmp_path / engine)
    assert {*RESULTS, "warnings.csv", "report.xlsx", "run.json"} <= set(outputs["duckdb"])
    assert outputs["spark"].keys() == outputs["duckdb"].keys()
    different = [name for name in outputs["duckdb"] if outputs["duckdb"][name] != outputs["spark"][name]]
    assert different == []
    # the region exercises the year-end grouping and the level coefficients, not only the normal path
    warnings = outputs["duckdb"]["warnings.csv"].decode()
    assert "drg.case.year_end_grouping" in warnings and "drg.coefficient.level_inversion" in warnings


def test_a_refused_spark_session_is_a_problem_and_writes_nothing(regions, tmp_path, monkeypatch):
    """The service turns the engine's refusal (tests/test_spark.py) into drg.engine.spark_settings."""
    from shidian.dialect import SparkSettingsError
    from shidian.drg.service import settle as service

    def refuse(master: str | None) -> None:
        raise SparkSettingsError("spark.sql.decimalOperations.allowPrecisionLoss=true")

    monkeypatch.setattr(service, "spark_session", refuse)
    settled, problems = settle_folder(regions["csv"], tmp_path / "out", "guigang-2020", engine="spark")
    assert settled is None
    assert [p.code for p in problems] == ["drg.engine.spark_settings"]
    assert "allowPrecisionLoss" in problems[0].message
    assert not (tmp_path / "out").exists()


def _per_scheme_region(source: Path, folder: Path) -> Path:
    """``source`` with a scheme on every case and deduction (two 职工 to one 居民) and the DRG
    budget given per scheme (000 篇6 第六条), the monthly shares kept."""
    shutil.copytree(source, folder)
    for name in ("cases.csv", "deductions.csv"):
        lines = (folder / name).read_text(encoding="utf-8").splitlines()
        named = [f"{line},{'职工' if i % 3 else '居民'}" for i, line in enumerate(lines[1:])]
        (folder / name).write_text("\n".join([lines[0] + ",险种", *named]) + "\n", encoding="utf-8")
    shares = next(
        line
        for line in (folder / "settlement.toml").read_text(encoding="utf-8").splitlines()
        if line.startswith("monthly_shares")
    )
    (folder / "settlement.toml").write_text(
        f'year = 2020\n{shares}\n[fund_budget.employee]\npooled_budget = "1800000.00"\n'
        '[fund_budget.resident]\npooled_budget = "921302.50"\n',
        encoding="utf-8",
    )
    return folder


def test_spark_writes_the_duckdb_files_with_per_scheme_point_values(spark, regions, tmp_path):
    """schemes.point_value = "per_scheme": each scheme's point values on both engines, the same bytes."""
    from tests.drg.test_scheme_values import policy_file

    data = _per_scheme_region(regions["csv"], tmp_path / "in")
    outputs = {}
    for engine in ("duckdb", "spark"):
        settled, problems = settle_folder(
            data, tmp_path / engine, "guigang-2020", policy_file(tmp_path), engine=engine
        )
        assert settled is not None, problems
        assert settled.result.ok, [c for c in settled.result.checks if not c.ok]
        outputs[engine] = _files(tmp_path / engine)
    assert outputs["spark"].keys() == outputs["duckdb"].keys()
    assert [n for n in outputs["duckdb"] if outputs["duckdb"][n] != outputs["spark"][n]] == []
    assert outputs["duckdb"]["monthly.csv"].decode().splitlines()[0].endswith(",scheme")
    assert "scheme.resident.year_point_value" in outputs["duckdb"]["run.json"].decode()


def test_cases_from_a_file_uri_settle_like_the_folder(regions, tmp_path):
    """``--cases file:///…``: the cases read from a URI (here by pyarrow) are checked like a
    Parquet file of DATA_DIR and settle alike; run.json names the URI and hashes the cases."""
    uri = regions["lake"].as_uri()
    assert uri.startswith("file:///")
    settled, problems = settle_folder(regions["parquet"], tmp_path / "folder", "shanwei-2021")
    assert settled is not None, problems
    settled, problems = settle_folder(regions["no_cases"], tmp_path / "uri", "shanwei-2021", cases_uri=uri)
    assert settled is not None, problems
    folder, from_uri = _files(tmp_path / "folder"), _files(tmp_path / "uri")
    assert [folder[n] == from_uri[n] for n in RESULTS] == [True] * len(RESULTS)
    inputs = json.loads(from_uri["run.json"])["inputs"]
    assert inputs[uri]["rows"] == 300 and len(inputs[uri]["sha256"]) == 64


def test_cases_given_twice_or_unreadable_are_problems(regions, tmp_path):
    uri = regions["lake"].as_uri()
    settled, problems = settle_folder(regions["csv"], tmp_path / "out", "guigang-2020", cases_uri=uri)
    assert settled is None and [p.code for p in problems] == ["drg.input.cases_twice"]
    missing = (regions["lake"].parent / "nowhere.parquet").as_uri()
    settled, problems = settle_folder(
        regions["no_cases"], tmp_path / "out", "guigang-2020", cases_uri=missing
    )
    assert settled is None and [p.code for p in problems] == ["table.file.unreadable"]
    assert problems[0].where.file == missing
    assert not (tmp_path / "out").exists()


def test_spark_reads_the_cases_from_a_file_uri(spark, regions, tmp_path):
    """On Spark the URI is read by Spark (any filesystem it is configured for: s3a://, hdfs://);
    the files equal DuckDB's from the same URI byte for byte (run.json's hash of the cases does
    not depend on the order Spark read the parts in)."""
    uri = regions["lake"].as_uri()
    outputs = {}
    for engine in ("duckdb", "spark"):
        settled, problems = settle_folder(
            regions["no_cases"], tmp_path / engine, "shanwei-2021", engine=engine, cases_uri=uri
        )
        assert settled is not None, problems
        outputs[engine] = _files(tmp_path / engine)
    different = [name for name in outputs["duckdb"] if outputs["duckdb"][name] != outputs["spark"][name]]
    assert different == []
