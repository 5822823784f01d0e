"""Claims (报销): reimbursable cost, deductible, reimbursement and rule trail, for many or one.

``price_claims(claims, persons, institutions, policy, prior)`` is the one implementation the
county-year batch and the discharge desk share. Claims are priced per person in the order
``(start_date, end_date, claim_id)``, after everything ``prior`` records; so pricing a year in
one batch, or one claim at a time with ``state_after`` carried from claim to claim, gives the
same rows to the fen (pinned by a hypothesis test).

The work is columnar: a claim frame and SQL steps over it (``_price``), each adding its
columns — on DuckDB by position to an Arrow frame (``frame.claim_frame``, the fast path), on
Spark by joins on the row id (``frame.JoinedFrame``): the same text, the same rows (issue 21,
docs/scale.md). What depends on a person's earlier claims uses window functions, never a loop
per claim:

* a cap (封顶线): ``paid_i = min(cap, used + Σ_{j≤i} a_j) − min(cap, used + Σ_{j<i} a_j)``
  over the claims of one person and cap bucket, ``used`` coming from ``prior``;
* the deductible of an inpatient stay: waivers, the transfer rule and the county rule, as
  windows over the person's and the episode's earlier stays (``deductible.py``).

Rules and their seed sentences: ``docs/insurance.md``; rule ids: ``model.RULE_LABELS``.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from shidian import duck
from shidian.dialect import Engine
from shidian.insurance import trail
from shidian.insurance.deductible import deductibles_sql, prepare_deductibles
from shidian.insurance.frame import Frame, JoinedFrame, PositionalFrame, claim_frame, person_rows
from shidian.insurance.model import EPISODES_SCHEMA, HOUSEHOLD_BUCKET, MONEY, USAGE_SCHEMA, PriorState
from shidian.insurance.policy import InsurancePolicy, Tier, Uplift
from shidian.money import sql_round

__all__ = ["PRICED_COLUMNS", "price_claims", "price_claims_keyed", "reverse_claim", "state_after"]

#: Columns of a priced claim, in order (claims_out.csv). Money is DECIMAL(18,2).
PRICED_COLUMNS = (
    "claim_id",
    "person_id",
    "institution_id",
    "kind",
    "start_date",
    "end_date",
    "month",
    "status",
    "rule",
    "reject_code",
    "level",
    "total_cost",
    "self_pay",
    "partial_total",
    "partial_counted",
    "reimbursable",
    "deductible",
    "deductible_rule",
    "pooled_cost",
    "ratio",
    "general_fee_paid",
    "amount_before_cap",
    "coordination_limit",
    "cap_bucket",
    "cap",
    "cap_before",
    "cap_used",
    "cap_after",
    "reimbursement",
    "other_insurance_paid",
    "desk_paid",
    "drug_cost",
    "catalogue_external_drug_cost",
    "episode_id",
    "deductible_basis",
    "county_counted",
    "day_visit",
    "month_cap",
    "month_cap_used",
    "major_oop",
    "major_cum",
    "major_paid",
    "reason",
)


def _money(value: Decimal) -> str:
    return f"CAST('{value}' AS DECIMAL(18,2))"


def _ratio(value: Decimal) -> str:
    return f"CAST('{value}' AS DECIMAL(9,4))"


def _in(values: tuple[object, ...]) -> str:
    return (
        "(" + ", ".join(f"'{v}'" if isinstance(v, str) else str(v) for v in values) + ")"
        if values
        else "(NULL)"
    )


def price_claims(
    claims: pa.Table,
    persons: pa.Table,
    institutions: pa.Table,
    policy: InsurancePolicy,
    prior: PriorState | None = None,
    engine: Engine | None = None,
) -> pa.Table:
    """Price ``claims`` after ``prior``: one row per claim, ``PRICED_COLUMNS``, by claim_id.

    ``claims`` has ``model.CLAIMS_SCHEMA``'s columns; ``persons`` at least ``person_id,
    category, insured``; ``institutions`` at least ``institution_id, level, designated,
    in_county``. Never raises for bad data: a claim the fund does not pay is ``rejected`` with
    its reason (cross-table input problems are ``validate.validate_inputs``'s job).

    ``engine`` None: an in-memory DuckDB over the positional claim frame (``frame.claim_frame``,
    the fast path); an ``Engine`` (Spark, or DuckDB for the test that pins the two): the claim
    frame in SQL, every step joined back on the row id (``frame.JoinedFrame``). The steps are
    the same SQL text either way (``_price``); the results are equal claim by claim.
    """
    state = prior or PriorState()
    if engine is not None:
        joined = JoinedFrame(engine, claims, persons, institutions, policy, state.usage, state.episodes)
        try:
            priced = _price(joined, policy, prior_usage=state.usage.num_rows > 0)
        finally:
            joined.close()
        # The DuckDB path's types (an empty run): Spark's integers and strings differ in width.
        schema = price_claims(
            claims.slice(0, 0), persons.slice(0, 0), institutions.slice(0, 0), policy
        ).schema
        return priced.cast(schema)
    positional = PositionalFrame(
        claim_frame(claims, persons, institutions, policy), state.usage, state.episodes
    )
    try:
        return _price(positional, policy, prior_usage=state.usage.num_rows > 0)
    finally:
        positional.close()


def price_claims_keyed(
    claims: pa.Table,
    persons: pa.Table,
    institutions: pa.Table,
    policy: InsurancePolicy,
    engine: Engine | None = None,
) -> tuple[pa.Table, pa.Array]:
    """``price_claims`` and each priced claim's row in ``persons`` (null: its person is not
    listed), the integer key the batch's notice and health checks use instead of joining on the
    id text. On the positional frame the key is the frame's own (``frame.claim_frame``); on an
    engine it is looked up again."""
    if engine is not None:
        priced = price_claims(claims, persons, institutions, policy, engine=engine)
        return priced, person_rows(priced.column("person_id"), persons.column("person_id"))
    state = PriorState()
    positional = PositionalFrame(
        claim_frame(claims, persons, institutions, policy), state.usage, state.episodes
    )
    try:
        priced = _price(positional, policy, prior_usage=False)
        key = positional.table.column("person_key").to_numpy()
    finally:
        positional.close()
    return priced, pa.array(key, pa.int64(), mask=key >= persons.num_rows)


def _price(frame: Frame, policy: InsurancePolicy, *, prior_usage: bool = True) -> pa.Table:
    """The pricing steps over ``frame`` (either engine): each query reads the view ``frame`` and
    adds its columns to it by row id (``rid``). ``prior_usage`` False: the table ``prior_usage``
    is empty (a batch from the start of the year), so the caps need not join it."""
    frame.add(_base_sql(policy), ordered=True)
    frame.execute(
        "CREATE TABLE ip AS SELECT rid, claim_id, person_id, ord, level, tier, transfer_of, rule, category, "
        "total_cost, tcm_cost FROM frame WHERE kind = 'inpatient'"
    )
    prepare_deductibles(frame.con, policy)
    frame.add(deductibles_sql(policy), ordered=False)
    frame.add(_amounts_sql(policy), ordered=True)
    if policy.outpatient_once_per_day:
        frame.add(_DAY_VISITS_SQL, ordered=False)
    else:
        frame.nulls({"day_visit": pa.int64()})
    if policy.outpatient_monthly_cap is None:
        frame.nulls({"month_cap": MONEY, "month_cap_used": MONEY})
    else:
        frame.add(_month_caps_sql(policy.outpatient_monthly_cap), ordered=False)
    frame.add(_caps_sql(policy, prior_usage=prior_usage), ordered=False)
    if policy.major_bands is None:
        frame.nulls({"major_oop": MONEY, "major_cum": MONEY, "major_paid": MONEY})
        reason = f"SELECT rid, reimbursement, {trail.reason_sql(policy, frame.dialect)} AS reason FROM ({_REIMBURSEMENT_SQL})"
        frame.add(reason, ordered=True)
        return frame.result(PRICED_COLUMNS)
    frame.add(f"SELECT rid, reimbursement FROM ({_REIMBURSEMENT_SQL})", ordered=True)
    frame.add(_major_sql(policy), ordered=True)
    reason = f"SELECT rid, {trail.major_reason_sql(policy, trail.reason_sql(policy, frame.dialect), frame.dialect)} AS reason FROM frame"
    frame.add(reason, ordered=True)
    return frame.result(PRICED_COLUMNS)


#: An ordinary outpatient visit's amount after the once-a-day rule (0 for a day's later visits).
_DAY_LIMITED = "CASE WHEN coalesce(f.day_visit, 1) > 1 THEN 0 ELSE f.amount_before_cap END"

#: ``day_visit``: an ordinary outpatient visit's number among the person's visits of its day
#: (``outpatient.once_per_day``; prior buckets ``outpatient_day:<date>`` count earlier ones).
_DAY_VISITS_SQL = """
    WITH u AS (
        SELECT person_id, bucket, sum(used) AS prior FROM prior_usage
        WHERE bucket LIKE 'outpatient_day:%' GROUP BY ALL
    )
    SELECT f.rid, CAST(coalesce(u.prior, 0)
                       + row_number() OVER (PARTITION BY f.person_key, f.end_date ORDER BY f.ord) AS BIGINT) AS day_visit
    FROM frame f LEFT JOIN u ON u.person_id = f.person_id
                            AND u.bucket = 'outpatient_day:' || CAST(f.end_date AS STRING)
    WHERE f.rule = 'outpatient'
    UNION ALL
    SELECT rid, NULL::BIGINT FROM frame WHERE rule <> 'outpatient'
