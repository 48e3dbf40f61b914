"""An evidence bundle holding Chinese reports, the workbook and the PDF verifies: each is re-rendered
in the language the bundled reports were written in, byte for byte (issue 18, item 3)."""

from __future__ import annotations

import os
import zipfile

from conftest import AS_OF, REPO

from auditor.bundle import verify_bundle, write_bundle
from auditor.bundle.reports import bundled_lang
from auditor.engine import audit
from auditor.report import write_reports

STAMP = "2026-11-28T19:30:49+00:00"


def _bundle(tmp_path, lang, formats):
    old = os.getcwd()
    os.chdir(REPO)  # the example's paths are relative to the repository
    try:
        result = audit("examples/shanghai-operator/operator.yaml", as_of=AS_OF)
        reports = write_reports(result, tmp_path / "r", formats, generated_at=STAMP, lang=lang)
        return write_bundle(result, tmp_path / "b.zip", reports=reports)
    finally:
        os.chdir(old)


def test_a_chinese_bundle_with_workbook_and_pdf_verifies(tmp_path, monkeypatch):
    bundle = _bundle(tmp_path, "zh-CN", ("json", "md", "html", "xlsx", "pdf"))
    with zipfile.ZipFile(bundle) as z:
        assert {"reports/report.xlsx", "reports/report.pdf", "reports/report.md"} <= set(z.namelist())
    monkeypatch.setenv("AUDITOR_LANG", "en")  # the verifier's own default language does not matter
    v = verify_bundle(bundle)
    assert not v.reports, v.reports
    assert v.reports_matched == 5


def test_the_bundled_language_is_read_from_each_kind_of_report(tmp_path):
    for fmt in ("md", "xlsx", "pdf", "html"):
        out = tmp_path / fmt
        paths = write_reports_for(out, fmt)
        members = {f"reports/{p.name}": p for p in paths}
        assert bundled_lang(members) == "zh-CN", fmt
    assert bundled_lang({}) == "en"


def write_reports_for(out, fmt):
    old = os.getcwd()
    os.chdir(REPO)
    try:
        result = audit("examples/shanghai-operator/operator.yaml", as_of=AS_OF)
        return write_reports(result, out, (fmt,), generated_at=STAMP, lang="zh-CN")
    finally:
        os.chdir(old)


def test_reports_in_two_languages_are_a_difference(tmp_path):
    """A bundle whose PDF is English beside a Chinese report.md cannot be re-rendered as a whole: one differs."""
    from auditor.report import render

    old = os.getcwd()
    os.chdir(REPO)
    try:
        result = audit("examples/shanghai-operator/operator.yaml", as_of=AS_OF)
        reports = write_reports(result, tmp_path / "r", ("json", "md", "pdf"), generated_at=STAMP, lang="zh-CN")
        (tmp_path / "r" / "report.pdf").write_bytes(render(result, "pdf", generated_at=STAMP, lang="en"))
        bundle = write_bundle(result, tmp_path / "b.zip", reports=reports)
    finally:
        os.chdir(old)
    v = verify_bundle(bundle)
    assert [line.split(":")[0] for line in v.reports] == ["reports/report.md"], v.reports
