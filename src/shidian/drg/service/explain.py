"""Explaining a case (病例说明): its class, averages, thresholds and points, article by article.

One workflow for ``shidian drg explain`` (a run's output folder) and the case page and API
(a run the user may see, within the hospitals the user may see): find the case's row in the
run's files, take the policy the run names, recompute and explain.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from shidian.drg.policy import POLICIES, DrgPolicy
from shidian.drg.results.cases import find_case_row
from shidian.drg.results.files import drg_policy, run_record, run_reference
from shidian.drg.run_files import (
    CASE_POINTS_PARQUET,
    RUN_RECORD,
    CaseExplanation,
    explain_case_row,
    find_case,
)
from shidian.problems import Problem, Refused, Source


@dataclass(frozen=True)
class ExplainedCase:
    """A case's explanation, and whether the policy explaining it is the one the run used."""

    found: CaseExplanation
    policy: DrgPolicy
    policy_matches_run: bool


def explain_case(
    run: Path,
    case_id: str,
    *,
    policy_file: Path | None = None,
    hospital_ids: Collection[str] | None = None,
    not_found: Problem | None = None,
) -> ExplainedCase:
    """Explain case ``case_id`` of the run whose output folder is ``run``, under the policy the
    run names (or ``policy_file``); only among ``hospital_ids`` (None: any hospital).

    Refuses ``not_found`` when the folder is no run's output or has no such case (with
    ``not_found`` as the problem when given: the web answers the same for a case outside the
    user's hospitals), ``invalid`` when the policy file has problems and ``conflict`` when the
    run's policy cannot be loaded.
    """
    if not (run / RUN_RECORD).is_file():
        raise Refused(
            "not_found",
            [Problem("drg.run.missing", f"不是结算输出目录: 缺少 {run / RUN_RECORD}", Source(str(run)))],
        )
    record = run_record(run)
    policy_id = str(record["policy"]["id"])
    if policy_file is not None:
        policy, problems = POLICIES.load(policy_id, policy_file)
        if policy is None:
            raise Refused("invalid", problems)
    else:
        policy = drg_policy(policy_id)
        if policy is None:
            message = f"本结算所用政策无法加载 (policy of the run not found): {policy_id}"
            raise Refused("conflict", [Problem("conflict", message, Source("<request>"))])
    if (run / CASE_POINTS_PARQUET).is_file():
        case = find_case_row(run, case_id, hospital_ids)
    else:  # a folder written by ``shidian drg settle``: case_points.csv only
        case = find_case(run, case_id, hospital_ids)
    if case is None:
        missing = Problem(
            "drg.case.not_found", f"结算结果中没有病案号 {case_id}", Source(str(run / "case_points.csv"))
        )
        raise Refused("not_found", [not_found or missing])
    found = explain_case_row(case, run_reference(run), policy)
    return ExplainedCase(found, policy, record["policy"].get("sha256") == policy.source.sha256)
