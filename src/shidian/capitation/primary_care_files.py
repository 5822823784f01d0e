"""Primary-care files (基层补偿文件): the tables in, the results out (all or nothing).

A data folder holds any of ``health`` (``community_id``, ``residents`` 常住人口,
``village_workload_ratio`` 村卫生室工作量占比, ``score`` 考核得分), ``villages`` (``village_code``,
``name``, ``qualified`` 考核达标, ``other_subsidy`` 其他补助) and ``townships`` (``institution_id``,
``name``, ``recurring_spending`` 经常性支出, ``recurring_income`` 经常性收入, ``prepaid`` 已预拨,
``score``). Outputs: ``public_health.csv``, ``village_subsidies.csv``, ``township_subsidies.csv``
(each for the table given), ``warnings.csv`` and ``run.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa

from shidian.capitation.primary_care import (
    CommunityHealth,
    DeficitSubsidy,
    PrimaryCarePolicy,
    PublicHealth,
    Township,
    Village,
    VillageSubsidy,
)
from shidian.money import D
from shidian.problems import Problem, Source
from shidian.runs import (
    Check,
    file_sha256,
    output_hashes,
    run_record,
    staged_output,
    write_csv_tables,
    write_run_json,
)
from shidian.tables import Column, TableSpec, find_table, read_table

_SCORE = Column("score", "decimal", ("考核得分", "得分"), min=Decimal(0), max=Decimal(100), label="考核得分")
SPECS: Mapping[str, TableSpec] = {
    "health": TableSpec(
        "health",
        (
            Column("community_id", "str", ("医共体编号", "医共体"), label="医共体编号"),
            Column("residents", "int", ("常住人口",), min=Decimal(0), label="常住人口"),
            Column(
                "village_workload_ratio",
                "decimal",
                ("村卫生室工作量占比",),
                min=Decimal(0),
                max=Decimal(1),
                label="村卫生室工作量占比",
            ),
            _SCORE,
        ),
        key=("community_id",),
    ),
    "villages": TableSpec(
        "villages",
        (
            Column("village_code", "str", ("行政村代码", "村代码"), label="行政村代码"),
            Column(
                "name", "str", ("行政村名称", "名称"), required=False, nullable=True, default="", label="名称"
            ),
            Column("qualified", "flag", ("考核达标", "零差率且达标"), label="考核达标"),
            Column(
                "other_subsidy",
                "money",
                ("其他补助",),
                required=False,
                default="0",
                min=Decimal(0),
                label="其他补助",
            ),
        ),
        key=("village_code",),
    ),
    "townships": TableSpec(
        "townships",
        (
            Column("institution_id", "str", ("机构编号", "机构代码"), label="机构编号"),
            Column(
                "name",
                "str",
                ("机构名称", "名称"),
                required=False,
                nullable=True,
                default="",
                label="机构名称",
            ),
            Column("recurring_spending", "money", ("经常性支出",), min=Decimal(0), label="经常性支出"),
            Column("recurring_income", "money", ("经常性收入",), min=Decimal(0), label="经常性收入"),
            Column(
                "prepaid",
                "money",
                ("已预拨", "预拨"),
                required=False,
                default="0",
                min=Decimal(0),
                label="已预拨",
            ),
            _SCORE,
        ),
        key=("institution_id",),
    ),
}


def read_tables(
    data_dir: Path,
) -> tuple[dict[str, list[dict[str, Any]]] | None, dict[str, dict[str, Any]], list[Problem]]:
    """The tables present (at least one), their manifest and every problem."""
    tables: dict[str, list[dict[str, Any]]] = {}
    manifest: dict[str, dict[str, Any]] = {}
    problems: list[Problem] = []
    for name, spec in SPECS.items():
        path = find_table(data_dir, name)
        if path is None:
            continue
        table, found = read_table(path, spec)
        problems += found
        manifest[name] = {
            "file": path.name,
            "sha256": file_sha256(path),
            "rows": 0 if table is None else table.num_rows,
        }
        if table is not None:
            tables[name] = table.to_pylist()
    if not manifest:
        problems.append(
            Problem(
                "capitation.input.missing",
                "输入目录中没有 health、villages 或 townships 表 (.csv 或 .xlsx)",
                Source(str(data_dir)),
            )
        )
    if problems:
        return None, manifest, problems
    return tables, manifest, []


def health_rows(rows: list[dict[str, Any]]) -> list[CommunityHealth]:
    return [
        CommunityHealth(r["community_id"], int(r["residents"]), D(r["village_workload_ratio"]), D(r["score"]))
        for r in sorted(rows, key=lambda r: r["community_id"])
    ]


def village_rows(rows: list[dict[str, Any]]) -> list[Village]:
    return [
        Village(r["village_code"], r["name"] or "", bool(r["qualified"]), D(r["other_subsidy"]))
        for r in sorted(rows, key=lambda r: r["village_code"])
    ]


def township_rows(rows: list[dict[str, Any]]) -> list[Township]:
    return [
        Township(
            r["institution_id"],
            r["name"] or "",
            D(r["recurring_spending"]),
            D(r["recurring_income"]),
            D(r["prepaid"]),
            D(r["score"]),
        )
        for r in sorted(rows, key=lambda r: r["institution_id"])
    ]


def _table(rows: list[Any], columns: Mapping[str, pa.DataType]) -> pa.Table:
    return pa.table(
        {name: pa.array([getattr(r, name) for r in rows], kind) for name, kind in columns.items()}
    )


_M = pa.decimal128(18, 2)
_R = pa.decimal128(38, 8)
PUBLIC_HEALTH_COLUMNS = {
    "community_id": pa.string(),
    "residents": pa.int64(),
    "score": _R,
    "budget": _M,
    "prepaid": _M,
    "deduction": _M,
    "reward": _M,
    "entitlement": _M,
    "after_assessment": _M,
    "village_ratio": _R,
    "village_amount": _M,
    "other_amount": _M,
}
VILLAGE_COLUMNS = {
    "village_code": pa.string(),
    "provincial": _M,
    "other_subsidy": _M,
    "county_top_up": _M,
    "total": _M,
}
TOWNSHIP_COLUMNS = {
    "institution_id": pa.string(),
    "deficit": _M,
    "coefficient": _R,
    "subsidy": _M,
    "prepaid": _M,
    "settlement": _M,
}


def write_primary_care(
    out_dir: Path,
    policy: PrimaryCarePolicy,
    manifest: Mapping[str, Mapping[str, Any]],
    results: tuple[list[PublicHealth] | None, list[VillageSubsidy] | None, list[DeficitSubsidy] | None],
    totals: Mapping[str, str],
    checks: list[Check],
    warnings: list[Problem],
) -> dict[str, Any]:
    """Write every output into ``out_dir`` together, or nothing; returns the run record."""
    health, villages, townships = results
    tables: dict[str, pa.Table] = {}
    if health is not None:
        tables["public_health.csv"] = _table(health, PUBLIC_HEALTH_COLUMNS)
    if villages is not None:
        tables["village_subsidies.csv"] = _table(villages, VILLAGE_COLUMNS)
    if townships is not None:
        tables["township_subsidies.csv"] = _table(townships, TOWNSHIP_COLUMNS)
    tables["warnings.csv"] = pa.table(
        {
            "code": pa.array([w.code for w in warnings], pa.string()),
            "where": pa.array([str(w.where) for w in warnings], pa.string()),
            "message": pa.array([w.message for w in warnings], pa.string()),
        }
    )
    with staged_output(out_dir) as folder:
        write_csv_tables(folder, tables)
        record = run_record(
            "capitation.primary_care",
            policy.source,
            manifest,
            output_hashes(folder),
            totals,
            checks,
            len(warnings),
        )
        write_run_json(folder, record)
    return record
