"""Headers and values as people write them (issue 17): aliases and their precedence, the caller's
column mapping, finding the header below titles, sheets, merged cells, and the words and coordinate
forms of filing templates. Every file is written under ``tmp_path`` here, so the bytes are in the test."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from inventory_helpers import csv_text, write, xlsx

from auditor.errors import InputError, InventoryError, UsageError
from auditor.inventory import load_inventory
from auditor.inventory.columns import HEADER_ALIASES, LATER_ALIASES, lookup_header, parse_column_spec, resolve_columns
from auditor.inventory.profile import parse_profile, profile_columns
from auditor.inventory.read import read_table
from auditor.inventory.reading import Reading
from auditor.inventory.validate import validate_rows
from auditor.inventory.values import CRS_WORDS, KIND_CODES, KIND_WORDS, crs_word, kind_word, parse_degrees, parse_lonlat, tenure_word
from auditor.rules.base import CDN_KINDS, ISP_KINDS

# -- headers ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "canonical"),
    [("节点编号", "id"), ("*节点编号", "id"), ("节点\n编号", "id"), ("节点ID", "id"), ("Node ID", "id"), ("站点编码", "id"),
     ("节点名称", "name"), ("节点类型", "kind"), ("设施类型", "kind"), ("Node Type", "kind"), ("机房名称", "name"),
     ("机房地址", "address"), ("详细地址：", "address"), ("所属省份", "province"), ("省(自治区、直辖市)", "province"),
     ("所在城市", "city"), ("地市", "city"), ("所在区县", "district"), ("区/县", "district"), ("经纬度", "lonlat"),
     ("坐标（经度,纬度）", "lonlat"), ("经度(°)", "lon"), ("经度（度）", "lon"), ("东经", "lon"), ("北纬", "lat"),
     ("IP地址（多个用分号分隔）", "ip"), ("服务IP", "ip"), ("节点IP", "ip"), ("出口IP", "ip"), ("产权性质", "tenure"),
     ("是否自有", "tenure"), ("坐标系统", "crs"), ("Coordinate System", "crs"), ("行政区划代码", "adcode"),
     ("加速域名", None), ("带宽(Mbps)", None), ("机柜数", None), ("备注", None)],
)
def test_headers_as_templates_write_them(header: str, canonical: str | None) -> None:
    hit = lookup_header(header)
    assert (hit[0] if hit else None) == canonical


def test_later_aliases_are_aliases_of_their_column() -> None:
    for canon, ranks in LATER_ALIASES.items():
        for alias, rank in ranks.items():
            assert alias in HEADER_ALIASES[canon] and lookup_header(alias) == (canon, rank)


@pytest.mark.parametrize(
    ("headers", "read", "passed"),
    [(["序号", "节点编号", "经度", "纬度"], {1: "id"}, {0: "a row counter; id is read from '节点编号'"}),
     (["序号", "经度", "纬度"], {0: "id"}, {}),                                   # nothing better: the counter is the id
     (["机房编号", "节点编号", "地址"], {1: "id"}, {0: "id is read from '节点编号'"}),
     (["机房名称", "节点名称", "节点编号", "地址"], {1: "name"}, {0: "name is read from '节点名称'"}),
     (["业务类型", "节点类型", "编号", "地址"], {1: "kind"}, {0: "kind is read from '节点类型'"}),
     (["出口IP", "IP地址", "编号"], {1: "ip"}, {0: "ip is read from 'IP地址'"}),
     (["编号", "经纬度", "经度", "纬度"], {2: "lon", 3: "lat"},
      {1: "the coordinates are read from the separate longitude and latitude columns"})],
)
def test_precedence(headers: list[str], read: dict, passed: dict) -> None:
    cmap = resolve_columns(headers)
    assert {i: c for i, c in cmap.read.items() if c in set(read.values())} == read
    assert dict(cmap.passed_over) == passed
    assert cmap.conflicts == {}


def test_two_headers_of_one_rank_conflict_and_the_message_says_how_to_choose(tmp_path) -> None:
    p = write(tmp_path, "f.csv", "节点编号,IP地址,服务IP,经度,纬度\nA,1.2.3.4,5.6.7.8,121.5,31.2\n")
    with pytest.raises(InventoryError) as ei:
        validate_rows(read_table(p))
    assert ei.value.column == "服务IP" and "['IP地址', '服务IP'] all name the 'ip' column" in str(ei.value)
    assert ei.value.hint == "keep one of them, or say which to read with --columns ip=IP地址"
    (fac,) = validate_rows(read_table(p, Reading(columns={"ip": "服务IP"})))
    assert fac.ip == ("5.6.7.8",) and fac.extra == {"IP地址": "1.2.3.4"}


def test_the_callers_mapping_wins(tmp_path) -> None:
    p = write(tmp_path, "f.csv", "序号,资产编码,站点类别,类型,位置,坐标系\n1,A-1,CDN节点,机柜,\"121.93,30.905\",WGS84\n")
    table, (fac,) = load_inventory(p, columns="id=资产编码,kind=站点类别,lonlat=位置")
    assert (fac.id, fac.kind, fac.lon, fac.lat, fac.crs) == ("A-1", "CDN", 121.93, 30.905, "wgs84")
    assert fac.extra == {"序号": "1", "类型": "机柜"}
    cmap = table.column_map()
    assert cmap.passed_over == {0: "names id, but --columns says id=资产编码", 3: "names kind, but --columns says kind=站点类别"}
    assert cmap.record()["columns_given"] == ["id", "kind", "lonlat"]
    # COLUMN= reads no header as that column: 序号 would be the id, and is not
    with pytest.raises(InventoryError, match="no facility id column"):
        load_inventory(p, columns={"id": "", "lonlat": "位置"})


def test_a_mapping_naming_no_header_lists_the_headers_and_the_closest(tmp_path) -> None:
    p = write(tmp_path, "f.csv", "资产编码,经度,纬度\nA,121.5,31.2\n")
    with pytest.raises(InventoryError) as ei:
        load_inventory(p, columns="id=资产编号")
    e = ei.value
    assert (e.source, e.row, e.column) == (str(p), 1, "id")
    assert "--columns id=资产编号: no such header; headers read: 资产编码, 经度, 纬度" in str(e)
    assert e.hint == "did you mean id=资产编码?"
    with pytest.raises(UsageError, match="'identifier' is not one of: id, kind"):
        parse_column_spec("identifier=资产编码")
    with pytest.raises(InputError, match="write COLUMN=HEADER"):
        parse_column_spec("id")
    assert parse_column_spec("id=节点编号，kind=类型") == {"id": "节点编号", "kind": "类型"}


def test_a_missing_id_names_the_headers_read_and_the_one_that_looks_like_it(tmp_path) -> None:
    p = write(tmp_path, "f.csv", "标题：节点表\n节点编码号,节点名称,经度,纬度\nA,n,121.5,31.2\n")
    with pytest.raises(InventoryError) as ei:
        validate_rows(read_table(p))
    e = ei.value
    assert (e.row, e.column) == (2, "id")
    assert "no facility id column; headers read (row 2): 节点编码号, 节点名称, 经度, 纬度" in str(e)
    assert e.hint.startswith("'节点编码号' looks like an id header; name the column one of: id, ")
    assert e.hint.endswith("or say which header it is with --columns COLUMN=HEADER (e.g. id=节点编码号)")


def test_a_lon_without_lat_names_the_closest_header(tmp_path) -> None:
    p = write(tmp_path, "f.csv", "编号,经度,维度\nA,121.5,31.2\n")  # 维度 (dimension) typed for 纬度 (latitude): same pinyin
    with pytest.raises(InventoryError) as ei:
        validate_rows(read_table(p))
    assert ei.value.column == "lat" and ei.value.hint.startswith("'维度' looks like the lat column")


def test_profile_columns_block(tmp_path) -> None:
    doc = {"region": "shanghai", "facilities": "f.csv", "columns": {"id": "资产编码", "kind": None}}
    assert profile_columns(doc) == {"id": "资产编码", "kind": ""}
    parse_profile(doc, source="p.yaml")  # accepted
    with pytest.raises(InputError, match="key 'columns': 'identifier' is not a column"):
        parse_profile(dict(doc, columns={"identifier": "x"}), source="p.yaml")
    with pytest.raises(InputError, match="must be a mapping"):
        parse_profile(dict(doc, columns=["id"]), source="p.yaml")


# -- finding the table ---------------------------------------------------------------------------------


def test_title_rows_above_the_header_are_skipped_and_reported(tmp_path) -> None:
    text = csv_text([["XX公司节点清单（截至2025年3月31日）", "", ""], ["填报单位：XX公司", "", ""], [],
                     ["节点编号", "经度", "纬度"], ["A", "121.5", "31.2"]])
    t = read_table(write(tmp_path, "f.csv", text))
    assert (t.header_row, t.headers, t.rows) == (4, ["节点编号", "经度", "纬度"], [(5, ["A", "121.5", "31.2"])])
    assert t.notes == ["1 blank line(s) ignored", "header found on line 4",
                       "2 row(s) above the header skipped (titles, notes): row 1 'XX公司节点清单（截至2025年3月31日）'; row 2 '填报单位：XX公司'"]


def test_no_row_names_two_columns_then_the_first_row_is_the_header(tmp_path) -> None:
    t = read_table(write(tmp_path, "f.csv", "foo,bar\n编号,备注\n"))
    assert (t.header_row, t.headers, t.notes) == (1, ["foo", "bar"], [])


def test_header_row_given(tmp_path) -> None:
    p = write(tmp_path, "f.csv", "id,lon,lat\nA,121.5,31.2\n\n编号,经度,纬度\nB,121.6,31.3\n")
    t = read_table(p, Reading(header_row=4))
    assert (t.headers, t.rows) == (["编号", "经度", "纬度"], [(5, ["B", "121.6", "31.3"])])
    assert "2 row(s) above the header skipped (titles, notes): row 1 'id | lon | lat'; row 2 'A | 121.5 | 31.2'" in t.notes
    with pytest.raises(InputError, match="--header-row 3: that row is blank"):
        read_table(p, Reading(header_row=3))
    with pytest.raises(InputError, match="--header-row 9: that row is beyond the end of the table"):
        read_table(p, Reading(header_row=9))


def test_header_row_given_in_a_streamed_csv(tmp_path) -> None:
    from auditor.inventory.read import InventorySource, TableChunks

    p = write(tmp_path, "f.csv", "说明：下表为节点\n节点编号,经度,纬度\nA,121.5,31.2\nB,121.6,31.3\nC,121.7,31.4\n")
    chunks = TableChunks(InventorySource(p, Reading(header_row=2)), chunk_rows=2)
    blocks = list(chunks)
    rows = [r for b in blocks for r in (b.table()[0].rows if hasattr(b, "table") else b.rows)]
    assert [r for r, _ in rows] == [3, 4, 5]
    info = chunks.finish()
    assert (info.header_row, info.notes) == (2, ["header found on line 2",
                                                  "1 row(s) above the header skipped (titles, notes): row 1 '说明：下表为节点'"])


def test_sheet_given_by_name_or_position(tmp_path) -> None:
    p = xlsx(tmp_path / "w.xlsx", {"CDN节点": [["节点编号", "经度", "纬度"], ["C1", 121.5, 31.2]],
                                    "IDC机房": [["机房编号", "经度", "纬度"], ["I1", 121.6, 31.3]]})
    assert [r[1][0] for r in read_table(p).rows] == ["C1"]
    assert "sheet 'IDC机房' also holds a table (header on row 1) and was not read: audit it with --sheet 'IDC机房'" in read_table(p).notes
    assert [r[1][0] for r in read_table(p, Reading(sheet="IDC机房")).rows] == ["I1"]
    assert [r[1][0] for r in read_table(p, Reading(sheet="2")).rows] == ["I1"]
    assert [r[1][0] for r in read_table(p, Reading(sheet=2)).rows] == ["I1"]
    with pytest.raises(InputError, match="--sheet '机房': no such sheet; the workbook has 'CDN节点', 'IDC机房'"):
        read_table(p, Reading(sheet="机房"))
    with pytest.raises(InputError, match="--sheet 3: the workbook has 2 sheet"):
        read_table(p, Reading(sheet=3))
    with pytest.raises(InputError, match="only a workbook"):
        read_table(write(tmp_path, "f.csv", "id,lon,lat\n"), Reading(sheet="x"))


def test_hidden_and_instruction_sheets_are_passed_over(tmp_path) -> None:
    p = xlsx(tmp_path / "w.xlsx", {
        "示例": [["节点编号", "经度", "纬度"], ["EXAMPLE", 121.5, 31.2]],       # an example filled in: never audited by default
        "字典": [["节点类型", "坐标系"], ["CDN节点", "高德"]],
        "Sheet3": [["节点编号", "经度", "纬度"], ["REAL", 121.6, 31.3]],
    }, hidden=("字典",))
    t = read_table(p)
    assert (t.sheet, [r[1][0] for r in t.rows]) == ("Sheet3", ["REAL"])
    assert t.notes[:3] == ["sheet 'Sheet3'", "sheet '示例' skipped: its name says instructions or an example", "sheet '字典' skipped: hidden"]


def test_cells_merged_down_a_column_are_read_on_each_row(tmp_path) -> None:
    p = xlsx(tmp_path / "w.xlsx", {"s": [["节点编号", "所属省份", "所在城市", "经度", "纬度"],
                                          ["A", "上海市", "上海市", 121.5, 31.2], ["B", None, None, 121.6, 31.3],
                                          ["C", "北京市", "北京市", 116.4, 39.9], ["备注：以上为全部节点", None, None, None, None]]},
              merges=[("s", "B2:B3"), ("s", "C2:C3"), ("s", "A5:E5")])
    a, b, c, note = validate_rows(read_table(p))
    assert [(f.id, f.province, f.city) for f in (a, b, c)] == [("A", "上海市", "上海市"), ("B", "上海市", "上海市"), ("C", "北京市", "北京市")]
    assert note.id == "备注:以上为全部节点" and note.extra == {}  # a merged notes row across the table is not spread
    assert "2 range(s) of cells merged down a column read as their top cell on each row: B2:B3, C2:C3" in read_table(p).notes


# -- values ------------------------------------------------------------------------------------------


def test_the_rules_kinds_are_read_as_written() -> None:
    assert CDN_KINDS | ISP_KINDS <= KIND_CODES
    for code in CDN_KINDS | ISP_KINDS:
        assert kind_word(code.lower())[0] == code


@pytest.mark.parametrize(
    ("word", "kind", "tenure"),
    [("CDN节点", "CDN", ""), ("CDN边缘节点", "CDN", ""), ("内容分发", "CDN", ""), ("内容分发节点", "CDN", ""),
     ("CDN节点（华东二区）", "CDN", ""), ("IDC机房", "IDC", ""), ("数据中心", "IDC", ""), ("机房", "IDC", ""),
     ("自建机房", "IDC", "owned"), ("租用机房", "IDC", "rented"), ("互联网接入点", "ISP_POP", ""), ("POP点", "POP", ""),
     ("网管中心", "NOC", ""), ("其他", "OTHER", ""), ("cdn", "CDN", ""), ("isp pop", "ISP_POP", "")],
)
def test_kind_words(word: str, kind: str, tenure: str) -> None:
    assert kind_word(word) == (kind, tenure, None)


@pytest.mark.parametrize("word", ["汇聚节点", "CDN/接入点"])
def test_kind_words_not_read_are_said(word: str) -> None:
    kind, _, warning = kind_word(word)
    assert kind == word and warning is not None and "no kind-specific rule (CDN, ISP) applies" in warning


def test_every_kind_word_maps_to_a_code() -> None:
    assert set(KIND_WORDS.values()) <= KIND_CODES


@pytest.mark.parametrize(
    ("word", "header", "tenure", "warns"),
    [("自有", "", "owned", False), ("自建", "", "owned", False), ("租用", "", "rented", False), ("租赁", "", "rented", False),
     ("购买", "", "purchased", False), ("购置", "", "purchased", False), ("合作", "", "合作", True), ("是", "是否自有", "owned", False),
     ("否", "是否自有", "", True), ("是", "产权性质", "是", True)],
)
def test_tenure_words(word: str, header: str, tenure: str, warns: bool) -> None:
    got, warning = tenure_word(word, header)
    assert got == tenure and (warning is not None) == warns


@pytest.mark.parametrize(
    ("word", "crs"),
    [("高德", "gcj02"), ("高德坐标系", "gcj02"), ("腾讯地图", "gcj02"), ("国测局", "gcj02"), ("GCJ-02", "gcj02"), ("火星坐标", "gcj02"),
     ("百度", "bd09"), ("百度坐标", "bd09"), ("BD-09", "bd09"), ("bd09ll", "bd09"), ("WGS84", "wgs84"), ("WGS 84", "wgs84"),
     ("GPS", "wgs84"), ("CGCS2000", "wgs84"), ("2000国家大地坐标系", "wgs84"), ("ＷＧＳ８４", "wgs84"), ("UTM50N", None)],
)
def test_crs_words(word: str, crs: str | None) -> None:
    assert crs_word(word) == crs


def test_crs_words_are_codes() -> None:
    assert set(CRS_WORDS.values()) == {"wgs84", "gcj02", "bd09"}


def test_a_crs_stated_in_the_coordinate_header(tmp_path) -> None:
    p = write(tmp_path, "f.csv", "编号,经度（GCJ-02）,纬度（GCJ-02）,坐标系\nA,121.5,31.2,\nB,121.5,31.2,WGS84\n")
    a, b = validate_rows(read_table(p), default_crs="bd09")
    assert (a.crs, a.crs_stated, b.crs) == ("gcj02", True, "wgs84")  # the cell first, then the header, then the default
    p2 = write(tmp_path, "g.csv", "编号,经度（GCJ-02）,纬度（百度）\nA,121.5,31.2\n")
    with pytest.raises(InventoryError, match="state different coordinate systems"):
        validate_rows(read_table(p2))


@pytest.mark.parametrize(
    ("text", "lon", "lat", "order_note"),
    [("121.59,31.20", 121.59, 31.2, False), ("121.59，31.20", 121.59, 31.2, False), ("31.20,121.59", 121.59, 31.2, True),
     ("121.59 31.20", 121.59, 31.2, False), ("121.59;31.20", 121.59, 31.2, False), ("(121.59, 31.20)", 121.59, 31.2, False),
     ("经度:121.59 纬度:31.20", 121.59, 31.2, False), ("lat=31.20, lon=121.59", 121.59, 31.2, False),
     ("N31°12' E121°35'24\"", 121.59, 31.2, False), ("121,59 31,20", 121.59, 31.2, False),
     ("１２１．５９，３１．２０", 121.59, 31.2, False)],
)
def test_a_pair_in_one_cell(text: str, lon: float, lat: float, order_note: bool) -> None:
    got_lon, got_lat, _, notes = parse_lonlat(text)
    assert (round(got_lon, 6), round(got_lat, 6)) == (lon, lat)
    assert any("read as latitude, longitude" in n for n in notes) == order_note


@pytest.mark.parametrize(("text", "message"), [
    ("10.5,20.3", "outside China the order cannot be told"), ("121.59", "not two numbers"), ("121,59,31,20", "not two numbers"),
    ("E121.5 E31.2", "same hemisphere"), ("abc,def", "not a number of degrees")])
def test_a_pair_that_cannot_be_read(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_lonlat(text)


def test_pair_errors_reach_the_row(tmp_path) -> None:
    p = write(tmp_path, "f.csv", "编号,经纬度\nA,\"10.5,20.3\"\nB,\"121.5,31.2\"\n")
    a, b = validate_rows(read_table(p))
    assert [e.column for e in a.errors] == ["lonlat"] and "order cannot be told" in a.errors[0].message
    assert (b.lon, b.lat, b.errors) == (121.5, 31.2, ())


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 179), st.integers(0, 59), st.integers(0, 59), st.sampled_from(["°'\"", "度分秒"]), st.sampled_from(["", "E", "W"]))
def test_dms_reads_back_to_decimal_degrees(d: int, m: int, s: int, marks: str, hemi: str) -> None:
    text = f"{d}{marks[0]}{m}{marks[1]}{s}{marks[2]}{hemi}"
    got = parse_degrees(text)
    want = (d + m / 60 + s / 3600) * (-1 if hemi == "W" else 1)
    assert math.isclose(got.value, want, abs_tol=1e-12) and got.decimals == 3
    assert got.axis == ("lon" if hemi else None)


@settings(max_examples=200, deadline=None)
@given(st.floats(73.0, 136.0, allow_nan=False), st.floats(3.0, 54.0, allow_nan=False), st.sampled_from([",", "，", " ", ";"]), st.booleans())
def test_a_pair_in_china_is_read_either_way_round(lon: float, lat: float, sep: str, lat_first: bool) -> None:
    a, b = (f"{lat:.6f}", f"{lon:.6f}") if lat_first else (f"{lon:.6f}", f"{lat:.6f}")
    got_lon, got_lat, decimals, _ = parse_lonlat(f"{a}{sep}{b}")
    assert (round(got_lon, 6), round(got_lat, 6), decimals) == (round(lon, 6), round(lat, 6), 6)


def test_ip_ranges_become_prefixes(tmp_path) -> None:
    p = write(tmp_path, "f.csv", "编号,IP段,地址\nA,1.2.3.0-1.2.3.255,上海\nB,1.2.3.4-1.2.3.9,上海\nC,1.2.3.9-1.2.3.4,上海\n")
    a, b, c = validate_rows(read_table(p))
    assert a.ip == ("1.2.3.0/24",) and a.errors == ()
    assert b.ip == ("1.2.3.4/30", "1.2.3.8/31") and b.errors == ()
    assert [e.column for e in c.errors] == ["ip"]  # a backwards range is not guessed at


# -- administrative-unit names -----------------------------------------------------------------------


def test_did_you_mean_for_admin_unit_names(registry) -> None:
    from auditor.resolve.address.suggest import GazetteerNames, suggest_units

    names = GazetteerNames(registry)
    assert names.check("北京市", "", "朝杨区") == (
        "district '朝杨区' is not a name the gazetteer holds in 北京市; did you mean 朝阳区 (110105)? It is not used to place the "
        "facility until it is corrected",)
    assert names.check("北京市", "北京市", "朝阳区") == ()
    assert names.check("广东省", "深证市", "南山区")[0].startswith("city '深证市' is not a name the gazetteer holds in 广东省; did you mean 深圳市 (440300)?")
    (other,) = names.check("上海市", "", "朝阳区")
    assert other.startswith("district '朝阳区' is not in 上海市 (the gazetteer has it in 北京市, 吉林省长春市)")
    # without a province, every 朝阳区 and the homophone 潮阳区 are offered, with where they are
    assert [u.adcode for u in suggest_units(registry, "朝杨区")] == ["110105", "220104", "440513"]
    assert names.check("", "", "火星区") == ("district '火星区' is not a name the gazetteer holds; no unit's name is one slip away, "
                                           "and it is not used to place the facility",)


def test_names_are_checked_in_validation_when_a_gazetteer_is_given(tmp_path, registry) -> None:
    from auditor.resolve.address.suggest import GazetteerNames

    p = write(tmp_path, "f.csv", "节点编号,所属省份,所在区县\nA,北京市,朝杨区\nB,北京市,海淀区\nC,,朝杨区\n")
    a, b, c = validate_rows(read_table(p), unit_names=GazetteerNames(registry))
    assert "did you mean 朝阳区 (110105)?" in a.warnings[0] and b.warnings == ()
    assert "朝阳区 (110105, 北京市) or 朝阳区 (220104, 吉林省长春市)" in c.warnings[0]
    assert a.district == "朝杨区"  # never silently replaced


def test_the_gazetteer_check_survives_pickling(registry) -> None:
    import pickle

    from auditor.resolve.address.suggest import GazetteerNames

    again = pickle.loads(pickle.dumps(GazetteerNames(registry)))
    assert "朝阳区 (110105)" in again.check("北京市", "", "朝杨区")[0]


def test_lines_read_while_looking_for_the_header_are_cut_into_blocks_like_the_rest(tmp_path) -> None:
    """A quote-free CSV is split at line ends; the lines read past the header while finding it (up to 31)
    go into blocks of chunk_rows lines as every other line does."""
    from auditor.inventory.read import TableChunks

    data = "标题\n节点编号,经度,纬度\n" + "".join(f"N{i},121.5,31.2\n" for i in range(7))
    chunks = TableChunks(write(tmp_path, "f.csv", data), chunk_rows=3)
    blocks = list(chunks)
    tables = [b.table()[0] for b in blocks]
    assert [len(t.rows) for t in tables] == [3, 3, 1]
    assert [r for t in tables for r, _ in t.rows] == list(range(3, 10))
    assert chunks.finish().header_row == 2
