"""RDAP evidence via ipwhois: the registry's network object for an address.

``IPWhois(addr).lookup_rdap(asn_methods=["dns"])`` first asks Team Cymru's DNS for the
origin ASN and registry, then fetches ``https://<RIR>/ip/<addr>`` (and entities, to
``depth``). This source points both steps at configured servers without patching ipwhois:
DNS through ``net.dns_resolver`` (a public attribute), HTTP through ``proxy_opener``.

Offline is the default: the constructor needs a local ``base_url`` (every
``https://HOST/PATH`` becomes ``base_url/HOST/PATH``) unless ``online=True`` is passed
explicitly, in which case the real RIR servers are used.

Failures are answers, never exceptions:

===========================  ==================================================
what happened                status / behaviour
===========================  ==================================================
private, documentation, ...  ``reserved`` (ipwhois ``IPDefinedError``, or the shared check)
no Cymru origin (NXDOMAIN)   ``not_found`` — no ASN, so no registry to ask
HTTP 404                     ``not_found``
HTTP 429                     wait ``Retry-After`` (≤ ``retry_after_cap``), retry; then ``rate_limited``
HTTP 5xx, connection errors  retry with backoff; then ``error``
no answer within ``timeout`` retry with backoff; then ``timeout``
malformed JSON, other 4xx    ``error`` at once
===========================  ==================================================

After ``give_up_after`` lookups in a row that got no usable answer from the servers (``timeout``,
``rate_limited``, or ``error`` from a server: 5xx, connection errors, DNS failures, a malformed
body, another 4xx), the source stops asking and answers every remaining query at once with the
last failure's status and the reason ``"not asked: rdap gave up after 5 consecutive failures
(last: HTTP 500 from rdap.apnic.net)"`` (:mod:`auditor.resolve.breaker`). An answer, a 404 or
"no Team Cymru origin" resets the count; bad input and reserved addresses ask nothing and count
neither way.

With the audit's :class:`~auditor.resolve.liveness.Liveness`, a server that never answered is not
waited for ``give_up_after`` times: the local RDAP server (``base_url``) whose first request got no
response within the timeout, or Team Cymru nameservers none of which ever answered, end the source at
once — "not asked: rdap gave up: http://127.0.0.1:8080 never answered (...)".
"""

from __future__ import annotations

import datetime as dt
import email.utils
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ipwhois import IPWhois
from ipwhois.exceptions import HTTPRateLimitError, IPDefinedError

from auditor.resolve.breaker import DEFAULT_GIVE_UP_AFTER, CircuitBreaker
from auditor.resolve.liveness import Liveness
from auditor.resolve.network import REAL_NETWORK, Network

from ._dns import SourceConfigError, make_resolver
from ._http import Recorder, RecordingResolver, build_opener, http_endpoint
from ._query import parse_query
from .answer import AsnAnswer, AsnStatus, Clock, iso_utc, make_answer, utc_now
from .cache import DEFAULT_TTL, AnswerCache

__all__ = ["RdapSource"]

SOURCE = "rdap"
DEFAULT_TIMEOUT = 5.0  # seconds per HTTP request and per DNS query
DEFAULT_RETRIES = 2  # extra attempts after a 429, 5xx, timeout or connection error
DEFAULT_BACKOFF = 0.5  # seconds before the first retry when no Retry-After is given; doubles
DEFAULT_RETRY_AFTER_CAP = 30.0  # never wait longer than this for a Retry-After
DEFAULT_WAIT_BUDGET = 60.0  # seconds a source may spend waiting between retries, all lookups together


@dataclass(slots=True)
class _Attempt:
    kind: str  # ok | not_found | reserved | rate_limited | timeout | retryable | error
    reason: str = ""
    result: dict[str, Any] = field(default_factory=dict)
    retry_after: float | None = None
    retry_after_text: str | None = None
    # for an ``error``: who failed. "server" (counts towards giving up), "data" (the servers
    # answered, ipwhois could not use it: resets the count) or "local" (nothing was sent)
    fault: str = "server"


