"""Capitation files (医共体按人头总额预付文件): inputs in, outputs out (all or nothing).

A data folder holds ``fund.toml`` and the tables ``communities``, ``members``, ``population``,
``spending`` and ``scores`` (CSV UTF-8/GBK or ``.xlsx``, English or Chinese headers, read through
``shidian.tables``). Every problem of every file is reported at once, as
``file:row:column: code message``. Outputs: ``budget.csv``, ``prepayments.csv``,
``settlement.csv``, ``distribution.csv``, ``report.xlsx``, ``policy.toml`` (the policy's text,
so ``explain`` reads the run alone) and ``run.json``, written together or not at all.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa

from shidian.capitation.model import (
    TIER_ALIASES,
    BudgetLine,
    Community,
    Fund,
    Inputs,
    Member,
    Prepayment,
    Share,
    YearEnd,
)
from shidian.capitation.settlement import Settlement
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
from shidian.tables import Column, TableSpec, find_table, read_table

FUND_FILE = "fund.toml"
_COMMUNITY_ID = Column("community_id", "str", ("医共体编号", "医共体代码", "医共体"), label="医共体编号")
_INSTITUTION_ID = Column("institution_id", "str", ("机构编号", "机构代码", "医疗机构编号"), label="机构编号")

SPECS: Mapping[str, TableSpec] = {
    "communities": TableSpec(
        "communities",
        (
            _COMMUNITY_ID,
            Column("name", "str", ("医共体名称", "名称"), label="医共体名称"),
            Column(
                "lead_institution_id",
                "str",
                ("牵头医院编号", "牵头机构编号", "牵头医院"),
                label="牵头医院编号",
            ),
        ),
        key=("community_id",),
    ),
    "members": TableSpec(
        "members",
        (
            _INSTITUTION_ID,
            Column("name", "str", ("机构名称", "名称"), label="机构名称"),
            _COMMUNITY_ID,
            Column("tier", "str", ("层级", "级别", "机构层级"), choices=tuple(TIER_ALIASES), label="层级"),
        ),
        key=("institution_id",),
    ),
    "population": TableSpec(
        "population",
        (
            _COMMUNITY_ID,
            Column("insured", "int", ("参保人数", "人头数", "参保人口"), min=Decimal(0), label="参保人数"),
        ),
        key=("community_id",),
    ),
    "spending": TableSpec(
        "spending",
        (
            _COMMUNITY_ID,
            Column(
                "fund_paid",
                "money",
                ("基金支出", "医保基金支出", "统筹支付"),
                min=Decimal(0),
                label="基金支出",
            ),
        ),
        key=("community_id",),
    ),
    "scores": TableSpec(
        "scores",
        (
            _INSTITUTION_ID,
            Column(
                "score",
                "decimal",
                ("考核得分", "得分", "绩效考核得分"),
                min=Decimal(0),
                max=Decimal(100),
                label="考核得分",
            ),
        ),
        key=("institution_id",),
    ),
}
VILLAGES = TableSpec(
    "villages",
    (Column("village_code", "str", ("行政村代码", "村代码"), label="行政村代码"), _COMMUNITY_ID),
    key=("village_code",),
)
#: The file of a resident-insurance run read by ``--claims``: paid reimbursements and insured by village.
RUN_VILLAGES = "notice_villages.csv"
_FUND_KEYS = ("year", "funding_total", "funding_last_year", "catastrophic", "accident")
_FUND_LABELS = {
    "year": "年度",
    "funding_total": "当年筹资总额",
    "funding_last_year": "上一年筹资总额",
    "catastrophic": "大病保险基金",
    "accident": "意外伤害补偿基金",
}


def read_fund(path: Path) -> tuple[Fund | None, list[Problem]]:
    """``fund.toml``: the year's funding and deductions; every problem names the key."""
    if not path.is_file():
        return None, [Problem("capitation.input.missing", f"缺少输入文件 {FUND_FILE}", Source(FUND_FILE))]
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        return None, [Problem("capitation.fund.syntax", f"TOML 语法错误: {exc}", Source(FUND_FILE))]
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    for key in _FUND_KEYS:
        where = Source(FUND_FILE, key=key)
        if key not in data:
            problems.append(Problem("capitation.fund.missing", f"缺少 {key} ({_FUND_LABELS[key]})", where))
            continue
        value = data[key]
        if key == "year":
            if isinstance(value, bool) or not isinstance(value, int) or not 1990 <= value <= 2200:
                problems.append(Problem("capitation.fund.invalid", f"year 应为年份, 实际为 {value!r}", where))
            values[key] = value
            continue
        amount = _amount(value)
        if amount is None:
            problems.append(
                Problem(
                    "capitation.fund.invalid",
                    f"{key} ({_FUND_LABELS[key]}) 应为不小于 0、最多两位小数的金额, 实际为 {value!r}",
                    where,
                )
            )
        values[key] = amount
    others: list[tuple[str, Decimal]] = []
    raw_others = data.get("other_deductions", {})
    if not isinstance(raw_others, dict):
        problems.append(
            Problem(
                "capitation.fund.invalid",
                "other_deductions 应为表: 名称 = 金额",
                Source(FUND_FILE, key="other_deductions"),
            )
        )
        raw_others = {}
    for name, value in raw_others.items():
        amount = _amount(value)
        if amount is None:
            problems.append(
                Problem(
                    "capitation.fund.invalid",
                    f"其他扣除 {name} 应为不小于 0、最多两位小数的金额, 实际为 {value!r}",
                    Source(FUND_FILE, key=f"other_deductions.{name}"),
                )
            )
        else:
            others.append((str(name), amount))
    for key in sorted(set(data) - set(_FUND_KEYS) - {"other_deductions"}):
        problems.append(Problem("capitation.fund.unknown", f"未知的键 {key}", Source(FUND_FILE, key=key)))
    if problems:
        return None, problems
    return Fund(
        values["year"],
        values["funding_total"],
        values["funding_last_year"],
        values["catastrophic"],
        values["accident"],
        tuple(others),
    ), []


