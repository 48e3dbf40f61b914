"""auditor.inventory.read: XLSX workbooks, GeoJSON, GeoPackage and Parquet facility lists.

Every fixture is built at run time under ``tmp_path``, so that the bytes each test feeds the
reader are visible in the test itself (helpers: ``inventory_helpers.py``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inventory_helpers import CN_HEADER, CN_ROWS, LONLAT, csv_text, errors_on, facilities, one, write

from auditor.errors import InputError, InventoryError, UsageError
from auditor.inventory import load_inventory
from auditor.inventory.columns import HEADER_ALIASES, map_headers, normalise_header
from auditor.inventory.read import RawTable, read_table
from auditor.inventory.validate import parse_coordinate, validate_rows
from auditor.model import Facility, RowError

# -- XLSX ------------------------------------------------------------------------------------


def _xlsx(path: Path, sheets: dict[str, list[list]]) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r, row in enumerate(rows, start=1):
            for c, v in enumerate(row, start=1):
                if v is not None:
                    ws.cell(row=r, column=c, value=v)
    wb.save(path)
    return path


def test_xlsx_numbers_and_empty_rows(tmp_path: Path) -> None:
    p = _xlsx(tmp_path / "f.xlsx", {"Sheet1": [
        ["id", "名称", "经度", "纬度", "adcode", "count"],
        ["X1", "张江", 121.5, 31.25, 310115, 3],
        [None, None, None, None, None, None],
        [],
        ["X2", None, 121.0, 31.0, "310115", 2.5],
    ]})
    t = read_table(p)
    assert (t.format, t.encoding, t.notes) == ("xlsx", "xlsx", ["sheet 'Sheet1'"])
    assert t.headers == ["id", "名称", "经度", "纬度", "adcode", "count"]
    assert t.rows == [
        (2, ["X1", "张江", "121.5", "31.25", "310115", "3"]),
        (5, ["X2", "", "121", "31", "310115", "2.5"]),
    ]
    assert t.sha256 == hashlib.sha256(p.read_bytes()).hexdigest()
    x1, x2 = validate_rows(t)
    assert (x1.row, x1.name, x1.lon, x1.lat, x1.coordinate_decimals, x1.adcode) == (2, "张江", 121.5, 31.25, 1, "310115")
    assert (x2.row, x2.lon, x2.lat, x2.coordinate_decimals) == (5, 121.0, 31.0, 0)
    assert x1.extra == {"count": "3"} and x1.errors == () and x2.errors == ()


def test_xlsx_booleans_dates_and_short_rows(tmp_path: Path) -> None:
    import datetime as dt

    p = _xlsx(tmp_path / "f.xlsx", {"data": [
        ["id", "lon", "lat", "active", "since"],
        ["A", 121.5, 31.2, True, dt.date(2024, 5, 1)],
        ["B", 121.6],
    ]})
    t = read_table(p)
    assert t.rows[0] == (2, ["A", "121.5", "31.2", "TRUE", "2024-05-01T00:00:00"])
    assert t.rows[1] == (3, ["B", "121.6", "", "", ""])
    a, b = validate_rows(t)
    assert a.errors == ()
    assert [e.column for e in b.errors] == ["lat"]


def test_xlsx_prefers_sheet_named_facilities(tmp_path: Path) -> None:
    p = _xlsx(tmp_path / "f.xlsx", {
        "README": [["this workbook lists our sites"], ["id", "lon", "lat"], ["WRONG", 1, 1]],
        "facilities": [["id", "lon", "lat"], ["RIGHT", 121.5, 31.2]],
    })
    t = read_table(p)
    assert t.notes == ["sheet 'facilities'"]
    (fac,) = validate_rows(t)
    assert (fac.id, fac.row, fac.lon) == ("RIGHT", 2, 121.5)


def test_xlsx_first_sheet_otherwise_and_header_not_on_row_1(tmp_path: Path) -> None:
    p = _xlsx(tmp_path / "f.xlsx", {
        "站点": [[], [], ["编号", "经度", "纬度"], ["S1", 121.5, 31.2]],
        "Other": [["id", "lon", "lat"], ["NO", 1, 1]],
    })
    t = read_table(p)
    assert t.notes == ["sheet '站点'",
                       "sheet 'Other' also holds a table (header on row 1) and was not read: audit it with --sheet 'Other'",
                       "header found on row 3"]
    assert (t.sheet, t.header_row) == ("站点", 3)
    assert t.rows == [(4, ["S1", "121.5", "31.2"])]


def test_xlsx_value_beyond_header_is_flagged_like_csv(tmp_path: Path) -> None:
    p = _xlsx(tmp_path / "f.xlsx", {"facilities": [["id", "lon", "lat"], ["A", 121.5, 31.2, "stray"], ["B", 121.6, 31.3]]})
    a, b = validate_rows(read_table(p))
    assert b.errors == ()
    assert [e.column for e in a.errors] == [None]
    assert "quoting" not in a.errors[0].hint and "beyond the header" in a.errors[0].hint  # not the CSV hint


def test_geojson_without_features_says_so(tmp_path: Path) -> None:
    p = write(tmp_path, "none.geojson", b'{"type": "FeatureCollection", "features": []}')
    with pytest.raises(InputError, match="has no features") as ei:
        read_table(p)
    assert ei.value.source == str(p)


@pytest.mark.parametrize("data", [bytes(random.Random(7).randrange(256) for _ in range(4096)), b"PK\x03\x04broken",
                                  b"id,lon,lat\nA,121.5,31.2\n"], ids=["random", "truncated-zip", "csv-renamed"])
def test_corrupt_xlsx(tmp_path: Path, data: bytes) -> None:
    p = write(tmp_path, "corrupt.xlsx", data)
    with pytest.raises(InputError, match="cannot open as XLSX") as ei:
        read_table(p)
    assert ei.value.source == str(p)


def test_empty_xlsx(tmp_path: Path) -> None:
    p = _xlsx(tmp_path / "e.xlsx", {"facilities": [[], [None, None]]})
    with pytest.raises(InputError, match="empty"):
        read_table(p)


def _patch_sheet(path: Path, *replacements: tuple[str, str]) -> Path:
    """Rewrite the first sheet's XML (to give formulas the saved values a spreadsheet program would)."""
    import zipfile

    data = {}
    with zipfile.ZipFile(path) as z:
        items = z.infolist()
        for item in items:
            data[item.filename] = z.read(item.filename)
    sheet = data["xl/worksheets/sheet1.xml"].decode("utf-8")
    for old, new in replacements:
        assert old in sheet, (old, sheet)
        sheet = sheet.replace(old, new)
    data["xl/worksheets/sheet1.xml"] = sheet.encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for item in items:
            z.writestr(item, data[item.filename])
    return path


