"""医共体按人头总额预付 tables (county medical community capitation): the runs settled from the web
and the quarterly prepayments recorded as paid.

* ``capitation_runs``: one settlement of a year (001 第十七篇): running → draft → published, or
  failed; its outputs under ``var/capitation/<id>/`` (the files ``shidian capitation settle``
  writes). A published run is read-only; a second published run of the same year names the run
  it corrects (``corrects_run_id``) and the reason (in ``note``), as DRG runs do. ``members``
  maps each member institution to its 医共体 (a hospital user reads its own 医共体 only).
* ``capitation_payments``: the bureau's records of prepayments paid (七(二) "每季度前10个工作日内
  及时足额预拨到位"): 医共体, quarter, amount (text, 元 to the fen), the day paid, the bank
  reference, and the reason an amount beyond what was due was paid.
"""

from __future__ import annotations

import sqlalchemy as sa

from shidian.platform.db.schema import metadata

capitation_runs = sa.Table(
    "capitation_runs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    # known once fund.toml was read (a run failed on its inputs may have none)
    sa.Column("year", sa.Integer, nullable=True, index=True),
    sa.Column("policy_id", sa.String(64), nullable=False),
    # running | draft | published | failed
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("files", sa.JSON, nullable=True),
    # the resident-insurance run the spending was taken from (--claims), if any
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

capitation_payments = sa.Table(
    "capitation_payments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(32), sa.ForeignKey("capitation_runs.id"), nullable=False, index=True),
    sa.Column("year", sa.Integer, nullable=False, index=True),
    sa.Column("community_id", sa.String(64), nullable=False),
    sa.Column("quarter", sa.Integer, nullable=False),
    sa.Column("amount", sa.String(32), nullable=False),
    sa.Column("paid_on", sa.Date, nullable=False),
    sa.Column("reference", sa.String(100), nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("recorded_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
)

TABLES = ("capitation_runs", "capitation_payments")
