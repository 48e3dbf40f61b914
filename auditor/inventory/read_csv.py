"""CSV and TSV facility lists: the encoding read from the first bytes (UTF-8, UTF-8/UTF-16 with BOM,
GBK/GB18030), the delimiter sniffed, unclosed quotes refused, and big files read in chunks or
split at line ends for parallel parsing."""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.inventory.columns import ColumnMap, resolve_columns
from auditor.inventory.find import Header, pick_header, rows_needed
from auditor.inventory.reading import Reading
from auditor.inventory.table import READ_BLOCK, RawTable

__all__ = ["CsvBlock", "CsvBlocks", "CsvChunks", "Records", "column_map_for", "decode_text", "read_csv", "sniff_encoding"]


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




@dataclass(frozen=True)
class _TextFacts:
    encoding: str
    plain_lines: bool  # no quote character and no lone CR: every physical line is one record


def sniff_encoding(p: Path) -> _TextFacts:
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
            carry = ""  # a CR that ends a block is judged with the next block's first character
            with p.open("rb") as fh:
                while block := fh.read(READ_BLOCK):
                    text = carry + decoder.decode(block)
                    carry = "\r" if text.endswith("\r") else ""
                    text = text[:-1] if carry else text
                    if "\x00" in text:
                        raise InputError("file contains NUL bytes; it is not a text CSV", source=str(p))
                    plain = plain and '"' not in text and text.count("\r") == text.count("\r\n")
                rest = carry + decoder.decode(b"", final=True)
                plain = plain and '"' not in rest and rest.count("\r") == rest.count("\r\n")
            return _TextFacts(enc, plain)
        except UnicodeDecodeError:
            continue
    decode_text(p.read_bytes(), str(p))  # raises with the exact offset and line
    raise AssertionError("unreachable")  # pragma: no cover


#: a line of nothing but delimiters and spaces: a spreadsheet's export keeps its formatted empty rows so
_BLANK_LINE = re.compile(rb"^[ \t\r,;|]*\n", re.MULTILINE)
_SPACES = b" \t\r,;|"


def lines_up_to(p: Path, limit: int) -> int:
    """The file's lines that hold more than delimiters and spaces, counted no further than ``limit + 1``
    (a quoted cell's line breaks count too: an estimate of its rows, for deciding how to audit it).
    Reads in blocks; only UTF-16, whose other characters may hold a 0x0A byte, is decoded (and
    counted as UTF-8). A file whose first block has no line feed but carriage returns has its lines
    ended by CR alone."""
    import codecs

    count, carry = 0, b""
    with p.open("rb") as fh:
        block = fh.read(READ_BLOCK)
        decoder = codecs.getincrementaldecoder("utf-16")(errors="replace") if block.startswith((b"\xff\xfe", b"\xfe\xff")) else None
        old_mac = block.find(b"\n") < 0 < block.find(b"\r")  # lines ended by CR alone: counted as if by LF
        while block:
            text = carry + (decoder.decode(block).encode("utf-8") if decoder else block)
            if old_mac:
                text = text.replace(b"\r", b"\n")
            cut = text.rfind(b"\n") + 1  # whole lines now; the last, partial one goes on with the next block,
            whole, rest = text[:cut], text[cut:]
            carry = b"x" if rest.strip(_SPACES) else b""  # as one character that says whether it holds anything
            count += whole.count(b"\n") - len(_BLANK_LINE.findall(whole))
            if count > limit:
                return count
            block = fh.read(READ_BLOCK)
    return count + (1 if carry else 0)  # a last line without its line end


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