"""


def _month_caps_sql(cap: Decimal) -> str:
    """``month_cap``, ``month_cap_used``: an ordinary outpatient visit's amount within the
    person's monthly limit (``outpatient.monthly_cap``; prior buckets ``outpatient_month:<m>``),
    the same window as the yearly caps'; null for other claims."""
    return f"""
        WITH u AS (
            SELECT person_id, bucket, sum(used) AS prior FROM prior_usage
            WHERE bucket LIKE 'outpatient_month:%' GROUP BY ALL
        ), s AS (
            SELECT f.rid, {_DAY_LIMITED} AS a, coalesce(u.prior, 0) AS prior,
                   sum({_DAY_LIMITED}) OVER (PARTITION BY f.person_key, f.month ORDER BY f.ord
                                                  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running
            FROM frame f LEFT JOIN u ON u.person_id = f.person_id AND u.bucket = 'outpatient_month:' || f.month
            WHERE f.rule = 'outpatient'
        )
        SELECT rid, {_money(cap)} AS month_cap,
               (least({_money(cap)}, prior + running) - least({_money(cap)}, prior + running - a))
                   ::DECIMAL(18,2) AS month_cap_used
        FROM s
        UNION ALL
        SELECT rid, NULL::DECIMAL(18,2), NULL::DECIMAL(18,2) FROM frame WHERE rule <> 'outpatient'
    """


