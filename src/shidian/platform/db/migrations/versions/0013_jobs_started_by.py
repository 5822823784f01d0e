"""Jobs name the user who started them (issue 22 finding 7): an import's importer, or an
administrator, may cancel it from the import page (``shidian.platform.import_jobs``).

Jobs started before this revision keep NULL (only an administrator may cancel them).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _columns() -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns("jobs")}


def upgrade() -> None:
    if "started_by" not in _columns():
        op.add_column("jobs", sa.Column("started_by", sa.Integer, nullable=True))


def downgrade() -> None:
    if "started_by" in _columns():
        with op.batch_alter_table("jobs") as batch:
            batch.drop_column("started_by")
