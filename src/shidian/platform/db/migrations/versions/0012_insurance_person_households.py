"""Insurance persons carry their household (户号) and its insured members (issue 18): the
discharge desk prices an outpatient claim under a policy pooling the outpatient cap per
household (``outpatient.cap_scope = "household"``, 户内共享) against the household's bucket.

Persons of datasets imported before this revision keep NULL in both columns (the desk refuses a
pooled outpatient claim of theirs until the dataset is imported again).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TABLE = "insurance_persons"
INDEX = "ix_insurance_persons_household"


def _columns() -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns(TABLE)}


def _indexes() -> set[str]:
    return {str(i["name"]) for i in sa.inspect(op.get_bind()).get_indexes(TABLE)}


def upgrade() -> None:
    # 0002 creates the insurance tables from the current schema module, so a database created
    # from scratch already has the columns and the index: add them only when missing.
    columns = _columns()
    if "household_id" not in columns:
        op.add_column(TABLE, sa.Column("household_id", sa.String(64), nullable=True))
    if "household_members" not in columns:
        op.add_column(TABLE, sa.Column("household_members", sa.Integer, nullable=True))
    if INDEX not in _indexes():
        op.create_index(INDEX, TABLE, ["dataset_id", "household_id"])


def downgrade() -> None:
    if INDEX in _indexes():
        op.drop_index(INDEX, TABLE)
    columns = _columns() & {"household_id", "household_members"}
    if columns:
        with op.batch_alter_table(TABLE) as batch:
            for name in sorted(columns):
                batch.drop_column(name)
