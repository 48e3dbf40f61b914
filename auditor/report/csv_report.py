"""facilities.csv: one row per input row, in input order: the facility as read, its verdict and location.

UTF-8 with a byte-order mark (Chinese Excel and WPS read it as UTF-8), RFC 4180 line ends; text
cells a spreadsheet would run as formulas are neutralised (:func:`auditor.report.safe.csv_cell`).
"""

from __future__ import annotations

import csv
import io

from auditor.report.safe import csv_cell
from auditor.report.table import BOM, COLUMNS, csv_fields, extra_columns, extra_header, facility_record
from auditor.result import AuditResult

__all__ = ["render_csv", "COLUMNS", "csv_header"]


def csv_header(extra: list[str]) -> list[str]:
    """The header row. Its first cell starts with the byte-order mark, so every writer of the header
    (:func:`render_csv`, and the streamed audit's table writer, which writes the header row and then
    each chunk's rows to a UTF-8 file) starts facilities.csv with it, and both give the same bytes."""
    return [BOM + COLUMNS[0]] + COLUMNS[1:] + [csv_cell(extra_header(c)) for c in extra]


def render_csv(result: AuditResult) -> str:
    extra = extra_columns(result.facilities)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")  # RFC 4180; also makes the writer quote a lone \r
    w.writerow(csv_header(extra))
    for f in result.facilities:
        w.writerow(csv_fields(facility_record(result, f), extra))
    return buf.getvalue()
