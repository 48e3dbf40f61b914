"""EDNS Client Subnet sweeps (RFC 7871): ask one name from every (province, carrier) of China.

A CDN's authoritative server answers by client subnet. Asking it once per representative /24 of
each (province, carrier) pair (:mod:`.subnets`) shows which edge nodes it hands out and to whom
— nodes an operator may not have declared. The result is a :class:`~.model.SweepResult`:
one :class:`~.model.SweepAnswer` per query and ``by_address`` ``{node: [subnets]}``.

The engine is a ``selectors`` loop over a few connected UDP sockets (the kernel then delivers
only datagrams from the server's address and port), with at most ``window`` queries in flight,
replies matched by id and socket and checked against the ECS address asked, a paced send rate
per server, bounded retries after ``timeout``, a hard cap on datagrams sent and a time limit.
Every planned query ends answered (NOERROR, NXDOMAIN) or recorded as failed with a reason (a
SERVFAIL or REFUSED reply included: it names no node).

The cap and the time limit bound one sweep; :class:`EcsSweeper` (what an audit uses, one sweep per
accelerated domain) also bounds their number: after ``give_up_after`` sweeps in a row at a server
got not one answer, it sends that server nothing more and returns an empty result whose
``reason`` says so (:mod:`auditor.resolve.breaker`). A sweep with any answer resets the count.

Example (a local server)::

    from auditor.resolve.ipgeo.xdb import XdbDatabase
    result = sweep("img.szcdn.test", ("127.0.0.1", 5353), XdbDatabase.load(), per_pair=2)
    result.by_address   # {"14.17.64.20": ["27.44.145.0/24", ...], ...}
"""

from __future__ import annotations

import collections
import errno
import random
import selectors
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import dns.name
import dns.rcode
import dns.rdatatype

from auditor.errors import os_reason
from auditor.resolve.breaker import (
    DEFAULT_GIVE_UP_AFTER,
    CircuitBreaker,
    check_threshold,
)
from auditor.resolve.clock import Clock, iso_utc, utc_now
from auditor.resolve.liveness import Liveness
from auditor.resolve.network import REAL_NETWORK, Network

from .chain import MAX_TTL, text_of
from .model import (
    ClientSubnet,
    Nameserver,
    SweepAnswer,
    SweepResult,
    SweepStatus,
    group_by_address,
)
from .subnets import CARRIERS, SubnetPlan, plan_subnets
from .wire import QueryTemplate, Reply, read_reply, read_reply_slow

__all__ = ["EcsSweeper", "Progress", "SweepConfigError", "SweepSource", "sweep"]

Progress = Callable[[int, int], None]
"""``progress(done, total)``: called at most every 0.1 s and once at the end."""

DEFAULT_RATE = 2000.0
"""Queries per second to one server unless told otherwise: polite to a real authoritative
server (a sweep of 426 subnets then takes a quarter of a second). Local benchmarks lift it."""

PROBE_WINDOW = 16
"""Queries in flight at most while a sweep waits for a server's first reply (``liveness``): a server
that never answers gets these few, not a whole window."""

_KIND_STATUS = {
    "answer": SweepStatus.OK,
    "nodata": SweepStatus.NODATA,
    "nxdomain": SweepStatus.NXDOMAIN,
    "rcode": SweepStatus.RCODE,
    "bad": SweepStatus.BAD_RESPONSE,
}


class SweepConfigError(ValueError):
    """A sweep was asked for with settings that cannot work (nothing was sent)."""


class SweepSource(Protocol):
    """Live (:class:`EcsSweeper`) or replayed (``ReplaySweeper``) sweeps behind one call."""

    name: str

    def sweep(self, domain: str, server: Nameserver | str | tuple[str, int], db: Any = None) -> SweepResult: ...


