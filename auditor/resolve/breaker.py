"""Giving up on a dead evidence source: a count of consecutive failed lookups.

Each network lookup is bounded on its own (a timeout per request, a few retries), but a server
that dies in the middle of an audit still costs those bounds once for every query left: with the
default 2 s timeout, ~14 s per IP address for Team Cymru plus RDAP, and ~60 s per address for a
server that answers ``429 Retry-After: 30`` to everything. So every live source keeps a
:class:`CircuitBreaker`: after ``threshold`` lookups in a row that got no usable answer (a
timeout, a refused or reset connection, SERVFAIL, a rate limit that outlasted the retries, an
answer that could not be read), the source stops sending and answers each remaining query at once,
as failed, with :attr:`CircuitBreaker.reason`. One usable answer resets the count; an answer that
says "no such name" or "no ASN" is usable — the server is alive — so it resets too.

A source whose server never answered at all does not wait for ``threshold`` failures:
:meth:`CircuitBreaker.trip` opens it at once, with the reason the audit's
:class:`~auditor.resolve.liveness.Liveness` gives ("<server> never answered (...)").

There is no half-open state: a source that gave up does not try again during its life (one
audit). An audit is a batch that ends; a source that came back later would leave the evidence
uneven for no gain in bounding the audit's time.

Pure: no I/O, no clock. The sources say what happened; this only counts.

>>> b = CircuitBreaker("cymru-dns", threshold=2)
>>> b.failure("timeout", "timeout from 127.0.0.1@5353"); b.open
False
>>> b.failure("timeout", "timeout from 127.0.0.1@5353"); b.open
True
>>> b.reason
'not asked: cymru-dns gave up after 2 consecutive failures (last: timeout from 127.0.0.1@5353)'
>>> t = CircuitBreaker("dns"); t.trip("timeout", "127.0.0.1@5353 never answered (no reply in 2 s)"); t.reason
'not asked: dns gave up: 127.0.0.1@5353 never answered (no reply in 2 s)'
"""

from __future__ import annotations

__all__ = ["DEFAULT_GIVE_UP_AFTER", "CircuitBreaker", "check_threshold"]

DEFAULT_GIVE_UP_AFTER = 5
"""Consecutive failed lookups after which a live source gives up (``--give-up-after``)."""


def check_threshold(value: object) -> int:
    """``value`` as a threshold (a whole number, at least 1), or ``ValueError`` saying why not.

    There is deliberately no "never give up": every network loop is bounded in count and time.

    >>> check_threshold(3)
    3
    >>> check_threshold(0)
    Traceback (most recent call last):
    ...
    ValueError: give_up_after must be a whole number >= 1, got 0
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"give_up_after must be a whole number >= 1, got {value!r}")
    return value


class CircuitBreaker:
    """Counts one source's consecutive failed lookups and says when to stop asking.

    Parameters
    ----------
    source
        The source's name as its answers carry it (``"cymru-dns"``, ``"rdap"``, ``"dns"``, ...).
    threshold
        Consecutive failures after which :attr:`open` is true for good.

    Attributes
    ----------
    failures : int
        Failed lookups since the last success (stops growing once open: nothing more is asked).
    status : str
        The failure status of the last failure (``"timeout"``, ``"error"``, ...). Answers the source
        gives without asking carry it, so they keep the vocabulary the rules and reports know.
    last : str
        What the last failure was, for :attr:`reason`.
    why : str
        Set by :meth:`trip`: why the source gave up without counting (its server never answered).
    """

    __slots__ = ("failures", "last", "source", "status", "threshold", "why")

    def __init__(self, source: str, threshold: int = DEFAULT_GIVE_UP_AFTER) -> None:
        self.source = source
        self.threshold = check_threshold(threshold)
        self.failures = 0
        self.status = ""
        self.last = ""
        self.why = ""

    @property
    def open(self) -> bool:
        """True once ``threshold`` lookups in a row failed, or once tripped: ask nothing more."""
        return self.failures >= self.threshold or bool(self.why)

    def success(self) -> None:
        """A lookup got a usable answer (an answer, NXDOMAIN, NODATA, "no ASN"): start counting again."""
        if not self.open:
            self.failures = 0

    def failure(self, status: str, what: str) -> None:
        """A lookup got no usable answer; ``status`` is its failure status, ``what`` one line on why."""
        if not self.open:
            self.failures += 1
            self.status = str(status)
            self.last = what

    def trip(self, status: str, why: str) -> None:
        """Give up now, whatever the count: the source's server never answered (``why`` says which and how).

        ``status`` is what the answers given without asking carry (``"timeout"``). Does nothing once open:
        the reason a source gave up does not change.
        """
        if not self.open:
            self.status = str(status)
            self.last = why
            self.why = why

    @property
    def gave_up(self) -> str:
        """``"<source> gave up after N consecutive failures (last: ...)"``, or ``"<source> gave up: <why>"``
        once tripped (empty while closed)."""
        if not self.open:
            return ""
        if self.why:
            return f"{self.source} gave up: {self.why}"
        s = "" if self.failures == 1 else "s"
        return f"{self.source} gave up after {self.failures} consecutive failure{s} (last: {self.last})"

    @property
    def reason(self) -> str:
        """The reason of an answer given without asking (empty while closed)."""
        return f"not asked: {self.gave_up}" if self.open else ""

    def detail(self) -> dict[str, object]:
        """JSON-serialisable facts for an answer's ``detail`` (``never_answered`` once tripped)."""
        facts: dict[str, object] = {"source": self.source, "after": self.failures, "last_status": self.status, "last": self.last}
        if self.why:
            facts["never_answered"] = True
        return facts

    def __repr__(self) -> str:
        return f"CircuitBreaker({self.source!r}, threshold={self.threshold}, failures={self.failures})"