def _major_amount_sql(policy: InsurancePolicy, oop: str) -> str:
    """``InsurancePolicy.major_amount`` of the cumulative 合规自付 ``oop``, in SQL."""
    bands = policy.major_bands
    assert bands is not None
    parts = []
    for k, (lo, r) in enumerate(bands):
        top = oop if k + 1 == len(bands) else f"least({oop}, {_money(bands[k + 1][0])})"
        parts.append(f"{_ratio(r)} * greatest(0, {top} - {_money(lo)})")
    amount = sql_round(" + ".join(parts), 2)
    return amount if policy.major_cap is None else f"least({amount}, {_money(policy.major_cap)})"


def _major_sql(policy: InsurancePolicy) -> str:
    """大病保险 (second layer): each counted claim's 个人自付合规费用 (reimbursable − basic
    reimbursement), the person's running total after it (``prior_usage`` bucket ``major_oop``
    first), and the layer's payment ``F(after) − F(before)`` — windows, no loop per claim."""
    counted = f"status = 'paid' AND rule IN {_in(policy.major_rules)}"
    after = "major_cum"
    before = "(major_cum - major_oop)"
    return f"""
        WITH p AS (
            SELECT person_id, sum(used) AS prior FROM prior_usage WHERE bucket = 'major_oop' GROUP BY ALL
        ), o AS (
            SELECT rid, person_key, person_id, ord,
                   CASE WHEN {counted} THEN greatest(reimbursable - reimbursement, 0) END::DECIMAL(18,2) AS major_oop
            FROM frame
        ), c AS (
            SELECT o.rid, o.major_oop,
                   CASE WHEN o.major_oop IS NOT NULL THEN coalesce(p.prior, 0) + sum(coalesce(o.major_oop, 0))
                       OVER (PARTITION BY o.person_key ORDER BY o.ord ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
                   END::DECIMAL(18,2) AS major_cum
            FROM o LEFT JOIN p ON p.person_id = o.person_id
        )
        SELECT rid, major_oop, major_cum,
               CASE WHEN major_oop IS NOT NULL
                    THEN {_major_amount_sql(policy, after)} - {_major_amount_sql(policy, before)} END
                   ::DECIMAL(18,2) AS major_paid
        FROM c ORDER BY rid
    """


def _partial_counted_sql(policy: InsurancePolicy) -> str:
    """部分支付项目计入可补偿费用的金额 (rounded once, half up, to the fen)."""
    items = ("special_exam", "special_treatment", "blood", "special_material")
    total = " + ".join(items)
    if policy.partial_reading == "formula_line":
        excluded = (
            f"(special_exam + special_treatment + blood) * {_ratio(policy.formula_items_excluded)}"
            f" + special_material * {_ratio(policy.formula_material_excluded)}"
        )
        return f"({total}) - {sql_round(excluded, 2)}"
    limit = _money(policy.partial_threshold)
    within, above = _ratio(policy.partial_share_within), _ratio(policy.partial_share_above)
    if policy.partial_bands == "banded":
        parts = [f"{within} * least({i}, {limit}) + {above} * greatest({i} - {limit}, 0)" for i in items]
    else:
        parts = [f"CASE WHEN {i} <= {limit} THEN {within} * {i} ELSE {above} * {i} END" for i in items]
    return f"CASE WHEN {total} = 0 THEN 0 ELSE {sql_round(' + '.join(parts), 2)} END"


