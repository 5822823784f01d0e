"""Inpatient deductibles (住院起付线): waivers, the transfer rule and the county rule.

004 篇6 三(四)1 and 三(四)3. Over the inpatient stays (table ``ip``: ``rid, claim_id,
person_id, ord, level, tier, transfer_of, rule, category, total_cost, tcm_cost``) and the prior
state's ``prior_episodes``:

* waived (免起付线): the person's category is in ``inpatient.waived_categories``, or TCM is at
  least ``tcm.inpatient_share`` of the stay's cost (when ``tcm.waive_deductible``);
* an *episode* is a transfer chain (同一种疾病 … 连续转诊): ``transfer_of`` names an earlier
  inpatient stay of the same person (in this batch or in the prior state); a recursive query
  over the few links finds each chain's first stay. The episode pays one deductible, the
  highest level's: stay ``i`` charges ``max_{j≤i} D_j − max_{j<i} D_j`` of its episode;
* the county rule (一年内因不同疾病, 在县级以上医院多次住院只计算首次住院的起付线): a stay at level
  ``≥ inpatient.county_level`` has ``D = 0`` when an earlier stay of *another* episode counted
  (``inpatient.repeat_deductible``: ``first_charged`` counts stays whose deductible was not
  waived, ``first_admission`` every county-level admission);
* otherwise ``D`` is the deductible of the stay's tier (``inpatient.tiers``: level and place).

Everything is a window over the person's or the episode's earlier stays.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from shidian.dialect import Engine
from shidian.insurance.frame import query
from shidian.insurance.policy import InsurancePolicy

__all__ = ["deductibles_sql", "inpatient_deductibles", "prepare_deductibles"]


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")" if values else "(NULL)"


def inpatient_deductibles(con: duckdb.DuckDBPyConnection, policy: InsurancePolicy, n: int) -> pa.Table:
    """Per inpatient stay (``rid``): episode, waiver, county counts, ``deductible_basis``
    (its own ``D``), ``episode_before`` (what the episode charged before) and ``deductible``."""
    prepare_deductibles(con, policy)
    return query(con, deductibles_sql(policy), n)


def prepare_deductibles(con: duckdb.DuckDBPyConnection | Engine, policy: InsurancePolicy) -> None:
    """The tables ``deductibles_sql`` reads (``ip_rules``, ``links``, ``chain``), from ``ip``
    and ``prior_episodes``, on either engine (the same text)."""
    county = policy.county_level
    if policy.repeat_deductible == "first_charged":
        counted = f"rule = 'inpatient' AND waive IS NULL AND level >= {county}"
    else:
        counted = f"rule IN ('inpatient', 'delivery') AND level >= {county}"
    tcm = f"total_cost > 0 AND tcm_cost >= CAST('{policy.tcm_share}' AS DECIMAL(9,4)) * total_cost"
    waive_tcm = f"WHEN {tcm} THEN 'tcm'" if policy.tcm_waive_deductible else ""
    con.execute(
        f"""
        CREATE TABLE ip_rules AS
        SELECT *, CASE WHEN {counted} THEN 1 ELSE 0 END AS county_counted
        FROM (
            SELECT rid, claim_id, person_id, ord, level, tier, transfer_of, rule,
                   CASE WHEN rule = 'inpatient' THEN ({tcm}) ELSE FALSE END AS tcm,
                   CASE WHEN rule <> 'inpatient' THEN NULL
                        WHEN category IN {_in(policy.waived_categories)} THEN 'category'
                        {waive_tcm} END AS waive
            FROM ip
        )
        """
    )
    # Valid transfer links: to an earlier inpatient stay of the same person, here or in prior.
    con.execute(
        """
        CREATE TABLE links AS
        SELECT c.claim_id, c.transfer_of AS parent FROM ip_rules c
        JOIN ip_rules p ON p.claim_id = c.transfer_of AND p.person_id = c.person_id AND p.ord < c.ord
        UNION ALL
        SELECT c.claim_id, c.transfer_of AS parent FROM ip_rules c
        JOIN (SELECT DISTINCT claim_id, person_id FROM prior_episodes) e
          ON e.claim_id = c.transfer_of AND e.person_id = c.person_id
        WHERE c.transfer_of NOT IN (SELECT claim_id FROM ip_rules)
        """
    )
    con.execute(
        """
        CREATE TABLE chain AS
        WITH RECURSIVE r(claim_id, episode_id) AS (
            SELECT l.claim_id, coalesce(e.episode_id, l.parent)
            FROM links l
            LEFT JOIN (SELECT DISTINCT claim_id, episode_id FROM prior_episodes) e ON e.claim_id = l.parent
            WHERE l.parent NOT IN (SELECT claim_id FROM links)
            UNION ALL
            SELECT l.claim_id, r.episode_id FROM links l JOIN r ON l.parent = r.claim_id
        )
        SELECT * FROM r
        """
    )


def deductibles_sql(policy: InsurancePolicy) -> str:
    """The query of ``inpatient_deductibles`` over the tables of ``prepare_deductibles``."""
    county = policy.county_level
    deductibles = " ".join(
        f"WHEN '{t.key}' THEN CAST('{t.deductible}' AS DECIMAL(18,2))" for t in policy.terms
    )
    return f"""
        WITH prior_ep AS (
            SELECT episode_id, max(episode_deductible) AS prior_deductible,
                   max(episode_county_admissions) AS prior_ep_county
            FROM prior_episodes GROUP BY episode_id
        ), prior_person AS (
            SELECT person_id, sum(episode_county_admissions) AS prior_person_county
            FROM (SELECT DISTINCT person_id, episode_id, episode_county_admissions FROM prior_episodes)
            GROUP BY person_id
        ), e AS (
            SELECT ip_rules.*, coalesce(chain.episode_id, ip_rules.claim_id) AS episode_id,
                   chain.claim_id IS NOT NULL AS linked
            FROM ip_rules LEFT JOIN chain USING (claim_id)
        ), w AS (
            SELECT e.*,
                   coalesce(pp.prior_person_county, 0) - coalesce(pe.prior_ep_county, 0)
                   + coalesce(sum(county_counted) OVER person_before, 0)
                   - coalesce(sum(county_counted) OVER episode_before, 0) AS county_other,
                   coalesce(pe.prior_deductible, 0) AS prior_deductible
            FROM e
            LEFT JOIN prior_ep pe USING (episode_id)
            LEFT JOIN prior_person pp USING (person_id)
            WINDOW person_before AS (PARTITION BY person_id ORDER BY ord ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
                   episode_before AS (PARTITION BY episode_id ORDER BY ord ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
        ), d AS (
            SELECT w.*,
                   CASE WHEN rule <> 'inpatient' OR waive IS NOT NULL THEN 0
                        WHEN level >= {county} AND county_other > 0 THEN 0
                        ELSE CASE tier {deductibles} END END::DECIMAL(18,2) AS deductible_basis
            FROM w
        )
        SELECT rid, episode_id, linked, tcm, waive, county_counted::INTEGER AS county_counted, deductible_basis,
               county_other::BIGINT AS county_other,
               greatest(prior_deductible, coalesce(max(deductible_basis) OVER episode_before, 0))
                   ::DECIMAL(18,2) AS episode_before,
               (greatest(prior_deductible, max(deductible_basis) OVER episode_upto)
                - greatest(prior_deductible, coalesce(max(deductible_basis) OVER episode_before, 0)))
                   ::DECIMAL(18,2) AS stay_deductible
        FROM d
        WINDOW episode_upto AS (PARTITION BY episode_id ORDER BY ord ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW),
               episode_before AS (PARTITION BY episode_id ORDER BY ord ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
        """
