"""Team Cymru IP-to-ASN over DNS (https://www.team-cymru.com/ip-asn-mapping).

Queries::

    <reversed octets>.origin.asn.cymru.com  TXT  "4134 | 58.32.0.0/13 | CN | apnic | 2004-..."
    <32 reversed nibbles>.origin6.asn.cymru.com  TXT  (same fields, IPv6)
    AS4134.asn.cymru.com  TXT  "4134 | CN | apnic | 2002-... | CHINANET-BACKBONE ..., CN"

An origin TXT can name several origin ASNs (``"4134 4809 | ..."``, a prefix announced
by more than one AS): all are kept in ``detail["origin_asns"]`` and ``asn`` is the first.
Several TXT records (several covering prefixes) → the most specific prefix is the answer.

Outcomes are kept apart (STYLE §10): NXDOMAIN → ``not_found``; no answer in time after
bounded retries → ``timeout``; SERVFAIL/REFUSED from every server → ``error``.

After ``give_up_after`` lookups in a row that got no usable answer (``timeout`` or ``error``),
the source stops asking and answers every remaining query at once with the last failure's status
and the reason ``"not asked: cymru-dns gave up after 5 consecutive failures (last: ...)"``
(:mod:`auditor.resolve.breaker`); an answer, NXDOMAIN or NODATA resets the count.

With the audit's :class:`~auditor.resolve.liveness.Liveness`, the first lookup at a server not yet
heard from sends its tries together (one timeout, not three plus backoff); if none gets a reply, the
server never answered and the source gives up at once: "not asked: cymru-dns gave up: 127.0.0.1@5353
never answered (...)".
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import dns.exception
import dns.resolver

from auditor.resolve.breaker import DEFAULT_GIVE_UP_AFTER, CircuitBreaker
from auditor.resolve.liveness import Liveness
from auditor.resolve.network import REAL_NETWORK, Network

from ._dns import SourceConfigError, describe_dns_error, make_resolver
from ._query import IPAddress, parse_query
from .answer import AsnAnswer, AsnStatus, Clock, iso_utc, make_answer, utc_now
from .cache import AnswerCache

__all__ = ["CymruDnsSource", "CYMRU_ZONE", "origin_name"]

SOURCE = "cymru-dns"
CYMRU_ZONE = "asn.cymru.com"
DEFAULT_TIMEOUT = 2.0  # seconds per attempt
DEFAULT_RETRIES = 2  # extra attempts after the first, for timeouts and server failures
DEFAULT_BACKOFF = 0.25  # seconds before the first retry; doubles each retry


def origin_name(addr: IPAddress, zone: str = CYMRU_ZONE) -> str:
    """The Cymru origin query name for an address.

    >>> origin_name(ipaddress.ip_address("58.34.1.1"))
    '1.1.34.58.origin.asn.cymru.com.'
    >>> origin_name(ipaddress.ip_address("240e::1"))[:24]
    '1.0.0.0.0.0.0.0.0.0.0.0.'
    """
    if addr.version == 4:
        return ".".join(reversed(str(addr).split("."))) + f".origin.{zone}."
    nibbles = addr.exploded.replace(":", "")
    return ".".join(reversed(nibbles)) + f".origin6.{zone}."


@dataclass(slots=True)
class _Outcome:
    kind: str  # ok | nxdomain | noanswer | timeout | error | not_asked
    strings: list[str] = field(default_factory=list)
    attempts: int = 1
    reason: str = ""
    last: str = ""  # one line on the failure, for the breaker: "timeout from 127.0.0.1@5353"


class CymruDnsSource:
    """IP → ASN from Team Cymru's DNS zone (``source == "cymru-dns"``).

    Parameters
    ----------
    nameservers, port
        The DNS servers to ask (e.g. ``["127.0.0.1"]``, ``port=5353`` for a local Knot).
        Required unless ``online=True``, which uses the system resolvers.
    online
        Allow using the system resolvers (i.e. the public Internet). Off by default.
    timeout
        Seconds per attempt (``DEFAULT_TIMEOUT``).
    retries, backoff
        Extra attempts after a timeout or server failure, and the first wait between
        them (doubling). NXDOMAIN is an answer and is never retried.
    with_holder
        Also ask ``AS<n>.<zone>`` for the holder name (one query per distinct ASN per call).
    zone
        The zone under which ``origin``/``origin6``/``AS<n>`` names live.
    cache
        Optional :class:`AnswerCache`.
    give_up_after
        Consecutive failed lookups (timeouts, server failures) after which the source stops
        asking and answers the remaining queries at once as failed, "not asked"
        (``DEFAULT_GIVE_UP_AFTER``, 5). A lookup that gets an answer resets the count.
    clock, sleep
        Injected time sources (tests fix the clock); ``sleep`` (the backoff) defaults to
        ``network.sleep``.
    network
        The clock, sockets and waits of the DNS queries (:data:`~.network.REAL_NETWORK`;
        tests pass a virtual one).
    liveness
        The audit's :class:`~auditor.resolve.liveness.Liveness` (None: not kept): the first query to
        a nameserver not yet heard from is its probe, its tries sent together; when every nameserver
        is found never to answer, the source gives up at once.

    Examples
    --------
    >>> CymruDnsSource()  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    auditor.resolve.asn._dns.SourceConfigError: no nameservers given: ...
    """

    name = SOURCE

    def __init__(
        self,
        *,
        nameservers: Sequence[str] | None = None,
        port: int = 53,
        online: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
        with_holder: bool = True,
        zone: str = CYMRU_ZONE,
        cache: AnswerCache | None = None,
        give_up_after: int = DEFAULT_GIVE_UP_AFTER,
        clock: Clock = utc_now,
        sleep: Callable[[float], None] | None = None,
        network: Network = REAL_NETWORK,
        liveness: Liveness | None = None,
    ) -> None:
        if retries < 0:
            raise SourceConfigError(f"retries must be >= 0, got {retries!r}")
        try:
            self.breaker = CircuitBreaker(SOURCE, give_up_after)  # checks the threshold
        except ValueError as exc:
            raise SourceConfigError(str(exc)) from None
        self._resolver = make_resolver(nameservers, port, timeout, online=online, network=network,
                                       liveness=liveness, first_copies=retries + 1)
        self._liveness = liveness
        self._endpoints = [f"{ns}@{port}" for ns in nameservers or ()]
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.with_holder = with_holder
        self.zone = zone.strip(".")
        self.cache = cache
        self._clock = clock
        self._sleep = network.sleep if sleep is None else sleep
        self.endpoint = (
            ", ".join(f"{ns}@{port}" for ns in nameservers) if nameservers else "system resolvers"
        )

    def lookup(self, ips: Sequence[str]) -> list[AsnAnswer]:
        """One answer per query, in order; never raises for a bad or failed lookup."""
        if isinstance(ips, str):
            ips = [ips]
        holders: dict[int, tuple[str | None, dict[str, Any]]] = {}
        out = []
        for raw in ips:
            try:
                out.append(self._one(raw, holders))
            except Exception as exc:  # last resort: a bug must not lose the row
                out.append(make_answer(str(raw), SOURCE, AsnStatus.ERROR, iso_utc(self._clock()),
                                       reason=f"internal error: {type(exc).__name__}: {exc}"))
        return out

    # ------------------------------------------------------------------ internals
    def _one(self, raw: object, holders: dict[int, tuple[str | None, dict[str, Any]]]) -> AsnAnswer:
        q = parse_query(raw)
        detail: dict[str, Any] = dict(q.notes)
        if q.error is not None:
            return make_answer(q.text, SOURCE, AsnStatus.ERROR, iso_utc(self._clock()), reason=q.error, detail=detail)
        if q.reserved is not None:
            return make_answer(q.text, SOURCE, AsnStatus.RESERVED, iso_utc(self._clock()), reason=q.reserved,
                               detail=detail)
        if self.cache is not None:
            hit = self.cache.get(q.text, SOURCE)
            if hit is not None:
                return hit
        assert q.address is not None
        qname = origin_name(q.address, self.zone)
        detail["qname"] = qname
        detail["server"] = self.endpoint
        if q.network is not None:
            detail["looked_up"] = str(q.address)
        self._trip_if_dead()
        if self.breaker.open:  # the server is gone: say so at once, and cache nothing
            detail["attempts"] = 0
            detail["not_asked"] = self.breaker.detail()
            return make_answer(q.text, SOURCE, AsnStatus(self.breaker.status), iso_utc(self._clock()),
                               reason=self.breaker.reason, detail=detail)
        res = self._txt(qname)
        now = iso_utc(self._clock())
        detail["attempts"] = res.attempts
        if res.kind != "ok":
            status = {"nxdomain": AsnStatus.NOT_FOUND, "noanswer": AsnStatus.NOT_FOUND,
                      "timeout": AsnStatus.TIMEOUT}.get(res.kind, AsnStatus.ERROR)
            answer = make_answer(q.text, SOURCE, status, now, reason=res.reason, detail=detail)
        else:
            detail["txt"] = res.strings
            answer = self._parse_origin(q.text, res.strings, detail, now, holders)
        if self.cache is not None:
            try:
                self.cache.put(answer)
            except OSError as exc:
                answer.detail["cache_error"] = str(exc)
        return answer

    def _parse_origin(
        self,
        query: str,
        strings: list[str],
        detail: dict[str, Any],
        now: str,
        holders: dict[int, tuple[str | None, dict[str, Any]]],
    ) -> AsnAnswer:
        best: tuple[int, list[int], str, str | None, str | None] | None = None
        for s in strings:
            parsed = _parse_origin_txt(s)
            if parsed is None:
                continue
            asns, prefix, cc, reg = parsed
            plen = ipaddress.ip_network(prefix, strict=False).prefixlen
            if best is None or plen > best[0]:
                best = (plen, asns, prefix, cc, reg)
        if best is None:
            return make_answer(query, SOURCE, AsnStatus.ERROR, now, detail=detail,
                               reason=f"unreadable Cymru TXT answer: {strings[:3]!r}")
        _, asns, prefix, cc, reg = best
        detail["origin_asns"] = asns
        holder = None
        if self.with_holder:
            if asns[0] not in holders:
                holders[asns[0]] = self._holder(asns[0])
            holder, hdetail = holders[asns[0]]
            detail.update(hdetail)
        return make_answer(query, SOURCE, AsnStatus.OK, now, asn=asns[0], prefix=prefix, holder=holder,
                           country=cc, registry=reg, detail=detail)

    def _holder(self, asn: int) -> tuple[str | None, dict[str, Any]]:
        if self.breaker.open:
            return None, {"holder_lookup": f"AS{asn}.{self.zone}: {self.breaker.reason}"}
        res = self._txt(f"AS{asn}.{self.zone}.")
        if res.kind != "ok":
            return None, {"holder_lookup": f"AS{asn}.{self.zone}: {res.reason}"}
        for s in res.strings:
            fields = [f.strip() for f in s.split("|")]
            if len(fields) >= 5 and fields[0] == str(asn):
                return (fields[4] or None), {"as_txt": s}
        return None, {"holder_lookup": f"unreadable AS TXT {res.strings[:2]!r}"}

    def _trip_if_dead(self) -> None:
        """Give up at once when every nameserver is known never to have answered (the audit's liveness)."""
        if self._liveness is not None and not self.breaker.open:
            why = self._liveness.all_dead(self._endpoints)
            if why:
                self.breaker.trip(AsnStatus.TIMEOUT, why)

    def _probing(self) -> bool:
        """True when this lookup's first query is a nameserver's first: its tries go out together."""
        live = self._liveness
        return live is not None and any(live.unproven(e) for e in self._endpoints)

    def _txt(self, qname: str) -> _Outcome:
        """TXT strings for ``qname``, with bounded retries and doubling backoff; tells the breaker."""
        res = self._ask(qname)
        if res.kind in ("timeout", "error"):
            self.breaker.failure(AsnStatus.TIMEOUT if res.kind == "timeout" else AsnStatus.ERROR, res.last)
        else:  # an answer, NXDOMAIN or NODATA: the server is alive
            self.breaker.success()
        return res

    def _ask(self, qname: str) -> _Outcome:
        failures: list[str] = []
        last_kind = "error"
        attempts = self.retries + 1
        # A server's first query is its probe: the tries go out together (udp_exchange's copies), the
        # first reply is the answer, and no reply to any of them in one timeout is the end of it.
        together = self._probing()
        for attempt in range(attempts):
            if together and attempt:  # every try was made with the first
                break
            if attempt:
                self._sleep(self.backoff * 2 ** (attempt - 1))
            try:
                ans = self._resolver.resolve(qname, "TXT", search=False, raise_on_no_answer=True)
            except dns.resolver.NXDOMAIN:
                return _Outcome("nxdomain", attempts=attempt + 1, reason=f"NXDOMAIN: {qname} does not exist")
            except dns.resolver.NoAnswer:
                return _Outcome("noanswer", attempts=attempt + 1, reason=f"{qname} exists but has no TXT record")
            except dns.exception.Timeout:
                last_kind = "timeout"
                failures.append("timeout")
            except dns.resolver.NoNameservers as exc:
                last_kind = "error"
                failures.append(describe_dns_error(exc))
            except (dns.exception.DNSException, OSError) as exc:
                last_kind = "error"
                failures.append(describe_dns_error(exc))
            else:
                strings = [b"".join(rd.strings).decode("utf-8", "replace") for rd in ans]
                return _Outcome("ok", strings=strings, attempts=attempt + 1)
        if last_kind == "timeout" and all(f == "timeout" for f in failures):
            reason = (f"{attempts} attempt{'s' if attempts > 1 else ''} timed out after {self.timeout:g} s each "
                      f"({qname} at {self.endpoint})")
            last = f"timeout from {self.endpoint}"
        else:
            reason = f"{attempts} attempt{'s' if attempts > 1 else ''} failed: " + " | ".join(dict.fromkeys(failures)) + f" ({qname})"
            last = failures[-1] if failures[-1] != "timeout" else f"timeout from {self.endpoint}"
        return _Outcome(last_kind, attempts=attempts, reason=reason, last=last)


def _parse_origin_txt(s: str) -> tuple[list[int], str, str | None, str | None] | None:
    """``"4134 4809 | 58.32.0.0/13 | CN | apnic | 2004-01-01"`` → ([4134, 4809], prefix, CC, registry)."""
    fields = [f.strip() for f in s.split("|")]
    if len(fields) < 2:
        return None
    try:
        asns = [int(a) for a in fields[0].replace(",", " ").split()]
        ipaddress.ip_network(fields[1], strict=False)
    except ValueError:
        return None
    if not asns:
        return None
    cc = fields[2].upper() if len(fields) > 2 and fields[2] else None
    reg = fields[3].lower() if len(fields) > 3 and fields[3] else None
    return asns, fields[1], cc, reg
