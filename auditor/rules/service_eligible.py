"""Every declared service is an opened pilot category; an excluded sub-category fails."""

from __future__ import annotations

from auditor.model import Finding, Severity, Status
from auditor.rules.base import OPERATOR, RuleContext, RuleSpec

SPEC = RuleSpec(
    id="service_eligible",
    clauses=("Notice II", "Annex II.1"),
    title="Declared services are opened in the pilot",
    severity=Severity.HIGH,
    scope="operator",
    rationale="Foreign-equity limits are lifted only for the listed categories; news, publishing, audio-video and internet culture stay closed.",
    remediation="Withdraw the excluded service from the pilot filing, or correct the service name to its catalogue category.",
)


def evaluate(ctx: RuleContext) -> list[Finding]:
    op = ctx.operator
    if not op.has_profile:
        return [SPEC.finding(Status.NOT_APPLICABLE, OPERATOR, "No operator profile was given, so no services were declared.")]
    if not op.services:
        return [SPEC.finding(Status.INDETERMINATE, OPERATOR, "The profile declares no services.", missing="services in the operator profile")]
    excluded, unknown, opened = [], [], []
    for name in op.services:
        found = ctx.registry.service_category(name)
        if found is None:
            unknown.append(name)
        elif found[0] == "excluded":
            excluded.append(f"{name} ({ctx.registry.excluded[found[1]]['name_en']})")
        else:
            opened.append(found[1])
    if excluded:
        return [SPEC.finding(Status.FAIL, OPERATOR, f"Excluded from the pilot: {', '.join(excluded)}.")]
    if unknown:
        return [
            SPEC.finding(
                Status.INDETERMINATE, OPERATOR,
                f"Not a recognised service category: {', '.join(unknown)}; recognised: {', '.join(ctx.registry.opened)}.",
                missing="a catalogue category for each service",
            )
        ]
    return [SPEC.finding(Status.PASS, OPERATOR, f"All declared services are opened categories: {', '.join(dict.fromkeys(opened))}.")]
