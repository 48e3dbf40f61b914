"""Indented JSON text for the large reports (report.json, report.sarif), fast.

``json.dumps(doc, ensure_ascii=False, indent=2)`` runs the standard library's pure-Python encoder
(its C encoder does not indent): 2.1 s for report.json of 20,000 rows; this gives the same text in
0.34 s, orjson's 0.15 s and the fix-ups below included (benchmarks/reports.py). The two differ in
what is covered here:

* a float below 1e-4 in magnitude (orjson: ``0.00005``, ``2.5e-7``; Python: ``5e-05``, ``2.5e-07``,
  same digits): those numbers are rewritten as ``repr`` writes them;
* whatever orjson refuses or would write otherwise — an integer beyond 64 bits, a key that is not a
  string, a lone surrogate, a subclass of str, int, dict or list (an enum member), a dataclass or
  datetime — goes to ``json.dumps``, which writes it as before (or raises as before);
* NaN and infinities: orjson writes ``null`` where ``json.dumps(allow_nan=False)`` raised (neither
  is valid JSON; no report holds one on purpose).
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["indented_json"]

#: a line whose value is a number orjson writes differently from repr: the value after the indent
#: (and a key), followed by a comma or nothing. Strings cannot hold a raw line break in JSON, so a
#: line's start is never inside one, and a number in a string's text is left alone.
_SMALL_FLOAT_LINE = re.compile(r'( *(?:"(?:[^"\\]|\\.)*": )?)(-?(?:0\.0000\d+|\d(?:\.\d+)?e-\d+))(,?)')


def indented_json(doc: Any) -> str:
    """``json.dumps(doc, ensure_ascii=False, indent=2, allow_nan=False)``'s text, written by orjson."""
    try:
        import orjson
    except ImportError:  # pragma: no cover - a declared dependency
        return json.dumps(doc, ensure_ascii=False, indent=2, allow_nan=False)
    options = orjson.OPT_INDENT_2 | orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
    try:
        text = orjson.dumps(doc, option=options).decode("utf-8")
    except TypeError:  # orjson.JSONEncodeError: something it does not write as json.dumps does
        return json.dumps(doc, ensure_ascii=False, indent=2, allow_nan=False)
    return _small_floats_as_repr(text)


def _small_floats_as_repr(text: str) -> str:
    """``text`` with each number orjson writes as ``0.0000…`` or ``…e-…`` rewritten as repr writes it.
    Only the lines that hold such a spelling are matched (a regular expression over the whole text
    took longer than orjson's whole encoding)."""
    starts = set()
    for needle in ("e-", "0.0000"):
        at = text.find(needle)
        while at >= 0:
            starts.add(text.rfind("\n", 0, at) + 1)
            at = text.find(needle, at + 1)
    if not starts:
        return text
    out, last = [], 0
    for start in sorted(starts):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        line = _SMALL_FLOAT_LINE.fullmatch(text, start, end)
        if line is not None:
            out += [text[last:start], line[1], repr(float(line[2])), line[3]]
            last = end
    out.append(text[last:])
    return "".join(out)