class Records:
    """The file's rules for CSV records: blank records are skipped and counted, the header is found
    among the first records (:func:`~auditor.inventory.find.pick_header`: titles and notes above it
    are skipped and reported) unless it is known, and rows are padded or cut to the header's width
    (a cut that drops text is a row problem)."""

    def __init__(self, source: str, headers: list[str] | None = None, reading: Reading | None = None) -> None:
        self.source = source
        self.headers = headers
        self.reading = reading or Reading()
        self.header_row = 1
        self.header: Header | None = None
        self.blank = 0
        self.problems: dict[int, str] = {}

    def rows(self, reader: Any, first_line: int) -> Iterator[tuple[int, list[str]]]:
        """(row number, values) of the records ``reader`` gives, its first line being ``first_line``."""
        start = first_line
        pending: list[tuple[int, list[str]]] = []  # records read while the header is not settled
        try:
            for record in reader:
                row_no = start
                start = first_line + reader.line_num
                if not any(cell.strip() for cell in record):
                    self.blank += 1
                    continue
                if self.headers is None:
                    pending.append((row_no, record))
                    if self._ready(pending):
                        yield from self._settle(pending, complete=False)
                        pending = []
                    continue
                yield self._fit(row_no, record)
        except csv.Error as exc:
            raise InputError(f"malformed CSV near line {first_line - 1 + reader.line_num}: {exc}", source=self.source) from exc
        if self.headers is None and (pending or self.reading.header_row is not None):
            yield from self._settle(pending, complete=True)

    def _ready(self, pending: list[tuple[int, list[str]]]) -> bool:
        given = self.reading.header_row
        return pending[-1][0] > given if given is not None else len(pending) >= rows_needed(None)

    def _settle(self, pending: list[tuple[int, list[str]]], *, complete: bool) -> Iterator[tuple[int, list[str]]]:
        header = pick_header(pending, header_row=self.reading.header_row, given=self.reading.given_headers,
                             complete=complete, source=self.source)
        if header is None:
            return
        self.header, self.headers, self.header_row = header, header.cells, header.row
        for row_no, record in pending[header.consumed:]:
            yield self._fit(row_no, record)

    def _fit(self, row_no: int, record: list[str]) -> tuple[int, list[str]]:
        assert self.headers is not None
        width = len(self.headers)
        if len(record) > width:
            if any(c.strip() for c in record[width:]):
                self.problems[row_no] = f"row has {len(record)} fields but the header has {width}"
            record = record[:width]
        elif len(record) < width:
            record = record + [""] * (width - len(record))
        return row_no, record

    def notes(self) -> list[str]:
        out = []
        if self.blank:
            out.append(f"{self.blank} blank line(s) ignored")
        if self.header_row != 1:
            out.append(f"header found on line {self.header_row}")
        if self.header is not None:
            out += self.header.notes()
        return out

    def take_problems(self) -> dict[int, str]:
        taken, self.problems = self.problems, {}
        return taken


class CsvChunks:
    """A CSV file read as a sequence of :class:`RawTable` chunks of at most ``chunk_rows`` rows.

    Whole-file checks (encoding, NUL bytes, an unclosed quote) run before the first chunk, in
    bounded memory; row numbers are the file's physical line numbers, as in :func:`read_table`.
    After iteration, :attr:`notes` holds the notes for the whole file (blank lines, header line,
    rows above the header).
    """

    def __init__(self, path: Path | str, chunk_rows: int = 50_000, facts: _TextFacts | None = None, reading: Reading | None = None) -> None:
        self.path = Path(path)
        self.chunk_rows = max(1, int(chunk_rows))
        self.reading = reading or Reading()
        self.facts = facts or sniff_encoding(self.path)
        self.encoding = self.facts.encoding
        self.delimiter = _delimiter(self.path, self.encoding)
        _check_quotes_closed(self.path, self.encoding, self.delimiter)
        self.headers: list[str] | None = None
        self.header_row = 1
        self.columns: ColumnMap | None = None
        self.notes: list[str] = []
        self.rows_read = 0

    def __iter__(self) -> Iterator[RawTable]:
        records = Records(str(self.path), reading=self.reading)
        with _open_text(self.path, self.encoding) as fh:
            rows: list[tuple[int, list[str]]] = []
            for row in records.rows(csv.reader(fh, delimiter=self.delimiter), 1):
                rows.append(row)
                if len(rows) >= self.chunk_rows:
                    self._settled(records)
                    yield self._chunk(rows, records.take_problems())
                    rows = []
        if records.headers is None:
            raise InputError("file is empty (no header row)", source=str(self.path))
        self._settled(records)
        self.notes.extend(records.notes())
        if rows or not self.rows_read:
            yield self._chunk(rows, records.take_problems())

    def _settled(self, records: Records) -> None:
        if self.columns is None:
            assert records.headers is not None
            self.headers, self.header_row = records.headers, records.header_row
            self.columns = column_map_for(str(self.path), self.headers, self.header_row, self.reading)

    def _chunk(self, rows: list[tuple[int, list[str]]], problems: dict[int, str]) -> RawTable:
        self.rows_read += len(rows)
        assert self.headers is not None
        return RawTable(str(self.path), "csv", self.headers, rows, encoding=self.encoding, row_problems=problems,
                        header_row=self.header_row, columns=self.columns, reading=self.reading)


