"""Severe mental disorder registry (严重精神障碍患者管理): patients, assessments, follow-ups, teams.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

from shidian.platform.db import registry_schema, schema

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# The domain's tables are defined in shidian/web/db/registry_schema.py (same metadata as
# schema.py). This revision creates them as that module first defined them; later changes go
# in a new revision with explicit operations.
TABLES: tuple[str, ...] = registry_schema.TABLES


def upgrade() -> None:
    bind = op.get_bind()
    schema.metadata.create_all(bind, tables=[schema.metadata.tables[name] for name in TABLES])
    registry_schema.UNITS_PARENT_INDEX.create(bind, checkfirst=True)


def downgrade() -> None:
    bind = op.get_bind()
    registry_schema.UNITS_PARENT_INDEX.drop(bind, checkfirst=True)
    schema.metadata.drop_all(bind, tables=[schema.metadata.tables[name] for name in reversed(TABLES)])
