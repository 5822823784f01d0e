"""Health-check entitlement (健康体检): insured two consecutive years without reimbursement.

004 篇6 三(四)1: “对参加合作医疗的农民, 在参合年度中连续两年没有获得门诊和住院补偿者 … 可获得一次
健康体检”. A person is entitled when insured this year and listed in the prior-year file
(insured then) with no reimbursement in either year (a paid claim of 0.00 is no
reimbursement; a rejected claim is none). Choice (docs/insurance.md): a person marked as
entitled in the prior year (``health_check`` = 1) starts counting again, so it is one check per
two years without reimbursement, not one every year after the second.

This year is a mark on the persons with a reimbursement (by each claim's row in the persons
table), not a sum per person (a reimbursement is never negative: ``checks.amounts_bounded``).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from shidian import duck
from shidian.insurance.frame import person_rows
from shidian.insurance.model import PRIOR_YEAR_SCHEMA, or_empty

__all__ = ["health_check_list"]


def health_check_list(
    persons: pa.Table, priced: pa.Table, prior_year: pa.Table | None, person_row: pa.Array | None = None
) -> pa.Table:
    """The entitled persons, by village code and person id (empty without a prior-year table).

    ``person_row``: each priced claim's row in ``persons`` (``claims.price_claims_keyed``);
    looked up when not given."""
    if person_row is None:
        person_row = person_rows(priced.column("person_id"), persons.column("person_id"))
    con = duck.connect()
    try:
        con.register(
            "priced",
            pa.table(
                {
                    "status": priced.column("status"),
                    "reimbursement": priced.column("reimbursement"),
                    "person_row": person_row,
                }
            ),
        )
        rows = con.sql(
            "SELECT person_row FROM priced WHERE status = 'paid' AND reimbursement <> 0 AND person_row IS NOT NULL"
        ).to_arrow_table()
        reimbursed = np.zeros(persons.num_rows, dtype=bool)
        reimbursed[rows.column(0).to_numpy()] = True
        con.register("persons", persons.append_column("_reimbursed", pa.array(reimbursed)))
        con.register("prior_year", or_empty(prior_year, PRIOR_YEAR_SCHEMA))
        return con.sql(
            """
            WITH last_year AS (
                SELECT person_id FROM prior_year GROUP BY ALL HAVING sum(reimbursement) = 0 AND max(health_check) = 0
            )
            SELECT p.person_id, p.name, p.household_id, p.village_code, p.category
            FROM persons p
            SEMI JOIN last_year USING (person_id)
            WHERE p.insured = 1 AND NOT p._reimbursed
            ORDER BY p.village_code, p.person_id
            """
        ).to_arrow_table()
    finally:
        con.close()
