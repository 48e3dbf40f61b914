"""Time and sockets as the live sources see them: one seam, real by default.

Every live evidence source (DNS resolution, ECS sweeps, Team Cymru, RDAP) keeps its deadlines on
``network.monotonic()``, opens its sockets through ``network``, waits for replies with
``network.select()`` and waits between retries with ``network.sleep()``. :data:`REAL_NETWORK` —
the machine's clock and sockets — is the default everywhere, so a source built without a
``network`` behaves exactly as one that never heard of it.

The seam exists for tests: a virtual clock (``tests/servers/blackhole.py``) keeps time that passes
only while a source waits for a reply a local fault server has said will never come, so a timeout
is tested without sleeping it out, and a healthy answer from a busy machine is never cut off by a
deadline. The sockets stay real and the servers stay real servers on loopback.

:func:`udp_exchange` is :func:`dns.query.udp` with its wait going through the network, and
:class:`NetworkResolver` is dnspython's stub resolver with its lifetime kept, its UDP queries sent
and its backoff slept through the network (:class:`NetworkNameserver`, a dnspython ``Nameserver``).
"""

from __future__ import annotations

import selectors
import socket
import time
from collections.abc import Sequence
from typing import Any, Protocol

import dns.exception
import dns.inet
import dns.message
import dns.name
import dns.nameserver
import dns.query
import dns.rdataclass
import dns.rdatatype
import dns.resolver

from auditor.resolve.liveness import Liveness

__all__ = ["REAL_NETWORK", "Network", "NetworkNameserver", "NetworkResolver", "RealNetwork", "udp_exchange"]

Events = list[tuple[selectors.SelectorKey, int]]


class Network(Protocol):
    """The clock, sockets and waits a live source uses (see the module docstring)."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back; deadlines are kept on it."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` between retries."""
        ...

    def udp_socket(self, family: int) -> socket.socket:
        """A new non-blocking UDP socket of ``family`` (``AF_INET`` or ``AF_INET6``)."""
        ...

    def tcp_connect(self, address: tuple[str, int], timeout: float | None = None,
                    source_address: tuple[str, int] | None = None) -> socket.socket:
        """A connected TCP socket whose blocking calls time out after ``timeout`` (as :func:`socket.create_connection`)."""
        ...

    def select(self, selector: selectors.BaseSelector, timeout: float) -> Events:
        """Wait until a socket registered in ``selector`` is ready, or ``timeout`` seconds pass (``[]``)."""
        ...


