"""The registered region is an approved, active region of the operator's programme on the as-of date, for the declared services."""

from __future__ import annotations

from auditor.model import Finding, Severity, Status
from auditor.regions import StatusEntry
from auditor.rules._programme import programme_of, unknown_programme
from auditor.rules.base import OPERATOR, RuleContext, RuleSpec

SPEC = RuleSpec(
    id="region_active",
    clauses=("Notice I", "Notice V", "Annex III.2", "Annex IV"),
    title="The region is an active pilot region on the as-of date",
    severity=Severity.HIGH,
    scope="operator",
    rationale="Services may be offered under the pilot only in a region MIIT has approved and not since withdrawn or narrowed.",
    remediation="Register in an active region of the programme, name the programme the region belongs to, or limit the services to those still in the region's scope.",
)


def evaluate(ctx: RuleContext) -> list[Finding]:
    region, day = ctx.region, ctx.as_of
    prog = programme_of(ctx)
    if prog is None:
        return [SPEC.finding(Status.INDETERMINATE, OPERATOR, unknown_programme(ctx), missing="a programme the registry knows")]

    def src(e: StatusEntry) -> str:
        title: str = ctx.registry.sources.get(e.source, {}).get("title", e.source)
        return title

    history = region.statuses.get(prog.id, ())
    if not history:
        others = [p for p in region.programmes]
        also = f"; it is a region of {', '.join(ctx.registry.programmes[p].number for p in others)}" if others else ""
        return [SPEC.finding(
            Status.FAIL, OPERATOR,
            f"{region.id} is not a region of {prog.citation} (its regions: {', '.join(prog.regions)}){also}.",
        )]
    entry = region.status_on(day, prog.id)
    if entry is None:
        return [SPEC.finding(Status.FAIL, OPERATOR, f"On {day} {region.id} was not yet a region of {prog.number} (first entry {history[0].date}).")]
    if entry.status in ("announced", "exited"):
        word = "announced but not yet approved" if entry.status == "announced" else "no longer a pilot region"
        return [SPEC.finding(Status.FAIL, OPERATOR, f"On {day} {region.id} was {word} (since {entry.date}, {src(entry)}).")]
    findings = []
    if ctx.operator.has_profile and ctx.operator.services:
        out_of_scope = []
        for name in ctx.operator.services:
            found = ctx.registry.service_category(name)
            # categories the programme does not open at all are service_eligible's finding
            if found and found[0] == "category" and found[1] in prog.services and found[1] not in entry.services:
                out_of_scope.append(name)
        if out_of_scope:
            findings.append(
                SPEC.finding(Status.FAIL, OPERATOR, f"On {day} {region.id}'s pilot scope ({entry.status} since {entry.date}) no longer covers: {', '.join(out_of_scope)}.")
            )
    if not findings:
        unpublished = f" Not published, so not checked: {'; '.join(prog.unpublished)}." if prog.unpublished else ""
        findings.append(SPEC.finding(
            Status.PASS, OPERATOR,
            f"On {day} {region.id} is an active region of {prog.number} (since {entry.date}, {src(entry)}).{unpublished}",
        ))
    return findings
