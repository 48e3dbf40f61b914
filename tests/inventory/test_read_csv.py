"""auditor.inventory.read: CSV and TSV facility lists — encodings, line endings, quoting, broken files.

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


