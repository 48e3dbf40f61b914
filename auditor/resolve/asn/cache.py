"""On-disk cache of answers: one JSON file per (source, query), with a time to live.

Only answers that are facts about the address (``ok``, ``not_found``, ``reserved``) are
stored; a timeout or a rate limit says something about the moment, not the address.
A cache hit is marked in ``detail["cache"]`` and keeps the original ``obtained_at``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import replace
from pathlib import Path

from auditor.files import write_text_atomic

from .answer import AsnAnswer, AsnStatus, Clock, iso_utc, utc_now

__all__ = ["AnswerCache", "DEFAULT_TTL"]

DEFAULT_TTL = dt.timedelta(days=1)
_CACHEABLE = frozenset({AsnStatus.OK, AsnStatus.NOT_FOUND, AsnStatus.RESERVED})


class AnswerCache:
    """A directory of ``<sha256(source + NUL + query)>.json`` files.

    Examples
    --------
    >>> import tempfile
    >>> from auditor.resolve.asn.answer import make_answer
    >>> c = AnswerCache(tempfile.mkdtemp())
    >>> a = make_answer("1.2.3.4", "rdap", AsnStatus.OK, "2026-11-01T00:00:00Z", asn=13335)
    >>> c.put(a)
    True
    >>> c.get("1.2.3.4", "rdap").detail["cache"]["hit"]
    True
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        ttl: dt.timedelta = DEFAULT_TTL,
        clock: Clock = utc_now,
    ) -> None:
        self.directory = Path(directory)
        self.ttl = ttl
        self._clock = clock

    @staticmethod
    def key(query: str, source: str) -> str:
        """The file stem for a (query, source) pair."""
        return hashlib.sha256(f"{source}\x00{query}".encode()).hexdigest()

    def path(self, query: str, source: str) -> Path:
        return self.directory / f"{self.key(query, source)}.json"

    def get(self, query: str, source: str) -> AsnAnswer | None:
        """The cached answer if present and younger than the TTL; ``None`` otherwise.

        An unreadable or foreign file is treated as a miss (and will be overwritten).
        """
        p = self.path(query, source)
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
            stored_at = dt.datetime.fromisoformat(doc["stored_at"].replace("Z", "+00:00"))
            answer = AsnAnswer.from_dict(doc["answer"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
            return None
        if answer.query != query or answer.source != source:
            return None
        age = self._clock() - stored_at
        if age < dt.timedelta(0) or age > self.ttl:
            return None
        detail = dict(answer.detail)
        detail["cache"] = {"hit": True, "stored_at": doc["stored_at"], "file": p.name,
                           "ttl_s": int(self.ttl.total_seconds())}
        return replace(answer, detail=detail)

    def put(self, answer: AsnAnswer) -> bool:
        """Store ``answer`` if its status is cacheable; returns whether it was stored.

        Written atomically (temporary file + rename) so a crash never leaves half a file.
        """
        if answer.status not in _CACHEABLE:
            return False
        self.directory.mkdir(parents=True, exist_ok=True)
        detail = {k: v for k, v in answer.detail.items() if k != "cache"}
        doc = {"stored_at": iso_utc(self._clock()), "answer": replace(answer, detail=detail).to_dict()}
        target = self.path(answer.query, answer.source)
        write_text_atomic(target, json.dumps(doc, ensure_ascii=False, sort_keys=True), mode=None)  # a private cache: 0600
        return True
