"""How the location claims about one subject combine into one answer."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, NamedTuple, Protocol

from auditor.geo.containment import Verdict
from auditor.model import Containment, LocationClaim


class Subjects(Protocol):
    """What locating a subject reads: its claims, their containment, and the answers so far
    (:class:`~auditor.rules.base.RuleContext` is one; naming the protocol keeps this module free
    of the rule base, which imports it)."""

    @property
    def claims(self) -> Mapping[str, tuple[LocationClaim, ...]]: ...
    @property
    def containment(self) -> Mapping[str, Containment]: ...
    @property
    def located(self) -> dict[str, Any]: ...

__all__ = ["LocationAnswer", "locate", "describe"]

_PART_NAMES = {"pudong": "Pudong", "lingang-main": "Lingang", "lingang-xiaoyangshan": "Lingang (Xiaoyangshan)"}


class LocationAnswer(NamedTuple):
    """The combined answer for one subject and the containments behind it.

    A named tuple, not a dataclass: one is made per facility, and a frozen dataclass is several
    times slower to build.
    """

    verdict: Verdict | None            # None: no usable location evidence
    deciding: tuple[Containment, ...]  # the containments that support the verdict
    all: tuple[Containment, ...]
    contradiction: bool                # some evidence says inside and some outside
    evidence_ids: tuple[str, ...] = ()  # claim ids of ``deciding`` (or of ``all`` when nothing decides)

    @classmethod
    def of(cls, verdict: Verdict | None, deciding: tuple[Containment, ...], found: tuple[Containment, ...], contradiction: bool) -> LocationAnswer:
        return cls(verdict, deciding, found, contradiction, tuple([c.claim_id for c in (deciding or found)]))


def locate(ctx: Subjects, subject: str) -> LocationAnswer:
    """Combine a subject's claims: each claim is a constraint on where it truly is.

    Decisive claims (inside/outside) that agree decide; claims that are only
    indeterminate leave the answer indeterminate; decisive claims that
    disagree leave it indeterminate and mark a contradiction (which the
    consistency rule reports).
    """
    answer = ctx.located.get(subject)
    if answer is None:
        answer = ctx.located[subject] = _combine(ctx, subject)  # several rules ask about each facility
    return answer


# enum members looked up once: on Python 3.11 every ``Verdict.X`` lookup runs a descriptor,
# and this runs for every claim of every facility
_INSIDE, _OUTSIDE, _INDETERMINATE = Verdict.INSIDE, Verdict.OUTSIDE, Verdict.INDETERMINATE


def _combine(ctx: Subjects, subject: str) -> LocationAnswer:
    found = tuple(ctx.containment[c.id] for c in ctx.claims.get(subject, ()) if c.id in ctx.containment)
    if not found:
        return LocationAnswer(None, (), (), False)
    inside = tuple(c for c in found if c.verdict is _INSIDE)
    outside = tuple(c for c in found if c.verdict is _OUTSIDE)
    if inside and outside:
        return LocationAnswer.of(_INDETERMINATE, inside + outside, found, True)
    if inside:
        return LocationAnswer.of(_INSIDE, inside, found, False)
    if outside:
        return LocationAnswer.of(_OUTSIDE, outside, found, False)
    return LocationAnswer.of(_INDETERMINATE, found, found, False)


def part_names(parts: tuple[str, ...]) -> str:
    names = []
    for p in parts:
        n = _PART_NAMES.get(p, p)
        if n not in names:
            names.append(n)
    return " and ".join(names)


def describe(c: Containment, claims: dict[str, LocationClaim] | None = None) -> str:
    """One clause about one containment, for a finding's message (remembered: rules describe each claim twice)."""
    return _describe(c)


@functools.lru_cache(maxsize=1 << 18)  # each claim is described by two rules, a chunk's worth of claims apart
def _describe(c: Containment) -> str:
    what = c.claim_id.split("#", 1)[-1].replace("coordinates", "declared coordinates").replace("admin", "stated admin unit")
    text = f"{what}: {c.verdict.value}"
    if c.distance_m is not None:
        text += f", {c.distance_m:,.0f} m from the boundary"
    if c.parts:
        text += f" (in {part_names(c.parts)})"
    if c.reason and c.verdict is not Verdict.INSIDE:
        text += f" — {c.reason}"
    return text
