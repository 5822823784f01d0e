"""Public notice (补偿公示) per village, with names and ID numbers masked.

004 篇6 三(五)2: “各乡镇每个行政村要设立合作医疗报销公示栏, 定期张榜公布 … 医药费用补偿情况”.
The notice lists, per village of the insured, every paid inpatient stay, delivery, cataract
and TCM fracture claim with a reimbursement, one row each; a person's chronic-disease visits
(monthly, fixed amounts) as one row per person, disease and institution with the number of
visits; ordinary outpatient visits, when ``notice.list_outpatient`` is false, only as a count
and a sum per village (else one row each). Names are masked as 张*三 and ID numbers keep ``notice.id_keep_head``
leading and ``notice.id_keep_tail`` trailing characters (PRODUCT: 保护个人隐私).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from shidian import duck
from shidian.insurance.frame import person_rows
from shidian.insurance.id_number import sql_mask_id, sql_mask_name
from shidian.insurance.model import RULE_LABELS, VILLAGES_SCHEMA, or_empty
from shidian.insurance.policy import InsurancePolicy

__all__ = ["public_notice"]


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


#: The priced claims' columns the notice reads.
_PRICED = (
    "claim_id",
    "person_id",
    "institution_id",
    "status",
    "rule",
    "cap_bucket",
    "start_date",
    "end_date",
    "total_cost",
    "reimbursable",
    "reimbursement",
)


def public_notice(
    priced: pa.Table,
    persons: pa.Table,
    institutions: pa.Table,
    villages: pa.Table | None,
    policy: InsurancePolicy,
    person_row: pa.Array | None = None,
) -> tuple[pa.Table, pa.Table]:
    """(notice rows by village, end date, claim id; one summary row per village with insured).

    ``person_row``: each priced claim's row in ``persons`` (null: not listed), as
    ``claims.price_claims_keyed`` gives it; looked up when not given. A claim finds its village,
    and the summary counts its persons, by that integer instead of a join on the id text."""
    if person_row is None:
        person_row = person_rows(priced.column("person_id"), persons.column("person_id"))
    labels = " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in RULE_LABELS.items())
    listed = "TRUE" if policy.notice_list_outpatient else "p.rule <> 'outpatient'"
    con = duck.connect()
    try:
        con.register(
            "priced",
            priced.select(list(_PRICED))
            .append_column("person_row", person_row)
            .append_column("village_code", persons.column("village_code").take(person_row)),
        )
        con.register("persons", persons)
        con.register(
            "persons_at",
            pa.table(
                {
                    "pos": np.arange(persons.num_rows, dtype=np.int64),
                    "name": persons.column("name"),
                    "id_number": persons.column("id_number"),
                }
            ),
        )
        con.register("institutions", institutions)
        con.register("villages", or_empty(villages, VILLAGES_SCHEMA))
        chronic = " ".join(
            f"WHEN {_lit('chronic:' + c.code)} THEN {_lit('特殊慢性病门诊: ' + c.name)}"
            for c in policy.chronic_diseases
        )
        con.execute(  # a view: the summary reads it once
            f"""
            CREATE VIEW rows AS
            SELECT p.village_code, p.claim_id, p.person_row, p.institution_id, {listed} AS listed, p.rule,
                   p.cap_bucket, p.start_date, p.end_date, p.total_cost, p.reimbursable, p.reimbursement
            FROM priced p
            WHERE p.status = 'paid' AND p.reimbursement > 0 AND p.person_row IS NOT NULL
            """
        )
        con.execute(  # names, numbers and labels only for the rows the notice lists: ``rows``'s
            # columns and the person's name and number from one join (``person_id`` is the
            # persons table's key), not a second join of ``rows`` with the persons
            f"""
            CREATE TABLE listed_rows AS
            SELECT p.village_code, p.claim_id, p.person_id, p.institution_id, {listed} AS listed, p.rule,
                   p.cap_bucket, p.start_date, p.end_date, p.total_cost, p.reimbursable, p.reimbursement,
                   {sql_mask_name("pe.name")} AS masked_name,
                   {sql_mask_id("pe.id_number", policy.notice_id_head, policy.notice_id_tail)} AS masked_id_number,
                   coalesce(i.name, '') AS institution_name,
                   CASE WHEN p.rule = 'chronic' THEN CASE p.cap_bucket {chronic} END ELSE CASE p.rule {labels} END END
                       AS item
            FROM priced p
            JOIN persons_at pe ON pe.pos = p.person_row
            LEFT JOIN institutions i ON i.institution_id = p.institution_id
            WHERE p.status = 'paid' AND p.reimbursement > 0 AND {listed}
            """
        )
        notice = con.sql(
            """
            WITH listed AS (
                SELECT village_code, claim_id, masked_name, masked_id_number, institution_name, item,
                       1::BIGINT AS visits, start_date, end_date, total_cost, reimbursable, reimbursement
                FROM listed_rows WHERE rule <> 'chronic'
                UNION ALL
                SELECT village_code, min(claim_id), any_value(masked_name), any_value(masked_id_number),
                       institution_name, item, count(*)::BIGINT, min(start_date), max(end_date),
                       sum(total_cost)::DECIMAL(18,2), sum(reimbursable)::DECIMAL(18,2), sum(reimbursement)::DECIMAL(18,2)
                FROM listed_rows WHERE rule = 'chronic'
                GROUP BY village_code, person_id, cap_bucket, institution_id, institution_name, item
            )
            SELECT l.village_code, coalesce(v.name, '') AS village_name, claim_id, masked_name, masked_id_number,
                   institution_name, item, visits, start_date, end_date, total_cost, reimbursable, reimbursement
            FROM listed l LEFT JOIN villages v USING (village_code)
            ORDER BY l.village_code, end_date, claim_id
            """
        ).to_arrow_table()
        summary = con.sql(
            """
            WITH ins AS (SELECT village_code, count(*)::BIGINT AS insured FROM persons WHERE insured = 1 GROUP BY ALL),
            agg AS (
                SELECT village_code,
                       count(*) FILTER (WHERE listed)::BIGINT AS listed_claims,
                       coalesce(sum(reimbursement) FILTER (WHERE listed), 0)::DECIMAL(18,2) AS listed_amount,
                       count(*) FILTER (WHERE NOT listed)::BIGINT AS outpatient_visits,
                       coalesce(sum(reimbursement) FILTER (WHERE NOT listed), 0)::DECIMAL(18,2) AS outpatient_amount,
                       count(DISTINCT person_row)::BIGINT AS persons_reimbursed,
                       sum(reimbursement)::DECIMAL(18,2) AS reimbursement
                FROM rows GROUP BY village_code
            )
            SELECT village_code, coalesce(v.name, '') AS village_name, coalesce(ins.insured, 0)::BIGINT AS insured,
                   coalesce(persons_reimbursed, 0)::BIGINT AS persons_reimbursed,
                   coalesce(listed_claims, 0)::BIGINT AS listed_claims,
                   coalesce(listed_amount, 0)::DECIMAL(18,2) AS listed_amount,
                   coalesce(outpatient_visits, 0)::BIGINT AS outpatient_visits,
                   coalesce(outpatient_amount, 0)::DECIMAL(18,2) AS outpatient_amount,
                   coalesce(reimbursement, 0)::DECIMAL(18,2) AS reimbursement
            FROM ins FULL JOIN agg USING (village_code) LEFT JOIN villages v USING (village_code)
            ORDER BY village_code
            """
        ).to_arrow_table()
    finally:
        con.close()
    return notice, summary
