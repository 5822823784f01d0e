"""Which run a page shows, and whether the user may see it (结算批次的访问控制).

Officers, leaders and the pilot office see every run, drafts included; a hospital user sees
published runs only (drafts are internal working copies). Without a run id, a page shows the
latest published run.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import HTTPException

from shidian.platform.access import can
from shidian.platform.accounts import User
from shidian.web.drg_runs import get_run, latest_published


def visible_run(conn: sa.Connection, user: User, run_id: str | None) -> dict[str, Any]:
    """The run to show; 404 when it does not exist or the user may not see it."""
    run = latest_published(conn) if run_id is None else get_run(conn, run_id)
    if run is None:
        raise HTTPException(status_code=404, detail="没有可显示的结算 (no settlement run)")
    if run["status"] != "published" and not can(user, "drg.view_all"):
        raise HTTPException(status_code=404, detail="没有可显示的结算 (no settlement run)")
    if run["status"] not in ("draft", "published"):
        raise HTTPException(status_code=409, detail=f"结算尚未完成 (run is {run['status']})")
    return run
