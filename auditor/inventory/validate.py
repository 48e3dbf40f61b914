"""Validation: every row of a :class:`RawTable` becomes exactly one :class:`Facility`.

A row that cannot be audited keeps its place with ``errors`` naming the column,
the value and what to do; what the reader could not read in a cell (``RawTable.cell_problems``:
an XLSX formula with no saved value, a geometry that could not be read or is not valid)
becomes such an error too. Only problems that make the whole file unusable (no
``id`` column, nothing that could locate a facility, two headers for one
column) raise :class:`~auditor.errors.InventoryError`.
"""

from __future__ import annotations

import ipaddress
import math
import re
import unicodedata
from collections.abc import Mapping

from auditor.errors import InventoryError, UsageError
from auditor.geo.crs import parse_crs
from auditor.inventory.columns import HEADER_ALIASES, map_headers
from auditor.inventory.read import CellProblem, RawTable
from auditor.iptext import is_dotted_quad
from auditor.model import Facility, RowError

__all__ = ["validate_rows", "facility_ids", "parse_coordinate", "KINDS", "TENURES"]

KINDS = ("IDC", "CDN", "ISP_POP", "POP", "OFFICE", "NOC", "DATA_PROCESSING", "OTHER")
TENURES = {
    "owned": "owned", "own": "owned", "自有": "owned", "自建": "owned",
    "rented": "rented", "rent": "rented", "leased": "rented", "lease": "rented", "租用": "rented", "租赁": "rented",
    "purchased": "purchased", "purchase": "purchased", "bought": "purchased", "购买": "purchased", "采购": "purchased",
}
_LOCATING = ("lon", "lat", "address", "ip", "hostname", "adcode", "province", "city", "district")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_EXPONENT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)[eE][+-]?\d+$|^[+-]?(nan|inf|infinity)$", re.IGNORECASE)
# China's rough extent, for recognising swapped axes
#: Beyond half the Earth's circumference an uncertainty disk covers the planet: the value is a unit or typing error.
MAX_UNCERTAINTY_M = 20_000_000.0
_CN_LON = (73.0, 136.0)
_CN_LAT = (3.0, 54.0)


def _text(value: str) -> str:
    if value.isascii():
        return value.strip()  # NFKC leaves ASCII as it is
    return unicodedata.normalize("NFKC", value).strip()


def parse_coordinate(text: str) -> tuple[float, int | None]:
    """Parse a decimal-degree text: (value, decimals stated), or raise ValueError."""
    t = _text(text).replace("°", "")
    if not _NUMBER.match(t):
        if not _EXPONENT.match(t):
            raise ValueError(t)
        value = float(t)  # an exponent form: no stated decimals
        return value, None
    value = float(t)
    decimals = len(t.split(".", 1)[1]) if "." in t else 0
    return value, decimals


def _check_columns(table: RawTable, seen: dict[str, list[str]]) -> None:
    for canon, originals in seen.items():
        if len(originals) > 1:
            raise InventoryError(
                f"headers {originals} all name the {canon!r} column",
                source=table.source, row=1, column=originals[1], hint="keep one of them",
            )
    if "id" not in seen:
        raise InventoryError(
            "no facility id column",
            source=table.source, row=1, column="id",
            hint="add a column named one of: " + ", ".join(HEADER_ALIASES["id"]),
        )
    if not any(c in seen for c in _LOCATING):
        raise InventoryError(
            "no column that could locate a facility",
            source=table.source, row=1,
            hint="add lon/lat (经度/纬度), address (地址), ip or adcode/province/city/district",
        )
    if ("lon" in seen) != ("lat" in seen):
        missing = "lat" if "lon" in seen else "lon"
        raise InventoryError(
            f"a {'lon' if missing == 'lat' else 'lat'} column without a {missing} column",
            source=table.source, row=1, column=missing,
        )


