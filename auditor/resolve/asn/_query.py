"""Reading one query string: an IP address or a prefix, checked before any lookup.

Every source reads its inputs the same way, so the same bad input gets the same
answer everywhere: ``'not-an-ip'`` is an ``error``, ``'10.0.0.1'`` is ``reserved``, and
``'::ffff:1.2.3.4'`` (IPv4-mapped IPv6) is looked up as ``1.2.3.4`` with a note in ``detail``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# IANA special-purpose address registries (RFC 6890 and updates), the blocks that are never
# routed on the public Internet and so have no origin ASN. Python's ``ipaddress`` is the
# fallback for anything else it calls non-global (e.g. IANA-reserved IPv6 space).
_SPECIAL: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", '"this network" (RFC 791)'),
    ("10.0.0.0/8", "private-use (RFC 1918)"),
    ("100.64.0.0/10", "shared address space / carrier-grade NAT (RFC 6598)"),
    ("127.0.0.0/8", "loopback (RFC 1122)"),
    ("169.254.0.0/16", "link-local (RFC 3927)"),
    ("172.16.0.0/12", "private-use (RFC 1918)"),
    ("192.0.0.0/24", "IETF protocol assignments (RFC 6890)"),
    ("192.0.2.0/24", "documentation TEST-NET-1 (RFC 5737)"),
    ("192.168.0.0/16", "private-use (RFC 1918)"),
    ("198.18.0.0/15", "benchmarking (RFC 2544)"),
    ("198.51.100.0/24", "documentation TEST-NET-2 (RFC 5737)"),
    ("203.0.113.0/24", "documentation TEST-NET-3 (RFC 5737)"),
    ("224.0.0.0/4", "multicast (RFC 5771)"),
    ("240.0.0.0/4", "reserved for future use (RFC 1112)"),
    ("::/128", "unspecified address (RFC 4291)"),
    ("::1/128", "loopback (RFC 4291)"),
    ("100::/64", "discard-only (RFC 6666)"),
    ("2001:db8::/32", "documentation (RFC 3849)"),
    ("2001::/23", "IETF protocol assignments (RFC 2928)"),
    ("fc00::/7", "unique-local (RFC 4193)"),
    ("fe80::/10", "link-local (RFC 4291)"),
    ("ff00::/8", "multicast (RFC 4291)"),
)
_SPECIAL_NETS = tuple((ipaddress.ip_network(n), name) for n, name in _SPECIAL)


def special_purpose(addr: IPAddress) -> str | None:
    """Why ``addr`` has no public origin ASN, or ``None`` if it is an ordinary global address.

    >>> special_purpose(ipaddress.ip_address("10.0.0.1"))
    '10.0.0.0/8 private-use (RFC 1918)'
    >>> special_purpose(ipaddress.ip_address("58.34.1.1")) is None
    True
    """
    for net, name in _SPECIAL_NETS:
        if addr.version == net.version and addr in net:
            return f"{net} {name}"
    if addr.is_multicast or addr.is_reserved or not addr.is_global:
        return "special-purpose or unallocated address (IANA registries, per Python ipaddress)"
    return None


@dataclass(frozen=True, slots=True)
class Query:
    """One parsed query. Exactly one of ``error``/``reserved``/``address`` decides what happens."""

    text: str
    address: IPAddress | None = None  # what to look up (the network address for a prefix)
    network: IPNetwork | None = None  # set when the query was a prefix
    error: str | None = None
    reserved: str | None = None
    notes: dict[str, Any] = field(default_factory=dict)


def parse_query(raw: object) -> Query:
    """Parse one input; never raises.

    >>> parse_query("::ffff:1.2.3.4").address
    IPv4Address('1.2.3.4')
    >>> parse_query("::ffff:1.2.3.4").notes
    {'ipv4_mapped': '::ffff:1.2.3.4', 'looked_up': '1.2.3.4'}
    >>> parse_query("not-an-ip").error
    "'not-an-ip' is not an IP address or prefix"
    """
    if not isinstance(raw, str):
        return Query(text=repr(raw), error=f"query must be a string, got {type(raw).__name__}")
    text = raw.strip()
    if not text:
        return Query(text=raw, error="empty query")
    notes: dict[str, Any] = {}
    network: IPNetwork | None = None
    try:
        if "/" in text:
            network = ipaddress.ip_network(text, strict=True)
            addr: IPAddress = network.network_address
            notes["prefix_query"] = str(network)
        else:
            addr = ipaddress.ip_address(text)
    except ValueError as exc:
        msg = str(exc)
        if "has host bits set" in msg:
            return Query(text=raw, error=f"{text!r} has host bits set; give the network address")
        return Query(text=raw, error=f"{text!r} is not an IP address or prefix")
    if network is None and isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        # ::ffff:a.b.c.d is how dual-stack sockets show IPv4 peers; the evidence is about a.b.c.d.
        notes["ipv4_mapped"] = text
        addr = addr.ipv4_mapped
        notes["looked_up"] = str(addr)
    why = special_purpose(addr)
    if why is not None and (network is None or _inside_special(network)):
        return Query(text=raw, address=addr, network=network, reserved=why, notes=notes)
    return Query(text=raw, address=addr, network=network, notes=notes)


def _inside_special(network: IPNetwork) -> bool:
    return any(
        network.version == net.version and network.subnet_of(net)  # type: ignore[arg-type]
        for net, _ in _SPECIAL_NETS
    )
