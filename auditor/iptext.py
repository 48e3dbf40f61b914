"""IP text: fast paths for the commonest form (a plain dotted-quad IPv4 address, answered as
:mod:`ipaddress` would), and the checked parsing of network targets (``HOST[:PORT]``, RDAP URLs).

Building an ``ipaddress`` object costs ~10 µs; a million-row audit checks every address
twice (validation, then the lookup). A canonical dotted quad — four decimal octets, no
leading zeros — is recognised by one regular expression, and whether it is global is
decided by its first octet unless that octet begins a special-purpose block, where the
``ipaddress`` module decides. Tests compare both paths on random and boundary addresses.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

__all__ = ["is_dotted_quad", "is_plain_global_ipv4", "global_ipv4", "parse_host_port", "check_network_target", "NetworkTargetError"]

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_DOTTED_QUAD = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


def _special_first_octets() -> frozenset[int]:
    """First octets of every IPv4 block that ipaddress may call non-global (from its own tables)."""
    octets = {0, 10, 100, 127, 169, 172, 192, 198, 203, *range(224, 256)}  # RFC 6890 blocks, as a floor
    constants = getattr(ipaddress.IPv4Address, "_constants", None)
    for name in ("_private_networks", "_reserved_network", "_multicast_network", "_public_network",
                 "_linklocal_network", "_loopback_network", "_private_networks_exceptions"):
        value = getattr(constants, name, None)
        for net in value if isinstance(value, (list, tuple)) else [value] if value is not None else []:
            first, last = int(net.network_address) >> 24, int(net.broadcast_address) >> 24
            octets.update(range(first, last + 1))
    return frozenset(octets)


_SPECIAL = _special_first_octets()


def _constant_networks() -> list[ipaddress.IPv4Network]:
    """Every IPv4 network in :mod:`ipaddress`'s own tables (what ``is_global`` is decided from)."""
    found = []
    constants: Any = getattr(ipaddress.IPv4Address, "_constants", None)  # the tables is_global reads
    for value in (vars(constants) if constants is not None else {}).values():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(item, ipaddress.IPv4Network):
                found.append(item)
    return found


_GLOBAL_INTERVALS: tuple[Any, Any] | None = None


def global_ipv4(values: Any) -> Any:
    """``IPv4Address(v).is_global`` for each integer address (a numpy array), vectorised.

    ``is_global`` is a function of membership in the networks of ipaddress's tables, so it is
    constant between consecutive network boundaries: it is asked once per such interval (a few
    dozen) and looked up by binary search. Tests compare it with ipaddress at every boundary.
    """
    import numpy as np

    global _GLOBAL_INTERVALS
    if _GLOBAL_INTERVALS is None:
        nets = _constant_networks()
        bounds = sorted({0} | {int(n.network_address) for n in nets} | {int(n.broadcast_address) + 1 for n in nets} - {1 << 32})
        _GLOBAL_INTERVALS = (np.array(bounds, dtype=np.uint64),
                             np.array([ipaddress.IPv4Address(b).is_global for b in bounds], dtype=bool))
    starts, flags = _GLOBAL_INTERVALS
    return flags[np.searchsorted(starts, np.asarray(values).astype(np.uint64), side="right") - 1]


def is_dotted_quad(text: str) -> bool:
    """``text`` is a canonical dotted-quad IPv4 address (what ``str(IPv4Address(text))`` gives back)."""
    return _DOTTED_QUAD.fullmatch(text) is not None


def is_plain_global_ipv4(text: str) -> bool:
    """A canonical dotted quad outside every special-purpose block's first octet: surely global.

    False means "ask ipaddress", not "not global".
    """
    return _DOTTED_QUAD.fullmatch(text) is not None and int(text[: text.index(".")]) not in _SPECIAL


# -- network targets ---------------------------------------------------------------------------

_HOSTNAME = re.compile(r"(?=.{1,253}\.?$)(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)*"
                       r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.?")
#: Names that reach a cloud instance's metadata service (credentials) from inside the instance.
_METADATA_NAMES = frozenset({"metadata", "metadata.google.internal", "metadata.goog", "instance-data",
                             "instance-data.ec2.internal"})


class NetworkTargetError(ValueError):
    """A ``HOST[:PORT]`` or URL that cannot be used; the message says why."""


def parse_host_port(text: str, default_port: int = 53, *, require_ip: bool = False) -> tuple[str, int]:
    """``'127.0.0.1:5353'`` → ``('127.0.0.1', 5353)``; ``'[::1]:53'``, a bare IPv6 address and bare hosts too.

    The host must be an IP address (with ``require_ip``) or a hostname, the port a whole number
    from 1 to 65535.

    >>> parse_host_port("[::1]:5353"), parse_host_port("ns1.example")
    (('::1', 5353), ('ns1.example', 53))
    >>> parse_host_port("127.0.0.1:70000")
    Traceback (most recent call last):
    ...
    auditor.iptext.NetworkTargetError: '127.0.0.1:70000': the port must be a whole number from 1 to 65535
    """
    t = text.strip()
    port_text: str | None = None
    if t.startswith("["):
        host, close, rest = t[1:].partition("]")
        if not close or (rest and not rest.startswith(":")):
            raise NetworkTargetError(f"{text!r}: write [IPv6]:PORT")
        port_text = rest[1:] if rest else None
    elif t.count(":") == 1:
        host, port_text = t.split(":")
    else:
        host = t
    port = default_port
    if port_text is not None:
        if not port_text.isascii() or not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise NetworkTargetError(f"{text!r}: the port must be a whole number from 1 to 65535")
        port = int(port_text)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if require_ip:
            raise NetworkTargetError(f"{text!r}: {host!r} is not an IP address (a nameserver is given by its address)") from None
        if not host or not _HOSTNAME.fullmatch(host) or host.replace(".", "").isdigit():
            raise NetworkTargetError(f"{text!r}: {host!r} is neither an IP address nor a hostname") from None
    return host, port


def check_network_target(host: str, *, allow_private: bool = False) -> None:
    """Refuse a host that is a cloud metadata service, link-local, unspecified, multicast or (unless
    ``allow_private``) a private-range address. Loopback is allowed: it is this machine (a local
    mirror or test server). Hostnames are not resolved here (that is network I/O); only their
    literal form is judged.

    >>> check_network_target("169.254.169.254")
    Traceback (most recent call last):
    ...
    auditor.iptext.NetworkTargetError: 169.254.169.254 is a link-local address (cloud metadata services live there); refused
    """
    name = host.strip("[]").rstrip(".").lower()
    if name in _METADATA_NAMES:
        raise NetworkTargetError(f"{host} names a cloud metadata service; refused")
    try:
        addr = ipaddress.ip_address(name.split("%")[0])
    except ValueError:
        return
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if addr.is_loopback:
        return
    if addr.is_link_local:
        raise NetworkTargetError(f"{host} is a link-local address (cloud metadata services live there); refused")
    if addr.is_unspecified or addr.is_multicast:
        raise NetworkTargetError(f"{host} is not an address a server answers at; refused")
    if addr.is_private and not allow_private:
        raise NetworkTargetError(f"{host} is a private-range address; refused unless --allow-private-network is given")
