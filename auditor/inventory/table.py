"""The raw table every reader gives: rows of text as the file holds them, with row numbers, and the
cells a reader could not give as the file meant them (:class:`CellProblem`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from auditor.inventory.reading import Reading

if TYPE_CHECKING:
    from auditor.inventory.columns import ColumnMap

__all__ = ["FORMATS", "READ_BLOCK", "CellProblem", "RawTable", "cell_text", "short_text"]

READ_BLOCK = 1 << 20  # bytes per read when a file is streamed


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
    header_row: int = 1                  # the row (CSV line, sheet row) that holds the header
    sheet: str | None = None             # the workbook sheet read
    columns: ColumnMap | None = None     # how the headers were read (None: not resolved yet)
    reading: Reading = field(default_factory=Reading)

    def column_map(self) -> ColumnMap:
        """How the headers are read: the caller's mapping first, then the aliases by rank (resolved once)."""
        if self.columns is None:
            from auditor.inventory.columns import resolve_columns

            self.columns = resolve_columns(self.headers, self.reading.columns, source=self.source,
                                           header_row=self.header_row, origin=self.reading.origin)
        return self.columns


def cell_text(value: Any) -> str:
    """A cell value as the text a person reads in the file (integral floats without .0, dates in ISO form)."""
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


def short_text(text: str, limit: int = 80) -> str:
    """``text`` cut to ``limit`` characters for a message, with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