@dataclass(frozen=True)
class EcsSweeper:
    """:func:`sweep` with its options fixed, for the engine (``SweepSource``).

    Unlike :func:`sweep`, it remembers each server across sweeps: after ``give_up_after`` sweeps in
    a row at one server got no answer at all (every query timed out, failed on send, or got SERVFAIL,
    REFUSED or an unusable reply), later sweeps at that server send nothing and return a result with
    ``queries == 0`` and ``reason`` ``"ecs-sweep gave up after 5 consecutive failures (last: none of
    426 queries answered by 127.0.0.1@5353: 426 SERVFAIL)"``.

    With ``liveness`` (the audit's :class:`~auditor.resolve.liveness.Liveness`), the first sweep at a
    server not heard from is its probe (:func:`sweep`'s ``liveness``): if nothing came back in its
    first timeout, it stops there, and later sweeps at that server — or at any server found never to
    answer — send nothing: ``"ecs-sweep gave up: 127.0.0.1@5353 never answered (...)"``.
    """

    per_pair: int = 4
    rdtypes: tuple[str, ...] = ("A",)
    carriers: tuple[str, ...] = CARRIERS
    provinces: tuple[str, ...] | None = None
    timeout: float = 1.0
    retries: int = 2
    window: int = 256
    sockets: int = 4
    rate_limit: float | None = DEFAULT_RATE
    max_queries: int = 100_000
    max_seconds: float = 300.0
    name: str = "ecs-sweep"
    give_up_after: int = DEFAULT_GIVE_UP_AFTER
    network: Network = field(default=REAL_NETWORK, repr=False, compare=False)
    liveness: Liveness | None = field(default=None, repr=False, compare=False)
    _breakers: dict[str, CircuitBreaker] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            check_threshold(self.give_up_after)
        except ValueError as exc:
            raise SweepConfigError(str(exc)) from None

    def breaker_for(self, server: Nameserver | str | tuple[str, int]) -> CircuitBreaker:
        """The count of sweeps in a row at ``server`` that got no answer (one per server)."""
        key = str(Nameserver.parse(server))
        if key not in self._breakers:
            self._breakers[key] = CircuitBreaker(self.name, self.give_up_after)
        return self._breakers[key]

    def sweep(
        self, domain: str, server: Nameserver | str | tuple[str, int], db: Any = None,
        *, progress: Progress | None = None,
    ) -> SweepResult:
        if db is None:
            raise SweepConfigError("a live sweep needs the ip2region database (XdbDatabase) to choose client subnets")
        ns = Nameserver.parse(server)
        breaker = self.breaker_for(ns)
        self._trip_if_dead(ns, breaker)
        if breaker.open:  # the server is gone: nothing is sent
            return SweepResult(
                domain=text_of(_qname(domain)), server=str(ns), queries=0, answered=0, failed=0, answers=[],
                by_address={}, rdtypes=tuple(t.upper() for t in self.rdtypes), started_at=iso_utc(utc_now()),
                reason=breaker.gave_up,
            )
        result = sweep(
            domain, ns, db, per_pair=self.per_pair, rdtypes=self.rdtypes, carriers=self.carriers,
            provinces=self.provinces, timeout=self.timeout, retries=self.retries, window=self.window,
            sockets=self.sockets, rate_limit=self.rate_limit, max_queries=self.max_queries,
            max_seconds=self.max_seconds, progress=progress, network=self.network, liveness=self.liveness,
        )
        if result.answered:
            breaker.success()
        else:
            breaker.failure(_dominant_failure(result.answers), _no_answer(result))
        self._trip_if_dead(ns, breaker)
        return result

    def _trip_if_dead(self, ns: Nameserver, breaker: CircuitBreaker) -> None:
        """Give up on ``ns`` at once when it is known never to have answered (the audit's liveness)."""
        if self.liveness is not None and not breaker.open:
            why = self.liveness.dead(str(ns))
            if why:
                breaker.trip(SweepStatus.TIMEOUT.value, why)


def _dominant_failure(answers: Sequence[SweepAnswer]) -> str:
    counts = collections.Counter(a.status for a in answers)
    return counts.most_common(1)[0][0] if counts else SweepStatus.NOT_SENT.value


