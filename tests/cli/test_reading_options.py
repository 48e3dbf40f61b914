"""The command line for facility lists as people keep them (issue 17): `auditor inspect`, the audit's
--sheet / --header-row / --columns and the profile's columns: block, and `auditor where` with a pasted pair."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import TESTS

from auditor.cli import main

TEMPLATES = TESTS / "fixtures" / "templates"
AS_OF = ["--as-of", "2026-11-01", "--generated-at", "2026-11-01T00:00:00Z"]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _odd_list(tmp_path: Path) -> Path:
    """A list whose id and kind headers no alias knows (资产编码, 站点类别), under a title row."""
    p = tmp_path / "odd.csv"
    p.write_text("某公司站点表\n备注,资产编码,站点类别,详细地址,经度,纬度,坐标系\n"
                 "新建,ZC-01,CDN节点,上海市浦东新区南汇新城镇,121.93,30.905,WGS84\n"
                 ",ZC-02,CDN节点,上海市徐汇区徐家汇,121.4365,31.188,WGS84\n", encoding="utf-8")
    return p


def test_a_row_counter_is_the_id_only_when_nothing_better_is_there_and_that_is_said(runner: CliRunner, tmp_path: Path) -> None:
    p = tmp_path / "f.csv"
    p.write_text("序号,节点名称,经度,纬度,坐标系\n1,临港,121.93,30.905,WGS84\n", encoding="utf-8")
    res = runner.invoke(main, ["audit", str(p), "--region", "shanghai", "--out", str(tmp_path / "o"), "--format", "json", *AS_OF])
    assert res.exit_code == 0, res.output
    note = ("id read from '序号', a row counter: no other column names the facilities, so their ids change when rows are added "
            "or removed (name the id column with --columns id=HEADER)")
    assert f"  note: {note}" in res.output.splitlines()
    report = json.loads((tmp_path / "o" / "report.json").read_text(encoding="utf-8"))
    assert report["facilities"][0]["id"] == "1" and report["inputs"][-1]["notes"] == [note]


def test_inspect_shows_what_each_column_is_read_as(runner: CliRunner) -> None:
    res = runner.invoke(main, ["inspect", str(TEMPLATES / "filing-workbook.xlsx")])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0] == f"{TEMPLATES / 'filing-workbook.xlsx'} (xlsx, sheet '节点清单', header on row 3): 5 rows, 5 without errors"
    assert "  note: sheet '填表说明' skipped: its name says instructions or an example" in lines
    row = {ln.split()[1]: ln.split() for ln in lines if ln.startswith("  ") and len(ln.split()) > 4 and ln.split()[0] in "ABCDEFGHIJKLMN"}
    assert row["序号"][2:5] == ["(unused)", "5", "-"] and "[a row counter; id is read from '节点编号']" in " ".join(row["序号"])
    assert row["节点编号"][2:5] == ["id", "5", "5"]
    assert " ".join(row["节点类型"][5:]) == "CDN节点 → CDN (1), CDN边缘节点 → CDN (1), 内容分发 → CDN (1), IDC机房 → IDC (1), 互联网接入点 → ISP_POP (1)"
    assert " ".join(row["坐标系"][5:]) == "WGS84 → wgs84 (3), 腾讯 → gcj02 (1), 国测局 → gcj02 (1)"
    assert "unused columns (kept in the facility tables): 序号, 机柜数" in lines


def test_inspect_json_and_did_you_mean(runner: CliRunner) -> None:
    res = runner.invoke(main, ["inspect", str(TEMPLATES / "cdn-nodes-utf8-bom.csv"), "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert (doc["header_row"], doc["rows"], doc["rows_without_errors"], doc["unused"]) == (3, 5, 5, ["序号", "带宽(Mbps)", "备注"])
    by_header = {c["header"]: c for c in doc["columns"]}
    assert by_header["经度(°)"]["read_as"] == "lon" and by_header["经度(°)"]["usable"] == 5
    assert by_header["服务IP"]["filled"] == 2 and by_header["备注"]["read_as"] is None
    assert doc["warnings"] == [{"row": 8, "warning": "district '浦东新去' is not a name the gazetteer holds in 上海市; did you mean 浦东新区 (310115)? "
                                                     "It is not used to place the facility until it is corrected"}]


def test_inspect_counts_usable_cells_and_lists_row_errors(runner: CliRunner, tmp_path: Path) -> None:
    p = tmp_path / "f.csv"
    p.write_text("节点编号,经度,纬度\nA,121.5,31.2\nB,121.5O,31.2\nC,,\n", encoding="utf-8")
    res = runner.invoke(main, ["inspect", str(p), "--format", "json"])
    doc = json.loads(res.output)
    lon = next(c for c in doc["columns"] if c["read_as"] == "lon")
    assert (lon["filled"], lon["usable"]) == (2, 1)
    assert doc["errors"] == [{"row": 3, "error": "lon: not a number of degrees ('121.5O')"}]
    assert doc["rows_without_errors"] == 2


def test_inspect_of_an_unusable_list_says_what_it_read_then_why(runner: CliRunner, tmp_path: Path) -> None:
    p = _odd_list(tmp_path)
    res = runner.invoke(main, ["inspect", str(p)])
    assert res.exit_code == 2
    assert "资产编码" in res.output and "(unused)" in res.output  # the columns as read come first
    last = res.output.splitlines()[-1]
    assert last.startswith(f"cannot audit: {p}, row 2, column 'id': no facility id column; headers read (row 2): 备注, 资产编码, 站点类别")
    assert "--columns COLUMN=HEADER" in last
    ok = runner.invoke(main, ["inspect", str(p), "--columns", "id=资产编码", "--columns", "kind=站点类别"])
    assert ok.exit_code == 0, ok.output
    assert "named by --columns" in ok.output


def test_audit_with_columns_on_the_command_line(runner: CliRunner, tmp_path: Path) -> None:
    p = _odd_list(tmp_path)
    out = tmp_path / "o"
    res = runner.invoke(main, ["audit", str(p), "--region", "shanghai", "--out", str(out), "--format", "json", *AS_OF,
                               "--columns", "id=资产编码,kind=站点类别"])
    assert res.exit_code == 1, res.output
    assert "unused columns (not read; kept in the facility tables): 备注" in res.output
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert [(f["id"], f["kind"], f["verdict"]) for f in report["facilities"]] == [("ZC-01", "CDN", "pass"), ("ZC-02", "CDN", "fail")]
    listing = report["inputs"][-1]
    assert (listing["columns"]["id"], listing["columns_given"], listing["header_row"]) == ("资产编码", ["id", "kind"], 2)
    # the same in a streamed audit
    res = runner.invoke(main, ["audit", str(p), "--region", "shanghai", "--out", str(tmp_path / "s"), "--format", "json", *AS_OF,
                               "--columns", "id=资产编码,kind=站点类别", "--stream"])
    assert res.exit_code == 1, res.output
    assert json.loads((tmp_path / "s" / "report.json").read_text(encoding="utf-8"))["inputs"][-1] == listing


def test_audit_with_the_profiles_columns_block(runner: CliRunner, tmp_path: Path) -> None:
    _odd_list(tmp_path)
    profile = tmp_path / "operator.yaml"
    profile.write_text(yaml.safe_dump({"name": "N", "region": "shanghai", "services": ["CDN"], "facilities": "odd.csv",
                                       "columns": {"id": "资产编码", "kind": "站点类别"}}, allow_unicode=True), encoding="utf-8")
    res = runner.invoke(main, ["audit", str(profile), "--out", str(tmp_path / "o"), "--format", "json", *AS_OF])
    assert res.exit_code == 1, res.output
    report = json.loads((tmp_path / "o" / "report.json").read_text(encoding="utf-8"))
    assert [f["id"] for f in report["facilities"]] == ["ZC-01", "ZC-02"]
    assert report["inputs"][-1]["columns_given"] == ["id", "kind"]
    # --columns wins over the profile, column by column; a header that is not there is named with what was read
    res = runner.invoke(main, ["audit", str(profile), "--out", str(tmp_path / "o2"), *AS_OF, "--columns", "id=编号"])
    assert res.exit_code == 2
    assert "--columns / profile columns: id=编号: no such header; headers read: 备注, 资产编码, 站点类别" in res.output
    assert "Traceback" not in res.output
    ins = runner.invoke(main, ["inspect", str(profile)])
    assert ins.exit_code == 0 and "named by profile columns:" in ins.output


def test_audit_sheet_and_header_row_options(runner: CliRunner, tmp_path: Path) -> None:
    res = runner.invoke(main, ["audit", str(TEMPLATES / "filing-workbook.xlsx"), "--region", "shanghai", "--out", str(tmp_path / "o"),
                               "--format", "json", *AS_OF, "--sheet", "下拉选项", "--header-row", "1"])
    assert res.exit_code == 2  # the drop-down list sheet holds no ids: said, with its headers
    assert "no facility id column; headers read (row 1): 节点类型, 坐标系, 产权性质" in res.output
    res = runner.invoke(main, ["audit", str(TEMPLATES / "filing-workbook.xlsx"), "--region", "shanghai", "--out", str(tmp_path / "o"),
                               "--format", "json", *AS_OF, "--sheet", "2", "--header-row", "3"])
    assert res.exit_code == 1, res.output
    assert len(json.loads((tmp_path / "o" / "report.json").read_text(encoding="utf-8"))["facilities"]) == 5
    res = runner.invoke(main, ["audit", str(TEMPLATES / "filing-workbook.xlsx"), "--region", "shanghai", "--out", str(tmp_path / "o"),
                               *AS_OF, "--sheet", "机房"])
    assert res.exit_code == 2 and "--sheet '机房': no such sheet; the workbook has '填表说明', '节点清单', '下拉选项'" in res.output
    res = runner.invoke(main, ["audit", str(TEMPLATES / "filing-workbook.xlsx"), "--region", "shanghai", "--out", str(tmp_path / "o"),
                               *AS_OF, "--header-row", "0"])
    assert res.exit_code == 2 and "--header-row" in res.output


def test_bundle_refuses_reading_options_it_cannot_record(runner: CliRunner, tmp_path: Path) -> None:
    res = runner.invoke(main, ["audit", str(TEMPLATES / "filing-workbook.xlsx"), "--region", "shanghai", "--out", str(tmp_path / "o"),
                               *AS_OF, "--bundle", "--sheet", "节点清单"])
    assert res.exit_code == 2
    assert "--bundle cannot record --sheet, --header-row or --columns" in res.output
    assert not (tmp_path / "o").exists()


def test_audit_prints_sheets_that_also_hold_tables(runner: CliRunner, tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "CDN节点"
    wb.active.append(["节点编号", "经度", "纬度", "坐标系"])
    wb.active.append(["C1", 121.93, 30.905, "WGS84"])
    other = wb.create_sheet("IDC机房")
    other.append(["机房编号", "经度", "纬度", "坐标系"])
    other.append(["I1", 121.5907, 31.204, "WGS84"])
    wb.save(tmp_path / "w.xlsx")
    res = runner.invoke(main, ["audit", str(tmp_path / "w.xlsx"), "--region", "shanghai", "--out", str(tmp_path / "o"), "--format", "json", *AS_OF])
    assert res.exit_code == 0, res.output
    assert "note: sheet 'IDC机房' also holds a table (header on row 1) and was not read: audit it with --sheet 'IDC机房'" in res.output


# -- where -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [["116.3975,39.9087"], ["116.3975，39.9087"], ["116.3975, 39.9087"], ["116.3975,", "39.9087"], ["116.3975", "39.9087"],
     ["116°23'51\"E", "39°54'31.3\"N"], ["E116.3975 N39.9087"]],
)
def test_where_takes_a_pasted_pair_or_two_numbers(runner: CliRunner, args: list[str]) -> None:
    res = runner.invoke(main, ["where", *args, "--region", "beijing"])
    assert res.exit_code == 0, res.output
    assert "beijing: inside" in res.output
    point = next(ln for ln in res.output.splitlines() if ln.startswith("point: "))
    lon, lat = (float(x) for x in point.split()[1:3])
    assert abs(lon - 116.3975) < 1e-3 and abs(lat - 39.9087) < 1e-3
    assert "note:" not in res.output


def test_where_reads_a_pasted_lat_lon_pair_and_says_so(runner: CliRunner) -> None:
    res = runner.invoke(main, ["where", "39.9087, 116.3975", "--region", "beijing"])
    assert res.exit_code == 0, res.output
    assert res.output.splitlines()[0] == "note: '39.9087, 116.3975' read as latitude, longitude (the first number is no longitude in China)"
    assert "point: 116.3975 39.9087 (wgs84)" in res.output
    # two plain arguments keep their order: LAT LON is refused, not turned round
    res = runner.invoke(main, ["where", "39.9087", "116.3975"])
    assert res.exit_code == 2 and "swapped? LON comes first" in res.output


@pytest.mark.parametrize(("args", "needle"), [(["abc"], "cannot read 'abc' as a point"), (["1", "2", "3"], "give LON LAT"),
                                              (["10.5,20.3"], "outside China the order cannot be told")])
def test_where_refuses_what_is_not_a_point(runner: CliRunner, args: list[str], needle: str) -> None:
    res = runner.invoke(main, ["where", *args])
    assert res.exit_code == 2 and needle in res.output and "Traceback" not in res.output


def test_where_still_takes_negative_numbers(runner: CliRunner) -> None:
    res = runner.invoke(main, ["where", "-0.1276", "51.5072"])
    assert res.exit_code == 0, res.output
    assert "point: -0.1276 51.5072 (wgs84)" in res.output


@pytest.mark.parametrize("command", ["inspect"])
def test_help_has_an_example(runner: CliRunner, command: str) -> None:
    res = runner.invoke(main, [command, "--help"])
    assert res.exit_code == 0 and "Example" in res.output
