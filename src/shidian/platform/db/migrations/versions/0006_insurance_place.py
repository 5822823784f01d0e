"""Insurance institutions carry where they are (所在地: county/city/province/outside), what a
policy's inpatient tiers match by (issue 18).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLE = "insurance_institutions"


def _columns() -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns(TABLE)}


def upgrade() -> None:
    # 0002 creates the insurance tables from the current schema module, so a database created
    # from scratch already has the column: add it only when missing.
    if "place" not in _columns():
        op.add_column(TABLE, sa.Column("place", sa.String(16), nullable=True))


def downgrade() -> None:
    if "place" in _columns():
        with op.batch_alter_table(TABLE) as batch:
            batch.drop_column("place")
