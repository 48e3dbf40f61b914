"""The audit history: runs, their inputs and data files, facilities and findings.

Revision ID: 0001
Revises:
Create Date: 2026-11-30

Frozen: a later change to the schema is a new revision, never an edit of this one (a database
created by this revision must upgrade to every later one).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_VERDICTS = "verdict IN ('pass', 'fail', 'indeterminate', 'error', 'waived')"
_STATUSES = "status IN ('pass', 'fail', 'indeterminate', 'not_applicable', 'waived')"


def upgrade() -> None:
    op.create_table(
        "auditor_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("operator", sa.Text, nullable=False),
        sa.Column("programme", sa.String(100), nullable=False),
        sa.Column("region", sa.String(100), nullable=False),
        sa.Column("region_options", sa.JSON, nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("verdict", sa.String(20), nullable=False),
        sa.Column("exit_code", sa.Integer, nullable=True),
        sa.Column("facility_count", sa.Integer, nullable=False),
        sa.Column("verdicts", sa.JSON, nullable=False),
        sa.Column("rules", sa.JSON, nullable=False),
        sa.Column("operator_record", sa.JSON, nullable=False),
        sa.Column("region_record", sa.JSON, nullable=False),
        sa.Column("tool_version", sa.String(100), nullable=False),
        sa.Column("rules_version", sa.String(100), nullable=False),
        sa.Column("report_schema", sa.String(100), nullable=False),
        sa.Column("generated_at", sa.String(40), nullable=False),
        sa.Column("inputs_sha256", sa.String(64), nullable=False),
        sa.Column("warnings", sa.JSON, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("facilities_listed", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_auditor_runs"),
        sa.CheckConstraint("verdict IN ('pass', 'fail', 'indeterminate')", name="ck_auditor_runs_verdict"),
    )
    op.create_index("ix_auditor_runs_operator_recorded", "auditor_runs", ["operator", "recorded_at"])

    op.create_table(
        "auditor_run_inputs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("role", sa.String(100), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("rows", sa.Integer, nullable=True),
        sa.Column("record", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_auditor_run_inputs"),
        sa.ForeignKeyConstraint(["run_id"], ["auditor_runs.id"], ondelete="CASCADE",
                                name="fk_auditor_run_inputs_run_id_auditor_runs"),
        sa.UniqueConstraint("run_id", "position", name="uq_auditor_run_inputs_position"),
    )
    op.create_index("ix_auditor_run_inputs_run_id", "auditor_run_inputs", ["run_id"])

    op.create_table(
        "auditor_run_data",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("version", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_auditor_run_data"),
        sa.ForeignKeyConstraint(["run_id"], ["auditor_runs.id"], ondelete="CASCADE",
                                name="fk_auditor_run_data_run_id_auditor_runs"),
        sa.UniqueConstraint("run_id", "position", name="uq_auditor_run_data_position"),
    )
    op.create_index("ix_auditor_run_data_run_id", "auditor_run_data", ["run_id"])

    op.create_table(
        "auditor_facilities",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("facility_id", sa.Text, nullable=False),
        sa.Column("row", sa.Integer, nullable=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("tenure", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("verdict", sa.String(20), nullable=False),
        sa.Column("basis", sa.Text, nullable=False),
        sa.Column("lon", sa.Float, nullable=True),
        sa.Column("lat", sa.Float, nullable=True),
        sa.Column("containment", sa.String(20), nullable=True),
        sa.Column("distance_m", sa.Float, nullable=True),
        sa.Column("signed_distance_m", sa.Float, nullable=True),
        sa.Column("parts", sa.Text, nullable=False),
        sa.Column("errors", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_auditor_facilities"),
        sa.ForeignKeyConstraint(["run_id"], ["auditor_runs.id"], ondelete="CASCADE",
                                name="fk_auditor_facilities_run_id_auditor_runs"),
        sa.CheckConstraint(_VERDICTS, name="ck_auditor_facilities_verdict"),
        sa.UniqueConstraint("run_id", "position", name="uq_auditor_facilities_position"),
    )
    op.create_index("ix_auditor_facilities_run_id", "auditor_facilities", ["run_id"])

    op.create_table(
        "auditor_findings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("facility_position", sa.Integer, nullable=True),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("clause", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("evidence", sa.JSON, nullable=False),
        sa.Column("basis", sa.Text, nullable=False),
        sa.Column("missing", sa.Text, nullable=False),
        sa.Column("waiver", sa.JSON, nullable=True),
        sa.Column("waiver_expires", sa.Date, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_auditor_findings"),
        sa.ForeignKeyConstraint(["run_id"], ["auditor_runs.id"], ondelete="CASCADE",
                                name="fk_auditor_findings_run_id_auditor_runs"),
        sa.CheckConstraint(_STATUSES, name="ck_auditor_findings_status"),
        sa.UniqueConstraint("run_id", "position", name="uq_auditor_findings_position"),
    )
    op.create_index("ix_auditor_findings_run_id", "auditor_findings", ["run_id"])


def downgrade() -> None:
    for table in ("auditor_findings", "auditor_facilities", "auditor_run_data", "auditor_run_inputs", "auditor_runs"):
        op.drop_table(table)
