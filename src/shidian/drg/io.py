"""DRG file adapter (文件读写): DATA_DIR → ``DrgInputs``; ``SettlementResult`` → OUT_DIR.

Reading goes through ``shidian.tables`` (CSV in UTF-8 or GBK, or Excel; English or Chinese
headers) and reports every problem with file, row and column. Writing is all or nothing: the
files are built in a temporary folder next to OUT_DIR and moved in only when all are written.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from shidian.cells import csv_row
from shidian.drg.fund_budget import POOLED, SCHEMES, drg_budget_lines, scheme_items
from shidian.drg.hospital_books import HOSPITALS_DIR, write_hospital_books
from shidian.drg.model import (
    CASES_SCHEMA,
    GROUPS_SCHEMA,
    HOSPITALS_SCHEMA,
    DrgInputs,
    SettlementParams,
    SettlementResult,
)
from shidian.drg.policy import DrgPolicy
from shidian.drg.report import write_report
from shidian.drg.schemes import SCHEME_ALIASES
from shidian.drg.validate import validate_inputs
from shidian.money import D
from shidian.problems import Problem, Source
from shidian.runs import (
    file_sha256,
    output_hashes,
    run_record,
    staged_output,
    write_csv_tables,
    write_run_json,
)
from shidian.tables import Column, TableSpec, arrow_sha256, find_table, read_arrow_table, read_table

ZERO_TEXT = "0"
#: The 医保信息平台's names (国家医疗保障局《医疗保障信息平台 定点医药机构接口规范》; the
#: mapping table is docs/national-fields.md): accepted beside our English and Chinese headers.
FIXMEDINS_CODE = ("定点医药机构编号", "fixmedins_code")

HOSPITALS = TableSpec(
    "hospitals",
    (
        Column("hospital_id", "str", ("医疗机构编码", "机构编码", *FIXMEDINS_CODE), label="医疗机构编码"),
        Column("name", "str", ("医疗机构名称", "机构名称", "fixmedins_name"), label="医疗机构名称"),
        Column(
            "level",
            "int",
            ("医院等级", "等级", "医疗机构等级"),
            min=Decimal(1),
            max=Decimal(3),
            label="医院等级",
        ),
        # 000 篇6 第八条: a 医共体 member whose DRG payments are packaged to its lead hospital
        Column(
            "package_to",
            "str",
            ("打包支付至", "牵头医疗机构编码"),
            required=False,
            nullable=True,
            label="打包支付至",
        ),
    ),
    key=("hospital_id",),
    titles=("医疗机构", "医院", "定点医疗机构"),
)
GROUPS = TableSpec(
    "drg_groups",
    (
        Column("drg_code", "str", ("DRG编码", "病组编码"), label="DRG编码"),
        Column("name", "str", ("DRG名称", "病组名称"), label="DRG名称"),
        Column("weight", "decimal", ("权重",), required=False, nullable=True, min=Decimal(0), label="权重"),
        Column("basic", "flag", ("基础病组",), required=False, default=ZERO_TEXT, label="基础病组"),
    ),
    key=("drg_code",),
    titles=("病组", "DRG病组", "病组目录"),
)
_MONEY_MIN = Decimal(0)
CASES = TableSpec(
    "cases",
    (
        Column("case_id", "str", ("病案号", "病例编号", "setl_id"), label="病案号"),
        Column("hospital_id", "str", ("医疗机构编码", "机构编码", *FIXMEDINS_CODE), label="医疗机构编码"),
        Column("discharge_date", "date", ("出院日期", "出院时间", "dscg_time"), label="出院日期"),
        Column("drg_code", "str", ("DRG编码", "病组编码"), nullable=True, label="DRG编码"),
        Column(
            "total_cost",
            "money",
            ("医疗总费用", "总费用", "医疗费总额", "medfee_sumamt"),
            min=_MONEY_MIN,
            label="医疗总费用",
        ),
        Column(
            "fund_paid",
            "money",
            ("统筹基金支付", "统筹支付", "基本医疗保险统筹基金支出", "hifp_pay"),
            min=_MONEY_MIN,
            label="统筹基金支付",
        ),
        Column(
            "patient_cash",
            "money",
            ("个人现金支付", "个人现金", "个人现金支出", "psn_cash_pay"),
            min=_MONEY_MIN,
            label="个人现金支付",
        ),
        Column(
            "self_pay",
            "money",
            ("自费费用", "全自费金额", "fulamt_ownpay_amt"),
            min=_MONEY_MIN,
            label="自费费用",
        ),
        Column(
            "unreasonable_cost",
            "money",
            ("不合理费用",),
            required=False,
            default=ZERO_TEXT,
            min=_MONEY_MIN,
            label="不合理费用",
        ),
        Column(
            "review_approved",
            "flag",
            ("特病单议核准",),
            required=False,
            default=ZERO_TEXT,
            label="特病单议核准",
        ),
        Column("new_technology", "flag", ("新技术",), required=False, default=ZERO_TEXT, label="新技术"),
        Column(
            "review_date",
            "date",
            ("特病单议核准日期", "评审确认日期"),
            required=False,
            nullable=True,
            label="特病单议核准日期",
        ),
        # 000 篇6 第二、六条: 职工医保/居民医保; absent = one scheme
        Column("scheme", "str", ("险种",), required=False, choices=tuple(SCHEME_ALIASES), label="险种"),
    ),
    key=("case_id",),
    titles=("病例", "病案", "出院病例"),
)
#: 年底入组: DRG codes supplied by the year end for cases uploaded without one (第十八条(一)5).
REGROUPED = TableSpec(
    "year_end_groups",
    (
        Column("case_id", "str", ("病案号", "病例编号"), label="病案号"),
        Column("drg_code", "str", ("DRG编码", "病组编码"), label="DRG编码"),
    ),
    key=("case_id",),
    titles=("年底入组",),
)
ASSESSMENT = TableSpec(
    "assessment",
    (
        Column("hospital_id", "str", ("医疗机构编码", "机构编码"), label="医疗机构编码"),
        Column("coefficient", "decimal", ("考核系数", "鼓励系数"), min=Decimal(0), label="考核系数"),
    ),
    key=("hospital_id",),
    titles=("考核", "考核结果", "考核系数"),
)
#: 年度预付 (000 篇6 第十七条): last year's fund payments of each hospital and the advance it
#: was paid last January (blank: none, the first year).
ADVANCES = TableSpec(
    "advances",
    (
        Column("hospital_id", "str", ("医疗机构编码", "机构编码"), label="医疗机构编码"),
        Column(
            "last_year_fund_paid",
            "money",
            ("上年度统筹基金支付", "上年度统筹基金支付费用"),
            min=_MONEY_MIN,
            label="上年度统筹基金支付",
        ),
        Column(
            "previous_advance",
            "money",
            ("上年已预付", "上年1月预付"),
            required=False,
            nullable=True,
            min=_MONEY_MIN,
            label="上年已预付",
        ),
    ),
    key=("hospital_id",),
    titles=("年度预付",),
)
DEDUCTIONS = TableSpec(
    "deductions",
    (
        Column("hospital_id", "str", ("医疗机构编码", "机构编码"), label="医疗机构编码"),
        Column("month", "int", ("月份",), min=Decimal(1), max=Decimal(12), label="月份"),
        Column(
            "amount",
            "money",
            ("审核扣款",),
            required=False,
            default=ZERO_TEXT,
            min=_MONEY_MIN,
            label="审核扣款",
        ),
        Column(
            "points",
            "points",
            ("扣除点数",),
            required=False,
            default=ZERO_TEXT,
            min=_MONEY_MIN,
            label="扣除点数",
        ),
        Column("audit_date", "date", ("审核日期",), required=False, nullable=True, label="审核日期"),
        # 000 篇6 第六条: the fund of the case found, read when each scheme has its own point value
        Column(
            "scheme",
            "str",
            ("险种",),
            required=False,
            nullable=True,
            choices=tuple(SCHEME_ALIASES),
            label="险种",
        ),
    ),
    titles=("扣款", "审核扣款"),
)
REFERENCE = TableSpec(
    "reference_cases",
    (
        Column("drg_code", "str", ("DRG编码", "病组编码"), nullable=True, label="DRG编码"),
        Column("total_cost", "money", ("医疗总费用", "总费用"), min=_MONEY_MIN, label="医疗总费用"),
        Column(
            "hospital_id",
            "str",
            ("医疗机构编码", "机构编码"),
            required=False,
            nullable=True,
            label="医疗机构编码",
        ),
        Column(
            "level",
            "int",
            ("医院等级", "等级"),
            required=False,
            nullable=True,
            min=Decimal(1),
            max=Decimal(3),
            label="医院等级",
        ),
    ),
    titles=("基准病例", "历史病例"),
)

#: Every input table of a DRG dataset, in the order they are read.
INPUT_SPECS = (HOSPITALS, GROUPS, CASES, ASSESSMENT, DEDUCTIONS, REFERENCE, REGROUPED, ADVANCES)
SETTLEMENT_FILE = "settlement.toml"


def read_inputs(
    data_dir: Path, cases: tuple[str, pa.Table] | None = None
) -> tuple[DrgInputs | None, list[Problem], dict[str, dict[str, Any]]]:
    """Read every input table of DATA_DIR. Returns (inputs or None, problems, file manifest).

    The manifest maps each file read to its sha256 and row count, for ``run.json``. ``cases``:
    the cases read elsewhere (a URI, docs/scale.md) as (its URI, the Arrow table read), checked
    cell by cell like a Parquet file in DATA_DIR, which must then have no cases file of its own;
    its manifest entry hashes the checked table's content (``_content_sha256``).
    """
    problems: list[Problem] = []
    manifest: dict[str, dict[str, Any]] = {}
    tables: dict[str, pa.Table | None] = {}
    sources: dict[str, str] = {}
    partial: set[str] = set()  # tables read with some bad rows left out
    # The tables are read two at a time (the cases beside the others: the reference cases are
    # the second biggest) while a third thread hashes the files; results are taken in order.
    hashing = ThreadPoolExecutor(max_workers=1)
    reading = ThreadPoolExecutor(max_workers=2)
    pending: list[tuple[str, Path, Future[tuple[pa.Table | None, list[Problem]]], Future[str]]] = []
    for key, spec, required in (
        ("hospitals", HOSPITALS, True),
        ("groups", GROUPS, True),
        ("cases", CASES, True),
        ("assessment", ASSESSMENT, False),
        ("deductions", DEDUCTIONS, False),
        ("reference", REFERENCE, False),
        ("regrouped", REGROUPED, False),
        ("advances", ADVANCES, False),
    ):
        path = find_table(data_dir, spec.name, spec.titles)
        if key == "cases" and cases is not None:
            uri, given = cases
            if path is not None:
                problems.append(
                    Problem(
                        "drg.input.cases_twice",
                        f"病例既由 {uri} 给出, 输入目录中又有 {path.name}: 只能有一处 (cases given twice)",
                        Source(path.name),
                    )
                )
                tables[key] = None
                continue
            table, found = read_arrow_table(given, spec, uri, keep_valid_rows=True)
            problems += found
            if found:
                partial.add(key)
            tables[key] = table
            sources[key] = uri
            manifest[uri] = {
                "sha256": _content_sha256(table, spec) if table is not None else None,
                "rows": table.num_rows if table is not None else None,
            }
            continue
        if path is None:
            tables[key] = None
            if required:
                problems.append(
                    Problem(
                        "drg.input.missing_file",
                        f"缺少输入文件 {spec.name}.csv 或 {spec.name}.xlsx",
                        Source(f"{spec.name}.csv"),
                    )
                )
            continue
        digest = hashing.submit(file_sha256, path)
        pending.append((key, path, reading.submit(read_table, path, spec, keep_valid_rows=True), digest))
    for key, path, read, digest in pending:
        table, found = read.result()
        problems += found
        if found:
            partial.add(key)
        tables[key] = table
        sources[key] = path.name
        manifest[path.name] = {
            "sha256": digest.result(),
            "rows": table.num_rows if table is not None else None,
        }
    reading.shutdown(wait=True)
    hashing.shutdown(wait=True)
    params, found = read_settlement(data_dir / SETTLEMENT_FILE)
    problems += found
    if (data_dir / SETTLEMENT_FILE).is_file():
        manifest[SETTLEMENT_FILE] = {"sha256": file_sha256(data_dir / SETTLEMENT_FILE)}
    sources["settlement"] = SETTLEMENT_FILE
    if problems or params is None:
        return None, problems + _cross_problems(tables, sources, params, partial), manifest
    hospitals, groups, cases = tables["hospitals"], tables["groups"], tables["cases"]
    assert hospitals is not None and groups is not None and cases is not None
    reference = None
    if tables["reference"] is not None:
        reference, found = _reference_levels(tables["reference"], hospitals, sources["reference"])
        problems += found
    if problems:
        return None, problems, manifest
    inputs = DrgInputs(
        params=params,
        hospitals=hospitals,
        groups=groups,
        cases=cases,
        reference=reference,
        assessment=tables["assessment"],
        deductions=tables["deductions"],
        regrouped=tables["regrouped"],
        advances=tables["advances"],
        sources=sources,
    )
    return inputs, [], manifest


def _content_sha256(table: pa.Table, spec: TableSpec) -> str:
    """The hash of a table read from a URI: its rows in key order without ``_row``, so the
    same cases give the same hash whatever order an engine read the parts in."""
    content = table.drop_columns([c for c in ("_row",) if c in table.column_names])
    return arrow_sha256(content.sort_by([(key, "ascending") for key in spec.key]))


def _cross_problems(
    tables: Mapping[str, pa.Table | None],
    sources: dict[str, str],
    params: SettlementParams | None,
    partial: set[str],
) -> list[Problem]:
    """The cross-table problems of what could be read, so one round reports every problem.

    A file that could not be read at all stands in empty, a file with bad cells or keys by its
    valid rows (000 issue 16 item 4: a duplicate id and a negative cost do not hide an unknown
    hospital). Checks that need a missing or partly read table are left to the next round:
    the year check needs ``settlement.toml``, the reference check every reference case.
    """
    if all(tables.get(key) is None for key in ("hospitals", "groups", "cases")):
        return []
    found = validate_inputs(
        DrgInputs(
            params=params if params is not None else SettlementParams(0, D(1)),
            hospitals=_or_empty(tables["hospitals"], HOSPITALS_SCHEMA),
            groups=_or_empty(tables["groups"], GROUPS_SCHEMA),
            cases=_or_empty(tables["cases"], CASES_SCHEMA),
            assessment=tables["assessment"],
            deductions=tables["deductions"],
            regrouped=tables["regrouped"],
            advances=tables["advances"],
            sources=sources,
        ),
        check_year=params is not None,
    )
    unknown_codes = {
        "hospitals": (
            "drg.case.unknown_hospital",
            "drg.deduction.unknown_hospital",
            "drg.assessment.unknown_hospital",
            "drg.advance.unknown_hospital",
        ),
        "groups": ("drg.case.unknown_drg", "drg.regrouped.unknown_drg"),
        "cases": ("drg.regrouped.unknown_case", "drg.regrouped.not_ungrouped"),
    }
    skip = {"drg.reference.empty", "drg.settlement.bad_budget", "drg.settlement.bad_shares"}
    for key, codes in unknown_codes.items():
        if tables.get(key) is None or key in partial:  # an unread hospital is not unknown
            skip.update(codes)
    return [p for p in found if p.code not in skip]


def _or_empty(table: pa.Table | None, schema: pa.Schema) -> pa.Table:
    return schema.empty_table() if table is None else table


def read_settlement(path: Path) -> tuple[SettlementParams | None, list[Problem]]:
    """settlement.toml: ``year``, ``drg_budget`` (a decimal string), optional ``monthly_shares``."""
    name = path.name
    if not path.is_file():
        return None, [Problem("drg.input.missing_file", f"缺少输入文件 {name}", Source(name))]
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        return None, [Problem("drg.settlement.syntax", f"无法解析: {exc}", Source(name))]
    problems: list[Problem] = []
    year = data.get("year")
    if not isinstance(year, int) or isinstance(year, bool) or not 1900 <= year <= 2200:
        problems.append(
            Problem(
                "drg.settlement.bad_year", f"year 应为年份整数, 实际为 {year!r}", Source(name, key="year")
            )
        )
    budget_lines: tuple[tuple[str, str, str, Decimal, str], ...] = ()
    if "fund_budget" in data:
        if "drg_budget" in data:
            problems.append(
                Problem(
                    "drg.settlement.budget_twice",
                    "drg_budget 与 [fund_budget] 只能给出其一 (the budget is given or derived, not both)",
                    Source(name, key="drg_budget"),
                )
            )
        budget, budget_lines, found = _fund_budget(data["fund_budget"], name)
        problems += found
    else:
        budget = _decimal_value(data.get("drg_budget"))
        if budget is None:
            problems.append(
                Problem(
                    "drg.settlement.bad_budget",
                    f'drg_budget 应为金额 (如 "123456789.00"), 实际为 {data.get("drg_budget")!r}',
                    Source(name, key="drg_budget"),
                )
            )
    shares: tuple[Decimal, ...] | None = None
    if "monthly_shares" in data:
        raw = data["monthly_shares"]
        parsed = [_decimal_value(v) for v in raw] if isinstance(raw, list) else [None]
        if any(v is None for v in parsed):
            problems.append(
                Problem(
                    "drg.settlement.bad_shares",
                    "monthly_shares 应为12个小数",
                    Source(name, key="monthly_shares"),
                )
            )
        else:
            shares = tuple(v for v in parsed if v is not None)
    unknown = sorted(set(data) - {"year", "drg_budget", "monthly_shares", "fund_budget"})
    for key in unknown:
        problems.append(Problem("drg.settlement.unknown_key", f"未知参数 {key}", Source(name, key=key)))
    if problems:
        return None, problems
    assert isinstance(year, int) and budget is not None
    return SettlementParams(year, budget, shares, budget_lines), []


def _budget_table(lines: tuple[tuple[str, str, str, Decimal, str], ...]) -> pa.Table:
    columns = list(zip(*lines, strict=True))
    return pa.table(
        {
            "scheme": pa.array(columns[0], pa.string()),
            "item": pa.array(columns[1], pa.string()),
            "label": pa.array(columns[2], pa.string()),
            "amount": pa.array(columns[3], pa.decimal128(18, 2)),
            "article": pa.array(columns[4], pa.string()),
        }
    )


def _fund_budget(
    raw: object, name: str
) -> tuple[Decimal | None, tuple[tuple[str, str, str, Decimal, str], ...], list[Problem]]:
    """``[fund_budget.<scheme>]`` → the DRG budget, its build-up lines (000 篇6 第六条), problems."""
    if not isinstance(raw, dict) or not raw:
        return (
            None,
            (),
            [
                Problem(
                    "drg.settlement.bad_fund_budget",
                    "[fund_budget] 应含 employee 和/或 resident 表",
                    Source(name, key="fund_budget"),
                )
            ],
        )
    problems: list[Problem] = []
    schemes: dict[str, dict[str, Decimal]] = {}
    for scheme, values in raw.items():
        key = f"fund_budget.{scheme}"
        if scheme not in SCHEMES or not isinstance(values, dict):
            problems.append(
                Problem(
                    "drg.settlement.bad_fund_budget",
                    f"未知险种 {scheme} (应为 employee 或 resident)",
                    Source(name, key=key),
                )
            )
            continue
        allowed = {POOLED, *scheme_items(scheme)}
        parsed: dict[str, Decimal] = {}
        for item, value in values.items():
            amount = _decimal_value(value)
            if item not in allowed:
                problems.append(
                    Problem(
                        "drg.settlement.bad_fund_budget",
                        f"未知项目 {item}",
                        Source(name, key=f"{key}.{item}"),
                    )
                )
            elif amount is None or amount < 0 or amount != amount.quantize(Decimal("0.01")):
                problems.append(
                    Problem(
                        "drg.settlement.bad_fund_budget",
                        f"{item} 应为不小于 0、最多两位小数的金额, 实际为 {value!r}",
                        Source(name, key=f"{key}.{item}"),
                    )
                )
            else:
                parsed[item] = amount
        if POOLED not in values:
            problems.append(
                Problem(
                    "drg.settlement.bad_fund_budget",
                    f"缺少 {POOLED} (统筹基金支出预算总额)",
                    Source(name, key=key),
                )
            )
        schemes[scheme] = parsed
    if problems:
        return None, (), problems
    lines, _, total = drg_budget_lines(schemes)
    return total, tuple((x.scheme, x.item, x.label, x.amount, x.article) for x in lines), []


def _decimal_value(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        return None
    try:
        return D(value)
    except (ValueError, TypeError):
        return None


def _reference_levels(
    reference: pa.Table, hospitals: pa.Table, source: str
) -> tuple[pa.Table | None, list[Problem]]:
    """Give every reference case its level: from ``level``, else from its hospital; in row order.

    The hospital's level is looked up by its id (unique in hospitals, each with a level) rather
    than joined: no sort of a million rows back into their order afterwards (0.25 s of CPU).
    """
    ids = hospitals.column("hospital_id").combine_chunks()
    at = pc.index_in(reference.column("hospital_id"), value_set=ids, skip_nulls=True)
    level = pc.coalesce(
        reference.column("level").cast(pa.int64()), hospitals.column("level").cast(pa.int64()).take(at)
    )
    names = ["drg_code", "level", "total_cost", "_row"]
    table = pa.table(
        [
            reference.column("drg_code"),
            level,
            *(reference.column(n) for n in ("total_cost", "_row", "hospital_id")),
        ],
        names=[*names, "hospital_id"],
    )
    rows = table.column("_row")
    if len(rows) > 1 and not pc.all(pc.less(rows.slice(0, len(rows) - 1), rows.slice(1))).as_py():
        table = table.sort_by("_row")
    missing = table.filter(pc.is_null(table.column("level"))).slice(0, 200)
    if missing.num_rows:
        return None, [
            Problem(
                "drg.reference.no_level",
                f"参考病例须给出医院等级, 或属于 hospitals 中的医疗机构 (医疗机构编码 {hid or '(空)'})",
                Source(source, int(row), "hospital_id"),
            )
            for row, hid in zip(missing["_row"].to_pylist(), missing["hospital_id"].to_pylist(), strict=True)
        ]
    return table.select(names), []


CASE_POINTS_PARQUET = "case_points.parquet"


def write_case_points_parquet(ordered: pa.Table, path: Path) -> None:
    """Every case, sorted by (hospital_id, case_id) (``by_hospital_and_case``), in row groups
    small enough to skip by hospital (the web's case lists read it so); zstd-compressed."""
    pq.write_table(ordered, path, row_group_size=64 * 1024, compression="zstd")


def by_hospital_and_case(case_points: pa.Table) -> pa.Table:
    """``case_points`` sorted by (hospital_id, case_id).

    The settlement gives the cases by case_id (case_points.csv's order), so a stable sort on
    the hospital alone — an integer rank per hospital, sorted by NumPy (a radix sort) — gives
    the order; a two-key sort of the texts takes about 0.7 s of one core at a million cases.
    Any other input is sorted on both keys.
    """
    case_id = case_points.column("case_id")
    hospital_id = case_points.column("hospital_id")
    n = case_points.num_rows
    by_case = n < 2 or (
        not case_id.null_count and pc.all(pc.less(case_id.slice(0, n - 1), case_id.slice(1))).as_py()
    )
    if not by_case or hospital_id.null_count:
        return case_points.sort_by([("hospital_id", "ascending"), ("case_id", "ascending")])
    encoded = pc.dictionary_encode(hospital_id.combine_chunks())
    # up to 65,536 hospitals the rank fits 16 bits, and NumPy's stable sort of 16-bit integers
    # is a radix sort: 0.01 against 0.05 CPU-s at a million cases (0.11 against 0.7 at ten)
    kind = np.uint16 if len(encoded.dictionary) <= 1 << 16 else np.int32
    rank = np.empty(len(encoded.dictionary), kind)
    rank[pc.sort_indices(encoded.dictionary).to_numpy()] = np.arange(len(rank), dtype=kind)
    order = np.argsort(rank[encoded.indices.to_numpy()], kind="stable")
    return case_points.take(pa.array(order))


OUTPUT_TABLES = {
    "case_points.csv": "case_points",
    "monthly.csv": "monthly",
    "monthly_payments.csv": "monthly_payments",
    "annual.csv": "annual",
    "drg_standards.csv": "standards",
    "coefficients.csv": "coefficients",
}


def write_outputs(
    result: SettlementResult,
    out_dir: Path,
    *,
    policy: DrgPolicy,
    manifest: Mapping[str, Mapping[str, Any]],
    hospitals: pa.Table,
    report_cases: bool | None = False,
    hospital_books: bool = True,
    budget_lines: tuple[tuple[str, str, str, Decimal, str], ...] = (),
) -> dict[str, Any]:
    """Write every output file into OUT_DIR at once; returns the run record written to run.json.

    By default (docs/drg-outputs.md) report.xlsx has the summary sheets, each hospital gets
    ``hospitals/<hospital_id>.xlsx`` with its statement and its cases, and every case is in
    case_points.csv and case_points.parquet. ``report_cases``: also put the cases into
    report.xlsx (the old single workbook) — None means "when they fit in a sheet".
    ``hospital_books``: write the hospital workbooks. ``budget_lines``: the DRG budget's
    build-up from the fund (000 篇6 第六条), written as ``drg_budget.csv`` when the budget was
    derived rather than given.
    """
    with staged_output(out_dir) as staging:
        # Four writers at once: report.xlsx (Python, xlsxwriter), the CSV files (DuckDB),
        # case_points.parquet (Arrow) and the hospital workbooks (DuckDB, then ISA-L in two
        # threads); all but the first release the GIL, so the two cores stay busy.
        with ThreadPoolExecutor(max_workers=3) as pool:
            report = pool.submit(
                write_report,
                result,
                staging / "report.xlsx",
                policy=policy,
                hospitals=hospitals,
                report_cases=report_cases,
            )
            tables = {name: getattr(result, attr) for name, attr in OUTPUT_TABLES.items()}
            if budget_lines:
                tables["drg_budget.csv"] = _budget_table(budget_lines)
            if result.packages is not None:
                tables["packages.csv"] = result.packages
            if result.advances is not None:
                tables["advances.csv"] = result.advances
            if result.scheme_payments is not None:
                tables["scheme_payments.csv"] = result.scheme_payments
            csv_files = pool.submit(write_csv_tables, staging, tables)
            _write_warnings(result, staging / "warnings.csv")
            ordered = by_hospital_and_case(result.case_points)
            parquet = pool.submit(write_case_points_parquet, ordered, staging / CASE_POINTS_PARQUET)
            if hospital_books:
                write_hospital_books(result, staging / HOSPITALS_DIR, ordered_cases=ordered)
            for written in (report, csv_files, parquet):
                written.result()
        record = run_record(
            "drg.settlement",
            policy.source,
            manifest,
            output_hashes(staging),
            result.totals,
            result.checks,
            len(result.warnings),
        )
        write_run_json(staging, record)
    return record


def _write_warnings(result: SettlementResult, path: Path) -> None:
    import csv

    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", "where", "message"])
        for problem in result.warnings:
            writer.writerow(csv_row([problem.code, str(problem.where), problem.message]))
