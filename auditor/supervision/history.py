"""Audit history in a database: every run recorded, listed, trended and loaded back for a diff.

``--db URL`` names the database through SQLAlchemy 2.x: a SQLite file (the embedded default,
``sqlite:///reports/history.db``, or a bare file path) or PostgreSQL for a team
(``postgresql://auditor@db.example/history``; needs ``pip install 'pilot-zone-auditor[postgres]'``,
the psycopg 3 driver). The schema (see :mod:`auditor.supervision.schema`) is created and
upgraded by Alembic migrations shipped in the package, run programmatically on first use.

A run is recorded in **one transaction**: the run, its inputs and data files, every facility and
every finding are committed together or not at all, so a run interrupted half-way (an error, a
killed process, a lost connection) leaves nothing. What is recorded comes from report.json's
mapping (:func:`auditor.report.json_report.build_report`): operator, programme (the operator
profile names none yet: ``notice-2024-107`` by default), region and its options, as-of date, the
inputs' sha256, tool/rules/data versions, and per facility its verdict, basis, point, distance to
the line and findings.

Example (SQLite file)::

    from auditor.supervision.history import History
    with History("sqlite:///reports/history.db") as db:
        run = db.record(report)                 # report: a report.json mapping
        [r.id for r in db.runs(operator=run.operator)]
        db.load(run.id)["summary"]["verdict"]    # a report-like mapping, for auditor.report.diff
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from auditor.errors import AuditorError, InputError, UsageError
from auditor.supervision.records import (
    REPORT_SCHEMA,
    RunInfo,
    facility_dict,
    facility_point,
    finding_dict,
    inputs_fingerprint,
    rows_of,
    run_info,
    utc,
)

__all__ = [
    "DEFAULT_PROGRAMME", "History", "HistoryError", "RunInfo", "database_url", "facility_point", "inputs_fingerprint",
    "record_result", "safe_url",
]

#: The programme a run is recorded under when none is given (profiles do not name one yet).
DEFAULT_PROGRAMME = "notice-2024-107"
MIGRATIONS = Path(__file__).resolve().with_name("migrations")
#: Rows per INSERT batch; ``progress`` is called after each.
BATCH_ROWS = 500
#: Seconds to wait: for a PostgreSQL server to accept a connection, for a locked SQLite file.
CONNECT_TIMEOUT_S = 10
SQLITE_BUSY_TIMEOUT_S = 30
#: An arbitrary constant: the PostgreSQL advisory lock that serialises concurrent first-use migrations.
_MIGRATION_LOCK = 0x61756469746F72  # "auditor"
_VALID_URLS = ("sqlite:///FILE", "FILE (a SQLite file)", "postgresql://USER@HOST[:PORT]/DATABASE")


class HistoryError(AuditorError):
    """The history database cannot be used: unreachable, unknown scheme, missing driver, newer schema."""

    def __init__(self, message: str, *, url: str | None = None, hint: str | None = None) -> None:
        self.url = url
        self.hint = hint
        parts = [f"{url}: {message}" if url else message]
        if hint:
            parts.append(f"hint: {hint}")
        super().__init__("; ".join(parts))


# --------------------------------------------------------------------------- URLs


def database_url(text: str | os.PathLike[str]) -> Any:
    """A SQLAlchemy ``URL`` from ``--db``: a URL, or a bare path (a SQLite file).

    ``postgresql://`` is given the psycopg 3 driver (SQLAlchemy's default, psycopg2, is not a
    dependency). Anything but SQLite and PostgreSQL is a :class:`UsageError` listing the forms.

    >>> database_url("history.db").render_as_string()
    'sqlite:///history.db'
    >>> database_url("postgresql://auditor:secret@127.0.0.1:5432/h").render_as_string(hide_password=True)
    'postgresql+psycopg://auditor:***@127.0.0.1:5432/h'
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    raw = str(text)
    if "://" not in raw:
        if not raw.strip():
            raise UsageError("--db", raw, _VALID_URLS)
        return make_url("sqlite:///" + raw)
    try:
        url = make_url(raw)
    except ArgumentError:
        raise UsageError("--db", _hide(raw), _VALID_URLS) from None
    backend, driver = url.get_backend_name(), url.drivername.partition("+")[2]
    if backend == "sqlite":
        if driver not in ("", "pysqlite"):
            raise UsageError("--db", url.render_as_string(hide_password=True), _VALID_URLS,
                             message=f"--db: the SQLite driver {driver!r} is not supported; use sqlite:///FILE")
        if not url.database or url.database == ":memory:":
            raise UsageError("--db", raw, _VALID_URLS, message="--db: an in-memory SQLite database keeps nothing; name a file (sqlite:///FILE)")
        return url
    if backend in ("postgresql", "postgres"):
        if driver not in ("", "psycopg"):
            raise UsageError("--db", url.render_as_string(hide_password=True), _VALID_URLS,
                             message=f"--db: the PostgreSQL driver {driver!r} is not supported; use postgresql:// (psycopg 3)")
        return url.set(drivername="postgresql+psycopg")
    raise UsageError("--db", url.render_as_string(hide_password=True), _VALID_URLS)


