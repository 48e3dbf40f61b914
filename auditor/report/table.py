"""The facility table: one record per input row, shared by facilities.csv and the streamed tables.

A record holds typed values (numbers as numbers, None for nothing); :func:`csv_fields`
formats and neutralises them for a spreadsheet. A streamed audit writes the same records
chunk by chunk, so its facilities.csv is byte for byte what an in-memory audit writes.

Columns: the facility as the input gave it (:data:`INPUT_COLUMNS`: id, row, kind, tenure, name,
address, the coordinates as given with their stated system, IPs, hostnames, the admin unit), then the
audit's answer (verdict, basis, the WGS-84 point, containment, distance to the line, parts, the
failing and indeterminate rules, the leading message), then every other input column under its own
header (``input:NAME`` where that header is one of the columns before it). facilities.csv is UTF-8
with a byte-order mark, so that Excel and WPS on a Chinese Windows read it as UTF-8, not GBK.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from auditor.model import Facility, Status
from auditor.report.safe import FORMULA_START, csv_cell
from auditor.result import AuditResult

__all__ = ["BOM", "COLUMNS", "INPUT_COLUMNS", "RESULT_COLUMNS", "extra_columns", "extra_header", "facility_record", "csv_fields", "csv_text",
           "arrow_table", "write_parquet", "given_value", "csv_text_of_columns", "arrow_table_of_columns", "point_wkb"]

#: The byte-order mark facilities.csv starts with (Excel reads a CSV without one in the system code page: GBK in China).
BOM = "\ufeff"
#: The facility as read: the canonical fields of the input (coordinates as given, in their stated system).
INPUT_COLUMNS = [
    "id", "row", "kind", "tenure", "name", "address", "lon", "lat", "crs", "ip", "hostname", "adcode", "province", "city", "district",
]
#: The audit's answer for it.
RESULT_COLUMNS = [
    "verdict", "basis", "lon_wgs84", "lat_wgs84", "uncertainty_m",
    "containment", "distance_to_boundary_m", "parts", "failed_rules", "indeterminate_rules", "message",
]
COLUMNS = INPUT_COLUMNS + RESULT_COLUMNS


def extra_columns(facilities: list[Facility]) -> list[str]:
    """Input columns the auditor does not interpret, in first-seen order (kept in the table)."""
    out: dict[str, None] = {}
    for f in facilities:
        for k in f.extra:
            out.setdefault(k)
    return list(out)


def extra_header(name: str) -> str:
    """The table's header for the input column ``name``: itself, or ``input:NAME`` where a column of the table has that name."""
    return f"input:{name}" if name in COLUMNS else name


def given_value(f: Facility, field: str) -> str | float | None:
    """A canonical field as the input gave it: coordinates as numbers in their stated system (None when
    the row has none), the system only when the row stated it, IPs and hostnames ';'-joined, text as is."""
    if field in ("lon", "lat"):
        value: float | None = getattr(f, field)
        return value
    if field == "crs":
        return f.crs if f.crs_stated else ""
    if field in ("ip", "hostname"):
        return ";".join(getattr(f, field))
    return str(getattr(f, field, "") or "")


def facility_record(result: AuditResult, f: Facility) -> dict[str, Any]:
    """One facility's row: verdict, declared point, its containment and the leading finding."""
    point = next((c for c in result.claims_of(f) if c.kind == "point"), None)
    cont = result.containment.get(point.id) if point else None
    findings = result.findings_of(f)
    if f.errors:
        message = "; ".join(f"{e.column or 'row'}: {e.message}" for e in f.errors)
    else:
        lead = next((x for x in findings if x.status is Status.FAIL), None) or next(
            (x for x in findings if x.status is Status.INDETERMINATE), None
        ) or (findings[0] if findings else None)
        message = lead.message if lead else ""
    return {
        "id": f.id, "row": f.row, "kind": f.kind, "tenure": f.tenure, "name": f.name, "address": f.address,
        "lon": f.lon, "lat": f.lat, "crs": f.crs if f.crs_stated else "", "ip": ";".join(f.ip), "hostname": ";".join(f.hostname),
        "adcode": f.adcode, "province": f.province, "city": f.city, "district": f.district,
        "verdict": result.facility_verdict(f)._value_,  # the plain string (``.value`` is slow on 3.11)
        "basis": "+".join(result.facility_basis(f)),
        "lon_wgs84": None if point is None else point.lon,
        "lat_wgs84": None if point is None else point.lat,
        "uncertainty_m": None if point is None else point.uncertainty_m,
        "containment": None if cont is None else cont.verdict._value_,
        "distance_to_boundary_m": None if cont is None else cont.distance_m,
        "parts": None if cont is None else "+".join(cont.parts),
        "failed_rules": ";".join(x.rule for x in findings if x.status is Status.FAIL),
        "indeterminate_rules": ";".join(x.rule for x in findings if x.status is Status.INDETERMINATE),
        "message": message,
        "extra": dict(f.extra),
    }


