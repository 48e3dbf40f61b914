"""Helpers shared by the inventory tests: tables written under tmp_path and read back."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path

from auditor.inventory.read import read_table
from auditor.inventory.validate import validate_rows
from auditor.model import Facility, RowError

CN_HEADER = "编号,类型,名称,地址,经度,纬度,坐标系"
CN_ROWS = [
    "SH-001,IDC,浦东数据中心,上海市浦东新区张江路1号,121.5012,31.2041,百度坐标",
    "SH-002,CDN,虹桥节点（二期）,上海市闵行区申长路“88”号,121.32,31.19,火星坐标系",
]


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    p = tmp_path / name
    p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return p


def csv_text(rows: list[list[str]]) -> str:
    buf = io.StringIO(newline="")
    csv.writer(buf).writerows(rows)
    return buf.getvalue()


def facilities(tmp_path: Path, header: list[str], rows: list[list[str]], **kw) -> list[Facility]:
    p = write(tmp_path, "facilities.csv", csv_text([header, *rows]))
    return validate_rows(read_table(p), **kw)


def one(tmp_path: Path, header: list[str], row: list[str], **kw) -> Facility:
    (fac,) = facilities(tmp_path, header, [row], **kw)
    return fac


def errors_on(fac: Facility, column: str | None) -> list[RowError]:
    return [e for e in fac.errors if e.column == column]


LONLAT = ["id", "lon", "lat"]




def xlsx(path: Path, sheets: dict[str, list[list[object]]], *, hidden: Iterable[str] = (), merges: Iterable[tuple[str, str]] = ()) -> Path:
    """A workbook of ``sheets`` (title: rows, appended as given), some sheets hidden, some cells merged (title, range)."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
        if title in hidden:
            ws.sheet_state = "hidden"
    for title, ref in merges:
        wb[title].merge_cells(ref)
    wb.save(path)
    return path
