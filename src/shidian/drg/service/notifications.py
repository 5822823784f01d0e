"""DRG notifications (站内通知): settlements published, to those who read them
(``platform.notifications``): a hospital's statement, an officer's or leader's run."""

from __future__ import annotations

import sqlalchemy as sa

from shidian.drg import store
from shidian.platform.access import can
from shidian.platform.accounts import User
from shidian.platform.notifications import Notice


def published_notices(conn: sa.Connection, user: User) -> list[Notice]:
    """A notice per published run: hospitals are sent to their own statement of it."""
    if can(user, "drg.view_all"):
        hospital = None
    elif can(user, "drg.view_own_hospital") and user.hospital_id:
        hospital = user.hospital_id
    else:
        return []
    notices = []
    for run in store.list_runs(conn, published_only=True, with_results=False):
        if run.get("published_at") is None:
            continue
        correction = " (更正结算)" if run.get("corrects_run_id") else ""
        text = f"{run['year']} 年度 DRG 结算已发布{correction}: {run['policy_id']} · {run['id'][:8]}"
        link = f"/drg/hospitals/{hospital}?run={run['id']}" if hospital else f"/drg/runs/{run['id']}"
        notices.append(Notice(run["published_at"], "run_published", text, link))
    return notices
