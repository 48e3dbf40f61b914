"""Wire-level work for ECS sweeps, free of I/O: a query built once and patched, a reply read fast.

dnspython spends tens of microseconds building and parsing each message, which caps a plain
loop near 2,000 queries/s on loopback (the team's stack baseline on a 2-core machine). A sweep
sends the same question from many client subnets, so :class:`QueryTemplate` encodes the
question once with ``dns.message.make_query`` + ``ECSOption`` and each query only patches the
2-byte id and the ECS address bytes. :func:`read_reply` reads the common shape of an
authoritative answer — the question echoed, answer records of the asked type owned by the
question name (a compression pointer to offset 12), an OPT record with the ECS option — and
returns ``None`` for anything else, which the caller hands to :func:`read_reply_slow`
(``dns.message.from_wire`` plus :func:`.chain.interpret`), so unusual or hostile replies are
read by dnspython, never guessed at.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from dataclasses import dataclass

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype

from .chain import MAX_TTL, clamp_ttl, interpret, text_of

__all__ = ["QueryTemplate", "Reply", "read_reply", "read_reply_slow"]

_HDR = struct.Struct("!HHHHHH")
_RR = struct.Struct("!HHIH")
_OPT = 41
_ECS = 8
_EDNS_PAYLOAD = 1232
_ECS_MISMATCH = "the ECS option of the reply does not match the query (RFC 7871 §7.3)"


@dataclass
class Reply:
    """What a sweep keeps from one reply. ``kind``: answer | nodata | nxdomain | rcode | bad."""

    kind: str
    rcode: int
    addresses: tuple[str, ...] = ()
    ttl: int | None = None
    scope: int | None = None  # ECS scope prefix; None when the reply had no ECS option
    cnames: tuple[str, ...] = ()
    reason: str = ""
    retry: bool = False  # worth asking again (a spoiled or stale reply), as opposed to a deliberate one


class QueryTemplate:
    """The wire form of ``(qname, rdtype)`` with an ECS option, patched per query.

    Examples
    --------
    >>> t = QueryTemplate("edge.example.test", "A", source_prefix=24)
    >>> wire = t.render(0x1234, t.address_bytes("203.0.113.0"))
    >>> m = dns.message.from_wire(bytes(wire))
    >>> m.id, m.options[0].address, m.options[0].srclen, bool(m.flags & dns.flags.RD)
    (4660, '203.0.113.0', 24, False)
    """

    def __init__(self, qname: str | dns.name.Name, rdtype: str | int, *, source_prefix: int = 24) -> None:
        if not 1 <= source_prefix <= 32:
            raise ValueError(f"source_prefix must be 1-32 for IPv4, got {source_prefix!r}")
        self.qname = qname if isinstance(qname, dns.name.Name) else dns.name.from_text(qname)
        self.rdtype = dns.rdatatype.RdataType.make(rdtype)
        if self.rdtype not in (dns.rdatatype.A, dns.rdatatype.AAAA):
            raise ValueError(f"a sweep asks for A or AAAA, got {dns.rdatatype.to_text(self.rdtype)}")
        self.source_prefix = source_prefix
        self.nbytes = (source_prefix + 7) // 8
        self.mask = (0xFFFFFFFF << (32 - source_prefix)) & 0xFFFFFFFF
        low, high = self._wire("0.0.0.0"), self._wire(str(ipaddress.IPv4Address(self.mask)))
        # The ECS address is the last thing in the message: OPT is the only additional record and
        # ECS its only option. Check rather than trust it.
        diff = [i for i, (a, b) in enumerate(zip(low, high)) if a != b]
        if len(low) != len(high) or diff != list(range(len(low) - self.nbytes, len(low))):
            raise RuntimeError("unexpected wire layout of the ECS query")  # pragma: no cover
        self.wire = bytearray(low)
        self.address_offset = len(low) - self.nbytes
        qname_wire = self.qname.to_wire()
        if qname_wire is None:  # pragma: no cover - dnspython returns None only when given a file to write to
            raise RuntimeError("dnspython returned no wire form of the query name")
        qlen = len(qname_wire) + 4
        self.question = bytes(low[12 : 12 + qlen]).lower()
        self.question_end = 12 + qlen
        self.rdlen = 4 if self.rdtype == dns.rdatatype.A else 16

    def _wire(self, address: str) -> bytes:
        q = dns.message.make_query(
            self.qname, self.rdtype, use_edns=0, payload=_EDNS_PAYLOAD,
            options=[dns.edns.ECSOption(address, self.source_prefix)],
        )
        q.flags &= ~dns.flags.RD  # an authoritative question
        q.id = 0
        return q.to_wire()

    def address_bytes(self, address: str) -> bytes:
        """The ECS ADDRESS field for a client address: masked to the source prefix, truncated."""
        value = int(ipaddress.IPv4Address(address)) & self.mask
        return value.to_bytes(4, "big")[: self.nbytes]

    def render(self, qid: int, address: bytes) -> bytearray:
        """Patch id and address into the shared buffer and return it (valid until the next call)."""
        w = self.wire
        w[0] = qid >> 8
        w[1] = qid & 0xFF
        w[self.address_offset :] = address
        return w

    def query_message(self, qid: int, address: bytes) -> dns.message.Message:
        """The patched query as a dnspython message (for the slow path's checks)."""
        return dns.message.from_wire(bytes(self.render(qid, address)))


_ntoa4 = socket.inet_ntoa


def _ntoa6(b: bytes) -> str:
    return str(ipaddress.IPv6Address(b))


def _skip_name(buf: bytes, off: int) -> int:
    """Offset after the (possibly compressed) name at ``off``; raises IndexError past the end."""
    for _ in range(128):
        length = buf[off]
        if length == 0:
            return off + 1
        if length >= 0xC0:
            return off + 2
        if length > 63:
            raise IndexError("bad label length")
        off += length + 1
    raise IndexError("name too long")


def read_reply(buf: bytes, t: QueryTemplate, address: bytes, max_ttl: int = MAX_TTL) -> Reply | None:
    """Read the usual shape of reply to ``t`` asked from ``address``; ``None`` means "use the slow path".

    The id is the caller's to match. Checked here: QR set, opcode QUERY, one question equal to the
    one asked (case-insensitively), answer records of the asked type and class IN owned by the
    question name, and the ECS option's family, source prefix and address equal to the query's
    (RFC 7871 §7.3: otherwise the reply must be dropped; it comes back as ``bad``).
    """
    try:
        _id, flags, qd, an, ns, ar = _HDR.unpack_from(buf, 0)
        if not flags & 0x8000 or (flags >> 11) & 0xF:
            return None
        if qd != 1 or buf[12 : t.question_end].lower() != t.question:
            return None
        off = t.question_end
        want, rdlen_want = int(t.rdtype), t.rdlen
        raw: list[bytes] = []
        ttl = None
        for _ in range(an):
            if buf[off] != 0xC0 or buf[off + 1] != 0x0C:
                return None
            rtype, rclass, rttl, rdlen = _RR.unpack_from(buf, off + 2)
            off += 12
            if rtype != want or rclass != 1 or rdlen != rdlen_want:
                return None
            raw.append(buf[off : off + rdlen])
            off += rdlen
            ttl = rttl if ttl is None or rttl < ttl else ttl
        for _ in range(ns):
            off = _skip_name(buf, off)
            off += 10 + _RR.unpack_from(buf, off)[3]
        scope = None
        ecs_ok = True
        ext = 0
        for _ in range(ar):
            off = _skip_name(buf, off)
            rtype, _rclass, rttl, rdlen = _RR.unpack_from(buf, off)
            off += 10
            if rtype == _OPT:
                ext = rttl >> 24
                p, end = off, off + rdlen
                while p + 4 <= end:
                    code, olen = struct.unpack_from("!HH", buf, p)
                    if code == _ECS:
                        family, src, scope = struct.unpack_from("!HBB", buf, p + 4)
                        ecs_ok = family == 1 and src == t.source_prefix and buf[p + 8 : p + 4 + olen] == address
                    p += 4 + olen
            off += rdlen
        if off > len(buf):
            return None
    except (IndexError, struct.error):
        return None
    rcode = (ext << 4) | (flags & 0xF)
    if not ecs_ok:
        return Reply("bad", rcode, reason=_ECS_MISMATCH, retry=True)
    if flags & 0x0200:
        return None  # truncated: let dnspython read what there is
    if raw:
        ntoa = _ntoa4 if rdlen_want == 4 else _ntoa6
        ttl_used, _note = clamp_ttl(int(ttl or 0), max_ttl)
        return Reply("answer", rcode, tuple(ntoa(b) for b in raw), ttl_used, scope)
    return _empty(rcode, scope, t)


def _empty(rcode: int, scope: int | None, t: QueryTemplate, cnames: tuple[str, ...] = (), reason: str = "") -> Reply:
    if rcode == dns.rcode.NOERROR:
        return Reply("nodata", rcode, scope=scope, cnames=cnames,
                     reason=reason or f"no {dns.rdatatype.to_text(t.rdtype)} records (NODATA)")
    if rcode == dns.rcode.NXDOMAIN:
        return Reply("nxdomain", rcode, scope=scope, cnames=cnames, reason="the name does not exist (NXDOMAIN)")
    return Reply("rcode", rcode, scope=scope, cnames=cnames, reason=dns.rcode.to_text(dns.rcode.Rcode(rcode)))


def read_reply_slow(buf: bytes, t: QueryTemplate, qid: int, address: bytes, max_ttl: int = MAX_TTL) -> Reply:
    """Read any reply with dnspython: CNAMEs, other owners, TC, malformed bytes. Never raises."""
    try:
        r = dns.message.from_wire(buf)
    except (dns.exception.DNSException, ValueError, IndexError, struct.error) as exc:
        return Reply("bad", -1, reason=f"malformed reply ({type(exc).__name__}: {exc})", retry=True)
    if not t.query_message(qid, address).is_response(r):
        return Reply("bad", r.rcode(), reason="the reply does not answer the question asked", retry=True)
    scope = None
    for opt in r.options:
        if isinstance(opt, dns.edns.ECSOption):
            same = opt.family == 1 and opt.srclen == t.source_prefix and t.address_bytes(opt.address) == address
            if not same:
                return Reply("bad", r.rcode(), reason=_ECS_MISMATCH, retry=True)
            scope = opt.scopelen
    if r.flags & dns.flags.TC:
        return Reply("bad", r.rcode(), scope=scope, reason="truncated reply (TC); sweeps do not retry over TCP")
    rcode = r.rcode()
    if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        return _empty(rcode, scope, t)
    step = interpret(r, t.qname, t.rdtype, [t.qname], max_ttl=max_ttl)
    cnames = tuple(text_of(n) for n in step.added)
    if step.kind == "answer":
        return Reply("answer", rcode, tuple(step.addresses), min(step.ttls) if step.ttls else None, scope, cnames,
                     "; ".join(step.notes))
    if step.kind == "follow":
        return _empty(rcode, scope, t, cnames, f"CNAME to {cnames[-1]}, which this answer does not resolve")
    if step.kind in ("nodata", "nxdomain"):
        return _empty(rcode, scope, t, cnames)
    return Reply("bad", rcode, scope=scope, cnames=cnames, reason=step.reason)
