"""The county-year batch (年度批量结算): validates, prices, and builds every output table.

``reimburse(inputs, policy)`` runs ``validate_inputs``, then ``claims.price_claims`` (the same
function the discharge desk calls for one claim), the fund ledger, the monthly statements of
the designated institutions, the village notices and the health-check list, and verifies the
invariants of ``checks``. It returns Arrow tables in documented total orders, so equal inputs
give byte-identical outputs.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from shidian import duck
from shidian.dialect import Engine
from shidian.insurance import checks
from shidian.insurance.claims import price_claims_keyed
from shidian.insurance.health_check import health_check_list
from shidian.insurance.ledger import build_ledger
from shidian.insurance.model import (
    CONTRIBUTIONS_SCHEMA,
    RECEIPTS_SCHEMA,
    InsuranceInputs,
    ReimbursementResult,
    or_empty,
)
from shidian.insurance.notice import public_notice
from shidian.insurance.policy import InsurancePolicy
from shidian.insurance.settlement import monthly_settlement
from shidian.insurance.validate import validate_inputs
from shidian.problems import Problem, Source, has_errors

Progress = Callable[[str], None]


def reimburse(
    inputs: InsuranceInputs,
    policy: InsurancePolicy,
    progress: Progress | None = None,
    engine: Engine | None = None,
) -> tuple[ReimbursementResult | None, list[Problem]]:
    """Price a county's year of claims and build its ledger, statements, notices, list.

    ``engine``: where the claims are priced (``claims.price_claims``): None, DuckDB on this
    machine; a ``SparkEngine``, a cluster (docs/scale.md). The priced claims come back to this
    process either way, and the ledger, statements and notices are built from them here.
    Returns (None, problems) when the inputs have any error; warnings travel in the result.
    """
    step = progress or (lambda _label: None)
    # Independent stages overlap in two threads (each has its own DuckDB connection; DuckDB,
    # Arrow and numpy release the GIL): validation beside pricing, the ledger and the notice
    # beside the statements and the health checks, so that one stage's single-threaded parts
    # (Arrow takes, numpy sorts, Python) leave the other core to the other. Inputs with an
    # error are still refused before anything is built from the priced claims; the pricing
    # begun meanwhile is waited for and dropped.
    with ThreadPoolExecutor(max_workers=2) as pool:
        step("校验输入 validating inputs")
        validating = pool.submit(validate_inputs, inputs, policy)
        pricing = pool.submit(
            price_claims_keyed, inputs.claims, inputs.persons, inputs.institutions, policy, engine=engine
        )
        problems = validating.result()
        if has_errors(problems):
            pricing.cancel()
            return None, problems
        step("计算补偿 pricing claims")
        priced, person_row = pricing.result()  # each claim's row in the persons table: the key below
        step("基金台账 fund ledger")
        ledgering = pool.submit(build_ledger, inputs.persons, priced, policy, inputs.contributions)
        noticing = pool.submit(
            public_notice, priced, inputs.persons, inputs.institutions, inputs.villages, policy, person_row
        )
        step("机构月度结算 monthly settlement")
        settlement = monthly_settlement(priced, inputs.institutions, policy)
        step("公示与健康体检 notice and health checks")
        health_checks = health_check_list(inputs.persons, priced, inputs.prior_year, person_row)
        ledger, ledger_warnings = ledgering.result()
        notice, villages = noticing.result()
    step("自检 invariant checks")
    con = duck.connect()
    try:
        for name, table in (
            ("priced", priced),
            ("claims_in", inputs.claims),
            ("institutions", inputs.institutions),
            ("contributions", ledger.contributions),
            ("ledger_reimbursements", ledger.reimbursements),
            ("ledger_monthly", ledger.monthly),
            ("ledger_pools", ledger.pools),
            ("ledger_pool_monthly", ledger.pool_monthly),
            ("settlement", settlement),
            ("village_summary", villages),
            ("contributions_in", or_empty(inputs.contributions, CONTRIBUTIONS_SCHEMA)),
            ("ledger_receipts", or_empty(ledger.receipts, RECEIPTS_SCHEMA)),
        ):
            con.register(name, table)
        verified = checks.run_checks(con, policy, ledger.summary)
        status_counts = dict(con.execute("SELECT status, count(*) FROM priced GROUP BY ALL").fetchall())
        rejected = dict(
            con.execute(
                "SELECT reject_code, count(*) FROM priced WHERE reject_code IS NOT NULL GROUP BY ALL"
            ).fetchall()
        )
        deductions = con.execute(
            "SELECT coalesce(sum(catalogue_deduction), 0), coalesce(sum(payable), 0) FROM settlement"
        ).fetchone()
    finally:
        con.close()
    assert deductions is not None
    totals = {
        **ledger.summary,
        "claims": str(priced.num_rows),
        "paid": str(status_counts.get("paid", 0)),
        "rejected": str(status_counts.get("rejected", 0)),
        **{f"rejected_{code}": str(n) for code, n in sorted(rejected.items())},
        "catalogue_deduction": str(deductions[0]),
        "payable": str(deductions[1]),
        "notice_rows": str(notice.num_rows),
        "health_checks": str(health_checks.num_rows),
    }
    warnings = [p for p in problems if p.severity == "warning"] + ledger_warnings
    if inputs.prior_year is None:
        warnings.append(
            Problem(
                "insurance.health_check.no_prior_year",
                "未提供上年度补偿数据 prior_year, 无法判定连续两年未获补偿, 健康体检名单为空 (004 篇6 三(四)1)",
                Source("<run>", key="prior_year"),
                "warning",
            )
        )
    result = ReimbursementResult(
        claims=priced,
        ledger=ledger,
        settlement=settlement,
        notice=notice,
        villages=villages,
        health_checks=health_checks,
        warnings=tuple(warnings),
        checks=tuple(verified),
        totals=totals,
    )
    return result, problems