def _base_sql(policy: InsurancePolicy) -> str:
    """Status, reason code, rule and the reimbursable amount of each claim (no other claim needed)."""
    listed = "self_pay + special_exam + special_treatment + blood + special_material + tcm_cost + general_fee"
    out_of_area = "(kind = 'inpatient' AND certificate = 1 AND in_county = 0)"
    return f"""
        SELECT rid, reject_code, CASE WHEN reject_code IS NULL THEN 'paid' ELSE 'rejected' END AS status,
               CASE WHEN reject_code IS NOT NULL THEN 'rejected'
                    WHEN kind = 'inpatient' AND delivery = 'normal' THEN 'delivery'
                    WHEN kind = 'inpatient' THEN 'inpatient'
                    WHEN cataract_eyes > 0 THEN 'cataract'
                    WHEN chronic_code IS NOT NULL THEN 'chronic'
                    WHEN tcm_fracture = 1 THEN 'tcm_fracture'
                    ELSE 'outpatient' END AS rule,
               month(end_date)::BIGINT AS month, partial_total, tier,
               CASE WHEN reject_code IS NULL THEN counted ELSE 0 END::DECIMAL(18,2) AS partial_counted,
               CASE WHEN reject_code IS NULL THEN total_cost - self_pay - (partial_total - counted) ELSE 0 END
                   ::DECIMAL(18,2) AS reimbursable
        FROM (
            SELECT rid, kind, delivery, cataract_eyes, chronic_code, tcm_fracture, end_date, total_cost, self_pay,
                   {_tier_sql(policy)} AS tier,
                   (special_exam + special_treatment + blood + special_material)::DECIMAL(18,2) AS partial_total,
                   ({_partial_counted_sql(policy)})::DECIMAL(18,2) AS counted,
                   CASE
                       WHEN insured IS NULL OR insured = 0 THEN 'not_insured'
                       WHEN level IS NULL THEN 'unknown_institution'
                       WHEN year(end_date) <> {policy.year} THEN 'outside_year'
                       WHEN {listed} > total_cost THEN 'items_exceed_total'
                       WHEN designated = 0 AND NOT {out_of_area} THEN 'not_designated'
                       WHEN in_county = 0 AND NOT {out_of_area} AND referral = 0 AND transfer_of IS NULL
                           THEN 'not_referred'
                       WHEN kind = 'outpatient' AND cataract_eyes = 0 AND chronic_code IS NULL AND tcm_fracture = 0
                            AND level NOT IN {_in(policy.outpatient_levels)} THEN 'outpatient_level'
                       WHEN kind = 'inpatient' AND ({_tier_sql(policy)}) IS NULL THEN 'no_tier'
                   END AS reject_code
            FROM frame
        )
    """


def _tier_sql(policy: InsurancePolicy) -> str:
    """The key of the first tier matching the claim's institution (level, place), else NULL."""
    specials = tuple(t.key for t in policy.specials)
    whens = (
        [f"WHEN kind = 'inpatient' AND inpatient_category IN {_in(specials)} THEN inpatient_category"]
        if specials
        else []
    )
    for t in policy.tiers:
        where = f"level IN {_in(t.levels)}"
        if t.places is not None:
            where += f" AND place IN {_in(t.places)}"
        whens.append(f"WHEN {where} THEN '{t.key}'")
    return f"CASE {' '.join(whens)} END"


def _by_tier(policy: InsurancePolicy, value: Callable[[Tier], str | None], sql_type: str) -> str:
    """``CASE tier WHEN key THEN value(tier) … END`` (NULL where ``value`` gives None)."""
    whens = " ".join(f"WHEN '{t.key}' THEN {v}" for t in policy.terms if (v := value(t)) is not None)
    return f"(CASE tier {whens} END)::{sql_type}" if whens else f"NULL::{sql_type}"


def _bands(policy: InsurancePolicy) -> int:
    return max(len(t.bands) for t in policy.terms)


def _uplift_condition(uplift: Uplift) -> str:
    parts = ["rule = 'inpatient'"]
    if uplift.categories is not None:
        parts.append(f"category IN {_in(uplift.categories)}")
    if uplift.tiers is not None:
        parts.append(f"tier IN {_in(uplift.tiers)}")
    return " AND ".join(parts)


def _uplifted(expr: str, mode: str, amount: Decimal) -> str:
    if mode == "points":
        return f"least(1, {expr} + {_ratio(amount)})"
    return f"least(1, {sql_round(f'({expr}) * {_ratio(amount)}', 4)})"


