"""The DRG part of the web demo (演示环境): import a region's files and publish one settlement.

It goes through the same services as an officer in the web app (``shidian.drg.service``):
the dataset is imported, settled under guigang-2020 and published by ``username``.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from shidian.drg.service import import_folder, publish_run, start_run
from shidian.drg.service.runs import executor
from shidian.platform.accounts import User, get_user
from shidian.platform.db.schema import users


def _user(conn: sa.Connection, username: str) -> User:
    user_id = conn.execute(sa.select(users.c.id).where(users.c.username == username)).scalar()
    user = None if user_id is None else get_user(conn, int(user_id))
    if user is None:
        raise ValueError(f"no user {username!r}")
    return user


def setup_drg_demo(
    engine: sa.Engine,
    var_dir: Path,
    data_dir: Path,
    username: str,
    *,
    name: str = "演示数据 {year}",
    note: str = "演示结算",
    policy_id: str = "guigang-2020",
) -> tuple[str, str]:
    """Import ``data_dir`` as a dataset, settle it and publish the run, as ``username``.

    Returns the dataset id and the run id; ValueError when the data has problems or the run
    fails.
    """
    with engine.begin() as conn:
        user = _user(conn, username)
        dataset, problems = import_folder(conn, user, var_dir, data_dir, name)
        if dataset is None:
            raise ValueError("demo data has problems: " + "; ".join(map(str, problems[:5])))
        run_id = start_run(conn, user, dataset["id"], policy_id, None, note)
    jobs = executor(engine, var_dir)
    jobs.submit(run_id).result()
    jobs.shutdown()
    with engine.begin() as conn:
        publish_run(conn, user, run_id)
    return str(dataset["id"]), run_id
