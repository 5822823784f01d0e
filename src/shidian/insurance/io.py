"""Insurance file adapter (文件读写): DATA_DIR → ``InsuranceInputs``; results → OUT_DIR.

Reading goes through ``shidian.tables`` (CSV in UTF-8 or GBK, or Excel; English or Chinese
headers) and reports every problem with file, row and column. Writing is all or nothing: every
file is built in a temporary folder next to OUT_DIR and moved in only when all are written.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shidian import duck
from shidian.cells import csv_row
from shidian.insurance.model import (
    CATEGORIES,
    CATEGORY_LABELS,
    CLAIMS_SCHEMA,
    DELIVERIES,
    DELIVERY_LABELS,
    INSTITUTIONS_SCHEMA,
    KIND_LABELS,
    KINDS,
    PERSONS_SCHEMA,
    PLACES,
    SOURCE_LABELS,
    VARIANTS,
    InsuranceInputs,
    ReimbursementResult,
    or_empty,
)
from shidian.insurance.notice_pdf import write_notice_pdf
from shidian.insurance.policy import InsurancePolicy
from shidian.insurance.report import write_ledger_workbook, write_notice_workbook, write_statement
from shidian.insurance.validate import validate_inputs
from shidian.problems import Problem, Source
from shidian.runs import (
    file_sha256,
    output_hashes,
    run_record,
    staged_output,
    write_csv_tables,
    write_run_json,
)
from shidian.tables import Column, TableSpec, find_table, labelled, read_table

_ZERO = Decimal(0)
#: 医疗类别 (med_type) of the national dictionary that are claims of this scheme: 11 普通门诊,
#: 21 普通住院. Other categories (门诊慢特病, 生育 …) are refused, to be entered by hand.
MED_TYPE_CODES = (("11", "outpatient"), ("21", "inpatient"))
#: 险种类型 (insutype): 390 城乡居民基本医疗保险 is this scheme; 310 职工基本医疗保险 is not and
#: is refused (``table.cell.not_allowed``). The column is checked, then dropped.
INSUTYPE_CODES = (("390", "resident"), ("310", "employee"))


def _synonyms(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """The Chinese labels of ``labels``' codes and the common variants of them (``VARIANTS``)."""
    return labelled(labels, *((text, code) for text, code in VARIANTS if code in labels))


def _money(name: str, aliases: tuple[str, ...], label: str, *, required: bool = False) -> Column:
    default = None if required else "0"
    return Column(name, "money", aliases, required=required, default=default, min=_ZERO, label=label)


def _flag(name: str, aliases: tuple[str, ...], label: str, default: str) -> Column:
    return Column(name, "flag", aliases, required=False, default=default, label=label)


