"""A loopback UDP port where nothing answers, and virtual time for the clients of such servers.

A closed port would answer with ICMP "port unreachable", which some clients report at
once as a refusal; a bound socket that never reads makes a real timeout.

Virtual time
------------
:class:`VirtualNetwork` is an :class:`auditor.resolve.network.Network` for tests. A live
source built with it (``DnsResolver(..., network=net)``, ``sweep(..., network=net)``,
``CymruDnsSource``, ``RdapSource``, or a whole audit inside ``auditor.engine.gather.use_network(net)``)
keeps its deadlines on ``net.now``, a clock that stands still while the source waits for a reply
that is coming and jumps ahead by the whole wait when nothing more can come. What can still come
is said by the servers themselves, which keep a *ledger*: a UDP server counts, per client port,
the datagrams it has handled (answered or dropped) and the replies it sent; an HTTP server says
which connections it is holding without an answer. A DNS server without a ledger (Knot) is taken
to answer every query once. A wait ends as a timeout at once when every
datagram a client socket sent its servers has been handled and every reply read (or when the
server holds the connection) — deterministically, not because a real timer ran out. So:

- a timeout is tested without sleeping it out, and ``net.timeouts`` / ``net.sleeps`` say exactly
  how long the source waited (virtual seconds), in place of wall-clock assertions;
- a healthy answer is waited for however long a busy machine takes: no deadline can be missed.

Ledgers: :class:`silent_udp_port` (drops everything), ``servers.hostile_dns.HostileDns`` and
``FaultyDns`` (:class:`UdpLedger`), ``servers.rdap.RdapServer`` (held connections). The sockets a
:class:`VirtualNetwork` opens are real, bound to 127.0.0.1 on a port no other of them used in this
process (a ledger's count for a port is one socket's). Every wait stays bounded: after
``backstop`` real seconds with no answer and no word from a ledger, it ends as a timeout and
``stalls`` counts it; the ``virtual_network`` fixture fails a test that stalled.

    def test_x(virtual_network, dns_blackhole):
        r = DnsResolver([("127.0.0.1", dns_blackhole)], timeout=0.2, network=virtual_network).resolve("a.test")
        assert r.status == "timeout" and virtual_network.timeouts == [0.2, ...]
"""

from __future__ import annotations

import collections
import functools
import selectors
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any, Protocol

import pytest

__all__ = [
    "UdpLedger", "VirtualNetwork", "dns_blackhole", "ledger_changed", "register_ledger", "silent_udp_port",
    "unregister_ledger", "virtual_network",
]


# --------------------------------------------------------------------------- ledgers
class Ledger(Protocol):
    def udp_settled(self, client_port: int, sent: int, received: int) -> bool:
        """True when nothing more will reach a client port that sent ``sent`` datagrams and read ``received``."""
        ...

    def tcp_holding(self, client_port: int) -> bool:
        """True while the server holds that client's connection without answering."""
        ...


_LEDGERS: dict[tuple[str, int], Ledger] = {}
_LEDGERS_LOCK = threading.Lock()


def register_ledger(proto: str, port: int, ledger: Ledger) -> None:
    """Make ``ledger`` the word on what 127.0.0.1:``port`` (``"udp"`` or ``"tcp"``) will still send."""
    with _LEDGERS_LOCK:
        _LEDGERS[(proto, port)] = ledger


def unregister_ledger(proto: str, port: int) -> None:
    with _LEDGERS_LOCK:
        _LEDGERS.pop((proto, port), None)


def _ledger(proto: str, port: int | None) -> Ledger | None:
    with _LEDGERS_LOCK:
        return None if port is None else _LEDGERS.get((proto, port))


class _Wakeup:
    """A socket pair a waiting :class:`VirtualNetwork` listens on, so a ledger's news ends its wait at once."""

    def __init__(self) -> None:
        self.reader, self._writer = socket.socketpair()
        self.reader.setblocking(False)
        self._writer.setblocking(False)

    def poke(self) -> None:
        try:
            self._writer.send(b"!")
        except (BlockingIOError, OSError):
            pass  # already poked (the buffer is full of pokes) or shutting down

    def drain(self) -> None:
        try:
            while self.reader.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass


@functools.cache
def _wakeup() -> _Wakeup:
    return _Wakeup()  # made at first use, not at import


def ledger_changed() -> None:
    """Tell waiting virtual networks to look at the ledgers again (a server handled something)."""
    _wakeup().poke()


