"""Validation: every row of a :class:`RawTable` becomes exactly one :class:`Facility`.

A row that cannot be audited keeps its place with ``errors`` naming the column,
the value and what to do; what the reader could not read in a cell (``RawTable.cell_problems``:
an XLSX formula with no saved value, a geometry that could not be read or is not valid)
becomes such an error too. Only problems that make the whole file unusable (no
``id`` column, nothing that could locate a facility, two headers for one
column) raise :class:`~auditor.errors.InventoryError`, which lists the headers that were
read and the header that looks most like the missing column.

Values are read as people write them (:mod:`auditor.inventory.values`): kinds, tenure and
coordinate-system words in Chinese, coordinates with full-width digits, a decimal comma,
degrees-minutes-seconds or hemisphere letters, both coordinates in one 经纬度 cell, IP ranges
written ``a-b``. A reading that involves a choice (a decimal comma, a lat,lon order) is said in
the facility's warnings; so is an administrative-unit name the gazetteer does not hold, when the
table's :class:`~auditor.inventory.reading.Reading` carries a gazetteer check.
"""

from __future__ import annotations

import ipaddress
import math
import re
import unicodedata
from collections.abc import Mapping

from auditor.errors import InventoryError, UsageError
from auditor.geo.crs import parse_crs
from auditor.inventory.columns import HEADER_ALIASES, ColumnMap, closest_alias, headers_listing
from auditor.inventory.read import CellProblem, RawTable
from auditor.inventory.reading import UnitNames
from auditor.inventory.values import CN_LAT, CN_LON, KINDS, TENURE_WORDS, crs_word, kind_word, parse_degrees, parse_lonlat, tenure_word
from auditor.iptext import is_dotted_quad
from auditor.model import Facility, RowError

__all__ = ["validate_rows", "facility_ids", "parse_coordinate", "KINDS", "TENURES", "MAX_UNCERTAINTY_M"]

TENURES = TENURE_WORDS
_LOCATING = ("lon", "lat", "lonlat", "address", "ip", "hostname", "adcode", "province", "city", "district")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
#: Beyond half the Earth's circumference an uncertainty disk covers the planet: the value is a unit or typing error.
MAX_UNCERTAINTY_M = 20_000_000.0
# China's rough extent, for recognising swapped axes
_CN_LON = CN_LON
_CN_LAT = CN_LAT
#: the headers a hint suggests first for a missing column
_HINT_ALIASES = {"id": ("id", "节点编号", "设施编号", "机房编号", "编号")}


def _text(value: str) -> str:
    if value.isascii():
        return value.strip()  # NFKC leaves ASCII as it is
    return unicodedata.normalize("NFKC", value).strip()


def parse_coordinate(text: str) -> tuple[float, int | None]:
    """Parse one coordinate: (value, decimal places stated), or raise ValueError.

    Decimal degrees, a decimal comma, degrees-minutes-seconds and hemisphere letters are
    read (see :func:`auditor.inventory.values.parse_degrees`); an exponent form states no decimals.
    """
    d = parse_degrees(text)
    return d.value, d.decimals