def _hide(raw: str) -> str:
    """A URL for a message, its password (if any) replaced by ***."""
    scheme, sep, rest = raw.partition("://")
    creds, at, host = rest.rpartition("@")
    if at and ":" in creds:
        creds = creds.split(":", 1)[0] + ":***"
    return scheme + sep + creds + at + host if at else raw


def safe_url(url: Any) -> str:
    """The URL as text with its password hidden (for messages and the loaded run's ``recorded_run``)."""
    return str(url.render_as_string(hide_password=True))


# --------------------------------------------------------------------------- the database


def _engine(url: Any) -> Any:
    from sqlalchemy import create_engine, event

    backend = url.get_backend_name()
    try:
        if backend == "sqlite":
            engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})

            @event.listens_for(engine, "connect")
            def _foreign_keys(dbapi_connection: Any, _record: Any) -> None:
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA foreign_keys=ON")  # ON DELETE CASCADE needs it, per connection
                cursor.close()

            return engine
        return create_engine(url, connect_args={"connect_timeout": CONNECT_TIMEOUT_S}, pool_pre_ping=True)
    except ModuleNotFoundError as exc:
        raise HistoryError(f"the database driver {exc.name!r} is not installed", url=safe_url(url),
                           hint="pip install 'pilot-zone-auditor[postgres]' (psycopg 3) for a PostgreSQL history") from None


