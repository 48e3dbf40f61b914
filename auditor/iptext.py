"""Fast paths for the commonest IP text, a plain dotted-quad IPv4 address; answers as :mod:`ipaddress` would.

Building an ``ipaddress`` object costs ~10 µs; a million-row audit checks every address
twice (validation, then the lookup). A canonical dotted quad — four decimal octets, no
leading zeros — is recognised by one regular expression, and whether it is global is
decided by its first octet unless that octet begins a special-purpose block, where the
``ipaddress`` module decides. Tests compare both paths on random and boundary addresses.
"""

from __future__ import annotations

import ipaddress
import re

__all__ = ["is_dotted_quad", "is_plain_global_ipv4"]

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


def is_dotted_quad(text: str) -> bool:
    """``text`` is a canonical dotted-quad IPv4 address (what ``str(IPv4Address(text))`` gives back)."""
    return _DOTTED_QUAD.fullmatch(text) is not None


def is_plain_global_ipv4(text: str) -> bool:
    """A canonical dotted quad outside every special-purpose block's first octet: surely global.

    False means "ask ipaddress", not "not global".
    """
    return _DOTTED_QUAD.fullmatch(text) is not None and int(text[: text.index(".")]) not in _SPECIAL
