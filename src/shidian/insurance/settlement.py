"""Monthly settlement with designated institutions (定点医疗机构月度结算).

004 篇6 三(四)4: the designated institution reimburses the insured at its discharge desk
(现场报销) and settles with the county office every month; costs that break the rules are not
settled (违反 … 规定的费用, 不予结算). Per designated institution and month (of ``end_date``):

* ``advanced``: what its desk paid out, ``desk_paid`` when the claim gives it, else the
  reimbursement the engine computed (the desk runs the same rules);
* ``rejected_amount``: what the desk advanced on claims the rules reject;
* ``adjustment``: what the desk paid above (or below, negative) the computed reimbursement;
* ``catalogue_deduction`` (三(四)1): the catalogue-external drug cost above
  ``limit(level) × drug cost`` over the month's paid claims, the allowed amount rounded half up
  to the fen; "从其药品收入上交款中扣除, 返还当地新农合基金专户";
* ``payable = advanced − rejected_amount − adjustment − catalogue_deduction``
  (= approved − catalogue_deduction).

Claims at non-designated institutions (out-of-area stays with a certificate) are reimbursed to
the insured directly and appear in no statement; nor do claims dated outside the policy year.
"""

from __future__ import annotations

import pyarrow as pa

from shidian import duck
from shidian.insurance.policy import LEVELS, InsurancePolicy
from shidian.money import sql_round

__all__ = ["monthly_settlement"]


def monthly_settlement(priced: pa.Table, institutions: pa.Table, policy: InsurancePolicy) -> pa.Table:
    """One row per designated institution and month with claims, ordered by institution, month."""
    limits = pa.table(
        {
            "level": pa.array(LEVELS, pa.int64()),
            "external_limit": pa.array(
                [policy.external_drug_limits[lv] for lv in LEVELS], pa.decimal128(9, 4)
            ),
        }
    )
    con = duck.connect()
    try:
        con.register("priced", priced)
        con.register("institutions", institutions)
        con.register("limits", limits)
        allowed = sql_round("external_limit * drug_cost", 2)
        return con.sql(
            f"""
            WITH m AS (
                SELECT p.institution_id, p.month, i.level,
                       count(*)::BIGINT AS claims,
                       count(*) FILTER (WHERE p.status = 'paid')::BIGINT AS paid_claims,
                       count(*) FILTER (WHERE p.status = 'rejected')::BIGINT AS rejected_claims,
                       coalesce(sum(p.total_cost) FILTER (WHERE p.status = 'paid'), 0)::DECIMAL(18,2) AS total_cost,
                       sum(coalesce(p.desk_paid, p.reimbursement))::DECIMAL(18,2) AS advanced,
                       coalesce(sum(coalesce(p.desk_paid, 0)) FILTER (WHERE p.status = 'rejected'), 0)
                           ::DECIMAL(18,2) AS rejected_amount,
                       coalesce(sum(coalesce(p.desk_paid, p.reimbursement) - p.reimbursement)
                           FILTER (WHERE p.status = 'paid'), 0)::DECIMAL(18,2) AS adjustment,
                       sum(p.reimbursement)::DECIMAL(18,2) AS approved,
                       coalesce(sum(p.drug_cost) FILTER (WHERE p.status = 'paid'), 0)::DECIMAL(18,2) AS drug_cost,
                       coalesce(sum(p.catalogue_external_drug_cost) FILTER (WHERE p.status = 'paid'), 0)
                           ::DECIMAL(18,2) AS external_drug_cost
                FROM priced p JOIN institutions i ON i.institution_id = p.institution_id
                WHERE i.designated = 1 AND year(p.end_date) = {policy.year}
                GROUP BY p.institution_id, p.month, i.level
            ), d AS (
                SELECT m.*, l.external_limit, ({allowed})::DECIMAL(18,2) AS external_allowed
                FROM m JOIN limits l USING (level)
            ), e AS (
                SELECT d.*, greatest(external_drug_cost - external_allowed, 0)::DECIMAL(18,2) AS catalogue_deduction
                FROM d
            )
            SELECT institution_id, month, level, claims, paid_claims, rejected_claims, total_cost, advanced,
                   rejected_amount, adjustment, approved, drug_cost, external_drug_cost, external_limit,
                   external_allowed, catalogue_deduction,
                   (approved - catalogue_deduction)::DECIMAL(18,2) AS payable
            FROM e ORDER BY institution_id, month
            """
        ).to_arrow_table()
    finally:
        con.close()
