"""Import of an existing registry (存量患者导入): all rows or none, for the web upload and the CLI.

Each row of the file (``shidian.registry.io``) is checked as a registration would be (ID number
by GB 11643, diagnosis one of the six, village known and inside the importer's area, no date in
the future, no duplicate in the file or the registry). Any problem → nothing is imported and
every problem names its row and column; otherwise every row is registered in the caller's one
transaction and the import is audited.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from shidian.platform import audit, clock
from shidian.platform.accounts import User, get_user
from shidian.platform.audit import Client
from shidian.platform.crypto import DataKeys
from shidian.problems import Problem, Source
from shidian.registry.events import RegistryImported
from shidian.registry.io import header, read_registry
from shidian.registry.records import PatientIn
from shidian.registry.service.common import require
from shidian.registry.service.patients import check_patient
from shidian.registry.store import assignments, patients
from shidian.registry.store.scope import scope_of


def import_registry(
    conn: sa.Connection,
    keys: DataKeys,
    user: User,
    path: Path,
    display_name: str,
    client: Client | None = None,
    *,
    via: str | None = None,
) -> tuple[int, list[Problem]]:
    """Register every row of the file, or none: (rows imported, problems). ``via`` names a
    door other than the web in the audit record (``"cli"``)."""
    require(user, "registry.import")
    rows, problems = read_registry(path, display_name)
    if rows is None:
        return 0, problems
    scope, today = scope_of(conn, user), clock.today()
    accepted: list[tuple[dict[str, Any], PatientIn]] = []
    seen: set[str] = set()
    for row, data in rows:
        values, row_problems = check_patient(conn, keys, scope, data, today, source=display_name)
        problems += [
            Problem(p.code, p.message, Source(display_name, row=row, column=header(p.where.column)))
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
        patients.insert_patient(conn, keys, values, data, user)
    audit.log(conn, RegistryImported(target=display_name, rows=len(accepted), via=via), user, client)
    return len(accepted), []


def acting_user(conn: sa.Connection, username: str) -> User | None:
    """The user a command-line import acts as (``--as``), or None."""
    found = assignments.user_named(conn, username)
    return None if found is None else get_user(conn, found.id)
