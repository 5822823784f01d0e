"""The capitation part of the web demo (医共体演示): the demo county's two 医共体, settled once.

``shidian demo web DATA_DIR`` calls ``setup_capitation_demo`` after the insurance set-up: as the
settlement officer, through the same service as the page, it settles ``DATA_DIR/capitation``
(what ``shidian demo generate`` wrote) under the policy demo-county-2020 with the spending taken
from the demo's finished insurance run (the same year, 2020) through the villages map — as
``make demo`` does with ``shidian capitation settle --claims`` — and publishes the run, so that
the members see their shares. Skipped when the folder is missing or a run is already stored.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from shidian.capitation import store
from shidian.capitation.service import publish_run, settle_uploads
from shidian.demo.capitation import POLICY
from shidian.demo.drg_web import _user

#: The files of a demo data folder the settlement takes (spending comes from the insurance run).
_FILES = ("fund.toml", "communities.csv", "members.csv", "population.csv", "scores.csv", "villages.csv")


def setup_capitation_demo(
    engine: sa.Engine, var_dir: Path, data_dir: Path, insurance_run_id: str, username: str = "officer"
) -> str | None:
    """Settle the demo county's 医共体 from ``data_dir`` with the spending of the insurance run
    ``insurance_run_id``, and publish it; the run id (None when there is nothing to settle or a
    run exists). ValueError on problems."""
    if not (data_dir / "fund.toml").is_file():
        return None
    with engine.connect() as conn:
        if store.list_runs(conn):
            return None
        user = _user(conn, username)
    uploads = [(name, (data_dir / name).read_bytes()) for name in _FILES if (data_dir / name).is_file()]
    run_id, problems = settle_uploads(engine, user, var_dir, POLICY, uploads, claims_run_id=insurance_run_id)
    if run_id is None:
        raise ValueError("demo capitation has problems: " + "; ".join(map(str, problems[:5])))
    with engine.begin() as conn:
        publish_run(conn, user, run_id)
    return run_id