def _number(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _given(value: float | None) -> str:
    """A coordinate as the input gave it (the shortest text that reads back as the same number)."""
    return "" if value is None else repr(float(value))


def csv_fields(record: dict[str, Any], extra: list[str]) -> list[str]:
    """A record as CSV fields: fixed decimals, text cells neutralised against formula injection."""
    r = record
    return [
        csv_cell(r["id"]), str(r["row"]), csv_cell(r["kind"]), csv_cell(r["tenure"]), csv_cell(r["name"]), csv_cell(r["address"]),
        _given(r["lon"]), _given(r["lat"]), r["crs"], csv_cell(r["ip"]), csv_cell(r["hostname"]),
        csv_cell(r["adcode"]), csv_cell(r["province"]), csv_cell(r["city"]), csv_cell(r["district"]), r["verdict"], r["basis"],
        _number(r["lon_wgs84"], 7), _number(r["lat_wgs84"], 7), _number(r["uncertainty_m"], 2),
        r["containment"] or "", _number(r["distance_to_boundary_m"], 1), r["parts"] or "",
        r["failed_rules"], r["indeterminate_rules"], csv_cell(r["message"]),
    ] + [csv_cell(r["extra"].get(c, "")) for c in extra]


def csv_text(records: list[dict[str, Any]], extra: list[str]) -> str:
    """Records as CSV rows (RFC 4180 line ends, no header), as facilities.csv holds them."""
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(csv_fields(r, extra) for r in records)
    return buf.getvalue()


#: the columns csv_fields neutralises as text (the others are numbers or the audit's own words)
_TEXT_COLUMNS = frozenset({"id", "kind", "tenure", "name", "address", "ip", "hostname", "adcode", "province", "city", "district", "message"})
_DIGITS = {"lon_wgs84": 7, "lat_wgs84": 7, "uncertainty_m": 2, "distance_to_boundary_m": 1}
_FORMULA_MARK = re.compile("\x00[" + re.escape("".join(FORMULA_START)) + "]")


def _neutralised(values: list[str]) -> list[str]:
    """:func:`csv_cell` of every value; a scan of the joined column spares the per-cell work when no
    cell starts like a formula (the usual case)."""
    if _FORMULA_MARK.search("\x00" + "\x00".join(values)) is None:
        return values
    return [csv_cell(v) for v in values]


def _quoted(values: list[str]) -> list[str]:
    """Each value as the csv module writes it (QUOTE_MINIMAL, ``\\r\\n`` line ends): quoted when it
    holds a delimiter, a quote or a line break."""
    joined = "\x00".join(values)
    if not ("," in joined or '"' in joined or "\r" in joined or "\n" in joined):
        return values
    if not ('"' in joined or "\r" in joined or "\n" in joined):  # only delimiters (messages with "1,234 m"): nothing to double
        return [f'"{v}"' if "," in v else v for v in values]
    return [('"' + v.replace('"', '""') + '"') if ("," in v or '"' in v or "\r" in v or "\n" in v) else v for v in values]


def csv_text_of_columns(columns: dict[str, Any], extra: list[str], written: dict[str, list[str]] | None = None) -> str:
    """Rows given as columns (every one filled: no None), as :func:`csv_text` writes the same records.
    ``written``: number columns already as this writes them (coordinates whose input text is repr's)."""
    fields: list[list[str]] = []
    for c in COLUMNS:
        values = columns[c]
        if c in _NUMBERS:  # numbers are never quoted: no delimiter, quote or line break in them
            if written and c in written:
                fields.append(written[c])
            elif c == "row":
                fields.append(list(map(str, values)))
            else:
                as_text = repr if c in ("lon", "lat") else ("{:." + str(_DIGITS[c]) + "f}").format
                fields.append(list(map(as_text, np.asarray(values, dtype=np.float64).tolist())))
            continue
        text = _neutralised(list(values)) if c in _TEXT_COLUMNS else list(values)
        fields.append(_quoted(text))
    for c in extra:
        fields.append(_quoted(_neutralised(list(columns[f"input:{c}"]))))
    if not fields[0]:
        return ""
    return "\r\n".join(map(",".join, zip(*fields))) + "\r\n"


_NUMBERS = ("row", "lon", "lat", "lon_wgs84", "lat_wgs84", "uncertainty_m", "distance_to_boundary_m")


#: GeoParquet 1.0 metadata: the declared point as WKB, lon/lat WGS-84 (the default CRS, OGC:CRS84)
_GEO_METADATA = {"version": "1.0.0", "primary_column": "geometry",
                 "columns": {"geometry": {"encoding": "WKB", "geometry_types": ["Point"]}}}


def arrow_schema(extra: list[str]) -> Any:
    """The Parquet table's schema: numbers typed, text as text, input columns as ``input:NAME``, and a
    GeoParquet ``geometry`` column (so ``geopandas.read_parquet`` gives a GeoDataFrame)."""
    import json

    import pyarrow as pa

    types = {c: (pa.int64() if c == "row" else pa.float64()) for c in _NUMBERS}
    fields = [(c, types.get(c, pa.string())) for c in COLUMNS] + [(f"input:{c}", pa.string()) for c in extra]
    return pa.schema(fields + [("geometry", pa.binary())], metadata={b"geo": json.dumps(_GEO_METADATA).encode()})


def arrow_table(records: list[dict[str, Any]], extra: list[str]) -> Any:
    """Records as a pyarrow Table (values as they are: no spreadsheet neutralisation in Parquet)."""
    columns: dict[str, Any] = {c: [r[c] for r in records] for c in COLUMNS}
    for c in extra:
        columns[f"input:{c}"] = [r["extra"].get(c, "") for r in records]
    return arrow_table_of_columns(columns, extra)


def arrow_table_of_columns(columns: dict[str, Any], extra: list[str]) -> Any:
    """Columns (lists, or float arrays with NaN for nothing) as the Parquet table, geometry added."""
    import pyarrow as pa
    import shapely

    columns = dict(columns)
    lon, lat = (np.array([np.nan if v is None else v for v in columns[c]], dtype=float) if isinstance(columns[c], list)
                else np.asarray(columns[c], dtype=float) for c in ("lon_wgs84", "lat_wgs84"))
    located = ~np.isnan(lon)
    if located.all():
        columns["geometry"] = point_wkb(lon, lat)
    else:
        wkb = np.full(len(lon), None, dtype=object)
        if located.any():
            wkb[located] = shapely.to_wkb(shapely.points(lon[located], lat[located]))
        columns["geometry"] = wkb.tolist()
    return pa.table(columns, schema=arrow_schema(extra))


#: a 2-D WKB point, little-endian: byte order 1, geometry type 1 (Point), x, y (21 bytes, packed)
_WKB_POINT = np.dtype([("order", "u1"), ("type", "<u4"), ("x", "<f8"), ("y", "<f8")])


def point_wkb(lon: Any, lat: Any) -> Any:
    """Points as a pyarrow binary array of WKB, the bytes ``shapely.to_wkb(shapely.points(lon, lat))``
    gives (a test compares them), written straight into one buffer instead of one object per point."""
    import pyarrow as pa

    n = len(lon)
    packed = np.empty(n, dtype=_WKB_POINT)
    packed["order"], packed["type"], packed["x"], packed["y"] = 1, 1, lon, lat
    offsets = np.arange(0, (n + 1) * _WKB_POINT.itemsize, _WKB_POINT.itemsize, dtype=np.int32)
    return pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(packed.tobytes())])


def write_parquet(result: AuditResult, path: Any) -> None:
    """facilities.parquet of an in-memory audit: the rows a streamed audit writes chunk by chunk."""
    import pyarrow.parquet as pq

    extra = extra_columns(result.facilities)
    pq.write_table(arrow_table([facility_record(result, f) for f in result.facilities], extra), path, compression="zstd")
