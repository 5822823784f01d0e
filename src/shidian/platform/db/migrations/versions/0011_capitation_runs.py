"""医共体 capitation runs and prepayments paid in the database (issue 17, the web): the
``capitation_runs`` and ``capitation_payments`` tables (runs published and corrected like DRG
runs; before this, runs and payments were files under ``var/capitation/``).

Revision ID: 0011
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "capitation_runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("year", sa.Integer, nullable=True),
        sa.Column("policy_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("files", sa.JSON, nullable=True),
        sa.Column("claims_run_id", sa.String(32), nullable=True),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("corrects_run_id", sa.String(32), sa.ForeignKey("capitation_runs.id"), nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("totals", sa.JSON, nullable=True),
        sa.Column("members", sa.JSON, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
    )
    op.create_index("ix_capitation_runs_year", "capitation_runs", ["year"])
    op.create_table(
        "capitation_payments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(32), sa.ForeignKey("capitation_runs.id"), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("community_id", sa.String(64), nullable=False),
        sa.Column("quarter", sa.Integer, nullable=False),
        sa.Column("amount", sa.String(32), nullable=False),
        sa.Column("paid_on", sa.Date, nullable=False),
        sa.Column("reference", sa.String(100), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("recorded_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_capitation_payments_run_id", "capitation_payments", ["run_id"])
    op.create_index("ix_capitation_payments_year", "capitation_payments", ["year"])


def downgrade() -> None:
    op.drop_index("ix_capitation_payments_year", "capitation_payments")
    op.drop_index("ix_capitation_payments_run_id", "capitation_payments")
    op.drop_table("capitation_payments")
    op.drop_index("ix_capitation_runs_year", "capitation_runs")
    op.drop_table("capitation_runs")
