"""The human reports in zh-CN and en, and the catalogs behind them (issue 18, item 1)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import REPO

from auditor.errors import UsageError
from auditor.report import render, write_reports
from auditor.report.i18n import LANGS, N_, catalog_path, resolve_lang, translator
from auditor.report.i18n_extract import data_messages

STAMP = "2026-11-28T19:30:49+00:00"
VERDICT_WORDS = {"pass": "通过", "fail": "不通过", "indeterminate": "待定", "error": "错误", "waived": "豁免"}
_FIELDS = re.compile(r"\{[a-z_]*\}")


def _catalog(lang: str):
    from babel.messages.pofile import read_po

    with catalog_path(lang, ".po").open("rb") as f:
        return read_po(f, locale=lang.replace("-", "_"))


def _extracted() -> dict[str, str]:
    """Every message the code and the data hold, as `pybabel extract -F babel.cfg` finds them (message -> where)."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    with open(REPO / "babel.cfg", encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    out: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(str(REPO), method_map, options_map):
        for m in message if isinstance(message, tuple) else (message,):
            out.setdefault(m, f"{filename}:{lineno}")
    return out


def test_every_message_has_a_chinese_translation_that_keeps_its_fields():
    """Fails when a message in the code or the data (a rule title, a clause summary, a label) lacks a
    zh_CN translation, is fuzzy, or drops or invents a {field}: extract, update the catalog, translate."""
    extracted = _extracted()
    assert len(extracted) > 200 and "Pilot-region audit: {operator}" in extracted and "pass" in extracted
    catalog = _catalog("zh-CN")
    translated = {m.id: m for m in catalog if m.id and m.string and "fuzzy" not in m.flags}
    missing = sorted(f"{msg!r} ({where})" for msg, where in extracted.items() if msg not in translated)
    assert not missing, "messages without a zh_CN translation:\n" + "\n".join(missing)
    for msg in extracted:
        assert set(_FIELDS.findall(translated[msg].string)) == set(_FIELDS.findall(msg)), (msg, translated[msg].string)


def test_the_data_messages_are_the_rules_and_the_clauses():
    """Rule titles and remediation, clause summaries and evidence labels come from the data the reports show."""
    from auditor.rules import all_rules
    from auditor.rules._weights import WEIGHTS

    text = (REPO / "auditor" / "data" / "clauses.yaml").read_text(encoding="utf-8")
    messages = {m for m, _ in data_messages(text)}
    assert {m.SPEC.title for m in all_rules()} <= messages and {m.SPEC.remediation for m in all_rules()} <= messages
    assert {w.label for w in WEIGHTS.values()} <= messages and "Annex II.2" in messages
    tr = translator("zh-CN")
    for m in all_rules():
        assert tr.rule_title(m.SPEC.id) != m.SPEC.title and re.search(r"[\u4e00-\u9fff]", tr.rule_title(m.SPEC.id))
        assert re.search(r"[\u4e00-\u9fff]", tr.remediation(m.SPEC.id))


def test_verdict_words():
    zh, en = translator("zh-CN"), translator("en")
    assert {v: zh.status(v) for v in VERDICT_WORDS} == VERDICT_WORDS
    assert {v: en.status(v) for v in VERDICT_WORDS} == {v: v for v in VERDICT_WORDS}
    assert zh.basis(["declared_coordinates", "address"]) == "申报坐标 + 申报地址"
    assert N_("x") == "x"