# The 医保信息平台's names (psn_no, setl_id, medfee_sumamt …) and codes (med_type, insutype) are
# accepted beside ours: 国家医疗保障局《医疗保障信息平台 定点医药机构接口规范》, docs/national-fields.md.
PERSON_ID = Column("person_id", "str", ("人员编号", "个人编号", "参合人员编号", "psn_no"), label="人员编号")
PERSONS = TableSpec(
    "persons",
    (
        PERSON_ID,
        Column("id_number", "str", ("身份证号", "身份证号码", "公民身份号码", "certno"), label="身份证号"),
        Column("name", "str", ("姓名", "人员姓名", "psn_name"), label="姓名"),
        Column("household_id", "str", ("家庭编号", "户编号", "户号"), label="家庭编号"),
        Column(
            "category",
            "str",
            ("人员类别",),
            choices=CATEGORIES,
            label="人员类别",
            synonyms=_synonyms(CATEGORY_LABELS),
        ),
        Column("village_code", "str", ("行政村代码", "村代码"), label="行政村代码"),
        _flag("insured", ("本年度参合", "是否参合"), "本年度参合", "1"),
    ),
    key=("person_id",),
    titles=("参合人员", "人员"),
)
INSTITUTION_ID = Column(
    "institution_id",
    "str",
    ("医疗机构编码", "机构编码", "定点医药机构编号", "fixmedins_code"),
    label="医疗机构编码",
)
INSTITUTIONS = TableSpec(
    "institutions",
    (
        INSTITUTION_ID,
        Column("name", "str", ("医疗机构名称", "机构名称", "fixmedins_name"), label="医疗机构名称"),
        Column(
            "level", "int", ("医院等级", "等级", "机构等级"), min=Decimal(1), max=Decimal(3), label="医院等级"
        ),
        Column("designated", "flag", ("定点医疗机构", "是否定点", "定点"), label="定点医疗机构"),
        _flag("in_county", ("县内机构", "是否县内"), "县内机构", "1"),
        Column(
            "place",
            "str",
            ("所在地", "机构所在地"),
            required=False,
            nullable=True,
            choices=PLACES,
            label="所在地 (county 县内 / city 县外市内 / province 市外省内 / outside 省外)",
        ),
    ),
    key=("institution_id",),
    titles=("医疗机构", "定点医疗机构"),
)
CLAIMS = TableSpec(
    "claims",
    (
        Column("claim_id", "str", ("就诊编号", "报销单号", "setl_id"), label="就诊编号"),
        PERSON_ID,
        INSTITUTION_ID,
        Column(
            "kind",
            "str",
            ("就诊类型", "医疗类别", "med_type"),
            choices=KINDS,
            label="就诊类型",
            coded=("医疗类别", "med_type"),
            codes=MED_TYPE_CODES,
            synonyms=_synonyms(KIND_LABELS),
        ),
        Column("start_date", "date", ("入院日期", "就诊日期", "开始日期", "begndate"), label="开始日期"),
        Column("end_date", "date", ("出院日期", "结束日期", "enddate"), label="结束日期"),
        _money(
            "total_cost", ("医疗总费用", "总费用", "医疗费总额", "medfee_sumamt"), "医疗总费用", required=True
        ),
        _money(
            "self_pay", ("自费费用", "自费", "全自费金额", "fulamt_ownpay_amt"), "自费费用", required=True
        ),
        _money("special_exam", ("特检费",), "特检费"),
        _money("special_treatment", ("特治费",), "特治费"),
        _money("blood", ("血液费",), "血液费"),
        _money("special_material", ("特材费", "特殊材料费"), "特殊材料费"),
        _money("tcm_cost", ("中医药费用",), "中医药费用"),
        Column(
            "delivery",
            "str",
            ("分娩类型",),
            required=False,
            nullable=True,
            choices=DELIVERIES,
            label="分娩类型",
            synonyms=_synonyms(DELIVERY_LABELS),
        ),
        Column(
            "cataract_eyes",
            "int",
            ("白内障患眼数",),
            required=False,
            default="0",
            min=_ZERO,
            max=Decimal(2),
            label="白内障患眼数",
        ),
        _money("other_insurance_paid", ("其他保险已付", "社保或商业保险已付"), "其他保险已付"),
        Column(
            "transfer_of",
            "str",
            ("转诊来源", "转自就诊编号"),
            required=False,
            nullable=True,
            label="转诊来源",
        ),
        _flag("certificate", ("外出务工或上学证明", "外出证明"), "外出务工或上学证明", "0"),
        _flag("referral", ("转诊手续",), "转诊手续", "0"),
        Column(
            "chronic_disease",
            "str",
            ("慢性病病种", "慢性病编码"),
            required=False,
            nullable=True,
            label="慢性病病种",
        ),
        _flag("tcm_fracture", ("中医骨折非手术治疗",), "中医骨折非手术治疗", "0"),
        Column(
            "inpatient_category",
            "str",
            ("住院类别", "特殊住院类别"),
            required=False,
            nullable=True,
            label="特殊住院类别 (政策 inpatient.special 的 key)",
        ),
        _money("general_fee", ("一般诊疗费",), "一般诊疗费"),
        _money("drug_cost", ("药品费用",), "药品费用"),
        _money("catalogue_external_drug_cost", ("目录外药品费用",), "目录外药品费用"),
        Column(
            "insurance_type",
            "str",
            ("险种类型", "insutype"),
            required=False,
            default="resident",
            choices=("resident",),
            label="险种类型",
            coded=("险种类型", "insutype"),
            codes=INSUTYPE_CODES,
        ),
        Column(
            "desk_paid",
            "money",
            ("窗口垫付", "已垫付"),
            required=False,
            nullable=True,
            min=_ZERO,
            label="窗口垫付",
        ),
    ),
    key=("claim_id",),
    titles=("就诊", "就诊记录", "报销"),
)
VILLAGES = TableSpec(
    "villages",
    (
        Column("village_code", "str", ("行政村代码", "村代码"), label="行政村代码"),
        Column("name", "str", ("行政村名称", "村名"), label="行政村名称"),
    ),
    key=("village_code",),
    titles=("村", "村居", "村/社区"),
)
PRIOR_YEAR = TableSpec(
    "prior_year",
    (
        PERSON_ID,
        _money("reimbursement", ("上年度补偿金额", "补偿金额"), "上年度补偿金额", required=True),
        _flag("health_check", ("上年度健康体检",), "上年度健康体检", "0"),
    ),
    key=("person_id",),
    titles=("上年", "上年度"),
)
CONTRIBUTIONS = TableSpec(
    "contributions",
    (
        Column(
            "source",
            "str",
            ("资金来源", "筹资来源"),
            choices=tuple(SOURCE_LABELS),
            label="资金来源",
            synonyms=_synonyms(SOURCE_LABELS),
        ),
        Column("received_date", "date", ("到账日期",), label="到账日期"),
        _money("amount", ("到账金额", "金额"), "到账金额", required=True),
        Column(
            "reference",
            "str",
            ("凭证号", "文号", "备注"),
            required=False,
            nullable=True,
            default="",
            label="凭证号",
        ),
    ),
    titles=("筹资", "筹资到账"),
)
SPECS = (
    ("persons", PERSONS, True),
    ("institutions", INSTITUTIONS, True),
    ("claims", CLAIMS, True),
    ("villages", VILLAGES, False),
    ("prior_year", PRIOR_YEAR, False),
    ("contributions", CONTRIBUTIONS, False),
)


