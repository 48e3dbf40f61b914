"""Readers: any supported file into a :class:`RawTable` of strings, with row numbers.

Formats: CSV/TSV (UTF-8, UTF-8 with BOM, UTF-16 with BOM, GBK/GB18030), XLSX,
GeoJSON, GeoPackage, (Geo)Parquet — one module each (read_csv, read_xlsx, read_geo). Every
value is kept as text here, so that validation sees exactly what the file said (``121.50``
keeps its precision). Geometry columns become ``lon``/``lat`` text. Errors that make the
whole file unusable raise :class:`~auditor.errors.InputError`; per-row trouble is left to
validation: a cell the reader could not give as the file meant it (an XLSX formula with no
saved value, a geometry GDAL could not read or that is not valid) travels as a
:class:`CellProblem` in ``RawTable.cell_problems``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from auditor.errors import InputError
from auditor.inventory.read_csv import CsvBlock, CsvBlocks, CsvChunks, decode_text, lines_up_to, read_csv, sniff_encoding
from auditor.inventory.read_geo import read_geo, read_parquet
from auditor.inventory.read_xlsx import read_xlsx, rows_up_to
from auditor.inventory.reading import InventorySource, Reading, source_and_reading
from auditor.inventory.table import FORMATS, CellProblem, RawTable
from auditor.paths import sha256_file

__all__ = ["FORMATS", "CellProblem", "CsvBlock", "CsvChunks", "InventorySource", "RawTable", "Reading", "TableChunks",
           "decode_text", "more_rows_than", "read_table"]


def read_table(path: Path | str | InventorySource, reading: Reading | None = None) -> RawTable:
    """Read a facility list into text rows; raise InputError when the file is unusable.

    ``reading`` (or the one an :class:`InventorySource` carries) names the sheet, the header row
    and the columns when the guess should not decide; the table's :attr:`RawTable.columns` says
    how its headers were read.
    """
    p, how = source_and_reading(path, reading)
    if not p.is_file():
        raise InputError("file not found", source=str(p))
    kind = FORMATS.get(p.suffix.lower())
    if kind is None:
        raise InputError(
            f"unsupported file type {p.suffix!r}", source=str(p),
            hint="use CSV, XLSX, GeoJSON, GeoPackage or Parquet",
        )
    if how.sheet is not None and kind != "xlsx":
        raise InputError(f"--sheet {how.sheet}: only a workbook (XLSX) has sheets", source=str(p))
    if how.header_row is not None and kind not in ("csv", "xlsx"):
        raise InputError(f"--header-row {how.header_row}: only a CSV file or a workbook has header rows", source=str(p))
    if kind == "csv":
        table = read_csv(p, how)
    elif kind == "xlsx":
        table = read_xlsx(p, how)
    else:
        table = (read_geo if kind == "geo" else read_parquet)(p)
        table.reading = how
    table.column_map()  # a mapping that names no header is refused here, before any row is judged
    table.sha256 = sha256_file(p)
    return table


def more_rows_than(path: Path | str | InventorySource, limit: int, reading: Reading | None = None) -> bool:
    """Whether the facility list holds more than about ``limit`` rows, found without reading it whole:
    a CSV's lines, the chosen sheet's rows, a geospatial file's or Parquet file's feature count
    (title and header rows count; enough to choose between an in-memory and a streamed audit).
    A file that cannot be sized says False: the audit that reads it then names what is wrong."""
    p, how = source_and_reading(path, reading)
    kind = FORMATS.get(p.suffix.lower())
    try:
        if kind == "csv":
            return lines_up_to(p, limit) > limit
        if kind == "xlsx":
            return rows_up_to(p, how, limit) > limit
        if kind == "parquet":
            import pyarrow.parquet as pq

            return int(pq.ParquetFile(p).metadata.num_rows) > limit
        if kind == "geo":
            import pyogrio

            return int(pyogrio.read_info(p, force_feature_count=True).get("features", -1)) > limit
    except Exception:  # noqa: BLE001 - any reader's trouble: the audit's reader reports it properly
        return False
    return False


class TableChunks:
    """A facility list cut into chunks for a streamed audit.

    Iterating gives :class:`RawTable` chunks, or :class:`CsvBlock` s (parsed by whoever judges
    them) for a CSV file whose lines are records. ``info`` describes the whole file (headers, encoding,
    sha256; its ``notes`` are final after :meth:`finish`). CSV is read in bounded memory; other
    formats are read whole (their readers need the whole file) and handed out in slices.
    """

    def __init__(self, path: Path | str | InventorySource, chunk_rows: int = 50_000) -> None:
        self.path, self.reading = source_and_reading(path)
        self.chunk_rows = max(1, int(chunk_rows))
        self._csv: CsvChunks | CsvBlocks | None = None
        self._whole: RawTable | None = None
        if FORMATS.get(self.path.suffix.lower()) == "csv" and self.path.is_file():
            if self.reading.sheet is not None:
                raise InputError(f"--sheet {self.reading.sheet}: only a workbook (XLSX) has sheets", source=str(self.path))
            facts = sniff_encoding(self.path)
            self._csv = (CsvBlocks(self.path, self.chunk_rows, facts, self.reading) if facts.plain_lines
                         else CsvChunks(self.path, self.chunk_rows, facts, self.reading))
            self.info = RawTable(str(self.path), "csv", [], [], encoding=facts.encoding, sha256=sha256_file(self.path),
                                 reading=self.reading)
        else:
            self._whole = read_table(self.path, self.reading)
            w = self._whole
            self.info = RawTable(w.source, w.format, list(w.headers), [], encoding=w.encoding, sha256=w.sha256,
                                 file_crs=w.file_crs, notes=list(w.notes), rows_count=len(w.rows), header_row=w.header_row,
                                 sheet=w.sheet, columns=w.columns, reading=w.reading)

    def __iter__(self) -> Iterator[RawTable | CsvBlock]:
        if self._csv is not None:
            for chunk in self._csv:
                self.info.headers, self.info.header_row, self.info.columns = list(chunk.headers), chunk.header_row, chunk.columns
                yield chunk
            return
        w = self._whole
        assert w is not None
        for i in range(0, max(len(w.rows), 1), self.chunk_rows):
            rows = w.rows[i:i + self.chunk_rows]
            yield RawTable(w.source, w.format, w.headers, rows, encoding=w.encoding, sha256=w.sha256, file_crs=w.file_crs,
                           row_problems={r: w.row_problems[r] for r, _ in rows if r in w.row_problems},
                           cell_problems={r: w.cell_problems[r] for r, _ in rows if r in w.cell_problems},
                           header_row=w.header_row, sheet=w.sheet, columns=w.columns, reading=w.reading)

    def finish(self, blank_lines_in_blocks: int = 0) -> RawTable:
        """Complete ``info.notes`` once every chunk was read (blocks count their own blank lines)."""
        if isinstance(self._csv, CsvChunks):
            self.info.notes = list(self._csv.notes)
        elif isinstance(self._csv, CsvBlocks):
            self.info.notes = self._csv.notes(blank_lines_in_blocks)
        return self.info