class RdapSource:
    """IP → ASN and registry network from RDAP, via ipwhois (``source == "rdap"``).

    Parameters
    ----------
    base_url
        Offline mode: an ``http://`` URL that serves ``/HOST/PATH`` for each RDAP URL
        ``https://HOST/PATH`` (e.g. ``"http://127.0.0.1:8080"``). No HTTPS handler is
        installed, so nothing reaches the host named in the URL.
    online
        Use the real RIR RDAP servers. Must be given explicitly; excludes ``base_url``.
    nameservers, port
        DNS servers for ipwhois's Team Cymru ASN step. Required offline; online they
        default to the system resolvers.
    timeout
        Seconds per HTTP request and per DNS query.
    retries, backoff, retry_after_cap
        Bounded retries after a 429, 5xx, timeout or connection error; the first backoff
        (doubling) when the server gives no ``Retry-After``; the longest ``Retry-After``
        honoured (a longer one ends the lookup as ``rate_limited`` without waiting).
    wait_budget
        Seconds the source may spend waiting between retries over its whole life (one audit):
        once spent, every lookup gets one attempt. With ``give_up_after`` it bounds the audit's
        time whatever a rate-limiting server says (``DEFAULT_WAIT_BUDGET``, 60 s).
    depth
        ipwhois entity depth: 0 = network object only, 1 = also fetch its entities' entities.
    cache, cache_ttl
        An :class:`AnswerCache`, or a directory for one, and its time to live.
    give_up_after
        Consecutive failed lookups after which the source stops asking and answers the remaining
        queries at once as failed, "not asked" (``DEFAULT_GIVE_UP_AFTER``, 5).
    clock, sleep
        Injected time sources; ``sleep`` (between retries) defaults to ``network.sleep``.
    network
        The clock, sockets and waits of the DNS step and the HTTP requests
        (:data:`~.network.REAL_NETWORK`; tests pass a virtual one).
    liveness
        The audit's :class:`~auditor.resolve.liveness.Liveness` (None: not kept). A timeout at a
        server not heard from before is not retried, and the source gives up at once when its RDAP
        server (offline) or every one of its Team Cymru nameservers never answered.

    Examples
    --------
    >>> RdapSource(nameservers=["127.0.0.1"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    auditor.resolve.asn._dns.SourceConfigError: offline RDAP needs base_url=...
    """

    name = SOURCE

    def __init__(
        self,
        *,
        base_url: str | None = None,
        online: bool = False,
        nameservers: Sequence[str] | None = None,
        port: int = 53,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
        retry_after_cap: float = DEFAULT_RETRY_AFTER_CAP,
        wait_budget: float = DEFAULT_WAIT_BUDGET,
        depth: int = 0,
        cache: AnswerCache | str | os.PathLike[str] | None = None,
        cache_ttl: dt.timedelta = DEFAULT_TTL,
        give_up_after: int = DEFAULT_GIVE_UP_AFTER,
        clock: Clock = utc_now,
        sleep: Callable[[float], None] | None = None,
        network: Network = REAL_NETWORK,
        liveness: Liveness | None = None,
    ) -> None:
        if online and base_url is not None:
            raise SourceConfigError("give either base_url (a local RDAP server) or online=True, not both")
        if not online:
            if base_url is None:
                raise SourceConfigError(
                    "offline RDAP needs base_url='http://HOST:PORT' (a local server serving /RIR-HOST/PATH); "
                    "pass online=True to query the real RIR servers"
                )
            if urlsplit(base_url).scheme != "http" or not urlsplit(base_url).netloc:
                raise SourceConfigError(f"base_url must be an http://HOST:PORT URL, got {base_url!r}")
        if retries < 0 or depth < 0:
            raise SourceConfigError("retries and depth must be >= 0")
        try:
            self.breaker = CircuitBreaker(SOURCE, give_up_after)  # checks the threshold
        except ValueError as exc:
            raise SourceConfigError(str(exc)) from None
        self.base_url = base_url
        self.online = online
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.retry_after_cap = retry_after_cap
        self.wait_budget = wait_budget
        self.waited_s = 0.0  # spent of wait_budget
        self.depth = depth
        self._clock = clock
        self._sleep = network.sleep if sleep is None else sleep
        self._network = network
        self._liveness = liveness
        # the servers whose silence ends the source: every Team Cymru nameserver, or the local RDAP server
        self._dns_endpoints = [f"{ns}@{port}" for ns in nameservers or ()]
        self._http_endpoint = http_endpoint(base_url) if base_url else ""
        # Built once to validate the configuration; each attempt gets its own recorder.
        self._resolver_args = (list(nameservers) if nameservers else None, port, timeout)
        self._resolver = make_resolver(*self._resolver_args, online=online, cls=RecordingResolver, network=network)
        if cache is None or isinstance(cache, AnswerCache):
            self.cache = cache
        else:
            self.cache = AnswerCache(cache, ttl=cache_ttl, clock=clock)

    # ------------------------------------------------------------------ public
    def lookup(self, ips: Sequence[str]) -> list[AsnAnswer]:
        """One answer per query, in order; never raises for a bad or failed lookup."""
        if isinstance(ips, str):
            ips = [ips]
        out = []
        for raw in ips:
            try:
                out.append(self._one(raw))
            except Exception as exc:  # last resort: a bug must not lose the row
                out.append(make_answer(str(raw), SOURCE, AsnStatus.ERROR, iso_utc(self._clock()),
                                       reason=f"internal error: {type(exc).__name__}: {exc}"))
        return out

    # ------------------------------------------------------------------ one query
    def _one(self, raw: object) -> AsnAnswer:
        q = parse_query(raw)
        detail: dict[str, Any] = dict(q.notes)
        if q.error is not None:
            return make_answer(q.text, SOURCE, AsnStatus.ERROR, iso_utc(self._clock()), reason=q.error, detail=detail)
        assert q.address is not None
        if self.cache is not None:
            hit = self.cache.get(q.text, SOURCE)
            if hit is not None:
                return hit
        if q.network is not None:
            detail["looked_up"] = str(q.address)  # ipwhois queries addresses, not prefixes
        detail["mode"] = "online" if self.online else f"offline via {self.base_url}"
        self._trip_if_dead()
        if self.breaker.open and q.reserved is not None:  # nothing to ask anyway
            return make_answer(q.text, SOURCE, AsnStatus.RESERVED, iso_utc(self._clock()), reason=q.reserved,
                               detail=detail)
        if self.breaker.open:  # the servers are gone: say so at once, and cache nothing
            detail["attempts"] = []
            detail["not_asked"] = self.breaker.detail()
            return make_answer(q.text, SOURCE, AsnStatus(self.breaker.status), iso_utc(self._clock()),
                               reason=self.breaker.reason, detail=detail)
        attempts: list[dict[str, Any]] = []
        waited: list[float] = []
        att = _Attempt("error", "no attempt made")
        for n in range(self.retries + 1):
            rec = Recorder()
            att = self._attempt(str(q.address), rec)
            attempts.append({"events": rec.events, "outcome": att.kind})
            if att.kind in ("ok", "not_found", "reserved", "error"):
                break
            if n == self.retries:
                break
            if att.kind == "timeout" and self._why_dead():  # its first request got no reply: not waited for again
                break
            if att.kind == "rate_limited" and att.retry_after is not None:
                if att.retry_after > self.retry_after_cap:
                    att.reason += f"; Retry-After exceeds the {self.retry_after_cap:g} s cap, not retried"
                    break
                wait = att.retry_after
            else:
                wait = self.backoff * 2**n
            if self.waited_s + wait > self.wait_budget:
                att.reason += f"; the source's {self.wait_budget:g} s budget for waiting between retries is spent, not retried"
                break
            self.waited_s += wait
            waited.append(wait)
            self._sleep(wait)
        detail["attempts"] = attempts
        if waited:
            detail["waited_s"] = waited
        now = iso_utc(self._clock())
        tries = len(attempts)
        suffix = "" if tries == 1 else f" ({tries} attempts)"
        if att.kind == "ok":
            answer = self._ok(q.text, att.result, detail, now)
        elif att.kind == "reserved":
            answer = make_answer(q.text, SOURCE, AsnStatus.RESERVED, now, reason=att.reason, detail=detail)
        elif att.kind == "not_found":
            answer = make_answer(q.text, SOURCE, AsnStatus.NOT_FOUND, now, reason=att.reason, detail=detail)
        elif att.kind == "rate_limited":
            answer = make_answer(q.text, SOURCE, AsnStatus.RATE_LIMITED, now, reason=att.reason + suffix,
                                 detail=detail)
        elif att.kind == "timeout":
            answer = make_answer(q.text, SOURCE, AsnStatus.TIMEOUT, now, detail=detail,
                                 reason=f"{tries} attempt{'s' if tries > 1 else ''} timed out after "
                                        f"{self.timeout:g} s each: {att.reason}")
        else:
            answer = make_answer(q.text, SOURCE, AsnStatus.ERROR, now, reason=att.reason + suffix, detail=detail)
        self._tell_breaker(att, answer.status)
        if self.cache is not None:
            try:
                self.cache.put(answer)
            except OSError as exc:
                answer.detail["cache_error"] = str(exc)
        return answer

    def _why_dead(self) -> str:
        """Why the source cannot get an answer: its RDAP server, or every Team Cymru nameserver, never answered."""
        live = self._liveness
        if live is None:
            return ""
        return (live.dead(self._http_endpoint) if self._http_endpoint else "") or live.all_dead(self._dns_endpoints)

    def _trip_if_dead(self) -> None:
        if not self.breaker.open:
            why = self._why_dead()
            if why:
                self.breaker.trip(AsnStatus.TIMEOUT, why)

    def _tell_breaker(self, att: _Attempt, status: str) -> None:
        if att.kind in ("ok", "not_found") or (att.kind == "error" and att.fault == "data"):
            self.breaker.success()  # the servers answered
        elif att.kind in ("timeout", "rate_limited", "retryable") or (att.kind == "error" and att.fault == "server"):
            self.breaker.failure(status, f"timeout at {att.reason}" if att.kind == "timeout" else att.reason)
        # reserved, or an error before anything was sent: nothing to learn about the servers

    def _attempt(self, addr: str, rec: Recorder) -> _Attempt:
        # The shared special-purpose check runs first for addresses ipwhois would accept
        # (e.g. 100.64.0.0/10); ipwhois's own IPDefinedError covers the rest.
        try:
            whois = IPWhois(addr, timeout=self.timeout,
                            proxy_opener=build_opener(rec, self.base_url, self._network, self._liveness))
        except IPDefinedError as exc:
            return _Attempt("reserved", f"ipwhois: {exc}")
        except Exception as exc:  # e.g. no /etc/resolv.conf for ipwhois's default resolver
            return _Attempt("error", f"ipwhois could not start: {type(exc).__name__}: {exc}", fault="local")
        pre = parse_query(addr)
        if pre.reserved is not None:
            return _Attempt("reserved", pre.reserved)
        resolver = make_resolver(*self._resolver_args, online=self.online, cls=RecordingResolver, network=self._network,
                                 liveness=self._liveness)
        assert isinstance(resolver, RecordingResolver)
        resolver.recorder = rec
        whois.net.dns_resolver = resolver
        try:
            result = whois.lookup_rdap(
                asn_methods=["dns"],  # never fall back to port-43 whois to a fixed host
                depth=self.depth,
                retry_count=0,  # retries are ours: ipwhois would sleep 120 s on a 429
                rate_limit_timeout=0,
                inc_nir=False,  # NIR lookups are plain-HTTP scrapes of fixed hosts
                get_asn_description=False,
            )
        except HTTPRateLimitError as exc:
            return self._rate_limited(rec, exc)
        except Exception as exc:
            return _classify(rec, exc)
        return _Attempt("ok", result=result)

    def _rate_limited(self, rec: Recorder, exc: Exception) -> _Attempt:
        ev = rec.last("http") or {}
        host = urlsplit(ev.get("url", "")).netloc or "the RDAP server"
        text = ev.get("retry_after")
        if ev.get("status") != 429:
            return _Attempt("rate_limited", f"rate limit notice in the RDAP answer from {host}")
        seconds = _retry_after_seconds(text, self._clock()) if text is not None else None
        reason = f"HTTP 429 from {host}" + (f" Retry-After {text}" if text is not None else " (no Retry-After)")
        return _Attempt("rate_limited", reason, retry_after=seconds, retry_after_text=text)

    def _ok(self, query: str, res: dict[str, Any], detail: dict[str, Any], now: str) -> AsnAnswer:
        asn_text = str(res.get("asn") or "")
        asns = [int(a) for a in asn_text.replace(",", " ").split() if a.isdigit()]
        net = res.get("network") or {}
        objects = res.get("objects") or {}
        registrant = next(
            (o for o in objects.values() if o and "registrant" in (o.get("roles") or [])), None
        )
        holder = None
        if registrant is not None:
            holder = ((registrant.get("contact") or {}).get("name")) or registrant.get("handle")
            detail["holder_from"] = f"registrant entity {registrant.get('handle')}"
        if holder is None and net.get("name"):
            holder = net["name"]
            detail["holder_from"] = "network name"
        cidrs = [c.strip() for c in str(net.get("cidr") or "").split(",") if c.strip()]
        country = net.get("country") or res.get("asn_country_code") or None
        detail["country_from"] = "rdap network" if net.get("country") else "cymru asn record"
        detail.update({
            "asn_text": asn_text,
            "origin_asns": asns,
            "asn_cidr": res.get("asn_cidr"),
            "asn_country_code": res.get("asn_country_code"),
            "asn_date": res.get("asn_date"),
            "network": {k: net.get(k) for k in ("handle", "name", "cidr", "start_address", "end_address",
                                               "type", "country", "parent_handle")},
            "entities": sorted(res.get("entities") or []),
            "roles": {h: (o or {}).get("roles") for h, o in sorted(objects.items())},
        })
        return make_answer(query, SOURCE, AsnStatus.OK, now, asn=asns[0] if asns else None,
                           prefix=cidrs[0] if cidrs else res.get("asn_cidr"), holder=holder,
                           country=country, registry=res.get("asn_registry"), detail=detail)