def check_columns(table: RawTable, cmap: ColumnMap) -> None:
    """Raise :class:`InventoryError` when the headers cannot give a facility list: two headers for one
    column, no id column, nothing that could locate a facility, a longitude without a latitude."""
    row = table.header_row
    read = f"headers read (row {row}): {headers_listing(cmap.headers)}"
    fix = f"or say which header it is with {table.reading.origin} COLUMN=HEADER"
    for canon, idx in cmap.conflicts.items():
        originals = [str(cmap.headers[i]).strip() for i in idx]
        raise InventoryError(
            f"headers {originals} all name the {canon!r} column",
            source=table.source, row=row, column=originals[1],
            hint=f"keep one of them, or say which to read with {table.reading.origin} {canon}={originals[0]}",
        )
    if not cmap.has("id"):
        near = closest_alias("id", cmap.headers)
        names = _HINT_ALIASES["id"]
        raise InventoryError(
            f"no facility id column; {read}",
            source=table.source, row=row, column="id",
            hint=(f"{near!r} looks like an id header; " if near else "")
            + "name the column one of: " + ", ".join(HEADER_ALIASES["id"]) + f" ({', '.join(names[:3])} ...), {fix} (e.g. id={near or '节点编号'})",
        )
    if not any(cmap.has(c) for c in _LOCATING):
        near = next((f"{h!r} (looks like {c})" for c in _LOCATING if (h := closest_alias(c, cmap.headers))), None)
        raise InventoryError(
            f"no column that could locate a facility; {read}",
            source=table.source, row=row,
            hint=(f"{near}; " if near else "") + "add lon/lat (经度/纬度) or one 经纬度 column, address (地址), ip (IP地址) or "
            f"adcode/province/city/district (所属省份/所在城市/所在区县), {fix}",
        )
    if cmap.has("lon") != cmap.has("lat"):
        missing = "lat" if cmap.has("lon") else "lon"
        near = closest_alias(missing, cmap.headers)
        raise InventoryError(
            f"a {'lon' if missing == 'lat' else 'lat'} column without a {missing} column; {read}",
            source=table.source, row=row, column=missing,
            hint=(f"{near!r} looks like the {missing} column; " if near else "")
            + f"add a {'纬度 (lat)' if missing == 'lat' else '经度 (lon)'} column, {fix}",
        )


def validate_rows(
    table: RawTable, *, default_crs: str | None = None, ids_before: Mapping[str, int] | None = None,
    unit_names: UnitNames | None = None,
) -> list[Facility]:
    """One :class:`Facility` per row of ``table``, in file order.

    ``default_crs`` applies to rows whose ``crs`` cell is empty (from the
    operator profile or ``--crs``); with neither, the system is unknown and the
    location claim is widened by the largest datum offset instead of assuming one.
    ``ids_before`` maps ids already used in earlier chunks of the same file to their
    first row (see :func:`facility_ids`), so a streamed file finds the same duplicates.
    ``unit_names`` (default: the table's ``reading.unit_names``) checks the province / city /
    district names against a gazetteer; a name it does not hold becomes a warning.
    """
    cmap = table.column_map()
    check_columns(table, cmap)
    if default_crs is not None:
        default_crs = parse_crs(default_crs).value
    names_check = unit_names if unit_names is not None else table.reading.unit_names
    header_crs = _header_crs(table, cmap)
    read = dict(cmap.read)
    extra_names = {i: _extra_name(cmap, i) for i in range(len(cmap.headers)) if i not in read}
    tenure_header = cmap.header("tenure") or ""
    facilities: list[Facility] = []
    first_row_of: dict[str, int] = dict(ids_before or {})
    for row_no, values in table.rows:
        cells: dict[str, str] = {}
        extra: dict[str, str] = {}
        for i, v in enumerate(values):
            canon = read.get(i)
            if canon is not None:
                cells[canon] = v
            else:
                extra[extra_names.get(i) or f"column_{i + 1}"] = v
        problems = table.cell_problems.get(row_no)
        reader_errors = [_reader_error(p, cmap) for p in problems] if problems else []
        fac = _validate_row(table, row_no, cells, extra, header_crs or default_crs, reader_errors, tenure_header, names_check)
        if not any(e.column == "id" for e in fac.errors):
            if fac.id in first_row_of:
                fac = _with_error(fac, RowError("id", f"duplicate id (first used on row {first_row_of[fac.id]})", fac.id, "give every facility its own id"))
            else:
                first_row_of[fac.id] = row_no
        facilities.append(fac)
    return facilities


_BRACKETED = re.compile(r"[(（\[【]([^)）\]】]*)[)）\]】]")


def _header_crs(table: RawTable, cmap: ColumnMap) -> str | None:
    """The coordinate system a coordinate header states in brackets (经度（GCJ-02）, 经纬度(百度坐标)): it
    applies to rows whose crs cell is empty, before the profile's or --crs default."""
    found: dict[str, str] = {}
    for canon in ("lon", "lat", "lonlat"):
        header = cmap.header(canon)
        for inside in _BRACKETED.findall(header or ""):
            code = crs_word(inside)
            if code:
                found[header or canon] = code
    if len(set(found.values())) > 1:
        raise InventoryError(
            f"the coordinate headers state different coordinate systems: {', '.join(f'{h!r} ({c})' for h, c in found.items())}",
            source=table.source, row=table.header_row, column="crs", hint="state one system for the longitude and the latitude",
        )
    return next(iter(found.values()), None)


