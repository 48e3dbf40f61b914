"""The history database's tables, as SQLAlchemy Core metadata (what the code queries).

The schema itself is created and upgraded by the Alembic migrations in ``migrations/versions/``
(never by ``metadata.create_all``); a test holds this metadata and the migrated schema equal
(Alembic's ``compare_metadata`` finds no difference), so the two cannot drift apart.

Every table starts ``auditor_`` so that the history can share a team's PostgreSQL database with
other applications; Alembic's own table is ``auditor_alembic_version`` for the same reason::

    auditor_runs            one row per recorded audit: operator, programme, region (+ options),
                            as-of date, verdict, counts, tool/rules versions, inputs fingerprint
    ├── auditor_run_inputs  the audit's input files: role, path, sha256, rows
    ├── auditor_run_data    the data files it used: name, path, version, sha256
    ├── auditor_facilities  one row per facility of the report: id, row, verdict, basis, point,
    │                       containment, signed distance to the line
    └── auditor_findings    every finding: facility (by position) or the operator, rule, clause,
                            status, message, evidence, basis, waiver (and its expiry date)

A run and everything under it are written in one transaction (see :meth:`History.record`);
deleting a run deletes its rows (``ON DELETE CASCADE``).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "FACILITY_VERDICTS", "FINDING_STATUSES", "VERSION_TABLE", "data_sources", "facilities", "findings", "inputs",
    "metadata", "runs",
]

#: Alembic's revision table for this schema (prefixed, like the tables, for a shared database).
VERSION_TABLE = "auditor_alembic_version"
#: The values the CHECK constraints allow (report.json's facility verdicts and finding statuses).
FACILITY_VERDICTS = ("pass", "fail", "indeterminate", "error", "waived")
FINDING_STATUSES = ("pass", "fail", "indeterminate", "not_applicable", "waived")
RUN_VERDICTS = ("pass", "fail", "indeterminate")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

runs = Table(
    "auditor_runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("operator", Text, nullable=False),
    Column("programme", String(100), nullable=False),
    Column("region", String(100), nullable=False),
    Column("region_options", JSON, nullable=False),
    Column("as_of", Date, nullable=False),
    Column("verdict", String(20), nullable=False),
    Column("exit_code", Integer, nullable=True),
    Column("facility_count", Integer, nullable=False),
    Column("verdicts", JSON, nullable=False),          # facility verdict -> count (summary.facilities)
    Column("rules", JSON, nullable=False),             # rule -> status -> count (summary.rules)
    Column("operator_record", JSON, nullable=False),   # report.json's operator block
    Column("region_record", JSON, nullable=False),     # report.json's region block
    Column("tool_version", String(100), nullable=False),
    Column("rules_version", String(100), nullable=False),
    Column("report_schema", String(100), nullable=False),
    Column("generated_at", String(40), nullable=False),
    Column("inputs_sha256", String(64), nullable=False),  # sha256 over the inputs' (role, path, sha256) lines
    Column("warnings", JSON, nullable=False),
    Column("source", Text, nullable=False),            # "audit", "portfolio", "report:PATH" ...
    Column("facilities_listed", Integer, nullable=False),
    CheckConstraint(_in("verdict", RUN_VERDICTS), name="verdict"),
    Index("ix_auditor_runs_operator_recorded", "operator", "recorded_at"),
)

inputs = Table(
    "auditor_run_inputs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("auditor_runs.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("role", String(100), nullable=False),
    Column("path", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("rows", Integer, nullable=True),
    Column("record", JSON, nullable=False),            # the whole inputs entry of report.json
    UniqueConstraint("run_id", "position", name="uq_auditor_run_inputs_position"),
)

data_sources = Table(
    "auditor_run_data", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("auditor_runs.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("path", Text, nullable=False),
    Column("version", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    UniqueConstraint("run_id", "position", name="uq_auditor_run_data_position"),
)

facilities = Table(
    "auditor_facilities", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("auditor_runs.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("position", Integer, nullable=False),       # order in report.json's facilities
    Column("facility_id", Text, nullable=False),
    Column("row", Integer, nullable=True),
    Column("kind", Text, nullable=False),
    Column("tenure", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("address", Text, nullable=False),
    Column("verdict", String(20), nullable=False),
    Column("basis", Text, nullable=False),             # weight-table keys joined by "+"
    Column("lon", Float, nullable=True),               # the drawn point (declared coordinates first), WGS-84
    Column("lat", Float, nullable=True),
    Column("containment", String(20), nullable=True),  # that point's containment verdict
    Column("distance_m", Float, nullable=True),        # its distance to the region's line
    Column("signed_distance_m", Float, nullable=True),  # positive inside the line, negative outside
    Column("parts", Text, nullable=False),
    Column("errors", Text, nullable=False),
    CheckConstraint(_in("verdict", FACILITY_VERDICTS), name="verdict"),
    UniqueConstraint("run_id", "position", name="uq_auditor_facilities_position"),
)

findings = Table(
    "auditor_findings", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("auditor_runs.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("facility_position", Integer, nullable=True),  # the facility's position; NULL: an operator finding
    Column("subject", Text, nullable=False),
    Column("rule", String(100), nullable=False),
    Column("clause", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("severity", String(20), nullable=False),
    Column("message", Text, nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("basis", Text, nullable=False),
    Column("missing", Text, nullable=False),
    Column("waiver", JSON, nullable=True),
    Column("waiver_expires", Date, nullable=True),
    CheckConstraint(_in("status", FINDING_STATUSES), name="status"),
    UniqueConstraint("run_id", "position", name="uq_auditor_findings_position"),
)
