"""Readers: any supported file into a :class:`RawTable` of strings, with row numbers.

Formats: CSV/TSV (UTF-8, UTF-8 with BOM, UTF-16 with BOM, GBK/GB18030), XLSX,
GeoJSON, GeoPackage, (Geo)Parquet. Every value is kept as text here, so that
validation sees exactly what the file said (``121.50`` keeps its precision).
Geometry columns become ``lon``/``lat`` text. Errors that make the whole file
unusable raise :class:`~auditor.errors.InputError`; per-row trouble is left to
validation: a cell the reader could not give as the file meant it (an XLSX formula
with no saved value, a geometry GDAL could not read or that is not valid) travels
as a :class:`CellProblem` in ``RawTable.cell_problems``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.paths import sha256_file

__all__ = ["RawTable", "CellProblem", "read_table", "TableChunks", "CsvChunks", "CsvBlock", "FORMATS"]

FORMATS = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv",
    ".xlsx": "xlsx", ".xlsm": "xlsx",
    ".geojson": "geo", ".json": "geo", ".gpkg": "geo", ".shp": "geo", ".fgb": "geo",
    ".parquet": "parquet", ".geoparquet": "parquet",
}


@dataclass(frozen=True, slots=True)
class CellProblem:
    """Why a reader could not give one cell (or a row's geometry) as the file meant it.

    Validation turns each into a :class:`~auditor.model.RowError` on its row, named by
    the column's canonical name (or header) — or ``geometry`` when ``column`` is None.
    """

    column: int | None    # index into ``RawTable.headers``; None: the row's geometry
    message: str
    value: str | None = None
    hint: str | None = None


@dataclass
class RawTable:
    """Rows of text as the file holds them."""

    source: str
    format: str
    headers: list[str]
    rows: list[tuple[int, list[str]]]    # (row number, values aligned with headers)
    encoding: str = ""
    sha256: str = ""
    file_crs: str | None = None          # "wgs84" when the file itself states WGS-84
    row_problems: dict[int, str] = field(default_factory=dict)
    cell_problems: dict[int, list[CellProblem]] = field(default_factory=dict)  # row number -> problems
    notes: list[str] = field(default_factory=list)
    rows_count: int = 0                  # rows in the whole file, when this describes a streamed file


def read_table(path: Path | str) -> RawTable:
    """Read a facility list into text rows; raise InputError when the file is unusable."""
    p = Path(path)
    if not p.is_file():
        raise InputError("file not found", source=str(path))
    kind = FORMATS.get(p.suffix.lower())
    if kind is None:
        raise InputError(
            f"unsupported file type {p.suffix!r}", source=str(path),
            hint="use CSV, XLSX, GeoJSON, GeoPackage or Parquet",
        )
    reader = {"csv": _read_csv, "xlsx": _read_xlsx, "geo": _read_geo, "parquet": _read_parquet}[kind]
    table = reader(p)
    table.sha256 = sha256_file(p)
    return table


# -- CSV -------------------------------------------------------------------------------------

def _candidate_encodings(head: bytes) -> list[str]:
    """The encodings to try, in order, for a file starting with ``head``: a BOM decides."""
    if head.startswith(b"\xef\xbb\xbf"):
        return ["utf-8-sig"]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return ["utf-16"]
    return ["utf-8", "gb18030"]


def decode_text(data: bytes, source: str) -> tuple[str, str]:
    """Decode bytes as UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030 (a GBK superset)."""
    candidates = _candidate_encodings(data[:3])
    last: UnicodeDecodeError | None = None
    for enc in candidates:
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError as exc:
            last = exc
    assert last is not None
    start = last.start + (3 if candidates == ["utf-8-sig"] else 0)  # utf-8-sig counts after the BOM
    line = data[:start].count(b"\n") + 1
    raise InputError(
        f"cannot decode as {' or '.join(candidates)} (bad byte at offset {start}, line {line})",
        source=source,
        hint="save the file as UTF-8 or GBK/GB18030",
    )


_BLOCK = 1 << 20  # bytes per read when a file is streamed


@dataclass(frozen=True)
class _TextFacts:
    encoding: str
    plain_lines: bool  # no quote character and no lone CR: every physical line is one record


def _sniff_encoding(p: Path) -> _TextFacts:
    """The encoding a CSV file decodes with, found by decoding it in blocks (memory stays bounded).

    Same rules as :func:`decode_text`: a BOM decides; otherwise UTF-8, then GB18030. A file
    that decodes with neither (or holds NUL characters) is refused with the message
    :func:`decode_text` gives, which names the offset and line. Also notes whether the file
    has no quote characters and no bare CR line ends (then its lines can be split anywhere).
    """
    import codecs

    with p.open("rb") as fh:
        candidates = _candidate_encodings(fh.read(3))
    for enc in candidates:
        decoder = codecs.getincrementaldecoder(enc)()
        plain = enc != "utf-16"
        try:
            with p.open("rb") as fh:
                while block := fh.read(_BLOCK):
                    text = decoder.decode(block)
                    if "\x00" in text:
                        raise InputError("file contains NUL bytes; it is not a text CSV", source=str(p))
                    # a CR at the end of a block may pair with the next block's LF: counted as lone (rare, safe)
                    plain = plain and '"' not in text and text.count("\r") == text.count("\r\n")
                decoder.decode(b"", final=True)
            return _TextFacts(enc, plain)
        except UnicodeDecodeError:
            continue
    decode_text(p.read_bytes(), str(p))  # raises with the exact offset and line
    raise AssertionError("unreachable")  # pragma: no cover


def _open_text(p: Path, encoding: str) -> io.TextIOWrapper:
    return open(p, encoding=encoding, newline="")  # noqa: SIM115 - the caller closes it


def _delimiter(p: Path, encoding: str) -> str:
    with _open_text(p, encoding) as fh:
        sample = fh.read(65536)
    tab_first_line = "\t" in sample.split("\n", 1)[0]
    return "\t" if p.suffix.lower() == ".tsv" or (sample.count("\t") > sample.count(",") and tab_first_line) else ","


def _check_quotes_closed(p: Path, encoding: str, delimiter: str) -> None:
    """Refuse a file whose last quoted field never closes: the lenient reader would fold every
    following row into that one field, and rows would vanish without a word."""
    with _open_text(p, encoding) as fh:
        strict = csv.reader(fh, delimiter=delimiter, strict=True)
        start = 1
        try:
            for _ in strict:
                start = strict.line_num + 1
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                raise InputError(
                    f"unclosed quote: the record starting on line {start} runs to the end of the file",
                    source=str(p), hint="close the quote (or double a quote inside a quoted field as \"\")",
                ) from exc
            # other irregular quoting is read leniently below, row by row


class _Records:
    """The file's rules for CSV records: blank records are skipped and counted, the first other
    record is the header (unless it is known), and rows are padded or cut to the header's width
    (a cut that drops text is a row problem)."""

    def __init__(self, source: str, headers: list[str] | None = None) -> None:
        self.source = source
        self.headers = headers
        self.header_row = 1
        self.blank = 0
        self.problems: dict[int, str] = {}

    def rows(self, reader: Any, first_line: int) -> Iterator[tuple[int, list[str]]]:
        """(row number, values) of the records ``reader`` gives, its first line being ``first_line``."""
        start = first_line
        try:
            for record in reader:
                row_no = start
                start = first_line + reader.line_num
                if not any(cell.strip() for cell in record):
                    self.blank += 1
                    continue
                if self.headers is None:
                    self.headers, self.header_row = record, row_no
                    continue
                width = len(self.headers)
                if len(record) > width:
                    if any(c.strip() for c in record[width:]):
                        self.problems[row_no] = f"row has {len(record)} fields but the header has {width}"
                    record = record[:width]
                elif len(record) < width:
                    record = record + [""] * (width - len(record))
                yield row_no, record
        except csv.Error as exc:
            raise InputError(f"malformed CSV near line {first_line - 1 + reader.line_num}: {exc}", source=self.source) from exc

    def notes(self) -> list[str]:
        out = []
        if self.blank:
            out.append(f"{self.blank} blank line(s) ignored")
        if self.header_row != 1:
            out.append(f"header found on line {self.header_row}")
        return out

    def take_problems(self) -> dict[int, str]:
        taken, self.problems = self.problems, {}
        return taken


class CsvChunks:
    """A CSV file read as a sequence of :class:`RawTable` chunks of at most ``chunk_rows`` rows.

    Whole-file checks (encoding, NUL bytes, an unclosed quote) run before the first chunk, in
    bounded memory; row numbers are the file's physical line numbers, as in :func:`read_table`.
    After iteration, :attr:`notes` holds the notes for the whole file (blank lines, header line).
    """

    def __init__(self, path: Path | str, chunk_rows: int = 50_000, facts: _TextFacts | None = None) -> None:
        self.path = Path(path)
        self.chunk_rows = max(1, int(chunk_rows))
        self.facts = facts or _sniff_encoding(self.path)
        self.encoding = self.facts.encoding
        self.delimiter = _delimiter(self.path, self.encoding)
        _check_quotes_closed(self.path, self.encoding, self.delimiter)
        self.headers: list[str] | None = None
        self.notes: list[str] = []
        self.rows_read = 0

    def __iter__(self) -> Iterator[RawTable]:
        records = _Records(str(self.path))
        with _open_text(self.path, self.encoding) as fh:
            rows: list[tuple[int, list[str]]] = []
            for row in records.rows(csv.reader(fh, delimiter=self.delimiter), 1):
                rows.append(row)
                if len(rows) >= self.chunk_rows:
                    self.headers = records.headers
                    yield self._chunk(rows, records.take_problems())
                    rows = []
        if records.headers is None:
            raise InputError("file is empty (no header row)", source=str(self.path))
        self.headers = records.headers
        self.notes.extend(records.notes())
        if rows or not self.rows_read:
            yield self._chunk(rows, records.take_problems())

    def _chunk(self, rows: list[tuple[int, list[str]]], problems: dict[int, str]) -> RawTable:
        self.rows_read += len(rows)
        assert self.headers is not None
        return RawTable(str(self.path), "csv", self.headers, rows, encoding=self.encoding, row_problems=problems)


@dataclass(frozen=True)
class CsvBlock:
    """Whole lines of a CSV file with no quotes (so every line is one record), still as bytes.

    A streamed audit hands these to its workers, which parse them (:meth:`table`) where they are
    judged: the reading process only splits the file at line ends.
    """

    source: str
    encoding: str
    delimiter: str
    headers: list[str]
    first_line: int   # the file's line number of the block's first line
    data: bytes

    def table(self) -> tuple[RawTable, int]:
        """The block's rows (numbered by file line) and how many blank lines it held."""
        records = _Records(self.source, self.headers)
        text = self.data.decode("utf-8" if self.encoding == "utf-8-sig" else self.encoding)
        rows = list(records.rows(csv.reader(io.StringIO(text, newline=""), delimiter=self.delimiter), self.first_line))
        table = RawTable(self.source, "csv", self.headers, rows, encoding=self.encoding, row_problems=records.take_problems())
        return table, records.blank


class CsvBlocks:
    """A quote-free CSV file as :class:`CsvBlock` s of ``chunk_rows`` lines; see :class:`CsvChunks` for the rest.

    After iteration, :attr:`blank_before_header` and :attr:`header_row` give what the notes need
    (the blocks count their own blank lines).
    """

    def __init__(self, path: Path, chunk_rows: int, facts: _TextFacts) -> None:
        self.path, self.chunk_rows, self.encoding = path, max(1, int(chunk_rows)), facts.encoding
        self.delimiter = _delimiter(path, self.encoding)
        self.headers: list[str] | None = None
        self.header_row = 1
        self.blank_before_header = 0

    def __iter__(self) -> Iterator[CsvBlock]:
        import itertools

        with self.path.open("rb") as fh:
            line_no = 0
            for raw in fh:  # up to the header: the first line that is not blank
                line_no += 1
                text = raw.decode(self.encoding).removeprefix("\ufeff")
                record = next(csv.reader([text.rstrip("\r\n")], delimiter=self.delimiter), [])
                if any(cell.strip() for cell in record):
                    self.headers, self.header_row = record, line_no
                    break
                self.blank_before_header += 1
            if self.headers is None:
                raise InputError("file is empty (no header row)", source=str(self.path))
            sent = False
            while lines := list(itertools.islice(fh, self.chunk_rows)):
                yield CsvBlock(str(self.path), self.encoding, self.delimiter, self.headers, line_no + 1, b"".join(lines))
                line_no += len(lines)
                sent = True
            if not sent:
                yield CsvBlock(str(self.path), self.encoding, self.delimiter, self.headers, line_no + 1, b"")


def _read_csv(p: Path) -> RawTable:
    chunks = CsvChunks(p, chunk_rows=1 << 62)
    (table,) = list(chunks)  # a chunk this large holds every row
    table.notes = list(chunks.notes)
    return table


class TableChunks:
    """A facility list cut into chunks for a streamed audit.

    Iterating gives :class:`RawTable` chunks, or :class:`CsvBlock` s (parsed by whoever judges
    them) for a CSV file whose lines are records. ``info`` describes the whole file (headers, encoding,
    sha256; its ``notes`` are final after :meth:`finish`). CSV is read in bounded memory; other
    formats are read whole (their readers need the whole file) and handed out in slices.
    """

    def __init__(self, path: Path | str, chunk_rows: int = 50_000) -> None:
        self.path = Path(path)
        self.chunk_rows = max(1, int(chunk_rows))
        self._csv: CsvChunks | CsvBlocks | None = None
        self._whole: RawTable | None = None
        if FORMATS.get(self.path.suffix.lower()) == "csv" and self.path.is_file():
            facts = _sniff_encoding(self.path)
            self._csv = CsvBlocks(self.path, self.chunk_rows, facts) if facts.plain_lines else CsvChunks(self.path, self.chunk_rows, facts)
            self.info = RawTable(str(self.path), "csv", [], [], encoding=facts.encoding, sha256=sha256_file(self.path))
        else:
            self._whole = read_table(self.path)
            w = self._whole
            self.info = RawTable(w.source, w.format, list(w.headers), [], encoding=w.encoding, sha256=w.sha256,
                                 file_crs=w.file_crs, notes=list(w.notes), rows_count=len(w.rows))

    def __iter__(self) -> Iterator[RawTable | CsvBlock]:
        if self._csv is not None:
            for chunk in self._csv:
                self.info.headers = list(chunk.headers)
                yield chunk
            return
        w = self._whole
        assert w is not None
        for i in range(0, max(len(w.rows), 1), self.chunk_rows):
            rows = w.rows[i:i + self.chunk_rows]
            yield RawTable(w.source, w.format, w.headers, rows, encoding=w.encoding, sha256=w.sha256, file_crs=w.file_crs,
                           row_problems={r: w.row_problems[r] for r, _ in rows if r in w.row_problems},
                           cell_problems={r: w.cell_problems[r] for r, _ in rows if r in w.cell_problems})

    def finish(self, blank_lines_in_blocks: int = 0) -> RawTable:
        """Complete ``info.notes`` once every chunk was read (blocks count their own blank lines)."""
        if isinstance(self._csv, CsvChunks):
            self.info.notes = list(self._csv.notes)
        elif isinstance(self._csv, CsvBlocks):
            records = _Records(str(self.path), self._csv.headers)
            records.blank, records.header_row = self._csv.blank_before_header + blank_lines_in_blocks, self._csv.header_row
            self.info.notes = records.notes()
        return self.info


# -- XLSX ------------------------------------------------------------------------------------

def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


#: An XLSX is a zip: refuse one that would inflate beyond these before any XML is parsed.
XLSX_MAX_INFLATED_BYTES = 200 * 1024 * 1024
XLSX_MAX_RATIO = 100.0


def _check_zip_bomb(p: Path) -> None:
    import zipfile

    try:
        with zipfile.ZipFile(p) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError):
        return  # openpyxl reports a file that is not a workbook
    inflated = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if inflated > XLSX_MAX_INFLATED_BYTES or (inflated > 10 * 1024 * 1024 and inflated / packed > XLSX_MAX_RATIO):
        raise InputError(
            f"XLSX inflates to {inflated / 1e6:,.0f} MB from {p.stat().st_size / 1e6:,.1f} MB "
            f"(limit {XLSX_MAX_INFLATED_BYTES / 1e6:,.0f} MB, ratio {XLSX_MAX_RATIO:g}): refused as a possible decompression bomb",
            source=str(p), hint="save the sheet as CSV, or split it",
        )


