"""Value objects of DNS evidence: one hostname's resolution, one ECS sweep, the servers asked.

Everything here is frozen, JSON round-trippable (``to_dict`` / ``from_dict``) and free of I/O,
so the pure core can read DNS evidence without importing dnspython. Statuses are string enums
stored as plain ``str`` values and are kept apart on purpose (STYLE §10): "the name does not
exist", "it has no address records", "nobody answered in time" and "every server failed" are
different evidence and none is folded into another.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "ClientSubnet",
    "Nameserver",
    "Resolution",
    "ResolutionStatus",
    "SweepAnswer",
    "SweepResult",
    "SweepStatus",
    "address_sort_key",
]


class ResolutionStatus(StrEnum):
    """Outcome of resolving one hostname (A and AAAA, following its CNAME chain)."""

    OK = "ok"  # at least one address at the end of the chain
    NXDOMAIN = "nxdomain"  # the name (or the chain's end) does not exist
    NODATA = "nodata"  # the name exists but has no A/AAAA records
    TIMEOUT = "timeout"  # no server answered within the per-query timeout / total lifetime
    SERVER_FAILED = "server_failed"  # every server failed: SERVFAIL, REFUSED, other rcodes, socket errors
    CNAME_LOOP = "cname_loop"  # the chain comes back to a name already in it
    CHAIN_TOO_LONG = "chain_too_long"  # more CNAMEs than the limit (16)
    BAD_RESPONSE = "bad_response"  # answers that do not answer the question (other names, non-IN, malformed)
    TRUNCATED = "truncated"  # TC bit over UDP and no usable TCP answer
    INVALID_NAME = "invalid_name"  # the input is not a DNS name; nothing was sent
    NOT_RECORDED = "not_recorded"  # replay only: the recording holds no answer for this name


class SweepStatus(StrEnum):
    """Outcome of one ECS query of a sweep. The first three are answers, the rest failures.

    A reply with another rcode (SERVFAIL, REFUSED, ...) is a reply but not an answer: it says
    nothing about which node serves the subnet, so it counts as failed (STYLE §10: a server
    failure is not folded into "no node here").
    """

    OK = "ok"  # NOERROR with addresses
    NODATA = "nodata"  # NOERROR without addresses
    NXDOMAIN = "nxdomain"
    RCODE = "rcode"  # another rcode (SERVFAIL, REFUSED, ...): see ``rcode``; a failure
    TIMEOUT = "timeout"  # no reply after the bounded retries
    BAD_RESPONSE = "bad_response"  # a reply that could not be used (ECS or question mismatch, malformed)
    ERROR = "error"  # a socket error on send
    NOT_SENT = "not_sent"  # the hard query cap or the sweep's time limit was reached first


ANSWERED = frozenset({SweepStatus.OK, SweepStatus.NODATA, SweepStatus.NXDOMAIN})

FAILED_RESOLUTION = frozenset({
    ResolutionStatus.TIMEOUT, ResolutionStatus.SERVER_FAILED, ResolutionStatus.BAD_RESPONSE, ResolutionStatus.TRUNCATED,
})
"""Resolution outcomes where the servers failed to answer: no evidence about the name either way
(NXDOMAIN, NODATA, a CNAME loop are answers about it; ``not_recorded`` is a gap in a recording)."""


def address_sort_key(address: str) -> tuple[int, int, str]:
    """Sort IPv4 before IPv6, numerically; unparsable text last (never raised)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return (9, 0, address)
    return (ip.version, int(ip), "")


@dataclass(frozen=True, slots=True)
class Nameserver:
    """A server to ask: ``host`` (an IP address) and ``port``.

    Examples
    --------
    >>> Nameserver.parse("127.0.0.1@5353")
    Nameserver(host='127.0.0.1', port=5353)
    >>> str(Nameserver("::1"))
    '::1@53'
    """

    host: str
    port: int = 53

    def __post_init__(self) -> None:
        try:
            ipaddress.ip_address(self.host)
        except ValueError as exc:
            raise ValueError(f"nameserver host must be an IP address, got {self.host!r}") from exc
        if not 0 < int(self.port) < 65536:
            raise ValueError(f"nameserver port must be 1-65535, got {self.port!r}")

    def __str__(self) -> str:
        return f"{self.host}@{self.port}"

    @classmethod
    def parse(cls, value: Nameserver | str | tuple[str, int] | Sequence[Any]) -> Nameserver:
        """Accept ``Nameserver``, ``"host"``, ``"host@port"`` or ``(host, port)``."""
        if isinstance(value, Nameserver):
            return value
        if isinstance(value, str):
            host, sep, port = value.rpartition("@")
            if sep:
                return cls(host, int(port))
            return cls(value)
        # A (host, port) pair; strings were handled above (mypy's narrowing still sees str in Sequence[Any]).
        pair: Sequence[Any] = value
        host, port = pair
        return cls(str(host), int(port))


