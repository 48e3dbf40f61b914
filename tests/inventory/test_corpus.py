"""Hostile-input corpus (issue 9): every file in tests/corpus/MANIFEST.csv, plus big or binary inputs
generated at test time. For each: no traceback, the stated exit status and message, every readable row
exactly once in report.json, hostile text escaped in HTML/MD and neutralised in CSV, and nothing
written outside the output folder."""

from __future__ import annotations

import csv
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO, TESTS

from auditor.cli import main

CORPUS = TESTS / "corpus"
FORMULA_START = tuple("=+-@\t\r\n|%")
AS_OF = ["--as-of", "2026-11-01", "--generated-at", "2026-11-01T00:00:00Z"]


def _manifest() -> list[dict[str, str]]:
    with open(CORPUS / "MANIFEST.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


MANIFEST = _manifest()


def _snapshot(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


class _HtmlScan(html.parser.HTMLParser):
    """Collects live markup that only hostile input could have produced."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.live: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):  # noqa: ANN001
        if tag in ("img", "svg", "iframe", "object", "embed") and any((k or "").startswith("on") for k, _ in attrs):
            self.live.append(f"<{tag} {attrs}>")
        if tag == "img":
            self.live.append(f"<img {attrs}>")
        for k, v in attrs:
            if (k or "").startswith("on") and "alert(" in (v or ""):
                self.live.append(f"{tag} {k}={v}")
            if k in ("href", "src", "action") and (v or "").strip().lower().startswith("javascript:"):
                self.live.append(f"{tag} {k}={v}")
        self._in_script = tag == "script"

    def handle_endtag(self, tag):  # noqa: ANN001
        self._in_script = False

    def handle_data(self, data):  # noqa: ANN001
        if self._in_script and "alert(" in data:
            self.live.append(f"<script>{data[:80]}")


def run_audit(tmp_path: Path, target: Path, *extra: str, region: bool = True, out: Path | None = None):
    """Run the CLI in tmp_path/cwd; return (result, out dir, new paths outside the out dir)."""
    out = out or tmp_path / "out"
    cwd = tmp_path / "cwd"
    cwd.mkdir(exist_ok=True)
    before = _snapshot(tmp_path)
    args = ["audit", str(target), "--out", str(out), *AS_OF, *extra]
    if region:
        args += ["--region", "shanghai"]
    old = os.getcwd()
    os.chdir(cwd)
    try:
        res = CliRunner().invoke(main, args)
    finally:
        os.chdir(old)
    after = _snapshot(tmp_path)
    out_r = out.resolve()
    stray = sorted(str(p) for p in after - before if not (p.resolve() == out_r or out_r in p.resolve().parents))
    return res, out, stray


def assert_clean(res) -> None:
    assert "Traceback" not in res.output, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)


def assert_escaped(out: Path) -> None:
    """Hostile strings: no live formula in facilities.csv, no live markup in report.html / report.md."""
    with open(out / "facilities.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    numeric = {"row", "distance_to_boundary_m", "uncertainty_m", "lon", "lat"}
    for row in rows[1:]:
        for col, cell in zip(header, row):
            if col in numeric:
                continue
            assert not cell.startswith(FORMULA_START), f"live formula in facilities.csv {col}: {cell!r}"
    page = (out / "report.html").read_text(encoding="utf-8")
    scan = _HtmlScan()
    scan.feed(page)
    assert scan.live == [], scan.live
    assert "</textarea><script" not in page and 'onmouseover="alert' not in page
    md = (out / "report.md").read_text(encoding="utf-8")
    for raw in ("<script", "<img", "<svg", "</textarea", "</style", 'onmouseover="'):
        assert raw not in md, raw
    assert not re.search(r"(?<!\\)\]\(javascript:", md)


def _params():
    out = []
    for m in MANIFEST:
        marks = [pytest.mark.xfail(strict=True, reason=m["xfail"])] if m["xfail"] else []
        if m["file"].endswith(".geojson"):  # GDAL's RuntimeWarnings ("Non closed ring") arrive via a C callback
            marks += [pytest.mark.filterwarnings("ignore::RuntimeWarning"),
                      pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")]
        out.append(pytest.param(m, id=m["file"], marks=marks))
    return out


def test_manifest_lists_every_corpus_file_and_at_least_50():
    listed = {m["file"] for m in MANIFEST}
    on_disk = {p.name for p in CORPUS.iterdir() if p.name != "MANIFEST.csv"}
    assert listed == on_disk
    assert len(listed) >= 50
    for m in MANIFEST:
        assert m["exit"] in ("0", "1", "2", "3") and m["message"], m
        assert (CORPUS / m["file"]).stat().st_size < 20_000


@pytest.mark.parametrize("case", _params())
def test_corpus(case, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(CORPUS / case["file"], src / case["file"])
    shutil.copy(CORPUS / "ok.csv", src / "ok.csv")
    is_profile = case["file"].endswith((".yaml", ".toml"))
    res, out, stray = run_audit(tmp_path, src / case["file"], region=not is_profile)
    assert_clean(res)
    assert stray == [], f"written outside --out: {stray}"
    assert case["message"] in res.output, res.output
    assert res.exit_code == int(case["exit"]), res.output
    if res.exit_code == 2:
        assert res.output.startswith("auditor: error: ") or "auditor: error: " in res.output
        assert not out.exists() or not any(out.iterdir())
        return
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    facilities = report["facilities"]
    rows = [f["row"] for f in facilities]
    assert len(rows) == len(set(rows)), "a row appears twice"
    if case["rows"]:
        assert len(facilities) == int(case["rows"]), [f["id"] for f in facilities]
    by_row = {f["row"]: f for f in facilities}
    for check in filter(None, case["row_checks"].split(";")):
        row, verdict, *needle = check.split(":", 2)
        f = by_row[int(row)]
        assert f["verdict"] == verdict, f
        if needle:
            text = json.dumps(f.get("errors", []), ensure_ascii=False)
            assert needle[0] in text, text
    if case["escape"]:
        assert_escaped(out)


# -- specific checks on corpus files -----------------------------------------------------------


def test_formulas_are_neutralised_in_csv_and_text_in_html(tmp_path):
    res, out, stray = run_audit(tmp_path, CORPUS / "formula_names.csv")
    assert_clean(res) or stray == []
    with open(out / "facilities.csv", newline="", encoding="utf-8-sig") as fh:  # facilities.csv starts with a BOM
        names = {r["id"]: r["name"] for r in csv.DictReader(fh)}
    assert names["f1"] == "'" + '=HYPERLINK("http://evil.example","click")'
    assert names["f2"].startswith("'+cmd")
    assert names["f3"] == "'-2+3"
    assert names["f4"].startswith("'@SUM(")
    assert names["f6"] == "'=1+1"
    assert names["f8"] == "'|calc"
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "=HYPERLINK(&quot;http://evil.example&quot;" in page or '=HYPERLINK(&#34;http://evil.example' in page or "=HYPERLINK(" in page
    assert '<a href="http://evil.example"' not in page


def test_python_tag_profile_executes_nothing(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for name in ("profile_python_tag.yaml", "ok.csv"):
        shutil.copy(CORPUS / name, src / name)
    res, out, stray = run_audit(tmp_path, src / "profile_python_tag.yaml", region=False)
    assert res.exit_code == 2 and stray == []
    assert not list(tmp_path.rglob("PWNED_MARKER")) and not Path("PWNED_MARKER").exists()


def test_billion_laughs_is_refused_before_any_expansion(tmp_path):
    res, _, _ = run_audit(tmp_path, CORPUS / "profile_billion_laughs.yaml", region=False)
    assert res.exit_code == 2 and "aliases (*name) are not allowed in a profile" in res.output  # refused at the first alias


def test_engine_raises_input_error_not_crash(tmp_path):
    from auditor.engine import audit
    from auditor.errors import InputError

    for name in ("empty.csv", "nul_bytes.csv", "enc_latin1.csv", "xlsx_zip_of_junk.xlsx"):
        with pytest.raises(InputError):
            audit(CORPUS / name, region="shanghai", as_of="2026-11-01")


@pytest.mark.parametrize("name", ["header_only.csv", "xlsx_header_only.xlsx"])
def test_a_list_with_no_rows_is_indeterminate_not_pass(name):
    """An audit of nothing is not compliance: indeterminate, with a warning; exit 0 since nothing failed."""
    from auditor.engine import NO_ROWS_WARNING, audit

    result = audit(CORPUS / name, region="shanghai", as_of="2026-11-01")
    assert result.tallies().facility_count == 0
    assert (result.verdict, result.exit_code) == ("indeterminate", 0)
    assert NO_ROWS_WARNING in result.warnings
    assert NO_ROWS_WARNING == "the facility list has no rows: nothing was audited"


@pytest.mark.parametrize("name", ["header_only.csv", "xlsx_header_only.xlsx"])
def test_a_list_with_no_rows_is_indeterminate_when_streamed_too(name, tmp_path):
    from auditor.engine import NO_ROWS_WARNING
    from auditor.engine.stream import audit_streamed

    out = audit_streamed(CORPUS / name, tmp_path, region="shanghai", as_of="2026-11-01", formats=("csv",))
    assert out.result.tallies().facility_count == 0
    assert (out.result.verdict, out.result.exit_code) == ("indeterminate", 0)
    assert out.result.warnings.count(NO_ROWS_WARNING) == 1


def test_the_no_rows_warning_is_said_once_after_waivers(tmp_path):
    from auditor.engine import NO_ROWS_WARNING, audit
    from auditor.waivers import apply_waivers_to_result

    result, _ = apply_waivers_to_result(audit(CORPUS / "header_only.csv", region="shanghai", as_of="2026-11-01"), [])
    assert result.warnings.count(NO_ROWS_WARNING) == 1 and result.verdict == "indeterminate"


# -- generated at test time --------------------------------------------------------------------


def test_100mb_single_line(tmp_path):
    p = tmp_path / "in" / "big_line.csv"
    p.parent.mkdir()
    chunk = "x" * (1 << 20)
    with open(p, "w", encoding="utf-8") as fh:
        fh.write("id,name,lon,lat,crs\n")
        fh.write("a,")
        for _ in range(100):
            fh.write(chunk)
        fh.write(",121.93,30.905,wgs84")
    assert p.stat().st_size > 100 * (1 << 20)
    res, out, stray = run_audit(tmp_path, p)
    assert_clean(res)
    assert stray == []
    assert res.exit_code == 2, res.output[:500]
    assert "field larger than field limit" in res.output


def _ok_xlsx(path: Path) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["id", "name", "lon", "lat", "crs"])
    ws.append(["a", "fine", 121.93, 30.905, "wgs84"])
    wb.save(path)
    return path


def _bomb_xlsx(path: Path, megabytes: int) -> Path:
    """A valid workbook whose sheet XML inflates to `megabytes` MB: one inline-string cell (stream-written)."""
    good = _ok_xlsx(path.with_name("seed.xlsx"))
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'

    def cell(ref: str, text: str) -> bytes:
        return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'.encode()

    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            if item.filename != "xl/worksheets/sheet1.xml":
                zout.writestr(item, zin.read(item.filename))
        with zout.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            fh.write(f'<?xml version="1.0" encoding="UTF-8"?><worksheet {ns}><sheetData><row r="1">'.encode())
            for ref, text in zip("ABCDE", ["id", "name", "lon", "lat", "crs"]):
                fh.write(cell(f"{ref}1", text))
            fh.write(b'</row><row r="2">' + cell("A2", "a") + b'<c r="B2" t="inlineStr"><is><t>')
            chunk = b"A" * (1 << 20)
            for _ in range(megabytes):
                fh.write(chunk)
            fh.write(b"</t></is></c>" + cell("C2", "121.93") + cell("D2", "30.905") + cell("E2", "wgs84"))
            fh.write(b"</row></sheetData></worksheet>")
    return path


_CHILD = textwrap.dedent(
    """
    import resource, sys
    from click.testing import CliRunner
    from auditor.cli import main
    import auditor.engine, auditor.report  # noqa: F401  (imports count as baseline)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    res = CliRunner().invoke(main, ["audit", sys.argv[1], "--region", "shanghai", "--out", sys.argv[2], "--format", "json"])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("EXIT", res.exit_code)
    print("GROWTH_KB", peak - base)
    print("OUTPUT", res.output.replace(chr(10), " ")[:300])
    """
)


def _measure(tmp_path: Path, target: Path, timeout: int = 120) -> tuple[int, int, str]:
    script = tmp_path / "child.py"
    script.write_text(_CHILD, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, str(script), str(target), str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=timeout, env=env, cwd=tmp_path)
    vals = dict(line.split(" ", 1) for line in proc.stdout.splitlines() if " " in line)
    return int(vals.get("EXIT", -1)), int(vals.get("GROWTH_KB", 0)), vals.get("OUTPUT", "") + proc.stderr[-500:]


def test_xlsx_decompression_bomb_is_bounded(tmp_path):
    bomb = _bomb_xlsx(tmp_path / "bomb.xlsx", 250)
    assert bomb.stat().st_size < 1 << 20  # ~260 KB on disk, 250 MB inflated
    code, growth_kb, output = _measure(tmp_path, bomb)
    assert "Traceback" not in output
    assert code in (0, 1, 2), output
    assert growth_kb < 200 * 1024, f"RSS grew {growth_kb / 1024:.0f} MB; {output}"


def test_xlsx_with_external_link_is_not_followed(tmp_path):
    import openpyxl

    p = tmp_path / "in" / "extlink.xlsx"
    p.parent.mkdir()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["id", "name", "lon", "lat", "crs"])
    ws.append(["a", "='http://evil.example/[book.xlsx]Sheet1'!A1", 121.93, 30.905, "wgs84"])
    ws.append(["b", '=HYPERLINK("http://evil.example","x")', 121.93, 30.905, "wgs84"])
    wb.save(p)
    # add an external-link part as Excel would
    with zipfile.ZipFile(p, "a") as z:
        z.writestr("xl/externalLinks/externalLink1.xml",
                   '<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><externalBook r:id="rId1" '
                   'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"/></externalLink>')
        z.writestr("xl/externalLinks/_rels/externalLink1.xml.rels",
                   '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" '
                   'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/externalLinkPath" '
                   'Target="http://evil.example/book.xlsx" TargetMode="External"/></Relationships>')
    res, out, stray = run_audit(tmp_path, p)
    assert_clean(res)
    assert stray == []
    assert res.exit_code in (0, 1, 3), res.output  # 3: a row that could not be read, nothing failed (issue 25)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert sorted(f["row"] for f in report["facilities"]) == [2, 3]
    assert_escaped(out)


def test_hostile_ids_do_not_steer_output_paths(tmp_path):
    p = tmp_path / "in" / "paths.csv"
    p.parent.mkdir()
    p.write_text("id,name,lon,lat,crs\n../../../escaped,x,121.93,30.905,wgs84\n/tmp/abs_escape,y,121.93,30.905,wgs84\n"
                 "..\\..\\win,z,121.93,30.905,wgs84\n", encoding="utf-8")
    res, out, stray = run_audit(tmp_path, p, "--figures")
    assert_clean(res)
    assert stray == []
    assert res.exit_code == 0, res.output
    assert not (tmp_path / "escaped").exists()


@pytest.mark.parametrize("out_rel", ["out/../out2", "deep/../../sibling_out", "a/./b/../c"])
def test_out_with_traversal_writes_only_into_the_resolved_folder(tmp_path, out_rel):
    (tmp_path / "in").mkdir()
    p = shutil.copy(CORPUS / "ok.csv", tmp_path / "in" / "ok.csv")
    box = tmp_path / "box"
    box.mkdir()
    out = box / out_rel
    res, _, stray = run_audit(box, Path(p), out=out)
    assert_clean(res)
    assert res.exit_code == 0, res.output
    # the lexical intermediate folders (box/out, box/deep, box/a/b) are created empty by mkdir(parents=True);
    # no *file* may land outside the resolved folder
    assert [s for s in stray if not Path(s).is_dir()] == []
    assert (out.resolve() / "report.json").exists()


def test_out_that_is_a_file_is_a_clear_error(tmp_path):
    (tmp_path / "in").mkdir()
    p = shutil.copy(CORPUS / "ok.csv", tmp_path / "in" / "ok.csv")
    target = tmp_path / "afile"
    target.write_text("keep me", encoding="utf-8")
    res, _, _ = run_audit(tmp_path, Path(p), out=target)
    assert_clean(res)
    assert res.exit_code == 2, res.output
    assert target.read_text(encoding="utf-8") == "keep me"


def test_profile_facilities_outside_its_folder_is_read_but_nothing_written_there(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(CORPUS / "ok.csv", elsewhere / "list.csv")
    prof = tmp_path / "profiles" / "deep" / "op.yaml"
    prof.parent.mkdir(parents=True)
    prof.write_text("name: x\nregion: shanghai\nfacilities: ../../elsewhere/list.csv\n", encoding="utf-8")
    before = _snapshot(elsewhere)
    res, out, stray = run_audit(tmp_path, prof, region=False)
    assert_clean(res)
    assert res.exit_code == 0, res.output
    assert stray == []
    assert _snapshot(elsewhere) == before
    assert (out / "report.json").exists()