def _read_xlsx(p: Path) -> RawTable:
    try:
        import openpyxl
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise InputError("reading XLSX needs openpyxl", source=str(p), hint="pip install openpyxl") from exc
    from openpyxl.cell.read_only import EmptyCell
    from openpyxl.utils import get_column_letter

    _check_zip_bomb(p)
    wb = _open_workbook(openpyxl, p, data_only=True)
    try:
        ws = wb["facilities"] if "facilities" in wb.sheetnames else wb.worksheets[0]
        ws.reset_dimensions()  # a stale <dimension> (some writers leave one) must not hide the rows past it
        title = ws.title
        headers: list[str] | None = None
        rows: list[tuple[int, list[str]]] = []
        blank_rows: list[int] = []   # rows after the header that read empty (skipped unless they hold formulas)
        problems: dict[int, str] = {}
        # cells present in the file that read empty: a formula saved without its value reads so
        # (data_only gives the saved value, None when there is none); a "str" cell is a formula
        # whose saved value is the empty string, and reads correctly as empty
        empty_cells: list[tuple[int, int]] = []
        for row_no, row in enumerate(ws.iter_rows(), start=1):
            values = [c.value for c in row]
            cells = [_cell_text(v) for v in values]
            blank = not any(c.strip() for c in cells)
            if headers is None:
                if not blank:
                    headers = cells
                    while headers and not headers[-1].strip():
                        headers.pop()
                continue
            empty_cells += [(row_no, i) for i, c in enumerate(row[: len(headers)])
                            if c.value is None and c.data_type != "str" and not isinstance(c, EmptyCell)]
            if blank:
                blank_rows.append(row_no)
                continue
            if any(c.strip() for c in cells[len(headers):]):
                problems[row_no] = f"row has values beyond the {len(headers)} header columns"
            cells = (cells + [""] * len(headers))[: len(headers)]
            rows.append((row_no, cells))
    finally:
        wb.close()
    if headers is None:
        raise InputError("worksheet is empty (no header row)", source=str(p))
    cell_problems: dict[int, list[CellProblem]] = {}
    if empty_cells and _has_formulas(p):
        for (row_no, col), text in _unsaved_formulas(openpyxl, p, title, empty_cells).items():
            cell_problems.setdefault(row_no, []).append(CellProblem(
                col, f"cell {get_column_letter(col + 1)}{row_no} holds a formula ({_short(text)}) with no saved value", text,
                "open and save the file in a spreadsheet program, which saves each formula's value, or paste values over the formulas",
            ))
        # a row of nothing but unsaved formulas read as blank: it is a row all the same
        rows += [(r, [""] * len(headers)) for r in blank_rows if r in cell_problems]
        rows.sort(key=lambda row: row[0])
    return RawTable(str(p), "xlsx", headers, rows, encoding="xlsx", row_problems=problems, cell_problems=cell_problems,
                    notes=[f"sheet {title!r}"])


