"""Health-check entitlement (健康体检): insured two consecutive years without reimbursement.

004 篇6 三(四)1: “对参加合作医疗的农民, 在参合年度中连续两年没有获得门诊和住院补偿者 … 可获得一次
健康体检”. A person is entitled when insured this year and listed in the prior-year file
(insured then) with no reimbursement in either year (a paid claim of 0.00 is no
reimbursement; a rejected claim is none). Choice (docs/insurance.md): a person marked as
entitled in the prior year (``health_check`` = 1) starts counting again, so it is one check per
two years without reimbursement, not one every year after the second.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from shidian.insurance.model import PRIOR_YEAR_SCHEMA

__all__ = ["health_check_list"]


def health_check_list(persons: pa.Table, priced: pa.Table, prior_year: pa.Table | None) -> pa.Table:
    """The entitled persons, by village code and person id (empty without a prior-year table)."""
    con = duckdb.connect(":memory:")
    try:
        con.register("persons", persons)
        con.register("priced", priced)
        con.register("prior_year", prior_year if prior_year is not None else PRIOR_YEAR_SCHEMA.empty_table())
        return con.sql(
            """
            WITH this_year AS (
                SELECT person_id, sum(reimbursement) AS reimbursed FROM priced WHERE status = 'paid' GROUP BY ALL
            ), last_year AS (
                SELECT person_id, sum(reimbursement) AS reimbursed, max(health_check) AS checked
                FROM prior_year GROUP BY ALL
            )
            SELECT p.person_id, p.name, p.household_id, p.village_code, p.category
            FROM persons p
            JOIN last_year l USING (person_id)
            LEFT JOIN this_year t USING (person_id)
            WHERE p.insured = 1 AND l.reimbursed = 0 AND l.checked = 0 AND coalesce(t.reimbursed, 0) = 0
            ORDER BY p.village_code, p.person_id
            """
        ).to_arrow_table()
    finally:
        con.close()
