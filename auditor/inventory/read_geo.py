"""Geospatial facility lists (GeoJSON, GeoPackage, Shapefile, FlatGeobuf) and (Geo)Parquet: geometries
become lon/lat text in WGS-84; a geometry GDAL could not read, or an invalid one, is a cell problem."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.inventory.table import CellProblem, RawTable, cell_text, short_text

__all__ = ["read_geo", "read_parquet"]


# -- geospatial files ------------------------------------------------------------------------

def _larger(stated: Any, spread: str) -> str:
    """The larger of a stated uncertainty and a geometry's spread, as text."""
    text = "" if stated is None or (isinstance(stated, float) and math.isnan(stated)) else cell_text(stated)
    if not spread:
        return text
    if not text:
        return spread
    try:
        return repr(max(float(text), float(spread)))
    except ValueError:
        return text  # validation reports the bad stated value


def _frame_to_table(frame: Any, p: Path, fmt: str) -> RawTable:
    import geopandas as gpd
    import shapely

    file_crs = None
    geometry = None
    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns:
        geometry = frame.geometry
        if frame.crs is not None:
            if frame.crs.to_epsg() in (4326, 4490) or frame.crs.to_string() in ("OGC:CRS84",):
                file_crs = "wgs84"
            else:
                geometry = geometry.to_crs(4326)
                file_crs = "wgs84"
        frame = frame.drop(columns=[frame.geometry.name])
    headers = [str(c) for c in frame.columns]
    extra_headers: list[str] = []
    lon_text: list[str] = []
    lat_text: list[str] = []
    spread: list[str] = []
    spread_merged = False  # True once a stated uncertainty column absorbs the geometry's spread
    problems: dict[int, list[CellProblem]] = {}
    if geometry is not None:
        extra_headers = ["lon", "lat", "uncertainty_m"]
        from auditor.geo.measure import geodesic_distance_m

        for i, g in enumerate(geometry):
            if g is None or shapely.is_empty(g):
                lon_text.append("")
                lat_text.append("")
                spread.append("")
                continue
            if g.geom_type != "Point" and not shapely.is_valid(g):
                # a centroid of an invalid shape (a bow-tie's lobes cancel) says nothing reliable:
                # the row is an error, not a repaired guess at what was meant
                problems[i + 1] = [_invalid_geometry(shapely.is_valid_reason(g))]
                lon_text.append("")
                lat_text.append("")
                spread.append("")
                continue
            if g.geom_type == "Point":
                lon_text.append(repr(g.x))
                lat_text.append(repr(g.y))
                spread.append("")
            else:
                # a site drawn as an area: its centroid, uncertain by its farthest vertex
                c = g.centroid
                coords = shapely.get_coordinates(g)
                far = float(geodesic_distance_m(c.x, c.y, coords[:, 0], coords[:, 1]).max())
                lon_text.append(repr(c.x))
                lat_text.append(repr(c.y))
                spread.append(f"{far:.1f}")
        # columns already named lon/lat in the attributes would be ambiguous; a stated
        # uncertainty attribute is merged with the geometry's own spread (the larger wins)
        from auditor.inventory.columns import map_headers

        positions, seen = map_headers(headers)
        if "uncertainty_m" in seen:
            col = next(i for i, c in positions.items() if c == "uncertainty_m")
            name = headers[col]
            frame = frame.assign(**{name: [_larger(s, g) for s, g in zip(frame[name].tolist(), spread)]})
            extra_headers = ["lon", "lat"]
            spread_merged = True
        for canon in ("lon", "lat"):
            if canon in seen:
                raise InputError(
                    f"both a point geometry and a {seen[canon][0]!r} column give the {canon}",
                    source=str(p), hint="drop one of them",
                )
    rows = []
    values = frame.astype(object).where(frame.notna(), None).values.tolist()
    for i, vals in enumerate(values):
        cells = [cell_text(v) for v in vals]
        if geometry is not None:
            cells += [lon_text[i], lat_text[i]] + ([spread[i]] if not spread_merged else [])
        rows.append((i + 1, cells))
    return RawTable(str(p), fmt, headers + extra_headers, rows, encoding="binary", file_crs=file_crs, cell_problems=problems)


def _invalid_geometry(reason: str) -> CellProblem:
    if reason.startswith(("Self-intersection", "Ring Self-intersection")):
        what = "the polygon crosses itself"
        hint = "redraw the outline so that its edges do not cross (e.g. with QGIS Fix Geometries or shapely.make_valid), or give the site as a point"
    else:
        what = "the geometry is not valid"
        hint = "repair it (e.g. with QGIS Fix Geometries or shapely.make_valid), or give the site as a point"
    return CellProblem(None, f"{what} (shapely.is_valid_reason: {reason})", hint=hint)


