"""Every declared service is a category the operator's programme opens; an excluded sub-category fails."""

from __future__ import annotations

from auditor.model import Finding, Severity, Status
from auditor.rules._programme import programme_of, unknown_programme
from auditor.rules.base import OPERATOR, RuleContext, RuleSpec

SPEC = RuleSpec(
    id="service_eligible",
    clauses=("Notice II", "Annex II.1"),
    title="Declared services are opened in the pilot",
    severity=Severity.HIGH,
    scope="operator",
    rationale="Foreign-equity limits are lifted only for the categories the programme lists; news, publishing, audio-video and internet culture stay closed.",
    remediation="Withdraw the service from the pilot filing, correct its name to its catalogue category, or name the programme that opens it.",
)


def evaluate(ctx: RuleContext) -> list[Finding]:
    op = ctx.operator
    if not op.has_profile:
        return [SPEC.finding(Status.NOT_APPLICABLE, OPERATOR, "No operator profile was given, so no services were declared.")]
    if not op.services:
        return [SPEC.finding(Status.INDETERMINATE, OPERATOR, "The profile declares no services.", missing="services in the operator profile")]
    prog = programme_of(ctx)
    if prog is None:
        return [SPEC.finding(Status.INDETERMINATE, OPERATOR, unknown_programme(ctx), missing="a programme the registry knows")]
    reg = ctx.registry
    excluded, not_opened, unknown, opened = [], [], [], []
    for name in op.services:
        found = reg.service_category(name)
        if found is None:
            unknown.append(name)
        elif found[0] == "excluded" and found[1] in prog.excluded:
            excluded.append(f"{name} ({reg.excluded[found[1]]['name_en']})")
        elif found[1] not in prog.services:
            table = reg.excluded if found[0] == "excluded" else reg.categories
            others = [p.number for p in reg.programmes.values() if found[1] in p.services]
            where = f"; opened by {', '.join(others)}" if others else ""
            not_opened.append(f"{name} ({table[found[1]]['name_en']}{where})")
        else:
            opened.append(found[1])
    fails = []
    if excluded:
        fails.append(f"excluded from the pilot: {', '.join(excluded)}")
    if not_opened:
        fails.append(f"not opened by {prog.citation}: {', '.join(not_opened)}")
    if fails:
        text = "; ".join(fails)
        return [SPEC.finding(Status.FAIL, OPERATOR, text[0].upper() + text[1:] + ".")]
    if unknown:
        return [
            SPEC.finding(
                Status.INDETERMINATE, OPERATOR,
                f"Not a recognised service category: {', '.join(unknown)}; {prog.number} opens: {', '.join(prog.services)}.",
                missing="a catalogue category for each service",
            )
        ]
    return [SPEC.finding(Status.PASS, OPERATOR, f"All declared services are categories opened by {prog.citation}: {', '.join(dict.fromkeys(opened))}.")]
