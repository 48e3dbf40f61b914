"""auditor.report.jsontext.indented_json writes exactly what json.dumps(ensure_ascii=False, indent=2)
writes, for any document a report can hold and for the values orjson writes otherwise."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.report.jsontext import indented_json


def _stdlib(doc: object) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2, allow_nan=False)


_floats = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(min_value=-1e-4, max_value=1e-4, allow_nan=False),           # where orjson's text differs
    st.sampled_from([1e-05, -2.5e-07, 5e-324, 0.0001, 9.99e-05, -0.0, 1e16, 1e-4 * (1 - 1e-16)]),
)
_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)))       # no lone surrogates here (see below)
_leaves = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**64 - 1), _floats, _text)
_docs = st.recursive(_leaves, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_text, inner, max_size=4)),
                     max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(_docs)
def test_any_document_is_written_as_json_dumps_writes_it(doc: object) -> None:
    assert indented_json(doc) == _stdlib(doc)


@given(st.lists(_floats, max_size=8), _text)
@settings(max_examples=200, deadline=None)
def test_small_floats_as_keys_values_and_in_text(values: list[float], key: str) -> None:
    """A small number is rewritten where it is a value; the same digits inside a string stay as they are."""
    doc = {"distance_m": values, key: {"m": values[:1], "said": f"{values} 0.00001 2.5e-7"}, "n": values[0] if values else 0.00001}
    assert indented_json(doc) == _stdlib(doc)


class _Kind(enum.StrEnum):
    DC = "idc"


class _Level(enum.IntEnum):
    HIGH = 3


@dataclasses.dataclass
class _Thing:
    x: int = 1


def test_what_orjson_refuses_or_writes_otherwise_goes_to_json_dumps() -> None:
    for doc in ({"big": 2**70}, {1: "int key"}, {"kind": _Kind.DC, "level": _Level.HIGH}, [("a", 1)]):
        assert indented_json(doc) == _stdlib(doc)
    for doc in ({"when": dt.date(2026, 12, 6)}, [_Thing()]):   # json.dumps refuses these: so does this
        with pytest.raises(TypeError):
            indented_json(doc)
    with pytest.raises(UnicodeEncodeError):                     # a lone surrogate: as json.dumps' text fails when written
        indented_json({"name": "\ud800"}).encode("utf-8")


def test_the_example_reports_are_written_as_before(example_result) -> None:
    from auditor.report.json_report import build_report
    from auditor.report.sarif_report import build_sarif

    for doc in (build_report(example_result, generated_at="2026-11-01T00:00:00+00:00"), build_sarif(example_result)):
        assert indented_json(doc) == _stdlib(doc)