def _open_workbook(openpyxl: Any, p: Path, *, data_only: bool) -> Any:
    try:
        return openpyxl.load_workbook(p, read_only=True, data_only=data_only)
    except Exception as exc:  # openpyxl raises many types for broken files
        raise InputError(f"cannot open as XLSX: {type(exc).__name__}: {exc}", source=str(p)) from exc


_FORMULA_ELEMENT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s/>]")


def _has_formulas(p: Path) -> bool:
    """Whether the workbook may hold a formula (an ``<f>`` element): a scan of its parts in blocks,
    far cheaper than the second openpyxl pass it spares a workbook without formulas whose blank
    cells exist (formatted) in the file. Every part is scanned, wherever the workbook put its
    sheets: a match elsewhere (a chart's ``<c:f>``) costs only the second pass, never a miss."""
    import zipfile

    with zipfile.ZipFile(p) as z:
        for name in z.namelist():
            tail = b""
            with z.open(name) as fh:
                while block := fh.read(_BLOCK):
                    if _FORMULA_ELEMENT.search(tail + block):
                        return True
                    tail = block[-64:]
    return False


def _unsaved_formulas(openpyxl: Any, p: Path, title: str, cells: list[tuple[int, int]]) -> dict[tuple[int, int], str]:
    """The formula text of those ``cells`` (row, column index) that hold a formula, read a second
    time without ``data_only`` (openpyxl gives either a formula's saved value or its text, not both)."""
    from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

    wanted: dict[int, set[int]] = {}
    for row_no, col in cells:
        wanted.setdefault(row_no, set()).add(col)
    first, last = min(wanted), max(wanted)
    out: dict[tuple[int, int], str] = {}
    wb = _open_workbook(openpyxl, p, data_only=False)
    try:
        ws = wb[title]
        ws.reset_dimensions()
        for row_no, values in enumerate(ws.iter_rows(min_row=first, max_row=last, values_only=True), start=first):
            for col in sorted(wanted.get(row_no, ())):
                v = values[col] if col < len(values) else None
                if isinstance(v, ArrayFormula):
                    out[(row_no, col)] = v.text or "an array formula"
                elif isinstance(v, DataTableFormula):
                    out[(row_no, col)] = "a data table"
                elif isinstance(v, str) and v.startswith("="):
                    out[(row_no, col)] = v
    finally:
        wb.close()
    return out


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- geospatial files ------------------------------------------------------------------------

