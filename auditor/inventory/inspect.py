"""What a facility list was read as, column by column (``auditor inspect``): pure, over a table and its facilities."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from auditor.inventory.columns import column_letter
from auditor.inventory.table import RawTable, short_text
from auditor.model import Facility

__all__ = ["ColumnReading", "Inspection", "inspect_table"]

#: columns whose values are words read as codes: the samples show "as written → as read"
_WORDS = {"kind": "kind", "tenure": "tenure", "crs": "crs"}
#: errors on these columns make a cell of that column unusable
_ERROR_COLUMNS = {"lon": ("lon",), "lat": ("lat",), "lonlat": ("lonlat", "lon", "lat")}


@dataclass(frozen=True)
class ColumnReading:
    """One column: its letter and header, what it was read as (None: unused, carried as is), why, and its values."""

    letter: str
    header: str
    read_as: str | None
    note: str
    filled: int                    # rows with a value in it
    usable: int | None             # ... whose value was read without an error (None: an unused column)
    samples: tuple[str, ...]


@dataclass(frozen=True)
class Inspection:
    """How a list was read: where its table is, its columns, and how many rows can be audited."""

    source: str
    format: str
    sheet: str | None
    header_row: int | None
    rows: int
    rows_without_errors: int
    columns: tuple[ColumnReading, ...]
    notes: tuple[str, ...]
    problem: str | None = None     # why the list cannot be audited at all (no id column, ...)
    warnings: tuple[tuple[int, str], ...] = ()   # (row, warning) as validation gave them
    errors: tuple[tuple[int, str], ...] = ()     # (row, "column: message") of rows that cannot be audited
    unused: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["warnings"] = [{"row": r, "warning": w} for r, w in self.warnings]
        d["errors"] = [{"row": r, "error": e} for r, e in self.errors]
        return d


def _samples(values: Sequence[str], limit: int = 3) -> tuple[str, ...]:
    out: list[str] = []
    for v in values:
        v = v.strip()
        if v and v not in out:
            out.append(short_text(v, 40))
            if len(out) == limit:
                break
    return tuple(out)


def inspect_table(table: RawTable, facilities: Sequence[Facility] | None, problem: str | None = None) -> Inspection:
    """Say how ``table`` was read; ``facilities`` are its validated rows (None when the list cannot be audited: ``problem`` says why)."""
    cmap = table.column_map()
    by_row = {f.row: f for f in facilities or ()}
    cols: list[ColumnReading] = []
    for i, header in enumerate(cmap.headers):
        values = [cells[i] if i < len(cells) else "" for _, cells in table.rows]
        filled = [(row, v) for (row, _), v in zip(table.rows, values) if v.strip()]
        canon = cmap.read.get(i)
        note = cmap.passed_over.get(i, "")
        if canon is None:
            cols.append(ColumnReading(column_letter(i), str(header).strip(), None, note, len(filled), None, _samples(values)))
            continue
        bad_columns = _ERROR_COLUMNS.get(canon, (canon,))
        usable = sum(1 for row, _ in filled if row in by_row and not any(e.column in bad_columns for e in by_row[row].errors)) if facilities is not None else None
        if canon in _WORDS and facilities is not None:
            pairs: Counter[tuple[str, str]] = Counter()
            for row, v in filled:
                f = by_row.get(row)
                if f is not None:
                    pairs[(v.strip(), str(getattr(f, _WORDS[canon]) or "?"))] += 1
            samples = tuple(f"{raw} → {read} ({n})" if raw != read else f"{raw} ({n})" for (raw, read), n in pairs.most_common(6))
        else:
            samples = _samples(values)
        if cmap.given and canon in cmap.given:
            note = (note + "; " if note else "") + f"named by {table.reading.origin}"
        cols.append(ColumnReading(column_letter(i), str(header).strip(), canon, note, len(filled), usable, samples))
    warnings = tuple((f.row, w) for f in facilities or () for w in f.warnings)
    errors = tuple((f.row, f"{e.column or 'row'}: {e.message}" + (f" ({short_text(e.value, 40)!r})" if e.value else ""))
                   for f in facilities or () for e in f.errors)
    return Inspection(
        source=table.source, format=table.format, sheet=table.sheet,
        header_row=table.header_row if table.format in ("csv", "xlsx") else None,
        rows=len(table.rows), rows_without_errors=sum(1 for f in facilities or () if not f.errors),
        columns=tuple(cols), notes=tuple(table.notes) + tuple(cmap.notes()), problem=problem, warnings=warnings, errors=errors,
        unused=tuple(cmap.unused_names()),
    )
