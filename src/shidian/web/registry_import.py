"""Import of an existing registry (存量患者导入): Excel or CSV (UTF-8/GBK), all rows or none.

The file is read through ``shidian.tables`` (headers in Chinese or English, every bad cell a
Problem with its row and column); then each row is checked as a registration would be (ID
number by GB 11643, diagnosis one of the six, village known and inside the importer's area,
no date in the future, no duplicate in the file or the registry). Any problem → nothing is
imported and the report lists every problem with its row; otherwise every row is registered in
the caller's one transaction.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from shidian.platform.accounts import User
from shidian.platform.crypto import DataKeys
from shidian.problems import Problem, Source
from shidian.tables import Column, TableSpec, read_table
from shidian.web.registry_access import Scope
from shidian.web.registry_models import PatientIn
from shidian.web.registry_store import check_patient, insert_patient

TREATMENT_WORDS = {"服药": "medication", "住院": "hospital", "未治疗": "none"}
REGISTRY_SPEC = TableSpec(
    "registry",
    (
        Column("name", "str", ("姓名",), label="姓名"),
        Column("id_number", "str", ("身份证号", "身份证号码", "公民身份号码"), label="身份证号"),
        Column(
            "village_code", "str", ("村代码", "村/社区代码", "行政村代码", "现住址代码"), label="村/社区代码"
        ),
        Column("icd10", "str", ("诊断编码", "ICD-10", "ICD10"), label="诊断编码"),
        Column(
            "diagnosed_on", "date", ("确诊日期", "诊断日期"), required=False, nullable=True, label="确诊日期"
        ),
        Column("diagnosing_hospital", "str", ("确诊医院",), required=False, nullable=True, label="确诊医院"),
        Column("registered_on", "date", ("登记日期", "建档日期"), label="登记日期"),
        Column(
            "treatment",
            "str",
            ("治疗情况",),
            required=False,
            nullable=True,
            default="none",
            choices=("medication", "hospital", "none", *TREATMENT_WORDS),
            label="治疗情况",
        ),
        Column("address", "str", ("现住址", "住址"), required=False, nullable=True, label="现住址"),
        Column(
            "guardian_name",
            "str",
            ("监护人姓名", "监护人"),
            required=False,
            nullable=True,
            label="监护人姓名",
        ),
        Column(
            "guardian_phone",
            "str",
            ("监护人电话", "联系电话"),
            required=False,
            nullable=True,
            label="监护人电话",
        ),
        Column(
            "guardian_relation",
            "str",
            ("与患者关系", "监护人关系"),
            required=False,
            nullable=True,
            label="与患者关系",
        ),
    ),
    key=("id_number",),
)


def import_registry(
    conn: sa.Connection,
    keys: DataKeys,
    user: User,
    scope: Scope,
    path: Path,
    display_name: str,
    today: dt.date,
) -> tuple[int, list[Problem]]:
    """Register every row of the file, or none: (rows imported, problems)."""
    table, problems = read_table(path, REGISTRY_SPEC, display_name=display_name)
    if table is None:
        return 0, problems
    accepted: list[tuple[dict[str, Any], PatientIn]] = []
    seen: set[str] = set()
    for record in table.to_pylist():
        row = int(record.pop("_row"))
        treatment = record.get("treatment") or "none"
        fields = {k: v for k, v in record.items() if v is not None}
        fields["treatment"] = TREATMENT_WORDS.get(treatment, treatment)
        data = PatientIn.model_validate(fields)
        values, row_problems = check_patient(conn, keys, scope, data, today, source=display_name)
        problems += [
            Problem(p.code, p.message, Source(display_name, row=row, column=_header(p.where.column)))
            for p in row_problems
        ]
        if values is not None:
            if values["id_hmac"] in seen:
                problems.append(
                    Problem(
                        "registry.patient.duplicate",
                        "身份证号在文件中重复 (duplicate in the file)",
                        Source(display_name, row, "身份证号"),
                    )
                )
            seen.add(values["id_hmac"])
            accepted.append((values, data))
    if problems:
        return 0, problems
    for values, data in accepted:
        insert_patient(conn, keys, values, data, user)
    return len(accepted), []


def _header(column: str | None) -> str | None:
    labels = {c.name: c.label for c in REGISTRY_SPEC.columns}
    return labels.get(column or "", column)
