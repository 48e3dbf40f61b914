"""report.xlsx, facilities.csv as Excel reads it, and report.pdf (issue 18, items 2 and 3)."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from conftest import AS_OF, DISHUI_LAKE, XUJIAHUI, write_csv

from auditor.engine import audit
from auditor.report import render, write_reports

STAMP = "2026-11-28T19:30:49+00:00"
FORMULAS = ['=HYPERLINK("http://evil.test","click")', "+1+1", "-2+3", "@SUM(A1)", "=cmd|' /C calc'!A0"]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A filing template: Chinese headers, a column the auditor does not read, formula-looking text everywhere."""
    tmp = tmp_path_factory.mktemp("hostile")
    header = ["节点编号", "节点类型", "产权性质", "节点名称", "详细地址", "经度", "纬度", "坐标系", "=备注"]
    rows = [[f"N{i}", "IDC", "自有", name, "上海市浦东新区", *DISHUI_LAKE, "WGS84", name] for i, name in enumerate(FORMULAS)]
    rows.append(["N9", "IDC", "租用", "徐家汇机房", "上海市徐汇区", *XUJIAHUI, "WGS84", "=1+2"])
    return audit(write_csv(tmp / "节点清单.csv", header, rows), region="shanghai", as_of=AS_OF)


def _workbook(data: bytes):
    import openpyxl

    return openpyxl.load_workbook(io.BytesIO(data))


def test_workbook_sheets_header_filters_and_fills(example_result):
    wb = _workbook(render(example_result, "xlsx", generated_at=STAMP, lang="en"))
    assert wb.sheetnames == ["Summary", "Facilities", "Findings", "Waivers", "Discovered nodes"]
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2"
        assert ws.column_dimensions["A"].width >= 6
    for name in ("Facilities", "Findings", "Waivers", "Discovered nodes"):
        assert wb[name].auto_filter.ref and wb[name].auto_filter.ref.startswith("A1:")
    fac = wb["Facilities"]
    header = [c.value for c in fac[1]]
    # the input's own columns as read (its headers), then the audit's answer
    assert header[:6] == ["row", "id", "kind", "tenure", "name", "address"] and "rack_count" in header
    assert header.index("rack_count") < header.index("verdict") < header.index("failing rules") < header.index("decided on")
    assert "distance to the line (m)" in header
    rows = list(fac.iter_rows(min_row=2, values_only=True))
    assert [r[1] for r in rows] == [f.id for f in example_result.facilities]  # every row once, in input order
    by_id = {r[1]: dict(zip(header, r)) for r in rows}
    assert by_id["SH-IDC-01"]["address"] == "上海市浦东新区张江高科技园区"
    assert by_id["SH-IDC-14"]["verdict"] == "fail" and "facility_in_region" in by_id["SH-IDC-14"]["failing rules"]
    col = header.index("verdict") + 1
    fills = {fac.cell(row=i, column=col).value: fac.cell(row=i, column=col).fill.fgColor.rgb for i in range(2, fac.max_row + 1)}
    assert len({fills["pass"], fills["fail"], fills["indeterminate"], fills["error"]}) == 4  # a fill per verdict
    findings = wb["Findings"]
    assert findings.max_row - 1 == len(example_result.all_findings)


def test_workbook_in_chinese(example_result):
    wb = _workbook(render(example_result, "xlsx", generated_at=STAMP, lang="zh-CN"))
    assert wb.sheetnames == ["摘要", "设施", "检查结果", "豁免", "发现的节点"]
    summary = {r[0]: r[1] for r in wb["摘要"].iter_rows(min_row=2, values_only=True)}
    assert summary["结论"] == "不通过" and summary["通告"] == "工信部通信函〔2024〕107号"
    header = [c.value for c in wb["设施"][1]]
    verdicts = {r[header.index("结论")] for r in wb["设施"].iter_rows(min_row=2, values_only=True)}
    assert verdicts == {"通过", "不通过", "待定", "错误"}
    assert wb.properties.language == "zh-CN"


def test_text_from_inputs_is_never_a_formula(hostile):
    wb = _workbook(render(hostile, "xlsx", generated_at=STAMP, lang="zh-CN"))
    fac = wb["设施"]
    header = [c.value for c in fac[1]]
    assert header[:10] == ["行号", "节点编号", "节点类型", "产权性质", "节点名称", "详细地址", "经度", "纬度", "坐标系", "=备注"]
    assert fac.cell(row=1, column=10).data_type == "s"  # a header from the input is text too
    names = [fac.cell(row=i, column=5) for i in range(2, fac.max_row + 1)]
    assert [c.value for c in names] == [*FORMULAS, "徐家汇机房"]
    assert all(c.data_type == "s" for c in names), [(c.value, c.data_type) for c in names]
    notes = [fac.cell(row=i, column=10) for i in range(2, fac.max_row + 1)]
    assert notes[-1].value == "=1+2" and all(c.data_type == "s" for c in notes)
    # and in the raw sheet XML: no <f> (formula) element anywhere in the workbook
    with zipfile.ZipFile(io.BytesIO(render(hostile, "xlsx", generated_at=STAMP))) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in z.read(name) and b"<f " not in z.read(name)