def _inpatient_ratios_sql(policy: InsurancePolicy, inner: str) -> str:
    """The claim's band ratios ``r_1 … r_B`` (the tier's, then 中医药 提高, then each uplift, in
    order, each bounded by 100%), and the bands' bounds ``lo_k``/``hi_k``, over ``inner``."""
    b = _bands(policy)
    cols = []
    for k in range(b):

        def band_ratio(t: Tier, k: int = k) -> str | None:
            return _ratio(t.bands[k][1]) if k < len(t.bands) else None

        def lower(t: Tier, k: int = k) -> str | None:
            return _money(t.bands[k][0]) if k < len(t.bands) else None

        def upper(t: Tier, k: int = k) -> str | None:
            return _money(t.bands[k + 1][0]) if k + 1 < len(t.bands) else None

        cols.append(
            f"CASE WHEN rule = 'inpatient' THEN {_by_tier(policy, band_ratio, 'DECIMAL(9,4)')} END AS r0_{k + 1}"
        )
        if b > 1:
            cols.append(f"{_by_tier(policy, lower, 'DECIMAL(18,2)')} AS lo_{k + 1}")
            cols.append(f"{_by_tier(policy, upper, 'DECIMAL(18,2)')} AS hi_{k + 1}")
    sql = f"SELECT *, {', '.join(cols)} FROM ({inner})"
    tcm_mode = "points" if policy.tcm_increase_mode == "points" else "factor"
    tcm_amount = policy.tcm_ratio_increase if tcm_mode == "points" else 1 + policy.tcm_ratio_increase
    steps = [("rule = 'inpatient' AND tcm", tcm_mode, tcm_amount)]
    steps += [(_uplift_condition(u), u.mode, u.amount) for u in policy.uplifts]
    # Each step reads r<j>_k and writes r<j+1>_k, the last one r_k: new names, not ``* REPLACE``
    # (DuckDB only), so that the text runs on Spark too.
    for j, (condition, mode, amount) in enumerate(steps):
        flag = "" if j == 0 else f", coalesce({condition}, FALSE) AS up_{j}"
        out = "r" if j + 1 == len(steps) else f"r{j + 1}"
        adjusted = ", ".join(
            f"CASE WHEN {condition} THEN {_uplifted(f'r{j}_{k + 1}', mode, amount)} ELSE r{j}_{k + 1} END"
            f"::DECIMAL(9,4) AS {out}_{k + 1}"
            for k in range(b)
        )
        sql = f"SELECT *, {adjusted}{flag} FROM ({sql})"
    return sql


def _inpatient_amount_sql(policy: InsurancePolicy) -> tuple[str, str]:
    """(the inpatient ratio shown, the amount by ratio) over ``_inpatient_ratios_sql``'s columns.

    Flat tiers: ``pooled_cost × r_1`` rounded once. Bands (分段计算): each band's share of the
    cost above the deductible (``inpatient.bands_on``), times its ratio, summed, rounded once;
    the ratio shown is the highest band reached."""
    b = _bands(policy)
    flat = [t for t in policy.specials if t.flat is not None]
    if b == 1:
        shown, amount = "r_1", sql_round("pooled_cost * ratio", 2)
    else:
        total = " + ".join(f"coalesce(r_{k} * seg_{k}, 0)" for k in range(1, b + 1))
        top = " ".join(f"WHEN seg_{k} > 0 THEN r_{k}" for k in range(b, 1, -1))
        shown, amount = f"CASE {top} ELSE r_1 END", sql_round(total, 2)
    if not flat:
        return shown, amount
    keys = _in(tuple(t.key for t in flat))
    fixed = " ".join(f"WHEN '{t.key}' THEN {_money(t.flat)}" for t in flat if t.flat is not None)
    return (
        f"CASE WHEN tier IN {keys} THEN NULL ELSE {shown} END",
        f"CASE WHEN tier IN {keys} THEN least(CASE tier {fixed} END, pooled_cost) ELSE {amount} END",
    )


def _segments_sql(policy: InsurancePolicy) -> str:
    """``seg_k``: the part of the stay's reimbursable cost in band k, above the deductible."""
    if _bands(policy) == 1:
        return ""
    s = "deductible" if policy.bands_on == "pooled" else "0"
    return ", " + ", ".join(
        f"CASE WHEN lo_{k} IS NULL THEN 0 ELSE greatest(0, "
        f"least(reimbursable, coalesce(hi_{k} + {s}, reimbursable)) - greatest(lo_{k} + {s}, deductible)) END"
        f"::DECIMAL(18,2) AS seg_{k}"
        for k in range(1, _bands(policy) + 1)
    )


