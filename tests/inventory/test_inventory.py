"""auditor.inventory.read / columns / validate: facility lists in every supported format.

Every fixture is built at run time under ``tmp_path`` (CSV text encoded in the test,
XLSX with openpyxl, GeoJSON as literal JSON, GeoPackage/Parquet with geopandas/pandas),
so that the bytes each test feeds the reader are visible in the test itself.
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

from auditor.errors import InputError, InventoryError, UsageError
from auditor.inventory import load_inventory
from auditor.inventory.columns import HEADER_ALIASES, map_headers, normalise_header
from auditor.inventory.read import RawTable, read_table
from auditor.inventory.validate import parse_coordinate, validate_rows
from auditor.model import Facility, RowError

CN_HEADER = "编号,类型,名称,地址,经度,纬度,坐标系"
CN_ROWS = [
    "SH-001,IDC,浦东数据中心,上海市浦东新区张江路1号,121.5012,31.2041,百度坐标",
    "SH-002,CDN,虹桥节点（二期）,上海市闵行区申长路“88”号,121.32,31.19,火星坐标系",
]


# -- helpers ---------------------------------------------------------------------------------


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


# -- CSV encodings ---------------------------------------------------------------------------


def test_csv_utf8_table_and_facility_values(tmp_path: Path) -> None:
    data = "id,kind,name,lon,lat,crs\nA1,idc,张江机房,121.50,31.23,wgs84\nA2,CDN,,121.6,31.3,\n".encode()
    p = write(tmp_path, "f.csv", data)
    t = read_table(p)
    assert isinstance(t, RawTable)
    assert t.source == str(p)
    assert t.format == "csv"
    assert t.encoding == "utf-8"
    assert t.sha256 == hashlib.sha256(data).hexdigest()
    assert t.headers == ["id", "kind", "name", "lon", "lat", "crs"]
    assert t.rows == [
        (2, ["A1", "idc", "张江机房", "121.50", "31.23", "wgs84"]),
        (3, ["A2", "CDN", "", "121.6", "31.3", ""]),
    ]
    assert t.row_problems == {}
    assert t.notes == []
    f1, f2 = validate_rows(t)
    assert (f1.id, f1.row, f1.source, f1.kind, f1.name) == ("A1", 2, str(p), "IDC", "张江机房")
    assert (f1.lon, f1.lat, f1.crs, f1.crs_stated, f1.coordinate_decimals) == (121.5, 31.23, "wgs84", True, 2)
    assert f1.errors == () and f1.warnings == ()
    assert (f2.id, f2.row, f2.kind, f2.lon, f2.lat, f2.crs, f2.crs_stated) == ("A2", 3, "CDN", 121.6, 31.3, None, False)
    assert f2.has_coordinates and f2.errors == ()


def test_csv_utf8_bom_header_id_recognised(tmp_path: Path) -> None:
    p = write(tmp_path, "bom.csv", b"\xef\xbb\xbfid,lon,lat\r\nB1,121.5,31.2\r\n")
    t = read_table(p)
    assert t.encoding == "utf-8-sig"
    assert t.headers == ["id", "lon", "lat"]
    (fac,) = validate_rows(t)
    assert fac.id == "B1" and fac.errors == ()
    assert (fac.lon, fac.lat) == (121.5, 31.2)


def test_bom_inside_header_text_is_still_recognised() -> None:
    # a BOM that survives decoding (e.g. a doubled BOM) must not hide the 'id' header
    positions, seen = map_headers(["\ufeffid", "lon", "lat"])
    assert positions[0] == "id" and seen["id"] == ["\ufeffid"]


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda s: s.encode("utf-16"), id="utf-16-native-bom"),
        pytest.param(lambda s: b"\xff\xfe" + s.encode("utf-16-le"), id="utf-16-le-bom"),
        pytest.param(lambda s: b"\xfe\xff" + s.encode("utf-16-be"), id="utf-16-be-bom"),
    ],
)
def test_csv_utf16_with_bom(tmp_path: Path, encode) -> None:
    text = CN_HEADER + "\r\n" + "\r\n".join(CN_ROWS) + "\r\n"
    t = read_table(write(tmp_path, "u16.csv", encode(text)))
    assert t.encoding == "utf-16"
    assert t.headers == CN_HEADER.split(",")
    assert [r for _, r in t.rows] == [r.split(",") for r in CN_ROWS]
    assert [n for n, _ in t.rows] == [2, 3]


@pytest.mark.parametrize("codec", ["gbk", "gb18030"])
def test_csv_gbk_gb18030_chinese_headers_and_values(tmp_path: Path, codec: str) -> None:
    text = CN_HEADER + "\r\n" + "\r\n".join(CN_ROWS) + "\r\n"
    data = text.encode(codec)
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # the fixture really is not UTF-8
    t = read_table(write(tmp_path, "gbk.csv", data))
    assert t.encoding == "gb18030"
    assert t.headers == CN_HEADER.split(",")
    f1, f2 = validate_rows(t)
    assert (f1.id, f1.kind, f1.name, f1.address) == ("SH-001", "IDC", "浦东数据中心", "上海市浦东新区张江路1号")
    assert (f1.lon, f1.lat, f1.crs, f1.crs_stated, f1.coordinate_decimals) == (121.5012, 31.2041, "bd09", True, 4)
    assert f1.errors == ()
    # NFKC normalisation turns full-width brackets into ASCII ones in the validated name
    assert (f2.id, f2.kind, f2.name, f2.address) == ("SH-002", "CDN", "虹桥节点(二期)", "上海市闵行区申长路“88”号")
    assert t.rows[1][1][2] == "虹桥节点（二期）"  # ... while the raw table keeps the file's text
    assert (f2.crs, f2.errors) == ("gcj02", ())


def test_csv_gb18030_four_byte_characters(tmp_path: Path) -> None:
    # U+20000 and U+9FA6+ are outside GBK; GB18030 encodes them with four bytes
    text = "编号,名称,地址\r\nX1,𠀀机房,鿦路\r\n"
    t = read_table(write(tmp_path, "gb.csv", text.encode("gb18030")))
    assert t.encoding == "gb18030"
    (fac,) = validate_rows(t)
    assert (fac.id, fac.name, fac.address) == ("X1", "𠀀机房", "鿦路")


def test_mixed_crlf_and_lf_line_endings(tmp_path: Path) -> None:
    data = b"id,lon,lat\r\nA,121.5,31.2\nB,121.6,31.3\r\nC,121.7,31.4\nD,121.8,31.5"
    t = read_table(write(tmp_path, "mixed.csv", data))
    assert t.headers == ["id", "lon", "lat"]
    assert t.rows == [
        (2, ["A", "121.5", "31.2"]),
        (3, ["B", "121.6", "31.3"]),
        (4, ["C", "121.7", "31.4"]),
        (5, ["D", "121.8", "31.5"]),
    ]
    assert [f.lat for f in validate_rows(t)] == [31.2, 31.3, 31.4, 31.5]


def test_quoted_field_with_embedded_newline_row_numbers(tmp_path: Path) -> None:
    data = (
        "id,name,lon,lat\r\n"          # 1
        'A,"first line\r\n'             # 2  record A starts here
        'second line",121.5,31.2\r\n'   # 3
        'B,"x\n'                        # 4  record B starts here (LF inside)
        "y\n"                           # 5
        'z",121.6,31.3\r\n'             # 6
        "C,plain,121.7,31.4\r\n"        # 7
    )
    t = read_table(write(tmp_path, "nl.csv", data))
    assert [(n, r[0]) for n, r in t.rows] == [(2, "A"), (4, "B"), (7, "C")]
    assert t.rows[0][1][1] == "first line\r\nsecond line"
    assert t.rows[1][1][1] == "x\ny\nz"
    assert [f.row for f in validate_rows(t)] == [2, 4, 7]


def test_blank_lines_ignored_without_shifting_row_numbers(tmp_path: Path) -> None:
    data = "id,lon,lat\n\nA,121.5,31.2\n\n  \n,,\nB,121.6,31.3\n\n"
    t = read_table(write(tmp_path, "blank.csv", data))
    assert t.rows == [(3, ["A", "121.5", "31.2"]), (7, ["B", "121.6", "31.3"])]
    assert t.notes == ["5 blank line(s) ignored"]
    assert [(f.id, f.row) for f in validate_rows(t)] == [("A", 3), ("B", 7)]


def test_blank_lines_before_header(tmp_path: Path) -> None:
    t = read_table(write(tmp_path, "lead.csv", "\n\nid,lon,lat\nA,121.5,31.2\n"))
    assert t.headers == ["id", "lon", "lat"]
    assert t.rows == [(4, ["A", "121.5", "31.2"])]
    assert "header found on line 3" in t.notes


def test_row_with_too_many_fields_gets_an_error_others_fine(tmp_path: Path) -> None:
    data = "id,lon,lat\nA,121.5,31.2\nB,121.6,31.3,oops\nC,121.7,31.4,,\n"
    t = read_table(write(tmp_path, "wide.csv", data))
    assert t.row_problems == {3: "row has 4 fields but the header has 3"}
    assert t.rows[1] == (3, ["B", "121.6", "31.3"])
    assert t.rows[2] == (4, ["C", "121.7", "31.4"])  # trailing empty fields are harmless
    a, b, c = validate_rows(t)
    assert a.errors == () and c.errors == ()
    assert b.errors == (RowError(None, "row has 4 fields but the header has 3", hint="check quoting and delimiters"),)
    assert (b.id, b.lon, b.lat) == ("B", 121.6, 31.3)


def test_short_row_is_padded(tmp_path: Path) -> None:
    t = read_table(write(tmp_path, "short.csv", "id,lon,lat,name\nA,121.5,31.2\nB\n"))
    assert t.rows == [(2, ["A", "121.5", "31.2", ""]), (3, ["B", "", "", ""])]
    assert t.row_problems == {}
    a, b = validate_rows(t)
    assert (a.name, a.errors) == ("", ())
    assert (b.id, b.lon, b.lat, b.errors) == ("B", None, None, ())


def test_tsv_by_extension_and_by_sniffing(tmp_path: Path) -> None:
    body = "id\tname\tlon\tlat\nT1\ta, b\t121.5\t31.2\n"
    for name in ("f.tsv", "f.txt"):
        t = read_table(write(tmp_path, name, body))
        assert t.headers == ["id", "name", "lon", "lat"]
        assert t.rows == [(2, ["T1", "a, b", "121.5", "31.2"])]


def test_undecodable_bytes_name_file_and_line(tmp_path: Path) -> None:
    p = write(tmp_path, "bad.csv", b"id,lon\n1,\x80\x80\x80\xff\n")
    with pytest.raises(InputError) as ei:
        read_table(p)
    msg = str(ei.value)
    assert ei.value.source == str(p)
    assert msg.startswith(str(p) + ": ")
    assert "line 2" in msg and "offset 9" in msg
    assert "utf-8 or gb18030" in msg
    assert ei.value.hint == "save the file as UTF-8 or GBK/GB18030"
    assert not isinstance(ei.value, InventoryError)


def test_undecodable_bytes_on_a_later_line(tmp_path: Path) -> None:
    p = write(tmp_path, "bad3.csv", b"id,lon,lat\nA,121.5,31.2\nB,121.6,31.3\nC,\xff\xff,31\n")
    with pytest.raises(InputError, match=r"line 4\)"):
        read_table(p)


BOM_BAD = b"\xef\xbb\xbfid,lon,lat\nA,\xc3\x28,31\n"  # the bad byte 0xc3 is at offset 16, on line 2


def test_undecodable_after_utf8_bom_is_an_input_error(tmp_path: Path) -> None:
    p = write(tmp_path, "bombad.csv", BOM_BAD)
    with pytest.raises(InputError, match=r"cannot decode as utf-8-sig") as ei:
        read_table(p)
    assert ei.value.source == str(p)


def test_undecodable_after_utf8_bom_names_the_right_line(tmp_path: Path) -> None:
    with pytest.raises(InputError) as ei:
        read_table(write(tmp_path, "bombad.csv", BOM_BAD))
    assert "offset 16, line 2" in str(ei.value)


@pytest.mark.parametrize("data", [b"", b"\n\n   \r\n", b",,,\n"], ids=["zero-bytes", "blank-lines", "empty-cells"])
def test_empty_file_is_an_input_error(tmp_path: Path, data: bytes) -> None:
    p = write(tmp_path, "empty.csv", data)
    with pytest.raises(InputError, match="empty") as ei:
        read_table(p)
    assert ei.value.source == str(p)


def test_nul_bytes_are_an_input_error(tmp_path: Path) -> None:
    p = write(tmp_path, "nul.csv", b"id,lon,lat\nA,121.5\x00,31.2\n")
    with pytest.raises(InputError, match="NUL") as ei:
        read_table(p)
    assert ei.value.source == str(p)


def test_utf16_without_bom_is_rejected_not_misread(tmp_path: Path) -> None:
    # UTF-16-LE without a BOM decodes as UTF-8 full of NULs: it must not come back as data
    p = write(tmp_path, "u16nobom.csv", "id,lon,lat\nA,121.5,31.2\n".encode("utf-16-le"))
    with pytest.raises(InputError):
        read_table(p)


@pytest.mark.parametrize("name", ["f.docx", "f.xls", "f", "f.csv.bak"])
def test_unsupported_extension(tmp_path: Path, name: str) -> None:
    p = write(tmp_path, name, "id,lon,lat\nA,121.5,31.2\n")
    with pytest.raises(InputError, match="unsupported file type") as ei:
        read_table(p)
    assert ei.value.source == str(p)
    assert "CSV" in ei.value.hint and "XLSX" in ei.value.hint


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        read_table(tmp_path / "nope.csv")
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(InputError, match="file not found"):
        read_table(tmp_path / "dir.csv")


def test_uppercase_extension_accepted(tmp_path: Path) -> None:
    t = read_table(write(tmp_path, "F.CSV", "id,lon,lat\nA,121.5,31.2\n"))
    assert t.format == "csv" and t.rows == [(2, ["A", "121.5", "31.2"])]


def test_load_inventory_reads_and_validates(tmp_path: Path) -> None:
    p = write(tmp_path, "f.csv", "id,lon,lat,crs\nA,121.5,31.2,\nB,121.6,31.3,wgs84\n")
    table, facs = load_inventory(p, default_crs="gcj02")
    assert table.source == str(p)
    assert [(f.id, f.crs) for f in facs] == [("A", "gcj02"), ("B", "wgs84")]


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
     ("行政区划代码", "adcode"), ("区/县", None), ("区县", "district")],
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
    assert e.hint == "keep one of them"


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


@pytest.mark.parametrize("bad", ["121.5O", "121,5", "121°30'", "E121.5", "abc", "1.2.3"])
def test_lon_not_a_number(tmp_path: Path, bad: str) -> None:
    fac = one(tmp_path, LONLAT, ["A", bad, "31.2"])
    (err,) = fac.errors
    assert (err.column, err.message, err.value) == ("lon", "not a decimal number of degrees", bad)
    assert "121.5012" in err.hint
    assert (fac.lon, fac.lat, fac.coordinate_decimals) == (None, None, None)


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
    with pytest.raises(ValueError):
        parse_coordinate("121.5O")


@pytest.mark.parametrize("bad", ["12_1.5", "3_1.2"])
def test_underscore_in_coordinate_is_not_a_number(tmp_path: Path, bad: str) -> None:
    fac = one(tmp_path, LONLAT, ["A", bad, "31.2"] if bad.startswith("12") else ["A", "121.5", bad])
    assert fac.has_coordinates is False
    assert [e.message for e in fac.errors] == ["not a decimal number of degrees"]


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
    assert err.hint == "use one of: wgs84, gcj02, bd09"
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
    assert t.notes == ["sheet '站点'"]
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

    import auditor.inventory.read as read

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["id", "lon", "lat", "note"])
    ws.append(["A", 121.5, 31.2])
    ws["D2"].font = Font(bold=True)  # a cell in the file with no value: it reads empty like an unsaved formula
    wb.save(tmp_path / "f.xlsx")
    monkeypatch.setattr(read, "_unsaved_formulas", lambda *a: pytest.fail("second pass over a workbook without formulas"))
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
