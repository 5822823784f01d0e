"""Tables of the insurance discharge desk (即时结算): the insured of a loaded dataset, the
institutions, each person's year state and the claims posted at the desk.

Money is stored as integer fen (``*_fen``, BIGINT) or as decimal text inside JSON: SQLite has no
exact decimal type, and the totals the concurrency guarantees are about (a person's yearly
inpatient reimbursement) are summed exactly as integers on both databases.
"""

from __future__ import annotations

import sqlalchemy as sa

from shidian.platform.db.schema import metadata

#: The insured persons of an insurance dataset (参合人员), as the desk needs them.
insurance_persons = sa.Table(
    "insurance_persons",
    metadata,
    sa.Column("dataset_id", sa.String(32), sa.ForeignKey("datasets.id"), primary_key=True),
    sa.Column("person_id", sa.String(64), primary_key=True),
    sa.Column("category", sa.String(16), nullable=False),
    sa.Column("insured", sa.Integer, nullable=False),
    sa.Column("village_code", sa.String(12), nullable=True),
    # 户号 (blank: none) and the household's insured members, as the batch counts them
    # (``frame.households``): a policy pooling the outpatient cap per household prices by them at
    # the desk (issue 18; revision 0012). NULL members: imported before 0012 (not recorded).
    sa.Column("household_id", sa.String(64), nullable=True),
    sa.Column("household_members", sa.Integer, nullable=True),
    sa.Index("ix_insurance_persons_household", "dataset_id", "household_id"),
)

#: The institutions of an insurance dataset (医疗机构): level, designated, in the county.
insurance_institutions = sa.Table(
    "insurance_institutions",
    metadata,
    sa.Column("dataset_id", sa.String(32), sa.ForeignKey("datasets.id"), primary_key=True),
    sa.Column("institution_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("level", sa.Integer, nullable=False),
    sa.Column("designated", sa.Integer, nullable=False),
    sa.Column("in_county", sa.Integer, nullable=False),
    # 所在地 (county/city/province/outside; issue 18): what a policy's inpatient tiers match
    sa.Column("place", sa.String(16), nullable=True),
)

#: One insured person's policy year at the desk (年度内既往状态): the row every claim of the person
#: locks (SELECT … FOR UPDATE on PostgreSQL; the write lock of the transaction on SQLite), so that
#: claims of one person are priced one after the other whatever process serves them.
insurance_person_years = sa.Table(
    "insurance_person_years",
    metadata,
    sa.Column("year", sa.Integer, primary_key=True),
    sa.Column("person_id", sa.String(64), primary_key=True),
    sa.Column("inpatient_used_fen", sa.BigInteger, nullable=False, default=0),
    # {"inpatient": "1462.50", "outpatient": "30.00", "chronic:DM": "…"}: what each cap bucket paid
    sa.Column("usage", sa.JSON, nullable=False),
    # [{"claim_id", "episode_id", "deductible_basis", "county_counted"}]: the inpatient stays
    sa.Column("stays", sa.JSON, nullable=False),
    sa.Column("claims", sa.Integer, nullable=False, default=0),
    sa.Column("version", sa.Integer, nullable=False, default=0),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
)

#: Claims posted at the desk (即时结算记录): the request as sent, the answer as given (returned
#: unchanged when the same claim id is sent again), and the reversal (冲正) if any. A claim id is
#: the institution's own (HIS numbering): the key is (institution_id, claim_id), so another
#: hospital may use the same id and learns nothing from it (issue 22 finding 3; revision 0009).
insurance_desk_claims = sa.Table(
    "insurance_desk_claims",
    metadata,
    sa.Column("institution_id", sa.String(64), primary_key=True, index=True),
    sa.Column("claim_id", sa.String(64), primary_key=True),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("person_id", sa.String(64), nullable=False),
    sa.Column("dataset_id", sa.String(32), sa.ForeignKey("datasets.id"), nullable=False),
    sa.Column("policy_id", sa.String(64), nullable=False),
    # paid → reversed (冲正); a reversed claim never changes again
    sa.Column("status", sa.String(16), nullable=False),
    # the claim's place among the person's desk claims of the year (1, 2, …): pricing order
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("request", sa.JSON, nullable=False),
    sa.Column("priced", sa.JSON, nullable=False),
    sa.Column("response", sa.JSON, nullable=False),
    sa.Column("reimbursement_fen", sa.BigInteger, nullable=False),
    sa.Column("cap_bucket", sa.String(64), nullable=True),
    sa.Column("cap_used_fen", sa.BigInteger, nullable=True),
    sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("reversed_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("reversed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("reversal", sa.JSON, nullable=True),
    sa.Index("ix_insurance_desk_claims_person_year", "year", "person_id"),
)

#: County-year batch runs (年度补偿结算批次) of an insurance dataset: outputs under var/runs/<id>/.
#: Kept apart from the DRG ``runs`` table so that neither domain's pages list the other's runs.
insurance_runs = sa.Table(
    "insurance_runs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("dataset_id", sa.String(32), sa.ForeignKey("datasets.id"), nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("policy_id", sa.String(64), nullable=False),
    sa.Column("policy_sha256", sa.String(64), nullable=True),
    # done or failed (a run is computed in the request; a failure is recorded, never lost)
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("totals", sa.JSON, nullable=True),
    sa.Column("checks", sa.JSON, nullable=True),
    sa.Column("warnings", sa.JSON, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
)
