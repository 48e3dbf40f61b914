"""Recordings of DNS evidence, and offline sources that answer from them.

A recording is one JSON file holding resolutions and sweeps exactly as they were obtained::

    {"schema": "auditor-dns-recording/1",
     "resolutions": [Resolution.to_dict(), ...],   # sorted by name, then server
     "sweeps": [SweepResult.to_dict(), ...]}        # sorted by domain, then server

It is written deterministically (sorted keys, fixed indentation, UTF-8, sorted entries), so the
same evidence gives the same bytes. :class:`ReplayResolver` and :class:`ReplaySweeper` answer
from a recording with the same calls as the live :class:`~.resolve.DnsResolver` and
:class:`~.sweep.EcsSweeper`, so an audit (and the example operator's README command) can use DNS
evidence without a server.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from auditor.errors import DataError, os_reason
from auditor.files import write_text_atomic
from auditor.resolve.clock import Clock, utc_now

from .model import Nameserver, Resolution, ResolutionStatus, SweepResult

__all__ = ["SCHEMA", "Recording", "ReplayResolver", "ReplaySweeper", "read_recording", "write_recording"]

SCHEMA = "auditor-dns-recording/1"

_T = TypeVar("_T")


@dataclass(frozen=True)
class Recording:
    """Resolutions and sweeps, in their canonical order (see the module docstring)."""

    resolutions: tuple[Resolution, ...] = ()
    sweeps: tuple[SweepResult, ...] = ()

    @classmethod
    def of(cls, resolutions: Iterable[Resolution] = (), sweeps: Iterable[SweepResult] = ()) -> Recording:
        return cls(
            tuple(sorted(resolutions, key=lambda r: (r.name, r.server, r.queried_at))),
            tuple(sorted(sweeps, key=lambda s: (s.domain, s.server, s.started_at))),
        )

    def merged(self, other: Recording) -> Recording:
        """Both recordings' entries; for a repeated (name, server) or (domain, server), ``other``'s wins."""
        res = {(r.name, r.server): r for r in self.resolutions}
        res.update({(r.name, r.server): r for r in other.resolutions})
        swe = {(s.domain, s.server): s for s in self.sweeps}
        swe.update({(s.domain, s.server): s for s in other.sweeps})
        return Recording.of(res.values(), swe.values())

    def resolution(self, name: str) -> Resolution | None:
        key = name.strip().lower().rstrip(".")
        for r in self.resolutions:
            if r.name == key:
                return r
        return None

    def sweep(self, domain: str, server: str | None = None) -> SweepResult | None:
        key = domain.strip().lower().rstrip(".")
        for s in self.sweeps:
            if s.domain == key and (server is None or s.server == server):
                return s
        return None

    def to_dict(self) -> dict[str, Any]:
        ordered = Recording.of(self.resolutions, self.sweeps)
        return {
            "schema": SCHEMA,
            "resolutions": [r.to_dict() for r in ordered.resolutions],
            "sweeps": [s.to_dict() for s in ordered.sweeps],
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], *, where: str = "<recording>") -> Recording:
        if not isinstance(doc, Mapping) or doc.get("schema") != SCHEMA:
            found = doc.get("schema") if isinstance(doc, Mapping) else type(doc).__name__
            raise DataError(f"not a DNS recording (schema {found!r}, expected {SCHEMA!r})", path=where)
        resolutions = _section(doc, "resolutions", Resolution.from_dict, where)
        sweeps = _section(doc, "sweeps", SweepResult.from_dict, where)
        return cls.of(resolutions, sweeps)


def _section(doc: Mapping[str, Any], section: str, parse: Callable[[Any], _T], where: str) -> list[_T]:
    """The items of one list-valued section of a recording, each read with ``parse``."""
    items = doc.get(section, [])
    if not isinstance(items, list):
        raise DataError(f"`{section}` must be a list", path=where)
    out: list[_T] = []
    for i, item in enumerate(items):
        try:
            out.append(parse(item))
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            raise DataError(f"{section}[{i}] is malformed: {type(exc).__name__}: {exc}", path=where) from exc
    return out


def dumps(recording: Recording) -> str:
    """The canonical text of a recording (what :func:`write_recording` writes)."""
    return json.dumps(recording.to_dict(), ensure_ascii=False, sort_keys=True, indent=1) + "\n"


def write_recording(
    path: str | os.PathLike[str],
    *,
    resolutions: Iterable[Resolution] = (),
    sweeps: Iterable[SweepResult] = (),
) -> Path:
    """Write resolutions and sweeps to ``path`` (atomically: temporary file, then rename)."""
    target = Path(path)
    text = dumps(Recording.of(resolutions, sweeps))
    return write_text_atomic(target, text)


def read_recording(path: str | os.PathLike[str]) -> Recording:
    """Read a recording; raises :class:`~auditor.errors.DataError` naming the file and the entry at fault."""
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot read the DNS recording: {os_reason(exc)}", path=where,
                        hint="record one with write_recording(), or pass the path of an existing recording") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text: {exc}", path=where) from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}", path=where) from exc
    except RecursionError:
        raise DataError("not usable JSON: nested too deeply", path=where) from None
    return Recording.from_dict(doc, where=where)


class ReplayResolver:
    """Resolutions from a recording, with the live resolver's calls; unrecorded names say so.

    Examples
    --------
    >>> rec = Recording.of([Resolution("a.test", "ok", ("a.test",), ("192.0.2.1",), None, 300, "",
    ...                                "127.0.0.1@53", "2026-11-01T00:00:00Z")])
    >>> r = ReplayResolver(rec)
    >>> r.resolve("A.test.").addresses, r.resolve("b.test").status
    (('192.0.2.1',), 'not_recorded')
    """

    name = "dns-replay"

    def __init__(self, recording: Recording | str | os.PathLike[str], *, clock: Clock = utc_now) -> None:
        self.recording = recording if isinstance(recording, Recording) else read_recording(recording)
        self.source = "" if isinstance(recording, Recording) else str(recording)
        self._clock = clock

    def resolve(self, hostname: str) -> Resolution:
        found = self.recording.resolution(str(hostname))
        if found is not None:
            return found
        name = str(hostname).strip().lower().rstrip(".")
        where = f" {self.source}" if self.source else ""
        return Resolution(name, ResolutionStatus.NOT_RECORDED.value, (name,), (), None, None,
                          f"no recorded resolution of {name} in the recording{where}", "", "")  # nothing was asked: no time (keeps reports deterministic)

    def resolve_many(self, hostnames: Iterable[str]) -> list[Resolution]:
        return [self.resolve(h) for h in hostnames]


class ReplaySweeper:
    """Sweeps from a recording, with :class:`~.sweep.EcsSweeper`'s call.

    ``sweep(domain, server=None)`` returns the recorded sweep of ``domain`` (at ``server`` when
    given); when there is none, an empty :class:`SweepResult` whose ``reason`` says so.
    """

    name = "ecs-sweep-replay"

    def __init__(self, recording: Recording | str | os.PathLike[str]) -> None:
        self.recording = recording if isinstance(recording, Recording) else read_recording(recording)
        self.source = "" if isinstance(recording, Recording) else str(recording)

    def sweep(self, domain: str, server: Nameserver | str | tuple[str, int] | None = None, db: Any = None,
              **_ignored: Any) -> SweepResult:
        key = None if server is None else str(Nameserver.parse(server))
        found = self.recording.sweep(domain, key)
        if found is not None:
            return found
        name = domain.strip().lower().rstrip(".")
        where = f" {self.source}" if self.source else ""
        return SweepResult(name, key or "", 0, 0, 0, [], {},
                           reason=f"no recorded sweep of {name}{' at ' + key if key else ''} in the recording{where}")