def _extra_name(cmap: ColumnMap, i: int) -> str:
    """An unused column's name in ``Facility.extra``: its header (one that is also a canonical name,
    passed over for the caller's mapping, is marked so that it cannot pass for the column read)."""
    name = cmap.extra_name(i)
    return f"{name} (unused)" if name in HEADER_ALIASES else name


def facility_ids(table: RawTable) -> list[tuple[int, str]]:
    """(row, id) of every row whose id :func:`validate_rows` would accept, in file order."""
    col = table.column_map().index("id")
    if col is None:
        return []
    out = []
    for row_no, values in table.rows:
        fid = _text(values[col]) if col < len(values) else ""
        if fid:
            out.append((row_no, fid))
    return out


def _reader_error(problem: CellProblem, cmap: ColumnMap) -> RowError:
    i = problem.column
    column = "geometry" if i is None else cmap.read.get(i) or _extra_name(cmap, i)
    return RowError(column, problem.message, problem.value, problem.hint)


def _with_error(fac: Facility, err: RowError) -> Facility:
    from dataclasses import replace

    return replace(fac, errors=fac.errors + (err,))


def _validate_row(
    table: RawTable, row_no: int, cells: dict[str, str], extra: dict[str, str], default_crs: str | None,
    reader_errors: list[RowError] | None = None, tenure_header: str = "", unit_names: UnitNames | None = None,
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

    kind, implied_tenure, kind_warning = kind_word(cells.get("kind", ""))
    if kind_warning:
        warnings.append(kind_warning)
    tenure, tenure_warning = tenure_word(cells.get("tenure", ""), tenure_header)
    if tenure_warning:
        warnings.append(tenure_warning)
    if not tenure and implied_tenure and not _text(cells.get("tenure", "")):
        tenure = implied_tenure  # 自建机房 / 租用机房: the kind's word says it

    lon = lat = None
    decimals: int | None = None
    lon_txt, lat_txt = _text(cells.get("lon", "")), _text(cells.get("lat", ""))
    pair_txt = _text(cells.get("lonlat", ""))
    if lon_txt or lat_txt:
        lon, lat, decimals = _coordinates(lon_txt, lat_txt, errors, warnings)
    elif pair_txt:
        lon, lat, decimals = _pair(pair_txt, errors, warnings)

    crs = None
    crs_stated = False
    crs_txt = _text(cells.get("crs", ""))
    if crs_txt:
        try:
            crs = crs_word(crs_txt) or parse_crs(crs_txt).value
            crs_stated = True
        except UsageError as exc:
            errors.append(RowError("crs", f"unknown coordinate system {crs_txt!r}", crs_txt,
                                   f"use one of: {', '.join(exc.valid)} (or 高德/腾讯/国测局 = gcj02, 百度 = bd09, GPS/CGCS2000 = wgs84)"))
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

    ips = _ip_ranges(_split_list(cells.get("ip", "")))
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

    province, city, district = _text(cells.get("province", "")), _text(cells.get("city", "")), _text(cells.get("district", ""))
    if unit_names is not None and (province or city or district) and not adcode:
        warnings += unit_names.check(province, city, district)

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
        province=province,
        city=city,
        district=district,
        extra=extra,
        errors=tuple(errors),
        warnings=tuple(warnings),
    )


def _split_list(text: str) -> list[str]:
    return [t for t in re.split(r"[;,\s；，、]+", _text(text)) if t]


def _ip_ranges(items: list[str]) -> list[str]:
    """``a-b`` address ranges (1.2.3.0-1.2.3.255) as the prefixes that cover exactly them; anything else unchanged."""
    out = []
    for item in items:
        first, dash, last = item.partition("-")
        if dash and first and last:
            try:
                lo, hi = ipaddress.ip_address(first), ipaddress.ip_address(last)
                if lo.version == hi.version and int(lo) <= int(hi):
                    out += [str(n) for n in ipaddress.summarize_address_range(lo, hi)]
                    continue
            except ValueError:
                pass
        out.append(item)
    return out


