"""The declared location agrees with independent evidence; a contradiction is a finding in itself."""

from __future__ import annotations

from auditor.models import Finding, Severity, Status
from auditor.rules._location import describe, locate
from auditor.rules.base import RuleContext, RuleSpec

SPEC = RuleSpec(
    id="location_evidence_consistent",
    clauses=("audit-quality",),
    title="Location evidence is consistent",
    severity=Severity.MEDIUM,
    scope="facility",
    rationale="A verdict that rests on one declaration is only as good as that declaration; disagreeing sources show a wrong declaration.",
    remediation="Correct whichever declared value is wrong (coordinates, coordinate system, admin unit).",
)


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
        if len(answer.all) < 2:
            findings.append(SPEC.finding(Status.NOT_APPLICABLE, f.id, "Only one source of location evidence; nothing to compare."))
            continue
        detail = "; ".join(describe(c) for c in answer.all)
        if answer.contradiction:
            findings.append(SPEC.finding(Status.FAIL, f.id, f"The location evidence contradicts itself: {detail}.", evidence=answer.evidence_ids))
        else:
            findings.append(SPEC.finding(Status.PASS, f.id, f"The location evidence agrees: {detail}.", evidence=[c.claim_id for c in answer.all]))
    return findings
