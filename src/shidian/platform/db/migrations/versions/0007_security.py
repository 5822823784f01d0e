"""Security (issue 22): registry transfer requests (a registration of an ID number held outside
the caller's area) and the login throttling counters shared by every worker process.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

from shidian.platform.db import registry_schema, schema

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLES = ("login_throttle", "registry_transfers")


def upgrade() -> None:
    bind = op.get_bind()
    assert registry_schema.registry_transfers is not None  # the table is defined there
    for name in TABLES:
        schema.metadata.tables[name].create(bind, checkfirst=True)


def downgrade() -> None:
    bind = op.get_bind()
    for name in reversed(TABLES):
        schema.metadata.tables[name].drop(bind, checkfirst=True)
