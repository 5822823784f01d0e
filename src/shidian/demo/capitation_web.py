"""The capitation part of the web demo (医共体演示): the demo county's two 医共体, settled once.

``shidian demo web DATA_DIR`` calls ``setup_capitation_demo`` after the insurance set-up: it
settles ``DATA_DIR/capitation`` (what ``shidian demo generate`` wrote) under the policy
demo-county-2020 with the spending and insured taken from the demo's insurance run (the same
year, 2020), exactly as ``make demo`` does with ``shidian capitation settle --claims``, and stores
the run where the capitation pages read it (``var/capitation/<run_id>``). Skipped when the
folder is missing or a run is already stored.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from shidian.capitation.service import settle_folder
from shidian.capitation.store import capitation_dir, list_runs
from shidian.demo.capitation import POLICY


def setup_capitation_demo(var_dir: Path, data_dir: Path, insurance_run: Path) -> str | None:
    """Settle the demo county's 医共体 from ``data_dir`` and the insurance run's folder; the run
    id (None when there is nothing to settle or a run exists). ValueError on problems."""
    if not (data_dir / "fund.toml").is_file() or list_runs(var_dir):
        return None
    staging = capitation_dir(var_dir) / f".staging-{uuid.uuid4().hex}"
    settled, problems = settle_folder(data_dir, staging, POLICY, claims_run=insurance_run)
    if settled is None:
        raise ValueError("demo capitation has problems: " + "; ".join(map(str, problems[:5])))
    run_id = str(settled.record["run_id"])
    target = capitation_dir(var_dir) / run_id
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    return run_id