def column_map_for(source: str, headers: list[str], header_row: int, reading: Reading) -> ColumnMap:
    """How ``headers`` are read under ``reading`` (raises InventoryError for a mapping that names no header)."""
    return resolve_columns(headers, reading.columns, source=source, header_row=header_row, origin=reading.origin)


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
    header_row: int = 1
    columns: ColumnMap | None = None
    reading: Reading = Reading()

    def table(self) -> tuple[RawTable, int]:
        """The block's rows (numbered by file line) and how many blank lines it held."""
        split = self._split()
        if split is not None:
            rows, blank, problems = split[0], split[1], {}
        else:
            text = self.data.decode("utf-8" if self.encoding == "utf-8-sig" else self.encoding)
            records = Records(self.source, self.headers)
            rows = list(records.rows(csv.reader(io.StringIO(text, newline=""), delimiter=self.delimiter), self.first_line))
            blank, problems = records.blank, records.take_problems()
        table = RawTable(self.source, "csv", self.headers, rows, encoding=self.encoding, row_problems=problems,
                         header_row=self.header_row, columns=self.columns, reading=self.reading)
        return table, blank

    def split_columns(self) -> tuple[list[int], list[list[str]]] | None:
        """(row numbers, one list of cells per header) when every line holds a record of the header's
        width and none is blank — what :meth:`table` reads, a column at a time; else None."""
        lines = self._lines()
        if not lines:
            return None
        delimiter, width = self.delimiter, len(self.headers)
        if set(map(str.count, lines, itertools.repeat(delimiter))) != {width - 1}:
            return None
        cells = delimiter.join(lines).split(delimiter)
        columns = [cells[k::width] for k in range(width)]
        # a blank line has a blank first cell: only when some first cell is blank are the lines looked at
        if not all(map(str.strip, columns[0])) and not all(line.replace(delimiter, "").strip() for line in lines):
            return None
        return list(range(self.first_line, self.first_line + len(lines))), columns

    def _split(self) -> tuple[list[tuple[int, list[str]]], int] | None:
        """The records the csv module would read, by splitting lines at the delimiter: a block has no
        quotes, so that is all it does when :meth:`_lines` can split it and every line that is not
        blank is as wide as the header (else None: the csv module reads it, and says what is wrong)."""
        lines = self._lines()
        if lines is None:
            return None
        width, delimiter = len(self.headers), self.delimiter
        rows: list[tuple[int, list[str]]] = []
        blank = 0
        for row_no, line in enumerate(lines, self.first_line):
            fields = line.split(delimiter)
            if not line.replace(delimiter, "").strip():
                blank += 1
            elif len(fields) != width:
                return None
            else:
                rows.append((row_no, fields))
        return rows, blank

    def _lines(self) -> list[str] | None:
        """The block's lines without their ends, or None when it holds a NUL or a lone carriage return
        (which the csv module reads otherwise than a line split does)."""
        text = self.data.decode("utf-8" if self.encoding == "utf-8-sig" else self.encoding)
        if "\x00" in text:
            return None
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            return None
        return text.removesuffix("\n").split("\n") if text else []