@dataclass(frozen=True, slots=True)
class Resolution:
    """What DNS said about one hostname.

    Attributes
    ----------
    name : str
        The hostname asked, lower-case, without the trailing dot.
    status : str
        A :class:`ResolutionStatus` value.
    chain : tuple of str
        The name, then every CNAME target in order (so ``chain[-1]`` is the name that holds the
        addresses). On ``cname_loop`` the last entry is the name that closed the loop.
    addresses : tuple of str
        A and AAAA addresses at the end of the chain, IPv4 first, sorted, unique.
    provider, provider_via : str or None
        The CDN provider whose CNAME suffix matched a name of the chain (the last match wins),
        and the name that matched.
    ttl : int or None
        The smallest TTL of the records used, after clamping (see ``notes``).
    reason : str
        Why, for anything but ``ok``; empty for ``ok``.
    server : str
        ``host@port`` of the server whose answer decided (or every server tried, on failure).
    queried_at : str
        ISO-8601 UTC time the resolution started.
    notes : tuple of str
        Things worth knowing about an otherwise usable answer (TTL clamped, records for other
        names ignored, truncated over UDP and answered over TCP, AAAA timed out, ...).
    """

    name: str
    status: str
    chain: tuple[str, ...]
    addresses: tuple[str, ...]
    provider: str | None
    ttl: int | None
    reason: str
    server: str
    queried_at: str
    provider_via: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == ResolutionStatus.OK

    @property
    def cnames(self) -> tuple[str, ...]:
        """The CNAME targets (the chain without the name asked)."""
        return self.chain[1:]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": str(self.status),
            "chain": list(self.chain),
            "addresses": list(self.addresses),
            "provider": self.provider,
            "provider_via": self.provider_via,
            "ttl": self.ttl,
            "reason": self.reason,
            "server": self.server,
            "queried_at": self.queried_at,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Resolution:
        """Inverse of :meth:`to_dict`; raises ``KeyError``/``ValueError``/``TypeError`` on a bad dict."""
        return cls(
            name=str(data["name"]),
            status=ResolutionStatus(data["status"]).value,
            chain=tuple(str(x) for x in data["chain"]),
            addresses=tuple(str(x) for x in data["addresses"]),
            provider=None if data.get("provider") is None else str(data["provider"]),
            provider_via=None if data.get("provider_via") is None else str(data["provider_via"]),
            ttl=None if data.get("ttl") is None else int(data["ttl"]),
            reason=str(data.get("reason", "")),
            server=str(data.get("server", "")),
            queried_at=str(data["queried_at"]),
            notes=tuple(str(x) for x in data.get("notes", ())),
        )


@dataclass(frozen=True, slots=True)
class ClientSubnet:
    """A client subnet a sweep pretends to ask from, with what ip2region says about it.

    ``province`` is the normalised province name (``广东``, ``新疆``, ``香港``, ``北京`` — the
    trailing 省/市 of ip2region's text dropped so that ``广东`` and ``广东省`` are one province),
    ``carrier`` one of 电信, 联通, 移动, 广电, ``region`` the database's full text for the subnet.
    """

    prefix: str  # "14.16.137.0/24"
    province: str
    carrier: str
    region: str

    def to_dict(self) -> dict[str, Any]:
        return {"prefix": self.prefix, "province": self.province, "carrier": self.carrier, "region": self.region}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClientSubnet:
        return cls(str(data["prefix"]), str(data["province"]), str(data["carrier"]), str(data["region"]))


