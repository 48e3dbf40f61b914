"""A small, deliberately misbehaving DNS server on loopback UDP, for answers Knot will not give.

The first label of the question picks the misbehaviour (any zone, e.g. ``wrongname.hostile.test``):

==============  =====================================================================
``wrongname``   NOERROR, the answer is an A record for ``elsewhere.test`` only
``chaos``       NOERROR, a TXT record for the name asked in class CH (Chaosnet)
``hesiod``      NOERROR, a record of the type asked for the name asked, in class HS (Hesiod)
``mixed``       a good A record plus one for another name (A queries; AAAA gets NODATA)
``tc``          TC bit set, empty answer; nothing listens on TCP
``ttlmax``      an A record with TTL 0xFFFFFFFF (top bit set: RFC 2181 says read it as 0)
``wrongq``      a reply whose question is another name
``garbage``     the query's id followed by junk bytes
``silent``      no reply at all
``ecswrong``    a good answer whose ECS option names another subnet
``flaky``       drops the first copy of each (name, ECS subnet), answers the next
``deaf``        drops every query whose ECS subnet's second octet is odd; answers the rest
``dup``         answers twice
``cname``       ``cname -> target.hostile.test`` plus target's A, with the ECS option echoed
anything else   one A record 192.0.2.1, the ECS option echoed with scope 24
==============  =====================================================================

Bounded: it serves at most ``max_packets`` datagrams, binds only to a loopback address, and
``stop()`` ends its thread within a second. Both servers keep a ledger (``servers.blackhole``):
a client on a ``VirtualNetwork`` waiting for a reply they dropped times out at once.

    with HostileDns() as h:      # h.host, h.port
        ...

:class:`FaultyDns` is the other kind of bad server: a relay in front of a real one (Knot) that
answers well for a while and then fails, so a whole audit sees a server break in its middle.
After the first ``healthy`` datagrams (those whose name ends with ``only``, if given) it applies
its ``fault`` to each query:

==============  =====================================================================
``silent``      no reply (the server stopped answering)
``garbage``     the query's id followed by junk bytes
``servfail``    an empty SERVFAIL reply (``refused``: REFUSED)
``tc-reset``    an empty reply with TC set; the TCP retry is accepted and reset (RST)
``closed``      the UDP socket is closed: the port is gone (ICMP port unreachable)
==============  =====================================================================

    with FaultyDns(("127.0.0.1", knot.port), healthy=10, fault="silent") as f:
        ...                      # f.host, f.port; f.relayed, f.faulted, f.seen[(qname, rdtype)]
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import threading
from collections.abc import Iterator

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

from .blackhole import UdpLedger, register_ledger, unregister_ledger

__all__ = ["FAULTS", "FaultyDns", "HostileDns", "hostile_dns"]

GOOD = "192.0.2.1"


class HostileDns:
    def __init__(self, host: str = "127.0.0.1", *, max_packets: int = 100_000) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the hostile server binds only to loopback, not {host}")
        self.host = host
        self.port = 0
        self.max_packets = max_packets
        self.packets = 0
        self.seen: dict[tuple[str, str], int] = {}
        self.ledger = UdpLedger()
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> HostileDns:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((self.host, 0))
        s.settimeout(0.05)
        self._sock = s
        self.port = s.getsockname()[1]
        register_ledger("udp", self.port, self.ledger)
        self._thread = threading.Thread(target=self._serve, name="hostile-dns", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        if self._sock is not None:
            unregister_ledger("udp", self.port)
            self._sock.close()
            self._sock = None

    def _serve(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set() and self.packets < self.max_packets:
            try:
                data, peer = self._sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self.packets += 1
            try:
                replies = self._answer(data)
            except Exception:  # noqa: BLE001 - a query it cannot read gets no reply
                replies = []
            sent = 0
            for r in replies:
                try:
                    self._sock.sendto(r, peer)
                    sent += 1
                except OSError:
                    pass
            self.ledger.handled(peer[1], sent)

    def _answer(self, data: bytes) -> list[bytes]:
        q = dns.message.from_wire(data)
        qname = q.question[0].name
        rdtype = q.question[0].rdtype
        mode = qname.labels[0].decode("ascii", "replace").lower() if qname.labels else ""
        ecs = next((o for o in q.options if isinstance(o, dns.edns.ECSOption)), None)
        key = (qname.to_text().lower(), ecs.address if ecs else "")
        self.seen[key] = self.seen.get(key, 0) + 1

        if mode == "silent":
            return []
        if mode == "garbage":
            return [data[:2] + b"\x81\x80 this is not DNS"]
        if mode == "flaky" and self.seen[key] == 1:
            return []
        if mode == "deaf" and ecs is not None and int(ipaddress.ip_address(ecs.address).packed[1]) % 2 == 1:
            return []

        r = dns.message.make_response(q)
        r.flags |= dns.flags.AA
        if ecs is not None:
            address = ecs.address
            if mode == "ecswrong":
                address = "10.9.8.0" if address != "10.9.8.0" else "10.9.7.0"
            r.use_edns(0, payload=1232, options=[dns.edns.ECSOption(address, ecs.srclen, 24)])
        other = dns.name.from_text("elsewhere.test.")
        if mode == "wrongname":
            r.answer.append(_rrset(other, 300, dns.rdataclass.IN, "A", "198.51.100.66"))
        elif mode == "chaos":
            r.answer.append(_rrset(qname, 300, dns.rdataclass.CH, "TXT", '"not the Internet class"'))
        elif mode == "hesiod":
            rs = dns.rrset.RRset(qname, dns.rdataclass.HS, rdtype)
            rs.update_ttl(300)
            rs.add(dns.rdata.GenericRdata(dns.rdataclass.HS, rdtype, ipaddress.ip_address("198.51.100.77").packed))
            r.answer.append(rs)
        elif mode == "mixed":
            if rdtype == dns.rdatatype.A:
                r.answer.append(_rrset(qname, 300, dns.rdataclass.IN, "A", GOOD))
                r.answer.append(_rrset(other, 300, dns.rdataclass.IN, "A", "198.51.100.66"))
        elif mode == "tc":
            r.flags |= dns.flags.TC
        elif mode == "ttlmax":
            if rdtype == dns.rdatatype.A:
                r.answer.append(_rrset(qname, 0xFFFFFFFF, dns.rdataclass.IN, "A", GOOD))
        elif mode == "wrongq":
            r.question = [dns.rrset.RRset(other, dns.rdataclass.IN, rdtype)]
        elif mode == "cname":
            target = dns.name.from_text("target.hostile.test.")
            r.answer.append(_rrset(qname, 300, dns.rdataclass.IN, "CNAME", target.to_text()))
            if rdtype == dns.rdatatype.A:
                r.answer.append(_rrset(target, 300, dns.rdataclass.IN, "A", GOOD))
        elif rdtype == dns.rdatatype.A:
            r.answer.append(_rrset(qname, 300, dns.rdataclass.IN, "A", GOOD))
        wire = r.to_wire()
        return [wire, wire] if mode == "dup" else [wire]


def _rrset(name: dns.name.Name, ttl: int, rdclass: int, rdtype: str, value: str) -> dns.rrset.RRset:
    rs = dns.rrset.RRset(name, rdclass, dns.rdatatype.from_text(rdtype))
    rs.update_ttl(ttl)
    rs.add(dns.rdata.from_text(rdclass, dns.rdatatype.from_text(rdtype), value))
    return rs


FAULTS = ("silent", "garbage", "servfail", "refused", "tc-reset", "closed")


class FaultyDns:
    """A UDP (and TCP) relay to ``upstream`` that starts failing after ``healthy`` queries.

    Parameters
    ----------
    upstream
        ``(host, port)`` of the real server (loopback only).
    healthy
        How many queries are relayed before the fault starts (``None``: never; see :meth:`set_fault`).
    fault
        One of :data:`FAULTS`.
    only
        A name suffix (e.g. ``"asn.cymru.com."``): only queries for such names count towards
        ``healthy`` and get the fault; every other query is always relayed.

    Everything it sees is counted: ``seen[(qname, rdtype)]`` (lower-case, absolute qname),
    ``relayed``, ``faulted`` and ``tcp_connections``. Bounded like :class:`HostileDns`:
    ``max_packets`` datagrams at most, each relay waits at most ``upstream_timeout`` (ample: a
    client on virtual time waits for a relayed answer as long as it takes).
    """

    def __init__(
        self,
        upstream: tuple[str, int],
        *,
        healthy: int | None = None,
        fault: str = "silent",
        only: str | None = None,
        host: str = "127.0.0.1",
        max_packets: int = 100_000,
        upstream_timeout: float = 10.0,
    ) -> None:
        for h in (host, upstream[0]):
            if not ipaddress.ip_address(h).is_loopback:
                raise ValueError(f"the faulty relay talks only to loopback, not {h}")
        if fault not in FAULTS:
            raise ValueError(f"fault must be one of {FAULTS}, got {fault!r}")
        self.upstream = (upstream[0], int(upstream[1]))
        self.healthy = healthy
        self.fault = fault
        self.only = only.lower() if only else None
        self.host = host
        self.port = 0
        self.max_packets = max_packets
        self.upstream_timeout = upstream_timeout
        self.packets = 0
        self.relayed = 0
        self.faulted = 0
        self.tcp_connections = 0
        self.seen: dict[tuple[str, str], int] = {}
        self.ledger = UdpLedger()
        self._counted = 0  # queries that count towards ``healthy``
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._udp: socket.socket | None = None
        self._tcp: socket.socket | None = None
        self._up: socket.socket | None = None
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> FaultyDns:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def server(self) -> str:
        """``HOST:PORT``, as ``--dns-server`` takes it."""
        return f"{self.host}:{self.port}"

    def queries_for(self, suffix: str) -> int:
        """How many queries (any type) were seen for names ending with ``suffix``."""
        suffix = suffix.lower()
        with self._lock:
            return sum(n for (q, _t), n in self.seen.items() if q.endswith(suffix))

    def set_fault(self, fault: str, healthy: int = 0) -> None:
        """Start failing with ``fault`` after ``healthy`` more counted queries."""
        if fault not in FAULTS:
            raise ValueError(f"fault must be one of {FAULTS}, got {fault!r}")
        with self._lock:
            self.fault = fault
            self.healthy = self._counted + healthy

    def start(self) -> None:
        for _ in range(20):  # bounded: a UDP port whose TCP twin is taken is given back
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.bind((self.host, 0))
            port = udp.getsockname()[1]
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                tcp.bind((self.host, port))
            except OSError:
                udp.close()
                tcp.close()
                continue
            break
        else:  # pragma: no cover
            raise RuntimeError("no free UDP+TCP port pair on loopback")
        udp.settimeout(0.05)
        tcp.listen(16)
        tcp.settimeout(0.05)
        up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        up.connect(self.upstream)
        up.settimeout(self.upstream_timeout)
        self._udp, self._tcp, self._up, self.port = udp, tcp, up, port
        register_ledger("udp", port, self.ledger)
        self._threads = [
            threading.Thread(target=self._serve_udp, name="faulty-dns-udp", daemon=True),
            threading.Thread(target=self._serve_tcp, name="faulty-dns-tcp", daemon=True),
        ]
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=1.0)
        unregister_ledger("udp", self.port)
        for s in (self._udp, self._tcp, self._up):
            if s is not None:
                s.close()
        self._udp = self._tcp = self._up = None

    # ------------------------------------------------------------------ serving
    def _decide(self, data: bytes) -> tuple[str | None, dns.message.Message | None]:
        """(fault or None to relay, the parsed query or None if unreadable)."""
        try:
            q = dns.message.from_wire(data)
            qname = q.question[0].name.to_text().lower()
            rdtype = dns.rdatatype.to_text(q.question[0].rdtype)
        except Exception:  # noqa: BLE001 - an unreadable query is just relayed
            return None, None
        with self._lock:
            self.seen[(qname, rdtype)] = self.seen.get((qname, rdtype), 0) + 1
            if self.only is not None and not qname.endswith(self.only):
                return None, q
            self._counted += 1
            if self.healthy is not None and self._counted > self.healthy:
                return self.fault, q
        return None, q

    def _relay(self, data: bytes) -> bytes | None:
        assert self._up is not None
        qid = data[:2]
        try:
            self._up.send(data)
            for _ in range(16):  # bounded: skip stale replies to queries that timed out
                reply = self._up.recv(65535)
                if reply[:2] == qid:
                    return reply
        except OSError:
            return None
        return None

    def _serve_udp(self) -> None:
        sock = self._udp
        assert sock is not None
        while not self._stop.is_set() and self.packets < self.max_packets:
            try:
                data, peer = sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            self.packets += 1
            fault, q = self._decide(data)
            if fault is None:
                reply = self._relay(data)
                self.relayed += 1
            else:
                self.faulted += 1
                if fault == "closed":
                    self.ledger.close()  # what it had read and what comes later is never answered
                    sock.close()  # from now on the port is unreachable
                    self._udp = None
                    return
                reply = self._faulty(fault, data, q)
            sent = 0
            if reply is not None:
                try:
                    sock.sendto(reply, peer)
                    sent = 1
                except OSError:
                    pass
            self.ledger.handled(peer[1], sent)

    @staticmethod
    def _faulty(fault: str, data: bytes, q: dns.message.Message | None) -> bytes | None:
        if fault == "silent":
            return None
        if fault == "garbage" or q is None:
            return data[:2] + b"\x81\x80 this is not DNS"
        r = dns.message.make_response(q)
        if fault == "servfail":
            r.set_rcode(dns.rcode.SERVFAIL)
        elif fault == "refused":
            r.set_rcode(dns.rcode.REFUSED)
        elif fault == "tc-reset":
            r.flags |= dns.flags.TC
        return r.to_wire()

    def _serve_tcp(self) -> None:
        """TCP: relayed, except that under ``tc-reset`` a faulted name's connection is reset (RST)."""
        sock = self._tcp
        assert sock is not None
        while not self._stop.is_set():
            try:
                conn, _peer = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.tcp_connections += 1
            with conn:
                conn.settimeout(self.upstream_timeout)
                try:
                    head = _recv_exact(conn, 2)
                    data = _recv_exact(conn, struct.unpack("!H", head)[0])
                    if self._fault_active() == "tc-reset" and self._matches(data):
                        # SO_LINGER 0: close() sends RST instead of FIN
                        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        continue
                    with socket.create_connection(self.upstream, timeout=self.upstream_timeout) as up:
                        up.sendall(head + data)
                        rhead = _recv_exact(up, 2)
                        reply = _recv_exact(up, struct.unpack("!H", rhead)[0])
                    conn.sendall(rhead + reply)
                except (OSError, ValueError, struct.error):
                    pass

    def _fault_active(self) -> str | None:
        with self._lock:
            return self.fault if self.healthy is not None and self._counted > self.healthy else None

    def _matches(self, data: bytes) -> bool:
        if self.only is None:
            return True
        try:
            return dns.message.from_wire(data).question[0].name.to_text().lower().endswith(self.only)
        except Exception:  # noqa: BLE001
            return False


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("peer closed")
        buf += chunk
    return buf


@pytest.fixture(scope="session")
def hostile_dns() -> Iterator[HostileDns]:
    """A :class:`HostileDns` on 127.0.0.1:<free port> for the whole session."""
    with HostileDns() as server:
        yield server
