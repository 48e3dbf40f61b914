"""Renderers: determinism, the JSON contract, and safety of strings from inputs."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
from conftest import AS_OF, DISHUI_LAKE, EXAMPLE, REPO, XUJIAHUI, audit_example, write_csv

from auditor import render
from auditor.engine import audit
from auditor.errors import UsageError
from auditor.report import parse_formats, write_reports

STAMP = "2026-11-01T00:00:00+00:00"


def test_json_contract_fields(example_result):
    r = json.loads(render(example_result, "json", generated_at=STAMP))
    for key in ("schema", "generated_at", "as_of", "operator", "region", "data_sources", "inputs", "summary", "facilities", "operator_findings", "discovered"):
        assert key in r
    assert r["schema"] == "pilot-zone-auditor/report/1"
    assert r["as_of"] == "2026-11-01"
    assert r["summary"]["verdict"] in ("pass", "fail", "indeterminate")
    for f in r["facilities"]:
        assert {"id", "row", "kind", "verdict", "claims", "findings"} <= set(f)
        assert f["verdict"] in ("pass", "fail", "indeterminate", "error")
    names = {d["path"] for d in r["data_sources"]}
    assert "boundaries/shanghai.geojson" in names and "boundaries/regions.yaml" in names
    assert all(len(d["sha256"]) == 64 for d in r["data_sources"])
    assert {i["role"] for i in r["inputs"]} == {"operator_profile", "facility_list"}
    assert sum(r["summary"]["facilities"].values()) == len(r["facilities"]) == 43


def test_example_report_matches_the_committed_golden_file(example_result):
    """reports/example/ is what `make example` writes; it must stay what the code produces."""
    golden = json.loads((REPO / "reports" / "example" / "report.json").read_text(encoding="utf-8"))
    fresh = json.loads(render(example_result, "json", generated_at=golden["generated_at"]))
    fresh["tool"]["version"] = golden["tool"]["version"]
    assert fresh == golden, "regenerate with `make example` and review the diff"


def test_reports_are_deterministic(example_result, tmp_path):
    again = audit_example()
    for fmt in ("json", "md", "csv", "geojson"):
        assert render(example_result, fmt, generated_at=STAMP) == render(again, fmt, generated_at=STAMP)
    a = render(example_result, "json", generated_at="2020-01-01T00:00:00+00:00")
    b = render(example_result, "json", generated_at=STAMP)
    assert a != b and a.replace("2020-01-01T00:00:00+00:00", STAMP) == b


def test_every_row_once_in_every_format(example_result):
    ids = [f.id for f in example_result.facilities]
    text = render(example_result, "csv")
    assert text.startswith("\ufeff")  # the BOM (Chinese Excel reads UTF-8): a reader strips it as utf-8-sig does
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert [r["id"] for r in rows] == ids
    gj = json.loads(render(example_result, "geojson"))
    assert [f["id"] for f in gj["features"] if f["properties"]["layer"] == "facility"] == ids
    md = render(example_result, "md", generated_at=STAMP)
    not_passed = [f.id for f in example_result.facilities if example_result.facility_verdict(f).value != "pass"]
    for fid in not_passed:
        assert f"| {fid} |" in md


HOSTILE = ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)", "<script>alert(1)</script>", 'a|b\nc', "\tTAB"]


def test_strings_from_inputs_are_neutralised(tmp_path):
    rows = [[f"id{i}", "IDC", "owned", name, *DISHUI_LAKE, "wgs84"] for i, name in enumerate(HOSTILE)]
    rows.append(["=cmd|' /C calc'!A0", "IDC", "owned", "x", *XUJIAHUI, "wgs84"])
    p = write_csv(tmp_path / "f.csv", ["id", "kind", "tenure", "name", "lon", "lat", "crs", ], rows)
    result = audit(p, region="shanghai", as_of=AS_OF)
    out = list(csv.reader(io.StringIO(render(result, "csv").removeprefix("\ufeff"))))
    header, body = out[0], out[1:]
    name_col, id_col = header.index("name"), header.index("id")
    for row in body:
        for cell in (row[name_col], row[id_col]):
            assert not cell.startswith(("=", "+", "-", "@", "\t")), cell
    assert body[-1][id_col] == "'=cmd|' /C calc'!A0"
    md = render(result, "md", generated_at=STAMP)
    # the hostile id of a failing row appears escaped in the Markdown table
    assert "'=cmd\\|' /C calc'!A0" in md or "=cmd\\|' /C calc'!A0" in md
    assert "<script>" not in md
    # JSON keeps the exact text
    r = json.loads(render(result, "json", generated_at=STAMP))
    assert [f["name"] for f in r["facilities"]][: len(HOSTILE)] == [h.strip() for h in HOSTILE]


def test_markdown_escapes_markup_from_names(tmp_path):
    p = write_csv(tmp_path / "f.csv", ["id", "name", "lon", "lat", "crs"], [["<b>x</b>|y", "n", *XUJIAHUI, "wgs84"]])
    md = render(audit(p, region="shanghai", as_of=AS_OF), "md", generated_at=STAMP)
    assert "<b>" not in md and "&lt;b&gt;x&lt;/b&gt;\\|y" in md


def test_write_reports_and_formats(example_result, tmp_path):
    paths = write_reports(example_result, tmp_path / "out", ("json", "csv"), generated_at=STAMP)
    assert sorted(p.name for p in paths) == ["facilities.csv", "report.json"]
    assert parse_formats("json, md") == ("json", "md")
    with pytest.raises(UsageError) as err:
        parse_formats("json,docx")
    assert "docx" in str(err.value) and "geojson" in str(err.value) and "xlsx" in str(err.value) and "pdf" in str(err.value)


def test_frames_for_notebooks(example_result):
    fac = example_result.facilities_frame()
    assert list(fac["id"]) == [f.id for f in example_result.facilities]
    assert fac.crs.to_epsg() == 4326
    assert (fac["verdict"] == "error").sum() == 2 and fac.geometry.isna().sum() >= 2
    row = fac.set_index("id").loc["SH-IDC-14"]
    assert row["verdict"] == "fail" and "facility_in_region" in row["failed_rules"]
    fnd = example_result.findings_frame()
    assert len(fnd) == len(example_result.all_findings)
    assert set(fnd["status"]) <= {"pass", "fail", "indeterminate", "not_applicable", "waived"}


def test_markdown_cells_cannot_become_links_even_with_their_own_backslashes():
    """An id written with its own escapes (``\\[x\\](url)``) must not turn the added escapes back off."""
    from markdown_it import MarkdownIt

    from auditor.report.safe import md_cell

    for hostile in (r"\[x\](http://evil.test)", r"[x](http://evil.test)", r"\\[x\\](http://evil.test)", r"!\[i\](http://evil.test/a.png)"):
        html = MarkdownIt("commonmark").enable("table").render(f"| a |\n|---|\n| {md_cell(hostile)} |\n")
        assert "<a " not in html and "<img" not in html, (hostile, html)
        assert "evil.test" in html  # kept as text
