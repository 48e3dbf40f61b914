"""Streamed audits: the facilities judged chunk by chunk, the operator once, tables written as they come.

Memory stays bounded by the chunk size, not the input size: a chunk of rows is read,
judged by :func:`judge_chunk` (a pure function of the chunk and an :class:`ChunkPlan`,
so it runs the same in this process or on a Dask worker), and its rows are appended to
facilities.csv and facilities.parquet before the next chunk is read. What the operator's
rules need from the facilities travels as a small :class:`~auditor.rules.base.FacilityDigest`.
The summary reports (JSON, Markdown, HTML, SARIF) count every row but list in detail only
the first ``detail_cap`` facilities that did not pass, and name the tables that hold every row.

A streamed audit gives the same verdicts, findings and facilities.csv as :func:`auditor.engine.audit`
on the same input (tests compare them): a chunk of plain rows is judged as columns
(:mod:`auditor.engine.columnar`, tested byte for byte against the per-row path), any other chunk
by :func:`auditor.engine.judge`, as an in-memory audit judges every row. In this process the
geometry of a plain chunk runs on a thread while the chunk before it is worded
(:func:`_judged_here`), and Parquet is compressed on another (:class:`TableWriter`).
"""

from __future__ import annotations

import collections
import contextlib
import csv
import dataclasses
import datetime as dt
import sys
import uuid
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from auditor.config import AuditConfig
from auditor.engine.gather import EvidenceSession, gave_up_notes, merge_gave_up
from auditor.engine.judge import judge, paused_gc
from auditor.engine.plan import (
    UNSTATED_CRS_WARNING,
    AuditPlan,
    clauses_version,
    crs_unstated,
    input_record,
    load_basic_telecom,
    prepare,
    registration_facility,
)
from auditor.errors import UsageError
from auditor.inventory.read import CsvBlock, RawTable, TableChunks
from auditor.inventory.validate import facility_ids, validate_rows
from auditor.model import (
    Containment,
    Facility,
    FacilityVerdict,
    Finding,
    LocationClaim,
    Operator,
)
from auditor.regions import DataSource, load_registry
from auditor.report.folder import ReportFolder
from auditor.result import NO_ROWS_WARNING, AuditResult, Tallies
from auditor.rules.base import FacilityDigest

__all__ = ["ChunkPlan", "ChunkOutcome", "judge_chunk", "judge_chunk_in_pieces", "audit_streamed", "StreamOutput", "DEFAULT_CHUNK_ROWS", "DETAIL_CAP", "TABLE_FORMATS"]

DEFAULT_CHUNK_ROWS = 50_000
_T = TypeVar("_T")
DETAIL_CAP = 1_000
#: formats a streamed audit writes: full tables (csv, parquet) and capped summaries (json, md, html, sarif)
TABLE_FORMATS = ("json", "md", "csv", "parquet", "html", "sarif")


@dataclass(frozen=True)
class ChunkPlan:
    """Everything a worker needs to judge a chunk; small and picklable (the registry is loaded per process)."""

    operator: Operator                          # the facilities' view: operator-level evidence removed
    region_id: str
    region_options: tuple[tuple[str, bool], ...]
    as_of: dt.date
    default_crs: str | None
    config: AuditConfig
    waivers: tuple[Any, ...] = ()
    detail_cap: int = DETAIL_CAP
    collect_declared: bool = False              # the operator's ECS sweeps need every declared address
    tables: tuple[str, ...] = ("csv", "parquet")  # the full tables to render (on the worker, in parallel)
    session: str | None = None                  # the audit's id: each Dask worker keeps its evidence session under it
    columnar: bool = True                       # judge plain chunks as columns (auditor.engine.columnar); False: row by row

    def audit_plan(self) -> AuditPlan:
        registry = load_registry()
        region = registry.region(self.region_id, dict(self.region_options))
        return AuditPlan(registry, self.operator, region, self.as_of, Path(), self.default_crs, self.config, (), ())


@dataclass
class ChunkOutcome:
    """What one chunk gives back: its table rows, counts, digest, and detail for a few facilities."""

    rows: int
    extra: list[str]                  # input columns kept in the tables
    csv_rows: str                     # facilities.csv rows for this chunk ("" unless asked for)
    arrow: Any                        # pyarrow.Table for facilities.parquet (None unless asked for)
    tallies: Tallies
    digest: FacilityDigest
    declared: set[str]
    detail: list[tuple[Facility, tuple[LocationClaim, ...], dict[str, Containment], list[Finding], dict[str, list[Any]]]]
    sources_run: list[str]
    data_sources: list[DataSource]
    notes: list[str]
    crs_unstated: bool
    dns: dict[str, Any] = field(default_factory=dict)  # resolutions of the detailed facilities' hostnames
    first_rows: dict[str, int] = field(default_factory=dict)  # every id the chunk uses, with the first row it is on
    waivers_used: set[int] = field(default_factory=set)        # numbers of the waivers that waived a finding
    gave_up: dict[tuple[str, str, str], list[Any]] = field(default_factory=dict)  # see auditor.engine.gather.gave_up_notes
    blank_lines: int = 0                                       # blank lines in a CsvBlock
    # a columnar chunk's candidates for detail (its first rows that did not pass), judged row by row
    # only when the audit still lists facilities in detail (see detail_of)
    pending_detail: RawTable | None = None
    continues: bool = False  # a later piece of the chunk before it (see _judged_here): not a chunk of its own


