"""Discharge-desk claims (即时结算): insured persons' year state and the claims posted at the desk.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

from shidian.platform.db import (
    insurance_schema,  # noqa: F401  (defines the tables on schema.metadata)
    schema,
)

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# The domain's tables are defined in shidian/web/db/insurance_desk_schema.py (same metadata as
# schema.py). This revision creates them as that module first defined them; later changes go
# in a new revision with explicit operations.
TABLES: tuple[str, ...] = (
    "insurance_persons",
    "insurance_institutions",
    "insurance_person_years",
    "insurance_desk_claims",
    "insurance_runs",
)


def upgrade() -> None:
    bind = op.get_bind()
    schema.metadata.create_all(bind, tables=[schema.metadata.tables[name] for name in TABLES])


def downgrade() -> None:
    bind = op.get_bind()
    schema.metadata.drop_all(bind, tables=[schema.metadata.tables[name] for name in reversed(TABLES)])
