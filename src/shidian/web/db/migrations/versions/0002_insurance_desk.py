"""Discharge-desk claims (即时结算): insured persons' year state and the claims posted at the desk.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# The domain's tables are defined in shidian/web/db/insurance_desk_schema.py (same metadata as
# schema.py). This revision creates them as that module first defined them; later changes go
# in a new revision with explicit operations.
TABLES: tuple[str, ...] = ()


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