def _amounts_sql(policy: InsurancePolicy) -> str:
    """Each claim's reimbursement before its cap: tier ratios or bands, uplifts, floor, stay and
    visit limits, fixed amounts, 一般诊疗费, coordination."""
    b = _bands(policy)
    shown, by_ratio_inpatient = _inpatient_amount_sql(policy)
    simple = sql_round("pooled_cost * ratio", 2)
    floor = policy.floor_ratio
    base = "total_cost" if policy.floor_base == "total" else "reimbursable"
    floor_sql = (
        f"CASE WHEN rule = 'inpatient' THEN least({sql_round(f'{base} * {_ratio(floor)}', 2)}, reimbursable) END"
        if floor is not None
        else "NULL"
    )
    stay_cap = _by_tier(
        policy, lambda t: _money(t.stay_cap) if t.stay_cap is not None else None, "DECIMAL(18,2)"
    )
    visit_cap = _money(policy.outpatient_visit_cap) if policy.outpatient_visit_cap is not None else "NULL"
    bucket = "'inpatient'" if policy.cap_scope == "shared" else "'inpatient:' || tier"
    inpatient_cap = (
        _money(policy.inpatient_cap)
        if policy.cap_scope == "shared" and policy.inpatient_cap is not None
        else _by_tier(
            policy, lambda t: _money(t.annual_cap) if t.annual_cap is not None else None, "DECIMAL(18,2)"
        )
    )
    outpatient_bucket, outpatient_cap, household_cols = _outpatient_cap_sql(policy)
    uplift_flags = "".join(f", up_{j}" for j in range(1, len(policy.uplifts) + 1))
    band_cols = "".join(f", r_{k}, lo_{k}, hi_{k}, seg_{k}" for k in range(1, b + 1)) if b > 1 else ""
    inner = f"""
        SELECT rid, rule, tier, category, tcm, chronic_code, chronic_amount, chronic_ratio, cataract_eyes,
               total_cost, reimbursable{household_cols},
               coalesce(stay_deductible, 0)::DECIMAL(18,2) AS deductible,
               CASE WHEN rule <> 'inpatient' THEN 'none'
                    WHEN waive IS NOT NULL THEN waive
                    WHEN level >= {policy.county_level} AND county_other > 0 THEN 'county_repeat'
                    WHEN episode_before > 0 THEN 'transfer'
                    ELSE 'standard' END AS deductible_rule,
               {_general_due_sql(policy)}::DECIMAL(18,2) AS general_due,
               CASE WHEN status = 'paid' THEN greatest(total_cost - other_insurance_paid, 0) END
                   ::DECIMAL(18,2) AS coordination_limit
        FROM frame
    """
    return f"""
        SELECT rid, deductible, deductible_rule, ratio, general_due, coordination_limit, pooled_cost, computed,
               general_fee_paid, by_ratio, floor_amount, stay_cap, visit_cap{uplift_flags}{band_cols},
               least(computed, coalesce(coordination_limit, 0) - general_fee_paid)::DECIMAL(18,2) AS amount_before_cap,
               CASE rule WHEN 'inpatient' THEN {bucket} WHEN 'delivery' THEN {bucket}
                         WHEN 'outpatient' THEN {outpatient_bucket} WHEN 'tcm_fracture' THEN 'tcm_fracture'
                         WHEN 'chronic' THEN 'chronic:' || chronic_code END AS cap_bucket,
               CASE rule WHEN 'inpatient' THEN {inpatient_cap}
                         WHEN 'delivery' THEN {inpatient_cap}
                         WHEN 'outpatient' THEN {outpatient_cap}
                         WHEN 'tcm_fracture' THEN {_money(policy.tcm_fracture_cap)}
                         WHEN 'chronic' THEN chronic_amount END::DECIMAL(18,2) AS cap
        FROM (
            SELECT *,
                   CASE WHEN rule = 'inpatient'
                            THEN least(greatest(by_ratio, coalesce(floor_amount, 0)),
                                       coalesce(stay_cap, greatest(by_ratio, coalesce(floor_amount, 0))))
                        WHEN rule = 'outpatient' THEN least(by_ratio, coalesce(visit_cap, by_ratio))
                        WHEN rule IN ('chronic', 'tcm_fracture') THEN by_ratio
                        WHEN rule = 'delivery' THEN least({_money(policy.delivery_amount)}, pooled_cost)
                        WHEN rule = 'cataract'
                            THEN least({_money(policy.cataract_amount_per_eye)} * cataract_eyes, pooled_cost)
                        ELSE 0 END::DECIMAL(18,2) AS computed,
                   least(general_due, coalesce(coordination_limit, 0))::DECIMAL(18,2) AS general_fee_paid
            FROM (
                SELECT *,
                       CASE WHEN rule = 'inpatient' THEN {by_ratio_inpatient}
                            WHEN rule IN ('outpatient', 'chronic', 'tcm_fracture') THEN {simple}
                       END::DECIMAL(18,2) AS by_ratio,
                       ({floor_sql})::DECIMAL(18,2) AS floor_amount,
                       CASE WHEN rule = 'inpatient' THEN {stay_cap} END::DECIMAL(18,2) AS stay_cap,
                       CASE WHEN rule = 'outpatient' THEN {visit_cap} END::DECIMAL(18,2) AS visit_cap
                FROM (
                    SELECT *,
                           CASE WHEN rule = 'inpatient' THEN {shown}
                                WHEN rule = 'outpatient' THEN {_ratio(policy.outpatient_ratio)}
                                WHEN rule = 'chronic' THEN chronic_ratio
                                WHEN rule = 'tcm_fracture' THEN {_ratio(policy.tcm_fracture_ratio)}
                           END::DECIMAL(9,4) AS ratio
                    FROM (
                        SELECT *{_segments_sql(policy)} FROM (
                            SELECT *,
                                   CASE WHEN rule = 'inpatient' THEN greatest(reimbursable - deductible, 0)
                                        WHEN rule = 'outpatient' THEN reimbursable - general_due
                                        ELSE reimbursable END::DECIMAL(18,2) AS pooled_cost
                            FROM ({_inpatient_ratios_sql(policy, inner)})
                        )
                    )
                )
            )
        )
    """


