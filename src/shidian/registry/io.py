"""Registry files (名册文件): reading an existing registry (存量患者名册: Excel or CSV, UTF-8/GBK)
and writing the Excel exports.

The file is read through ``shidian.tables`` (headers in Chinese or English, every bad cell a
Problem with its row and column); each row becomes the ``PatientIn`` a registration takes, so
the import service checks it as the registration form is checked.
"""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from shidian.cells import openpyxl_text
from shidian.problems import Problem, Source
from shidian.registry.model import TREATMENTS
from shidian.registry.records import AssessmentIn, PatientIn
from shidian.tables import Column, TableSpec, labelled, read_table

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
            # the form's labels (服药治疗) and their short forms (服药) are read as the codes
            synonyms=labelled(TREATMENTS, ("住院", "hospital"), ("服药", "medication"), ("未治疗", "none")),
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
        # an assessment carried by the row (000 篇3 第11、12项): optional
        Column(
            "assessed_on",
            "date",
            ("评估日期", "危险性评估日期"),
            required=False,
            nullable=True,
            label="评估日期",
        ),
        Column(
            "suggested_level",
            "int",
            ("建议等级", "清单建议等级"),
            required=False,
            nullable=True,
            min=Decimal(0),
            max=Decimal(5),
            label="建议等级",
        ),
        Column(
            "risk_level",
            "int",
            ("确认等级", "危险性等级", "危险等级"),
            required=False,
            nullable=True,
            min=Decimal(0),
            max=Decimal(5),
            label="确认等级",
        ),
        Column(
            "lowered_reason",
            "str",
            ("降级理由", "低于建议等级理由"),
            required=False,
            nullable=True,
            label="降级理由",
        ),
    ),
    key=("id_number",),
)
ASSESSMENT_FIELDS = ("assessed_on", "suggested_level", "risk_level", "lowered_reason")


def read_registry(
    path: Path, display_name: str
) -> tuple[list[tuple[int, PatientIn, AssessmentIn | None]] | None, list[Problem]]:
    """The file's rows as (row number, patient to register, the row's risk assessment or None
    when it gives no level), or None and the problems."""
    table, problems = read_table(path, REGISTRY_SPEC, display_name=display_name)
    if table is None:
        return None, problems
    rows = []
    for record in table.to_pylist():
        row = int(record.pop("_row"))
        carried = {k: record.pop(k, None) for k in ASSESSMENT_FIELDS}
        treatment = record.get("treatment") or "none"
        fields = {k: v for k, v in record.items() if v is not None}
        fields["treatment"] = TREATMENT_WORDS.get(treatment, treatment)
        try:
            assessment = None
            if carried["suggested_level"] is not None or carried["risk_level"] is not None:
                assessment = AssessmentIn.model_validate({k: v for k, v in carried.items() if v is not None})
            rows.append((row, PatientIn.model_validate(fields), assessment))
        except ValidationError as exc:  # a name or address too long, a NUL … (issue 22 finding 8)
            problems += [_invalid_cell(display_name, row, error) for error in exc.errors()]
    if problems:
        return None, problems
    if not rows:  # a header and nothing below it: refused, not "0 imported" (issue 22 finding 9)
        message = "文件中表头之下没有患者 (no patient below the header)"
        return None, [Problem("registry.import.no_rows", message, Source(display_name))]
    return rows, problems


def _invalid_cell(file: str, row: int, error: Any) -> Problem:
    field = str(error["loc"][0]) if error.get("loc") else None
    limit = (error.get("ctx") or {}).get("max_length")
    reason = f"最长 {limit} 个字符 (too long)" if limit else "含有空字符或格式无效 (invalid text)"
    return Problem(
        "registry.import.invalid_cell", f"{header(field)}: {reason}", Source(file, row, header(field))
    )


def header(column: str | None) -> str | None:
    """The Chinese header of a ``PatientIn`` field (a problem's column in the file)."""
    labels = {c.name: c.label for c in REGISTRY_SPEC.columns}
    return labels.get(column or "", column)


def xlsx(sheet: str, headers: list[str], rows: list[list[Any]]) -> bytes:
    """A one-sheet workbook (openpyxl write-only)."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell

    book = openpyxl.Workbook(write_only=True)
    ws = book.create_sheet(sheet)
    for row in [headers, *rows]:
        ws.append([openpyxl_text(WriteOnlyCell(ws, value)) for value in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
