"""The human reports' languages: gettext catalogs (``auditor/locale/<ll_CC>/LC_MESSAGES/auditor.po``) managed with Babel.

report.md, report.html, report.xlsx and report.pdf are written in ``zh-CN`` or ``en``; report.json,
report.sarif, facilities.csv/.geojson/.parquet keep stable English identifiers (keys, status codes,
rule ids) whatever the language. Every renderer takes a :class:`Tr`, the translator for one
language, and passes it down: nothing is installed into :mod:`builtins` and no global language is
set, so one process can render the same result in both languages.

What is translated: headings, labels, verdict and status words (通过 / 不通过 / 待定 / 错误 / 豁免),
rule titles, clause summaries, remediation and the evidence (basis) labels, from the catalogs.
What is not: a finding's message, composed by its rule in English, and strings from the inputs and
the region registry (names, addresses, scope notes), which are data.

The language: the ``lang`` argument if given, else the ``AUDITOR_LANG`` environment variable, else
the locale (``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG``, the order gettext reads them in:
``zh_CN.UTF-8`` gives zh-CN), else ``en`` (:func:`resolve_lang`).

Catalogs: the ``.po`` files are the source (committed); the build compiles them to ``.mo`` beside
them in the wheel (``setup.py``'s ``build_py``). A checkout or an editable install that has no
``.mo`` compiles the ``.po`` in memory with Babel on first use. To update them after changing a
message::

    pybabel extract -F babel.cfg -o auditor/locale/auditor.pot --no-location --sort-output .
    pybabel update -i auditor/locale/auditor.pot -d auditor/locale -D auditor --no-fuzzy-matching

then translate the new ``msgstr`` in ``zh_CN`` (``tests/report/test_translations.py`` fails while one
is missing). Messages use ``str.format`` fields (``{n}``), which a translation must keep.
"""

from __future__ import annotations

import gettext
import io
import os
from collections.abc import Iterable, Mapping
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from auditor.errors import UsageError

__all__ = ["DOMAIN", "ENV_VAR", "LANGS", "NOTICE_NUMBER", "N_", "Tr", "catalog_path", "resolve_lang", "translator"]