def validate_rows(
    table: RawTable, *, default_crs: str | None = None, ids_before: Mapping[str, int] | None = None
) -> list[Facility]:
    """One :class:`Facility` per row of ``table``, in file order.

    ``default_crs`` applies to rows whose ``crs`` cell is empty (from the
    operator profile or ``--crs``); with neither, the system is unknown and the
    location claim is widened by the largest datum offset instead of assuming one.
    ``ids_before`` maps ids already used in earlier chunks of the same file to their
    first row (see :func:`facility_ids`), so a streamed file finds the same duplicates.
    """
    positions, seen = map_headers(table.headers)
    _check_columns(table, seen)
    if default_crs is not None:
        default_crs = parse_crs(default_crs).value
    facilities: list[Facility] = []
    first_row_of: dict[str, int] = dict(ids_before or {})
    for row_no, values in table.rows:
        cells: dict[str, str] = {}
        extra: dict[str, str] = {}
        for i, v in enumerate(values):
            name = positions.get(i) or f"column_{i + 1}"
            if name in HEADER_ALIASES:
                cells[name] = v
            else:
                extra[name] = v
        problems = table.cell_problems.get(row_no)
        reader_errors = [_reader_error(p, positions) for p in problems] if problems else []
        fac = _validate_row(table, row_no, cells, extra, default_crs, reader_errors)
        if not any(e.column == "id" for e in fac.errors):
            if fac.id in first_row_of:
                fac = _with_error(fac, RowError("id", f"duplicate id (first used on row {first_row_of[fac.id]})", fac.id, "give every facility its own id"))
            else:
                first_row_of[fac.id] = row_no
        facilities.append(fac)
    return facilities


def facility_ids(table: RawTable) -> list[tuple[int, str]]:
    """(row, id) of every row whose id :func:`validate_rows` would accept, in file order."""
    positions, _ = map_headers(table.headers)
    col = next((i for i, name in positions.items() if name == "id"), None)
    if col is None:
        return []
    out = []
    for row_no, values in table.rows:
        fid = _text(values[col]) if col < len(values) else ""
        if fid:
            out.append((row_no, fid))
    return out


def _reader_error(problem: CellProblem, positions: Mapping[int, str]) -> RowError:
    i = problem.column
    column = "geometry" if i is None else positions.get(i) or f"column_{i + 1}"
    return RowError(column, problem.message, problem.value, problem.hint)


def _with_error(fac: Facility, err: RowError) -> Facility:
    from dataclasses import replace

    return replace(fac, errors=fac.errors + (err,))


def _validate_row(
    table: RawTable, row_no: int, cells: dict[str, str], extra: dict[str, str], default_crs: str | None,
    reader_errors: list[RowError] | None = None,
) -> Facility:
    errors: list[RowError] = []
    warnings: list[str] = []
    if row_no in table.row_problems:
        hint = "check quoting and delimiters" if table.format == "csv" else "remove the values beyond the header's columns, or name their columns"
        errors.append(RowError(None, table.row_problems[row_no], hint=hint))
    if reader_errors:
        errors += reader_errors

    fid = _text(cells.get("id", ""))
    if not fid:
        errors.append(RowError("id", "missing facility id", hint="every row needs a unique id"))

    kind = _text(cells.get("kind", "")).upper().replace(" ", "_").replace("-", "_")
    tenure_raw = _text(cells.get("tenure", ""))
    tenure = TENURES.get(tenure_raw.lower(), tenure_raw.lower())
    if tenure_raw and tenure not in ("owned", "rented", "purchased"):
        warnings.append(f"tenure {tenure_raw!r} is not owned/rented/purchased; the facility is audited all the same")

    lon = lat = None
    decimals: int | None = None
    lon_txt, lat_txt = _text(cells.get("lon", "")), _text(cells.get("lat", ""))
    if lon_txt or lat_txt:
        lon, lat, decimals = _coordinates(lon_txt, lat_txt, errors)

    crs = None
    crs_stated = False
    crs_txt = _text(cells.get("crs", ""))
    if crs_txt:
        try:
            crs = parse_crs(crs_txt).value
            crs_stated = True
        except UsageError as exc:
            errors.append(RowError("crs", f"unknown coordinate system {crs_txt!r}", crs_txt, f"use one of: {', '.join(exc.valid)}"))
        if table.file_crs == "wgs84" and crs not in (None, "wgs84") and table.format not in ("geojson",):
            errors.append(RowError("crs", f"the row says {crs_txt!r} but the file's geometry is in WGS-84", crs_txt, "fix the crs column or the file's CRS"))
    elif table.file_crs:
        crs, crs_stated = table.file_crs, True
    elif default_crs:
        crs, crs_stated = default_crs, True

    uncertainty = None
    unc_txt = _text(cells.get("uncertainty_m", ""))
    if unc_txt:
        try:
            uncertainty = float(unc_txt)
            if not math.isfinite(uncertainty) or uncertainty < 0:
                raise ValueError
            if uncertainty > MAX_UNCERTAINTY_M:
                errors.append(RowError("uncertainty_m", f"uncertainty beyond {MAX_UNCERTAINTY_M / 1000:,.0f} km (half the "
                                       "Earth's circumference) says nothing about a place; give it in metres", unc_txt))
                uncertainty = None
        except ValueError:
            errors.append(RowError("uncertainty_m", "uncertainty must be a non-negative number of metres", unc_txt))
            uncertainty = None

    ips = _split_list(cells.get("ip", ""))
    for ip in ips:
        if is_dotted_quad(ip):
            continue  # the common case, without building an address object
        try:
            ipaddress.ip_network(ip, strict=False) if "/" in ip else ipaddress.ip_address(ip)
        except ValueError:
            errors.append(RowError("ip", "not an IP address or prefix", ip, "write addresses like 203.0.113.7 or prefixes like 203.0.113.0/24, separated by ';'"))

    hosts = tuple(h.lower().rstrip(".") for h in _split_list(cells.get("hostname", "")))
    for h in hosts:
        try:
            ascii_host = h.encode("idna").decode("ascii")
        except UnicodeError:
            ascii_host = ""
        if not ascii_host or len(ascii_host) > 253 or not all(_HOST_LABEL.match(label) for label in ascii_host.split(".")):
            errors.append(RowError("hostname", "not a valid hostname", h))

    adcode = _text(cells.get("adcode", ""))
    if adcode and not re.fullmatch(r"\d{6}", adcode):
        errors.append(RowError("adcode", "an adcode has six digits", adcode, "e.g. 310115 for Pudong New Area"))

    if reader_errors:
        # a cell the reader could not read reads as empty: its own error says why, so the
        # errors that emptiness causes in that column ("missing facility id", "lon is empty
        # while lat is given") would only repeat it
        unread = {e.column for e in reader_errors}
        errors = [e for e in errors if e.column not in unread or e in reader_errors]

    return Facility(
        id=fid or f"(row {row_no})",
        row=row_no,
        source=table.source,
        kind=kind,
        tenure=tenure,
        name=_text(cells.get("name", "")),
        address=_text(cells.get("address", "")),
        lon=lon,
        lat=lat,
        crs=crs,
        crs_stated=crs_stated,
        coordinate_decimals=decimals,
        uncertainty_m=uncertainty,
        ip=tuple(ips),
        hostname=hosts,
        adcode=adcode,
        province=_text(cells.get("province", "")),
        city=_text(cells.get("city", "")),
        district=_text(cells.get("district", "")),
        extra=extra,
        errors=tuple(errors),
        warnings=tuple(warnings),
    )