def _larger(stated: Any, spread: str) -> str:
    """The larger of a stated uncertainty and a geometry's spread, as text."""
    text = "" if stated is None or (isinstance(stated, float) and math.isnan(stated)) else _cell_text(stated)
    if not spread:
        return text
    if not text:
        return spread
    try:
        return repr(max(float(text), float(spread)))
    except ValueError:
        return text  # validation reports the bad stated value


def _frame_to_table(frame: Any, p: Path, fmt: str) -> RawTable:
    import geopandas as gpd
    import shapely

    file_crs = None
    geometry = None
    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns:
        geometry = frame.geometry
        if frame.crs is not None:
            if frame.crs.to_epsg() in (4326, 4490) or frame.crs.to_string() in ("OGC:CRS84",):
                file_crs = "wgs84"
            else:
                geometry = geometry.to_crs(4326)
                file_crs = "wgs84"
        frame = frame.drop(columns=[frame.geometry.name])
    headers = [str(c) for c in frame.columns]
    extra_headers: list[str] = []
    lon_text: list[str] = []
    lat_text: list[str] = []
    spread: list[str] = []
    spread_merged = False  # True once a stated uncertainty column absorbs the geometry's spread
    problems: dict[int, list[CellProblem]] = {}
    if geometry is not None:
        extra_headers = ["lon", "lat", "uncertainty_m"]
        from auditor.geo.measure import geodesic_distance_m

        for i, g in enumerate(geometry):
            if g is None or shapely.is_empty(g):
                lon_text.append("")
                lat_text.append("")
                spread.append("")
                continue
            if g.geom_type != "Point" and not shapely.is_valid(g):
                # a centroid of an invalid shape (a bow-tie's lobes cancel) says nothing reliable:
                # the row is an error, not a repaired guess at what was meant
                problems[i + 1] = [_invalid_geometry(shapely.is_valid_reason(g))]
                lon_text.append("")
                lat_text.append("")
                spread.append("")
                continue
            if g.geom_type == "Point":
                lon_text.append(repr(g.x))
                lat_text.append(repr(g.y))
                spread.append("")
            else:
                # a site drawn as an area: its centroid, uncertain by its farthest vertex
                c = g.centroid
                coords = shapely.get_coordinates(g)
                far = float(geodesic_distance_m(c.x, c.y, coords[:, 0], coords[:, 1]).max())
                lon_text.append(repr(c.x))
                lat_text.append(repr(c.y))
                spread.append(f"{far:.1f}")
        # columns already named lon/lat in the attributes would be ambiguous; a stated
        # uncertainty attribute is merged with the geometry's own spread (the larger wins)
        from auditor.inventory.columns import map_headers

        positions, seen = map_headers(headers)
        if "uncertainty_m" in seen:
            col = next(i for i, c in positions.items() if c == "uncertainty_m")
            name = headers[col]
            frame = frame.assign(**{name: [_larger(s, g) for s, g in zip(frame[name].tolist(), spread)]})
            extra_headers = ["lon", "lat"]
            spread_merged = True
        for canon in ("lon", "lat"):
            if canon in seen:
                raise InputError(
                    f"both a point geometry and a {seen[canon][0]!r} column give the {canon}",
                    source=str(p), hint="drop one of them",
                )
    rows = []
    values = frame.astype(object).where(frame.notna(), None).values.tolist()
    for i, vals in enumerate(values):
        cells = [_cell_text(v) for v in vals]
        if geometry is not None:
            cells += [lon_text[i], lat_text[i]] + ([spread[i]] if not spread_merged else [])
        rows.append((i + 1, cells))
    return RawTable(str(p), fmt, headers + extra_headers, rows, encoding="binary", file_crs=file_crs, cell_problems=problems)


