"""Babel extractors (``babel.cfg`` maps them): the report code's messages, and those that live in data.

``extract_python``: every ``_("...")``, ``N_("...")``, ``gettext("...")`` and ``ngettext("...", "...", n)`` call
(also as a method, ``tr._("...")``) found by parsing the module with :mod:`ast` — inside f-strings too,
which Babel's token-based Python extractor does not see on Python 3.11.

``extract_catalogue``:
Mapped onto ``auditor/data/clauses.yaml``: it yields each clause's reference and summary from that
file, and, from the installed package, every rule's title and remediation (``auditor/rules/*.py``
``SPEC``) and every evidence label of the weight table (:mod:`auditor.rules._weights`) — the words
the human reports show through :class:`auditor.report.i18n.Tr`. A rule whose title changes thus
shows up as a new message at the next ``pybabel extract``, and as a missing translation in
``tests/report/test_translations.py`` until then.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

__all__ = ["extract_catalogue", "extract_python", "data_messages"]

_SINGLE = {"_", "N_", "gettext"}
_PLURAL = {"ngettext"}


def extract_python(fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any) -> Iterator[tuple[int, str, Any, list[str]]]:
    """Babel's extractor protocol over a Python module, by its syntax tree."""
    import ast

    tree = ast.parse(fileobj.read().decode("utf-8"))
    found: list[tuple[int, int, str, Any]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr if isinstance(node.func, ast.Attribute) else ""
        texts = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        if name in _SINGLE and len(node.args) == 1 and len(texts) == 1:
            found.append((node.lineno, node.col_offset, name, texts[0]))
        elif name in _PLURAL and len(texts) >= 2:
            found.append((node.lineno, node.col_offset, name, (texts[0], texts[1])))
    for lineno, _col, name, message in sorted(found, key=lambda t: (t[0], t[1])):
        yield lineno, name, message, []


def data_messages(clauses_yaml: str) -> list[tuple[str, str]]:
    """(message, where it comes from) for every message kept in data, in a stable order."""
    from auditor.documents import load_yaml
    from auditor.rules import all_rules
    from auditor.rules._weights import WEIGHTS

    out: list[tuple[str, str]] = []
    doc = load_yaml(clauses_yaml, source="auditor/data/clauses.yaml")
    for ref, clause in (doc.get("clauses") or {}).items():
        out.append((str(ref), "clause reference"))
        if isinstance(clause, dict) and clause.get("summary"):
            out.append((str(clause["summary"]), f"summary of {ref}"))
    for module in all_rules():
        out.append((module.SPEC.title, f"title of rule {module.SPEC.id}"))
        out.append((module.SPEC.remediation, f"remediation of rule {module.SPEC.id}"))
    for key, weight in WEIGHTS.items():
        out.append((weight.label, f"evidence label {key}"))
    return out


def extract_catalogue(fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any) -> Iterator[tuple[int, None, str, list[str]]]:
    """Babel's extractor protocol: (line, function, message, comments) for each data message."""
    for message, where in data_messages(fileobj.read().decode("utf-8")):
        yield 0, None, message, [where]