def _no_answer(result: SweepResult) -> str:
    """``"none of 426 queries answered by 127.0.0.1@5353: 426 SERVFAIL"`` (rcodes named, other failures by status)."""
    counts = collections.Counter(a.rcode if a.status == SweepStatus.RCODE and a.rcode else a.status for a in result.answers)
    what = ", ".join(f"{n} {label}" for label, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return f"none of {result.queries} queries answered by {result.server}: {what}"


def sweep(
    domain: str,
    server: Nameserver | str | tuple[str, int],
    db: Any = None,
    *,
    plan: SubnetPlan | Sequence[ClientSubnet] | None = None,
    per_pair: int = 4,
    rdtypes: Sequence[str] = ("A",),
    carriers: Sequence[str] = CARRIERS,
    provinces: Sequence[str] | None = None,
    source_prefix: int = 24,
    timeout: float = 1.0,
    retries: int = 2,
    window: int = 256,
    sockets: int = 4,
    rate_limit: float | None = DEFAULT_RATE,
    max_queries: int = 100_000,
    max_seconds: float = 300.0,
    max_ttl: int = MAX_TTL,
    progress: Progress | None = None,
    clock: Clock = utc_now,
    network: Network = REAL_NETWORK,
    liveness: Liveness | None = None,
) -> SweepResult:
    """Ask ``domain`` at ``server`` from every planned client subnet, with an ECS option each.

    Parameters
    ----------
    domain
        The name to ask (usually the end of an accelerated domain's CNAME chain).
    server
        The authoritative server: ``(host, port)``, ``"host@port"`` or :class:`Nameserver`.
    db
        An :class:`~auditor.resolve.ipgeo.xdb.XdbDatabase`; used to plan subnets when ``plan`` is not given.
    plan
        A :class:`SubnetPlan` or a list of :class:`ClientSubnet` to ask from instead.
    per_pair, carriers, provinces
        Passed to :func:`~.subnets.plan_subnets`.
    rdtypes
        ``("A",)``, ``("AAAA",)`` or both (one query per subnet per type).
    source_prefix
        ECS SOURCE PREFIX-LENGTH (24 keeps client privacy as RFC 7871 §11.1 recommends).
    timeout, retries
        Seconds before a query is sent again, and how many times (so ``retries + 1`` sends at most).
    window, sockets
        Queries in flight at most, and UDP sockets they are spread over.
    rate_limit
        Sends per second to this server (``None``: unpaced, for local benchmarks).
    max_queries
        Hard cap on datagrams sent, retries included. A plan larger than the cap is refused.
    max_seconds
        Time limit; queries not done by then are recorded as failed.
    progress
        ``progress(done, total)`` callback.
    clock
        The aware UTC time written to ``started_at``.
    network
        The clock the timeouts, the pacing and the time limit are kept on, and the sockets and
        waits (:data:`~auditor.resolve.network.REAL_NETWORK`; tests pass a virtual one).
    liveness
        An audit's :class:`~auditor.resolve.liveness.Liveness`, told whether the server replied. If
        it has not heard from the server before, this sweep is its probe: when the first query's
        timeout passes with no reply to any query sent, the sweep stops there (the queries in
        flight end ``timeout``, the rest ``not_sent``) and the server is dead for the audit. Until a
        first reply comes, at most :data:`PROBE_WINDOW` queries are in flight.

    Raises
    ------
    SweepConfigError
        Bad settings, no subnets, or more planned queries than ``max_queries``: nothing is sent.
    """
    ns = Nameserver.parse(server)
    qname = _qname(domain)
    subnets, skipped, version, sha = _subnets(db, plan, per_pair, carriers, provinces)
    if timeout <= 0 or max_seconds <= 0 or window < 1 or sockets < 1 or retries < 0:
        raise SweepConfigError("timeout and max_seconds must be positive, window and sockets at least 1, retries >= 0")
    if rate_limit is not None and rate_limit <= 0:
        raise SweepConfigError(f"rate_limit must be positive or None, got {rate_limit!r}")
    try:
        templates = [QueryTemplate(qname, t, source_prefix=source_prefix) for t in rdtypes]
    except ValueError as exc:
        raise SweepConfigError(str(exc)) from exc
    if not templates:
        raise SweepConfigError("rdtypes is empty")
    total = len(subnets) * len(templates)
    if total > max_queries:
        raise SweepConfigError(f"{total} queries planned, more than max_queries={max_queries}; lower per_pair or raise the cap")

    started_at = iso_utc(clock())
    t0 = network.monotonic()
    engine = _Engine(ns, templates, subnets, timeout=timeout, retries=retries, window=min(window, 30000),
                     nsockets=sockets, rate=rate_limit, cap=max_queries, max_seconds=max_seconds,
                     max_ttl=max_ttl, progress=progress, network=network,
                     probe=liveness is not None and liveness.unproven(str(ns)))
    answers = engine.run()
    if liveness is not None:
        if engine.heard:
            liveness.answered(str(ns))
        elif engine.gave_up:
            liveness.silent(str(ns), engine.gave_up)
    duration = network.monotonic() - t0
    answered = sum(1 for a in answers if a.answered)
    notes = list(engine.notes)
    return SweepResult(
        domain=text_of(qname),
        server=str(ns),
        rdtypes=tuple(dns.rdatatype.to_text(t.rdtype) for t in templates),
        queries=total,
        answered=answered,
        failed=total - answered,
        answers=answers,
        by_address=group_by_address(answers),
        sent=engine.sent,
        started_at=started_at,
        duration_s=duration,
        data_version=version,
        data_sha256=sha,
        skipped=skipped,
        notes=tuple(notes),
    )


def _qname(domain: str) -> dns.name.Name:
    try:
        if not isinstance(domain, str) or not domain.strip() or any(c.isspace() for c in domain.strip()):
            raise ValueError(domain)
        return dns.name.from_text(domain.strip())
    except Exception as exc:  # noqa: BLE001 - dnspython raises several kinds for a bad name
        raise SweepConfigError(f"not a DNS name: {domain!r}") from exc


def _subnets(
    db: Any, plan: SubnetPlan | Sequence[ClientSubnet] | None, per_pair: int,
    carriers: Sequence[str], provinces: Sequence[str] | None,
) -> tuple[list[ClientSubnet], tuple[tuple[str, str, str], ...], str, str]:
    if plan is None:
        if db is None:
            raise SweepConfigError("give the ip2region database (db=) or a plan of client subnets (plan=)")
        plan = plan_subnets(db, per_pair=per_pair, carriers=carriers, provinces=provinces)
    if isinstance(plan, SubnetPlan):
        subnets, skipped, version, sha = list(plan.subnets), plan.skipped, plan.data_version, plan.data_sha256
    else:
        subnets, skipped = list(plan), ()
        version, sha = str(getattr(db, "version", "")), str(getattr(db, "sha256", ""))
    if not subnets:
        raise SweepConfigError("no client subnets to ask from")
    return subnets, skipped, version, sha


def _sends(n: int) -> str:
    return "1 send" if n == 1 else f"{n} sends"


class _Engine:
    """One sweep's sockets and bookkeeping. Query ``i`` is (subnet ``i // T``, template ``i % T``)."""

    def __init__(
        self, ns: Nameserver, templates: list[QueryTemplate], subnets: list[ClientSubnet], *,
        timeout: float, retries: int, window: int, nsockets: int, rate: float | None, cap: int,
        max_seconds: float, max_ttl: int, progress: Progress | None, network: Network, probe: bool = False,
    ) -> None:
        self.ns = ns
        self.templates = templates
        self.subnets = subnets
        self.nt = len(templates)
        self.total = len(subnets) * self.nt
        self.timeout = timeout
        self.retries = retries
        self.window = window
        self.nsockets = nsockets
        self.rate = rate
        self.cap = cap
        self.max_seconds = max_seconds
        self.max_ttl = max_ttl
        self.progress = progress
        self.network = network
        self.sent = 0
        self.notes: list[str] = []
        t = templates[0]
        self.addr = [t.address_bytes(s.prefix.split("/", 1)[0]) for s in subnets]
        self.results: list[SweepAnswer | None] = [None] * self.total
        self.attempts = [0] * self.total
        self.last_sent = [0.0] * self.total
        self.refused = 0
        self.strays = 0
        self.probe = probe  # the server has not been heard from: stop at the first timeout if it stays silent
        self.heard = False  # a datagram came from the server
        self.gave_up = ""  # why a probe sweep stopped early

    def _finish(self, i: int, status: SweepStatus, reply: Reply | None = None, reason: str = "", rtt: float | None = None) -> None:
        subnet = self.subnets[i // self.nt]
        t = self.templates[i % self.nt]
        if reply is None:
            self.results[i] = SweepAnswer(subnet, dns.rdatatype.to_text(t.rdtype), status.value, None, None, (), None,
                                          None, self.attempts[i], (), reason)
            return
        rcode = None if reply.rcode < 0 else dns.rcode.to_text(reply.rcode)  # type: ignore[arg-type]
        self.results[i] = SweepAnswer(
            subnet, dns.rdatatype.to_text(t.rdtype), status.value, rcode, reply.scope, reply.addresses, reply.ttl,
            None if rtt is None else rtt * 1000.0, self.attempts[i], reply.cnames, reply.reason,
        )

    def run(self) -> list[SweepAnswer]:
        family = socket.AF_INET6 if ":" in self.ns.host else socket.AF_INET
        socks: list[socket.socket] = []
        sel = selectors.DefaultSelector()
        try:
            for k in range(self.nsockets):
                s = self.network.udp_socket(family)
                try:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
                except OSError:  # pragma: no cover - a smaller buffer only costs retries
                    pass
                s.connect((self.ns.host, self.ns.port))
                socks.append(s)
                sel.register(s, selectors.EVENT_READ, k)
            self._loop(socks, sel)
        finally:
            sel.close()
            for s in socks:
                s.close()
        if self.refused:
            self.notes.append(f"{self.refused} ICMP port-unreachable errors from {self.ns}")
        if self.strays:
            self.notes.append(f"{self.strays} replies matched no query in flight (late or foreign) and were ignored")
        for i, r in enumerate(self.results):  # by construction none is left; never let one vanish
            if r is None:  # pragma: no cover
                self._finish(i, SweepStatus.NOT_SENT, reason="the sweep ended without an outcome for this query")
        return [r for r in self.results if r is not None]

    def _stop_silent(self, inflight: dict[int, tuple[int, int, int]], pending: collections.deque[int]) -> int:
        """End every query at once: the server answered none of those sent in the first timeout. Returns how many."""
        sent = len(inflight)
        self.gave_up = f"no reply in {self.timeout:g} s to any of the first {sent} queries of a sweep"
        ended = 0
        for i, _k, _s in inflight.values():
            self._finish(i, SweepStatus.TIMEOUT, reason=f"no reply after {_sends(self.attempts[i])}, {self.timeout:g} s; "
                                                        f"{self.ns} answered none of the sweep's first {sent} queries")
            ended += 1
        inflight.clear()
        while pending:
            self._finish(pending.popleft(), SweepStatus.NOT_SENT,
                         reason=f"not sent: {self.ns} answered none of the sweep's first {sent} queries in {self.timeout:g} s")
            ended += 1
        self.notes.append(f"stopped after {self.timeout:g} s: {self.ns} answered none of the first {sent} queries "
                          "(a server not heard from before)")
        return ended

    def _loop(self, socks: list[socket.socket], sel: selectors.BaseSelector) -> None:  # noqa: C901 - one hot loop
        total, nt, timeout, retries, window = self.total, self.nt, self.timeout, self.retries, self.window
        templates, addr, attempts, last_sent = self.templates, self.addr, self.attempts, self.last_sent
        nsock = len(socks)
        pending = collections.deque(range(total))
        inflight: dict[int, tuple[int, int, int]] = {}  # id -> (query, socket, seq)
        deadlines: collections.deque[tuple[float, int, int]] = collections.deque()  # (deadline, id, seq), in send order
        qid = random.randrange(0x10000)
        seq = 0
        done = 0
        mono, select = self.network.monotonic, self.network.select
        start = mono()
        stop_at = start + self.max_seconds
        burst = float(min(window, 64))
        last_progress = 0.0
        now = start

        while done < total:
            now = mono()
            if now >= stop_at:
                for i, _k, _s in inflight.values():
                    self._finish(i, SweepStatus.TIMEOUT, reason=f"no reply before the sweep's time limit ({self.max_seconds:g} s)")
                    done += 1
                inflight.clear()
                while pending:
                    i = pending.popleft()
                    self._finish(i, SweepStatus.NOT_SENT, reason=f"the sweep's time limit ({self.max_seconds:g} s) was reached")
                    done += 1
                break

            # 1. expire queries whose reply is overdue: send again (bounded) or record the failure
            if self.probe and not self.heard and deadlines and deadlines[0][0] <= now and not select(sel, 0):
                done += self._stop_silent(inflight, pending)  # a server's first sweep, and not a word back
                break
            while deadlines and deadlines[0][0] <= now:
                _dl, key, s = deadlines.popleft()
                entry = inflight.get(key)
                if entry is None or entry[2] != s:
                    continue
                del inflight[key]
                i = entry[0]
                if attempts[i] <= retries:
                    pending.appendleft(i)
                else:
                    self._finish(i, SweepStatus.TIMEOUT, reason=f"no reply after {_sends(attempts[i])}, {timeout:g} s each")
                    done += 1

            # 2. send while the window, the rate and the cap allow
            if self.rate is None:
                allowance = window
            else:
                allowance = int(burst + (now - start) * self.rate) - self.sent
            limit = window if self.heard or not self.probe else min(window, PROBE_WINDOW)  # a probe asks a few first
            while pending and len(inflight) < limit and allowance > 0:
                if self.sent >= self.cap:
                    break
                i = pending.popleft()
                qid = (qid + 1) & 0xFFFF
                while qid in inflight:
                    qid = (qid + 1) & 0xFFFF
                k = qid % nsock
                t = templates[i % nt]
                try:
                    socks[k].send(t.render(qid, addr[i // nt]))
                except BlockingIOError:
                    pending.appendleft(i)
                    break
                except OSError as exc:
                    attempts[i] += 1
                    self.sent += 1
                    if exc.errno == errno.ECONNREFUSED:
                        self.refused += 1
                    if attempts[i] <= retries:
                        pending.append(i)
                    else:
                        self._finish(i, SweepStatus.ERROR, reason=f"send failed: {os_reason(exc)}")
                        done += 1
                    continue
                attempts[i] += 1
                self.sent += 1
                allowance -= 1
                seq += 1
                last_sent[i] = now
                inflight[qid] = (i, k, seq)
                deadlines.append((now + timeout, qid, seq))
            if pending and self.sent >= self.cap:
                while pending:
                    i = pending.popleft()
                    if attempts[i]:
                        self._finish(i, SweepStatus.TIMEOUT, reason=f"no reply after {_sends(attempts[i])}; query cap of {self.cap} reached")
                    else:
                        self._finish(i, SweepStatus.NOT_SENT, reason=f"query cap of {self.cap} datagrams reached")
                    done += 1
                if done >= total:
                    break

            # 3. wait for replies (or the next deadline / send slot)
            wait = 0.05
            if deadlines:
                wait = min(wait, max(0.0, deadlines[0][0] - now))
            if pending and len(inflight) < limit and self.rate is not None and allowance <= 0:
                wait = min(wait, 1.0 / self.rate)
            if not inflight and not pending:
                wait = 0.0
            events = select(sel, wait)
            for key_, _mask in events:
                k = key_.data
                sock = socks[k]
                while True:
                    try:
                        data = sock.recv(65535)
                    except BlockingIOError:
                        break
                    except ConnectionRefusedError:
                        self.refused += 1
                        continue
                    except OSError:  # pragma: no cover - other socket errors: the queries will time out
                        break
                    self.heard = True
                    if len(data) < 12:
                        self.strays += 1
                        continue
                    rid = (data[0] << 8) | data[1]
                    entry = inflight.get(rid)
                    if entry is None or entry[1] != k:
                        self.strays += 1
                        continue
                    i = entry[0]
                    t = templates[i % nt]
                    a = addr[i // nt]
                    reply = read_reply(data, t, a, self.max_ttl)
                    if reply is None:
                        reply = read_reply_slow(data, t, rid, a, self.max_ttl)
                    del inflight[rid]
                    rtt = mono() - last_sent[i]
                    if reply.kind == "bad" and reply.retry and attempts[i] <= retries:
                        pending.appendleft(i)  # a spoiled reply: ask again (bounded)
                        continue
                    self._finish(i, _KIND_STATUS[reply.kind], reply, rtt=rtt)
                    done += 1

            if self.progress is not None and now - last_progress >= 0.1:
                last_progress = now
                self.progress(done, total)
        if self.progress is not None:
            self.progress(done, total)