def _invalid_geometry(reason: str) -> CellProblem:
    if reason.startswith(("Self-intersection", "Ring Self-intersection")):
        what = "the polygon crosses itself"
        hint = "redraw the outline so that its edges do not cross (e.g. with QGIS Fix Geometries or shapely.make_valid), or give the site as a point"
    else:
        what = "the geometry is not valid"
        hint = "repair it (e.g. with QGIS Fix Geometries or shapely.make_valid), or give the site as a point"
    return CellProblem(None, f"{what} (shapely.is_valid_reason: {reason})", hint=hint)


def _read_geo(p: Path) -> RawTable:
    try:
        import geopandas as gpd

        frame = gpd.read_file(p)
    except Exception as exc:  # pyogrio/GDAL raise a variety of errors for broken files
        raise InputError(f"cannot read as a geospatial file: {type(exc).__name__}: {exc}", source=str(p)) from exc
    fmt = "geojson" if p.suffix.lower() in (".geojson", ".json") else p.suffix.lower().lstrip(".")
    if len(frame) == 0 and len([c for c in frame.columns if c != getattr(frame, "_geometry_column_name", None)]) == 0:
        # no features and so no attribute columns: say that, not "no facility id column"
        raise InputError("the file has no features (and so no columns)", source=str(p), hint="add one feature per facility, each with an id property")
    table = _frame_to_table(frame, p, fmt)
    if fmt == "geojson" and isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns:
        geoms = frame.geometry
        unread = [i for i, missing in enumerate((geoms.isna() | geoms.is_empty).tolist()) if missing]
        if unread:
            for i, problem in _unread_geojson_geometries(p, unread, len(frame)).items():
                table.cell_problems.setdefault(i + 1, []).append(problem)
    return table


