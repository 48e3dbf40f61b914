"""Finding the table in a sheet or CSV file: the header row, the rows above it, a second header row.

Filing templates put a title (often merged across the table), a 填报单位 / 填报日期 line or notes
above the header. The header is the first row in which at least :data:`MIN_KNOWN` cells name
known columns (or the headers of the caller's mapping); the rows above it are skipped and
reported. When no row among the first :data:`SCAN_ROWS` qualifies, the first row that is not
blank is the header, as before, so that the error about missing columns lists what it holds.
A header whose cells span two rows (位置 over 经度 | 纬度, 节点编号 merged down over both) is
read as one: the second row counts as part of the header when the first names columns itself,
each of the second's filled cells sits under a cell that names no column (or under 经纬度), and
at least two of them name columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from auditor.errors import InputError
from auditor.inventory.columns import known_columns, lookup_header, normalise_header
from auditor.inventory.table import short_text

__all__ = ["MIN_KNOWN", "SCAN_ROWS", "Header", "pick_header", "rows_needed"]

MIN_KNOWN = 2
SCAN_ROWS = 30

Row = tuple[int, list[str]]


@dataclass
class Header:
    """The header a reader settled on."""

    row: int                                  # its row (CSV line, sheet row), 1-based
    cells: list[str]                          # the header cells (two header rows merged into one)
    consumed: int                             # leading rows used up: those skipped, the header, a second header row
    sub_row: int | None = None                # the second header row, if any
    skipped: list[Row] = field(default_factory=list)   # rows above the header
    found: bool = True                        # False: no row named enough columns; the first row was taken

    def notes(self) -> list[str]:
        out = []
        if self.skipped:
            shown = "; ".join(f"row {r} {short_text(' | '.join(c.strip() for c in cells if c.strip()), 60)!r}" for r, cells in self.skipped[:5])
            more = f"; … {len(self.skipped) - 5} more" if len(self.skipped) > 5 else ""
            out.append(f"{len(self.skipped)} row(s) above the header skipped (titles, notes): {shown}{more}")
        if self.sub_row is not None:
            out.append(f"header in two rows ({self.row} and {self.sub_row}), read as one")
        return out


def rows_needed(header_row: int | None) -> int:
    """How many leading non-blank rows :func:`pick_header` may look at (a bound for streaming readers)."""
    return SCAN_ROWS + 1 if header_row is None else 10**9


def _is_sub_header(top: Sequence[str], sub: Sequence[str], given: frozenset[str]) -> bool:
    if known_columns(top, given) < MIN_KNOWN:
        return False  # the row above is no header itself (a title, or a wrong --header-row)
    filled = [i for i, c in enumerate(sub) if c.strip()]
    naming = 0
    for i in filled:
        above = top[i] if i < len(top) else ""
        hit = lookup_header(above) if above.strip() else None
        if above.strip() and normalise_header(above) in given:
            return False
        if hit is not None and hit[0] != "lonlat":
            return False  # a cell under a real header is data, not a sub-header
        if lookup_header(sub[i]) is not None or normalise_header(sub[i]) in given:
            naming += 1
    return naming >= MIN_KNOWN


def pick_header(leading: Sequence[Row], *, header_row: int | None, given: frozenset[str] = frozenset(),
                complete: bool, source: str) -> Header | None:
    """Settle on the header among ``leading`` (the first rows that are not blank, in order).

    ``complete`` says that ``leading`` holds every non-blank row of the table (the file or
    sheet ended). Returns None when there is no row at all. Raises InputError when the given
    ``header_row`` is blank or beyond the end.
    """
    if not leading:
        if header_row is not None:
            raise InputError(f"--header-row {header_row}: the table has no rows", source=source)
        return None
    if header_row is not None:
        k = next((j for j, (r, _) in enumerate(leading) if r == header_row), None)
        if k is None:
            beyond = all(r < header_row for r, _ in leading)
            raise InputError(
                f"--header-row {header_row}: " + ("that row is beyond the end of the table" if beyond and complete else "that row is blank"),
                source=source, hint="give the row that holds the column names (as the spreadsheet numbers rows)",
            )
        found = True
    else:
        window = leading[:SCAN_ROWS]
        k = next((j for j, (_, cells) in enumerate(window) if known_columns(cells, given) >= MIN_KNOWN), None)
        found = k is not None
        k = k or 0
    row, cells = leading[k]
    cells = list(cells)
    consumed = k + 1
    sub_row = None
    if k + 1 < len(leading):
        nxt_row, nxt = leading[k + 1]
        if nxt_row == row + 1 and _is_sub_header(cells, nxt, given):
            width = max(len(cells), len(nxt))
            cells = [(nxt[i] if i < len(nxt) and nxt[i].strip() else (cells[i] if i < len(cells) else "")) for i in range(width)]
            sub_row, consumed = nxt_row, k + 2
    return Header(row, cells, consumed, sub_row, [(r, list(c)) for r, c in leading[:k]], found)
