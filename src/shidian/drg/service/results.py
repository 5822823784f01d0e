"""Settlement results (结算结果): which run a user sees, and what of it — overview, a hospital's
cases and payments, one case, two runs compared, a run's files.

Officers, leaders and the pilot office see every run, drafts included; a hospital user sees
published runs only, and only its own hospital: any other hospital, or a case of one, is
refused as ``not_found`` exactly as one that does not exist. Without a run id, the latest
published run is shown. Cases are personal data: every view of a case list or a case is audited.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from shidian.drg import store
from shidian.drg.events import CasesListed, CaseViewed, HospitalViewed, RunDownloaded
from shidian.drg.results import cases as case_files
from shidian.drg.results.files import compare_annual, run_files_summary
from shidian.drg.results.models import CaseFilters, CasePage, HospitalYear
from shidian.drg.run_files import CASE_POINTS_PARQUET
from shidian.drg.service.explain import ExplainedCase, explain_case
from shidian.drg.service.runs import HEX_ID
from shidian.platform.access import can, may_see_hospital, visible_hospital_ids
from shidian.platform.accounts import User
from shidian.platform.audit import Client, log
from shidian.platform.files import dataset_dir, run_dir
from shidian.problems import refusal, request_problem

NO_RUN = "没有可显示的结算 (no settlement run)"
NOT_FOUND = "没有该医疗机构或病例 (not found)"
#: The files of a run that may be downloaded (docs/drg-outputs.md).
RUN_FILES = (
    "report.xlsx",
    "annual.csv",
    "monthly.csv",
    "monthly_payments.csv",
    "case_points.csv",
    "drg_standards.csv",
    "coefficients.csv",
    "warnings.csv",
    "run.json",
)


@dataclass(frozen=True)
class OpenRun:
    """A run the user may see, with its result folder and its dataset folder."""

    run: dict[str, Any]
    path: Path
    dataset: Path

    @property
    def id(self) -> str:
        return str(self.run["id"])


#: Published runs by database and id. A published row is never edited nor deleted (``store``),
#: and every page of a run asks for its row on every request: each process reads it once.
_PUBLISHED: weakref.WeakKeyDictionary[sa.Engine, dict[str, dict[str, Any]]] = weakref.WeakKeyDictionary()
_PUBLISHED_PER_DATABASE = 256


def run_row(conn: sa.Connection, run_id: str) -> dict[str, Any] | None:
    """``store.get_run``, a published run from the process's memory after its first read."""
    known = _PUBLISHED.get(conn.engine)
    if known is not None and run_id in known:
        return dict(known[run_id])
    run = store.get_run(conn, run_id)
    if run is not None and run["status"] == "published":
        known = _PUBLISHED.setdefault(conn.engine, {})
        if len(known) >= _PUBLISHED_PER_DATABASE:
            known.clear()
        known[run_id] = dict(run)
    return run


def visible_run(conn: sa.Connection, user: User, run_id: str | None) -> dict[str, Any]:
    """The run to show (latest published when None); ``not_found`` when it does not exist or
    the user may not see it, ``conflict`` while it is not finished."""
    run = store.latest_published(conn) if run_id is None else run_row(conn, run_id)
    if run is None or (run["status"] != "published" and not can(user, "drg.view_all")):
        raise refusal("not_found", "not_found", NO_RUN)
    if run["status"] not in ("draft", "published"):
        raise refusal("conflict", "conflict", f"结算尚未完成 (run is {run['status']})")
    return run


def open_run(conn: sa.Connection, user: User, var_dir: Path, run_id: str | None) -> OpenRun:
    """``visible_run`` with its folders; ``not_found`` when its result files are missing."""
    run = visible_run(conn, user, run_id or None)
    path = run_dir(var_dir, str(run["id"]))
    if not (path / "run.json").is_file() or not (path / CASE_POINTS_PARQUET).is_file():
        raise refusal("not_found", "not_found", "结算结果文件不存在 (run files missing)")
    return OpenRun(run, path, dataset_dir(var_dir, str(run["dataset_id"])))


def selectable_runs(conn: sa.Connection, user: User) -> list[dict[str, Any]]:
    """Runs for the run selector: published ones, and drafts for those who see every hospital."""
    everything = can(user, "drg.view_all")
    statuses = ("draft", "published") if everything else ("published",)
    runs = store.list_runs(conn, published_only=not everything, with_results=False)
    return [r for r in runs if r["status"] in statuses]