def facility_view(operator: Operator) -> Operator:
    """The operator as its facilities' chunks see it: no accelerated domains or address space to
    look up again in every chunk (the operator's own pass does that once)."""
    return dataclasses.replace(operator, cdn_domains=(), isp_prefixes=())


def judge_chunk(
    chunk: RawTable | CsvBlock, plan: ChunkPlan, ids_before: dict[str, int] | None = None, session: EvidenceSession | None = None
) -> ChunkOutcome:
    """Parse (a CsvBlock), validate, gather evidence for, contain and judge one chunk of rows.

    Pure but for reading evidence files. ``ids_before``: ids earlier chunks used, with their first
    row, so that a later use is a duplicate as in a single pass (see :func:`audit_streamed`).
    ``session``: the audit's evidence session when judged in its own process; on a Dask worker
    (None) the worker's session for ``plan.session`` (:func:`worker_session`).
    """
    with paused_gc():
        return _judge_chunk(chunk, plan, ids_before, session or worker_session(plan.session))


#: Audits whose sessions a Dask worker keeps at once (the oldest is dropped).
_WORKER_SESSIONS_KEPT = 4


def worker_session(audit_id: str | None) -> EvidenceSession | None:
    """This Dask worker's evidence session for audit ``audit_id``, kept on the worker object itself
    (live sources cannot be sent between processes, and a worker judges many chunks of one audit);
    None outside a Dask worker."""
    if audit_id is None:
        return None
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):  # not running on a Dask worker
        return None
    sessions: collections.OrderedDict[str, EvidenceSession] = worker.__dict__.setdefault("auditor_sessions", collections.OrderedDict())
    if audit_id not in sessions:
        sessions[audit_id] = EvidenceSession()
        while len(sessions) > _WORKER_SESSIONS_KEPT:
            sessions.popitem(last=False)
    return sessions[audit_id]


def _judge_chunk(
    chunk: RawTable | CsvBlock, plan: ChunkPlan, ids_before: dict[str, int] | None, session: EvidenceSession | None
) -> ChunkOutcome:
    started, parsed = _start_columns(chunk, plan, ids_before)
    if started is not None:
        return _finish_columns(started, started.located(), plan)
    table, blank = parsed or _parsed(chunk)
    return _judge_rows(table, blank, plan, ids_before, session)


def _parsed(chunk: RawTable | CsvBlock) -> tuple[RawTable, int]:
    """The chunk's rows as a table, and how many blank lines it held."""
    return chunk.table() if isinstance(chunk, CsvBlock) else (chunk, 0)


@dataclass
class _Started:
    """A chunk of plain rows, read and looked up, waiting for the geometry (see :func:`_start_columns`)."""

    table: RawTable
    blank: int
    plain: Any        # auditor.engine.columnar.PlainStart
    plan: AuditPlan

    def located(self) -> Any:
        """Where its points lie (:func:`~auditor.engine.columnar.locate_plain`): the chunk's GEOS work."""
        from auditor.engine.columnar import locate_plain

        return locate_plain(self.plain, self.plan.region.geometry)


def _start_columns(
    chunk: RawTable | CsvBlock, plan: ChunkPlan, ids_before: dict[str, int] | None
) -> tuple[_Started | None, tuple[RawTable, int] | None]:
    """The chunk read as plain rows (:mod:`auditor.engine.columnar`: validated as columns, points in
    WGS-84, the IP database asked), or None when it is not a plain chunk; with the chunk as a table
    where it had to be parsed into one on the way (so that the per-row path need not parse it again)."""
    from auditor.engine.columnar import read_plain, start_plain

    if not _columnar_possible(plan):
        return None, None
    split = chunk.split_columns() if isinstance(chunk, CsvBlock) else None
    parsed = None
    if split is not None:  # the block's lines as columns, without a row list in between
        table, blank = RawTable(chunk.source, "csv", chunk.headers, [], encoding=chunk.encoding,
                                header_row=chunk.header_row, columns=chunk.columns, reading=chunk.reading), 0
    else:
        table, blank = parsed = _parsed(chunk)
    rows = read_plain(table, plan.default_crs, ids_before, split)
    if rows is None or len(set(rows.extra_names)) != len(rows.extra_names):
        return None, parsed
    aplan = plan.audit_plan()
    plain = start_plain(rows, aplan)
    return (None, parsed) if plain is None else (_Started(table, blank, plain, aplan), parsed)