class RealNetwork:
    """The machine's monotonic clock, its sockets and its waits: what every source uses unless told."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def udp_socket(self, family: int) -> socket.socket:
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.setblocking(False)
        return s

    def tcp_connect(self, address: tuple[str, int], timeout: float | None = None,
                    source_address: tuple[str, int] | None = None) -> socket.socket:
        return socket.create_connection(address, timeout, source_address)

    def select(self, selector: selectors.BaseSelector, timeout: float) -> Events:
        return selector.select(timeout)

    def __repr__(self) -> str:
        return "REAL_NETWORK"


REAL_NETWORK = RealNetwork()
"""The default :class:`Network`."""


def udp_exchange(
    network: Network,
    q: dns.message.Message,
    where: str,
    port: int,
    timeout: float,
    *,
    ignore_unexpected: bool = False,
    one_rr_per_rrset: bool = False,
    ignore_trailing: bool = False,
    raise_on_truncation: bool = False,
    ignore_errors: bool = False,
    copies: int = 1,
) -> dns.message.Message:
    """Send ``q`` over UDP and return the reply: :func:`dns.query.udp`, waiting through ``network``.

    Reading and checking the reply is dnspython's own (:func:`dns.query.receive_udp`, with the same
    options); only the wait for the socket to become readable is the network's. Raises
    :class:`dns.exception.Timeout` when no usable reply came within ``timeout`` seconds (of
    ``network.monotonic()``), and whatever :func:`dns.query.udp` raises for a bad reply.

    ``copies``: send the query that many times at once (same id, same socket) and take the first
    reply — tries sent together rather than one after another's timeout, for a server's first query
    (:mod:`auditor.resolve.liveness`), so that one lost datagram is not taken for a dead server.
    """
    wire = q.to_wire()
    af = dns.inet.af_for_address(where)
    destination = dns.inet.low_level_address_tuple((where, port), af)
    begin = time.time()
    deadline = network.monotonic() + timeout
    with network.udp_socket(af) as s, selectors.DefaultSelector() as sel:
        sel.register(s, selectors.EVENT_READ)
        for _ in range(max(1, copies)):
            dns.query.send_udp(s, wire, destination, begin + timeout)
        while True:
            try:
                # expiration 0: read what has arrived, never wait here (the network waits below)
                r, received = dns.query.receive_udp(
                    s, destination, 0.0, ignore_unexpected=ignore_unexpected, one_rr_per_rrset=one_rr_per_rrset,
                    keyring=q.keyring, request_mac=q.mac, ignore_trailing=ignore_trailing,
                    raise_on_truncation=raise_on_truncation, ignore_errors=ignore_errors, query=q,
                )
            except dns.exception.Timeout:  # nothing (more) to read yet
                remaining = deadline - network.monotonic()
                if remaining <= 0 or not network.select(sel, remaining):
                    raise dns.exception.Timeout from None
                continue
            r.time = received - begin
            if not (ignore_errors or q.is_response(r)):
                raise dns.query.BadResponse
            return r


class NetworkNameserver(dns.nameserver.Do53Nameserver):
    """dnspython's Do53 nameserver, whose UDP queries go through :func:`udp_exchange` (TCP is dnspython's own).

    With ``liveness`` (an audit's :class:`~auditor.resolve.liveness.Liveness`), every UDP query says
    whether a reply came (``"host@port"``); the first query to a server not yet heard from is sent
    ``first_copies`` times at once (a source's tries, sent together).
    """

    def __init__(self, address: str, port: int = 53, network: Network = REAL_NETWORK,
                 liveness: Liveness | None = None, first_copies: int = 1) -> None:
        super().__init__(address, port)
        self.network = network
        self.liveness = liveness
        self.first_copies = first_copies

    @property
    def endpoint(self) -> str:
        """``"host@port"``: the server's name in an audit's :class:`~auditor.resolve.liveness.Liveness`."""
        return f"{self.address}@{self.port}"

    def query(
        self,
        request: dns.message.QueryMessage,
        timeout: float,
        source: str | None,
        source_port: int,
        max_size: bool,
        one_rr_per_rrset: bool = False,
        ignore_trailing: bool = False,
    ) -> dns.message.Message:
        if max_size or source or source_port:  # TCP, or a bound source address: as dnspython does it
            return super().query(request, timeout, source, source_port, max_size, one_rr_per_rrset, ignore_trailing)
        live = self.liveness
        copies = self.first_copies if live is not None and live.unproven(self.endpoint) else 1
        try:
            reply = udp_exchange(  # the options Do53Nameserver.query gives dns.query.udp
                self.network, request, self.address, self.port, timeout, raise_on_truncation=True,
                one_rr_per_rrset=one_rr_per_rrset, ignore_trailing=ignore_trailing, ignore_errors=True,
                ignore_unexpected=True, copies=copies,
            )
        except dns.exception.Timeout:
            if live is not None:
                live.silent(self.endpoint, f"no reply in {timeout:.3g} s")
            raise
        except dns.message.Truncated:
            if live is not None:
                live.answered(self.endpoint)  # a reply, if a truncated one: something listens
            raise
        if live is not None:
            live.answered(self.endpoint)
        return reply


class NetworkResolver(dns.resolver.Resolver):
    """dnspython's stub resolver, its lifetime kept and its backoff slept on ``network``.

    :meth:`resolve` is dnspython's own thin loop around its I/O-free ``_Resolution`` (the one
    ``dns.resolver.Resolver.resolve`` runs), with ``network.monotonic()`` for the lifetime and
    ``network.sleep()`` for the pause before a server is asked again. Give it
    :class:`NetworkNameserver` objects for its queries to wait on the same network.
    """

    network: Network = REAL_NETWORK

    def resolve(
        self,
        qname: dns.name.Name | str,
        rdtype: dns.rdatatype.RdataType | str = dns.rdatatype.A,
        rdclass: dns.rdataclass.RdataClass | str = dns.rdataclass.IN,
        tcp: bool = False,
        source: str | None = None,
        raise_on_no_answer: bool = True,
        source_port: int = 0,
        lifetime: float | None = None,
        search: bool | None = None,
    ) -> dns.resolver.Answer:
        resolution = dns.resolver._Resolution(self, qname, rdtype, rdclass, tcp, raise_on_no_answer, search)
        start = self.network.monotonic()
        while True:
            request, answer = resolution.next_request()
            if answer is not None:  # a cache hit (an Answer can be empty: compare with None)
                return answer
            assert request is not None
            done = False
            while not done:
                nameserver, tcp_now, backoff = resolution.next_nameserver()
                if backoff:
                    self.network.sleep(backoff)
                request.set_random_id()
                timeout = self._time_left(start, lifetime, resolution.errors)
                try:
                    response = nameserver.query(request, timeout=timeout, source=source, source_port=source_port,
                                                max_size=tcp_now)
                except Exception as ex:  # noqa: BLE001 - dnspython's loop: every failure is the resolution's to judge
                    _, done = resolution.query_result(None, ex)
                    continue
                answer, done = resolution.query_result(response, None)
                if answer is not None:
                    return answer

    def _time_left(self, start: float, lifetime: float | None, errors: Sequence[Any]) -> float:
        """Seconds the next query may wait: ``Resolver._compute_timeout`` on the network's clock."""
        lifetime = self.lifetime if lifetime is None else lifetime
        duration = self.network.monotonic() - start
        if duration >= lifetime:
            raise dns.resolver.LifetimeTimeout(timeout=duration, errors=list(errors))
        return min(lifetime - duration, self.timeout)
