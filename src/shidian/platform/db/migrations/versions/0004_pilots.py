"""Pilot plans (试点方案): plans, reports and approvals, supervision, evaluations, reward allocations.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

from shidian.platform.db import pilots_schema, schema

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The domain's tables are defined in shidian/web/db/pilots_schema.py (same metadata as
# schema.py). This revision creates them as that module first defined them; later changes go
# in a new revision with explicit operations.
TABLES: tuple[str, ...] = pilots_schema.TABLES


def upgrade() -> None:
    bind = op.get_bind()
    schema.metadata.create_all(bind, tables=[schema.metadata.tables[name] for name in TABLES])


def downgrade() -> None:
    bind = op.get_bind()
    schema.metadata.drop_all(bind, tables=[schema.metadata.tables[name] for name in reversed(TABLES)])
