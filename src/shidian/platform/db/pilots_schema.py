"""Pilot-plan tables (试点方案): loaded plans, reports and approvals, supervision.

* ``pilot_plans``: a plan file as loaded (YAML text kept verbatim with its hash; a new load of
  the same code is a new version and deactivates the older one); ``due_day`` is the reporting
  deadline rule (``shidian.pilots.supervision.due_date``).
* ``pilot_plan_units``: the web ``units`` that report under a plan (填报单位).
* ``pilot_reports``: one report per plan, unit and period (表头), with its workflow status
  (``shidian.pilots.workflow``); ``pilot_report_values`` its values (one per indicator and
  population group, numerator/denominator as in the indicator-values shape).
* ``pilot_change_requests``: requests to change a locked (approved) report.
* ``pilot_visits``, ``pilot_findings``, ``pilot_evidence``, ``pilot_rectifications``:
  supervision visits (督导), findings (发现问题), evidence files (佐证材料, stored under the var
  dir by sha256) and rectification items (限期整改).
"""

from __future__ import annotations

import sqlalchemy as sa

from shidian.platform.db.schema import metadata

VALUE = sa.Numeric(38, 8)

pilot_plans = sa.Table(
    "pilot_plans",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(64), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("period", sa.String(16), nullable=False),
    sa.Column("first_day", sa.Date, nullable=False),
    sa.Column("last_day", sa.Date, nullable=False),
    sa.Column("due_day", sa.Integer, nullable=False, default=10),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("yaml_text", sa.Text, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("loaded_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.UniqueConstraint("code", "version", name="uq_pilot_plans_code_version"),
)

pilot_plan_units = sa.Table(
    "pilot_plan_units",
    metadata,
    sa.Column("plan_id", sa.Integer, sa.ForeignKey("pilot_plans.id"), primary_key=True),
    sa.Column("unit_id", sa.Integer, sa.ForeignKey("units.id"), primary_key=True),
)

pilot_reports = sa.Table(
    "pilot_reports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("plan_id", sa.Integer, sa.ForeignKey("pilot_plans.id"), nullable=False),
    sa.Column("unit_id", sa.Integer, sa.ForeignKey("units.id"), nullable=False, index=True),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("due_on", sa.Date, nullable=False),
    # draft → submitted → approved (locked) / returned (shidian.pilots.workflow)
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("entered_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("first_submitted_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("submitted_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("approved_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("returned_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("comment", sa.Text, nullable=True),
    sa.UniqueConstraint("plan_id", "unit_id", "period_start", name="uq_pilot_reports_plan_unit_period"),
)

pilot_report_values = sa.Table(
    "pilot_report_values",
    metadata,
    sa.Column("report_id", sa.Integer, sa.ForeignKey("pilot_reports.id"), primary_key=True),
    sa.Column("indicator_code", sa.String(64), primary_key=True),
    sa.Column("population", sa.String(32), primary_key=True),
    sa.Column("numerator", VALUE, nullable=True),
    sa.Column("denominator", VALUE, nullable=True),
)

pilot_change_requests = sa.Table(
    "pilot_change_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("report_id", sa.Integer, sa.ForeignKey("pilot_reports.id"), nullable=False, index=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("requested_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
    # pending → granted / refused
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("decided_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("decision_comment", sa.Text, nullable=True),
)

pilot_visits = sa.Table(
    "pilot_visits",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("plan_id", sa.Integer, sa.ForeignKey("pilot_plans.id"), nullable=False),
    sa.Column("unit_id", sa.Integer, sa.ForeignKey("units.id"), nullable=False, index=True),
    sa.Column("visited_on", sa.Date, nullable=False),
    sa.Column("team", sa.String(500), nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

pilot_findings = sa.Table(
    "pilot_findings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("visit_id", sa.Integer, sa.ForeignKey("pilot_visits.id"), nullable=False, index=True),
    sa.Column("indicator_code", sa.String(64), nullable=True),
    sa.Column("task_code", sa.String(64), nullable=True),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("deduction_points", sa.Numeric(18, 2), nullable=False),
    sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

pilot_evidence = sa.Table(
    "pilot_evidence",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("finding_id", sa.Integer, sa.ForeignKey("pilot_findings.id"), nullable=False, index=True),
    sa.Column("filename", sa.String(255), nullable=False),
    sa.Column("content_type", sa.String(100), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("uploaded_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
)

pilot_rectifications = sa.Table(
    "pilot_rectifications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("finding_id", sa.Integer, sa.ForeignKey("pilot_findings.id"), nullable=False, index=True),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("deadline", sa.Date, nullable=False),
    # open → done → verified (shidian.pilots.supervision.rectification_transition)
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("done_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("closed_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("note", sa.Text, nullable=True),
)

TABLES = (
    "pilot_plans",
    "pilot_plan_units",
    "pilot_reports",
    "pilot_report_values",
    "pilot_change_requests",
    "pilot_visits",
    "pilot_findings",
    "pilot_evidence",
    "pilot_rectifications",
)
