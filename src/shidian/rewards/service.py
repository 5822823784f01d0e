"""以奖代补 workflows: allocate a fund from fact files, store it, and read stored allocations.

One function per workflow; the web pages and the CLI call these. ``allocate_files`` is the
shared core of both doors (rule file + fact tables → a checked allocation, or every problem);
``allocate_uploads`` stores a web allocation under ``var/rewards/<run_id>/`` and audits it.
A reporting unit reads only its own unit's row (its unit code or GB/T 2260 code), in every
workflow; leaders and the pilot office read every unit. A stored allocation another user may
not read is ``not_found``.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from shidian.display import number as format_number
from shidian.display import yuan as format_yuan
from shidian.platform.access import can, require_permission
from shidian.platform.accounts import User
from shidian.platform.audit import Client, log
from shidian.platform.files import staging_root
from shidian.problems import Problem, Source, errors, refusal
from shidian.rewards import store
from shidian.rewards.allocation import Allocation, allocate
from shidian.rewards.events import AllocationStored, WorkbookDownloaded
from shidian.rewards.io import load_rules, read_fact_tables, shipped_rules, stage_rows
from shidian.rewards.rules import RewardRules

SAFE_NAME = re.compile(r"[^0-9A-Za-z._\u4e00-\u9fff-]+")
#: The longest unit filter a run's page takes.
QUERY_MAX = 50

Manifest = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class RuleChoice:
    """A shipped rule file as the allocation form offers it."""

    name: str
    title: str
    seed: str
    pot: str
    stages: str


@dataclass(frozen=True)
class Overview:
    """The stored allocations; each one's own-unit rows for a reader scoped to a unit."""

    runs: list[dict[str, Any]]
    own: dict[str, list[dict[str, Any]]]
    rules: list[RuleChoice]


@dataclass(frozen=True)
class RunView:
    """A stored allocation as a reader may see it (``full``: every unit, with chart and others)."""

    meta: dict[str, Any]
    rows: list[dict[str, Any]]
    full: bool
    top: list[tuple[Any, ...]] = field(default_factory=list)
    others: list[dict[str, Any]] = field(default_factory=list)


NO_ALLOCATION = "没有这个分配结果 (no such allocation)"
NO_UNIT = "没有这个单位 (no such unit)"


def _require(user: User, action: str) -> None:
    require_permission(user, action)


def rule_choices() -> list[RuleChoice]:
    """The shipped rule files (列出规则文件), for the allocation form."""
    return [
        RuleChoice(
            r.meta.id,
            r.meta.name,
            r.meta.seed,
            "—" if r.fund.pot is None else format_yuan(r.fund.pot),
            "; ".join(f"{s.name}: {', '.join(step.name for step in s.steps)}" for s in r.stages),
        )
        for r in shipped_rules()
    ]


def allocate_files(
    rule_name: str,
    paths: Sequence[Path],
    overrides: Sequence[tuple[str, str]] = (),
    names: Sequence[str] | None = None,
) -> tuple[Allocation | None, Manifest, list[Problem]]:
    """分配资金 (from files): rule file (shipped name or TOML path) + fact tables → the
    allocation, its input manifest and its warnings; or None and every problem. The caller
    refuses an allocation whose self-checks fail (``failed_checks``)."""
    rules, problems = load_rules(rule_name, overrides)
    if rules is None:
        return None, {}, problems
    data, problems, manifest = read_fact_tables(rules, paths, names)
    if data is None:
        return None, {}, problems
    allocation, warnings = allocate(rules, data.units, data.recipients)
    if allocation is None or errors(warnings):
        return None, {}, warnings
    return allocation, dict(manifest), warnings


def failed_checks(allocation: Allocation) -> list[Problem]:
    """A problem for each self-check (自检) the allocation fails; none when it is sound."""
    return [
        Problem(
            "rewards.check.failed", f"自检未通过: {c.description}: {c.detail}", Source("<run>", key=c.name)
        )
        for c in allocation.checks
        if not c.ok
    ]


