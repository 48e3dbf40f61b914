"""XLSX workbooks: the facilities sheet (or the first), every row whatever the stale <dimension> says,
formulas without a saved value named by their cell, decompression bombs refused before parsing."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.inventory.table import READ_BLOCK, CellProblem, RawTable, cell_text, short_text

__all__ = ["read_xlsx"]


# -- XLSX ------------------------------------------------------------------------------------

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


def read_xlsx(p: Path) -> RawTable:
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
            cells = [cell_text(v) for v in values]
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
                col, f"cell {get_column_letter(col + 1)}{row_no} holds a formula ({short_text(text)}) with no saved value", text,
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
                while block := fh.read(READ_BLOCK):
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