def _db_reason(exc: BaseException) -> str:
    """The first line of a database error, without SQLAlchemy's statement and parameters."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def upgrade(engine: Any) -> None:
    """Create or upgrade the schema to the newest migration (``alembic upgrade head``), in one transaction.

    On PostgreSQL an advisory lock makes two first uses at once wait for each other. A database
    written by a newer auditor (a revision this one does not know) is a :class:`HistoryError`.
    """
    from alembic import command
    from alembic.config import Config
    from alembic.util.exc import CommandError
    from sqlalchemy import text

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        config.attributes["connection"] = conn
        try:
            command.upgrade(config, "head")
        except CommandError as exc:
            raise HistoryError(f"the history database's schema is not one this auditor knows ({exc})", url=safe_url(engine.url),
                               hint="it was probably written by a newer auditor: upgrade pilot-zone-auditor") from None


class History:
    """A history database (a context manager; see the module docstring).

    Parameters
    ----------
    url : str or Path
        ``sqlite:///FILE``, a bare SQLite file path, or ``postgresql://USER@HOST[:PORT]/DB``.
    migrate : bool, default True
        Create or upgrade the schema on opening (Alembic, ``upgrade head``).
    """

    def __init__(self, url: str | os.PathLike[str], *, migrate: bool = True) -> None:
        from sqlalchemy.exc import SQLAlchemyError

        self.url = database_url(url)
        if self.url.get_backend_name() == "sqlite":
            parent = Path(self.url.database).parent
            if not parent.is_dir():
                raise HistoryError(f"the folder {parent} does not exist", url=safe_url(self.url), hint="create it, or name a SQLite file in an existing folder")
        self.engine = _engine(self.url)
        if migrate:
            try:
                upgrade(self.engine)
            except SQLAlchemyError as exc:
                self.engine.dispose()
                raise HistoryError(f"cannot open the history database: {_db_reason(exc)}", url=safe_url(self.url)) from None
            except BaseException:
                self.engine.dispose()  # no pooled connection outlives a failed opening
                raise

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.engine.dispose()

    # -- writing ---------------------------------------------------------------------------------

    def record(
        self,
        report: Mapping[str, Any],
        *,
        programme: str = DEFAULT_PROGRAMME,
        source: str = "audit",
        recorded_at: dt.datetime | None = None,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> RunInfo:
        """Record one run from a report.json mapping, all in one transaction; returns it as listed.

        Parameters
        ----------
        report : mapping
            report.json's mapping (``build_report(result, ...)``, or a report.json read back).
        programme : str, default "notice-2024-107"
            The pilot programme the audit is under.
        source : str, default "audit"
            What recorded it ("audit", "portfolio", "report:PATH"), listed by ``history``.
        recorded_at : datetime, optional
            When (default: now, UTC). A naive time is taken as UTC.
        progress : callable, optional
            ``progress(step, done, total)`` after each batch of rows, inside the transaction: an
            exception it raises (an interrupt) rolls the whole run back.

        Raises
        ------
        InputError
            The mapping is not a report (checked before anything is written).
        HistoryError
            The database refused the run (nothing of it is kept).
        """
        from sqlalchemy import insert
        from sqlalchemy.exc import SQLAlchemyError

        from auditor.supervision import schema

        when = utc(recorded_at or dt.datetime.now(dt.UTC))
        rows = rows_of(report, programme=programme, source=source, recorded_at=when)
        step = progress or (lambda *_: None)
        try:
            with self.engine.begin() as conn:
                run_id = int(conn.execute(insert(schema.runs).values(**rows.run)).inserted_primary_key[0])
                for table, items, label in (
                    (schema.inputs, rows.inputs, "inputs"), (schema.data_sources, rows.data, "data files"),
                    (schema.facilities, rows.facilities, "facilities"), (schema.findings, rows.findings, "findings"),
                ):
                    for start in range(0, len(items), BATCH_ROWS):
                        batch = [{**r, "run_id": run_id} for r in items[start:start + BATCH_ROWS]]
                        conn.execute(insert(table), batch)
                        step(label, start + len(batch), len(items))
                step("commit", 1, 1)
        except SQLAlchemyError as exc:
            raise HistoryError(f"the run was not recorded (nothing of it was kept): {_db_reason(exc)}", url=safe_url(self.url)) from None
        return self.run(run_id)

    def delete(self, run_id: int) -> bool:
        """Remove a run and everything recorded with it; False if there was no such run."""
        from sqlalchemy import delete

        from auditor.supervision import schema

        with self.engine.begin() as conn:
            return bool(conn.execute(delete(schema.runs).where(schema.runs.c.id == run_id)).rowcount)

    # -- reading ---------------------------------------------------------------------------------

    def runs(self, operator: str | None = None, *, region: str | None = None) -> list[RunInfo]:
        """Every recorded run (of one operator, one region), oldest first (recorded time, then id)."""
        from sqlalchemy import select

        from auditor.supervision import schema

        r = schema.runs
        query = select(r).order_by(r.c.recorded_at, r.c.id)
        if operator is not None:
            query = query.where(r.c.operator == operator)
        if region is not None:
            query = query.where(r.c.region == region)
        with self.engine.connect() as conn:
            return [run_info(row) for row in conn.execute(query).mappings()]

    def run(self, run_id: int) -> RunInfo:
        """One run; an :class:`InputError` naming the run when there is none."""
        from sqlalchemy import select

        from auditor.supervision import schema

        with self.engine.connect() as conn:
            row = conn.execute(select(schema.runs).where(schema.runs.c.id == run_id)).mappings().first()
        if row is None:
            raise InputError(f"no recorded run {run_id}", source=safe_url(self.url), hint="'auditor history --db URL' lists the runs")
        return run_info(row)

    def operators(self) -> list[str]:
        """Every operator with a recorded run, sorted."""
        from sqlalchemy import select

        from auditor.supervision import schema

        with self.engine.connect() as conn:
            return sorted(str(v) for v in conn.execute(select(schema.runs.c.operator).distinct()).scalars())

    def previous(self, run: RunInfo | int) -> RunInfo | None:
        """The same operator's run recorded just before ``run`` (any region), or None."""
        info = run if isinstance(run, RunInfo) else self.run(run)
        earlier = [r for r in self.runs(info.operator) if (r.recorded_at, r.id) < (info.recorded_at, info.id)]
        return earlier[-1] if earlier else None

    def latest(self, operator: str) -> RunInfo | None:
        """The operator's most recently recorded run, or None."""
        found = self.runs(operator)
        return found[-1] if found else None

    def facilities(self, run_id: int) -> list[dict[str, Any]]:
        """The run's facilities in report order: id, row, kind, verdict, basis, point, distance."""
        from sqlalchemy import select

        from auditor.supervision import schema

        f = schema.facilities
        with self.engine.connect() as conn:
            rows = conn.execute(select(f).where(f.c.run_id == run_id).order_by(f.c.position)).mappings().all()
        return [{k: v for k, v in row.items() if k not in ("id", "run_id")} for row in rows]

    def load(self, run_id: int) -> dict[str, Any]:
        """A recorded run as a report-like mapping (schema ``pilot-zone-auditor/report/1``): what
        :func:`auditor.report.diff.diff_reports`, the portfolio and the sampler read.

        Claims and evidence details are not recorded; each facility carries its drawn ``point``
        instead, and ``recorded_run`` says where the mapping came from.
        """
        from sqlalchemy import select

        from auditor.supervision import schema

        info = self.run(run_id)
        with self.engine.connect() as conn:
            run = conn.execute(select(schema.runs).where(schema.runs.c.id == run_id)).mappings().one()
            ins = conn.execute(select(schema.inputs).where(schema.inputs.c.run_id == run_id).order_by(schema.inputs.c.position)).mappings().all()
            data = conn.execute(select(schema.data_sources).where(schema.data_sources.c.run_id == run_id)
                                .order_by(schema.data_sources.c.position)).mappings().all()
            finds = conn.execute(select(schema.findings).where(schema.findings.c.run_id == run_id).order_by(schema.findings.c.position)).mappings().all()
        facs = self.facilities(run_id)
        by_facility: dict[int | None, list[dict[str, Any]]] = {}
        for x in finds:
            by_facility.setdefault(x["facility_position"], []).append(finding_dict(x))
        return {
            "schema": REPORT_SCHEMA,
            "recorded_run": {"id": info.id, "database": safe_url(self.url), "recorded_at": info.recorded_at.isoformat(),
                             "programme": info.programme, "source": info.source, "inputs_sha256": info.inputs_sha256},
            "tool": {"name": "pilot-zone-auditor", "version": run["tool_version"], "rules_version": run["rules_version"], "mode": "recorded"},
            "generated_at": run["generated_at"],
            "as_of": info.as_of.isoformat(),
            "operator": dict(run["operator_record"] or {}),
            "region": dict(run["region_record"] or {}),
            "data_sources": [{"name": d["name"], "path": d["path"], "version": d["version"], "sha256": d["sha256"]} for d in data],
            "inputs": [dict(i["record"] or {}) for i in ins],
            "summary": {"verdict": info.verdict, "facilities": dict(info.verdicts), "facility_count": info.facility_count,
                        "rules": dict(run["rules"] or {}), "exit_code": run["exit_code"],
                        **({"facilities_listed": run["facilities_listed"]} if run["facilities_listed"] != info.facility_count else {})},
            "warnings": list(run["warnings"] or []),
            "operator_findings": by_facility.get(None, []),
            "facilities": [facility_dict(f, by_facility.get(f["position"], [])) for f in facs],
        }

    def trends(self, operator: str | None = None) -> dict[str, list[dict[str, Any]]]:
        """Per operator, its runs oldest first, each with its counts and what changed since the one before:
        ``delta`` (facility verdict counts) and ``changes`` (facilities regressed, fixed, new, removed ...,
        as :func:`auditor.report.diff.diff_reports` counts them)."""
        from auditor.report.diff import CATEGORIES, diff_reports

        out: dict[str, list[dict[str, Any]]] = {}
        for name in [operator] if operator is not None else self.operators():
            points: list[dict[str, Any]] = []
            before: dict[str, Any] | None = None
            for info in self.runs(name):
                mini = self._verdicts_only(info)
                point = info.as_dict()
                if before is not None:
                    prev = before["info"]
                    point["delta"] = {v: info.verdicts.get(v, 0) - prev.verdicts.get(v, 0) for v in sorted(set(info.verdicts) | set(prev.verdicts))}
                    d = diff_reports(before["mini"], mini, force=True)
                    point["changes"] = {c: len(d.facilities.get(c, [])) for c in CATEGORIES if c != "unchanged" and d.facilities.get(c)}
                    point["since_run"] = prev.id
                points.append(point)
                before = {"info": info, "mini": mini}
            out[name] = points
        return out

    def _verdicts_only(self, info: RunInfo) -> dict[str, Any]:
        facs = self.facilities(info.id)
        return {"schema": REPORT_SCHEMA, "region": {"id": info.region}, "operator": {"name": info.operator},
                "facilities": [{"id": f["facility_id"], "verdict": f["verdict"]} for f in facs], "operator_findings": []}


def record_result(
    db_url: str | os.PathLike[str],
    result: Any,
    report_mapping: Mapping[str, Any] | None = None,
    *,
    programme: str = DEFAULT_PROGRAMME,
    source: str = "audit",
    recorded_at: dt.datetime | None = None,
) -> RunInfo:
    """Record an audit in the history database at ``db_url`` (for ``auditor audit --db URL``).

    Parameters
    ----------
    db_url : str or Path
        The database (see :func:`database_url`); its schema is created or upgraded first.
    result : AuditResult
        The audit (after waivers were applied). Used to build the mapping when none is given.
    report_mapping : mapping, optional
        report.json's mapping as written for this audit (``build_report(result, generated_at=...)``),
        so that the history holds exactly what the report says.

    Returns
    -------
    RunInfo
        The recorded run (``.id`` for ``auditor history --diff``).
    """
    if report_mapping is None:
        from auditor.report.json_report import build_report

        report_mapping = build_report(result, generated_at=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat())
    with History(db_url) as db:
        return db.record(report_mapping, programme=programme, source=source, recorded_at=recorded_at)
