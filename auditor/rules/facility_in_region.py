"""Every service facility, owned, rented or purchased, lies in the registered region."""

from __future__ import annotations

from auditor.geo.containment import Verdict
from auditor.model import Containment, Facility, Finding, Severity, Status
from auditor.rules._location import (
    DECLARATIONS_DISAGREE,
    DECLARED_INSIDE,
    DECLARED_OUTSIDE,
    DISPUTED,
    DOUBTED,
    NO_EVIDENCE,
    PROVEN_OUTSIDE,
    UNDECLARED,
    LocationAnswer,
    describe,
    locate,
)
from auditor.rules._weights import caveats
from auditor.rules.base import RuleContext, RuleSpec

SPEC = RuleSpec(
    id="facility_in_region",
    clauses=("Annex II.2",),
    title="Service facilities in the region",
    severity=Severity.HIGH,
    scope="facility",
    rationale="All service facilities, including rented and purchased ones, must be in the operator's pilot region.",
    remediation="Move the service off this facility, or correct its declared location if it is wrong.",
)

_SETTLE = "coordinates with a stated system and more decimals, or round-trip times from probes near the declared place"
_ON_SITE = "an on-site check, or round-trip times from probes near the declared place"
_DECLARE = "declared coordinates with their system, or an address: independent evidence tests a declaration, it does not replace one"
_CORRECT = "a corrected declaration (which of the coordinates, address and admin unit is wrong)"


def _keys(a: LocationAnswer, cs: tuple[Containment, ...]) -> list[str]:
    return [a.keys[c.claim_id] for c in cs]


def _each(cs: tuple[Containment, ...]) -> str:
    return "; ".join(describe(c) for c in cs)


def judge(ctx: RuleContext, f: Facility, spec: RuleSpec, noun: str) -> Finding:
    """The location finding for one facility, worded for ``noun`` (shared with the CDN rule).

    The evidence is weighed by :mod:`auditor.rules._weights` (see :func:`locate`): only a declared
    location can pass a facility, weak independent evidence only casts doubt, and round-trip times
    outside the region fail it whatever is declared.
    """
    a = locate(ctx, f.id)
    region = ctx.region.id
    what = f"The {noun}{f' ({f.tenure})' if f.tenure else ''}"

    def finding(status: Status, message: str, missing: str = "") -> Finding:
        return spec.finding(status, f.id, message, evidence=a.evidence_ids, missing=missing, basis=a.basis)

    outcome = a.outcome
    if outcome == NO_EVIDENCE:
        return spec.finding(
            Status.INDETERMINATE, f.id,
            f"The {noun} has no usable location evidence (no coordinates or admin unit).",
            missing="coordinates, an adcode, or an address",
        )
    lead = tuple(c for c in a.deciding if c not in a.against)  # the evidence the verdict rests on
    if outcome == DECLARED_INSIDE:
        return finding(Status.PASS, f"{what} lies inside {region}: {_each(a.deciding)}.")
    if outcome == DECLARED_OUTSIDE:
        return finding(Status.FAIL, f"{what} lies outside {region}: {_each(a.deciding)}.")
    if outcome == PROVEN_OUTSIDE:
        also = f" It is declared inside ({_each(a.against)}); the declaration is wrong." if a.against else ""
        return finding(Status.FAIL, f"Round-trip times place {what[0].lower() + what[1:]} outside {region}, whatever is declared: {_each(lead)}.{also}")
    if outcome == DECLARATIONS_DISAGREE:
        inside = tuple(c for c in a.deciding if c.verdict is Verdict.INSIDE)
        outside = tuple(c for c in a.deciding if c.verdict is Verdict.OUTSIDE)
        return finding(
            Status.INDETERMINATE,
            f"The declarations for this {noun} contradict each other: {_each(inside)}; against {_each(outside)}.",
            _CORRECT,
        )
    if outcome == DISPUTED:
        return finding(
            Status.INDETERMINATE,
            f"{what} is declared outside {region} ({_each(lead)}), but round-trip times place it inside "
            f"({_each(a.against)}): the declaration looks wrong.",
            _CORRECT,
        )
    if outcome == DOUBTED:
        return finding(
            Status.INDETERMINATE,
            f"{what} is declared inside {region} ({_each(lead)}), but weak independent evidence places it "
            f"outside ({_each(a.against)}), and {caveats(_keys(a, a.against)) or 'it cannot prove a location'}: check on site.",
            _ON_SITE,
        )
    if outcome == UNDECLARED:
        return finding(
            Status.INDETERMINATE,
            f"{what} has no declared location; independent evidence alone cannot prove where it is "
            f"({_each(a.deciding)}).",
            _DECLARE,
        )
    return finding(Status.INDETERMINATE, f"{what} cannot be placed inside or outside {region}: {_each(a.deciding)}.", _SETTLE)


def evaluate(ctx: RuleContext) -> list[Finding]:
    return [judge(ctx, f, SPEC, "facility") for f in ctx.audited_facilities()]