def _columnar_possible(plan: ChunkPlan) -> bool:
    """Whether the plan lets plain chunks be judged as columns (no waivers, no ECS sweeps, plain evidence)."""
    from auditor.engine.columnar import plain_evidence_only

    return plan.columnar and not plan.waivers and not plan.collect_declared and plain_evidence_only(plan.config)


def _finish_columns(started: _Started, places: Any, plan: ChunkPlan) -> ChunkOutcome:
    """A started chunk's outcome, from where its points lie (``places``: a PlainPlaces); touches no GEOS geometry."""
    from auditor.engine.columnar import detail_rows, finish_plain, plain_tallies, sources_run, table_columns, written_coordinates
    from auditor.engine.judge import data_age_notes
    from auditor.report.table import arrow_table_of_columns, csv_text_of_columns

    j = finish_plain(started.plain, places, started.plan)
    rows = j.rows
    cells, extra = table_columns(j), rows.extra_names
    return ChunkOutcome(
        rows=len(rows.rows), extra=extra,
        csv_rows=csv_text_of_columns(cells, extra, written_coordinates(j)) if "csv" in plan.tables else "",
        arrow=arrow_table_of_columns(cells, extra) if "parquet" in plan.tables else None,
        tallies=plain_tallies(j), digest=FacilityDigest(frozenset(rows.kinds), tuple(j.access_points)), declared=set(), detail=[],
        sources_run=sources_run(j), data_sources=j.data_sources, notes=data_age_notes(j.data_sources, plan.as_of),
        crs_unstated=plan.default_crs is None and "" in rows.crs, first_rows=dict(zip(rows.ids, rows.rows)), blank_lines=started.blank,
        pending_detail=detail_rows(started.table, j, plan.detail_cap),
    )


def _judged_in_pieces(
    table: RawTable, blank: int, plan: ChunkPlan, session: EvidenceSession | None
) -> Iterator[tuple[RawTable, ChunkOutcome]]:
    """A chunk that is not plain (``table``), cut into runs of likely plain rows (judged as columns)
    and the rest (judged row by row): one odd row no longer sends 50,000 rows the slow way. Yields
    (piece, its outcome); the caller folds the pieces as chunks, and an audit's outcome does not
    depend on where its chunks are cut (tests compare chunk sizes); ids a piece shares with an
    earlier one are the caller's clash, as between chunks. Runs the geometry in this thread."""
    for k, (piece, started) in enumerate(_cut(table, plan)):
        with paused_gc():
            if started is not None:
                started.blank = 0 if k else blank
                outcome = _finish_columns(started, started.located(), plan)
            else:
                outcome = _judge_rows(piece, 0 if k else blank, plan, None, session)
        outcome.continues = k > 0
        yield piece, outcome


def judge_chunk_in_pieces(
    chunk: RawTable | CsvBlock, plan: ChunkPlan, ids_before: dict[str, int] | None = None, session: EvidenceSession | None = None
) -> list[ChunkOutcome]:
    """:func:`judge_chunk` for a Dask worker: a chunk that is not plain comes back as the outcomes of
    its pieces (see :func:`_judged_in_pieces`), which the command folds in order as chunks."""
    session = session or worker_session(plan.session)
    with paused_gc():
        started, parsed = _start_columns(chunk, plan, ids_before)
        if started is not None:
            return [_finish_columns(started, started.located(), plan)]
        table, blank = parsed or _parsed(chunk)
        if ids_before:
            return [_judge_rows(table, blank, plan, ids_before, session)]
    return [outcome for _, outcome in _judged_in_pieces(table, blank, plan, session)]


def _nth_piece(chunk: RawTable | CsvBlock, n: int, plan: ChunkPlan) -> RawTable:
    """The chunk's ``n``-th piece as :func:`_judged_in_pieces` cut it (the cut depends on the rows alone)."""
    return [piece for piece, _ in _cut(_parsed(chunk)[0], plan)][n]


def _cut(table: RawTable, plan: ChunkPlan) -> Iterator[tuple[RawTable, _Started | None]]:
    """A chunk that is not plain as pieces (:func:`_plain_pieces`), or whole (row by row) when
    columns cannot be used or it is too short to be worth cutting."""
    if not _columnar_possible(plan) or len(table.rows) < 2 * MIN_PLAIN_RUN:
        yield table, None
    else:
        yield from _plain_pieces(table, plan)