def _classify(rec: Recorder, exc: Exception) -> _Attempt:
    """Turn ipwhois's exception plus the recorded wire events into an outcome."""
    last = rec.last_event
    what = f"{type(exc).__name__}: {exc}"
    if last is None:
        return _Attempt("error", f"ipwhois failed before any request: {what}", fault="local")
    if last["kind"] == "dns":
        outcome = last.get("outcome")
        if outcome == "nxdomain":
            return _Attempt("not_found", f"no Team Cymru origin record (NXDOMAIN for {last['qname']}), "
                                         "so no registry to ask")
        if outcome == "noanswer":
            return _Attempt("not_found", f"{last['qname']} has no TXT record, so no registry to ask")
        if outcome == "timeout":
            return _Attempt("timeout", f"DNS {last['qname']} TXT")
        if outcome == "ok":  # DNS answered but ipwhois could not use it (unknown registry, bad TXT)
            return _Attempt("error", f"unusable Team Cymru answer {last.get('txt')!r}: {what}", fault="data")
        return _Attempt("retryable", f"DNS {last['qname']}: {last.get('error', what)}")
    host = urlsplit(last["url"]).netloc
    if last.get("error") == "timeout":
        return _Attempt("timeout", last["url"])
    if "error" in last:
        return _Attempt("retryable", f"{last['url']}: {last['error']}")
    status = last.get("status")
    if status == 404:
        return _Attempt("not_found", f"HTTP 404 from {host}: no RDAP object for {last['url']}")
    if isinstance(status, int) and status >= 500:
        return _Attempt("retryable", f"HTTP {status} from {host}")
    if isinstance(status, int) and status >= 400:
        return _Attempt("error", f"HTTP {status} from {host}")
    if "body_error" in last:
        return _Attempt("error", f"{last['body_error']} from {host}")
    return _Attempt("error", f"{host}: {what}")


def _retry_after_seconds(text: str, now: dt.datetime) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP-date (RFC 9110 §10.2.3).

    >>> _retry_after_seconds("2", dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    2.0
    >>> _retry_after_seconds("Thu, 01 Jan 2026 00:00:10 GMT", dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    10.0
    """
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max((when - now).total_seconds(), 0.0)
