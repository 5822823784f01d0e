"""Cross-column and cross-table checks of insurance inputs (输入校验).

What a single cell's type cannot catch: GB 11643 ID numbers and birth dates, 12-digit village
codes, duplicate ID numbers, dates in the wrong order, a delivery on an outpatient claim, an
unknown chronic-disease code, transfers that point nowhere sensible. Every problem names the
file, the row (``_row`` from the file adapter; else position + 2) and the column.

Claims the fund does not pay (a person not insured, an unknown institution, listed items above
the total cost, dates outside the policy year …) are *not* input problems: the batch contract
prices them as ``rejected`` with the reason (``claims.price_claims``).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shidian import duck
from shidian.insurance.id_number import id_number_errors
from shidian.insurance.model import EPISODES_SCHEMA, PLACE_LABELS, InsuranceInputs, PriorState
from shidian.insurance.policy import InsurancePolicy
from shidian.problems import Problem, Severity, Source, problems_from_rows

#: (code, severity, relation, column, SQL condition over the relation aliased t, message template).
#: Relations: the input tables, ``persons_checked`` (persons with ``id_error``,
#: ``born_after_year`` and ``first_row`` of the ID number), ``transfers`` (claims with a
#: ``transfer_of``, and the claim it names) and ``contributions_checked`` (receipts with
#: ``outside_years`` and ``first_row`` of the reference).
_ROW_CHECKS: tuple[tuple[str, Severity, str, str, str, str], ...] = (
    (
        "insurance.person.bad_id_number",
        "error",
        "persons_checked",
        "id_number",
        "t.id_error = 'format'",
        "身份证号 {id_number} 不符合 GB 11643 的格式: 应为18位, 前17位为数字, 末位为数字或 X "
        "(bad ID number: 17 digits and a check character)",
    ),
    (
        "insurance.person.bad_id_number",
        "error",
        "persons_checked",
        "id_number",
        "t.id_error = 'check'",
        "身份证号 {id_number} 的校验码不对 (GB 11643, ISO 7064 MOD 11-2), 请核对号码 "
        "(bad ID number: wrong check character)",
    ),
    (
        "insurance.person.bad_birth_date",
        "error",
        "persons_checked",
        "id_number",
        "t.id_error = 'birth'",
        "身份证号 {id_number} 中的出生日期不是有效日期 (bad birth date)",
    ),
    (
        "insurance.person.born_after_year",
        "error",
        "persons_checked",
        "id_number",
        "t.born_after_year",
        "身份证号 {id_number} 中的出生日期晚于本政策年度末, 不可能在本年度参合 (born after the policy year)",
    ),
    (
        "insurance.person.duplicate_id_number",
        "error",
        "persons_checked",
        "id_number",
        "t.first_row IS NOT NULL AND t._row > t.first_row",
        "身份证号 {id_number} 与前面的参合人员重复 (duplicate ID number)",
    ),
    (
        "insurance.person.bad_village_code",
        "error",
        "persons",
        "village_code",
        "NOT regexp_full_match(t.village_code, '[0-9]{12}')",
        "行政村代码 {village_code} 应为12位数字 (village code must have 12 digits)",
    ),
    (
        "insurance.village.bad_code",
        "error",
        "villages",
        "village_code",
        "NOT regexp_full_match(t.village_code, '[0-9]{12}')",
        "行政村代码 {village_code} 应为12位数字 (village code must have 12 digits)",
    ),
    (
        "insurance.claim.dates_reversed",
        "error",
        "claims",
        "start_date",
        "t.start_date > t.end_date",
        "开始日期 {start_date} 晚于结束日期 {end_date} (start after end)",
    ),
    (
        "insurance.claim.delivery_outpatient",
        "error",
        "claims",
        "delivery",
        "t.delivery IS NOT NULL AND t.kind = 'outpatient'",
        "门诊就诊不能有住院分娩类型 {delivery} (delivery on an outpatient claim)",
    ),
    (
        "insurance.claim.outpatient_only",
        "error",
        "claims",
        "chronic_disease",
        "t.kind = 'inpatient' AND (t.chronic_disease IS NOT NULL OR t.tcm_fracture = 1)",
        "特殊慢性病与中医门诊骨折治疗只适用于门诊 (outpatient-only item on an inpatient claim)",
    ),
    (
        "insurance.claim.unknown_chronic_disease",
        "error",
        "claims",
        "chronic_disease",
        "t.chronic_disease IS NOT NULL AND t.kind = 'outpatient' "
        "AND t.chronic_disease NOT IN (SELECT code FROM chronic)",
        "特殊慢性病编码 {chronic_disease} 不在政策的病种表中 (unknown chronic disease)",
    ),
    (
        "insurance.claim.inpatient_category_outpatient",
        "error",
        "claims",
        "inpatient_category",
        "t.inpatient_category IS NOT NULL AND t.kind = 'outpatient'",
        "门诊就诊不能有特殊住院类别 {inpatient_category} (inpatient category on an outpatient claim)",
    ),
    (
        "insurance.claim.unknown_inpatient_category",
        "error",
        "claims",
        "inpatient_category",
        "t.inpatient_category IS NOT NULL AND t.kind = 'inpatient' "
        "AND t.inpatient_category NOT IN (SELECT code FROM specials)",
        "特殊住院类别 {inpatient_category} 不在政策的 inpatient.special 中 (unknown inpatient category)",
    ),
    (
        "insurance.claim.conflicting_types",
        "error",
        "claims",
        "cataract_eyes",
        "t.kind = 'outpatient' AND (CAST(t.cataract_eyes > 0 AS INTEGER) + CAST(t.chronic_disease IS NOT NULL AS INTEGER)"
        " + CAST(t.tcm_fracture = 1 AS INTEGER)) > 1",
        "一次门诊只能是白内障手术、特殊慢性病、中医骨折治疗之一 (conflicting outpatient types)",
    ),
    (
        "insurance.claim.other_above_total",
        "error",
        "claims",
        "other_insurance_paid",
        "t.other_insurance_paid > t.total_cost",
        "其他保险已付 {other_insurance_paid} 大于医疗总费用 {total_cost}",
    ),
    (
        "insurance.claim.drugs_above_total",
        "error",
        "claims",
        "drug_cost",
        "t.drug_cost > t.total_cost",
        "药品费用 {drug_cost} 大于医疗总费用 {total_cost}",
    ),
    (
        "insurance.claim.external_above_drugs",
        "error",
        "claims",
        "catalogue_external_drug_cost",
        "t.catalogue_external_drug_cost > t.drug_cost",
        "目录外药品费用 {catalogue_external_drug_cost} 大于药品费用 {drug_cost}",
    ),
    (
        "insurance.claim.transfer_other_person",
        "error",
        "transfers",
        "transfer_of",
        "t.parent_person <> t.person_id",
        "转诊来源 {transfer_of} 是另一参合人员的就诊 (transfer from another person's claim)",
    ),
    (
        "insurance.claim.transfer_not_inpatient",
        "error",
        "transfers",
        "transfer_of",
        "t.kind <> 'inpatient' OR (t.parent_person = t.person_id AND t.parent_kind <> 'inpatient')",
        "转诊只能在住院之间: {claim_id} 或其来源 {transfer_of} 不是住院 (transfers link inpatient stays)",
    ),
    (
        "insurance.claim.transfer_not_earlier",
        "error",
        "transfers",
        "transfer_of",
        "t.parent_person = t.person_id AND NOT t.parent_prior "
        "AND (t.parent_start, t.parent_end, t.transfer_of) >= (t.start_date, t.end_date, t.claim_id)",
        "转诊来源 {transfer_of} 不早于本次住院 {claim_id} (a transfer continues an earlier stay)",
    ),
    (
        "insurance.claim.transfer_not_found",
        "warning",
        "transfers",
        "transfer_of",
        "t.parent_person IS NULL",
        "转诊来源 {transfer_of} 不在本年度就诊数据中, 按新一次住院计算起付线 (transfer source not found)",
    ),
    (
        "insurance.contribution.outside_years",
        "warning",
        "contributions_checked",
        "received_date",
        "t.outside_years",
        "到账日期 {received_date} 不在上一年度至下一年度之间, 请核对是否误列其他年度的到账 "
        "(个人缴费在上年12月底前收缴, 004 篇6 三(二)3)",
    ),
    (
        "insurance.contribution.duplicate_reference",
        "warning",
        "contributions_checked",
        "reference",
        "t.first_row IS NOT NULL AND t._row > t.first_row",
        "凭证号 {reference} 与前面的到账重复, 请核对是否重复导入 (duplicate reference)",
    ),
    (
        "insurance.claim.already_priced",
        "error",
        "claims",
        "claim_id",
        "t.claim_id IN (SELECT claim_id FROM prior_episodes)",
        "就诊编号 {claim_id} 已经结算过 (claim already priced)",
    ),
)


def validate_inputs(
    inputs: InsuranceInputs, policy: InsurancePolicy, prior: PriorState | None = None, limit: int = 200
) -> list[Problem]:
    """All cross-column problems of ``inputs`` (errors, and warnings), at most ``limit`` per check.

    ``prior``: the discharge desk passes the person's state, so that a transfer may continue a
    stay priced before (its ``episodes``) and a claim id may not be priced twice.
    """
    problems: list[Problem] = []
    episodes = prior.episodes if prior is not None else EPISODES_SCHEMA.empty_table()
    con = duck.connect()
    try:
        tables = {
            "persons": inputs.persons,
            "claims": inputs.claims
            if "inpatient_category" in inputs.claims.column_names
            else inputs.claims.append_column(
                "inpatient_category", pa.nulls(inputs.claims.num_rows, pa.string())
            ),
            "villages": inputs.villages,
            "contributions": inputs.contributions,
        }
        numbered = {name: _with_rows(table) for name, table in tables.items() if table is not None}
        for name, table in numbered.items():
            con.register(name, table)
        con.register("prior_episodes", episodes)
        con.register(
            "chronic", pa.table({"code": pa.array([c.code for c in policy.chronic_diseases], pa.string())})
        )
        con.register("specials", pa.table({"code": pa.array([t.key for t in policy.specials], pa.string())}))
        persons = numbered["persons"]
        con.register(
            "person_ids",
            pa.table(
                {
                    "_row": persons.column("_row"),
                    "id_number": persons.column("id_number"),
                    "id_error": id_number_errors(persons.column("id_number")),
                    "first_row": _repeated_first_rows(persons.column("id_number"), persons.column("_row")),
                }
            ),
        )
        con.execute(
            f"""
            CREATE VIEW persons_checked AS
            SELECT p._row, p.id_number, p.id_error, p.first_row,
                   p.id_error IS NULL AND substr(p.id_number, 7, 8) > '{int(policy.year)}1231' AS born_after_year
            FROM person_ids p
            """
        )
        if inputs.contributions is not None:
            con.execute(
                f"""
                CREATE TABLE contributions_checked AS
                SELECT c.*, c.received_date NOT BETWEEN DATE '{policy.year - 1}-01-01' AND DATE '{policy.year + 1}-12-31'
                           AS outside_years,
                       d.first_row
                FROM contributions c
                LEFT JOIN ({_first_rows("contributions", "reference", skip_blank=True)}) d USING (reference)
                """
            )
        con.execute(
            """
            CREATE TABLE transfers AS
            WITH t AS (SELECT * FROM claims WHERE transfer_of IS NOT NULL),
            parents AS (
                SELECT claim_id, person_id, kind, start_date, end_date, FALSE AS prior FROM claims
                WHERE claim_id IN (SELECT transfer_of FROM t)
                UNION ALL
                SELECT DISTINCT claim_id, person_id, 'inpatient', NULL::DATE, NULL::DATE, TRUE FROM prior_episodes
            )
            SELECT t.*, p.person_id AS parent_person, p.kind AS parent_kind, p.start_date AS parent_start,
                   p.end_date AS parent_end, p.prior AS parent_prior
            FROM t LEFT JOIN parents p ON p.claim_id = t.transfer_of
            """
        )
        relations = {
            "persons_checked": "persons",
            "transfers": "claims",
            "contributions_checked": "contributions",
        }
        checks = [c for c in _ROW_CHECKS if tables[relations.get(c[2], c[2])] is not None]
        for relation in dict.fromkeys(c[2] for c in checks):  # one scan per relation: the rows with a problem
            flags = [(i, c[4]) for i, c in enumerate(checks) if c[2] == relation]
            columns = ", ".join(f"coalesce(({condition}), FALSE) AS _f{i}" for i, condition in flags)
            where = " OR ".join(f"coalesce(({condition}), FALSE)" for _, condition in flags)
            con.execute(f"CREATE TABLE bad_{relation} AS SELECT *, {columns} FROM {relation} t WHERE {where}")
        for i, (code, severity, relation, column, _condition, template) in enumerate(checks):
            table_name = relations.get(relation, relation)
            cursor = con.execute(f"SELECT * FROM bad_{relation} WHERE _f{i} ORDER BY _row LIMIT {limit}")
            problems += problems_from_rows(
                [d[0] for d in cursor.description],
                cursor.fetchall(),
                code,
                template,
                inputs.source(table_name),
                column,
                severity,
            )
        problems += _partial_households(con, inputs, limit)
        problems += _institutions_without_tier(inputs, policy, limit)
    finally:
        con.close()
    return sorted(problems, key=lambda p: (p.where.file, p.where.row or 0))


def _partial_households(con: duckdb.DuckDBPyConnection, inputs: InsuranceInputs, limit: int) -> list[Problem]:
    """以家庭为单位参加 (004 篇6 二): a household with members both insured and not (warning)."""
    rows = con.execute(
        f"""
        SELECT household_id, min(_row) AS first_row, count(*) FILTER (WHERE insured = 1) AS yes,
               count(*) FILTER (WHERE insured = 0) AS no
        FROM persons GROUP BY household_id HAVING yes > 0 AND no > 0 ORDER BY first_row LIMIT {limit}
        """
    ).fetchall()
    return [
        Problem(
            "insurance.household.partial",
            f"家庭 {household} 有 {yes} 人参合、{no} 人未参合: 新农合以家庭为单位参加 (004 篇6 二)",
            Source(inputs.source("persons"), int(first_row), "household_id"),
            "warning",
        )
        for household, first_row, yes, no in rows
    ]


def _institutions_without_tier(inputs: InsuranceInputs, policy: InsurancePolicy, limit: int) -> list[Problem]:
    """Institutions no inpatient tier of the policy takes (level and place, ``inpatient.tiers``):
    their stays could not be priced. The institutions table is small (one row per institution)."""

    table = _with_rows(inputs.institutions)
    places = table.column("place").to_pylist() if "place" in table.column_names else [None] * table.num_rows
    problems: list[Problem] = []
    for row, institution_id, level, in_county, place in zip(
        table.column("_row").to_pylist(),
        table.column("institution_id").to_pylist(),
        table.column("level").to_pylist(),
        table.column("in_county").to_pylist(),
        places,
        strict=True,
    ):
        where = place if place is not None else ("county" if in_county == 1 else None)
        if policy.tier(level, where) is None and len(problems) < limit:
            label = PLACE_LABELS[where] if where is not None else "所在地未填 (县外)"
            problems.append(
                Problem(
                    "insurance.institution.no_tier",
                    f"医疗机构 {institution_id} ({level}级, {label}) 不属于政策 {policy.name} 的任何住院档次 "
                    "(inpatient.tiers 按等级与所在地); 请填写所在地 place (county/city/province/outside) "
                    "或在政策中增加档次",
                    Source(inputs.source("institutions"), row=row, column="place"),
                )
            )
    return problems


def _repeated_first_rows(values: pa.ChunkedArray, rows: pa.ChunkedArray) -> pa.Array:
    """Per row: the first (smallest) ``_row`` of its value when the value repeats, else null
    (a null value: null) — what ``_first_rows`` and a join on the value give, without hashing the
    texts twice in SQL: one dictionary encoding, counts and minima per code in numpy (909,090 ID
    numbers: about a third of the CPU)."""
    encoded = pc.dictionary_encode(values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values)
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    row = rows.to_numpy() if isinstance(rows, pa.ChunkedArray) else rows.to_numpy(zero_copy_only=False)
    row = np.asarray(row, dtype=np.int64)
    valid = codes >= 0
    k = len(encoded.dictionary)
    counts = np.bincount(codes[valid], minlength=k)
    first = np.full(k, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, codes[valid], row[valid])
    code = np.where(valid, codes, 0)
    repeated = valid & (counts[code] > 1) if k else valid
    return pa.array(np.where(repeated, first[code] if k else 0, 0), pa.int64(), mask=~repeated)


def _first_rows(table: str, column: str, *, skip_blank: bool = False) -> str:
    """SQL: each value of ``table.column`` that repeats (blanks left out with ``skip_blank``),
    with ``first_row``, the row it first appears in."""
    where = f"WHERE coalesce({column}, '') <> '' " if skip_blank else ""
    return (
        f"SELECT {column}, min(_row) AS first_row FROM {table} {where}GROUP BY {column} HAVING count(*) > 1"
    )


def _with_rows(table: pa.Table) -> pa.Table:
    if "_row" in table.column_names:
        return table
    return table.append_column("_row", pa.array(np.arange(2, table.num_rows + 2, dtype=np.int64)))