def _split_list(text: str) -> list[str]:
    return [t for t in re.split(r"[;,\s；，、]+", _text(text)) if t]


def _coordinates(lon_txt: str, lat_txt: str, errors: list[RowError]) -> tuple[float | None, float | None, int | None]:
    if not lon_txt or not lat_txt:
        col = "lat" if lon_txt else "lon"
        errors.append(RowError(col, f"{col} is empty while {'lon' if col == 'lat' else 'lat'} is given", hint="give both or neither"))
        return None, None, None
    parsed = {}
    for col, txt in (("lon", lon_txt), ("lat", lat_txt)):
        try:
            parsed[col] = parse_coordinate(txt)
        except ValueError:
            errors.append(RowError(col, "not a decimal number of degrees", txt, "write e.g. 121.5012 (degrees-minutes-seconds are not accepted)"))
    if len(parsed) < 2:
        return None, None, None
    (lon, d_lon), (lat, d_lat) = parsed["lon"], parsed["lat"]
    if not (math.isfinite(lon) and math.isfinite(lat)):
        col = "lon" if not math.isfinite(lon) else "lat"
        errors.append(RowError(col, "coordinate is not a finite number", lon_txt if col == "lon" else lat_txt))
        return None, None, None
    if not (-90.0 <= lat <= 90.0) or not (-180.0 <= lon <= 180.0):
        if _CN_LAT[0] <= lon <= _CN_LAT[1] and _CN_LON[0] <= lat <= _CN_LON[1]:
            errors.append(RowError("lat", "latitude and longitude appear swapped", f"lon={lon_txt}, lat={lat_txt}", f"did you mean lon={lat_txt}, lat={lon_txt}?"))
        else:
            col = "lat" if not (-90.0 <= lat <= 90.0) else "lon"
            errors.append(RowError(col, "coordinate out of range (lon -180..180, lat -90..90)", lat_txt if col == "lat" else lon_txt))
        return None, None, None
    if lon == 0.0 and lat == 0.0:
        errors.append(RowError("lon", "coordinates are 0, 0 (a placeholder, not a place)", "0, 0", "leave them empty if unknown"))
        return None, None, None
    decimals = None if d_lon is None or d_lat is None else min(d_lon, d_lat)
    return lon, lat, decimals