def _pieces_in_order(judged: Iterable[tuple[tuple[Any, ...], list[ChunkOutcome]]]) -> Generator[tuple[tuple[Any, ...], ChunkOutcome], None, None]:
    """Each chunk's pieces as chunks of their own: (job, outcome), the job naming the piece by its place."""
    for job, outcomes in judged:
        for n, outcome in enumerate(outcomes):
            yield (job if len(outcomes) == 1 else (*job, n)), outcome


#: in a chunk that is not plain, a run of likely plain rows shorter than this is judged row by row
#: with the rows around it (a piece of its own would cost more than it saves)
MIN_PLAIN_RUN = 64


def _plain_pieces(table: RawTable, plan: ChunkPlan) -> Iterator[tuple[RawTable, _Started | None]]:
    """The table's rows in order as pieces: each run of likely plain rows (:func:`likely_plain`) that
    is plain, with its start (as columns), and every other run with None (row by row). The whole
    table is known not to be plain."""
    from auditor.engine.columnar import likely_plain

    hint = likely_plain(table)
    if hint is None or sum(hint) < MIN_PLAIN_RUN:
        yield table, None
        return
    runs: list[list[Any]] = []  # [start, stop, plain]
    for i, plain in enumerate(hint):
        if runs and runs[-1][2] == plain:
            runs[-1][1] = i + 1
        else:
            runs.append([i, i + 1, plain])
    merged: list[list[Any]] = []
    for start, stop, plain in runs:
        plain = plain and stop - start >= MIN_PLAIN_RUN
        if merged and merged[-1][2] == plain:
            merged[-1][1] = stop
        else:
            merged.append([start, stop, plain])
    for start, stop, plain in merged:
        piece = _rows_of(table, start, stop)
        started = _start_columns(piece, plan, None)[0] if plain else None
        yield piece, started


def _rows_of(table: RawTable, start: int, stop: int) -> RawTable:
    """Rows ``start:stop`` of a table, with what the reader said of those rows."""
    rows = table.rows[start:stop]
    numbers = {r for r, _ in rows}
    return dataclasses.replace(
        table, rows=rows, row_problems={r: p for r, p in table.row_problems.items() if r in numbers},
        cell_problems={r: p for r, p in table.cell_problems.items() if r in numbers},
    )


def detail_of(outcome: ChunkOutcome, wanted: int, plan: ChunkPlan, session: EvidenceSession | None) -> None:
    """Judge row by row the first ``wanted`` of a columnar chunk's detail candidates, into ``outcome.detail``
    (the Finding objects a report lists are built only for the rows it lists)."""
    pending, outcome.pending_detail = outcome.pending_detail, None
    if pending is None or wanted <= 0 or not pending.rows:
        return
    rows_plan = dataclasses.replace(plan, columnar=False, tables=())
    outcome.detail = _judge_rows(dataclasses.replace(pending, rows=pending.rows[:wanted]), 0, rows_plan, None, session).detail


def _judge_rows(
    table: RawTable, blank: int, plan: ChunkPlan, ids_before: dict[str, int] | None, session: EvidenceSession | None
) -> ChunkOutcome:
    from auditor.report.table import (
        arrow_table,
        csv_text,
        extra_columns,
        facility_record,
    )

    aplan = plan.audit_plan()
    facilities = validate_rows(table, default_crs=plan.default_crs, ids_before=ids_before)
    j = judge(facilities, plan.operator, None, aplan, session=session)
    result = AuditResult(
        operator=plan.operator, region=aplan.region, as_of=plan.as_of, facilities=facilities, claims=j.claims,
        containment=j.containment, facility_findings=j.facility_findings, operator_findings=[], inputs=[],
        data_sources=[], asn=j.evidence.asn,
    )
    notes = list(j.evidence.notes)
    waivers_used: set[int] = set()
    if plan.waivers:
        from auditor.waivers import apply_waivers_to_result

        result, waived = apply_waivers_to_result(result, plan.waivers)  # its notes are said once, by the driver
        waivers_used = {m.waiver.number for m in waived.values()}
    detail: list[tuple[Facility, tuple[LocationClaim, ...], dict[str, Containment], list[Finding], dict[str, list[Any]]]] = []
    for f in facilities:
        if len(detail) >= plan.detail_cap:
            break
        if result.facility_verdict(f) is not FacilityVerdict.PASS:
            claims = result.claims_of(f)
            detail.append((
                f, claims, {c.id: result.containment[c.id] for c in claims if c.id in result.containment},
                result.findings_of(f), {ip: result.asn[ip] for ip in f.ip if ip in result.asn},
            ))
    records = [facility_record(result, f) for f in facilities]
    extra = extra_columns(facilities)
    return ChunkOutcome(
        rows=len(records), extra=extra,
        csv_rows=csv_text(records, extra) if "csv" in plan.tables else "",
        arrow=arrow_table(records, extra) if "parquet" in plan.tables else None,
        tallies=Tallies.of_facilities(result),
        digest=j.context.facility_digest(),
        declared=set(j.evidence.declared_addresses) if plan.collect_declared else set(),
        detail=detail,
        sources_run=list(j.evidence.sources_run),
        data_sources=list(j.evidence.data_sources),
        notes=notes,
        crs_unstated=crs_unstated(facilities, plan.default_crs),
        dns={h: j.evidence.dns[h] for f, *_ in detail for h in f.hostname if h in j.evidence.dns},
        first_rows=_first_rows(facility_ids(table)), blank_lines=blank, waivers_used=waivers_used, gave_up=j.evidence.gave_up,
    )