def parse_overrides(text: str) -> tuple[list[tuple[str, str]], list[Problem]]:
    """``key=value`` lines (the what-if parameters) → pairs, or problems."""
    pairs, problems = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            problems.append(
                Problem(
                    "rewards.rules.override_unknown",
                    f"应写作 键=值, 实际为 {line!r}",
                    Source("overrides", row=number),
                )
            )
            continue
        pairs.append((key.strip(), value.strip()))
    return pairs, problems


def allocate_uploads(
    conn: sa.Connection,
    user: User,
    var_dir: Path,
    rule_name: str,
    uploads: list[tuple[str, bytes]],
    overrides: str = "",
    client: Client | None = None,
) -> tuple[str | None, list[Problem]]:
    """分配资金 (web): check, allocate, store and audit; the allocation id, or every problem
    (and nothing stored)."""
    _require(user, "rewards.allocate")
    pairs, problems = parse_overrides(overrides)
    if problems:
        return None, problems
    if rule_name not in {c.name for c in rule_choices()}:
        return None, [Problem("rewards.rules.unknown", f"没有名为 {rule_name} 的规则文件", Source("rules"))]
    if not uploads:
        rules, problems = load_rules(rule_name, pairs)
        if rules is None:
            return None, problems
        return None, [Problem("rewards.facts.no_tables", "请上传事实表 (no fact tables)", Source("<facts>"))]
    # staged inside the data directory, never the system's temporary one (issue 22 finding 6)
    with tempfile.TemporaryDirectory(prefix="rewards-", dir=staging_root(var_dir)) as folder:
        paths, names = [], []
        for index, (name, content) in enumerate(uploads):
            suffix = ".xlsx" if name.lower().endswith((".xlsx", ".xlsm")) else ".csv"
            path = Path(folder) / f"{index:02d}{suffix}"
            path.write_bytes(content)
            paths.append(path)
            names.append(SAFE_NAME.sub("_", Path(name).name)[:100] or f"file{index}")
        allocation, manifest, warnings = allocate_files(rule_name, paths, pairs, names)
        if allocation is None:
            return None, warnings
        failed = failed_checks(allocation)
        if failed:
            return None, failed
        run_id = _run_id(allocation.rules, manifest)
        meta = _meta(run_id, allocation, rule_name, names, pairs, user, warnings)
        store.save_allocation(var_dir, run_id, allocation, manifest, meta)
    log(
        conn,
        AllocationStored(target=run_id, rules=rule_name, files=tuple(n for n, _ in uploads)),
        user,
        client,
    )
    return run_id, []


def _meta(
    run_id: str,
    allocation: Allocation,
    rule_name: str,
    names: list[str],
    overrides: list[tuple[str, str]],
    user: User,
    warnings: list[Problem],
) -> dict[str, Any]:
    rules = allocation.rules
    return {
        "run_id": run_id,
        "rules": rule_name,
        "title": rules.meta.name,
        "seed": rules.meta.seed,
        "unit_label": rules.fund.unit_label,
        "facts": [{"name": f.name, "label": f.label} for f in rules.facts],
        "stages": [{"id": s.id, "name": s.name} for s in rules.stages],
        "stage_rows": [
            {k: (None if v is None else str(v)) for k, v in row.items()} for row in stage_rows(allocation)
        ],
        "total": str(allocation.total),
        "returned": str(allocation.returned),
        "units": allocation.units.num_rows,
        "files": names,
        "overrides": [f"{k}={v}" for k, v in overrides],
        "created_by": user.username,
        "checks": [],
        "warnings": [str(w) for w in warnings],
    }


def _run_id(rules: RewardRules, manifest: Manifest) -> str:
    """The allocation's id: a hash of the rule file, its changed parameters and the inputs."""
    identity = json.dumps(
        {
            "rules": rules.sha256,
            "overrides": rules.overrides,
            "inputs": sorted((k, v["sha256"]) for k, v in manifest.items()),
        },
        sort_keys=True,
    )
    return hashlib.sha256(identity.encode()).hexdigest()[:16]


def _scope(conn: sa.Connection, user: User) -> set[str] | None:
    """None: every unit; else the codes of the user's own unit."""
    return None if can(user, "rewards.view_all") else store.own_unit_codes(conn, user.unit_id)