def _coordinates(lon_txt: str, lat_txt: str, errors: list[RowError], warnings: list[str] | None = None) -> tuple[float | None, float | None, int | None]:
    if not lon_txt or not lat_txt:
        col = "lat" if lon_txt else "lon"
        errors.append(RowError(col, f"{col} is empty while {'lon' if col == 'lat' else 'lat'} is given", hint="give both or neither"))
        return None, None, None
    parsed = {}
    for col, txt in (("lon", lon_txt), ("lat", lat_txt)):
        try:
            d = parse_degrees(txt)
        except ValueError as exc:
            errors.append(RowError(col, "not a number of degrees", txt,
                                   f"write e.g. 121.5012 or 121°30'04.3\" ({exc})" if str(exc) != "not a number of degrees" else "write e.g. 121.5012 or 121°30'04.3\""))
            continue
        if d.axis is not None and d.axis != col:
            errors.append(RowError(col, f"the {col} column holds a {'latitude' if col == 'lon' else 'longitude'} (its hemisphere letter says so)", txt,
                                   "check that longitude and latitude are not swapped"))
            continue
        if d.note and "decimal comma" in d.note and warnings is not None:
            warnings.append(f"{col}: {d.note}")
        parsed[col] = (d.value, d.decimals)
    if len(parsed) < 2:
        return None, None, None
    (lon, d_lon), (lat, d_lat) = parsed["lon"], parsed["lat"]
    return _checked(lon, lat, d_lon, d_lat, lon_txt, lat_txt, errors)


def _pair(text: str, errors: list[RowError], warnings: list[str]) -> tuple[float | None, float | None, int | None]:
    """Both coordinates from one 经纬度 cell."""
    try:
        lon, lat, decimals, notes = parse_lonlat(text)
    except ValueError as exc:
        errors.append(RowError("lonlat", f"cannot read a longitude and a latitude: {exc}", text,
                               "write longitude, latitude: e.g. 121.5012,31.2041 (or use separate 经度 and 纬度 columns)"))
        return None, None, None
    warnings += [f"lonlat: {n}" for n in notes if "degrees-minutes-seconds" not in n]
    lo, la, dec = _checked(lon, lat, decimals, decimals, str(lon), str(lat), errors, column="lonlat")
    return lo, la, dec


def _checked(lon: float, lat: float, d_lon: int | None, d_lat: int | None, lon_txt: str, lat_txt: str,
             errors: list[RowError], column: str | None = None) -> tuple[float | None, float | None, int | None]:
    if not (math.isfinite(lon) and math.isfinite(lat)):
        col = "lon" if not math.isfinite(lon) else "lat"
        errors.append(RowError(column or col, "coordinate is not a finite number", lon_txt if col == "lon" else lat_txt))
        return None, None, None
    if not (-90.0 <= lat <= 90.0) or not (-180.0 <= lon <= 180.0):
        if _CN_LAT[0] <= lon <= _CN_LAT[1] and _CN_LON[0] <= lat <= _CN_LON[1]:
            errors.append(RowError(column or "lat", "latitude and longitude appear swapped", f"lon={lon_txt}, lat={lat_txt}", f"did you mean lon={lat_txt}, lat={lon_txt}?"))
        else:
            col = "lat" if not (-90.0 <= lat <= 90.0) else "lon"
            errors.append(RowError(column or col, "coordinate out of range (lon -180..180, lat -90..90)", lat_txt if col == "lat" else lon_txt))
        return None, None, None
    if lon == 0.0 and lat == 0.0:
        errors.append(RowError(column or "lon", "coordinates are 0, 0 (a placeholder, not a place)", "0, 0", "leave them empty if unknown"))
        return None, None, None
    decimals = None if d_lon is None or d_lat is None else min(d_lon, d_lat)
    return lon, lat, decimals


# for the columnar path (auditor.engine.columnar), which reads plain rows as these functions do
text_cell = _text
header_crs = _header_crs
extra_name = _extra_name