def test_xlsx_formula_without_saved_value_is_a_row_error_naming_the_cell(tmp_path: Path) -> None:
    # openpyxl (like most libraries) writes formulas without calculating them: no saved value
    p = _xlsx(tmp_path / "f.xlsx", {"facilities": [
        ["id", "经度", "纬度", "note"],
        ["A", "=A1+1", 31.2, "fine"],
        ["B", 121.6, 31.3, "=CONCAT(\"x\",\"y\")"],
        ["C", 121.7, 31.4, None],
    ]})
    t = read_table(p)
    assert t.rows == [(2, ["A", "", "31.2", "fine"]), (3, ["B", "121.6", "31.3", ""]), (4, ["C", "121.7", "31.4", ""])]
    assert sorted(t.cell_problems) == [2, 3]
    a, b, c = validate_rows(t)
    assert [(e.column, e.message, e.value) for e in a.errors] == [
        ("lon", "cell B2 holds a formula (=A1+1) with no saved value", "=A1+1")]  # not also "lon is empty"
    assert "open and save the file in a spreadsheet" in (a.errors[0].hint or "")
    assert [(e.column, e.message) for e in b.errors] == [("note", 'cell D3 holds a formula (=CONCAT("x","y")) with no saved value')]
    assert c.errors == ()


def test_xlsx_formula_with_saved_value_reads_the_value(tmp_path: Path) -> None:
    p = _xlsx(tmp_path / "f.xlsx", {"facilities": [
        ["id", "name", "lon", "lat"],
        ["A", '=IF(1,"","x")', "=1+120.5", 31.2],
    ]})
    _patch_sheet(p, ('<c r="C2"><f>1+120.5</f><v /></c>', '<c r="C2"><f>1+120.5</f><v>121.5</v></c>'),
                 # a text formula whose saved value is "" (as Excel saves =IF(...,"")): empty, and no error
                 ('<c r="B2"><f>IF(1,"","x")</f><v /></c>', '<c r="B2" t="str"><f>IF(1,"","x")</f><v></v></c>'))
    t = read_table(p)
    assert t.rows == [(2, ["A", "", "121.5", "31.2"])] and t.cell_problems == {}
    (a,) = validate_rows(t)
    assert (a.lon, a.name, a.errors) == (121.5, "", ())


