"""Registry tables (严重精神障碍患者管理): patients, guardians, diagnoses, assessments,
follow-ups, case-management teams, doctor areas, psychological services.

Personal identifiers are encrypted at rest (AES-GCM, ``shidian.platform.crypto``): the
``*_enc`` columns hold nonce + ciphertext; ``id_hmac`` is a keyed HMAC-SHA256 of the ID number
for duplicate detection and lookup; ``name_masked`` / ``id_masked`` are the display forms
(张*三, 4508**********1234), kept so lists never decrypt.

Indexes serve the two hot queries at province scale: the work list (patients of some villages,
in management, by next due date: ``ix_registry_patients_worklist``) and the indicators (the
patients of an area, then their follow-ups of a period: ``ix_registry_followups_patient_on``).
"""

from __future__ import annotations

import sqlalchemy as sa

from shidian.platform.db.schema import metadata, units

registry_patients = sa.Table(
    "registry_patients",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("registry_no", sa.String(16), nullable=False, unique=True),  # pseudonymous (档案号)
    sa.Column("name_enc", sa.LargeBinary, nullable=False),
    sa.Column("id_enc", sa.LargeBinary, nullable=False),
    sa.Column("id_hmac", sa.String(64), nullable=False, unique=True),
    sa.Column("name_masked", sa.String(64), nullable=False),
    sa.Column("id_masked", sa.String(18), nullable=False),
    sa.Column("sex", sa.String(1), nullable=False),
    sa.Column("birth_year", sa.Integer, nullable=False),
    sa.Column("village_id", sa.Integer, sa.ForeignKey("units.id"), nullable=False),
    sa.Column("address_enc", sa.LargeBinary, nullable=True),
    sa.Column("disorder", sa.String(32), nullable=False),
    sa.Column("icd10", sa.String(8), nullable=False),
    sa.Column("diagnosed_on", sa.Date, nullable=True),
    sa.Column("diagnosing_hospital", sa.String(200), nullable=True),
    sa.Column("registered_on", sa.Date, nullable=False),
    sa.Column("treatment", sa.String(16), nullable=False),
    sa.Column("rehab", sa.Boolean, nullable=False, default=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("status_on", sa.Date, nullable=True),
    sa.Column("has_guardian", sa.Boolean, nullable=False, default=False),
    sa.Column("last_followed_on", sa.Date, nullable=True),
    sa.Column("last_class", sa.String(16), nullable=True),
    sa.Column("last_risk", sa.SmallInteger, nullable=True),
    sa.Column("next_due_on", sa.Date, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Index("ix_registry_patients_worklist", "village_id", "status", "next_due_on"),
    # the indicators read an area's patients from the index alone (PostgreSQL INCLUDE)
    sa.Index(
        "ix_registry_patients_village_cover",
        "village_id",
        postgresql_include=["id", "disorder", "registered_on", "status", "status_on"],
    ),
)

registry_guardians = sa.Table(
    "registry_guardians",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("patient_id", sa.Integer, sa.ForeignKey("registry_patients.id"), nullable=False, index=True),
    sa.Column("name_enc", sa.LargeBinary, nullable=False),
    sa.Column("phone_enc", sa.LargeBinary, nullable=True),
    sa.Column("name_masked", sa.String(64), nullable=False),
    sa.Column("relation", sa.String(32), nullable=True),
)

registry_diagnoses = sa.Table(
    "registry_diagnoses",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("patient_id", sa.Integer, sa.ForeignKey("registry_patients.id"), nullable=False, index=True),
    sa.Column("icd10", sa.String(8), nullable=False),
    sa.Column("disorder", sa.String(32), nullable=False),
    sa.Column("diagnosed_on", sa.Date, nullable=True),
    sa.Column("hospital", sa.String(200), nullable=True),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
)

registry_followups = sa.Table(
    "registry_followups",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("patient_id", sa.Integer, sa.ForeignKey("registry_patients.id"), nullable=False),
    # the patient's village when the follow-up was recorded (denormalized for the indicators)
    sa.Column("village_id", sa.Integer, sa.ForeignKey("units.id"), nullable=False),
    sa.Column("followed_on", sa.Date, nullable=False),
    sa.Column("risk_level", sa.SmallInteger, nullable=True),
    sa.Column("symptoms", sa.String(16), nullable=False),
    sa.Column("insight", sa.String(16), nullable=False),
    sa.Column("social_function", sa.String(16), nullable=False),
    sa.Column("adverse_reaction", sa.Boolean, nullable=False),
    sa.Column("physical_illness", sa.Boolean, nullable=False),
    sa.Column("treatment", sa.String(16), nullable=False),
    sa.Column("rehab", sa.Boolean, nullable=False),
    sa.Column("psy_support", sa.Boolean, nullable=False),
    sa.Column("health_check", sa.Boolean, nullable=False),
    sa.Column("classification", sa.String(16), nullable=False),
    sa.Column("next_due_on", sa.Date, nullable=False),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("doctor_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_registry_followups_patient_on", "patient_id", "followed_on"),
    # the indicators read an area's follow-ups of a period from the index alone (PostgreSQL INCLUDE)
    sa.Index(
        "ix_registry_followups_village_on",
        "village_id",
        "followed_on",
        postgresql_include=["patient_id", "risk_level", "treatment", "rehab", "psy_support"],
    ),
)

registry_assessments = sa.Table(
    "registry_assessments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("patient_id", sa.Integer, sa.ForeignKey("registry_patients.id"), nullable=False),
    sa.Column("followup_id", sa.Integer, sa.ForeignKey("registry_followups.id"), nullable=True),
    sa.Column("assessed_on", sa.Date, nullable=False),
    sa.Column("risk_level", sa.SmallInteger, nullable=False),
    sa.Column("suggested_level", sa.SmallInteger, nullable=True),
    sa.Column("behaviours", sa.JSON, nullable=True),
    # why the confirmed level is below the checklist's suggestion (000 篇3 第11、12项; migration 0005)
    sa.Column("lowered_reason", sa.Text, nullable=True),
    # marked as the year's periodic assessment (每年定期开展…危险等级评估, 000 篇3 第11项; 0005)
    sa.Column("annual", sa.Boolean, nullable=False, default=False, server_default=sa.false()),
    sa.Column("assessor_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Index("ix_registry_assessments_patient_on", "patient_id", "assessed_on"),
)

registry_team_members = sa.Table(
    "registry_team_members",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("patient_id", sa.Integer, sa.ForeignKey("registry_patients.id"), nullable=False, index=True),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("member_name", sa.String(64), nullable=False),
    sa.Column("phone", sa.String(32), nullable=True),
    sa.Column("added_on", sa.Date, nullable=False),
    sa.Column("added_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
)

registry_team_actions = sa.Table(
    "registry_team_actions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("patient_id", sa.Integer, sa.ForeignKey("registry_patients.id"), nullable=False, index=True),
    sa.Column("member_id", sa.Integer, sa.ForeignKey("registry_team_members.id"), nullable=True),
    sa.Column("acted_on", sa.Date, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("recorded_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
)

registry_doctor_areas = sa.Table(
    "registry_doctor_areas",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("unit_id", sa.Integer, sa.ForeignKey("units.id"), nullable=False),
    sa.UniqueConstraint("user_id", "unit_id", name="uq_registry_doctor_areas_user_unit"),
)

registry_services = sa.Table(
    "registry_services",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("unit_id", sa.Integer, sa.ForeignKey("units.id"), nullable=False),
    sa.Column("month", sa.Date, nullable=False),
    sa.Column("counselling_rooms", sa.Integer, nullable=True),
    sa.Column("hotline_contacts", sa.Integer, nullable=True),
    sa.UniqueConstraint("unit_id", "month", name="uq_registry_services_unit_month"),
)

#: A registration (or imported row) whose ID number is already registered outside the caller's
#: area (issue 22 finding 1): kept as a transfer request to the area holding the record, under
#: the registry number the caller was answered with, for the office to review. The caller is
#: answered exactly as for a new patient, so the registry is no oracle of who is on it.
#: Created by migration 0007 (not in ``TABLES``, which 0003 creates).
registry_transfers = sa.Table(
    "registry_transfers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("registry_no", sa.String(16), nullable=False, unique=True),  # the number answered
    sa.Column("patient_id", sa.Integer, sa.ForeignKey("registry_patients.id"), nullable=False),
    sa.Column("id_hmac", sa.String(64), nullable=False, index=True),
    sa.Column("village_id", sa.Integer, sa.ForeignKey("units.id"), nullable=False),  # requested
    sa.Column("requested_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # pending
)

#: Scoping walks the unit tree (villages under a township or county) by parent_id; this index
#: on the shared ``units`` table is created and dropped by the registry's migration (0003).
UNITS_PARENT_INDEX = sa.Index("ix_registry_units_parent", units.c.parent_id)

#: Creation order (foreign keys first).
TABLES = (
    "registry_patients",
    "registry_guardians",
    "registry_diagnoses",
    "registry_followups",
    "registry_assessments",
    "registry_team_members",
    "registry_team_actions",
    "registry_doctor_areas",
    "registry_services",
)