def test_workbook_bytes_are_deterministic(example_result):
    a = render(example_result, "xlsx", generated_at=STAMP, lang="zh-CN")
    b = render(example_result, "xlsx", generated_at=STAMP, lang="zh-CN")
    assert a == b
    assert render(example_result, "xlsx", generated_at="2027-01-01T00:00:00+00:00", lang="zh-CN") != a
    wb = _workbook(a)
    assert wb.properties.created.isoformat() == wb.properties.modified.isoformat() == "2026-11-28T19:30:49"
    with zipfile.ZipFile(io.BytesIO(a)) as z:
        assert {i.date_time for i in z.infolist()} == {(2026, 11, 28, 19, 30, 48)}  # zip dates: two-second steps


def test_facilities_csv_opens_in_chinese_excel(hostile, tmp_path):
    """UTF-8 with a BOM (Excel's cue that the file is not GBK), the facility as read, Chinese intact."""
    write_reports(hostile, tmp_path, ("csv",), generated_at=STAMP)
    raw = (tmp_path / "facilities.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfid,row,")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [r["id"] for r in rows] == [f.id for f in hostile.facilities]
    last = rows[-1]
    assert last["name"] == "徐家汇机房" and last["address"] == "上海市徐汇区" and last["crs"] == "wgs84"
    assert float(last["lon"]) == XUJIAHUI[0] and float(last["lat"]) == XUJIAHUI[1]
    assert last["'=备注"] == "'=1+2"  # an input column under its own header (both neutralised: a header is a cell too)
    assert all(not r["name"].startswith(("=", "+", "-", "@")) for r in rows)
    # GBK would garble it: the bytes are not GBK text of the same characters
    assert "徐家汇机房".encode("gbk") not in raw


def test_pdf_is_deterministic_and_extracts_as_chinese(example_result):
    from pypdf import PdfReader

    a = render(example_result, "pdf", generated_at=STAMP, lang="zh-CN")
    assert a.startswith(b"%PDF-") and a == render(example_result, "pdf", generated_at=STAMP, lang="zh-CN")
    reader = PdfReader(io.BytesIO(a))
    text = "\n".join(p.extract_text() for p in reader.pages)
    for word in ("不通过", "待定", "错误", "通过", "工信部通信函〔2024〕107号", "未通过的设施", "整改建议"):
        assert word in text, word
    assert "SH-IDC-14" in text  # a failing facility is listed ...
    passing = [f.id for f in example_result.facilities if example_result.facility_verdict(f).value == "pass"]
    assert not any(fid in text for fid in passing)  # ... passing ones are counted, not listed
    assert reader.metadata["/CreationDate"] == reader.metadata["/ModDate"] == "D:20261128193049+00'00'"
    assert reader.metadata["/Title"].startswith("试点地区审计")
    assert reader.trailer["/Root"]["/Lang"] == "zh-CN"
    fonts = {str(f["/BaseFont"]) for p in reader.pages for f in p["/Resources"]["/Font"].values()}
    assert fonts == {"/STSong-Light"}  # the CID font readers supply for Chinese
    assert (round(float(reader.pages[0].mediabox.width)), round(float(reader.pages[0].mediabox.height))) == (595, 842)  # A4
    assert render(example_result, "pdf", generated_at="2027-01-01T00:00:00+00:00", lang="zh-CN") != a


def test_pdf_in_english_and_hostile_text_stays_text(hostile):
    from pypdf import PdfReader

    data = render(hostile, "pdf", generated_at=STAMP, lang="en")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert "Facilities that did not pass" in text and "fail" in text
    assert "徐家汇机房" in text  # Chinese data in an English report
    assert b"/URI" not in data and b"/JavaScript" not in data and b"/Launch" not in data


def test_write_reports_writes_the_binary_formats(example_result, tmp_path):
    paths = write_reports(example_result, tmp_path, ("json", "xlsx", "pdf"), generated_at=STAMP, lang="zh-CN")
    assert sorted(p.name for p in paths) == ["report.json", "report.pdf", "report.xlsx"]
    assert (tmp_path / "report.xlsx").read_bytes() == render(example_result, "xlsx", generated_at=STAMP, lang="zh-CN")
    assert (tmp_path / "report.pdf").read_bytes() == render(example_result, "pdf", generated_at=STAMP, lang="zh-CN")