#: the geometry types of RFC 7946
_GEOJSON_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection")


def _unread_geojson_geometries(p: Path, indices: list[int], n_rows: int) -> dict[int, CellProblem]:
    """Why GDAL gave no geometry for the features at ``indices``, when the file states one.

    GDAL reads a geometry it cannot parse (string coordinates, an unknown type) as null,
    silently: the raw JSON is read again to tell those apart from a geometry stated as null
    (or empty), which is no geometry and not an error. Only done when some geometry came out
    null, and only when the file's features line up with the rows GDAL gave.
    """
    try:
        doc = json.loads(p.read_bytes())
    except (ValueError, RecursionError):
        return {}  # GDAL read what Python's json does not (e.g. comments): nothing to add
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        features = doc.get("features")
    elif isinstance(doc, dict) and doc.get("type") == "Feature":
        features = [doc]
    else:
        return {}
    if not isinstance(features, list) or len(features) != n_rows:
        return {}
    out = {}
    for i in indices:
        feature = features[i]
        geom = feature.get("geometry") if isinstance(feature, dict) else None
        problem = None if geom is None else _why_unread(geom)
        if problem is not None:
            out[i] = problem
    return out


def _why_unread(geom: Any) -> CellProblem | None:
    """What keeps a stated GeoJSON geometry from being read; None for an empty one (no geometry)."""
    if not isinstance(geom, dict):
        return CellProblem(None, "the geometry is not a GeoJSON object", _short(_json_text(geom)),
                           'write it as {"type": "Point", "coordinates": [lon, lat]}')
    kind = geom.get("type")
    if not isinstance(kind, str) or kind.lower() not in {t.lower() for t in _GEOJSON_TYPES}:
        named = repr(kind) if isinstance(kind, str) else _json_text(kind)
        return CellProblem(None, f"{_short(named)} is not a GeoJSON geometry type", hint="use one of: " + ", ".join(_GEOJSON_TYPES))
    if kind.lower() == "geometrycollection":
        members = geom.get("geometries")
        if not isinstance(members, list):
            return CellProblem(None, "the GeometryCollection has no list of geometries", hint='give "geometries": [...]')
        return next((x for x in map(_why_unread, members) if x is not None), None)
    coords = geom.get("coordinates")
    if coords is None:
        return CellProblem(None, f"the {kind} has no coordinates", hint="give [lon, lat] positions, or a null geometry")
    leaves: list[Any] = []
    stack = [coords]
    while stack:
        x = stack.pop()
        if isinstance(x, list):
            stack.extend(reversed(x))
        else:
            leaves.append(x)
    bad = next((x for x in leaves if isinstance(x, bool) or not isinstance(x, (int, float))), None)
    if bad is not None:
        return CellProblem(None, "coordinates are not numbers", _short(_json_text(bad)),
                           "write coordinates as JSON numbers, e.g. [121.93, 30.905], not text")
    if not leaves:
        return None  # an empty geometry: stated as having no position, like null
    return CellProblem(None, f"the {kind}'s coordinates are not nested as GeoJSON requires", _short(_json_text(coords)),
                       "a Point is [lon, lat]; a Polygon is a list of closed rings of [lon, lat] positions")


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _read_parquet(p: Path) -> RawTable:
    try:
        import pyarrow.parquet as pq

        meta = pq.read_schema(p).metadata or {}
        if b"geo" in meta:
            import geopandas as gpd

            frame = gpd.read_parquet(p)
            fmt = "geoparquet"
        else:
            import pandas as pd

            frame = pd.read_parquet(p)
            fmt = "parquet"
    except Exception as exc:
        raise InputError(f"cannot read as Parquet: {type(exc).__name__}: {exc}", source=str(p)) from exc
    return _frame_to_table(frame, p, fmt)