class UdpLedger:
    """Per client port: datagrams handled and replies sent. A server calls :meth:`handled` once per
    datagram it read, after sending its replies; :meth:`close` when it stops reading for good."""

    def __init__(self, *, silent: bool = False) -> None:
        self.silent = silent  # answers nothing, ever
        self.closed = False
        self._handled: collections.Counter[int] = collections.Counter()
        self._replied: collections.Counter[int] = collections.Counter()
        self._lock = threading.Lock()

    def handled(self, client_port: int, replies: int = 0) -> None:
        with self._lock:
            self._replied[client_port] += replies
            self._handled[client_port] += 1
        ledger_changed()

    def close(self) -> None:
        with self._lock:
            self.closed = True
        ledger_changed()

    def udp_settled(self, client_port: int, sent: int, received: int) -> bool:
        with self._lock:
            if self._replied[client_port] > received:
                return False  # a reply is on its way (or waiting to be read)
            return self.silent or self.closed or self._handled[client_port] >= sent

    def tcp_holding(self, client_port: int) -> bool:
        return False


# --------------------------------------------------------------------------- the silent port
class silent_udp_port:  # noqa: N801 - used like a context-manager function
    """``with silent_udp_port() as port:`` — 127.0.0.1:port accepts datagrams and never replies."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self._sock: socket.socket | None = None
        self.port = 0

    def __enter__(self) -> int:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((self.host, 0))
        self.port = self._sock.getsockname()[1]
        register_ledger("udp", self.port, UdpLedger(silent=True))
        return self.port

    def __exit__(self, *exc: object) -> None:
        if self._sock is not None:
            unregister_ledger("udp", self.port)
            self._sock.close()
            self._sock = None


@pytest.fixture(scope="session")
def dns_blackhole() -> Iterator[int]:
    """Port on 127.0.0.1 where DNS queries are swallowed (for timeout tests)."""
    with silent_udp_port() as port:
        yield port


# --------------------------------------------------------------------------- virtual time
_USED_PORTS: set[tuple[int, int]] = set()  # (socket type, port) a virtual socket was bound to in this process
_USED_LOCK = threading.Lock()


def _fresh_socket(cls: type[socket.socket], family: int, kind: int) -> Any:
    """A ``cls`` socket bound to a loopback port no virtual socket used before (bounded tries)."""
    host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    spare: list[socket.socket] = []
    try:
        for _ in range(256):
            s = cls(family, kind)
            s.bind((host, 0))
            key = (kind, s.getsockname()[1])
            with _USED_LOCK:
                if key not in _USED_PORTS:
                    _USED_PORTS.add(key)
                    return s
            spare.append(s)  # held open so the kernel offers another port
        raise RuntimeError("no loopback port left that no virtual socket used")
    finally:
        for s in spare:
            s.close()


class _VirtualUdp(socket.socket):
    """A real UDP socket that counts what it sent to and read from each port."""

    net: VirtualNetwork

    def _setup(self, net: VirtualNetwork) -> None:
        self.net = net
        self.port = self.getsockname()[1]
        self.peer: int | None = None
        self.sent: collections.Counter[int] = collections.Counter()
        self.received: collections.Counter[int] = collections.Counter()
        self.setblocking(False)

    def connect(self, address: Any) -> None:
        super().connect(address)
        self.peer = address[1]

    def send(self, data: Any, flags: int = 0) -> int:
        n = super().send(data, flags)
        self._sent(self.peer)
        return n

    def sendto(self, data: Any, *args: Any) -> int:  # (data, address) or (data, flags, address)
        n = super().sendto(data, *args)
        self._sent(args[-1][1])
        return n

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        data = super().recv(bufsize, flags)
        self.received[self.peer or 0] += 1
        return data

    def recvfrom(self, bufsize: int, flags: int = 0) -> tuple[bytes, Any]:
        data, address = super().recvfrom(bufsize, flags)
        self.received[address[1]] += 1
        return data, address

    def _sent(self, port: int | None) -> None:
        assert port is not None
        self.sent[port] += 1
        self.net.datagrams[port] += 1
        self.net.flying(self)

    def close(self) -> None:
        net = getattr(self, "net", None)  # (not set on a socket closed before its set-up)
        if net is not None:
            net.landed(self)
        super().close()

    def settled(self) -> bool:
        for port, n in self.sent.items():
            ledger = _ledger("udp", port)
            if ledger is None:  # a server without a ledger (Knot) answers every query, once
                if self.received[port] < n:
                    return False
            elif not ledger.udp_settled(self.port, n, self.received[port]):
                return False
        return True


class _VirtualTcp(socket.socket):
    """A real TCP socket whose blocking reads wait on the virtual clock (its timeout in virtual seconds)."""

    net: VirtualNetwork

    def _setup(self, net: VirtualNetwork) -> None:
        self.net = net
        self.port = self.getsockname()[1]
        self.peer: int | None = None

    def connect(self, address: Any) -> None:
        super().connect(address)
        self.peer = address[1]

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        self._wait()
        return super().recv(bufsize, flags)

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        self._wait()
        return super().recv_into(buffer, nbytes, flags)

    def _wait(self) -> None:
        timeout = self.gettimeout()
        if timeout == 0:
            return  # non-blocking: the caller handles BlockingIOError itself
        with selectors.DefaultSelector() as sel:
            sel.register(self, selectors.EVENT_READ)
            if not self.net.select(sel, self.net.backstop if timeout is None else timeout):
                raise TimeoutError("timed out")

    def settled(self) -> bool:
        ledger = _ledger("tcp", self.peer)
        return ledger is not None and ledger.tcp_holding(self.port)


class VirtualNetwork:
    """Virtual time for live sources (see the module docstring).

    Attributes
    ----------
    now : float
        Virtual seconds since the network was made; ``monotonic()`` returns it.
    timeouts : list[float]
        Every wait that ended with nothing to read, in order (the virtual seconds it took).
    sleeps : list[float]
        Every ``sleep()`` (backoffs, ``Retry-After``), in order.
    datagrams : Counter[int]
        Datagrams its sockets sent, by destination port.
    stalls : int
        Waits that ended at the real ``backstop`` (no answer and no ledger's word: a test bug).
    """

    def __init__(self, *, backstop: float = 10.0, poll: float = 0.05) -> None:
        self.now = 0.0
        self.timeouts: list[float] = []
        self.sleeps: list[float] = []
        self.datagrams: collections.Counter[int] = collections.Counter()
        self.stalls = 0
        self.backstop = backstop
        self._poll = poll
        self._waits: dict[int, list[Any]] = {}  # every wait in progress (threads share the clock): its sockets
        self._flying: set[Any] = set()           # UDP sockets that sent since their owner last gave up waiting
        self._waits_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"VirtualNetwork(now={self.now:g})"

    # ---------------------------------------------------------------- Network
    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)

    def udp_socket(self, family: int) -> socket.socket:
        s: _VirtualUdp = _fresh_socket(_VirtualUdp, family, socket.SOCK_DGRAM)
        s._setup(self)
        return s

    def tcp_connect(self, address: tuple[str, int], timeout: float | None = None,
                    source_address: tuple[str, int] | None = None) -> socket.socket:
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        s: _VirtualTcp = _fresh_socket(_VirtualTcp, family, socket.SOCK_STREAM)
        try:
            s._setup(self)
            s.settimeout(timeout)
            s.connect(address)  # loopback: done or refused at once
        except BaseException:
            s.close()
            raise
        return s

    def select(self, selector: selectors.BaseSelector, timeout: float) -> list[tuple[selectors.SelectorKey, int]]:
        events = selector.select(0)
        if events or timeout <= 0:
            return events
        keys = list(selector.get_map().values())
        give_up = time.monotonic() + self.backstop
        me = id(keys)
        with self._waits_lock:
            self._waits[me] = keys
        try:
            with selectors.DefaultSelector() as sel:  # the caller's sockets and the ledgers' wake-up call
                for key in keys:
                    sel.register(key.fileobj, key.events, key)
                wakeup = _wakeup()
                sel.register(wakeup.reader, selectors.EVENT_READ, None)
                while True:
                    wakeup.drain()
                    # nothing more can come, to this wait or to any other in progress: the whole wait
                    # passes at once. While another thread's reply is still coming the clock stands
                    # still, so that this wait's jump cannot run out that thread's deadline.
                    if self._all_settled():
                        break
                    if time.monotonic() >= give_up:
                        self.stalls += 1
                        break
                    ready = [(key.data, mask & key.data.events) for key, mask in sel.select(self._poll) if key.data is not None]
                    if ready:
                        return ready
            self.now += timeout
            self.timeouts.append(timeout)
            for key in keys:  # their owner stops waiting: what they sent no longer holds the clock
                self.landed(key.fileobj)
            return []
        finally:
            with self._waits_lock:
                del self._waits[me]

    def flying(self, sock: Any) -> None:
        """``sock`` sent a datagram: until it is settled, or its owner stops waiting, the clock stands still."""
        with self._waits_lock:
            self._flying.add(sock)

    def landed(self, sock: Any) -> None:
        with self._waits_lock:
            self._flying.discard(sock)

    def _all_settled(self) -> bool:
        """Nothing more can come to any wait in progress, nor to any query sent and not yet waited for
        (another thread may have sent and not yet begun to wait: its deadline runs on this clock too)."""
        with self._waits_lock:
            waiting = [key.fileobj for keys in self._waits.values() for key in keys] + list(self._flying)
        return all(getattr(sock, "settled", lambda: False)() for sock in waiting)

    # ---------------------------------------------------------------- for assertions
    def sent_to(self, port: int) -> int:
        """Datagrams this network's sockets sent to 127.0.0.1:``port``."""
        return self.datagrams[port]


@pytest.fixture
def virtual_network() -> Iterator[VirtualNetwork]:
    """A fresh :class:`VirtualNetwork`; the test fails if any of its waits reached the backstop."""
    net = VirtualNetwork()
    yield net
    assert net.stalls == 0, f"{net.stalls} virtual waits got neither an answer nor a ledger's word in {net.backstop:g} s"
