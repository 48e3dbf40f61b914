"""Fail any test that tries to reach a non-loopback address (DESIGN §6: tests stay on the machine).

Uses a CPython audit hook (``sys.addaudithook``, PEP 578) on ``socket.connect``,
``socket.sendto`` and ``socket.getaddrinfo`` — it observes, it patches nothing. Audit hooks
cannot be removed, so the hook is installed once and is inert outside the fixture.

    from servers.netguard import loopback_only  # noqa: F401
    pytestmark = pytest.mark.usefixtures("loopback_only")
"""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Iterator
from typing import Any

import pytest

__all__ = ["loopback_only", "NetworkEscape"]


class NetworkEscape(RuntimeError):
    """A test tried to leave loopback."""


_active = {"on": False}
_violations: list[str] = []
_installed = {"done": False}


def _is_loopback_host(host: Any) -> bool:
    if host in (None, "", "localhost", b"localhost"):
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if not (_active and _active["on"]):  # at interpreter shutdown the module's globals are already None
        return
    host: Any = None
    if event in ("socket.connect", "socket.sendto"):
        addr = args[1]
        if not isinstance(addr, tuple):  # AF_UNIX path etc.
            return
        host = addr[0]
    elif event == "socket.getaddrinfo":
        host = args[0]
    else:
        return
    if not _is_loopback_host(host):
        msg = f"{event} to {host!r}: tests must not leave loopback"
        _violations.append(msg)
        raise NetworkEscape(msg)


@pytest.fixture
def loopback_only() -> Iterator[None]:
    """Within the test, any connect/sendto/getaddrinfo for a non-loopback host raises and fails the test."""
    if not _installed["done"]:
        sys.addaudithook(_hook)
        _installed["done"] = True
    _violations.clear()
    _active["on"] = True
    try:
        yield
    finally:
        _active["on"] = False
    if _violations:
        pytest.fail("network escape: " + "; ".join(_violations), pytrace=False)