def any_run(conn: sa.Connection, run_id: str) -> dict[str, Any]:
    """A run in any state, for those who see every run (the run pages); ``not_found`` if none."""
    run = store.get_run(conn, run_id) if HEX_ID.match(run_id) else None
    if run is None:
        raise refusal("not_found", "not_found", "结算不存在 (no such run)")
    return run


# ---- a hospital's results -----------------------------------------------------------------------


def open_hospital(
    conn: sa.Connection, user: User, var_dir: Path, run_id: str | None, hospital_id: str
) -> tuple[OpenRun, HospitalYear]:
    """The run and the hospital's year row, if the user may see that hospital."""
    if not may_see_hospital(user, hospital_id):
        raise refusal("not_found", "not_found", NOT_FOUND)
    opened = open_run(conn, user, var_dir, run_id)
    summary = run_files_summary(opened.path, opened.dataset)
    year = next((h for h in summary.hospitals if h.hospital_id == hospital_id), None)
    if year is None:
        raise refusal("not_found", "not_found", NOT_FOUND)
    return opened, year


def hospital_cases(
    conn: sa.Connection,
    user: User,
    opened: OpenRun,
    hospital_id: str,
    filters: CaseFilters,
    page: int,
    page_size: int,
    client: Client | None = None,
    *,
    whole_page: bool = False,
) -> CasePage:
    """A page of a hospital's cases (``open_hospital`` first), audited: the hospital page
    (``whole_page``) as a view of the hospital, the case list alone as a list of cases."""
    cases = case_files.case_page(opened.path, opened.id, hospital_id, filters, page, page_size)
    if whole_page:
        event: HospitalViewed | CasesListed = HospitalViewed(
            target=hospital_id, run_id=opened.id, filters=filters.params(), page=page
        )
    else:
        event = CasesListed(
            target=hospital_id, run_id=opened.id, filters=filters.params(), page=page, rows=len(cases.cases)
        )
    log(conn, event, user, client)
    return cases


def explain_run_case(
    conn: sa.Connection, user: User, var_dir: Path, run_id: str, case_id: str, client: Client | None = None
) -> tuple[OpenRun, ExplainedCase]:
    """Explain a case of a run the user may see, among the hospitals the user may see; audited."""
    opened = open_run(conn, user, var_dir, run_id)
    explained = explain_case(
        opened.path,
        case_id,
        hospital_ids=visible_hospital_ids(user),
        not_found=request_problem("not_found", NOT_FOUND),
    )
    hospital_id = str(explained.found.case["hospital_id"])
    log(conn, CaseViewed(target=case_id, run_id=opened.id, hospital_id=hospital_id), user, client)
    return opened, explained


# ---- runs as a whole -------------------------------------------------------------------------------


def run_file(
    conn: sa.Connection, user: User, var_dir: Path, run_id: str, name: str, client: Client | None = None
) -> tuple[dict[str, Any], Path]:
    """A downloadable file of a run the user may see (audited): the run and the file's path."""
    if name not in RUN_FILES or not HEX_ID.match(run_id):
        raise refusal("not_found", "not_found", "没有这个文件 (no such file)")
    run = visible_run(conn, user, run_id)
    path = run_dir(var_dir, run["id"]) / name
    if not path.is_file():
        raise refusal("not_found", "not_found", "没有这个文件 (no such file)")
    log(conn, RunDownloaded(target=run_id, file=name), user, client)
    return run, path


def compare_runs(
    conn: sa.Connection, user: User, var_dir: Path, a: str, b: str
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """Two runs the user may see, and per hospital their entitlement and settlement and B − A."""
    for run_id in (a, b):
        if not HEX_ID.match(run_id):
            raise refusal("not_found", "not_found", "结算不存在 (no such run)")
    run_a, run_b = visible_run(conn, user, a), visible_run(conn, user, b)
    hospitals = compare_annual(
        run_dir(var_dir, run_a["id"]),
        run_dir(var_dir, run_b["id"]),
        [dataset_dir(var_dir, r["dataset_id"]) for r in (run_a, run_b)],
    )
    return run_a, run_b, hospitals