def _shown(rows: list[dict[str, Any]], meta: dict[str, Any]) -> list[dict[str, Any]]:
    for row in rows:
        row["parts"] = str(row.get("explanation") or "").split(" | ")
        row["total_shown"] = format_yuan(_dec(row["total_yuan"]))
        row["facts_shown"] = [format_number(_dec(row[f["name"]])) for f in meta["facts"]]
        row["stages_shown"] = [format_yuan(_dec(row[f"{s['id']}_yuan"])) for s in meta["stages"]]
    return rows


def _dec(text: object) -> Decimal:
    return Decimal(str(text or "0"))


def overview(conn: sa.Connection, user: User, var_dir: Path) -> Overview:
    """列出分配结果: the stored allocations (a unit-scoped reader: its own unit's rows of each)
    and, for an allocator, the shipped rule files."""
    _require(user, "rewards.view")
    runs = store.list_runs(var_dir)
    scope = _scope(conn, user)
    own: dict[str, list[dict[str, Any]]] = {}
    if scope is not None:
        own = {m["run_id"]: _shown(store.unit_rows(var_dir, m["run_id"], scope), m) for m in runs}
    return Overview(runs, own, rule_choices() if can(user, "rewards.allocate") else [])


def allocation_view(conn: sa.Connection, user: User, var_dir: Path, run_id: str, text: str = "") -> RunView:
    """查看分配结果: a stored allocation's units (all, or the reader's own), filtered by code or name."""
    _require(user, "rewards.view")
    meta = store.run_meta(var_dir, run_id)
    if meta is None:
        raise refusal("not_found", "not_found", NO_ALLOCATION)
    scope = _scope(conn, user)
    rows = _shown(store.unit_rows(var_dir, run_id, scope, text[:QUERY_MAX]), meta)
    if scope is not None:
        return RunView(meta, rows, False)
    top = store.top_units(var_dir, run_id, [s["id"] for s in meta["stages"]])
    others = [m for m in store.list_runs(var_dir) if m["run_id"] != run_id]
    return RunView(meta, rows, True, top, others)


def unit_explanation(
    conn: sa.Connection, user: User, var_dir: Path, run_id: str, code: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """单位分配说明: one unit's amount and arithmetic (a unit-scoped reader: its own unit only)."""
    _require(user, "rewards.view")
    meta = store.run_meta(var_dir, run_id)
    scope = _scope(conn, user)
    if meta is None or (scope is not None and code not in scope):
        raise refusal("not_found", "not_found", NO_UNIT)
    rows = [r for r in store.unit_rows(var_dir, run_id, {code}) if r["unit_code"] == code]
    if not rows:
        raise refusal("not_found", "not_found", NO_UNIT)
    return meta, _shown(rows, meta)[0]


def download_workbook(
    conn: sa.Connection, user: User, var_dir: Path, run_id: str, client: Client | None = None
) -> Path:
    """下载分配结果: the allocation's workbook (every unit: readers of every unit only), audited."""
    _require(user, "rewards.view_all")
    path = store.workbook_path(var_dir, run_id)
    if path is None:
        raise refusal("not_found", "not_found", NO_ALLOCATION)
    log(conn, WorkbookDownloaded(target=run_id), user, client)
    return path


def compare_allocations(
    user: User, var_dir: Path, before: str, after: str
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """模拟测算: the meta of both allocations and each unit whose total changes from ``before``
    to ``after``, largest change first (the stored twin of ``shidian.rewards.compare``)."""
    _require(user, "rewards.view_all")
    first, second = store.run_meta(var_dir, before), store.run_meta(var_dir, after)
    if first is None or second is None:
        raise refusal("not_found", "not_found", NO_ALLOCATION)
    rows = [
        {
            "unit_code": code,
            "unit_name": name,
            "before": format_yuan(was),
            "after": format_yuan(now),
            "change": format_yuan(change, signed=True),
        }
        for code, name, was, now, change in store.changed_units(var_dir, before, after)
    ]
    return first, second, rows
