"""Time for evidence: the clock every live source stamps its answers with (tests pass a fixed one)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

__all__ = ["Clock", "iso_utc", "utc_now"]

Clock = Callable[[], dt.datetime]
"""A function returning the current time as an aware UTC datetime (tests pass a fixed one)."""


def utc_now() -> dt.datetime:
    """The default clock: now, in UTC."""
    return dt.datetime.now(dt.UTC)


def iso_utc(when: dt.datetime) -> str:
    """ISO-8601 in UTC with a ``Z`` suffix, whole seconds.

    >>> iso_utc(dt.datetime(2026, 11, 1, 8, 30, 0, 123, tzinfo=dt.UTC))
    '2026-11-01T08:30:00Z'
    """
    if when.tzinfo is None:
        raise ValueError("the clock must return an aware datetime (UTC)")
    return when.astimezone(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
