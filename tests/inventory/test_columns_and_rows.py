"""auditor.inventory.columns / validate: header aliases, and every row's values checked (ids, coordinates, CRS, IPs, hostnames, codes).

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

# -- headers ---------------------------------------------------------------------------------


def test_full_width_headers(tmp_path: Path) -> None:
    t = read_table(write(tmp_path, "fw.csv", "ｉｄ,ｌｏｎ,ＬＡＴ,ＩＰ地址\nA,121.5,31.2,203.0.113.7\n"))
    (fac,) = validate_rows(t)
    assert (fac.id, fac.lon, fac.lat, fac.ip, fac.extra) == ("A", 121.5, 31.2, ("203.0.113.7",), {})


def test_case_and_space_variants(tmp_path: Path) -> None:
    header = ["  Site ID", "Longitude", " LAT ", "Coordinate-System", "Facility Name", "IP Address"]
    fac = one(tmp_path, header, ["S1", "121.5", "31.2", "GCJ02", "n", "203.0.113.9"])
    assert (fac.id, fac.lon, fac.lat, fac.crs, fac.name, fac.ip) == ("S1", 121.5, 31.2, "gcj02", "n", ("203.0.113.9",))
    assert fac.extra == {} and fac.errors == ()


@pytest.mark.parametrize(
    ("header", "canonical"),
    [("ｌｏｎ", "lon"), ("Longitude", "lon"), (" LAT ", "lat"), ("经度", "lon"), ("纬度", "lat"),
     ("坐标系", "crs"), ("Site-ID", "id"), ("coord.sys", "crs"), ("精度（米）", "uncertainty_m"), ("IP段", "ip"),
     ("行政区划代码", "adcode"), ("区/县", "district"), ("区县", "district"), ("备注", None), ("机柜数", None)],
)
def test_normalise_header_maps_aliases(header: str, canonical: str | None) -> None:
    positions, seen = map_headers([header])
    if canonical is None:
        assert positions[0] == header.strip() and seen == {}
    else:
        assert positions[0] == canonical and seen == {canonical: [header]}


def test_every_alias_maps_to_its_canonical_column() -> None:
    for canon, aliases in HEADER_ALIASES.items():
        for alias in aliases:
            positions, _ = map_headers([alias, alias.upper(), f"  {alias} "])
            assert set(positions.values()) == {canon}, alias
    assert normalise_header(" Coordinate -- System ") == "coordinate_system"


def test_two_headers_naming_one_column(tmp_path: Path) -> None:
    p = write(tmp_path, "dup.csv", "id,lon,经度,lat\nA,121.5,121.5,31.2\n")
    with pytest.raises(InventoryError) as ei:
        validate_rows(read_table(p))
    e = ei.value
    assert (e.source, e.row, e.column) == (str(p), 1, "经度")
    assert "'lon'" in str(e) and "['lon', '经度']" in str(e)
    assert e.hint == "keep one of them, or say which to read with --columns lon=lon"


def test_two_id_headers(tmp_path: Path) -> None:
    p = write(tmp_path, "dupid.csv", "编号,ID,lon,lat\n1,A,121.5,31.2\n")
    with pytest.raises(InventoryError) as ei:
        validate_rows(read_table(p))
    assert ei.value.column == "ID" and "'id'" in str(ei.value)


def test_no_id_column(tmp_path: Path) -> None:
    p = write(tmp_path, "noid.csv", "name,lon,lat\nA,121.5,31.2\n")
    with pytest.raises(InventoryError, match="no facility id column") as ei:
        validate_rows(read_table(p))
    e = ei.value
    assert (e.source, e.row, e.column) == (str(p), 1, "id")
    for alias in HEADER_ALIASES["id"]:
        assert alias in e.hint
    assert "facility_id" in str(e) and "编号" in str(e)


def test_no_locating_column(tmp_path: Path) -> None:
    p = write(tmp_path, "noloc.csv", "id,name,kind,crs\nA,n,IDC,wgs84\n")
    with pytest.raises(InventoryError, match="no column that could locate a facility") as ei:
        validate_rows(read_table(p))
    assert (ei.value.row, ei.value.source) == (1, str(p))
    assert "经度" in ei.value.hint


@pytest.mark.parametrize("col", ["address", "ip", "hostname", "adcode", "province", "city", "district"])
def test_any_single_locating_column_suffices(tmp_path: Path, col: str) -> None:
    value = {"address": "上海", "ip": "203.0.113.1", "hostname": "a.example.cn", "adcode": "310115"}.get(col, "上海")
    fac = one(tmp_path, ["id", col], ["A", value])
    assert fac.errors == ()


@pytest.mark.parametrize(
    ("header", "missing", "message"),
    [("id,lon\n", "lat", "a lon column without a lat column"),
     ("id,纬度\n", "lon", "a lat column without a lon column")],
)
def test_lon_without_lat_column(tmp_path: Path, header: str, missing: str, message: str) -> None:
    p = write(tmp_path, "half.csv", header + "A,121.5\n")
    with pytest.raises(InventoryError) as ei:
        validate_rows(read_table(p))
    assert ei.value.column == missing
    assert message in str(ei.value)


def test_unknown_columns_kept_in_extra(tmp_path: Path) -> None:
    fac = one(tmp_path, ["id", "lon", "lat", " Owner Note ", "机柜数", "=cmd"], ["A", "121.5", "31.2", "x, y", "12", "=1+1"])
    assert fac.extra == {"Owner Note": "x, y", "机柜数": "12", "=cmd": "=1+1"}
    assert fac.errors == ()


# -- row validation --------------------------------------------------------------------------


def test_missing_id(tmp_path: Path) -> None:
    a, b, c = facilities(tmp_path, LONLAT, [["A", "121.5", "31.2"], ["  ", "121.6", "31.3"], ["C", "121.7", "31.4"]])
    assert b.id == "(row 3)" and b.row == 3
    assert b.errors == (RowError("id", "missing facility id", hint="every row needs a unique id"),)
    assert (b.lon, b.lat) == (121.6, 31.3)
    assert a.errors == () and c.errors == ()


def test_duplicate_id(tmp_path: Path) -> None:
    rows = [["A", "121.5", "31.2"], ["B", "121.6", "31.3"], [" A ", "121.7", "31.4"], ["A", "121.8", "31.5"]]
    a, b, a2, a3 = facilities(tmp_path, LONLAT, rows)
    assert a.errors == () and b.errors == ()
    assert a2.id == "A" and a2.row == 4
    assert a2.errors == (RowError("id", "duplicate id (first used on row 2)", "A", "give every facility its own id"),)
    assert a3.errors[0].message == "duplicate id (first used on row 2)"
    assert (a2.lon, a3.lon) == (121.7, 121.8)  # the rest of the row is still read


def test_missing_ids_are_not_duplicates_of_each_other(tmp_path: Path) -> None:
    facs = facilities(tmp_path, LONLAT, [["", "121.5", "31.2"], ["", "121.6", "31.3"]])
    assert [[e.message for e in f.errors] for f in facs] == [["missing facility id"]] * 2


@pytest.mark.parametrize("bad", ["121.5O", "121,5,1", "121°70'", "121.5°E°", "abc", "1.2.3", "1,215.5"])
def test_lon_not_a_number(tmp_path: Path, bad: str) -> None:
    fac = one(tmp_path, LONLAT, ["A", bad, "31.2"])
    (err,) = fac.errors
    assert (err.column, err.message, err.value) == ("lon", "not a number of degrees", bad)
    assert "121.5012" in err.hint and "121°30'04.3\"" in err.hint
    assert (fac.lon, fac.lat, fac.coordinate_decimals) == (None, None, None)


@pytest.mark.parametrize(
    ("lon", "lat", "values", "decimals"),
    [("121°30'", "31°12'", (121.5, 31.2), 1),                    # minutes: 1/60 deg, no finer than 0.1
     ("121°30'36\"", "31°12'00\"", (121.51, 31.2), 3),          # whole seconds: 1/3600 deg, no finer than 0.001
     ("121°30'36.0\"", "31°12'0.0\"", (121.51, 31.2), 4),
     ("121度30分36秒", "31度12分", (121.51, 31.2), 1),
     ("E121.5", "N31.2", (121.5, 31.2), 1), ("121.5E", "31.2N", (121.5, 31.2), 1),
     ("东经121.5", "北纬31.2", (121.5, 31.2), 1), ("W0.1276", "N51.5", (-0.1276, 51.5), 1),
     ("１２１，５", "３１，２", (121.5, 31.2), 1)],                   # full-width digits and a decimal comma
)
def test_coordinates_as_people_write_them(tmp_path: Path, lon: str, lat: str, values: tuple, decimals: int) -> None:
    fac = one(tmp_path, LONLAT, ["A", lon, lat])
    assert fac.errors == ()
    assert (round(fac.lon, 9), round(fac.lat, 9)) == values
    assert fac.coordinate_decimals == decimals


def test_decimal_comma_is_said(tmp_path: Path) -> None:
    fac = one(tmp_path, LONLAT, ["A", "121,93", "30,905"])
    assert (fac.lon, fac.lat, fac.errors) == (121.93, 30.905, ())
    assert fac.warnings == ("lon: '121,93' read with a decimal comma as 121.93", "lat: '30,905' read with a decimal comma as 30.905")


def test_hemisphere_letter_in_the_wrong_column(tmp_path: Path) -> None:
    fac = one(tmp_path, LONLAT, ["A", "N31.2", "E121.5"])
    assert [(e.column, e.message) for e in fac.errors] == [
        ("lon", "the lon column holds a latitude (its hemisphere letter says so)"),
        ("lat", "the lat column holds a longitude (its hemisphere letter says so)")]
    assert not fac.has_coordinates


def test_lat_not_a_number(tmp_path: Path) -> None:
    fac = one(tmp_path, LONLAT, ["A", "121.5", "3l.2"])
    assert [(e.column, e.value) for e in fac.errors] == [("lat", "3l.2")]
    assert fac.lon is None and fac.lat is None


def test_both_not_numbers_two_errors(tmp_path: Path) -> None:
    fac = one(tmp_path, LONLAT, ["A", "x", "y"])
    assert [(e.column, e.value) for e in fac.errors] == [("lon", "x"), ("lat", "y")]


@pytest.mark.parametrize(
    ("lon", "lat", "column"),
    [("NaN", "31.2", "lon"), ("121.5", "nan", "lat"), ("inf", "31.2", "lon"), ("121.5", "-Infinity", "lat"),
     ("1e400", "31.2", "lon")],
)
def test_non_finite_coordinates(tmp_path: Path, lon: str, lat: str, column: str) -> None:
    fac = one(tmp_path, LONLAT, ["A", lon, lat])
    (err,) = fac.errors
    assert (err.column, err.message) == (column, "coordinate is not a finite number")
    assert err.value == (lon if column == "lon" else lat)
    assert fac.lon is None and fac.lat is None


@pytest.mark.parametrize(
    ("lon", "lat", "column"),
    [("200", "31.2", "lon"), ("-180.0001", "31.2", "lon"), ("121.5", "90.5", "lat"), ("121.5", "-95", "lat"),
     ("500", "500", "lat")],
)
def test_out_of_range(tmp_path: Path, lon: str, lat: str, column: str) -> None:
    fac = one(tmp_path, LONLAT, ["A", lon, lat])
    (err,) = fac.errors
    assert err.column == column
    assert err.message == "coordinate out of range (lon -180..180, lat -90..90)"
    assert err.value == (lon if column == "lon" else lat)
    assert fac.lon is None and fac.lat is None


@pytest.mark.parametrize(("lon", "lat"), [("180", "90"), ("-180", "-90"), ("0", "51.5"), ("-0.1276", "0")])
def test_range_edges_and_single_zero_accepted(tmp_path: Path, lon: str, lat: str) -> None:
    fac = one(tmp_path, LONLAT, ["A", lon, lat])
    assert fac.errors == () and (fac.lon, fac.lat) == (float(lon), float(lat))


def test_swapped_lon_lat(tmp_path: Path) -> None:
    fac = one(tmp_path, LONLAT, ["A", "31.2", "121.5"])
    (err,) = fac.errors
    assert err.column == "lat"
    assert "swapped" in err.message
    assert err.value == "lon=31.2, lat=121.5"
    assert err.hint == "did you mean lon=121.5, lat=31.2?"
    assert fac.lon is None and fac.lat is None


@pytest.mark.parametrize(("lon", "lat"), [("0", "0"), ("0.0", "0.000"), ("-0", "+0")])
def test_zero_zero_placeholder(tmp_path: Path, lon: str, lat: str) -> None:
    fac = one(tmp_path, LONLAT, ["A", lon, lat])
    (err,) = fac.errors
    assert err.column == "lon" and "placeholder" in err.message
    assert err.hint == "leave them empty if unknown"
    assert fac.lon is None and fac.lat is None and not fac.has_coordinates


@pytest.mark.parametrize(("lon", "lat", "column"), [("121.5", "", "lat"), ("", "31.2", "lon"), ("121.5", "  ", "lat")])
def test_one_of_lon_lat_empty(tmp_path: Path, lon: str, lat: str, column: str) -> None:
    fac = one(tmp_path, LONLAT, ["A", lon, lat])
    (err,) = fac.errors
    assert err.column == column
    other = "lon" if column == "lat" else "lat"
    assert err.message == f"{column} is empty while {other} is given"
    assert err.hint == "give both or neither"
    assert fac.lon is None and fac.lat is None


def test_both_empty_is_fine(tmp_path: Path) -> None:
    fac = one(tmp_path, ["id", "lon", "lat", "address"], ["A", "", "", "上海市"])
    assert fac.errors == () and not fac.has_coordinates and fac.coordinate_decimals is None


@pytest.mark.parametrize(
    ("lon", "lat", "decimals", "values"),
    [("121.50", "31.23", 2, (121.5, 31.23)), ("121", "31", 0, (121.0, 31.0)),
     ("121.5012", "31.2", 1, (121.5012, 31.2)), ("121.", "31.20", 0, (121.0, 31.2)),
     ("1.215e2", "31.2", None, (121.5, 31.2)), ("121.5°", " 31.25 ", 1, (121.5, 31.25)),
     ("１２１.５０", "３１.２３", 2, (121.5, 31.23)), ("+121.500000", "31.2300000", 6, (121.5, 31.23))],
)
def test_decimals_counted(tmp_path: Path, lon: str, lat: str, decimals: int | None, values: tuple) -> None:
    fac = one(tmp_path, LONLAT, ["A", lon, lat])
    assert fac.errors == ()
    assert (fac.lon, fac.lat) == values
    assert fac.coordinate_decimals == decimals


def test_parse_coordinate_directly() -> None:
    assert parse_coordinate("121.50") == (121.5, 2)
    assert parse_coordinate("121") == (121.0, 0)
    assert parse_coordinate(".5") == (0.5, 1)
    assert parse_coordinate("-33.8688") == (-33.8688, 4)
    assert parse_coordinate("121°30'") == (121.5, 1)
    assert parse_coordinate("S33.8688") == (-33.8688, 4)
    with pytest.raises(ValueError):
        parse_coordinate("121.5O")


@pytest.mark.parametrize("bad", ["12_1.5", "3_1.2"])
def test_underscore_in_coordinate_is_not_a_number(tmp_path: Path, bad: str) -> None:
    fac = one(tmp_path, LONLAT, ["A", bad, "31.2"] if bad.startswith("12") else ["A", "121.5", bad])
    assert fac.has_coordinates is False
    assert [e.message for e in fac.errors] == ["not a number of degrees"]


@pytest.mark.parametrize(
    ("text", "crs"),
    [("GCJ-02", "gcj02"), ("百度坐标", "bd09"), ("EPSG:4326", "wgs84"), ("epsg:4326", "wgs84"), (" WGS 84 ", "wgs84"),
     ("bd-09", "bd09"), ("火星坐标", "gcj02"), ("CGCS2000", "wgs84"), ("ＧＣＪ０２", "gcj02")],
)
def test_crs_aliases(tmp_path: Path, text: str, crs: str) -> None:
    fac = one(tmp_path, ["id", "lon", "lat", "crs"], ["A", "121.5", "31.2", text])
    assert (fac.crs, fac.crs_stated, fac.errors) == (crs, True, ())


@pytest.mark.parametrize("bad", ["utm50n", "EPSG:3857", "wgs85"])
def test_unknown_crs_lists_valid_values(tmp_path: Path, bad: str) -> None:
    fac = one(tmp_path, ["id", "lon", "lat", "坐标系"], ["A", "121.5", "31.2", bad], default_crs="gcj02")
    (err,) = fac.errors
    assert err.column == "crs"
    assert err.message == f"unknown coordinate system {bad!r}"
    assert err.value == bad
    assert err.hint == "use one of: wgs84, gcj02, bd09 (or 高德/腾讯/国测局 = gcj02, 百度 = bd09, GPS/CGCS2000 = wgs84)"
    assert (fac.crs, fac.crs_stated) == (None, False)  # the default does not paper over a bad cell
    assert (fac.lon, fac.lat) == (121.5, 31.2)


def test_default_crs_only_for_empty_crs_cells(tmp_path: Path) -> None:
    header = ["id", "lon", "lat", "crs"]
    rows = [["A", "121.5", "31.2", ""], ["B", "121.5", "31.2", "wgs84"], ["C", "121.5", "31.2", "百度坐标"],
            ["D", "121.5", "31.2", "  "]]
    with_default = facilities(tmp_path, header, rows, default_crs="GCJ-02")
    assert [(f.id, f.crs, f.crs_stated) for f in with_default] == [
        ("A", "gcj02", True), ("B", "wgs84", True), ("C", "bd09", True), ("D", "gcj02", True)]
    without = facilities(tmp_path, header, rows)
    assert [(f.id, f.crs, f.crs_stated) for f in without] == [
        ("A", None, False), ("B", "wgs84", True), ("C", "bd09", True), ("D", None, False)]


def test_default_crs_without_crs_column(tmp_path: Path) -> None:
    fac = one(tmp_path, LONLAT, ["A", "121.5", "31.2"], default_crs="bd09")
    assert (fac.crs, fac.crs_stated) == ("bd09", True)


def test_bad_default_crs_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as ei:
        facilities(tmp_path, LONLAT, [["A", "121.5", "31.2"]], default_crs="mercator")
    assert ei.value.valid == ("wgs84", "gcj02", "bd09")


@pytest.mark.parametrize("bad", ["300.1.1.1", "10.0.0.1:80", "1.2.3", "2001:db8::g", "10.0.0.0/33", "example.com"])
def test_invalid_ip(tmp_path: Path, bad: str) -> None:
    fac = one(tmp_path, ["id", "ip"], ["A", f"203.0.113.7;{bad}"])
    (err,) = fac.errors
    assert (err.column, err.message, err.value) == ("ip", "not an IP address or prefix", bad)
    assert "203.0.113.0/24" in err.hint and "';'" in err.hint
    assert fac.ip == ("203.0.113.7", bad)


def test_valid_ip_lists(tmp_path: Path) -> None:
    fac = one(tmp_path, ["id", "IP地址"], ["A", " 203.0.113.7; 2001:db8::1;203.0.113.0/24 ；2001:DB8::/32;;198.51.100.9/24 "])
    assert fac.errors == ()
    assert fac.ip == ("203.0.113.7", "2001:db8::1", "203.0.113.0/24", "2001:DB8::/32", "198.51.100.9/24")


@pytest.mark.parametrize("bad", ["bad_host!.example.com", "-lead.example.com", "trail-.example.com", "a..b",
                                 "x" * 64 + ".example.com", "*.example.com"])
def test_invalid_hostname(tmp_path: Path, bad: str) -> None:
    fac = one(tmp_path, ["id", "hostname"], ["A", bad])
    assert [(e.column, e.message) for e in fac.errors] == [("hostname", "not a valid hostname")]
    assert fac.errors[0].value == bad.lower()


def test_valid_hostnames(tmp_path: Path) -> None:
    fac = one(tmp_path, ["id", "域名"], ["A", "WWW.Example.CN.; cdn.example.com 例子.中国"])
    assert fac.errors == ()
    assert fac.hostname == ("www.example.cn", "cdn.example.com", "例子.中国")


@pytest.mark.parametrize("bad", ["31011", "3101150", "31011a", "310 115", "３１０１１"])
def test_adcode_not_six_digits(tmp_path: Path, bad: str) -> None:
    fac = one(tmp_path, ["id", "adcode"], ["A", bad])
    (err,) = fac.errors
    assert (err.column, err.message) == ("adcode", "an adcode has six digits")


def test_adcode_six_digits_and_admin_columns(tmp_path: Path) -> None:
    header = ["id", "行政区划代码", "省份", "城市", "区县"]
    fac = one(tmp_path, header, ["A", " 310115 ", "上海市", "上海市", "浦东新区"])
    assert (fac.adcode, fac.province, fac.city, fac.district, fac.errors) == ("310115", "上海市", "上海市", "浦东新区", ())


@pytest.mark.parametrize(
    ("raw", "tenure"),
    [("租用", "rented"), ("租赁", "rented"), ("Leased", "rented"), ("自有", "owned"), ("OWNED", "owned"),
     ("购买", "purchased"), ("bought", "purchased"), ("", "")],
)
def test_tenure_aliases(tmp_path: Path, raw: str, tenure: str) -> None:
    fac = one(tmp_path, ["id", "address", "产权"], ["A", "上海", raw])
    assert (fac.tenure, fac.warnings, fac.errors) == (tenure, (), ())


def test_unknown_tenure_warns_but_audits(tmp_path: Path) -> None:
    fac = one(tmp_path, ["id", "address", "tenure"], ["A", "上海", "Borrowed"])
    assert fac.tenure == "borrowed" and fac.errors == ()
    assert fac.warnings == ("tenure 'Borrowed' is not owned/rented/purchased; the facility is audited all the same",)


@pytest.mark.parametrize(("raw", "kind"), [("idc", "IDC"), ("isp-pop", "ISP_POP"), ("data processing", "DATA_PROCESSING")])
def test_kind_normalised(tmp_path: Path, raw: str, kind: str) -> None:
    assert one(tmp_path, ["id", "address", "类型"], ["A", "上海", raw]).kind == kind


@pytest.mark.parametrize(("raw", "value", "ok"), [("50", 50.0, True), ("0", 0.0, True), ("-5", None, False),
                                                  ("nan", None, False), ("far", None, False)])
def test_uncertainty_column(tmp_path: Path, raw: str, value: float | None, ok: bool) -> None:
    fac = one(tmp_path, ["id", "lon", "lat", "精度"], ["A", "121.5", "31.2", raw])
    assert fac.uncertainty_m == value
    assert [e.column for e in fac.errors] == ([] if ok else ["uncertainty_m"])


def test_every_row_yields_one_facility_in_order(tmp_path: Path) -> None:
    rows = [[f"F{i}", "121.5" if i % 3 else "bad", "31.2" if i % 4 else "", "300.1.1.1" if i % 5 == 0 else ""]
            for i in range(25)]
    facs = facilities(tmp_path, ["id", "lon", "lat", "ip"], rows)
    assert [f.id for f in facs] == [f"F{i}" for i in range(25)]
    assert [f.row for f in facs] == list(range(2, 27))
    assert sum(1 for f in facs if f.errors) == sum(1 for i in range(25) if i % 3 == 0 or i % 4 == 0 or i % 5 == 0)


# -- Hypothesis: junk never breaks the one-row-one-facility contract -------------------------

JUNK_ALPHABET = st.characters(
    blacklist_categories=("Cs",),             # surrogates cannot be written as UTF-8
    blacklist_characters="\x00",              # NUL makes the whole file an InputError (tested above)
)
JUNK_PIECES = st.sampled_from(
    [",", '"', '""', "\n", "\r\n", "\r", "\t", ";", "=cmd|' /C calc'!A0", "=1+1", "+SUM(A1)", "@x", "-2",
     "上海市浦东新区", "经度", "１２１.５", "121.5", "31.2", "nan", "inf", "0", "300.1.1.1", "2001:db8::1",
     "例子.中国", "xn--", "..", " ", "\ufeff", "ｌｏｎ", "gcj-02", "百度坐标", "租用", "310115"]
)
JUNK = st.lists(st.one_of(JUNK_PIECES, st.text(JUNK_ALPHABET, max_size=6)), max_size=4).map("".join)
HEADER = ["id", "kind", "tenure", "name", "address", "lon", "lat", "crs", "uncertainty_m", "ip", "hostname",
          "adcode", "note"]
ID_SUFFIX = st.text(alphabet=string.ascii_letters + string.digits + "机房上海-_", max_size=5)


@settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.tuples(ID_SUFFIX, st.lists(JUNK, min_size=len(HEADER) - 1, max_size=len(HEADER) - 1)),
                  max_size=30),
    default_crs=st.sampled_from([None, "wgs84", "GCJ-02"]),
)
def test_random_tables_keep_one_facility_per_row(tmp_path: Path, rows, default_crs) -> None:
    records = [[f"r{i}{suffix}", *cells] for i, (suffix, cells) in enumerate(rows)]
    header_text = csv_text([HEADER])
    texts = [csv_text([r]) for r in records]
    # expected row: the physical line each record starts on, counting lines as csv does (\r\n, \r, \n)
    expected_rows, line = [], 1 + len(io.StringIO(header_text, newline="").readlines())
    for t in texts:
        expected_rows.append(line)
        line += len(io.StringIO(t, newline="").readlines())
    p = write(tmp_path, "junk.csv", header_text + "".join(texts))
    table = read_table(p)
    assert [vals for _, vals in table.rows] == records
    facs = validate_rows(table, default_crs=default_crs)
    assert len(facs) == len(records)
    assert [f.id for f in facs] == [r[0] for r in records]
    assert [f.row for f in facs] == expected_rows
    assert table.row_problems == {}
    for f, rec in zip(facs, records):
        assert f.extra == {"note": rec[-1]}
        assert all(isinstance(e, RowError) for e in f.errors)
        if f.lon is not None:
            assert -180 <= f.lon <= 180 and -90 <= f.lat <= 90 and (f.lon, f.lat) != (0.0, 0.0)


