"""Whether a server of one audit has ever answered: the first query it gets is its health probe.

The circuit breaker (:mod:`auditor.resolve.breaker`) bounds what a server that dies in the middle
of an audit costs, but it needs ``give_up_after`` failed lookups to open, and each of them waits out
its timeouts: a Team Cymru server that never answers cost 5 lookups x 3 tries x 2 s before the rest
were "not asked", and an audit whose ``--dns-server`` was dead took 36 times as long as a healthy one
(issue 21). A server that has never answered anything is a different case from one that stopped: its
first query is all it takes to tell.

So the live sources of one audit share a :class:`Liveness`: every server they ask (a DNS server
``host@port``, an RDAP base ``http://host:port``) is *unproven* until any reply comes from it — an
answer, NXDOMAIN, SERVFAIL, a malformed reply, an HTTP error status: anything shows something
listens. If the first query an unproven server gets has no reply within the configured timeout,
the server is *dead* for the rest of the audit, and every source that would ask it (the resolver,
Team Cymru, RDAP's Team Cymru step, ECS sweeps) gives up at once: what it was not asked is answered
as failed, "not asked: <source> gave up: <server> never answered (...)", as the breaker says it.
A server that answered once is never declared dead here; if it stops later, the breaker does its
job as before.

The probe is the first real query, not an extra one, so nothing changes for a healthy server: it
sees the same queries in the same order. It is sent with the source's configured timeout and tries
— Team Cymru's tries are sent together rather than one after another's timeout, so that one lost
datagram does not cost the source and a dead server costs one timeout (a resolver configured for
one try per query gets one try here too). Connection refused (ICMP port unreachable, a TCP reset)
is not silence: it fails at once, and the breaker counts it as before.

Pure: no I/O, no clock. The sources say what they saw; this only remembers it.

>>> live = Liveness()
>>> live.unproven("127.0.0.1@5353")
True
>>> live.silent("127.0.0.1@5353", "no reply in 2 s")
>>> live.dead("127.0.0.1@5353")
'127.0.0.1@5353 never answered (no reply in 2 s)'
>>> live.answered("127.0.0.1@5353"); live.dead("127.0.0.1@5353")  # dead stays dead
'127.0.0.1@5353 never answered (no reply in 2 s)'
>>> live.answered("127.0.0.1@53"); live.silent("127.0.0.1@53", "no reply in 2 s"); live.dead("127.0.0.1@53")
''
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

__all__ = ["Liveness"]


class Liveness:
    """What one audit's live sources have heard from each server (see the module docstring).

    Endpoints are plain strings: ``"127.0.0.1@5353"`` for a DNS server (as
    :class:`~auditor.resolve.dns.model.Nameserver` prints it), ``"http://127.0.0.1:8080"`` for an
    HTTP server (scheme and authority). Safe to share between threads.
    """

    __slots__ = ("_alive", "_dead", "_lock")

    def __init__(self) -> None:
        self._alive: set[str] = set()
        self._dead: dict[str, str] = {}
        self._lock = threading.Lock()

    def unproven(self, endpoint: str) -> bool:
        """True while ``endpoint`` has neither answered nor been found dead: its next query is its probe."""
        with self._lock:
            return endpoint not in self._alive and endpoint not in self._dead

    def answered(self, endpoint: str) -> None:
        """A reply of any kind came from ``endpoint``: it is alive (unless already found dead)."""
        with self._lock:
            if endpoint not in self._dead:
                self._alive.add(endpoint)

    def silent(self, endpoint: str, what: str) -> None:
        """A query to ``endpoint`` got no reply (``what``: "no reply in 2 s"). Dead if it never answered."""
        with self._lock:
            if endpoint not in self._alive and endpoint not in self._dead:
                self._dead[endpoint] = f"{endpoint} never answered ({what})"

    def dead(self, endpoint: str) -> str:
        """Why ``endpoint`` is dead for this audit, or ``""`` (alive or unproven)."""
        with self._lock:
            return self._dead.get(endpoint, "")

    def all_dead(self, endpoints: Iterable[str]) -> str:
        """Why every one of ``endpoints`` is dead (the first's reason), or ``""`` if any may still answer."""
        reasons = [self.dead(e) for e in endpoints]
        return reasons[0] if reasons and all(reasons) else ""

    def __repr__(self) -> str:
        with self._lock:
            return f"Liveness(alive={sorted(self._alive)}, dead={sorted(self._dead)})"
