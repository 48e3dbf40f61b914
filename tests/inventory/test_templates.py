"""The filing-template corpus (tests/fixtures/templates, written by make_templates.py there): each list as
operators and regulators keep it, read with no options, and the exact reading it must produce — where the
table is, which header gave each column, the columns not used, every row's id, kind, tenure, coordinates
and system — then audited end to end (ids from 节点编号, CDN rows judged by the CDN rule, verdicts)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import TESTS

from auditor.cli import main
from auditor.inventory import load_inventory
from auditor.inventory.read import read_table

TEMPLATES = TESTS / "fixtures" / "templates"
AS_OF = ["--as-of", "2026-11-01", "--generated-at", "2026-11-01T00:00:00Z"]


def _reading(name: str):
    return load_inventory(TEMPLATES / name)


def _rows(facilities) -> list[tuple]:
    return [(f.row, f.id, f.kind, f.tenure, None if f.lon is None else round(f.lon, 7), None if f.lat is None else round(f.lat, 7), f.crs)
            for f in facilities]


def test_the_generator_writes_the_committed_csv_files() -> None:
    spec = importlib.util.spec_from_file_location("make_templates", TEMPLATES / "make_templates.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, data in module.csv_files().items():
        assert (TEMPLATES / name).read_bytes() == data, name


def test_utf8_bom_csv_with_a_title_row() -> None:
    table, facilities = _reading("cdn-nodes-utf8-bom.csv")
    assert (table.encoding, table.header_row) == ("utf-8-sig", 3)
    assert table.notes == [
        "header found on line 3",
        "2 row(s) above the header skipped (titles, notes): row 1 '某某云（上海）有限公司CDN节点清单（截至2025年3月31日）'; "
        "row 2 '填报单位：某某云（上海）有限公司 | 填报日期：2025-04-01'",
    ]
    record = table.column_map().record()
    assert record == {
        "columns": {"id": "节点编号", "kind": "节点类型", "tenure": "产权性质", "name": "节点名称", "address": "详细地址",
                    "lon": "经度(°)", "lat": "纬度(°)", "crs": "坐标系", "ip": "服务IP", "province": "所属省份", "city": "所在城市",
                    "district": "所在区县"},
        "unused_columns": ["序号", "带宽(Mbps)", "备注"],
    }
    assert table.column_map().passed_over == {0: "a row counter; id is read from '节点编号'"}
    assert _rows(facilities) == [
        (4, "SH-CDN-001", "CDN", "rented", 121.93, 30.905, "wgs84"),
        (5, "SH-CDN-002", "CDN", "rented", 121.6041993, 31.207788, "gcj02"),       # 高德
        (6, "SH-IDC-001", "IDC", "owned", 121.6147766, 31.2695158, "bd09"),        # 百度
        (7, "SH-CDN-003", "CDN", "rented", 121.4365, 31.188, "wgs84"),             # 内容分发节点, CGCS2000
        (8, "SH-CDN-004", "CDN", "purchased", 121.76, 31.05, "wgs84"),             # 购置, GPS
    ]
    assert [f.errors for f in facilities] == [()] * 5
    assert facilities[1].ip == ("58.40.10.1", "58.40.10.2")  # separated by 、
    assert facilities[0].extra == {"序号": "1", "带宽(Mbps)": "10000", "备注": ""}
    # without a gazetteer check the misspelt district is only carried; audits add the check (below)
    assert facilities[4].district == "浦东新去" and facilities[4].warnings == ()


def test_gbk_csv_with_a_combined_coordinate_column() -> None:
    table, facilities = _reading("idc-rooms-gbk.csv")
    assert (table.encoding, table.header_row, table.notes) == ("gb18030", 1, [])
    assert table.column_map().record() == {
        "columns": {"id": "机房编号", "kind": "机房类型", "tenure": "权属", "name": "机房名称", "address": "机房地址", "lonlat": "经纬度",
                    "crs": "坐标系统", "ip": "IP地址段"},
        "unused_columns": ["机柜数"],
    }
    assert _rows(facilities) == [
        (2, "SH-DC-01", "IDC", "owned", 121.5907, 31.204, "wgs84"),
        (3, "SH-DC-02", "IDC", "owned", 121.5932148, 31.3458465, "gcj02"),   # lat first, full-width comma; 自建机房 says owned
        (4, "HZ-DC-01", "IDC", "purchased", 120.264, 30.185, "wgs84"),       # degrees-minutes-seconds with E/N
        (5, "SH-DC-03", "IDC", "rented", 121.9, 30.88, "wgs84"),             # a space between; 租用机房 says rented
    ]
    assert [f.errors for f in facilities] == [()] * 4
    assert facilities[1].warnings == ("lonlat: '31.3458465,121.5932148' read as latitude, longitude (the first number is no longitude in China)",)
    assert facilities[0].ip == ("58.40.10.0/24",)  # the range 58.40.10.0-58.40.10.255
    assert facilities[2].coordinate_decimals == 3  # seconds, to 0.1": no finer than 0.001 degree for the latitude's whole seconds


def test_workbook_with_an_instructions_sheet_and_a_merged_title() -> None:
    table, facilities = _reading("filing-workbook.xlsx")
    assert (table.sheet, table.header_row) == ("节点清单", 3)
    assert table.notes == [
        "sheet '节点清单'",
        "sheet '填表说明' skipped: its name says instructions or an example",
        "header found on row 3",
        "2 row(s) above the header skipped (titles, notes): row 1 '某某云（上海）有限公司CDN节点信息表（截至2025年3月31日）'; "
        "row 2 '填报单位：某某云（上海）有限公司 | 填报日期：2025-04-01'",
        "1 range(s) of cells merged down a column read as their top cell on each row: E4:E8",
    ]
    assert table.column_map().record() == {
        "columns": {"id": "节点编号", "kind": "节点类型", "tenure": "产权性质", "name": "节点名称", "address": "节点地址", "lon": "经度",
                    "lat": "纬度", "crs": "坐标系", "ip": "节点IP", "province": "所属省份", "city": "所在城市", "district": "所在区县"},
        "unused_columns": ["序号", "机柜数"],
    }
    assert _rows(facilities) == [
        (4, "SH-CDN-101", "CDN", "rented", 121.93, 30.905, "wgs84"),
        (5, "SH-CDN-102", "CDN", "rented", 121.7043333, 31.187921, "gcj02"),   # 121°42'15.6", 腾讯
        (6, "SH-CDN-103", "CDN", "rented", 121.448, 31.229, "wgs84"),          # 内容分发
        (7, "SH-IDC-101", "IDC", "owned", 121.5692263, 31.1177653, "gcj02"),   # 国测局
        (8, "SH-POP-101", "ISP_POP", "rented", 121.92, 30.9, "wgs84"),         # 互联网接入点
    ]
    assert [f.province for f in facilities] == ["上海市"] * 5  # one merged cell for every row
    assert [f.errors for f in facilities] == [()] * 5


def test_workbook_with_a_header_in_two_rows() -> None:
    table, facilities = _reading("two-row-header.xlsx")
    assert (table.sheet, table.header_row, table.headers) == ("IDC机房", 2, ["机房编号", "机房名称", "机房类型", "经度", "纬度", "坐标系", "所在区县"])
    assert "header in two rows (2 and 3), read as one" in table.notes
    assert _rows(facilities) == [(4, "PD-01", "IDC", "", 121.604, 31.266, "wgs84"), (5, "MH-01", "IDC", "", 121.385, 31.111, "wgs84")]


# -- audited end to end, with no options but the region -----------------------------------------

EXPECTED = {
    "cdn-nodes-utf8-bom.csv": ({"SH-CDN-001": "pass", "SH-CDN-002": "pass", "SH-IDC-001": "pass", "SH-CDN-003": "fail", "SH-CDN-004": "pass"},
                               "序号, 带宽(Mbps), 备注"),
    "idc-rooms-gbk.csv": ({"SH-DC-01": "pass", "SH-DC-02": "pass", "HZ-DC-01": "fail", "SH-DC-03": "pass"}, "机柜数"),
    "filing-workbook.xlsx": ({"SH-CDN-101": "pass", "SH-CDN-102": "pass", "SH-CDN-103": "fail", "SH-IDC-101": "pass", "SH-POP-101": "pass"},
                             "序号, 机柜数"),
    "two-row-header.xlsx": ({"PD-01": "pass", "MH-01": "fail"}, None),
}


def _audit(tmp_path: Path, name: str, *extra: str) -> tuple[object, dict]:
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["audit", str(TEMPLATES / name), "--region", "shanghai", "--out", str(out), "--format", "json,csv", *AS_OF, *extra])
    return res, json.loads((out / "report.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_template_audits_as_written(tmp_path: Path, name: str) -> None:
    verdicts, unused = EXPECTED[name]
    res, report = _audit(tmp_path, name)
    assert res.exit_code == 1, res.output  # each template has a facility outside the region
    assert {f["id"]: f["verdict"] for f in report["facilities"]} == verdicts
    assert len(report["facilities"]) == len(verdicts)  # every row exactly once
    for f in report["facilities"]:
        cdn = [x["status"] for x in f["findings"] if x["rule"] == "cdn_nodes_in_region"]
        # a CDN row (CDN节点, CDN边缘节点, 内容分发...) is judged by the CDN rule, with the facility's own verdict
        assert cdn == ([f["verdict"]] if f["kind"] == "CDN" else []), f["id"]
    (listing,) = [i for i in report["inputs"] if i["role"] == "facility_list"]
    if unused:
        assert f"unused columns (not read; kept in the facility tables): {unused}" in res.output
        assert listing["unused_columns"] == unused.split(", ")
    else:
        assert "unused columns" not in res.output and listing["unused_columns"] == []
    assert listing["columns"]["id"] in ("节点编号", "机房编号")


def test_misspelt_district_is_a_warning_with_did_you_mean(tmp_path: Path) -> None:
    _, report = _audit(tmp_path, "cdn-nodes-utf8-bom.csv")
    by_id = {f["id"]: f for f in report["facilities"]}
    assert by_id["SH-CDN-004"]["warnings"] == [
        "district '浦东新去' is not a name the gazetteer holds in 上海市; did you mean 浦东新区 (310115)? "
        "It is not used to place the facility until it is corrected"]
    assert "warnings" not in by_id["SH-CDN-001"]


def test_unused_columns_reach_the_facility_table(tmp_path: Path) -> None:
    _audit(tmp_path, "cdn-nodes-utf8-bom.csv")
    header = (tmp_path / "out" / "facilities.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.endswith(",序号,带宽(Mbps),备注")


@pytest.mark.parametrize("name", ["cdn-nodes-utf8-bom.csv", "idc-rooms-gbk.csv", "filing-workbook.xlsx"])
def test_a_streamed_audit_reads_the_template_the_same(tmp_path: Path, name: str) -> None:
    """The quote-free CSV goes through line blocks, the GBK one (quoted cells) through parsed chunks, the
    workbook through slices: each finds the same header and records the same reading."""
    _, whole = _audit(tmp_path / "a", name)
    res, streamed = _audit(tmp_path / "b", name, "--stream", "--chunk-rows", "2")
    assert res.exit_code == 1, res.output
    assert streamed["inputs"] == whole["inputs"]
    assert [(f["id"], f["verdict"]) for f in streamed["facilities"] if f["verdict"] != "pass"] == \
        [(f["id"], f["verdict"]) for f in whole["facilities"] if f["verdict"] != "pass"]
    rows_a = (tmp_path / "a" / "out" / "facilities.csv").read_text(encoding="utf-8-sig")
    rows_b = (tmp_path / "b" / "out" / "facilities.csv").read_text(encoding="utf-8-sig")
    assert rows_a == rows_b


def test_the_header_row_is_not_guessed_again_when_given(tmp_path: Path) -> None:
    table = read_table(TEMPLATES / "cdn-nodes-utf8-bom.csv")
    assert table.header_row == 3
    res = CliRunner().invoke(main, ["inspect", str(TEMPLATES / "cdn-nodes-utf8-bom.csv"), "--header-row", "2"])
    assert res.exit_code == 2  # row 2 is the 填报单位 line: no id column there, and the message lists what it holds
    assert "no facility id column; headers read (row 2): 填报单位：某某云（上海）有限公司" in res.output
