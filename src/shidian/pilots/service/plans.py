"""Loading plans (加载试点方案) and reading them: a shipped template or an uploaded YAML/xlsx plan.

A file is validated by ``plan_file.parse_plan`` (or ``plan_excel`` for a workbook, stored as the
YAML it parses to): every problem listed, nothing stored on error. The units of the loader's
area at a reporting level become the plan's reporting units.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from shidian.pilots import events
from shidian.pilots.form_excel import MAX_UPLOAD_BYTES
from shidian.pilots.model import Plan
from shidian.pilots.plan_excel import read_plan_xlsx
from shidian.pilots.plan_file import TEMPLATES, load_template, parse_plan, plan_to_yaml
from shidian.pilots.reporting import reporting_units
from shidian.pilots.scope import reads_all, visible_units
from shidian.pilots.service.common import form_problem, refuse
from shidian.pilots.store import plans as store
from shidian.pilots.supervision import DEFAULT_DUE_DAY
from shidian.platform.accounts import User
from shidian.platform.audit import Client, log
from shidian.platform.files import staged_folder
from shidian.platform.units import all_units
from shidian.problems import Problem, Source

# ---- storing --------------------------------------------------------------------------------------


def store_plan(
    conn: sa.Connection,
    plan: Plan,
    text: str,
    source: str,
    user: User | None,
    *,
    due_day: int = DEFAULT_DUE_DAY,
    scope: Iterable[int] | None = None,
) -> tuple[int, int]:
    """Insert ``plan`` as the next version of its code and the units that report under it: units
    in ``scope`` (default: all) of a reporting level, inside the plan's areas. (plan id, units)."""
    tree = all_units(conn)
    chosen = reporting_units(plan, tree.values(), set(tree) if scope is None else set(scope))
    plan_id = store.insert_plan(conn, plan, text, source, getattr(user, "id", None), due_day, chosen)
    return plan_id, len(chosen)


def load_plan_text(
    conn: sa.Connection,
    text: str,
    source: str,
    user: User | None,
    *,
    due_day: int = DEFAULT_DUE_DAY,
    scope: Iterable[int] | None = None,
) -> tuple[int | None, int, list[Problem]]:
    """Validate a YAML plan (``parse_plan``) and store it: (plan id, units, problems). No audit:
    for the set-up of the demo and of tests; users load plans through ``load_template_plan`` and
    ``upload_plan``."""
    plan, problems = parse_plan(text, source)
    if plan is None:
        return None, 0, problems
    plan_id, count = store_plan(conn, plan, text, source, user, due_day=due_day, scope=scope)
    return plan_id, count, problems


# ---- the workflows ------------------------------------------------------------------------------


def load_template_plan(
    conn: sa.Connection, user: User, name: str, due_day: int, client: Client | None = None
) -> tuple[int | None, list[Problem]]:
    """Load the shipped template ``name`` for the user's area: (plan id, problems)."""
    if name not in TEMPLATES:
        message = f"没有模板 {name!r} (unknown template)"
        return None, [form_problem("pilots.template.unknown", message, "name")]
    text = TEMPLATES[name].read_text(encoding="utf-8")
    scope = visible_units(all_units(conn), user)
    plan_id, count, problems = load_plan_text(
        conn, text, TEMPLATES[name].name, user, due_day=due_day, scope=scope
    )
    if plan_id is not None:
        event = events.PlanLoaded(target=f"pilot_plan/{plan_id}", template=name, units=count, due_day=due_day)
        log(conn, event, user, client)
    return plan_id, problems


def upload_plan(
    conn: sa.Connection,
    user: User,
    data: bytes,
    filename: str,
    due_day: int,
    var_dir: Path,
    client: Client | None = None,
) -> tuple[int | None, list[Problem]]:
    """Load an uploaded plan file (YAML, or an .xlsx workbook) for the user's area; a refused file
    is audited too. (plan id, problems). A workbook is read from a folder under ``var/staging``,
    removed at once (never the system's temporary directory)."""
    problems: list[Problem] = []
    plan: Plan | None = None
    text = ""
    if not data or len(data) > MAX_UPLOAD_BYTES:
        message = "没有上传文件或文件超过 5 MB (no file or too large)"
        problems.append(Problem("pilots.upload.empty", message, Source(filename)))
    elif filename.lower().endswith((".xlsx", ".xlsm")) or data.startswith(b"PK\x03\x04"):
        with staged_folder(var_dir, "shidian-plan-") as folder:
            path = folder / "plan.xlsx"
            path.write_bytes(data)
            plan, problems = read_plan_xlsx(path)
        text = plan_to_yaml(plan) if plan is not None else ""
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            message = "方案文件应为 UTF-8 编码的 YAML (not UTF-8)"
            problems.append(Problem("pilots.plan.unreadable", message, Source(filename)))
        else:
            plan, problems = parse_plan(text, filename)
    if plan is None:
        log(conn, events.PlanRefused(target=filename, problems=len(problems)), user, client)
        return None, problems
    scope = visible_units(all_units(conn), user)
    plan_id, count = store_plan(conn, plan, text, filename, user, due_day=due_day, scope=scope)
    event = events.PlanLoaded(target=f"pilot_plan/{plan_id}", file=filename, units=count, due_day=due_day)
    log(conn, event, user, client)
    return plan_id, problems


# ---- reading --------------------------------------------------------------------------------------


def plans_for(conn: sa.Connection, user: User, visible: set[int]) -> list[Any]:
    """The active plans ``user`` may see: every one for leaders and administrators, else those
    with a reporting unit among ``visible`` (a unit sees only the plans that apply to it)."""
    return store.list_plans(conn) if reads_all(user) else store.plans_with_units(conn, visible)


def loaded_plans(conn: sa.Connection) -> list[tuple[Any, Plan]]:
    """The active plans, each with its parsed Plan."""
    return [(row, store.plan_of(row)) for row in store.list_plans(conn)]


def all_plan_versions(conn: sa.Connection) -> tuple[list[Any], dict[int, int]]:
    """Every loaded plan version (active or not) and how many units report under each."""
    return store.list_plans(conn, active_only=False), store.plan_unit_counts(conn)


def template_plans() -> list[tuple[str, Plan]]:
    """The shipped templates, parsed."""
    return [(name, load_template(name)) for name in sorted(TEMPLATES)]


def plan_row(conn: sa.Connection, plan_id: int) -> Any:
    """A loaded plan's row, or not found."""
    row = store.get_plan(conn, plan_id)
    if row is None:
        refuse("not_found", "没有这个方案 (no such plan)")
    return row


def loaded_plan(conn: sa.Connection, plan_id: int) -> Plan:
    """A loaded plan, parsed, or not found."""
    return store.plan_of(plan_row(conn, plan_id))


def template_plan(name: str) -> Plan:
    """A shipped template, parsed, or not found."""
    if name not in TEMPLATES:
        refuse("not_found", "没有这个模板 (no such template)")
    return load_template(name)
