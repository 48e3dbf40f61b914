"""XLSX workbooks: the sheet that holds the table (instructions sheets passed over), its header found below
title rows, every row whatever the stale <dimension> says, cells merged down a column read on each row,
formulas without a saved value named by their cell, decompression bombs refused before parsing."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.inventory.find import Header, pick_header, rows_needed
from auditor.inventory.reading import Reading
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


#: sheet names that say "instructions" or "example": read only when no other sheet holds a table
_NOT_DATA_WORDS = ("说明", "填表", "填报要求", "注意事项", "示例", "样例", "范例", "字典", "下拉", "readme", "instruction", "example", "sample")


def _looks_like_instructions(title: str) -> bool:
    t = title.strip().lower()
    return any(w in t for w in _NOT_DATA_WORDS)


def _leading_rows(ws: Any, header_row: int | None) -> tuple[list[tuple[int, list[str]]], bool]:
    """The first rows of ``ws`` that are not blank (as many as :func:`pick_header` may need), and whether the sheet ended."""
    ws.reset_dimensions()  # a stale <dimension> (some writers leave one) must not hide the rows past it
    need = rows_needed(header_row)
    out: list[tuple[int, list[str]]] = []
    for row_no, values in enumerate(ws.iter_rows(values_only=True), start=1):
        cells = [cell_text(v) for v in values]
        if any(c.strip() for c in cells):
            out.append((row_no, cells))
            if (header_row is not None and row_no > header_row) or (header_row is None and len(out) >= need):
                return out, False
    return out, True


def _named_sheet(wb: Any, want: str | int, p: Path) -> Any:
    names = list(wb.sheetnames)
    found = _sheet_named(names, len(wb.worksheets), want)
    if isinstance(found, str):
        return wb[found]
    if found is not None:
        return wb.worksheets[found - 1]
    if isinstance(want, str) and not want.strip().isdigit():
        raise InputError(f"--sheet {want!r}: no such sheet; the workbook has {', '.join(repr(n) for n in names)}", source=str(p),
                         hint="give a sheet's name, or its position (1 is the first)")
    raise InputError(f"--sheet {int(want)}: the workbook has {len(wb.worksheets)} sheet(s): {', '.join(repr(n) for n in names)}",
                     source=str(p), hint="give a sheet's name, or its position (1 is the first)")


def _sheet_named(names: list[str], count: int, want: str | int) -> str | int | None:
    """The sheet ``want`` names: one of ``names`` (exactly, else ignoring case and surrounding spaces),
    or digits or an int giving a 1-based position among ``count`` worksheets; None when it names none."""
    if isinstance(want, str):
        if want in names:
            return want
        folded = {n.strip().casefold(): n for n in names}
        if want.strip().casefold() in folded:
            return folded[want.strip().casefold()]
        if not want.strip().isdigit():
            return None
        want = int(want.strip())
    return want if 1 <= want <= count else None


def _choose_sheet(wb: Any, reading: Reading, p: Path) -> tuple[Any, Header, bool, list[str]]:
    """The sheet to read, its header, whether its leading rows were the whole sheet, and notes on the others."""
    given = reading.given_headers
    if reading.sheet is not None:
        ws = _named_sheet(wb, reading.sheet, p)
        leading, complete = _leading_rows(ws, reading.header_row)
        header = pick_header(leading, header_row=reading.header_row, given=given, complete=complete, source=f"{p}, sheet {ws.title!r}")
        if header is None:
            raise InputError(f"sheet {ws.title!r} is empty (no header row)", source=str(p))
        return ws, header, complete, []
    if "facilities" in wb.sheetnames:
        ws = wb["facilities"]
        leading, complete = _leading_rows(ws, reading.header_row)
        header = pick_header(leading, header_row=reading.header_row, given=given, complete=complete, source=str(p))
        if header is None:
            raise InputError("worksheet is empty (no header row)", source=str(p))
        return ws, header, complete, []
    scanned: list[tuple[Any, Header | None, bool, str]] = []  # sheet, header, complete, why it is second choice
    for ws in wb.worksheets:
        leading, complete = _leading_rows(ws, reading.header_row)
        header = pick_header(leading, header_row=None, given=given, complete=complete, source=str(p)) if leading else None
        why = "hidden" if getattr(ws, "sheet_state", "visible") != "visible" else "its name says instructions or an example" if _looks_like_instructions(ws.title) else ""
        scanned.append((ws, header, complete, why))
    tables = [s for s in scanned if s[1] is not None and s[1].found]
    chosen = next((s for s in tables if not s[3]), None) or (tables[0] if tables else None)
    if chosen is None:  # no sheet names enough columns: the first sheet with rows, its first row as the header (errors list it)
        chosen = next((s for s in scanned if s[1] is not None and not s[3]), None) or next((s for s in scanned if s[1] is not None), None)
        if chosen is None:
            raise InputError("worksheet is empty (no header row)", source=str(p))
    ws, header, complete, _ = chosen
    assert header is not None
    if reading.header_row is not None:  # the header row was given: find it in the chosen sheet
        leading, complete = _leading_rows(ws, reading.header_row)
        header = pick_header(leading, header_row=reading.header_row, given=given, complete=complete, source=f"{p}, sheet {ws.title!r}")
        assert header is not None
    notes = []
    at = next(i for i, s in enumerate(scanned) if s[0] is ws)
    for i, (other, h, _, why) in enumerate(scanned):
        if other is ws:
            continue
        if h is not None and h.found and not why:
            notes.append(f"sheet {other.title!r} also holds a table (header on row {h.row}) and was not read: audit it with --sheet {other.title!r}")
        elif i < at:
            reason = why or ("empty" if h is None else "no row names two known columns")
            notes.append(f"sheet {other.title!r} skipped: {reason}")
    return ws, header, complete, notes


_MERGE_REF = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?mergeCell\b[^>]*\bref="([A-Z]+)(\d+):([A-Z]+)(\d+)"')


def _vertical_merges(wb: Any, ws: Any, below: int) -> list[tuple[int, int, int]]:
    """Merged ranges one column wide that span rows below row ``below``: (column index, first row, last row).

    openpyxl's read-only mode does not give merged cells, so the sheet's XML is scanned for them
    (in blocks, like :func:`_has_formulas`); a workbook whose parts cannot be found this way gives none.
    """
    from openpyxl.utils import column_index_from_string

    archive, part = getattr(wb, "_archive", None), getattr(ws, "_worksheet_path", None)
    if archive is None or not part:
        return []
    out = []
    with archive.open(part) as fh:
        tail = b""
        while block := fh.read(READ_BLOCK):
            data = tail + block
            cut = data.rfind(b"<")
            scan, tail = (data[:cut], data[cut:]) if cut > 0 else (data, b"")
            for m in _MERGE_REF.finditer(scan):
                c1, r1, c2, r2 = m.group(1).decode(), int(m.group(2)), m.group(3).decode(), int(m.group(4))
                if c1 == c2 and r2 > r1 and r1 > below:
                    out.append((column_index_from_string(c1) - 1, r1, r2))
        for m in _MERGE_REF.finditer(tail):
            c1, r1, c2, r2 = m.group(1).decode(), int(m.group(2)), m.group(3).decode(), int(m.group(4))
            if c1 == c2 and r2 > r1 and r1 > below:
                out.append((column_index_from_string(c1) - 1, r1, r2))
    return sorted(out, key=lambda m: (m[1], m[0]))


def read_xlsx(p: Path, reading: Reading | None = None) -> RawTable:
    """Read a workbook: the sheet given, else one named ``facilities``, else the first that holds a table
    (instructions, examples and hidden sheets are passed over and reported); its header found as
    :mod:`auditor.inventory.find` says; cells merged down a column read as their top cell on each row."""
    try:
        import openpyxl
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise InputError("reading XLSX needs openpyxl", source=str(p), hint="pip install openpyxl") from exc
    from openpyxl.cell.read_only import EmptyCell
    from openpyxl.utils import get_column_letter

    reading = reading or Reading()
    _check_zip_bomb(p)
    wb = _open_workbook(openpyxl, p, data_only=True)
    try:
        ws, header, _, sheet_notes = _choose_sheet(wb, reading, p)
        title = ws.title
        headers = list(header.cells)
        while headers and not headers[-1].strip():
            headers.pop()
        last_header_row = header.sub_row or header.row
        merges = _vertical_merges(wb, ws, last_header_row)
        merge_at: dict[int, list[tuple[int, int, int]]] = {}
        for col, r1, r2 in merges:
            if col < len(headers):
                merge_at.setdefault(r1, []).append((col, r1, r2))
        open_merges: list[tuple[int, int, str]] = []   # (column, last row, top cell's text)
        merged_used: list[str] = []
        rows: list[tuple[int, list[str]]] = []
        blank_rows: list[int] = []   # rows after the header that read empty (skipped unless they hold formulas)
        problems: dict[int, str] = {}
        # cells present in the file that read empty: a formula saved without its value reads so
        # (data_only gives the saved value, None when there is none); a "str" cell is a formula
        # whose saved value is the empty string, and reads correctly as empty
        empty_cells: list[tuple[int, int]] = []
        ws.reset_dimensions()
        for row_no, row in enumerate(ws.iter_rows(min_row=last_header_row + 1), start=last_header_row + 1):
            values = [c.value for c in row]
            cells = [cell_text(v) for v in values]
            if open_merges:
                open_merges = [m for m in open_merges if m[1] >= row_no]
                for col, _, text in open_merges:
                    while len(cells) <= col:
                        cells.append("")
                    if not cells[col].strip():
                        cells[col] = text
            for col, r1, r2 in merge_at.get(row_no, ()):
                top = cells[col] if col < len(cells) else ""
                if top.strip():
                    open_merges.append((col, r2, top))
                    merged_used.append(f"{get_column_letter(col + 1)}{r1}:{get_column_letter(col + 1)}{r2}")
            blank = not any(c.strip() for c in cells)
            empty_cells += [(row_no, i) for i, c in enumerate(row[: len(headers)])
                            if c.value is None and c.data_type != "str" and not isinstance(c, EmptyCell)
                            and not (i < len(cells) and cells[i].strip())]
            if blank:
                blank_rows.append(row_no)
                continue
            if any(c.strip() for c in cells[len(headers):]):
                problems[row_no] = f"row has values beyond the {len(headers)} header columns"
            cells = (cells + [""] * len(headers))[: len(headers)]
            rows.append((row_no, cells))
    finally:
        wb.close()
    if not headers:
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
    notes = [f"sheet {title!r}", *sheet_notes]
    if header.row != 1:
        notes.append(f"header found on row {header.row}")
    notes += header.notes()
    if merged_used:
        notes.append(f"{len(merged_used)} range(s) of cells merged down a column read as their top cell on each row: "
                     + ", ".join(merged_used[:10]) + (" …" if len(merged_used) > 10 else ""))
    table = RawTable(str(p), "xlsx", headers, rows, encoding="xlsx", row_problems=problems, cell_problems=cell_problems,
                     notes=notes, header_row=header.row, sheet=title, reading=reading)
    table.column_map()
    return table


def rows_up_to(p: Path, reading: Reading | None, limit: int) -> int:
    """The rows that hold a value (title and header rows included; a template's formatted empty rows
    not) in the sheet named by ``reading``, else in the largest of the sheets :func:`read_xlsx` would
    choose from first (visible, not instructions), counted no further than ``limit + 1``: an estimate
    of the list's size, for deciding how to audit it. The sheets' XML is scanned as bytes: openpyxl
    took 15 s to count 60,000 rows of a workbook saved without a <dimension>."""
    import zipfile

    _check_zip_bomb(p)
    with zipfile.ZipFile(p) as z:
        sheets = _sheet_parts(z)
        want = (reading or Reading()).sheet
        if want is not None:  # as read_xlsx finds it; a sheet it names none of is refused there
            found = _sheet_named([name for name, _, _ in sheets], len(sheets), want)
            parts = [sheets[found - 1][1]] if isinstance(found, int) else [part for name, part, _ in sheets if name == found]
        else:
            parts = [part for name, part, visible in sheets if visible and not _looks_like_instructions(name)] or [part for _, part, _ in sheets]
        most = 0
        for part in parts:
            most = max(most, _value_rows(z, part, limit))
            if most > limit:
                break
        return most


def _sheet_parts(z: Any) -> list[tuple[str, str, bool]]:
    """(name, zip member, visible) of each worksheet, in the workbook's order (xl/workbook.xml and its
    relationships; chart sheets left out, as openpyxl's ``worksheets`` leaves them)."""
    import posixpath
    import xml.etree.ElementTree as ET  # noqa: S405 - two small parts of a workbook already checked against zip bombs

    def local(tag: str) -> str:
        return tag.rsplit("}", 1)[-1]

    targets = {}
    for rel in ET.fromstring(z.read("xl/_rels/workbook.xml.rels")):  # noqa: S314
        if not rel.get("Type", "").endswith("/worksheet"):
            continue
        target = rel.get("Target", "")
        targets[rel.get("Id")] = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
    out = []
    for el in ET.fromstring(z.read("xl/workbook.xml")).iter():  # noqa: S314
        if local(el.tag) == "sheet":
            rid = next((v for k, v in el.attrib.items() if local(k) == "id"), None)
            if rid in targets:
                out.append((el.get("name", ""), targets[rid], el.get("state", "visible") == "visible"))
    return out


#: the start of a row element, and a value (or inline string) in a row's cells; any namespace prefix
_ROW_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s>/]")
_CELL_VALUE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:v|is)[\s>]")


def _value_rows(z: Any, part: str, limit: int) -> int:
    """The rows of one sheet's XML that hold a value, counted no further than ``limit + 1``."""
    count, carry, in_row = 0, b"", False
    with z.open(part) as fh:
        while block := fh.read(READ_BLOCK):
            pieces = _ROW_START.split(carry + block)
            carry = pieces.pop()  # after the last row start seen: the row may go on in the next block
            if not pieces:
                continue
            rows = pieces if in_row else pieces[1:]  # the first piece ends the row carried over, or precedes the first row
            count += sum(1 for row in rows if _CELL_VALUE.search(row))
            in_row = True
            if count > limit:
                return count
    return count + (1 if in_row and _CELL_VALUE.search(carry) else 0)


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
