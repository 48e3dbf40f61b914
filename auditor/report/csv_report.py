"""facilities.csv: one row per input row, in input order, with its verdict and location."""

from __future__ import annotations

import csv
import io

from auditor.engine import AuditResult
from auditor.models import Status
from auditor.report.safe import csv_cell

__all__ = ["render_csv", "COLUMNS"]

COLUMNS = [
    "id", "row", "kind", "tenure", "name", "verdict", "lon_wgs84", "lat_wgs84", "uncertainty_m",
    "containment", "distance_to_boundary_m", "parts", "failed_rules", "indeterminate_rules", "message",
]


def render_csv(result: AuditResult) -> str:
    extra_cols: list[str] = []
    for f in result.facilities:
        for k in f.extra:
            if k not in extra_cols and k not in COLUMNS:
                extra_cols.append(k)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")  # RFC 4180; also makes the writer quote a lone \r
    w.writerow(COLUMNS + [csv_cell(c) for c in extra_cols])
    for f in result.facilities:
        point = next((c for c in result.claims.get(f.id, ()) if c.kind == "point"), None)
        cont = result.containment.get(point.id) if point else None
        findings = result.facility_findings.get(f.id, [])
        failed = [x.rule for x in findings if x.status is Status.FAIL]
        unsure = [x.rule for x in findings if x.status is Status.INDETERMINATE]
        if f.errors:
            message = "; ".join(f"{e.column or 'row'}: {e.message}" for e in f.errors)
        else:
            lead = next((x for x in findings if x.status is Status.FAIL), None) or next(
                (x for x in findings if x.status is Status.INDETERMINATE), None
            ) or (findings[0] if findings else None)
            message = lead.message if lead else ""
        w.writerow(
            [
                csv_cell(f.id), f.row, csv_cell(f.kind), csv_cell(f.tenure), csv_cell(f.name),
                result.facility_verdict(f).value,
                "" if point is None else f"{point.lon:.7f}",
                "" if point is None else f"{point.lat:.7f}",
                "" if point is None else f"{point.uncertainty_m:.2f}",
                "" if cont is None else cont.verdict.value,
                "" if cont is None or cont.distance_m is None else f"{cont.distance_m:.1f}",
                "" if cont is None else "+".join(cont.parts),
                ";".join(failed), ";".join(unsure), csv_cell(message),
            ]
            + [csv_cell(f.extra.get(c, "")) for c in extra_cols]
        )
    return buf.getvalue()
