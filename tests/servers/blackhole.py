"""A loopback UDP port where nothing answers: DNS queries to it time out.

A closed port would answer with ICMP "port unreachable", which some clients report at
once as a refusal; a bound socket that never reads makes a real timeout.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

__all__ = ["dns_blackhole", "silent_udp_port"]


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
        return self.port

    def __exit__(self, *exc: object) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


@pytest.fixture(scope="session")
def dns_blackhole() -> Iterator[int]:
    """Port on 127.0.0.1 where DNS queries are swallowed (for timeout tests)."""
    with silent_udp_port() as port:
        yield port