def read_inputs(
    data_dir: Path, policy: InsurancePolicy | None = None
) -> tuple[InsuranceInputs | None, list[Problem], dict[str, dict[str, Any]]]:
    """Read every input table of DATA_DIR. Returns (inputs or None, problems, file manifest).

    With ``policy``, when some file has cells of the wrong type the files that were read go
    through ``validate_inputs`` anyway (the others stand in empty), so that one round reports
    every problem a user can fix: a bad date in claims does not hide a bad ID number in persons.
    """
    problems: list[Problem] = []
    manifest: dict[str, dict[str, Any]] = {}
    tables: dict[str, pa.Table | None] = {}
    sources: dict[str, str] = {}
    for key, spec, required in SPECS:
        path = find_table(data_dir, spec.name, spec.titles)
        tables[key] = None
        if path is None:
            if required:
                problems.append(
                    Problem(
                        "insurance.input.missing_file",
                        f"缺少输入文件 {spec.name}.csv 或 {spec.name}.xlsx",
                        Source(f"{spec.name}.csv"),
                    )
                )
            continue
        table, found = read_table(path, spec)
        problems += found
        if table is not None and "insurance_type" in table.column_names:  # checked; not a claim field
            table = table.drop_columns(["insurance_type"])
        tables[key] = table
        sources[key] = path.name
        manifest[path.name] = {"sha256": file_sha256(path), "rows": None if table is None else table.num_rows}
    persons = tables["persons"]
    if persons is not None:  # GB 11643's check character is an upper-case X; a lower-case x is common
        id_numbers = persons.schema.get_field_index("id_number")
        persons = persons.set_column(id_numbers, "id_number", pc.utf8_upper(persons.column(id_numbers)))
    if problems:
        if policy is not None and any(table is not None for table in tables.values()):
            partial = InsuranceInputs(
                persons=or_empty(persons, PERSONS_SCHEMA),
                institutions=or_empty(tables["institutions"], INSTITUTIONS_SCHEMA),
                claims=or_empty(tables["claims"], CLAIMS_SCHEMA),
                villages=tables["villages"],
                prior_year=tables["prior_year"],
                contributions=tables["contributions"],
                sources=sources,
            )
            problems += validate_inputs(partial, policy)
        return None, problems, manifest
    institutions, claims = tables["institutions"], tables["claims"]
    assert persons is not None and institutions is not None and claims is not None
    inputs = InsuranceInputs(
        persons=persons,
        institutions=institutions,
        claims=claims,
        villages=tables["villages"],
        prior_year=tables["prior_year"],
        contributions=tables["contributions"],
        sources=sources,
    )
    return inputs, [], manifest


def find_person(data_dir: Path, person_id: str | None, id_number: str | None) -> dict[str, Any] | None:
    """The persons row of DATA_DIR (a dataset's folder) with ``person_id`` or ``id_number``
    (upper-cased X), or None; the desk's patient search reads the names and ID numbers here,
    which the database does not keep. Columnar: one filter over the table."""
    path = find_table(data_dir, PERSONS.name)
    if path is None:
        return None
    table, _ = read_table(path, PERSONS)
    if table is None:
        return None
    if id_number is not None:
        mask = pc.equal(pc.utf8_upper(table.column("id_number")), id_number.upper())
    else:
        mask = pc.equal(table.column("person_id"), person_id)
    found = table.filter(pc.fill_null(mask, False)).slice(0, 1).to_pylist()
    return found[0] if found else None


