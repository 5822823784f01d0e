"""Registry risk assessments: the reason for a confirmed level below the checklist's suggestion,
and the mark of the year's periodic assessment (issue 16 items 10 and 11; 000 篇3 第11、12项).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLE = "registry_assessments"


def _columns() -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns(TABLE)}


def upgrade() -> None:
    # 0003 creates the registry's tables from the current schema module, so a database created
    # from scratch already has these columns: add only what is missing.
    present = _columns()
    if "lowered_reason" not in present:
        op.add_column(TABLE, sa.Column("lowered_reason", sa.Text, nullable=True))
    if "annual" not in present:
        op.add_column(TABLE, sa.Column("annual", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    present = _columns()
    with op.batch_alter_table(TABLE) as batch:
        for name in ("annual", "lowered_reason"):
            if name in present:
                batch.drop_column(name)
