"""The database schema (数据库表), SQLAlchemy Core: the same tables on SQLite and PostgreSQL.

Metadata, users, units, runs and audit records live here; bulk results (case points, claims)
stay columnar, as Parquet files per run queried with DuckDB (``shidian.platform.files``).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

#: Roles (角色), from PRODUCT.md "Who uses it".
ROLES = {
    "admin": "系统管理员",
    "settlement_officer": "医保经办",
    "hospital": "定点医疗机构",
    "pilot_office": "试点办",
    "reporting_unit": "填报单位",
    "mental_health_doctor": "精防医生",
    "leader": "领导/审计 (只读)",
}

#: Unit kinds (单位类型).
UNIT_KINDS = {
    "bureau": "医保局",
    "commission": "卫健委",
    "hospital": "医疗机构",
    "city": "市",
    "county": "县/区",
    "township": "乡镇/街道",
    "village": "村/社区",
    "office": "试点办",
}

units = sa.Table(
    "units",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("parent_id", sa.Integer, sa.ForeignKey("units.id"), nullable=True),
    sa.Column("hospital_id", sa.String(64), nullable=True, index=True),
    sa.Column("region_code", sa.String(12), nullable=True),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("unit_id", sa.Integer, sa.ForeignKey("units.id"), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=False),
)

login_attempts = sa.Table(
    "login_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, index=True),
    sa.Column("ip", sa.String(64), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("success", sa.Boolean, nullable=False),
)

#: Login throttling counters (issue 22 finding 4), shared by every worker process: one row per
#: bucket (``pair:<name>|<client>``, ``account:<name>``, ``pace:<name>``, ``client:<client>``,
#: ``name:<client>|<name>``), a count in a fixed window. Incremented atomically (an upsert
#: returning the count) before the password is checked. Created by migration 0007.
login_throttle = sa.Table(
    "login_throttle",
    metadata,
    sa.Column("bucket", sa.String(400), primary_key=True),
    sa.Column("hits", sa.Integer, nullable=False),
    sa.Column("window_start", sa.BigInteger, nullable=False, index=True),  # Unix seconds
)

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("user_id", sa.Integer, nullable=True),
    sa.Column("username", sa.String(64), nullable=True),
    sa.Column("role", sa.String(32), nullable=True),
    sa.Column("unit_id", sa.Integer, nullable=True),
    sa.Column("action", sa.String(64), nullable=False, index=True),
    sa.Column("target", sa.String(255), nullable=True),
    sa.Column("detail", sa.JSON, nullable=True),
    sa.Column("ip", sa.String(64), nullable=True),
    sa.Column("user_agent", sa.String(255), nullable=True),
)

datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("domain", sa.String(32), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("uploaded_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("manifest", sa.JSON, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("domain", sa.String(32), nullable=False),
    sa.Column("dataset_id", sa.String(32), sa.ForeignKey("datasets.id"), nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("policy_id", sa.String(64), nullable=False),
    sa.Column("policy_version", sa.String(32), nullable=True),
    sa.Column("policy_sha256", sa.String(64), nullable=True),
    # queued → running → draft → published; or failed. A published run is never edited.
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("progress", sa.String(200), nullable=True),
    sa.Column("corrects_run_id", sa.String(32), sa.ForeignKey("runs.id"), nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("published_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("totals", sa.JSON, nullable=True),
    sa.Column("checks", sa.JSON, nullable=True),
    sa.Column("warnings", sa.Integer, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
)

#: Signed-in sessions (会话), kept on the server so that they can be ended: the cookie holds a
#: random token, the table its SHA-256 (a copy of the table signs no one in). A session ends at
#: logout, a password change, the user's disabling or an administrator's "sign out everywhere"
#: (``revoked_at``), after ``SHIDIAN_SESSION_IDLE_MINUTES`` without a request (``last_seen_at``)
#: and at ``expires_at`` whatever the activity.
sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("ip", sa.String(64), nullable=True),
)

#: Long work (后台任务): DRG and insurance runs, large imports. One row per job; ``lane`` names
#: the work that must not run twice at once (``runs``: one settlement at a time across every
#: server process). ``owner`` is the process running it, ``heartbeat_at`` when it last said it
#: is alive (a job whose heartbeat stops is failed by the next claim or at start-up).
jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("lane", sa.String(32), nullable=False),
    sa.Column("target", sa.String(64), nullable=True, index=True),
    # queued → running → done; or failed, cancelled
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("progress", sa.String(200), nullable=True),
    sa.Column("cancel_requested", sa.Boolean, nullable=False, default=False),
    sa.Column("owner", sa.String(64), nullable=True),
    # the user who started it (an import: its importer may cancel it), None for a system job
    sa.Column("started_by", sa.Integer, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("error", sa.Text, nullable=True),
)

#: One row per lane: a claim first writes its lane's row, which serialises claims (the row lock on
#: PostgreSQL, the database's write lock on SQLite) so that two processes never both see it free.
job_lanes = sa.Table(
    "job_lanes",
    metadata,
    sa.Column("lane", sa.String(32), primary_key=True),
    sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
)

#: API tokens of hospital information systems (机构接口令牌): a machine client of one institution
#: calls the discharge desk with ``Authorization: Bearer shd_<id>_<secret>``; only the secret's
#: SHA-256 is kept. Scoped to the unit's institution and to the desk routes; revoked by an admin.
api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("secret_sha256", sa.String(64), nullable=False),
    sa.Column("unit_id", sa.Integer, sa.ForeignKey("units.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
)
