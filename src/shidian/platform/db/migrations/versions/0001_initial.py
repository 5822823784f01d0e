"""Initial schema: units, users, login attempts, audit events, datasets, runs.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op

from shidian.platform.db import schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TABLES = ("units", "users", "login_attempts", "audit_events", "datasets", "runs")


def upgrade() -> None:
    # The baseline creates the tables as schema.py first defined them. Later revisions must
    # use explicit operations (op.add_column …), never edit this one.
    bind = op.get_bind()
    schema.metadata.create_all(bind, tables=[schema.metadata.tables[name] for name in TABLES])


def downgrade() -> None:
    bind = op.get_bind()
    schema.metadata.drop_all(bind, tables=[schema.metadata.tables[name] for name in reversed(TABLES)])
