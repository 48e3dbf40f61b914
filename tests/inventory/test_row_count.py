"""auditor.inventory.read.more_rows_than: a list's size found without reading it whole (the CLI
streams long lists by it), for every format, and never an error of its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from inventory_helpers import xlsx

from auditor.inventory.read import more_rows_than
from auditor.inventory.reading import Reading


def _lines(path: Path, lines: list[str], encoding: str = "utf-8", end: str = "\r\n", last_end: bool = True) -> Path:
    path.write_bytes((end.join(lines) + (end if last_end else "")).encode(encoding))
    return path


@pytest.mark.parametrize("last_end", [True, False])
@pytest.mark.parametrize("end", ["\r\n", "\n"])
def test_csv_counts_its_lines(tmp_path: Path, end: str, last_end: bool) -> None:
    p = _lines(tmp_path / "f.csv", ["id,lon,lat"] + [f"F{i},121.5,31.2" for i in range(10)], end=end, last_end=last_end)
    assert more_rows_than(p, 10) and not more_rows_than(p, 11)   # 11 lines: header and 10 rows


def test_lines_ended_by_carriage_returns_alone(tmp_path: Path) -> None:
    p = _lines(tmp_path / "mac.csv", ["id,lon,lat"] + [f"F{i},121.5,31.2" for i in range(10)] + [",,"], end="\r")
    assert more_rows_than(p, 10) and not more_rows_than(p, 11)


def test_lines_of_nothing_but_delimiters_do_not_count(tmp_path: Path) -> None:
    """A spreadsheet's export keeps its formatted empty rows as ',,,' lines: 3 rows, not 40,003."""
    rows = ["id,lon,lat", "F1,121.5,31.2", ",,", "F2,121.5,31.2", " , ,\t", "F3,121.5,31.2"] + [",,"] * 40_000 + [",,"]
    p = _lines(tmp_path / "f.csv", rows, last_end=False)
    assert more_rows_than(p, 3) and not more_rows_than(p, 4)
    p = _lines(tmp_path / "g.csv", rows[:-1] + ["F4,121.5,31.2"], last_end=False)  # the last line, without its end, counts
    assert more_rows_than(p, 4) and not more_rows_than(p, 5)


def test_csv_in_utf16_counts_characters_not_bytes(tmp_path: Path) -> None:
    # 上 is U+4E0A: in UTF-16 one of its bytes is 0x0A, a line feed when bytes are counted
    p = _lines(tmp_path / "f.csv", ["编号,名称", "F1," + "上" * 50, "F2,上海"], encoding="utf-16")
    assert p.read_bytes().count(b"\n") > 50
    assert more_rows_than(p, 2) and not more_rows_than(p, 3)


def test_csv_in_gb18030(tmp_path: Path) -> None:
    p = _lines(tmp_path / "f.csv", ["编号,名称"] + [f"F{i},上海浦东{i}" for i in range(4)], encoding="gb18030")
    assert more_rows_than(p, 4) and not more_rows_than(p, 5)


def test_a_long_csv_is_not_read_past_the_limit(tmp_path: Path) -> None:
    p = _lines(tmp_path / "f.csv", ["id"] + [f"F{i}" for i in range(300_000)])
    assert more_rows_than(p, 1_000)
    assert not more_rows_than(p, 300_001)


def test_workbook_counts_the_sheet_the_reader_reads(tmp_path: Path) -> None:
    """The instructions sheet (first, and longer) is passed over as the reader passes it over; the
    title row of 节点清单 counts."""
    p = xlsx(tmp_path / "f.xlsx", {
        "填表说明": [[f"第{i}条"] for i in range(40)],
        "节点清单": [["某运营商节点清单"], ["节点编号", "经度", "纬度"]] + [[f"N{i}", 121.5, 31.2] for i in range(6)],
    })
    import openpyxl
    from openpyxl.styles import Border, Side

    wb = openpyxl.load_workbook(p)
    edge = Side(style="thin")
    for row in range(9, 3000):  # the template's formatted empty rows: cells with borders and no value
        for col in range(1, 4):
            wb["节点清单"].cell(row=row, column=col).border = Border(left=edge, right=edge, top=edge, bottom=edge)
    wb.save(p)
    assert more_rows_than(p, 7) and not more_rows_than(p, 8)
    assert more_rows_than(p, 39, Reading(sheet="填表说明")) and not more_rows_than(p, 40, Reading(sheet="填表说明"))


def test_workbook_sheets_by_position_hidden_ones_and_inline_strings(tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)  # inline strings, no <dimension>: as streaming writers save
    data, lookup = wb.create_sheet("data"), wb.create_sheet("lookup")
    data.append(["id", "lon", "lat"])
    for i in range(5):
        data.append([f"F{i}", 121.5, 31.2])
    for i in range(50):
        lookup.append([f"code {i}"])
    wb.save(tmp_path / "w.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "w.xlsx")
    wb["lookup"].sheet_state = "hidden"
    wb.save(tmp_path / "hidden.xlsx")
    assert more_rows_than(tmp_path / "w.xlsx", 49)                           # the larger of two visible sheets
    assert not more_rows_than(tmp_path / "hidden.xlsx", 6)                    # a hidden sheet is not the list
    assert more_rows_than(tmp_path / "hidden.xlsx", 49, Reading(sheet=2))     # unless named, here by position
    assert more_rows_than(tmp_path / "hidden.xlsx", 49, Reading(sheet=" LOOKUP "))  # or by name, as the reader matches it
    assert not more_rows_than(tmp_path / "w.xlsx", 6, Reading(sheet="data"))


def test_parquet_and_geojson_count_their_features(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": [f"F{i}" for i in range(7)], "lon": [121.5] * 7, "lat": [31.2] * 7}), tmp_path / "f.parquet")
    assert more_rows_than(tmp_path / "f.parquet", 6) and not more_rows_than(tmp_path / "f.parquet", 7)
    features = [{"type": "Feature", "properties": {"id": f"G{i}"}, "geometry": {"type": "Point", "coordinates": [121.5, 31.2]}}
                for i in range(4)]
    g = tmp_path / "f.geojson"
    g.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    assert more_rows_than(g, 3) and not more_rows_than(g, 4)


@pytest.mark.parametrize("name, data", [("broken.xlsx", b"PK\x03\x04 not a workbook"), ("broken.parquet", b"PAR1"),
                                        ("broken.geojson", b"{"), ("list.docx", b"x\n" * 100)])
def test_a_file_that_cannot_be_sized_says_no(tmp_path: Path, name: str, data: bytes) -> None:
    """No error here: the audit that then reads the file names what is wrong with it."""
    (tmp_path / name).write_bytes(data)
    assert more_rows_than(tmp_path / name, 1) is False
    assert more_rows_than(tmp_path / "missing.csv", 1) is False