# -- running the chunks ------------------------------------------------------------------------

def _in_order(
    fn: Callable[..., _T], jobs: Iterable[tuple[Any, ...]], client: Any = None, window: int = 4
) -> Iterator[tuple[tuple[Any, ...], _T]]:
    """(job, ``fn(*job)``) for every job, in job order; on a Dask client at most ``window`` in flight
    (so neither the driver nor the cluster holds more than a few chunks at once)."""
    if client is None:
        for job in jobs:
            yield job, fn(*job)
        return
    pending: collections.deque[tuple[tuple[Any, ...], Any]] = collections.deque()
    for job in jobs:
        pending.append((job, client.submit(fn, *job, pure=False)))
        if len(pending) >= window:
            job0, future = pending.popleft()
            yield job0, _collect(future)
    while pending:
        job0, future = pending.popleft()
        yield job0, _collect(future)


def _judged_here(chunks: Iterable[Any], plan: ChunkPlan, session: EvidenceSession | None) -> Generator[tuple[tuple[Any, ...], ChunkOutcome], None, None]:
    """(job, ``judge_chunk(*job)``) for every chunk, judged in this process, in order; a plain chunk's
    geometry (:func:`~auditor.engine.columnar.locate_plain`: GEOS and k-d tree queries, which release
    the GIL) runs on a thread while the chunk before it is worded and rendered in Python, so that the
    two cores work at once. The outcomes are judge_chunk's (the same functions, in another order).

    Only that thread touches the region's geometry while it runs: sharing a prepared GEOS geometry
    between threads at once corrupts the heap (see RegionGeometry.classify_points). So a chunk that
    goes row by row is judged before the next chunk's geometry starts, and each outcome is handed on
    (to detail_of and the clash check, which judge row by row) only once the thread is idle.
    """
    from concurrent.futures import ThreadPoolExecutor

    held: tuple[tuple[Any, ...], _Started | None, Any] | None = None  # (job, started, its places or its parsed table)

    def finished(started: _Started, places: Any) -> ChunkOutcome:
        with paused_gc():
            return _finish_columns(started, places, plan)

    def pieces(job: tuple[Any, ...], parsed: tuple[RawTable, int] | None) -> Iterator[tuple[tuple[Any, ...], ChunkOutcome]]:
        table, blank = parsed or _parsed(job[0])
        for piece, outcome in _judged_in_pieces(table, blank, plan, session):
            yield ((piece, plan, None, session) if outcome.continues or piece is not table else job), outcome

    # the geometry thread holds the GIL only between its C calls; by default it would wait up to 5 ms
    # for it after each one while this thread words rows (1,000,000 rows, benchmarks/scale.py's
    # list, in one process: 14.9 s with the default 5 ms, 14.0 s with this)
    with _switch_interval(_GEOMETRY_SWITCH_S), ThreadPoolExecutor(1, thread_name_prefix="auditor-geometry") as pool:
        for chunk in chunks:
            job = (chunk, plan, None, session)
            with paused_gc():
                started, parsed = _start_columns(chunk, plan, None)
            if held is not None and held[1] is None:  # not plain: before any geometry runs on the thread
                yield from pieces(held[0], held[2])
                held = None
            future = pool.submit(started.located) if started is not None else None
            try:
                outcome = finished(held[1], held[2]) if held is not None and held[1] is not None else None
            finally:
                places = future.result() if future is not None else None  # the thread is idle from here on
            if held is not None and outcome is not None:
                yield held[0], outcome
            held = (job, started, places if started is not None else parsed)
        if held is not None:
            if held[1] is None:
                yield from pieces(held[0], held[2])
            else:
                yield held[0], finished(held[1], held[2])


#: the interpreter's thread switch interval while a chunk's geometry runs beside the wording of another
_GEOMETRY_SWITCH_S = 0.00025


@contextlib.contextmanager
def _switch_interval(seconds: float) -> Iterator[None]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def _collect(future: Any) -> Any:
    try:
        outcome = future.result()  # a Dask future's result is untyped
        return outcome
    finally:
        future.release()


def _run_one(fn: Callable[..., ChunkOutcome], job: tuple[Any, ...], client: Any) -> ChunkOutcome:
    return fn(*job) if client is None else _collect(client.submit(fn, *job, pure=False))