def read_geo(p: Path) -> RawTable:
    try:
        import geopandas as gpd

        frame = gpd.read_file(p)
    except Exception as exc:  # pyogrio/GDAL raise a variety of errors for broken files
        raise InputError(f"cannot read as a geospatial file: {type(exc).__name__}: {exc}", source=str(p)) from exc
    fmt = "geojson" if p.suffix.lower() in (".geojson", ".json") else p.suffix.lower().lstrip(".")
    if len(frame) == 0 and len([c for c in frame.columns if c != getattr(frame, "_geometry_column_name", None)]) == 0:
        # no features and so no attribute columns: say that, not "no facility id column"
        raise InputError("the file has no features (and so no columns)", source=str(p), hint="add one feature per facility, each with an id property")
    table = _frame_to_table(frame, p, fmt)
    if fmt == "geojson" and isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns:
        geoms = frame.geometry
        unread = [i for i, missing in enumerate((geoms.isna() | geoms.is_empty).tolist()) if missing]
        if unread:
            for i, problem in _unread_geojson_geometries(p, unread, len(frame)).items():
                table.cell_problems.setdefault(i + 1, []).append(problem)
    return table


#: the geometry types of RFC 7946
_GEOJSON_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection")


def _unread_geojson_geometries(p: Path, indices: list[int], n_rows: int) -> dict[int, CellProblem]:
    """Why GDAL gave no geometry for the features at ``indices``, when the file states one.

    GDAL reads a geometry it cannot parse (string coordinates, an unknown type) as null,
    silently: the raw JSON is read again to tell those apart from a geometry stated as null
    (or empty), which is no geometry and not an error. Only done when some geometry came out
    null, and only when the file's features line up with the rows GDAL gave.
    """
    try:
        doc = json.loads(p.read_bytes())
    except (ValueError, RecursionError):
        return {}  # GDAL read what Python's json does not (e.g. comments): nothing to add
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        features = doc.get("features")
    elif isinstance(doc, dict) and doc.get("type") == "Feature":
        features = [doc]
    else:
        return {}
    if not isinstance(features, list) or len(features) != n_rows:
        return {}
    out = {}
    for i in indices:
        feature = features[i]
        geom = feature.get("geometry") if isinstance(feature, dict) else None
        problem = None if geom is None else _why_unread(geom)
        if problem is not None:
            out[i] = problem
    return out


def _why_unread(geom: Any) -> CellProblem | None:
    """What keeps a stated GeoJSON geometry from being read; None for an empty one (no geometry)."""
    if not isinstance(geom, dict):
        return CellProblem(None, "the geometry is not a GeoJSON object", short_text(_json_text(geom)),
                           'write it as {"type": "Point", "coordinates": [lon, lat]}')
    kind = geom.get("type")
    if not isinstance(kind, str) or kind.lower() not in {t.lower() for t in _GEOJSON_TYPES}:
        named = repr(kind) if isinstance(kind, str) else _json_text(kind)
        return CellProblem(None, f"{short_text(named)} is not a GeoJSON geometry type", hint="use one of: " + ", ".join(_GEOJSON_TYPES))
    if kind.lower() == "geometrycollection":
        members = geom.get("geometries")
        if not isinstance(members, list):
            return CellProblem(None, "the GeometryCollection has no list of geometries", hint='give "geometries": [...]')
        return next((x for x in map(_why_unread, members) if x is not None), None)
    coords = geom.get("coordinates")
    if coords is None:
        return CellProblem(None, f"the {kind} has no coordinates", hint="give [lon, lat] positions, or a null geometry")
    leaves: list[Any] = []
    stack = [coords]
    while stack:
        x = stack.pop()
        if isinstance(x, list):
            stack.extend(reversed(x))
        else:
            leaves.append(x)
    bad = next((x for x in leaves if isinstance(x, bool) or not isinstance(x, (int, float))), None)
    if bad is not None:
        return CellProblem(None, "coordinates are not numbers", short_text(_json_text(bad)),
                           "write coordinates as JSON numbers, e.g. [121.93, 30.905], not text")
    if not leaves:
        return None  # an empty geometry: stated as having no position, like null
    return CellProblem(None, f"the {kind}'s coordinates are not nested as GeoJSON requires", short_text(_json_text(coords)),
                       "a Point is [lon, lat]; a Polygon is a list of closed rings of [lon, lat] positions")


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def read_parquet(p: Path) -> RawTable:
    try:
        import pyarrow.parquet as pq

        meta = pq.read_schema(p).metadata or {}
        if b"geo" in meta:
            import geopandas as gpd

            frame = gpd.read_parquet(p)
            fmt = "geoparquet"
        else:
            import pandas as pd

            frame = pd.read_parquet(p)
            fmt = "parquet"
    except Exception as exc:
        raise InputError(f"cannot read as Parquet: {type(exc).__name__}: {exc}", source=str(p)) from exc
    return _frame_to_table(frame, p, fmt)
