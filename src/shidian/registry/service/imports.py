"""Import of an existing registry (存量患者导入): all rows or none, for the web upload and the CLI.

Each row of the file (``shidian.registry.io``) is checked as a registration would be (ID number
by GB 11643, diagnosis one of the six, village known and inside the importer's area, no date in
the future, no duplicate in the file or the registry). A row may carry a risk assessment
(评估日期, 建议等级, 确认等级, 降级理由) under the follow-up form's rule: the confirmed level
defaults to the suggestion, one below it needs a reason. Any problem → nothing is imported and
every problem names its row and column; otherwise every row is registered in one transaction
and the import is audited. The import is a job of the lane ``imports`` (``import_registry``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from shidian.platform import audit, clock, jobs
from shidian.platform.accounts import User, get_user
from shidian.platform.audit import Client
from shidian.platform.crypto import DataKeys
from shidian.problems import Problem, Source
from shidian.registry.events import RegistryImported, RiskLevelLowered
from shidian.registry.io import header, read_registry
from shidian.registry.records import AssessmentIn, PatientIn
from shidian.registry.risk import confirmed_level, needs_reason
from shidian.registry.service.common import require
from shidian.registry.service.patients import check_patient, save_patient
from shidian.registry.store import assignments, followups
from shidian.registry.store.scope import scope_of


def import_registry(
    engine: sa.Engine,
    keys: DataKeys,
    user: User,
    path: Path,
    display_name: str,
    client: Client | None = None,
    *,
    via: str | None = None,
) -> tuple[int, list[Problem]]:
    """Register every row of the file, or none: (rows imported, problems). ``via`` names a
    door other than the web in the audit record (``"cli"``).

    An import job (``shidian.platform.jobs``, lane ``imports``): one import at a time across
    every server process and the command line (409 ``job.busy`` otherwise), its stages recorded;
    the rows are checked and registered in one transaction of their own, so a process killed
    mid-way keeps nothing and its job is failed at the next start-up."""
    require(user, "registry.import")
    job_id = jobs.started(engine, "registry.import", None, user.id)
    with jobs.running(engine, job_id):
        jobs.step(engine, job_id, "读取文件 (reading the file)")
        rows, problems = read_registry(path, display_name)
        if rows is None:
            return 0, problems
        jobs.step(engine, job_id, f"校验并登记 {len(rows)} 行 (checking and registering the rows)")
        with engine.begin() as conn:
            return _register(conn, keys, user, rows, problems, display_name, client, via)


def import_running(conn: sa.Connection, user: User) -> dict[str, object] | None:
    """The import running now in any server process (registry, DRG or insurance: they share
    the lane ``imports``): its kind, stage and start, for the import page; or None."""
    require(user, "registry.import")
    return jobs.running_job(conn, "imports")


def _register(
    conn: sa.Connection,
    keys: DataKeys,
    user: User,
    rows: list[tuple[int, PatientIn, AssessmentIn | None]],
    problems: list[Problem],
    display_name: str,
    client: Client | None,
    via: str | None,
) -> tuple[int, list[Problem]]:
    """Check every row, then register them all (with their assessments) or none."""
    scope, today = scope_of(conn, user), clock.today()
    accepted: list[tuple[dict[str, Any], PatientIn, Assessment | None]] = []
    seen: set[str] = set()
    for row, data, carried in rows:
        values, row_problems = check_patient(conn, keys, scope, data, today, source=display_name)
        problems += [
            Problem(p.code, p.message, Source(display_name, row=row, column=header(p.where.column)))
            for p in row_problems
        ]
        assessment, assessment_problems = _check_assessment(carried, data, today, display_name, row)
        problems += assessment_problems
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
            accepted.append((values, data, assessment))
    if problems:
        return 0, problems
    for values, data, assessment in accepted:
        patient_id = save_patient(conn, keys, values, data, user, client)
        if patient_id is None or assessment is None:
            continue
        assessment_id = followups.insert_assessment(
            conn,
            patient_id,
            None,
            assessment.assessed_on,
            assessment.risk_level,
            assessment.suggested_level,
            [],
            user.id,
            lowered_reason=assessment.reason,
        )
        if assessment.suggested_level is not None and assessment.risk_level < assessment.suggested_level:
            event = RiskLevelLowered(
                target=str(values["registry_no"]),
                assessment_id=assessment_id,
                followup_id=None,
                suggested_level=assessment.suggested_level,
                risk_level=assessment.risk_level,
                reason=assessment.reason or "",
            )
            audit.log(conn, event, user, client)
    audit.log(conn, RegistryImported(target=display_name, rows=len(accepted), via=via), user, client)
    return len(accepted), []


@dataclass(frozen=True)
class Assessment:
    """A row's checked assessment: date, suggestion, confirmed level, reason (when lowered)."""

    assessed_on: dt.date
    suggested_level: int | None
    risk_level: int
    reason: str | None


def _check_assessment(
    carried: AssessmentIn | None, data: PatientIn, today: dt.date, file: str, row: int
) -> tuple[Assessment | None, list[Problem]]:
    """The row's assessment under the follow-up form's rule: the confirmed level defaults to the
    suggestion, and one below the suggestion needs a reason (000 篇3 第11、12项)."""
    if carried is None:
        return None, []
    problems: list[Problem] = []
    assessed_on = carried.assessed_on or data.registered_on or today
    if carried.risk_level is None and carried.suggested_level is None:
        return None, []
    suggested = carried.suggested_level
    level = confirmed_level(suggested, carried.risk_level) if suggested is not None else carried.risk_level
    assert level is not None
    if suggested is not None and needs_reason(suggested, level, carried.lowered_reason):
        problems.append(
            Problem(
                "registry.assessment.lowered_without_reason",
                f"确认等级 {level} 级低于建议等级 {suggested} 级, 请填写降级理由 "
                "(a level below the checklist's suggestion needs a reason)",
                Source(file, row, header("lowered_reason")),
            )
        )
    if assessed_on > today:
        problems.append(
            Problem(
                "registry.patient.in_future",
                "评估日期不能晚于今天 (in the future)",
                Source(file, row, header("assessed_on")),
            )
        )
    lowered = suggested is not None and level < suggested
    reason = ((carried.lowered_reason or "").strip() or None) if lowered else None
    return Assessment(assessed_on, suggested, level, reason), problems


def acting_user(conn: sa.Connection, username: str) -> User | None:
    """The user a command-line import acts as (``--as``), or None."""
    found = assignments.user_named(conn, username)
    return None if found is None else get_user(conn, found.id)