# -- writing the tables ------------------------------------------------------------------------

class TableWriter:
    """Appends the chunks' rendered rows to facilities.csv and facilities.parquet as they arrive.

    Parquet is compressed and written on a thread of its own (pyarrow releases the GIL while it
    encodes), so that it overlaps the judging of the next chunk instead of following it; at most
    ``PARQUET_QUEUED`` chunks wait for it, which bounds the memory they hold. A chunk judged in
    pieces (``ChunkOutcome.continues``) is written as one row group, as it would be whole.
    """

    PARQUET_QUEUED = 2

    def __init__(self, folder: ReportFolder, formats: tuple[str, ...]) -> None:
        # staged: a table shows under its final name only once the whole audit is done
        self.csv_path = folder.path("facilities.csv") if "csv" in formats else None
        self.parquet_path = folder.path("facilities.parquet") if "parquet" in formats else None
        self._csv_file: Any = None
        self._parquet: Any = None
        self._pool: Any = None
        self._queued: collections.deque[Any] = collections.deque()
        self._chunk: list[Any] = []  # the Arrow tables of the chunk being written (its pieces)

    def write(self, outcome: ChunkOutcome) -> None:
        from auditor.report.csv_report import csv_header

        if self.csv_path is not None:
            if self._csv_file is None:
                self._csv_file = self.csv_path.open("w", encoding="utf-8", newline="")
                csv.writer(self._csv_file, lineterminator="\r\n").writerow(csv_header(outcome.extra))
            self._csv_file.write(outcome.csv_rows)
        if self.parquet_path is not None and outcome.arrow is not None:
            if not outcome.continues:
                self._write_chunk()
            self._chunk.append(outcome.arrow)

    def _write_chunk(self) -> None:
        """Hand the chunk's Arrow table (its pieces joined) to the Parquet thread."""
        if not self._chunk:
            return
        import pyarrow as pa

        table = self._chunk[0] if len(self._chunk) == 1 else pa.concat_tables(self._chunk).combine_chunks()
        self._chunk = []
        if self._parquet is None:
            from concurrent.futures import ThreadPoolExecutor

            import pyarrow.parquet as pq

            self._parquet = pq.ParquetWriter(self.parquet_path, table.schema, compression="zstd")
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="auditor-parquet")
        while len(self._queued) >= self.PARQUET_QUEUED:
            self._queued.popleft().result()  # raises what the writer raised
        self._queued.append(self._pool.submit(self._parquet.write_table, table))

    def abort(self) -> None:
        """Close and delete what was written (the audit did not finish)."""
        try:
            self.close()
        except Exception:  # noqa: BLE001, S110 - the audit's own error is the one to report; the tables go either way
            pass
        for path in (self.csv_path, self.parquet_path):
            if path is not None:
                path.unlink(missing_ok=True)

    def close(self) -> list[Path]:
        """Wait for the Parquet thread, close the tables; the paths written (raises what a write raised)."""
        written = []
        try:
            self._write_chunk()
            while self._queued:
                self._queued.popleft().result()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None
            self._queued.clear()
            if self._csv_file is not None:
                self._csv_file.close()
                self._csv_file = None
                written.append(self.csv_path)
            if self._parquet is not None:
                self._parquet.close()
                self._parquet = None
                written.append(self.parquet_path)
        return [p for p in written if p is not None]


# -- the streamed audit --------------------------------------------------------------------------

@dataclass
class StreamOutput:
    """A streamed audit's result (facilities: only the detailed ones) and the tables written."""

    result: AuditResult
    tables: list[Path] = field(default_factory=list)
    chunks: int = 0


