"""Recorded ASN answers, and offline sources that replay them.

A live audit asks Team Cymru's DNS zone and RDAP servers; an evidence bundle keeps what they
said so that another party can recompute the audit without the network. The recording is one
JSON file::

    {"schema": "auditor-asn-recording/1",
     "sources": ["cymru-dns", "rdap"],          # in the order the audit asked them
     "answers": [AsnAnswer.to_dict(), ...]}     # sorted by source (that order), then query

Each answer keeps its ``detail`` as obtained (Cymru's TXT strings; RDAP's wire events, with
the raw RDAP response of every successful request). :func:`replay_sources` gives one
:class:`ReplayAsnSource` per recorded source, named as the live source was, so a replayed
audit collects the same answers from the same source names in the same order.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.errors import DataError, os_reason

from .answer import AsnAnswer, AsnStatus, make_answer

__all__ = ["ASN_RECORDING_SCHEMA", "AsnRecording", "ReplayAsnSource", "dumps_asn_recording", "read_asn_recording", "replay_sources"]

ASN_RECORDING_SCHEMA = "auditor-asn-recording/1"


@dataclass(frozen=True)
class AsnRecording:
    """Answers of one or more ASN sources; ``sources`` keeps the order they were asked in.

    Examples
    --------
    >>> a = make_answer("58.34.1.1", "cymru-dns", AsnStatus.OK, "2026-11-01T00:00:00Z", asn=4134)
    >>> rec = AsnRecording.of([a])
    >>> rec.sources, rec.answer("cymru-dns", "58.34.1.1").asn
    (('cymru-dns',), 4134)
    """

    sources: tuple[str, ...] = ()
    answers: tuple[AsnAnswer, ...] = ()

    @classmethod
    def of(cls, answers: Iterable[AsnAnswer]) -> AsnRecording:
        """A recording of ``answers``; sources ordered by first appearance, answers by (source, query)."""
        items = list(answers)
        order = list(dict.fromkeys(a.source for a in items))
        rank = {s: i for i, s in enumerate(order)}
        return cls(tuple(order), tuple(sorted(items, key=lambda a: (rank[a.source], a.query))))

    def answer(self, source: str, query: str) -> AsnAnswer | None:
        for a in self.answers:
            if a.source == source and a.query == query:
                return a
        return None

    def to_dict(self) -> dict[str, Any]:
        return {"schema": ASN_RECORDING_SCHEMA, "sources": list(self.sources), "answers": [a.to_dict() for a in self.answers]}

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], *, where: str = "<asn recording>") -> AsnRecording:
        if not isinstance(doc, Mapping) or doc.get("schema") != ASN_RECORDING_SCHEMA:
            found = doc.get("schema") if isinstance(doc, Mapping) else type(doc).__name__
            raise DataError(f"not an ASN recording (schema {found!r}, expected {ASN_RECORDING_SCHEMA!r})", path=where)
        sources, items = doc.get("sources"), doc.get("answers")
        if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
            raise DataError("`sources` must be a list of source names", path=where)
        if not isinstance(items, list):
            raise DataError("`answers` must be a list", path=where)
        answers: list[AsnAnswer] = []
        seen: set[tuple[str, str]] = set()
        for i, item in enumerate(items):
            try:
                a = AsnAnswer.from_dict(item)
            except (KeyError, ValueError, TypeError, AttributeError) as exc:
                raise DataError(f"answers[{i}] is malformed: {type(exc).__name__}: {exc}", path=where) from exc
            if a.source not in sources:
                raise DataError(f"answers[{i}] comes from {a.source!r}, which `sources` does not list", path=where)
            if (a.source, a.query) in seen:  # one answer per question: a replay must not have to choose
                raise DataError(f"answers[{i}]: a second answer of {a.source} for {a.query}", path=where)
            seen.add((a.source, a.query))
            answers.append(a)
        rank = {s: i for i, s in enumerate(sources)}
        return cls(tuple(dict.fromkeys(sources)), tuple(sorted(answers, key=lambda a: (rank[a.source], a.query))))


def dumps_asn_recording(recording: AsnRecording) -> str:
    """The canonical text of a recording: sorted keys, fixed indentation, UTF-8."""
    return json.dumps(recording.to_dict(), ensure_ascii=False, sort_keys=True, indent=1) + "\n"


def read_asn_recording(path: str | os.PathLike[str]) -> AsnRecording:
    """Read a recording; a :class:`~auditor.errors.DataError` names the file and the entry at fault."""
    where = str(path)
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataError(f"cannot read the ASN recording: {os_reason(exc)}", path=where) from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text: {exc}", path=where) from exc
    except json.JSONDecodeError as exc:
        raise DataError(f"not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}", path=where) from exc
    except RecursionError:
        raise DataError("not usable JSON: nested too deeply", path=where) from None
    return AsnRecording.from_dict(doc, where=where)


class ReplayAsnSource:
    """One source's recorded answers, with the live sources' ``lookup`` call.

    A query the recording has no answer for gets an ``error`` answer that says so, with no
    ``obtained_at`` (nothing was asked), so replays stay deterministic.
    """

    def __init__(self, recording: AsnRecording, source: str, *, where: str = "") -> None:
        self.name = source  # the live source's name: a replayed audit lists the same sources
        self._answers = {a.query: a for a in recording.answers if a.source == source}
        self._where = where

    def lookup(self, ips: Sequence[str]) -> list[AsnAnswer]:
        if isinstance(ips, str):
            ips = [ips]
        out = []
        for q in ips:
            found = self._answers.get(str(q))
            if found is None:
                where = f" {self._where}" if self._where else ""
                found = make_answer(str(q), self.name, AsnStatus.ERROR, "",
                                    reason=f"no recorded answer of {self.name} for {q} in the ASN recording{where}")
            out.append(found)
        return out


def replay_sources(recording: AsnRecording, *, where: str = "") -> list[ReplayAsnSource]:
    """One replaying source per recorded source, in the order the live audit asked them."""
    return [ReplayAsnSource(recording, s, where=where) for s in recording.sources]
