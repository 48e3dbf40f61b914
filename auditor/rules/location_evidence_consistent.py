"""The declared location agrees with independent evidence; a contradiction is a finding in itself."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from auditor.geo.containment import Verdict
from auditor.model import Finding, LocationClaim, Severity, Status
from auditor.rules._location import LocationAnswer, describe, locate, strength_of
from auditor.rules._weights import DECLARED, STRONG, WEAK, basis_text, caveats, order_of
from auditor.rules.base import RuleContext, RuleSpec

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

SPEC = RuleSpec(
    id="location_evidence_consistent",
    clauses=("audit-quality",),
    title="Location evidence is consistent",
    severity=Severity.MEDIUM,
    scope="facility",
    rationale="A verdict that rests on one declaration is only as good as that declaration; disagreeing sources show a wrong declaration.",
    remediation="Correct whichever declared value is wrong (coordinates, coordinate system, admin unit).",
)


def _latency_contradiction(ctx: RuleContext, claims: Sequence[LocationClaim]) -> str:
    """A sentence when declared coordinates lie outside the area round-trip times allow, else ''."""
    import shapely

    areas = [c for c in claims if c.kind == "polygon" and c.source == "latency" and c.geometry is not None]
    if not areas:
        return ""  # the common case: no round-trip evidence for this facility
    points = [c for c in claims if c.kind == "point" and c.source == "declared_coordinates"]
    if not points:
        return ""
    proj = ctx.region.geometry.projection

    def to_m(g: BaseGeometry) -> BaseGeometry:
        return shapely.transform(g, lambda xy: np.column_stack(proj.forward(xy[:, 0], xy[:, 1])))

    for p in points:
        # a point claim has both; forward() reads None as NaN either way
        x, y = proj.forward(np.array([p.lon], dtype=np.float64), np.array([p.lat], dtype=np.float64))
        here = shapely.Point(float(x[0]), float(y[0]))
        for a in areas:
            gap = shapely.distance(to_m(a.geometry), here)
            if gap > p.uncertainty_m:
                vantages = "; ".join(
                    f"{v['vantage']} at ({v['lon']}, {v['lat']}): {v['rtt_ms']:g} ms, so within {v['radius_km']:,.0f} km"
                    for v in a.original.get("vantages", [])[:6]
                )
                return (
                    f"The declared coordinates lie {gap / 1000:,.1f} km outside the area the round-trip times to "
                    f"{a.original.get('target')} allow ({vantages})."
                )
    return ""


def evaluate(ctx: RuleContext) -> list[Finding]:
    findings = []
    for f in ctx.audited_facilities():
        claims = ctx.claims.get(f.id, ())
        unresolved = [c for c in claims if c.kind == "unresolved"]
        answer = locate(ctx, f.id)
        if unresolved and any("contradict" in n for c in unresolved for n in c.notes):
            notes = "; ".join(n for c in unresolved for n in c.notes)
            findings.append(SPEC.finding(Status.FAIL, f.id, f"The stated administrative levels contradict each other: {notes}.", evidence=[c.id for c in unresolved]))
            continue
        physics = _latency_contradiction(ctx, claims)
        if physics:
            findings.append(SPEC.finding(Status.FAIL, f.id, physics, evidence=[c.id for c in claims if c.source.value in ("latency", "declared_coordinates")]))
            continue
        failed_lookups = [c for c in unresolved if c.source == "dns"]
        if failed_lookups:
            # the facility named evidence the audit could not obtain: whatever it would have said is unknown
            notes = "; ".join(n for c in failed_lookups for n in c.notes)
            findings.append(SPEC.finding(
                Status.INDETERMINATE, f.id, f"Declared evidence could not be checked: {notes}.",
                evidence=[c.id for c in failed_lookups], missing="the failed lookups, repeated when the servers answer",
            ))
            continue
        if len(answer.all) < 2:
            findings.append(SPEC.finding(Status.NOT_APPLICABLE, f.id, "Only one source of location evidence; nothing to compare."))
            continue
        findings.append(_agreement(f.id, answer))
    return findings


def _agreement(subject: str, answer: LocationAnswer) -> Finding:
    """Whether decided evidence disagrees, and how much the disagreement weighs.

    Declarations that contradict each other, or round-trip times against a declaration, fail;
    weak evidence (an IP database) against a declaration only asks for a check on site, since an
    address block is placed where it is registered, not where the building is.
    """
    detail = "; ".join(describe(c) for c in answer.all)
    ids = [c.claim_id for c in answer.all]
    if not answer.contradiction:
        return SPEC.finding(Status.PASS, subject, f"The location evidence agrees: {detail}.", evidence=ids)
    sides: dict[str, set[Verdict]] = {}
    for c in answer.all:
        if c.verdict is not Verdict.INDETERMINATE:
            sides.setdefault(strength_of(answer, c), set()).add(c.verdict)
    declared, strong = sides.get(DECLARED, set()), sides.get(STRONG, set())
    if len(declared) == 2:
        return SPEC.finding(Status.FAIL, subject, f"The declarations contradict each other: {detail}.", evidence=ids)
    if strong and (len(strong) == 2 or (declared and declared != strong)):
        return SPEC.finding(Status.FAIL, subject, f"Round-trip times contradict the declared location: {detail}.", evidence=ids)
    if strong and declared == strong:
        return SPEC.finding(
            Status.PASS, subject,
            f"Weak evidence disagrees, but round-trip times confirm the declared location: {detail}.", evidence=ids,
        )
    weak = [answer.keys[c.claim_id] for c in answer.all if strength_of(answer, c) == WEAK and c.verdict is not Verdict.INDETERMINATE]
    return SPEC.finding(
        Status.INDETERMINATE, subject,
        f"Weak independent evidence ({basis_text(sorted(set(weak), key=order_of))}) disagrees with the rest: {detail}; "
        f"{caveats(weak) or 'it cannot prove a location'}: check on site.",
        evidence=ids, missing="an on-site check, or round-trip times from probes near the declared place",
    )