class _Fold:
    """What the chunks' outcomes add up to, taken in file order."""

    def __init__(self, detail_cap: int) -> None:
        self.detail_cap = detail_cap
        self.chunks = 0
        self.totals = Tallies()
        self.digest = FacilityDigest()
        self.declared: set[str] = set()
        self.detail: list[Any] = []
        self.dns: dict[str, Any] = {}
        self.sources_run: list[str] = []
        self.data_sources: list[DataSource] = []
        self.notes: list[str] = []
        self.crs_unstated = False
        self.waivers_used: set[int] = set()
        self.blank_lines = 0
        self.gave_up: dict[tuple[str, str, str], list[Any]] = {}
        self.first_row: dict[str, int] = {}  # every id used so far, with the row it was first used on

    def ids_used_before(self, outcome: ChunkOutcome) -> dict[str, int]:
        """The outcome's ids that earlier chunks used, with their first row."""
        first_row = self.first_row
        if first_row.keys().isdisjoint(outcome.first_rows.keys()):  # (walks the smaller of the two)
            return {}
        return {fid: first_row[fid] for fid in outcome.first_rows if fid in first_row}

    def add(self, outcome: ChunkOutcome, used_before: dict[str, int] | None = None) -> None:
        """Take the chunk's outcome; ``used_before``: what :meth:`ids_used_before` said of its ids, if asked."""
        self.chunks += not outcome.continues
        first = outcome.first_rows
        if used_before is None:
            used_before = self.ids_used_before(outcome)
        if used_before:  # an id used before keeps the row it was first used on
            first = {fid: row for fid, row in first.items() if fid not in self.first_row}
        self.first_row.update(first)
        self.totals.add(outcome.tallies)
        self.digest = self.digest.merged(outcome.digest)
        self.declared |= outcome.declared
        taken = outcome.detail[: max(0, self.detail_cap - len(self.detail))]
        self.detail += taken
        self.dns.update({h: outcome.dns[h] for f, *_ in taken for h in f.hostname if h in outcome.dns})
        self.sources_run += outcome.sources_run
        _merge_sources(outcome.data_sources, self.data_sources)
        self.notes += outcome.notes
        self.crs_unstated = self.crs_unstated or outcome.crs_unstated
        self.waivers_used |= outcome.waivers_used
        self.blank_lines += outcome.blank_lines
        merge_gave_up(self.gave_up, outcome.gave_up)


def _first_rows(ids: list[tuple[int, str]]) -> dict[str, int]:
    """Each id of (row, id) pairs in file order, with the first row it is on."""
    first: dict[str, int] = {}
    for row, fid in ids:
        first.setdefault(fid, row)
    return first


def _merge_sources(items: Iterable[DataSource], into: list[DataSource]) -> None:
    seen = {(s.name, s.path) for s in into}
    for s in items:
        if (s.name, s.path) not in seen:
            seen.add((s.name, s.path))
            into.append(s)


