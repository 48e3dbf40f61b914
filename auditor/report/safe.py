"""Making strings from inputs safe to put into a report format."""

from __future__ import annotations

__all__ = ["FORMULA_START", "csv_cell", "md_cell"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")
#: What a cell starts with that a spreadsheet would run as a formula.
FORMULA_START = _FORMULA_START


def csv_cell(value: object) -> str:
    """A text cell that a spreadsheet will not run as a formula (OWASP CSV injection guidance).

    Text starting with = + - @ tab CR LF | % gets a leading apostrophe. Numbers
    are written by the renderers themselves and never pass through here.
    """
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def md_cell(value: object) -> str:
    """Text for a Markdown table cell: no pipes, newlines, raw HTML, links or emphasis.

    The backslash is escaped first: otherwise an input's own ``\\`` would swallow the escape
    added before ``[`` or ``]`` and ``\\[x\\](http://…)`` would render as a live link.
    """
    text = "" if value is None else str(value)
    text = text.replace("\\", "\\\\")
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")
    for ch in "`*_[]":
        text = text.replace(ch, "\\" + ch)
    return text
