"""The value every ASN source returns, and the protocol they share.

An :class:`AsnAnswer` is evidence, not a verdict: sources disagree (a provincial
ASN from a routing table versus the backbone ASN Team Cymru reports for the
same Chinese address), so callers keep every answer and decide later.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from auditor.resolve.clock import Clock, iso_utc, utc_now

__all__ = ["AsnAnswer", "AsnSource", "AsnStatus", "Clock", "utc_now", "iso_utc"]

class AsnStatus(StrEnum):
    """Outcome of one lookup. Kept apart on purpose (STYLE §10): none is folded into another."""

    OK = "ok"
    NOT_FOUND = "not_found"  # the source answered: it has no mapping for this address
    TIMEOUT = "timeout"  # the source did not answer in time (after bounded retries)
    ERROR = "error"  # bad input, a server failure, or an answer that could not be read
    RATE_LIMITED = "rate_limited"  # the source said "slow down" and retries were exhausted
    RESERVED = "reserved"  # special-purpose address (private, documentation, ...): nothing to look up


@dataclass(frozen=True, slots=True)
class AsnAnswer:
    """One source's answer for one queried address or prefix.

    Attributes
    ----------
    query : str
        The IP or prefix exactly as asked.
    source : str
        ``"prefix-table"``, ``"cymru-dns"`` or ``"rdap"``.
    status : str
        One of the :class:`AsnStatus` values, stored as a plain ``str`` (``"ok"``, ...).
    asn, prefix, holder, country, registry
        What the source said; ``None`` where it said nothing.
    reason : str
        Why, for anything but ``ok`` (empty for ``ok``).
    detail : dict
        Raw bits worth keeping (TXT strings, RDAP handle, HTTP statuses); JSON-serialisable.
    obtained_at : str
        When the evidence was obtained, ISO-8601 UTC. A cached answer keeps its original time.
    """

    query: str
    source: str
    status: str
    asn: int | None
    prefix: str | None
    holder: str | None
    country: str | None
    registry: str | None
    reason: str
    detail: dict[str, Any] = field(hash=False)
    obtained_at: str

    @property
    def ok(self) -> bool:
        return self.status == AsnStatus.OK

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (field order as declared)."""
        return {
            "query": self.query,
            "source": self.source,
            "status": str(self.status),
            "asn": self.asn,
            "prefix": self.prefix,
            "holder": self.holder,
            "country": self.country,
            "registry": self.registry,
            "reason": self.reason,
            "detail": self.detail,
            "obtained_at": self.obtained_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AsnAnswer:
        """Inverse of :meth:`to_dict`; raises ``KeyError``/``ValueError`` on a malformed dict."""
        return cls(
            query=str(data["query"]),
            source=str(data["source"]),
            status=AsnStatus(data["status"]).value,
            asn=None if data["asn"] is None else int(data["asn"]),
            prefix=data["prefix"],
            holder=data["holder"],
            country=data["country"],
            registry=data["registry"],
            reason=str(data["reason"]),
            detail=dict(data["detail"]),
            obtained_at=str(data["obtained_at"]),
        )


def make_answer(
    query: str,
    source: str,
    status: AsnStatus,
    obtained_at: str,
    *,
    reason: str = "",
    asn: int | None = None,
    prefix: str | None = None,
    holder: str | None = None,
    country: str | None = None,
    registry: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AsnAnswer:
    """Keyword-friendly constructor used by the sources."""
    return AsnAnswer(
        query=query,
        source=source,
        status=AsnStatus(status).value,  # a plain str: clean repr, JSON as itself
        asn=asn,
        prefix=prefix,
        holder=holder,
        country=country,
        registry=registry,
        reason=reason,
        detail=detail if detail is not None else {},
        obtained_at=obtained_at,
    )


class AsnSource(Protocol):
    """One source of IP → ASN evidence.

    ``lookup`` returns exactly one answer per input, in input order, and never raises
    for a bad input or a failed lookup: those become answers with a status and a reason.
    """

    name: str

    def lookup(self, ips: Sequence[str]) -> list[AsnAnswer]: ...
