"""The operator's registration address lies in its registered region."""

from __future__ import annotations

from auditor.geo.containment import Verdict
from auditor.model import Finding, Severity, Status
from auditor.rules._location import describe, locate
from auditor.rules.base import OPERATOR, RuleContext, RuleSpec

SPEC = RuleSpec(
    id="registration_in_region",
    clauses=("Annex II.2",),
    title="Registration address in the region",
    severity=Severity.HIGH,
    scope="operator",
    rationale="The registration address and the facilities must lie in the same pilot region.",
    remediation="Register the company at an address inside the pilot region, or file under the region it is registered in.",
)


def evaluate(ctx: RuleContext) -> list[Finding]:
    op = ctx.operator
    if not op.has_profile:
        return [SPEC.finding(Status.NOT_APPLICABLE, OPERATOR, "No operator profile was given, so there is no registration address to check.")]
    answer = locate(ctx, OPERATOR)
    if answer.verdict is None:
        if op.registration_address:
            return [
                SPEC.finding(
                    Status.INDETERMINATE, OPERATOR,
                    f"The registration address {op.registration_address!r} has no coordinates or admin unit, and address geocoding is not available yet.",
                    missing="registration coordinates or adcode (address evidence not yet implemented)",
                )
            ]
        return [SPEC.finding(Status.INDETERMINATE, OPERATOR, "The profile gives no registration address.", missing="registration address")]
    detail = "; ".join(describe(c) for c in answer.deciding)
    status = {Verdict.INSIDE: Status.PASS, Verdict.OUTSIDE: Status.FAIL}.get(answer.verdict, Status.INDETERMINATE)
    lead = {
        Status.PASS: f"The registration lies inside {ctx.region.id}",
        Status.FAIL: f"The registration lies outside {ctx.region.id}",
    }.get(status, f"The evidence cannot place the registration inside or outside {ctx.region.id}")
    missing = "coordinates farther from the boundary, or a more precise source" if status is Status.INDETERMINATE else ""
    return [SPEC.finding(status, OPERATOR, f"{lead}: {detail}.", evidence=answer.evidence_ids, missing=missing)]