def _outpatient_cap_sql(policy: InsurancePolicy) -> tuple[str, str, str]:
    """(cap bucket, cap, frame columns needed) of an ordinary outpatient visit.

    ``outpatient.cap_scope = "household"``: a person with a household id uses the household's
    bucket ``outpatient_household:<户号>``, whose cap is ``annual_cap`` × the household's insured
    members (``household_cap = "per_member"``) or ``annual_cap`` (``"fixed"``)."""
    cap = _money(policy.outpatient_cap)
    if policy.outpatient_cap_scope != "household":
        return "'outpatient'", cap, ""
    household = f"{cap} * household_members" if policy.outpatient_household_cap == "per_member" else cap
    return (
        f"CASE WHEN household_id IS NULL THEN 'outpatient' ELSE '{HOUSEHOLD_BUCKET}' || household_id END",
        f"CASE WHEN household_id IS NULL THEN {cap} ELSE {household} END",
        ", household_id, household_members",
    )


def _general_due_sql(policy: InsurancePolicy) -> str:
    """一般诊疗费 paid in full by the fund (002 篇四 二(二)), only where the policy applies it."""
    if not policy.general_fee_enabled:
        return "0"
    return (
        f"CASE WHEN rule = 'outpatient' AND level IN {_in(policy.general_fee_levels)}"
        f" THEN least(general_fee, {_money(policy.general_fee_amount)}) ELSE 0 END"
    )


def _caps_sql(policy: InsurancePolicy, *, prior_usage: bool = True) -> str:
    """Each claim's part of its yearly cap (封顶线): the running sum over the claims of one
    person and bucket (``ord``), after ``prior_usage``. A household's shared outpatient bucket
    (``outpatient.cap_scope = "household"``) runs over the household's claims in the order
    ``(start_date, end_date, claim_id)`` (each person's ``ord`` order too), after what any
    member's prior usage recorded in that bucket.

    What is known when the SQL is written is left out of it: without a prior usage (a batch from
    the start of the year) the prior is 0 and ``prior_usage`` is not joined; without the
    once-a-day rule and a monthly limit (``day_visit``, ``month_cap_used`` always null) the
    amount is ``amount_before_cap``."""
    limited = (
        f"coalesce(f.month_cap_used, {_DAY_LIMITED})"
        if policy.outpatient_once_per_day or policy.outpatient_monthly_cap is not None
        else "f.amount_before_cap"
    )
    if policy.outpatient_cap_scope == "household":
        shared = f"f.cap_bucket LIKE '{HOUSEHOLD_BUCKET}%'"
        prior = "coalesce(CASE WHEN " + shared + " THEN h.prior_used ELSE u.prior_used END, 0)"
        joins = (
            "LEFT JOIN u ON u.person_id = f.person_id AND u.cap_bucket = f.cap_bucket\n"
            "        LEFT JOIN h ON h.cap_bucket = f.cap_bucket"
        )
        shared_prior = (
            f", h AS (SELECT bucket AS cap_bucket, sum(used) AS prior_used FROM prior_usage "
            f"WHERE bucket LIKE '{HOUSEHOLD_BUCKET}%' GROUP BY ALL)"
        )
        window = (
            f"PARTITION BY f.cap_bucket, CASE WHEN {shared} THEN NULL ELSE f.person_key END "
            f"ORDER BY CASE WHEN {shared} THEN f.start_date END, CASE WHEN {shared} THEN f.end_date END, "
            f"CASE WHEN {shared} THEN f.claim_id END, f.ord"
        )
    else:
        prior = "coalesce(u.prior_used, 0)"
        joins = "LEFT JOIN u ON u.person_id = f.person_id AND u.cap_bucket = f.cap_bucket"
        shared_prior = ""
        window = "PARTITION BY f.person_key, f.cap_bucket ORDER BY f.ord"
    if not prior_usage:
        prior, joins = "0::DECIMAL(38,2)", ""
    return f"""
    WITH u AS (
        SELECT person_id, bucket AS cap_bucket, sum(used) AS prior_used FROM prior_usage GROUP BY ALL
    ){shared_prior}, s AS (
        SELECT f.rid, f.cap, {limited} AS amount_before_cap, {prior} AS prior_used,
               sum({limited}) OVER ({window} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running
        FROM frame f {joins}
        WHERE f.cap IS NOT NULL
    ), b AS (
        SELECT s.*, least(cap, prior_used + running - amount_before_cap) AS lo, least(cap, prior_used + running) AS hi
        FROM s
    )
    SELECT rid, (cap - lo)::DECIMAL(18,2) AS cap_before, (hi - lo)::DECIMAL(18,2) AS cap_used,
           (cap - hi)::DECIMAL(18,2) AS cap_after
    FROM b
    UNION ALL  -- every row, so that aligning is a permutation (twice as fast as a take with gaps)
    SELECT rid, NULL::DECIMAL(18,2), NULL::DECIMAL(18,2), NULL::DECIMAL(18,2) FROM frame WHERE cap IS NULL
"""


