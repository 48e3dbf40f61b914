"""Every service facility, owned, rented or purchased, lies in the registered region."""

from __future__ import annotations

from auditor.geo.containment import Verdict
from auditor.model import Facility, Finding, Severity, Status
from auditor.rules._location import describe, locate
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

_SETTLE = "coordinates with a stated system and more decimals, or independent evidence (IP, address, latency)"


def judge(ctx: RuleContext, f: Facility, spec: RuleSpec, noun: str) -> Finding:
    """The location finding for one facility, worded for ``noun`` (shared with the CDN rule)."""
    answer = locate(ctx, f.id)
    region = ctx.region.id
    if answer.verdict is None:
        return spec.finding(
            Status.INDETERMINATE, f.id,
            f"The {noun} has no usable location evidence (no coordinates or admin unit).",
            missing="coordinates, an adcode, or address/IP evidence",
        )
    detail = "; ".join(describe(c) for c in answer.deciding)
    tenure = f" ({f.tenure})" if f.tenure else ""
    if answer.contradiction:
        return spec.finding(
            Status.INDETERMINATE, f.id,
            f"The evidence for this {noun}{tenure} disagrees: {detail}.",
            evidence=answer.evidence_ids, missing="evidence that resolves the contradiction",
        )
    if answer.verdict is Verdict.INSIDE:
        return spec.finding(Status.PASS, f.id, f"The {noun}{tenure} lies inside {region}: {detail}.", evidence=answer.evidence_ids)
    if answer.verdict is Verdict.OUTSIDE:
        return spec.finding(Status.FAIL, f.id, f"The {noun}{tenure} lies outside {region}: {detail}.", evidence=answer.evidence_ids)
    return spec.finding(
        Status.INDETERMINATE, f.id,
        f"The {noun}{tenure} cannot be placed inside or outside {region}: {detail}.",
        evidence=answer.evidence_ids, missing=_SETTLE,
    )


def evaluate(ctx: RuleContext) -> list[Finding]:
    return [judge(ctx, f, SPEC, "facility") for f in ctx.audited_facilities()]
