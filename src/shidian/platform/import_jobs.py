"""Cancelling an import (取消导入): DRG, insurance and registry imports run as jobs of the lane
``imports`` (``shidian.platform.jobs``), in the request that started them. Their importer, or an
administrator, may ask a running import to stop; it stops at its next stage (``jobs.step``),
before its data lands (an import lands in one transaction after its last stage), so a cancelled
import keeps nothing and its job is recorded ``cancelled``.
"""

from __future__ import annotations

import sqlalchemy as sa

from shidian.platform import jobs
from shidian.platform.access import can
from shidian.platform.accounts import User
from shidian.platform.audit import Client, ImportCancelled, log
from shidian.platform.db.schema import jobs as jobs_table
from shidian.problems import refusal

NOT_FOUND = "没有正在进行的这项导入 (no such running import)"


def cancel_import(conn: sa.Connection, user: User, job_id: str, client: Client | None = None) -> str:
    """Ask the running import ``job_id`` to stop (audited); its kind. Refused ``not_found`` alike
    for an unknown job, a finished one, one that is not an import, and another user's import
    (unless the user may cancel any, ``imports.cancel_any``)."""
    row = conn.execute(
        sa.select(jobs_table.c.kind, jobs_table.c.started_by).where(
            jobs_table.c.id == job_id, jobs_table.c.lane == "imports", jobs_table.c.status == "running"
        )
    ).first()
    if row is None or not (row.started_by == user.id or can(user, "imports.cancel_any")):
        raise refusal("not_found", "not_found", NOT_FOUND)
    if jobs.cancel_job(conn, job_id) is None:
        raise refusal("not_found", "not_found", NOT_FOUND)
    log(conn, ImportCancelled(target=f"job/{job_id}", kind=row.kind), user, client)
    return str(row.kind)


def may_cancel(user: User, running: dict[str, object] | None) -> bool:
    """Whether the import page offers ``user`` to cancel the running import (``jobs.running_job``)."""
    return running is not None and (running.get("started_by") == user.id or can(user, "imports.cancel_any"))