def test_xlsx_row_of_only_unsaved_formulas_is_kept_not_skipped_as_blank(tmp_path: Path) -> None:
    p = _xlsx(tmp_path / "f.xlsx", {"facilities": [
        ["id", "lon", "lat"], ["A", 121.5, 31.2], ['="B"', "=120+1.5", "=31+0.2"], [None, None, None], ["C", 121.6, 31.3],
    ]})
    t = read_table(p)
    assert [n for n, _ in t.rows] == [2, 3, 5]
    _, b, _ = validate_rows(t)
    assert (b.id, b.row) == ("(row 3)", 3)
    assert [e.column for e in b.errors] == ["id", "lon", "lat"]
    assert b.errors[0].message == 'cell A3 holds a formula (="B") with no saved value'


def test_xlsx_without_formulas_is_read_once_even_with_formatted_blank_cells(tmp_path: Path, monkeypatch) -> None:
    import openpyxl
    from openpyxl.styles import Font

    import auditor.inventory.read_xlsx as read_xlsx

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["id", "lon", "lat", "note"])
    ws.append(["A", 121.5, 31.2])
    ws["D2"].font = Font(bold=True)  # a cell in the file with no value: it reads empty like an unsaved formula
    wb.save(tmp_path / "f.xlsx")
    monkeypatch.setattr(read_xlsx, "_unsaved_formulas", lambda *a: pytest.fail("second pass over a workbook without formulas"))
    t = read_table(tmp_path / "f.xlsx")
    assert t.rows == [(2, ["A", "121.5", "31.2", ""])] and t.cell_problems == {}


def test_xlsx_formula_problems_travel_with_their_rows_in_chunks(tmp_path: Path) -> None:
    from auditor.inventory.read import TableChunks

    p = _xlsx(tmp_path / "f.xlsx", {"facilities": [["id", "lon", "lat"], ["A", 121.5, 31.2], ["B", "=1+120", 31.2], ["C", 121.6, 31.3]]})
    chunks = list(TableChunks(p, chunk_rows=1))
    assert [sorted(c.cell_problems) for c in chunks] == [[], [3], []]
    (b,) = validate_rows(chunks[1])
    assert [e.column for e in b.errors] == ["lon"] and "cell B3" in b.errors[0].message


# -- GeoJSON / GeoPackage / Parquet ----------------------------------------------------------

SQUARE = [[121.0, 31.0], [121.01, 31.0], [121.01, 31.01], [121.0, 31.01], [121.0, 31.0]]


def _geojson(path: Path, features: list[dict], **top) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", **top, "features": features}, ensure_ascii=False),
                    encoding="utf-8")
    return path


def _feature(props: dict, geometry: dict | None) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def test_geojson_points_polygon_and_null_geometry(tmp_path: Path) -> None:
    from pyproj import Geod

    p = _geojson(tmp_path / "sites.geojson", [
        _feature({"id": "P1", "name": "张江", "kind": "idc"}, {"type": "Point", "coordinates": [121.5012, 31.2041]}),
        _feature({"id": "P2", "name": "园区", "kind": "cdn"}, {"type": "Polygon", "coordinates": [SQUARE]}),
        _feature({"id": "P3", "name": "未知", "kind": "pop"}, None),
    ])
    t = read_table(p)
    assert (t.format, t.file_crs) == ("geojson", "wgs84")
    assert t.headers == ["id", "name", "kind", "lon", "lat", "uncertainty_m"]
    assert [n for n, _ in t.rows] == [1, 2, 3]
    p1, p2, p3 = validate_rows(t)

    assert (p1.id, p1.row, p1.name, p1.kind) == ("P1", 1, "张江", "IDC")
    assert (p1.lon, p1.lat, p1.crs, p1.crs_stated, p1.uncertainty_m) == (121.5012, 31.2041, "wgs84", True, None)
    assert p1.errors == ()

    assert (p2.id, p2.row) == ("P2", 2)
    assert p2.lon == pytest.approx(121.005, abs=1e-9) and p2.lat == pytest.approx(31.005, abs=1e-9)
    _, _, dists = Geod(ellps="WGS84").inv([121.005] * 5, [31.005] * 5, [c[0] for c in SQUARE], [c[1] for c in SQUARE])
    assert p2.uncertainty_m > 0
    assert p2.uncertainty_m == pytest.approx(max(dists), abs=0.06)
    assert 700 < p2.uncertainty_m < 760
    assert (p2.crs, p2.crs_stated, p2.errors) == ("wgs84", True, ())

    assert (p3.id, p3.row, p3.name, p3.lon, p3.lat, p3.uncertainty_m) == ("P3", 3, "未知", None, None, None)
    assert p3.errors == ()