class CsvBlocks:
    """A quote-free CSV file as :class:`CsvBlock` s of ``chunk_rows`` lines; see :class:`CsvChunks` for the rest.

    After iteration, :attr:`blank_before_header`, :attr:`header_row` and :attr:`header` give what the
    notes need (the blocks count their own blank lines).
    """

    def __init__(self, path: Path, chunk_rows: int, facts: _TextFacts, reading: Reading | None = None) -> None:
        self.path, self.chunk_rows, self.encoding = path, max(1, int(chunk_rows)), facts.encoding
        self.reading = reading or Reading()
        self.delimiter = _delimiter(path, self.encoding)
        self.headers: list[str] | None = None
        self.header_row = 1
        self.header: Header | None = None
        self.columns: ColumnMap | None = None
        self.blank_before_header = 0

    def __iter__(self) -> Iterator[CsvBlock]:
        with self.path.open("rb") as fh:
            line_no = 0
            lines: list[tuple[int, bytes]] = []         # every line read while the header is not settled
            leading: list[tuple[int, list[str]]] = []  # ... and the records among them that are not blank
            records = Records(str(self.path), reading=self.reading)
            complete = True
            for raw in fh:  # up to the header: see Records for the rule
                line_no += 1
                lines.append((line_no, raw))
                text = raw.decode(self.encoding).removeprefix("\ufeff") if line_no == 1 else raw.decode(self.encoding)
                try:
                    record = next(csv.reader([text.rstrip("\r\n")], delimiter=self.delimiter), [])
                except csv.Error as exc:
                    raise InputError(f"malformed CSV near line {line_no}: {exc}", source=str(self.path)) from exc
                if any(cell.strip() for cell in record):
                    leading.append((line_no, record))
                    if records._ready(leading):
                        complete = False
                        break
            header = pick_header(leading, header_row=self.reading.header_row, given=self.reading.given_headers,
                                 complete=complete, source=str(self.path))
            if header is None:
                raise InputError("file is empty (no header row)", source=str(self.path))
            self.header, self.headers, self.header_row = header, header.cells, header.row
            last_header_line = header.sub_row or header.row
            self.blank_before_header = sum(1 for n, raw in lines if n < header.row and not _has_text(raw, self.encoding, self.delimiter))
            self.columns = column_map_for(str(self.path), self.headers, self.header_row, self.reading)
            pending = [raw for n, raw in lines if n > last_header_line]  # lines read past the header while looking for it
            first = last_header_line + 1
            sent = False
            while True:
                if len(pending) < self.chunk_rows:
                    pending += itertools.islice(fh, self.chunk_rows - len(pending))
                block, pending = pending[: self.chunk_rows], pending[self.chunk_rows:]
                if not block:
                    break
                yield CsvBlock(str(self.path), self.encoding, self.delimiter, self.headers, first, b"".join(block),
                               self.header_row, self.columns, self.reading)
                first += len(block)
                sent = True
            if not sent:
                yield CsvBlock(str(self.path), self.encoding, self.delimiter, self.headers, first, b"",
                               self.header_row, self.columns, self.reading)

    def notes(self, blank_lines_in_blocks: int) -> list[str]:
        """The notes for the whole file once every block was read (the blocks count their own blank lines)."""
        records = Records(str(self.path), self.headers)
        records.blank, records.header_row, records.header = self.blank_before_header + blank_lines_in_blocks, self.header_row, self.header
        return records.notes()


def _has_text(raw: bytes, encoding: str, delimiter: str) -> bool:
    text = raw.decode(encoding).removeprefix("\ufeff")
    try:
        return any(cell.strip() for cell in next(csv.reader([text.rstrip("\r\n")], delimiter=delimiter), []))
    except csv.Error:
        return True  # only lines before the header are asked, and those were parsed already


def read_csv(p: Path, reading: Reading | None = None) -> RawTable:
    chunks = CsvChunks(p, chunk_rows=1 << 62, reading=reading)
    (table,) = list(chunks)  # a chunk this large holds every row
    table.notes = list(chunks.notes)
    return table
