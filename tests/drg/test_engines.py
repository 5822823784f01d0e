"""The DRG settlement on Spark writes the same files as on DuckDB, byte for byte (issue 21).

A small generated region (the demo generator) is settled under both reference policies on both
engines, with and without reference cases (第十九条(五): the standards from the year's own
cases); every output file is compared byte for byte. Runs on a real local Spark (the session
fixture in tests/conftest.py), skipped without Java.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from shidian.demo.drg import generate_drg_region
from shidian.drg.service import settle_folder


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("region")
    generate_drg_region(folder, cases=400, hospitals=5, seed=21)
    return folder


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.mark.parametrize("policy", ["guigang-2020", "shanwei-2021"])
def test_spark_writes_the_duckdb_files_byte_for_byte(spark, region, tmp_path, policy):
    outputs = {}
    for engine in ("duckdb", "spark"):
        settled, problems = settle_folder(region, tmp_path / engine, policy, engine=engine)
        assert settled is not None, problems
        outputs[engine] = _files(tmp_path / engine)
    assert {"case_points.csv", "monthly_payments.csv", "annual.csv", "run.json"} <= set(outputs["duckdb"])
    assert outputs["spark"].keys() == outputs["duckdb"].keys()
    different = [name for name in outputs["duckdb"] if outputs["duckdb"][name] != outputs["spark"][name]]
    assert different == []
    # the region exercises the year-end and review rules, not only the normal path
    warnings = outputs["duckdb"]["warnings.csv"].decode()
    assert "drg.case.year_end_grouping" in warnings and "drg.coefficient.level_inversion" in warnings


def test_without_reference_cases_too(spark, region, tmp_path):
    """第十九条(五): the standards recomputed from the settlement year's cases, on both engines."""
    own = tmp_path / "own"
    shutil.copytree(region, own)
    (own / "reference_cases.csv").unlink()
    outputs = []
    for engine in ("duckdb", "spark"):
        settled, problems = settle_folder(own, tmp_path / engine, "guigang-2020", engine=engine)
        assert settled is not None, problems
        outputs.append(_files(tmp_path / engine))
    assert outputs[0] == outputs[1]