def test_geojson_crs_column_does_not_conflict(tmp_path: Path) -> None:
    # many Chinese tools write GCJ-02 coordinates into GeoJSON: a crs property overrides the RFC default
    p = _geojson(tmp_path / "g.geojson", [_feature({"id": "G", "crs": "GCJ-02"}, {"type": "Point", "coordinates": [121.5, 31.2]})])
    (fac,) = validate_rows(read_table(p))
    assert (fac.crs, fac.crs_stated, fac.errors) == ("gcj02", True, ())


@pytest.mark.parametrize("prop", ["lon", "经度", "Latitude"])
def test_geojson_point_and_lon_property_is_ambiguous(tmp_path: Path, prop: str) -> None:
    p = _geojson(tmp_path / "amb.geojson", [_feature({"id": "A", prop: 121.5}, {"type": "Point", "coordinates": [121.5, 31.2]})])
    with pytest.raises(InputError, match="both a point geometry and") as ei:
        read_table(p)
    assert repr(prop) in str(ei.value)
    assert ei.value.source == str(p)


def test_gpkg_in_web_mercator_is_reprojected(tmp_path: Path) -> None:
    import geopandas as gpd
    from pyproj import Transformer
    from shapely.geometry import Point

    lon, lat = 121.4737021, 31.2303904
    x, y = Transformer.from_crs(4326, 3857, always_xy=True).transform(lon, lat)
    assert abs(x - lon) > 1e6  # the file really holds metres
    frame = gpd.GeoDataFrame({"id": ["M1", "M2"], "adcode": ["310101", "310115"]},
                             geometry=[Point(x, y), None], crs="EPSG:3857")
    p = tmp_path / "sites.gpkg"
    frame.to_file(p, driver="GPKG")
    t = read_table(p)
    assert (t.format, t.file_crs) == ("gpkg", "wgs84")
    m1, m2 = validate_rows(t)
    assert m1.lon == pytest.approx(lon, abs=1e-6) and m1.lat == pytest.approx(lat, abs=1e-6)
    assert (m1.id, m1.row, m1.adcode, m1.crs, m1.crs_stated, m1.errors) == ("M1", 1, "310101", "wgs84", True, ())
    assert (m2.id, m2.row, m2.lon, m2.lat) == ("M2", 2, None, None)


def test_gpkg_crs_column_contradicting_file_crs(tmp_path: Path) -> None:
    import geopandas as gpd
    from shapely.geometry import Point

    p = tmp_path / "c.gpkg"
    gpd.GeoDataFrame({"id": ["C1", "C2"], "crs": ["bd09", "wgs84"]},
                     geometry=[Point(121.5, 31.2), Point(121.6, 31.3)], crs=4326).to_file(p, driver="GPKG")
    c1, c2 = validate_rows(read_table(p))
    assert [e.column for e in c1.errors] == ["crs"]
    assert "WGS-84" in c1.errors[0].message
    assert c2.errors == ()


def test_plain_parquet_with_lon_lat_columns(tmp_path: Path) -> None:
    import pandas as pd

    p = tmp_path / "f.parquet"
    pd.DataFrame({"id": [1, 2, 3], "经度": [121.5, 121.0, 121.25], "纬度": [31.2, None, 31.125],
                  "name": ["a", None, "上海"]}).to_parquet(p)
    t = read_table(p)
    assert (t.format, t.file_crs) == ("parquet", None)
    assert t.headers == ["id", "经度", "纬度", "name"]
    assert t.rows == [(1, ["1", "121.5", "31.2", "a"]), (2, ["2", "121", "", ""]), (3, ["3", "121.25", "31.125", "上海"])]
    f1, f2, f3 = validate_rows(t)
    assert (f1.id, f1.lon, f1.lat, f1.crs, f1.crs_stated, f1.errors) == ("1", 121.5, 31.2, None, False, ())
    assert [e.column for e in f2.errors] == ["lat"]
    assert (f3.lon, f3.lat, f3.coordinate_decimals, f3.name) == (121.25, 31.125, 2, "上海")


def test_geoparquet(tmp_path: Path) -> None:
    import geopandas as gpd
    from shapely.geometry import Point, Polygon

    p = tmp_path / "f.parquet"
    gpd.GeoDataFrame({"id": ["G1", "G2"]}, geometry=[Point(121.5, 31.2), Polygon(SQUARE)], crs=4326).to_parquet(p)
    t = read_table(p)
    assert (t.format, t.file_crs) == ("geoparquet", "wgs84")
    g1, g2 = validate_rows(t)
    assert (g1.lon, g1.lat, g1.crs, g1.crs_stated, g1.uncertainty_m) == (121.5, 31.2, "wgs84", True, None)
    assert g2.lon == pytest.approx(121.005) and g2.uncertainty_m > 700