def _amount(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return None
    number = Decimal(value)
    if number < 0 or number != number.quantize(Decimal("0.01")):
        return None
    return number.quantize(Decimal("0.01"))


def read_inputs(
    data_dir: Path, claims_run: Path | None = None
) -> tuple[Inputs | None, dict[str, dict[str, Any]], list[Problem]]:
    """Every input of a run: the ``Inputs``, the manifest (file, sha256, rows) and every problem.

    With ``claims_run`` (a resident-insurance run's folder) the ``spending`` table is replaced by
    the run's paid reimbursements by village (``notice_villages.csv``) through the ``villages``
    map (village_code → community_id); a missing ``population`` table is then the run's insured."""
    problems: list[Problem] = []
    manifest: dict[str, dict[str, Any]] = {}
    fund, found = read_fund(data_dir / FUND_FILE)
    problems += found
    if (data_dir / FUND_FILE).is_file():
        manifest[FUND_FILE] = {"file": FUND_FILE, "sha256": file_sha256(data_dir / FUND_FILE)}
    tables: dict[str, list[dict[str, Any]]] = {}
    files: dict[str, str] = {}
    specs = dict(SPECS)
    if claims_run is not None:
        del specs["spending"]
        specs["villages"] = VILLAGES
        if find_table(data_dir, "spending") is not None:
            problems.append(
                Problem(
                    "capitation.claims.spending_too",
                    "已用 --claims 从医保结算取基金支出, 输入目录中不应再有 spending 表",
                    Source("spending.csv"),
                )
            )
    for name, spec in specs.items():
        path = find_table(data_dir, name)
        if path is None:
            if name == "population" and claims_run is not None:
                continue
            problems.append(
                Problem(
                    "capitation.input.missing", f"缺少输入表 {name} (.csv 或 .xlsx)", Source(f"{name}.csv")
                )
            )
            continue
        files[name] = path.name
        table, found = read_table(path, spec)
        problems += found
        manifest[name] = {
            "file": path.name,
            "sha256": file_sha256(path),
            "rows": 0 if table is None else table.num_rows,
        }
        if table is not None:
            tables[name] = table.to_pylist()
    if claims_run is not None and "villages" in tables and "communities" in tables:
        year = None if fund is None else fund.year
        derived, found, entry = _from_claims_run(
            claims_run, tables["villages"], files["villages"], tables["communities"], year
        )
        problems += found
        if entry is not None:
            manifest[RUN_VILLAGES] = entry
        if derived is not None:
            run_spending, run_insured = derived
            tables["spending"] = run_spending
            files["spending"] = RUN_VILLAGES
            if "population" not in tables and "population" not in files:
                tables["population"] = run_insured
                files["population"] = RUN_VILLAGES
        del specs["villages"]
        specs["spending"] = SPECS["spending"]
    if any(name not in tables for name in SPECS):
        return None, manifest, problems
    problems += _cross_check(tables, files)
    if any(p.severity == "error" for p in problems) or fund is None:
        return None, manifest, problems
    scores = {r["institution_id"]: D(r["score"]) for r in tables["scores"]}
    communities = tuple(
        Community(r["community_id"], r["name"], r["lead_institution_id"])
        for r in sorted(tables["communities"], key=lambda r: r["community_id"])
    )
    members = tuple(
        Member(
            r["institution_id"],
            r["name"],
            r["community_id"],
            TIER_ALIASES[r["tier"]],
            scores[r["institution_id"]],
        )
        for r in sorted(tables["members"], key=lambda r: r["institution_id"])
    )
    insured = {r["community_id"]: int(r["insured"]) for r in tables["population"]}
    spending = {r["community_id"]: D(r["fund_paid"]) for r in tables["spending"]}
    return Inputs(fund, communities, members, insured, spending), manifest, problems


def _from_claims_run(
    run_dir: Path,
    villages: list[dict[str, Any]],
    villages_file: str,
    communities: list[dict[str, Any]],
    year: int | None,
) -> tuple[tuple[list[dict[str, Any]], list[dict[str, Any]]] | None, list[Problem], dict[str, Any] | None]:
    """Spending and insured by community from a resident-insurance run's villages file."""
    path = run_dir / RUN_VILLAGES
    record = run_dir / "run.json"
    if not path.is_file() or not record.is_file():
        return (
            None,
            [
                Problem(
                    "capitation.claims.not_a_run",
                    f"{run_dir} 不是城乡居民医保结算的输出目录 (缺少 {RUN_VILLAGES} 或 run.json)",
                    Source(str(run_dir)),
                )
            ],
            None,
        )
    run = json.loads(record.read_text(encoding="utf-8"))
    kind = run.get("kind")
    if kind != "insurance.reimbursement":
        return (
            None,
            [
                Problem(
                    "capitation.claims.not_a_run",
                    f"{run_dir} 是 {kind} 的输出, 不是医保结算",
                    Source(str(record)),
                )
            ],
            None,
        )
    known = {r["community_id"] for r in communities}
    problems: list[Problem] = []
    run_year = str(run.get("totals", {}).get("year", ""))
    if year is not None and run_year and run_year != str(year):
        problems.append(
            Problem(
                "capitation.claims.other_year",
                f"医保结算的年度为 {run_year}, 与 fund.toml 的年度 {year} 不同",
                Source(str(record), key="totals.year"),
            )
        )
    mapping: dict[str, str] = {}
    for r in villages:
        if r["community_id"] not in known:
            problems.append(
                Problem(
                    "capitation.villages.unknown_community",
                    f"医共体 {r['community_id']} 不在 communities 中",
                    Source(villages_file, r["_row"], "community_id"),
                )
            )
        mapping[r["village_code"]] = r["community_id"]
    spending = {cid: Decimal(0) for cid in known}
    insured = {cid: 0 for cid in known}
    seen: set[str] = set()
    rows = _rows(path)
    for number, row in enumerate(rows, start=2):
        cid = mapping.get(row["village_code"])
        if cid is None:
            problems.append(
                Problem(
                    "capitation.villages.unmapped",
                    f"行政村 {row['village_code']} 不在 villages 对照表中, 其基金支出 {row['reimbursement']} 元无处归属",
                    Source(RUN_VILLAGES, number, "village_code"),
                )
            )
            continue
        if cid in known:
            seen.add(cid)
            spending[cid] += D(row["reimbursement"])
            insured[cid] += int(row["insured"])
    entry = {
        "file": RUN_VILLAGES,
        "sha256": file_sha256(path),
        "rows": len(rows),
        "run_id": run.get("run_id"),
    }
    if problems:
        return None, problems, entry
    order = sorted(seen)
    return (
        (
            [{"community_id": c, "fund_paid": spending[c], "_row": None} for c in order],
            [{"community_id": c, "insured": insured[c], "_row": None} for c in order],
        ),
        [],
        entry,
    )


def _cross_check(tables: Mapping[str, list[dict[str, Any]]], files: Mapping[str, str]) -> list[Problem]:
    """References between the tables: every id known, every community and member complete."""
    problems: list[Problem] = []
    communities = {r["community_id"]: r for r in tables["communities"]}
    members = {r["institution_id"]: r for r in tables["members"]}
    for r in tables["members"]:
        if r["community_id"] not in communities:
            problems.append(
                Problem(
                    "capitation.members.unknown_community",
                    f"医共体 {r['community_id']} 不在 communities 中",
                    Source(files["members"], r["_row"], "community_id"),
                )
            )
    for r in tables["communities"]:
        lead = members.get(r["lead_institution_id"])
        if lead is None or lead["community_id"] != r["community_id"]:
            problems.append(
                Problem(
                    "capitation.communities.unknown_lead",
                    f"牵头医院 {r['lead_institution_id']} 不是医共体 {r['community_id']} 的成员单位 (members)",
                    Source(files["communities"], r["_row"], "lead_institution_id"),
                )
            )
    for name in ("population", "spending"):
        seen = set()
        for r in tables[name]:
            seen.add(r["community_id"])
            if r["community_id"] not in communities:
                problems.append(
                    Problem(
                        f"capitation.{name}.unknown_community",
                        f"医共体 {r['community_id']} 不在 communities 中",
                        Source(files[name], r["_row"], "community_id"),
                    )
                )
        for cid in sorted(set(communities) - seen):
            problems.append(
                Problem(
                    f"capitation.{name}.missing", f"医共体 {cid} 在 {name} 中没有一行", Source(files[name])
                )
            )
    scored = set()
    for r in tables["scores"]:
        scored.add(r["institution_id"])
        if r["institution_id"] not in members:
            problems.append(
                Problem(
                    "capitation.scores.unknown_institution",
                    f"机构 {r['institution_id']} 不在 members 中",
                    Source(files["scores"], r["_row"], "institution_id"),
                )
            )
    for iid in sorted(set(members) - scored):
        problems.append(
            Problem("capitation.scores.missing", f"成员单位 {iid} 没有考核得分", Source(files["scores"]))
        )
    return problems


# ---- outputs ------------------------------------------------------------------------------

_MONEY = pa.decimal128(18, 2)
_SCORE = pa.decimal128(38, 8)
SETTLEMENT_COLUMNS = (
    "community_id",
    "insured",
    "pot",
    "prepaid",
    "spending",
    "surplus",
    "overspend",
    "reasonable",
    "fund_share",
    "reserve_drawn",
    "community_share",
    "retained",
)


def budget_table(s: Settlement) -> pa.Table:
    lines = s.budget.lines
    return pa.table(
        {
            "code": [line.code for line in lines],
            "label": [line.label for line in lines],
            "amount": pa.array([line.amount for line in lines], _MONEY),
            "article": [line.article for line in lines],
            "formula": [line.formula for line in lines],
        }
    )


def prepayments_table(s: Settlement) -> pa.Table:
    rows = s.prepayments
    return pa.table(
        {
            "community_id": [p.community_id for p in rows],
            "quarter": pa.array([p.quarter for p in rows], pa.int32()),
            "due_on": pa.array([p.due_on for p in rows], pa.date32()),
            "amount": pa.array([p.amount for p in rows], _MONEY),
        }
    )


def settlement_table(s: Settlement) -> pa.Table:
    columns: dict[str, Any] = {}
    for name in SETTLEMENT_COLUMNS:
        values = [getattr(e, name) for e in s.year_ends]
        columns[name] = (
            values
            if name == "community_id"
            else pa.array(values, pa.int64() if name == "insured" else _MONEY)
        )
    return pa.table(columns)


def distribution_table(s: Settlement) -> pa.Table:
    rows = s.shares
    return pa.table(
        {
            "institution_id": [r.institution_id for r in rows],
            "community_id": [r.community_id for r in rows],
            "tier": [r.tier for r in rows],
            "score": pa.array([r.score for r in rows], _SCORE),
            "weight": pa.array([r.weight for r in rows], _SCORE),
            "tier_amount": pa.array([r.tier_amount for r in rows], _MONEY),
            "amount": pa.array([r.amount for r in rows], _MONEY),
        }
    )


def write_run(s: Settlement, out_dir: Path, manifest: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Write every output into ``out_dir`` together, or nothing; returns the run record."""
    from shidian.capitation.report import write_report

    policy = s.policy.source
    with staged_output(out_dir) as folder:
        write_csv_tables(
            folder,
            {
                "budget.csv": budget_table(s),
                "prepayments.csv": prepayments_table(s),
                "settlement.csv": settlement_table(s),
                "distribution.csv": distribution_table(s),
            },
        )
        write_report(s, folder / "report.xlsx")
        (folder / "policy.toml").write_text(_policy_text(s), encoding="utf-8")
        b = s.budget
        record = run_record(
            "capitation.settlement",
            policy,
            manifest,
            output_hashes(folder),
            {
                "year": str(s.inputs.fund.year),
                "funding_total_yuan": str(s.inputs.fund.funding_total),
                "risk_reserve_yuan": str(b.reserve),
                "base_yuan": str(b.base),
                "pot_yuan": str(b.pot),
                "adjustment_yuan": str(b.adjustment),
                "communities": str(len(s.year_ends)),
            },
            s.checks,
            0,
        )
        write_run_json(folder, record)
    return record


def _policy_text(s: Settlement) -> str:
    from shidian.capitation.policy import POLICIES

    source = s.policy.source.source
    prefix = "policies/capitation/"
    if source.startswith(prefix):
        return POLICIES.text(source.removeprefix(prefix).removesuffix(".toml"))
    return Path(source).read_text(encoding="utf-8")


# ---- reading a run back (explain) ---------------------------------------------------------


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _year_end(row: Mapping[str, str]) -> YearEnd:
    money = {k: D(row[k]) for k in SETTLEMENT_COLUMNS if k not in ("community_id", "insured")}
    return YearEnd(community_id=row["community_id"], insured=int(row["insured"]), **money)


def read_run(run_dir: Path) -> tuple[dict[str, Any] | None, list[Problem]]:
    """A written run: its record, policy text, budget lines, prepayments, year ends and shares."""
    needed = (
        "run.json",
        "policy.toml",
        "budget.csv",
        "prepayments.csv",
        "settlement.csv",
        "distribution.csv",
    )
    missing = [name for name in needed if not (run_dir / name).is_file()]
    if missing:
        return None, [
            Problem(
                "capitation.run.missing",
                f"{run_dir} 不是医共体结算的输出目录 (缺少 {name})",
                Source(str(run_dir / name)),
            )
            for name in missing
        ]
    record = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    if record.get("kind") != "capitation.settlement":
        return None, [
            Problem(
                "capitation.run.missing",
                f"{run_dir} 不是医共体结算的输出目录",
                Source(str(run_dir / "run.json")),
            )
        ]
    return {
        "record": record,
        "policy_text": (run_dir / "policy.toml").read_text(encoding="utf-8"),
        "policy_source": str(run_dir / "policy.toml"),
        "lines": [
            BudgetLine(r["code"], r["label"], D(r["amount"]), r["article"], r["formula"])
            for r in _rows(run_dir / "budget.csv")
        ],
        "prepayments": [
            Prepayment(
                r["community_id"], int(r["quarter"]), dt.date.fromisoformat(r["due_on"]), D(r["amount"])
            )
            for r in _rows(run_dir / "prepayments.csv")
        ],
        "year_ends": [_year_end(r) for r in _rows(run_dir / "settlement.csv")],
        "shares": [
            Share(
                r["institution_id"],
                r["community_id"],
                TIER_ALIASES[r["tier"]],
                D(r["score"]),
                D(r["weight"]),
                D(r["tier_amount"]),
                D(r["amount"]),
            )
            for r in _rows(run_dir / "distribution.csv")
        ],
    }, []