_REIMBURSEMENT_SQL = """
    SELECT *, (general_fee_paid + coalesce(cap_used, month_cap_used,
                                           CASE WHEN coalesce(day_visit, 1) > 1 THEN 0 ELSE amount_before_cap END))
              ::DECIMAL(18,2) AS reimbursement FROM frame
"""


def state_after(priced: pa.Table, prior: PriorState | None = None) -> PriorState:
    """The state a person's year is in after ``prior`` and the ``priced`` claims (both applied).

    The desk keeps it per person, or rebuilds it from the person's stored priced claims with
    ``state_after(stored)``. Rows are sorted, so equal states compare equal.
    """
    state = prior or PriorState()
    con = duck.connect()
    try:
        con.register("priced", priced)
        con.register("prior_usage", state.usage)
        con.register("prior_episodes", state.episodes)
        usage = con.sql(
            """
            SELECT person_id, bucket, sum(used)::DECIMAL(18,2) AS used FROM (
                SELECT person_id, bucket, used FROM prior_usage
                UNION ALL
                SELECT person_id, cap_bucket, cap_used FROM priced WHERE cap_bucket IS NOT NULL
                UNION ALL
                SELECT person_id, 'major_oop', major_oop FROM priced WHERE major_oop IS NOT NULL
                UNION ALL
                SELECT person_id, 'outpatient_month:' || month, month_cap_used FROM priced
                WHERE month_cap_used IS NOT NULL
                UNION ALL
                SELECT person_id, 'outpatient_day:' || CAST(end_date AS STRING), 1 FROM priced
                WHERE day_visit IS NOT NULL
            ) GROUP BY ALL ORDER BY person_id, bucket
            """
        ).to_arrow_table()
        episodes = con.sql(
            """
            WITH rows AS (
                SELECT claim_id, person_id, episode_id, episode_deductible AS d,
                       episode_county_admissions AS county, TRUE AS old FROM prior_episodes
                UNION ALL
                SELECT claim_id, person_id, episode_id, deductible_basis, county_counted, FALSE
                FROM priced WHERE kind = 'inpatient'
            ), agg AS (
                SELECT episode_id, max(d) AS d,
                       coalesce(max(county) FILTER (WHERE old), 0) + coalesce(sum(county) FILTER (WHERE NOT old), 0) AS n
                FROM rows GROUP BY episode_id
            )
            SELECT r.claim_id, r.person_id, r.episode_id, agg.d::DECIMAL(18,2) AS episode_deductible,
                   agg.n::BIGINT AS episode_county_admissions
            FROM rows r JOIN agg USING (episode_id) ORDER BY r.person_id, r.claim_id
            """
        ).to_arrow_table()
    finally:
        con.close()
    return PriorState(usage.cast(USAGE_SCHEMA), episodes.cast(EPISODES_SCHEMA))


def reverse_claim(
    claims: pa.Table,
    claim_id: str,
    persons: pa.Table,
    institutions: pa.Table,
    policy: InsurancePolicy,
) -> tuple[pa.Table, PriorState]:
    """冲正: recompute the person's year without ``claim_id``.

    ``claims`` are all of the person's claims of the policy year (the one reversed among
    them). Returns the re-priced remaining claims and the state they leave, which frees what
    the reversed claim used of every cap and deductible.
    """
    remaining = claims.filter(pc.not_equal(claims.column("claim_id"), pa.scalar(claim_id)))
    priced = price_claims(remaining, persons, institutions, policy)
    return priced, state_after(priced)