@pytest.mark.parametrize(("name", "data", "match"), [
    ("bad.geojson", b"{not json", "cannot read as a geospatial file"),
    ("bad.gpkg", bytes(random.Random(1).randrange(256) for _ in range(2048)), "cannot read as a geospatial file"),
    ("bad.parquet", b"PAR1 nonsense", "cannot read as Parquet"),
])
def test_corrupt_geo_files(tmp_path: Path, name: str, data: bytes, match: str) -> None:
    p = write(tmp_path, name, data)
    with pytest.raises(InputError, match=match) as ei:
        read_table(p)
    assert ei.value.source == str(p)


def test_finite_coordinates_from_geometry_are_checked_like_text(tmp_path: Path) -> None:
    # a Point at 0,0 read from GeoJSON is a placeholder just like "0,0" in a CSV
    p = _geojson(tmp_path / "z.geojson", [_feature({"id": "Z"}, {"type": "Point", "coordinates": [0, 0]})])
    (fac,) = validate_rows(read_table(p))
    assert [e.column for e in fac.errors] == ["lon"] and "placeholder" in fac.errors[0].message


def test_geojson_geometry_gdal_cannot_read_is_a_row_error_saying_why(tmp_path: Path) -> None:
    # GDAL gives these a null geometry without a word; the raw JSON says why
    p = _geojson(tmp_path / "bad.geojson", [
        _feature({"id": "S"}, {"type": "Point", "coordinates": ["121.5", "31.2"]}),
        _feature({"id": "T"}, {"type": "Banana", "coordinates": [121.5, 31.2]}),
        _feature({"id": "G"}, {"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": ["1", 2]}]}),
        _feature({"id": "N"}, None),                                   # stated as null: no geometry, no error
        _feature({"id": "E"}, {"type": "Point", "coordinates": []}),   # empty: no geometry either
        _feature({"id": "OK"}, {"type": "Point", "coordinates": [121.5, 31.2]}),
    ])
    with pytest.warns(RuntimeWarning):  # GDAL's own note on the unknown type
        t = read_table(p)
    s, b, g, n, e, ok = validate_rows(t)
    assert [(x.column, x.message, x.value) for x in s.errors] == [("geometry", "coordinates are not numbers", '"121.5"')]
    assert [(x.column, x.message) for x in b.errors] == [("geometry", "'Banana' is not a GeoJSON geometry type")]
    assert [(x.column, x.message) for x in g.errors] == [("geometry", "coordinates are not numbers")]
    assert (n.errors, e.errors, ok.errors) == ((), (), ())
    assert (s.lon, s.lat, ok.lon) == (None, None, 121.5)


def test_self_intersecting_polygon_is_a_row_error_not_a_centroid(tmp_path: Path) -> None:
    bowtie = [[121.9, 30.9], [121.95, 30.95], [121.95, 30.9], [121.9, 30.95], [121.9, 30.9]]
    p = _geojson(tmp_path / "b.geojson", [_feature({"id": "B"}, {"type": "Polygon", "coordinates": [bowtie]}),
                                          _feature({"id": "Q"}, {"type": "Polygon", "coordinates": [SQUARE]})])
    b, q = validate_rows(read_table(p))
    assert [x.column for x in b.errors] == ["geometry"]
    assert b.errors[0].message == "the polygon crosses itself (shapely.is_valid_reason: Self-intersection[121.925 30.925])"
    assert "do not cross" in (b.errors[0].hint or "")
    assert (b.lon, b.lat, b.uncertainty_m) == (None, None, None)
    assert q.errors == () and q.uncertainty_m > 700


def test_invalid_polygon_in_a_geopackage_is_a_row_error_too(tmp_path: Path) -> None:
    import geopandas as gpd
    from shapely.geometry import Polygon

    p = tmp_path / "b.gpkg"
    gpd.GeoDataFrame({"id": ["B"]}, geometry=[Polygon([(121.9, 30.9), (121.95, 30.95), (121.95, 30.9), (121.9, 30.95)])],
                     crs=4326).to_file(p, driver="GPKG")
    (b,) = validate_rows(read_table(p))
    assert [x.column for x in b.errors] == ["geometry"] and "crosses itself" in b.errors[0].message
