"""How the location claims about one subject combine into one answer."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, NamedTuple, Protocol

from auditor.geo.containment import Verdict
from auditor.model import Containment, LocationClaim
from auditor.rules._weights import DECLARED, STRONG, WEAK, order_of, weight_of


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

__all__ = ["LocationAnswer", "OUTCOMES", "locate", "describe"]

_PART_NAMES = {"pudong": "Pudong", "lingang-main": "Lingang", "lingang-xiaoyangshan": "Lingang (Xiaoyangshan)"}


#: How the evidence about one subject came out (``LocationAnswer.outcome``); the location rules word
#: their findings from it and the README's weight table explains it.
NO_EVIDENCE = "no_evidence"                  # nothing usable
DECLARED_INSIDE = "declared_inside"          # a declared location inside, nothing against it → pass
DECLARED_OUTSIDE = "declared_outside"        # a declared location clearly outside → fail, whatever weak evidence says
PROVEN_OUTSIDE = "proven_outside"            # strong independent evidence outside → fail, whatever is declared
DECLARATIONS_DISAGREE = "declarations_disagree"  # the operator's own declarations contradict each other
DISPUTED = "disputed"                        # declared outside, strong independent evidence inside
DOUBTED = "doubted"                          # declared inside, weak independent evidence against it: check on site
NEAR_LINE = "near_line"                      # declared, but within its uncertainty of the line
UNDECLARED = "undeclared"                    # no decisive declared location; independent evidence only

OUTCOMES = (NO_EVIDENCE, DECLARED_INSIDE, DECLARED_OUTSIDE, PROVEN_OUTSIDE, DECLARATIONS_DISAGREE, DISPUTED, DOUBTED, NEAR_LINE, UNDECLARED)


class LocationAnswer(NamedTuple):
    """The weighed answer for one subject and the containments behind it.

    A named tuple, not a dataclass: one is made per facility, and a frozen dataclass is several
    times slower to build.
    """

    verdict: Verdict | None            # None: no usable location evidence
    deciding: tuple[Containment, ...]  # the containments that support the verdict (and those against it)
    all: tuple[Containment, ...]
    contradiction: bool                # some decided evidence says inside and some outside (any weight)
    evidence_ids: tuple[str, ...] = ()  # claim ids of ``deciding`` (or of ``all`` when nothing decides)
    outcome: str = NO_EVIDENCE
    basis: tuple[str, ...] = ()        # weight-table keys of the evidence that decided, declared first
    against: tuple[Containment, ...] = ()  # evidence that disagrees with the declaration
    strengths: Mapping[str, str] = {}  # claim id -> "declared" | "strong" | "weak"
    keys: Mapping[str, str] = {}       # claim id -> its weight-table key


def locate(ctx: Subjects, subject: str) -> LocationAnswer:
    """Weigh a subject's claims by the table in :mod:`auditor.rules._weights`.

    Declared evidence decides; strong independent evidence outside overrules it; weak independent
    evidence only casts doubt. Decided claims of any weight that disagree also mark a
    ``contradiction``, which the consistency rule reports.
    """
    answer = ctx.located.get(subject)
    if answer is None:
        answer = ctx.located[subject] = _weigh(ctx, subject)  # several rules ask about each facility
    return answer


# enum members looked up once: on Python 3.11 every ``Verdict.X`` lookup runs a descriptor,
# and this runs for every claim of every facility
_INSIDE, _OUTSIDE, _INDETERMINATE = Verdict.INSIDE, Verdict.OUTSIDE, Verdict.INDETERMINATE


def _weigh(ctx: Subjects, subject: str) -> LocationAnswer:
    found: list[Containment] = []
    key_of: dict[str, str] = {}
    strength: dict[str, str] = {}
    for claim in ctx.claims.get(subject, ()):
        cont = ctx.containment.get(claim.id)
        if cont is None:
            continue  # unresolved: nothing to weigh
        w = weight_of(claim)
        found.append(cont)
        key_of[claim.id] = claim.source._value_ if claim.kind != "anycast" else "latency/anycast"
        strength[claim.id] = DECLARED if w.role == DECLARED else w.strength
    if not found:
        return LocationAnswer(None, (), (), False)
    every = tuple(found)

    def pick(level: str, verdict: Verdict) -> tuple[Containment, ...]:
        return tuple(c for c in every if strength[c.claim_id] == level and c.verdict is verdict)

    d_in, d_out = pick(DECLARED, _INSIDE), pick(DECLARED, _OUTSIDE)
    s_in, s_out = pick(STRONG, _INSIDE), pick(STRONG, _OUTSIDE)
    w_in, w_out = pick(WEAK, _INSIDE), pick(WEAK, _OUTSIDE)
    contradiction = bool(d_in or s_in or w_in) and bool(d_out or s_out or w_out)
    declared = tuple(c for c in every if strength[c.claim_id] == DECLARED)

    def answer(
        verdict: Verdict, outcome: str, deciding: tuple[Containment, ...], against: tuple[Containment, ...] = (), *, against_decides: bool = True,
    ) -> LocationAnswer:
        # the basis: what decided, in the weight table's order (declared first); evidence a verdict
        # overrules is not part of it (round-trip times outside rest on themselves)
        basis = tuple(sorted({key_of[c.claim_id] for c in deciding + (against if against_decides else ())}, key=order_of))
        ids = tuple(c.claim_id for c in (deciding + against or every))
        return LocationAnswer(verdict, deciding + against, every, contradiction, ids, outcome, basis, against, strength, key_of)

    if s_out:
        return answer(_OUTSIDE, PROVEN_OUTSIDE, s_out, d_in, against_decides=False)
    if d_in and d_out:
        return answer(_INDETERMINATE, DECLARATIONS_DISAGREE, d_in + d_out)
    if d_out:
        if s_in:
            return answer(_INDETERMINATE, DISPUTED, d_out, s_in)
        return answer(_OUTSIDE, DECLARED_OUTSIDE, d_out)
    if d_in:
        if w_out and not s_in:  # round-trip times that agree with the declaration settle a weak doubt
            return answer(_INDETERMINATE, DOUBTED, d_in, w_out)
        return answer(_INSIDE, DECLARED_INSIDE, d_in + s_in)
    independent = tuple(c for c in every if strength[c.claim_id] != DECLARED)
    if declared:
        return answer(_INDETERMINATE, NEAR_LINE, declared + tuple(c for c in independent if c.verdict is not _INDETERMINATE))
    return answer(_INDETERMINATE, UNDECLARED, s_in + tuple(c for c in independent if c not in s_in))


def strength_of(answer: LocationAnswer, c: Containment) -> str:
    return answer.strengths.get(c.claim_id, WEAK)


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
    # an inside verdict needs no reason, unless it rests on a reviewed assumption (an island county
    # taken to be on Hainan Island, Region.admin_relation): then the finding states the assumption
    if c.reason and (c.verdict is not Verdict.INSIDE or ASSUMPTION_MARK in c.reason):
        text += f" — {c.reason}"
    return text


#: The words :meth:`auditor.regions.Region.admin_relation` puts before an assumption an inside verdict rests on.
ASSUMPTION_MARK = "assumption:"
