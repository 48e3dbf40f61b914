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
``stop()`` ends its thread within a second.

    with HostileDns() as h:      # h.host, h.port
        ...
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

__all__ = ["HostileDns", "hostile_dns"]

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
        self._thread = threading.Thread(target=self._serve, name="hostile-dns", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _serve(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set() and self.packets < self.max_packets:
            try:
                data, peer = self._sock.recvfrom(4096)
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            self.packets += 1
            try:
                replies = self._answer(data)
            except Exception:  # noqa: BLE001 - a query it cannot read gets no reply
                continue
            for r in replies:
                try:
                    self._sock.sendto(r, peer)
                except OSError:
                    pass

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


@pytest.fixture(scope="session")
def hostile_dns() -> Iterator[HostileDns]:
    """A :class:`HostileDns` on 127.0.0.1:<free port> for the whole session."""
    with HostileDns() as server:
        yield server
