"""Servers that are there and never answer, and count what they were sent (issue 21: a dead source costs little).

:class:`DeadUdp` is a UDP port on 127.0.0.1 that is bound and never replies (no ICMP refusal either:
the client's query really times out); it counts the datagrams it got. :class:`DeadHttp` is a TCP
port that accepts connections and never answers them, keeping the request line each one sent.
Both keep a ledger (``servers.blackhole``), so a client on a ``VirtualNetwork`` times out on them at
once, in virtual time; on the real network they cost their clients real timeouts (the benchmark
``benchmarks/dead_server.py`` uses them that way).

    with DeadUdp() as dns, DeadHttp() as http:
        ...                                   # dns.server "127.0.0.1:PORT", http.base_url
    dns.datagrams, http.requests              # read after the block: everything is counted by then

Bounded: ``DeadHttp`` holds at most ``max_held`` connections (the oldest is closed), every thread
ends within a second or two of :meth:`close`, and everything binds loopback only.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

from .blackhole import UdpLedger, ledger_changed, register_ledger, unregister_ledger

__all__ = ["DeadHttp", "DeadUdp"]

_RCVBUF = 1 << 21  # room for a whole sweep's window of queries: none is dropped before it is counted


class DeadUdp:
    """``with DeadUdp() as d:`` — 127.0.0.1:``d.port`` reads nothing and answers nothing; ``d.datagrams`` after."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RCVBUF)
        self.sock.bind(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        self.datagrams = 0
        self.payloads: list[bytes] = []
        register_ledger("udp", self.port, UdpLedger(silent=True))

    @property
    def server(self) -> str:
        """``127.0.0.1:PORT``, as ``--dns-resolver`` takes it."""
        return f"127.0.0.1:{self.port}"

    def count(self) -> int:
        """Read what is waiting (never answering it) and return the datagrams received so far."""
        self.sock.setblocking(False)
        while True:
            try:
                self.payloads.append(self.sock.recv(65535))
            except (BlockingIOError, OSError):
                return self.datagrams
            self.datagrams += 1

    def close(self) -> None:
        self.count()
        unregister_ledger("udp", self.port)
        self.sock.close()

    def __enter__(self) -> DeadUdp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DeadHttp:
    """``with DeadHttp() as d:`` — ``d.base_url`` accepts connections and never answers; ``d.requests`` after.

    ``requests`` holds the request line of each connection (``"HEAD / HTTP/1.1"``), in order of arrival.
    """

    def __init__(self, *, max_held: int = 64) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.05)
        self.port: int = self.sock.getsockname()[1]
        self.max_held = max_held
        self.requests: list[str] = []
        self._held: dict[int, socket.socket] = {}  # client port -> connection
        self._lock = threading.Lock()
        self._stop = threading.Event()  # no more connections accepted
        self._stop_reading = threading.Event()
        self._readers: list[threading.Thread] = []
        register_ledger("tcp", self.port, self)
        self._thread = threading.Thread(target=self._serve, name="dead-http", daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self.requests)

    # the ledger: every connection accepted is held without an answer
    def udp_settled(self, client_port: int, sent: int, received: int) -> bool:
        return False

    def tcp_holding(self, client_port: int) -> bool:
        with self._lock:
            return client_port in self._held

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, addr = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                index = len(self.requests)
                self.requests.append("")
                self._held[addr[1]] = conn
                if len(self._held) > self.max_held:
                    oldest = next(iter(self._held))
                    self._held.pop(oldest).close()
            reader = threading.Thread(target=self._read_line, args=(conn, index), name="dead-http-read", daemon=True)
            reader.start()
            self._readers.append(reader)  # started first: close() may join it at any moment
            ledger_changed()

    def _read_line(self, conn: socket.socket, index: int) -> None:
        """Keep the request line (read, never answered); bounded by a short timeout and the stop."""
        data = b""
        conn.settimeout(0.05)
        for _ in range(100):  # at most ~5 s
            if self._stop_reading.is_set() or b"\r\n" in data:
                break
            try:
                chunk = conn.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                break
            if not chunk:
                break
            data += chunk
        with self._lock:
            self.requests[index] = data.split(b"\r\n", 1)[0].decode("latin-1")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)  # no connection is accepted, and no reader started, after this
        for reader in list(self._readers):
            reader.join(timeout=6)  # each reads its line at once (the client sent it before it waited)
        self._stop_reading.set()
        unregister_ledger("tcp", self.port)
        with self._lock:
            for conn in self._held.values():
                conn.close()
            self._held.clear()
        self.sock.close()

    def __enter__(self) -> DeadHttp:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
