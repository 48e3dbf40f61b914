"""The registered region is an approved, active pilot region on the as-of date, for the declared services."""

from __future__ import annotations

from auditor.model import Finding, Severity, Status
from auditor.regions import StatusEntry
from auditor.rules.base import OPERATOR, RuleContext, RuleSpec

SPEC = RuleSpec(
    id="region_active",
    clauses=("Notice I", "Notice V", "Annex III.2", "Annex IV"),
    title="The region is an active pilot region on the as-of date",
    severity=Severity.HIGH,
    scope="operator",
    rationale="Services may be offered under the pilot only in a region MIIT has approved and not since withdrawn or narrowed.",
    remediation="Register in an active pilot region, or limit the services to those still in the region's scope.",
)


def evaluate(ctx: RuleContext) -> list[Finding]:
    region, day = ctx.region, ctx.as_of
    entry = region.status_on(day)

    def src(e: StatusEntry) -> str:
        title: str = ctx.registry.sources.get(e.source, {}).get("title", e.source)
        return title

    if entry is None:
        return [SPEC.finding(Status.FAIL, OPERATOR, f"On {day} {region.id} was not yet a pilot region (first entry {region.status[0].date}).")]
    if entry.status in ("announced", "exited"):
        word = "announced but not yet approved" if entry.status == "announced" else "no longer a pilot region"
        return [SPEC.finding(Status.FAIL, OPERATOR, f"On {day} {region.id} was {word} (since {entry.date}, {src(entry)}).")]
    findings = []
    if ctx.operator.has_profile and ctx.operator.services:
        out_of_scope = []
        for name in ctx.operator.services:
            found = ctx.registry.service_category(name)
            if found and found[0] == "opened" and found[1] not in entry.services:
                out_of_scope.append(name)
        if out_of_scope:
            findings.append(
                SPEC.finding(Status.FAIL, OPERATOR, f"On {day} {region.id}'s pilot scope ({entry.status} since {entry.date}) no longer covers: {', '.join(out_of_scope)}.")
            )
    if not findings:
        findings.append(SPEC.finding(Status.PASS, OPERATOR, f"On {day} {region.id} is an active pilot region (approved {entry.date}, {src(entry)})."))
    return findings