STATEMENTS_DIR = "statements"
NOTICES_DIR = "notices"


def write_outputs(
    result: ReimbursementResult,
    inputs: InsuranceInputs,
    out_dir: Path,
    *,
    policy: InsurancePolicy,
    manifest: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    """Write every output into OUT_DIR at once; returns the run record written to run.json."""
    with staged_output(out_dir) as staging:
        csv_tables = {
            "claims_out.csv": result.claims,
            "ledger_contributions.csv": result.ledger.contributions,
            "ledger_reimbursements.csv": result.ledger.reimbursements,
            "ledger_monthly.csv": result.ledger.monthly,
            "ledger_pools.csv": result.ledger.pools,
            "ledger_pool_monthly.csv": result.ledger.pool_monthly,
            **({"ledger_receipts.csv": result.ledger.receipts} if result.ledger.receipts is not None else {}),
            "settlement.csv": result.settlement,
            "notice.csv": result.notice,
            "notice_villages.csv": result.villages,
            "health_checks.csv": result.health_checks,
        }
        write_csv_tables(staging, csv_tables)
        _write_warnings(result, staging / "warnings.csv")
        write_ledger_workbook(result, staging / "ledger.xlsx", policy=policy)
        _write_statements(result, inputs, staging / STATEMENTS_DIR, policy)
        _write_notices(result, staging / NOTICES_DIR, policy)
        record = run_record(
            "insurance.reimbursement",
            policy.source,
            manifest,
            output_hashes(staging),
            result.totals,
            result.checks,
            len(result.warnings),
        )
        write_run_json(staging, record)
    return record


def _groups(table: pa.Table, key: str) -> list[tuple[str, pa.Table]]:
    """Consecutive runs of equal ``key`` in a table sorted by it, as zero-copy slices."""
    n = table.num_rows
    if n == 0:
        return []
    values = table.column(key).combine_chunks()
    changes = pc.not_equal(values.slice(1), values.slice(0, n - 1)).to_numpy(zero_copy_only=False)
    starts = [0, *(np.flatnonzero(changes) + 1).tolist()]
    ends = [*starts[1:], n]
    return [(str(values[s].as_py()), table.slice(s, e - s)) for s, e in zip(starts, ends, strict=True)]


def _write_statements(
    result: ReimbursementResult, inputs: InsuranceInputs, folder: Path, policy: InsurancePolicy
) -> None:
    """One workbook per designated institution with claims: 月度结算 and 拒付明细."""
    folder.mkdir()
    names = dict(
        zip(
            inputs.institutions.column("institution_id").to_pylist(),
            inputs.institutions.column("name").to_pylist(),
            strict=True,
        )
    )
    con = duck.connect()
    try:
        con.register("priced", result.claims)
        con.register("settlement", result.settlement)
        rejected = con.sql(
            f"""
            SELECT p.institution_id, p.claim_id, p.person_id, p.kind, p.start_date, p.end_date, p.month,
                   p.total_cost, coalesce(p.desk_paid, 0)::DECIMAL(18,2) AS desk_paid, p.reason
            FROM priced p WHERE p.status = 'rejected' AND year(p.end_date) = {policy.year}
              AND p.institution_id IN (SELECT institution_id FROM settlement)
            ORDER BY p.institution_id, p.end_date, p.claim_id
            """
        ).to_arrow_table()
    finally:
        con.close()
    rejected_by = dict(_groups(rejected, "institution_id"))
    for institution_id, months in _groups(result.settlement, "institution_id"):
        write_statement(
            folder / f"{institution_id}.xlsx",
            institution_id=institution_id,
            name=names.get(institution_id, ""),
            months=months,
            rejected=rejected_by.get(institution_id, rejected.slice(0, 0)),
            policy=policy,
        )


def _write_notices(result: ReimbursementResult, folder: Path, policy: InsurancePolicy) -> None:
    """One workbook and one printable PDF per village (公示), masked."""
    folder.mkdir()
    rows_by = dict(_groups(result.notice, "village_code"))
    for summary in result.villages.to_pylist():
        code = summary["village_code"]
        rows = rows_by.get(code, result.notice.slice(0, 0))
        write_notice_workbook(folder / f"{code}.xlsx", summary=summary, rows=rows, policy=policy)
        write_notice_pdf(folder / f"{code}.pdf", summary=summary, rows=rows, policy=policy)


def _write_warnings(result: ReimbursementResult, path: Path) -> None:
    import csv

    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", "where", "message"])
        for problem in result.warnings:
            writer.writerow(csv_row([problem.code, str(problem.where), problem.message]))
