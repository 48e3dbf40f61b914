"""Resolution evidence: a hostname's CNAME chain, its A/AAAA addresses and its CDN provider.

:class:`DnsResolver` asks only the nameservers it is given (no ``/etc/resolv.conf``, nothing
online unless those servers are), one UDP query at a time with a per-query timeout and a total
lifetime per name, TCP when a reply is truncated, and gives up on its servers after
``give_up_after`` names in a row failed (see :mod:`auditor.resolve.breaker`). The reading of each response is in
:mod:`.chain` (no I/O); this module is the thin loop around it. ``resolve`` never raises for a
bad name or a failed lookup: it returns a :class:`~.model.Resolution` whose status says what
happened.

Example (a local server)::

    r = DnsResolver([("127.0.0.1", 5353)], timeout=1.0, lifetime=3.0)
    res = r.resolve("static.example.com")
    res.status, res.chain, res.addresses, res.provider
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype

from auditor.errors import os_reason
from auditor.resolve.breaker import DEFAULT_GIVE_UP_AFTER, CircuitBreaker
from auditor.resolve.clock import Clock, iso_utc, utc_now
from auditor.resolve.liveness import Liveness
from auditor.resolve.network import REAL_NETWORK, Network, udp_exchange

from .chain import MAX_CHAIN, MAX_TTL, interpret, text_of
from .model import (
    FAILED_RESOLUTION,
    Nameserver,
    Resolution,
    ResolutionStatus,
    address_sort_key,
)
from .providers import CdnSuffixTable, default_suffix_table

__all__ = ["DEFAULT_LIFETIME", "DEFAULT_TIMEOUT", "DnsResolver", "ResolutionSource"]

DEFAULT_TIMEOUT = 2.0
"""Seconds to wait for one reply from one server (dnspython's default is also 2 s)."""
DEFAULT_LIFETIME = 6.0
"""Seconds for a whole name: every query of its chain, both record types, every server."""
_EDNS_PAYLOAD = 1232  # the DNS Flag Day 2020 recommendation: no IP fragmentation


class ResolutionSource(Protocol):
    """Anything that turns hostnames into :class:`Resolution` evidence (live or replayed)."""

    name: str

    def resolve(self, hostname: str) -> Resolution: ...

    def resolve_many(self, hostnames: Iterable[str]) -> list[Resolution]: ...


@dataclass
class _Failure:
    kind: str  # timeout | server_failed | bad_response | truncated
    server: Nameserver
    detail: str

    def text(self) -> str:
        return f"{self.detail} from {self.server}"


@dataclass
class _Exchange:
    response: dns.message.Message | None = None
    server: Nameserver | None = None
    failures: list[_Failure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class DnsResolver:
    """Resolve hostnames against explicit nameservers.

    Parameters
    ----------
    nameservers
        ``[(host, port), ...]``, ``["host@port", ...]`` or :class:`Nameserver` objects, asked in
        order; the next is asked when one times out or fails.
    timeout
        Seconds per query per server.
    lifetime
        Seconds per hostname in total; when spent, the name ends ``timeout``.
    rounds
        How many times the server list is walked for one query (bounded retries).
    tcp
        Retry a truncated (TC) UDP reply over TCP; with ``False`` it is recorded as ``truncated``.
    rdtypes
        Record types to collect at the chain's end (A and AAAA).
    suffixes
        CDN suffix table (default: the shipped one); see :meth:`CdnSuffixTable.with_extra`.
    give_up_after
        Names in a row whose servers failed (``timeout``, ``server_failed``, ``bad_response``,
        ``truncated``) after which nothing more is sent: every later name gets the last failure's
        status at once, with the reason ``"not asked: dns gave up after 5 consecutive failures
        (last: ...)"``. A name that gets an answer (NXDOMAIN and NODATA included) resets the count.
    clock
        Returns the aware UTC time written to ``queried_at``.
    network
        The clock the timeouts and the lifetime are kept on, and the sockets and waits of the UDP
        queries (:data:`~auditor.resolve.network.REAL_NETWORK`; tests pass a virtual one).
        TCP retries are dnspython's own.
    liveness
        The audit's :class:`~auditor.resolve.liveness.Liveness` (None: not kept). The first query a
        nameserver gets is its probe: when every nameserver's first query got no reply at all, the
        resolver gives up at once (the breaker is tripped) instead of after ``give_up_after`` names,
        and a nameserver found dead is not asked again.

    Examples
    --------
    >>> DnsResolver([]).resolve("a..b").status
    'invalid_name'
    """

    name = "dns"

    def __init__(
        self,
        nameservers: Sequence[Nameserver | str | tuple[str, int]],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        lifetime: float = DEFAULT_LIFETIME,
        rounds: int = 1,
        tcp: bool = True,
        rdtypes: Sequence[str] = ("A", "AAAA"),
        max_chain: int = MAX_CHAIN,
        max_ttl: int = MAX_TTL,
        suffixes: CdnSuffixTable | None = None,
        give_up_after: int = DEFAULT_GIVE_UP_AFTER,
        clock: Clock = utc_now,
        network: Network = REAL_NETWORK,
        liveness: Liveness | None = None,
    ) -> None:
        if timeout <= 0 or lifetime <= 0:
            raise ValueError(f"timeout and lifetime must be positive, got {timeout!r} and {lifetime!r}")
        if rounds < 1:
            raise ValueError(f"rounds must be at least 1, got {rounds!r}")
        self.nameservers = [Nameserver.parse(ns) for ns in nameservers]
        self.timeout = float(timeout)
        self.lifetime = float(lifetime)
        self.rounds = int(rounds)
        self.tcp = bool(tcp)
        self.rdtypes = tuple(dns.rdatatype.from_text(t) for t in rdtypes)
        bad = [t for t in self.rdtypes if t not in (dns.rdatatype.A, dns.rdatatype.AAAA)]
        if bad or not self.rdtypes:
            raise ValueError(f"rdtypes must be A and/or AAAA, got {list(rdtypes)!r}")
        self.max_chain = int(max_chain)
        self.max_ttl = int(max_ttl)
        self.suffixes = suffixes or default_suffix_table()
        self.breaker = CircuitBreaker(self.name, give_up_after)
        self._clock = clock
        self._network = network
        self._liveness = liveness

    # ------------------------------------------------------------------ public
    def resolve_many(self, hostnames: Iterable[str]) -> list[Resolution]:
        """One :class:`Resolution` per hostname, in input order (duplicates resolved once)."""
        done: dict[str, Resolution] = {}
        out = []
        for h in hostnames:
            if h not in done:
                done[h] = self.resolve(h)
            out.append(done[h])
        return out

    def resolve(self, hostname: str) -> Resolution:
        """Follow ``hostname``'s CNAME chain and collect its addresses; never raises for bad input."""
        queried_at = iso_utc(self._clock())
        shown = str(hostname).strip().lower().rstrip(".") if isinstance(hostname, str) else repr(hostname)
        try:
            qname = _parse_name(hostname)
        except ValueError as exc:
            return Resolution(shown, ResolutionStatus.INVALID_NAME.value, (shown,), (), None, None, str(exc), "", queried_at)
        if not self.nameservers:
            return Resolution(
                text_of(qname), ResolutionStatus.SERVER_FAILED.value, (text_of(qname),), (), None, None,
                "no nameservers configured", "", queried_at,
            )
        self._trip_if_dead()
        if self.breaker.open:  # the servers are gone: say so at once
            name = text_of(qname)
            return Resolution(
                name, self.breaker.status, (name,), (), None, None, self.breaker.reason,
                ", ".join(str(ns) for ns in self.nameservers), queried_at,
            )
        res = self._resolve(qname, queried_at)
        if res.status in FAILED_RESOLUTION:
            self.breaker.failure(res.status, res.reason)
        else:  # an answer about the name, whatever it says: the servers are alive
            self.breaker.success()
        self._trip_if_dead()
        return res

    def _trip_if_dead(self) -> None:
        """Give up at once when every nameserver is known never to have answered (the audit's liveness)."""
        if self._liveness is not None and not self.breaker.open:
            why = self._liveness.all_dead(str(ns) for ns in self.nameservers)
            if why:
                self.breaker.trip(ResolutionStatus.TIMEOUT.value, why)

    # ------------------------------------------------------------------ the loop
    def _resolve(self, qname: dns.name.Name, queried_at: str) -> Resolution:
        deadline = self._network.monotonic() + self.lifetime
        chain: list[dns.name.Name] = [qname]
        addresses: list[str] = []
        ttls: list[int] = []
        notes: list[str] = []
        outcomes: dict[dns.rdatatype.RdataType, tuple[str, str]] = {}  # rdtype -> (status, reason)
        server = ""
        final: tuple[str, str] | None = None  # a status that ends everything (nxdomain, loop, ...)

        for rdtype in self.rdtypes:
            current = chain[-1]
            while True:
                ex = self._exchange(current, rdtype, deadline)
                notes.extend(n for n in ex.notes if n not in notes)
                if ex.response is None:
                    outcomes[rdtype] = _failure_status(ex.failures)
                    server = server or ", ".join(dict.fromkeys(str(f.server) for f in ex.failures))
                    break
                server = str(ex.server)
                step = interpret(ex.response, current, rdtype, chain, max_chain=self.max_chain, max_ttl=self.max_ttl)
                chain.extend(step.added)
                ttls.extend(step.ttls)
                notes.extend(n for n in step.notes if n not in notes)
                if step.kind == "follow":
                    assert step.target is not None
                    current = step.target
                    continue
                if step.kind == "answer":
                    addresses.extend(step.addresses)
                    outcomes[rdtype] = (ResolutionStatus.OK.value, "")
                elif step.kind == "nodata":
                    outcomes[rdtype] = (ResolutionStatus.NODATA.value, step.reason)
                else:
                    ended = {
                        "nxdomain": ResolutionStatus.NXDOMAIN,
                        "loop": ResolutionStatus.CNAME_LOOP,
                        "too_long": ResolutionStatus.CHAIN_TOO_LONG,
                        "bad": ResolutionStatus.BAD_RESPONSE,
                    }[step.kind]
                    outcomes[rdtype] = (ended.value, step.reason)
                    if step.kind != "bad":
                        final = outcomes[rdtype]
                break
            if final is not None or outcomes[rdtype][0] not in (ResolutionStatus.OK, ResolutionStatus.NODATA):
                break  # no point asking AAAA of a name that does not exist, loops, or whose servers failed

        status, reason = _combine(self.rdtypes, outcomes, final)
        if status == ResolutionStatus.OK:
            for t, (s, why) in outcomes.items():
                if s not in (ResolutionStatus.OK, ResolutionStatus.NODATA):
                    notes.append(f"{dns.rdatatype.to_text(t)}: {s}: {why}")
        names = tuple(text_of(n) for n in chain)
        provider, via = self.suffixes.classify(names)
        unique = sorted(set(addresses), key=address_sort_key)
        return Resolution(
            name=names[0],
            status=status,
            chain=names,
            addresses=tuple(unique),
            provider=provider,
            provider_via=via,
            ttl=min(ttls) if ttls else None,
            reason=reason,
            server=server,
            queried_at=queried_at,
            notes=tuple(notes),
        )

    def _exchange(self, qname: dns.name.Name, rdtype: dns.rdatatype.RdataType, deadline: float) -> _Exchange:
        """Ask the servers in turn until one gives NOERROR/NXDOMAIN, bounded by ``deadline``."""
        ex = _Exchange()
        q = dns.message.make_query(qname, rdtype, use_edns=0, payload=_EDNS_PAYLOAD)
        live = self._liveness
        for _round in range(self.rounds):
            for ns in self.nameservers:
                if live is not None and live.dead(str(ns)):
                    continue  # it never answered this audit: another server may
                remaining = deadline - self._network.monotonic()
                if remaining <= 0:
                    ex.failures.append(_Failure("timeout", ns, f"lifetime of {self.lifetime:g} s spent"))
                    return ex
                wait = min(self.timeout, remaining)
                try:
                    r = udp_exchange(self._network, q, ns.host, ns.port, wait, ignore_unexpected=True)
                except dns.exception.Timeout:
                    ex.failures.append(_Failure("timeout", ns, f"no reply in {wait:.3g} s"))
                    if live is not None:
                        live.silent(str(ns), f"no reply in {wait:.3g} s")
                    continue
                except dns.query.BadResponse:
                    self._heard(ns)
                    ex.failures.append(_Failure("bad_response", ns, "a reply that does not match the question"))
                    continue
                except dns.exception.DNSException as exc:  # FormError, trailing junk, bad names ...
                    self._heard(ns)
                    ex.failures.append(_Failure("bad_response", ns, f"malformed reply ({type(exc).__name__}: {exc})"))
                    continue
                except OSError as exc:
                    ex.failures.append(_Failure("server_failed", ns, f"socket error ({os_reason(exc)})"))
                    continue
                self._heard(ns)
                if r.flags & dns.flags.TC:
                    over_tcp = self._over_tcp(q, ns, deadline, ex)
                    if over_tcp is None:
                        continue
                    r = over_tcp
                rcode = r.rcode()
                if rcode in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                    ex.response, ex.server = r, ns
                    return ex
                ex.failures.append(_Failure("server_failed", ns, dns.rcode.to_text(rcode)))
        return ex

    def _heard(self, ns: Nameserver) -> None:
        """A reply came from ``ns``, whatever it says: it is alive (the audit's liveness)."""
        if self._liveness is not None:
            self._liveness.answered(str(ns))

    def _over_tcp(
        self, q: dns.message.Message, ns: Nameserver, deadline: float, ex: _Exchange
    ) -> dns.message.Message | None:
        if not self.tcp:
            ex.failures.append(_Failure("truncated", ns, "truncated reply (TC) over UDP; TCP not enabled"))
            return None
        remaining = deadline - self._network.monotonic()
        if remaining <= 0:
            ex.failures.append(_Failure("truncated", ns, "truncated reply (TC) over UDP; no time left for TCP"))
            return None
        try:
            r = dns.query.tcp(q, ns.host, timeout=min(self.timeout, remaining), port=ns.port)
        except (dns.exception.DNSException, OSError) as exc:
            why = "timed out" if isinstance(exc, dns.exception.Timeout) else f"{type(exc).__name__}: {exc}"
            ex.failures.append(_Failure("truncated", ns, f"truncated reply (TC) over UDP; TCP failed ({why})"))
            return None
        note = f"truncated over UDP by {ns}; answered over TCP"
        if note not in ex.notes:
            ex.notes.append(note)
        return r


def _parse_name(hostname: Any) -> dns.name.Name:
    if not isinstance(hostname, str):
        raise ValueError(f"not a hostname: {hostname!r}")
    text = hostname.strip()
    if not text or text == "." or any(c.isspace() for c in text):
        raise ValueError(f"not a hostname: {hostname!r}")
    try:
        name = dns.name.from_text(text)  # IDNA for non-ASCII labels
    except (dns.exception.DNSException, UnicodeError, ValueError) as exc:
        raise ValueError(f"not a DNS name: {hostname!r} ({type(exc).__name__}: {exc})") from exc
    return name


def _failure_status(failures: Sequence[_Failure]) -> tuple[str, str]:
    """Every server failed: keep *how* apart (timeout vs SERVFAIL/REFUSED vs bad reply vs TC)."""
    kinds = {f.kind for f in failures}
    reason = "; ".join(f.text() for f in failures) or "no server was asked"
    if kinds == {"timeout"}:
        return ResolutionStatus.TIMEOUT.value, reason
    if kinds == {"truncated"}:
        return ResolutionStatus.TRUNCATED.value, reason
    if kinds == {"bad_response"}:
        return ResolutionStatus.BAD_RESPONSE.value, reason
    return ResolutionStatus.SERVER_FAILED.value, reason


def _combine(
    rdtypes: Sequence[dns.rdatatype.RdataType],
    outcomes: Mapping[dns.rdatatype.RdataType, tuple[str, str]],
    final: tuple[str, str] | None,
) -> tuple[str, str]:
    if final is not None:
        return final
    if any(s == ResolutionStatus.OK for s, _ in outcomes.values()):
        return ResolutionStatus.OK.value, ""
    if outcomes and all(s == ResolutionStatus.NODATA for s, _ in outcomes.values()):
        reasons = [why for _, why in outcomes.values()]
        return ResolutionStatus.NODATA.value, "; ".join(reasons)
    for t in rdtypes:  # the first failure, in the order the types were asked
        if t in outcomes and outcomes[t][0] != ResolutionStatus.NODATA:
            return outcomes[t]
    return ResolutionStatus.SERVER_FAILED.value, "nothing was asked"
