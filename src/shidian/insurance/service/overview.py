"""The insurance page's overview (医保总览): datasets, runs, the desk's summary and recent claims."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from shidian.insurance.policy import POLICIES
from shidian.insurance.service.datasets import list_insurance_datasets
from shidian.insurance.service.desk import desk_overview
from shidian.insurance.service.runs import runs_for
from shidian.platform.access import can
from shidian.platform.accounts import User
from shidian.platform.audit import Client


def overview(
    conn: sa.Connection, user: User, client: Client | None = None, var_dir: Path | None = None
) -> dict[str, Any]:
    """What ``/insurance`` shows the user: the datasets (users who see the county), the runs,
    the desk's summary and recent claims (a hospital user: its own; the listing is audited)
    and the shipped policies to import under."""
    desk = desk_overview(conn, user, client)
    return {
        "datasets": list_insurance_datasets(conn) if can(user, "insurance.view_all") else [],
        "runs": runs_for(conn, user, var_dir),  # a hospital user: its own reimbursements only
        "desk_summary": desk.summary,
        "recent": desk.recent,
        "policies": POLICIES.names(),
    }