@pytest.mark.parametrize("given, environ, expected", [
    ("zh-CN", {}, "zh-CN"), ("zh_CN.UTF-8", {}, "zh-CN"), ("EN", {"AUDITOR_LANG": "zh-CN"}, "en"),
    (None, {"AUDITOR_LANG": "zh", "LANG": "en_US.UTF-8"}, "zh-CN"),
    (None, {"LANG": "zh_CN.UTF-8"}, "zh-CN"), (None, {"LC_ALL": "en_GB.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"),
    (None, {"LANGUAGE": "zh_CN:en", "LANG": "C.UTF-8"}, "zh-CN"), (None, {"LANG": "de_DE.UTF-8"}, "en"), (None, {}, "en"),
])
def test_language_precedence(given, environ, expected):
    assert resolve_lang(given, environ=environ) == expected


def test_an_unknown_language_is_refused_naming_the_valid_ones(example_result, tmp_path):
    with pytest.raises(UsageError) as err:
        resolve_lang("fr")
    assert "fr" in str(err.value) and all(lang in str(err.value) for lang in LANGS)
    with pytest.raises(UsageError):
        resolve_lang(None, environ={"AUDITOR_LANG": "klingon"})
    with pytest.raises(UsageError):
        write_reports(example_result, tmp_path / "out", ("md",), generated_at=STAMP, lang="fr")
    assert not (tmp_path / "out" / "report.md").exists()


def test_environment_chooses_the_language_when_none_is_given(example_result, monkeypatch):
    monkeypatch.setenv("AUDITOR_LANG", "zh-CN")
    assert render(example_result, "md", generated_at=STAMP).startswith("# 试点地区审计")
    monkeypatch.setenv("AUDITOR_LANG", "en")
    assert render(example_result, "md", generated_at=STAMP).startswith("# Pilot-region audit")


def test_markdown_in_chinese_and_english(example_result):
    zh = render(example_result, "md", generated_at=STAMP, lang="zh-CN")
    en = render(example_result, "md", generated_at=STAMP, lang="en")
    assert zh.startswith("# 试点地区审计：") and en.startswith("# Pilot-region audit: ")
    assert "- **结论：不通过**" in zh and "- **Verdict: FAIL**" in en
    assert "工信部通信函〔2024〕107号" in zh and "工信部通信函〔2024〕107号" in en
    for heading in ("## 设施", "## 规则", "## 未通过的设施", "## 整改建议", "## 所检查的条款", "## 来源与依据"):
        assert heading in zh
    assert "业务设施位于试点地区内" in zh and "附件 二.2" in zh  # a rule title and a clause reference
    assert "将业务迁出该设施" in zh  # the remediation of facility_in_region
    assert "| 申报坐标 + 申报地址 |" in zh  # basis labels
    # finding messages stay as the rules wrote them, and the report says so
    failing = next(x for f in example_result.facilities for x in example_result.facility_findings.get(f.id, []) if x.status.value == "fail")
    assert failing.message.split(":")[0] in zh and "按原文引用" in zh
    # identifiers stay identifiers
    assert "`facility_in_region`" in zh and "SH-IDC-14" in zh


def test_html_in_chinese(example_result):
    zh = render(example_result, "html", generated_at=STAMP, lang="zh-CN")
    en = render(example_result, "html", generated_at=STAMP, lang="en")
    assert '<html lang="zh-CN">' in zh and '<html lang="en">' in en
    assert "<title>试点地区审计：" in zh and ">不通过<" in zh and ">待定<" in zh and ">通过<" in zh
    assert "工信部通信函〔2024〕107号" in zh and "整改建议" in zh
    assert 'data-template="共 {total} 行，显示 {shown} 行"' in zh  # the script fills the counter in the page's language
    # status codes stay English identifiers in the data the filters use
    assert 'data-verdict="fail"' in zh and 'data-status="indeterminate"' in zh


def test_json_and_tables_do_not_depend_on_the_language(example_result, monkeypatch):
    monkeypatch.setenv("AUDITOR_LANG", "zh-CN")
    zh = {f: render(example_result, f, generated_at=STAMP) for f in ("json", "csv", "geojson", "sarif")}
    monkeypatch.setenv("AUDITOR_LANG", "en")
    assert zh == {f: render(example_result, f, generated_at=STAMP) for f in ("json", "csv", "geojson", "sarif")}


def test_write_reports_with_figures_in_chinese(example_result, tmp_path):
    paths = write_reports(example_result, tmp_path, ("md",), generated_at=STAMP, figures=True, lang="zh-CN")
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "## 图表" in md and md.index("## 图表") < md.index("## 来源与依据")
    assert "![到边界的距离](figures/distance.svg)" in md
    assert any(p.name == "distance.png" for p in paths)


def test_catalogs_compile(tmp_path):
    """Both .po compile with Babel as the build compiles them, and the .mo gives the translation."""
    import gettext

    from babel.messages.mofile import write_mo

    for lang in LANGS:
        mo = tmp_path / f"{lang}.mo"
        with mo.open("wb") as f:
            write_mo(f, _catalog(lang))
        with mo.open("rb") as f:
            t = gettext.GNUTranslations(f)
        assert t.gettext("fail") == ("不通过" if lang == "zh-CN" else "fail")
    assert isinstance(catalog_path("zh-CN", ".po").read_bytes(), bytes) and Path(str(catalog_path("en", ".po"))).is_file()


def test_the_english_catalog_keeps_the_english_messages():
    """en: every msgstr empty (the message itself) or the message; never another language's text."""
    catalog = _catalog("en")
    assert len([m for m in catalog if m.id]) > 200
    assert all(m.string in ("", m.id) for m in catalog if m.id), [m.id for m in catalog if m.id and m.string not in ("", m.id)][:5]
    en = translator("en")
    assert all(en._(msg) == msg for msg in _extracted())
