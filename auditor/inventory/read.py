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
from auditor.inventory.read_csv import CsvBlock, CsvBlocks, CsvChunks, Records, decode_text, read_csv, sniff_encoding
from auditor.inventory.read_geo import read_geo, read_parquet
from auditor.inventory.read_xlsx import read_xlsx
from auditor.inventory.table import FORMATS, CellProblem, RawTable
from auditor.paths import sha256_file

__all__ = ["FORMATS", "CellProblem", "CsvBlock", "CsvChunks", "RawTable", "TableChunks", "decode_text", "read_table"]


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
    reader = {"csv": read_csv, "xlsx": read_xlsx, "geo": read_geo, "parquet": read_parquet}[kind]
    table = reader(p)
    table.sha256 = sha256_file(p)
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
            facts = sniff_encoding(self.path)
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
            records = Records(str(self.path), self._csv.headers)
            records.blank, records.header_row = self._csv.blank_before_header + blank_lines_in_blocks, self._csv.header_row
            self.info.notes = records.notes()
        return self.info