@dataclass(frozen=True, slots=True)
class SweepAnswer:
    """The outcome of one ECS query: the subnet asked from and what the server returned.

    ``scope`` is the SCOPE PREFIX-LENGTH the server returned in its ECS option (RFC 7871 §7.2.1:
    the answer is valid for every client in ``subnet``'s first ``scope`` bits; 0 means "the
    same for everyone"), ``None`` when the reply carried no ECS option (the server ignored it).
    ``rtt_ms`` is the time from the last send to the reply; ``attempts`` counts sends.
    """

    subnet: ClientSubnet
    rdtype: str
    status: str
    rcode: str | None
    scope: int | None
    addresses: tuple[str, ...]
    ttl: int | None
    rtt_ms: float | None
    attempts: int
    cnames: tuple[str, ...] = ()
    reason: str = ""

    @property
    def answered(self) -> bool:
        return self.status in ANSWERED

    def to_dict(self) -> dict[str, Any]:
        return {
            "subnet": self.subnet.to_dict(),
            "rdtype": self.rdtype,
            "status": str(self.status),
            "rcode": self.rcode,
            "scope": self.scope,
            "addresses": list(self.addresses),
            "cnames": list(self.cnames),
            "ttl": self.ttl,
            "rtt_ms": None if self.rtt_ms is None else round(float(self.rtt_ms), 3),
            "attempts": self.attempts,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SweepAnswer:
        return cls(
            subnet=ClientSubnet.from_dict(data["subnet"]),
            rdtype=str(data["rdtype"]),
            status=SweepStatus(data["status"]).value,
            rcode=None if data.get("rcode") is None else str(data["rcode"]),
            scope=None if data.get("scope") is None else int(data["scope"]),
            addresses=tuple(str(x) for x in data["addresses"]),
            cnames=tuple(str(x) for x in data.get("cnames", ())),
            ttl=None if data.get("ttl") is None else int(data["ttl"]),
            rtt_ms=None if data.get("rtt_ms") is None else float(data["rtt_ms"]),
            attempts=int(data["attempts"]),
            reason=str(data.get("reason", "")),
        )


@dataclass(frozen=True, slots=True)
class SweepResult:
    """Everything one ECS sweep of one name at one server found.

    Invariant: ``queries == answered + failed == len(answers)`` — every planned query ends
    answered (NOERROR or NXDOMAIN) or recorded as failed with a reason (a SERVFAIL or REFUSED
    reply included); none is lost.

    Attributes
    ----------
    domain, server : str
        The name swept (lower-case, no trailing dot) and ``host@port``.
    queries, answered, failed : int
        Planned queries (subnets x record types), replies received, and queries without a usable reply.
    answers : list of SweepAnswer
        One per planned query, in plan order.
    by_address : dict
        ``{address: [client subnet prefixes it was served to]}``, both sorted: the edge nodes
        this name sends clients to, and to whom.
    sent : int
        Datagrams sent, retries included (never above the hard cap).
    started_at, duration_s
        When the sweep began (ISO-8601 UTC) and how long it took.
    data_version, data_sha256 : str
        The ip2region database the subnets came from.
    skipped : tuple of (province, carrier, reason)
        (province, carrier) pairs that got no subnet, and why.
    reason : str
        Empty for a live sweep that ran; otherwise why there are no answers (e.g. not recorded).
    """

    domain: str
    server: str
    queries: int
    answered: int
    failed: int
    answers: list[SweepAnswer]
    by_address: dict[str, list[str]]
    rdtypes: tuple[str, ...] = ("A",)
    sent: int = 0
    started_at: str = ""
    duration_s: float = 0.0
    data_version: str = ""
    data_sha256: str = ""
    skipped: tuple[tuple[str, str, str], ...] = ()
    reason: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def addresses(self) -> tuple[str, ...]:
        """Every address served to any subnet, sorted."""
        return tuple(self.by_address)

    def subnets_for(self, address: str) -> list[str]:
        """The client subnets ``address`` was served to ([] if never)."""
        return list(self.by_address.get(address, []))

    def undeclared(self, declared: Sequence[str]) -> dict[str, list[str]]:
        """``by_address`` restricted to the addresses not in ``declared`` (discovered edge nodes)."""
        known = {str(ipaddress.ip_address(a)) for a in declared}
        return {a: list(s) for a, s in self.by_address.items() if a not in known}

    def to_dict(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "server": self.server,
            "rdtypes": list(self.rdtypes),
            "queries": self.queries,
            "answered": self.answered,
            "failed": self.failed,
            "sent": self.sent,
            "started_at": self.started_at,
            "duration_s": round(float(self.duration_s), 3),
            "data_version": self.data_version,
            "data_sha256": self.data_sha256,
            "skipped": [list(s) for s in self.skipped],
            "reason": self.reason,
            "notes": list(self.notes),
            "by_address": {a: list(s) for a, s in self.by_address.items()},
            "answers": [a.to_dict() for a in self.answers],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SweepResult:
        answers = [SweepAnswer.from_dict(a) for a in data["answers"]]
        result = cls(
            domain=str(data["domain"]),
            server=str(data["server"]),
            rdtypes=tuple(str(x) for x in data.get("rdtypes", ("A",))),
            queries=int(data["queries"]),
            answered=int(data["answered"]),
            failed=int(data["failed"]),
            sent=int(data.get("sent", 0)),
            started_at=str(data.get("started_at", "")),
            duration_s=float(data.get("duration_s", 0.0)),
            data_version=str(data.get("data_version", "")),
            data_sha256=str(data.get("data_sha256", "")),
            skipped=tuple((str(p), str(c), str(r)) for p, c, r in data.get("skipped", ())),
            reason=str(data.get("reason", "")),
            notes=tuple(str(x) for x in data.get("notes", ())),
            by_address={str(a): [str(s) for s in subs] for a, subs in data["by_address"].items()},
            answers=answers,
        )
        if result.queries != len(answers) or result.answered + result.failed != result.queries:
            raise ValueError(
                f"inconsistent sweep of {result.domain}: queries={result.queries}, answered={result.answered}, "
                f"failed={result.failed}, answers={len(answers)}"
            )
        return result


def group_by_address(answers: Sequence[SweepAnswer]) -> dict[str, list[str]]:
    """``{address: sorted unique subnets}`` over the answers that returned addresses, addresses sorted."""
    served: dict[str, set[str]] = {}
    for a in answers:
        for ip in a.addresses:
            served.setdefault(ip, set()).add(a.subnet.prefix)
    return {ip: sorted(served[ip], key=_prefix_key) for ip in sorted(served, key=address_sort_key)}


def _prefix_key(prefix: str) -> tuple[int, int, str]:
    return address_sort_key(prefix.split("/", 1)[0])