#: The languages the human reports are written in (BCP 47 tags, as ``--lang`` takes them).
LANGS = ("zh-CN", "en")
#: The gettext domain: ``auditor/locale/<ll_CC>/LC_MESSAGES/auditor.po``.
DOMAIN = "auditor"
#: The environment variable that chooses the language when no ``lang`` is given.
ENV_VAR = "AUDITOR_LANG"
#: How the reports cite MIIT's notice, in every language (DESIGN §1: cite the Chinese number).
NOTICE_NUMBER = "工信部通信函〔2024〕107号"
_LOCALE_DIRS = {"zh-CN": "zh_CN", "en": "en"}
_LOCALE_ENV = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it (translated where it is shown)."""
    return message


def _match(text: str) -> str | None:
    """'zh_CN.UTF-8', 'zh-cn', 'zh', 'zh-Hans' → 'zh-CN'; 'en_GB' → 'en'; anything else → None."""
    tag = text.strip().split(".")[0].split("@")[0].replace("_", "-").lower()
    if tag == "zh" or tag.startswith("zh-"):
        return "zh-CN"
    if tag == "en" or tag.startswith("en-"):
        return "en"
    return None


def resolve_lang(lang: str | None = None, *, environ: Mapping[str, str] | None = None) -> str:
    """The report language: ``lang``, else ``AUDITOR_LANG``, else the locale, else ``en``.

    A ``lang`` (or ``AUDITOR_LANG``) that is neither language raises :class:`~auditor.errors.UsageError`
    listing the valid ones; a locale that is neither (``C``, ``de_DE``) means English.

    >>> resolve_lang("zh_CN"), resolve_lang("en-GB"), resolve_lang(environ={"LANG": "zh_CN.UTF-8"}), resolve_lang(environ={"LANG": "C"})
    ('zh-CN', 'en', 'zh-CN', 'en')
    >>> resolve_lang(environ={"AUDITOR_LANG": "en", "LANG": "zh_CN.UTF-8"})
    'en'
    """
    env = os.environ if environ is None else environ
    for value, name in ((lang, "--lang"), (env.get(ENV_VAR), ENV_VAR)):
        if value:
            found = _match(value)
            if found is None:
                raise UsageError(name, value, LANGS)
            return found
    for name in _LOCALE_ENV:
        value = env.get(name)
        if value:
            # LANGUAGE is a colon-separated preference list; the first listed language counts
            return _match(value.split(":")[0]) or "en"
    return "en"


def catalog_path(lang: str, suffix: str = ".mo") -> Any:
    """Where the catalog of ``lang`` is in the package (a Traversable; ``suffix`` ``.mo`` or ``.po``)."""
    return resources.files("auditor").joinpath("locale", _LOCALE_DIRS[lang], "LC_MESSAGES", DOMAIN + suffix)


@cache  # the catalogs are constant data of the installed package
def _translations(lang: str) -> gettext.GNUTranslations:
    mo = catalog_path(lang, ".mo")
    if mo.is_file():
        return gettext.GNUTranslations(io.BytesIO(mo.read_bytes()))
    # a checkout or an editable install: the build compiles the .mo, here the .po is compiled in memory
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with catalog_path(lang, ".po").open("rb") as f:
        catalog = read_po(f, locale=_LOCALE_DIRS[lang], domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


#: Facility verdicts and finding statuses: stable identifiers in report.json, words in the human reports.
STATUS_WORDS = {
    "pass": N_("pass"),
    "fail": N_("fail"),
    "indeterminate": N_("indeterminate"),
    "error": N_("error"),
    "waived": N_("waived"),
    "not_applicable": N_("not applicable"),
}
#: A region's status on the as-of date (the registry's words).
REGION_STATUS_WORDS = {"announced": N_("announced"), "active": N_("active"), "scope_reduced": N_("scope reduced"), "exited": N_("exited")}
#: Containment relations (inside / outside / indeterminate) as the reports name them.
RELATION_WORDS = {"inside": N_("inside"), "outside": N_("outside"), "indeterminate": N_("indeterminate")}


class Tr:
    """The translator of one language: ``tr._("text")`` and the words the reports share.

    >>> tr = translator("zh-CN")
    >>> tr.status("fail"), tr.status("waived"), tr.status("pass")
    ('不通过', '豁免', '通过')
    >>> translator("en").status("not_applicable")
    'not applicable'
    """

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self._t = _translations(lang)

    @property
    def zh(self) -> bool:
        return self.lang == "zh-CN"

    def _(self, message: str) -> str:
        """The translation of ``message`` (the message itself when the catalog lacks it)."""
        return self._t.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._t.ngettext(singular, plural, n)

    def status(self, value: str) -> str:
        """A verdict or status word: ``fail`` → 不通过 / fail."""
        word = STATUS_WORDS.get(value)
        return self._(word) if word else value.replace("_", " ")

    def relation(self, value: str) -> str:
        word = RELATION_WORDS.get(value)
        return self._(word) if word else value.replace("_", " ")

    def region_status(self, value: str | None) -> str:
        """A region's status word (``active`` → 实施中), or "not a pilot region" for none."""
        if not value:
            return self._("not a pilot region")
        word = REGION_STATUS_WORDS.get(value)
        return self._(word) if word else value.replace("_", " ")

    def source(self, key: str) -> str:
        """An evidence source as the weight table labels it (``declared_coordinates`` → declared coordinates / 申报坐标)."""
        from auditor.rules._weights import source_label

        return self._(source_label(key))

    def basis(self, keys: Iterable[str]) -> str:
        """The evidence a location was decided on: "declared coordinates + declared address", or "none"."""
        keys = [k for k in keys if k and k != "none"]
        return " + ".join(self.source(k) for k in keys) or self._("none")

    def rule_title(self, rule_id: str) -> str:
        spec = _rule_specs().get(rule_id)
        return self._(spec.title) if spec else rule_id

    def remediation(self, rule_id: str) -> str:
        spec = _rule_specs().get(rule_id)
        return self._(spec.remediation) if spec else ""

    def clause(self, clause: str) -> str:
        """A clause reference as the notice numbers it: "Annex II.2" → 附件 二.2 (several joined by ';')."""
        return "; ".join(self._(c.strip()) for c in clause.split(";") if c.strip())

    def clause_summary(self, clause: str) -> str:
        text = _clause_summaries().get(clause.strip(), "")
        return self._(text) if text else ""

    def number(self, n: float, digits: int = 0) -> str:
        return f"{n:,.{digits}f}"


def translator(lang: str | None = None) -> Tr:
    """The :class:`Tr` of ``lang``, resolved with :func:`resolve_lang` (so ``None`` reads ``AUDITOR_LANG`` and the locale now)."""
    return _tr(lang if lang in LANGS else resolve_lang(lang))


@cache
def _tr(lang: str) -> Tr:
    return Tr(lang)


@lru_cache(maxsize=1)
def _rule_specs() -> dict[str, Any]:
    from auditor.rules import all_rules

    return {m.SPEC.id: m.SPEC for m in all_rules()}


@lru_cache(maxsize=1)
def _clause_summaries() -> dict[str, str]:
    """Clause → its summary, from the catalogue the rules cite (``auditor/data/clauses.yaml``)."""
    from auditor.documents import load_yaml

    text = resources.files("auditor").joinpath("data", "clauses.yaml").read_text(encoding="utf-8")
    doc = load_yaml(text, source="auditor/data/clauses.yaml")
    return {str(k): str(v.get("summary", "")) for k, v in (doc.get("clauses") or {}).items() if isinstance(v, dict)}
