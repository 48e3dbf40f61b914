"""facilities.csv: one row per input row, in input order, with its verdict and location."""

from __future__ import annotations

import csv
import io

from auditor.report.safe import csv_cell
from auditor.report.table import COLUMNS, csv_fields, extra_columns, facility_record
from auditor.result import AuditResult

__all__ = ["render_csv", "COLUMNS", "csv_header"]


def csv_header(extra: list[str]) -> list[str]:
    return COLUMNS + [csv_cell(c) for c in extra]


def render_csv(result: AuditResult) -> str:
    extra = extra_columns(result.facilities)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")  # RFC 4180; also makes the writer quote a lone \r
    w.writerow(csv_header(extra))
    for f in result.facilities:
        w.writerow(csv_fields(facility_record(result, f), extra))
    return buf.getvalue()