def audit_streamed(
    target: str | Path,
    out_dir: str | Path | ReportFolder,
    *,
    formats: tuple[str, ...] = TABLE_FORMATS,
    region: str | None = None,
    region_options: dict[str, bool] | None = None,
    as_of: dt.date | str | None = None,
    crs: str | None = None,
    config: AuditConfig | None = None,
    cli_config: dict[str, Any] | None = None,
    waivers: Iterable[Any] = (),
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    detail_cap: int = DETAIL_CAP,
    client: Any = None,
    progress: Callable[..., None] | None = None,
    columnar: bool = True,
) -> StreamOutput:
    """Audit ``target`` chunk by chunk, writing facilities.csv / facilities.parquet into ``out_dir`` as it goes.

    ``client``: a ``dask.distributed.Client``; chunks are then judged on its workers. The
    returned result lists in detail only the first ``detail_cap`` facilities that did not pass;
    its ``totals`` count every row. ``columnar=False`` judges every chunk row by row (the reference
    the columnar path is tested against). Write the summary reports with :func:`auditor.report.write_reports`.

    Given a folder path, the tables are staged and moved into place when the audit is done
    (never half-written under their final names); given an open
    :class:`~auditor.report.folder.ReportFolder`, they are only staged, so that the summaries
    join the same set and the caller commits it whole (as ``auditor audit --stream`` does).
    """
    for fmt in formats:
        if fmt not in TABLE_FORMATS:
            raise UsageError("--format (streamed audit)", fmt, TABLE_FORMATS)
    step = progress or (lambda *_a, **_k: None)
    plan = prepare(target, region=region, region_options=region_options, as_of=as_of, crs=crs,
                   config=config, cli_config=cli_config)
    op = plan.operator
    chunk_plan = ChunkPlan(
        operator=facility_view(op), region_id=plan.region.id, region_options=tuple(sorted(plan.region.options.items())),
        as_of=plan.as_of, default_crs=plan.default_crs, config=plan.config, waivers=tuple(waivers), detail_cap=detail_cap,
        collect_declared=bool(op.cdn_domains) and plan.config.dns_configured,
        tables=tuple(t for t in ("csv", "parquet") if t in formats), session=uuid.uuid4().hex, columnar=columnar,
    )
    folder: ReportFolder
    if isinstance(out_dir, ReportFolder):
        folder, own_folder = out_dir, False
    else:
        folder, own_folder = ReportFolder(out_dir).__enter__(), True
    try:
        folder.protect([str(target), str(plan.inventory_path), *(i["path"] for i in plan.inputs if i.get("path"))])
        chunks = TableChunks(plan.inventory_path, chunk_rows)
        writer = TableWriter(folder, formats)
        fold = _Fold(detail_cap)
        try:
            # in this process every chunk shares the audit's session; on Dask each worker keeps its own
            session = EvidenceSession() if client is None else None
            jobs = ((c, chunk_plan, None, session) for c in chunks)
            judged = (_pieces_in_order(_in_order(judge_chunk_in_pieces, jobs, client, window=_window(client))) if client is not None
                      else _judged_here(chunks, chunk_plan, session))
            with contextlib.closing(judged):  # closed at once on an error: its threads and switch interval too
                for job, outcome in judged:
                    clash = fold.ids_used_before(outcome)
                    if clash:  # ids used in earlier chunks: judge again knowing them (rare; exact as in one pass)
                        continues = outcome.continues
                        rows = job[0] if len(job) == 4 else _nth_piece(job[0], job[4], chunk_plan)
                        outcome = _run_one(judge_chunk, (rows, chunk_plan, clash, session), client)
                        outcome.continues = continues
                    detail_of(outcome, detail_cap - len(fold.detail), chunk_plan, session)
                    writer.write(outcome)
                    fold.add(outcome, clash)
                    step("judge facilities", fold.totals.facility_count, chunks.info.rows_count or fold.totals.facility_count)
        except BaseException:
            writer.abort()  # no half-written table may pass for a whole one
            raise
        tables = writer.close()
        if own_folder:
            folder.commit()
            tables = [folder.final(t) for t in tables]
    finally:
        if own_folder:
            folder.__exit__(None, None, None)
    totals, digest, detail, dns = fold.totals, fold.digest, fold.detail, fold.dns
    waivers_used, notes = fold.waivers_used, fold.notes

    step("judge the operator")
    registration = registration_facility(op)
    j = judge([], op, registration, plan, digest=digest, declared_elsewhere=fold.declared)
    operator_findings = j.operator_findings
    warnings = list(plan.warnings)
    if fold.crs_unstated:
        warnings.append(UNSTATED_CRS_WARNING)
    if fold.totals.facility_count == 0:
        warnings.insert(0, NO_ROWS_WARNING)
    if waivers:
        from auditor.waivers import apply_waivers, waiver_notes

        outcome_w = apply_waivers(operator_findings, {}, list(waivers), plan.as_of)
        operator_findings = outcome_w.operator_findings
        waivers_used |= {m.waiver.number for m in outcome_w.waived.values()}
        waiver_lines = waiver_notes(list(waivers), plan.as_of, waivers_used)
    else:
        waiver_lines = []
    info = chunks.finish(fold.blank_lines)
    inputs = list(plan.inputs) + [dict(input_record(info, "facility_list"), rows=totals.facility_count)]
    data_sources = list(fold.data_sources)
    _merge_sources(j.evidence.data_sources, data_sources)
    sources = tuple(dict.fromkeys(_ordered_sources(fold.sources_run + j.evidence.sources_run)))
    basic_source, (rules_version, clauses_source) = load_basic_telecom()[1], clauses_version()
    claims = dict(j.claims)
    containment = dict(j.containment)
    facility_findings: dict[str, list[Finding]] = {}
    asn = dict(j.evidence.asn)
    facilities = []
    for f, f_claims, f_cont, f_findings, f_asn in detail:
        facilities.append(f)
        if not f.errors:  # an unreadable row's id may be another row's (a duplicate): it has no claims or findings of its own
            claims[f.id] = f_claims
            facility_findings[f.id] = f_findings
        containment.update(f_cont)
        asn.update(f_asn)
    result = AuditResult(
        operator=op, region=plan.region, as_of=plan.as_of, facilities=facilities, claims=claims, containment=containment,
        facility_findings=facility_findings, operator_findings=operator_findings, inputs=inputs,
        data_sources=plan.region.data_sources() + data_sources + [basic_source, clauses_source], rules_version=rules_version,
        warnings=warnings + list(dict.fromkeys(notes + j.evidence.notes)) + gave_up_notes(fold.gave_up) + gave_up_notes(j.evidence.gave_up)
        + waiver_lines, evidence_sources=sources,
        footprint=j.evidence.footprint, asn=asn, discovered=list(j.evidence.discovered), dns={**dns, **j.evidence.dns},
        sweeps=j.evidence.sweeps, totals=totals, tables={p.suffix.lstrip("."): p.name for p in tables},
        evidence_mode=plan.config.evidence_mode,
    )
    return StreamOutput(result, tables, fold.chunks)


# the order an in-memory audit runs its sources in (auditor.engine.gather.gather), for a stable report
_SOURCE_ORDER = ("declared_coordinates", "admin_fact", "address", "ip2region", "ip", "dns", "mmdb", "latency")


def _ordered_sources(names: list[str]) -> list[str]:
    known = [n for n in _SOURCE_ORDER if n in names]
    return known + [n for n in dict.fromkeys(names) if n not in _SOURCE_ORDER]


def _window(client: Any) -> int:
    if client is None:
        return 1
    try:
        return max(2, 2 * len(client.scheduler_info().get("workers", {})))
    except Exception:  # noqa: BLE001 - a cluster that cannot say its size still gets a small window
        return 4
