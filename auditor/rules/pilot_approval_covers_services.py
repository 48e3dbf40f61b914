"""Each declared service is covered by an approval of the operator's pilot operation in its region, dated on or before the as-of date."""

from __future__ import annotations

from auditor.model import Finding, PilotApproval, Severity, Status
from auditor.rules._programme import declared_categories, programme_of, unknown_programme
from auditor.rules.base import OPERATOR, RuleContext, RuleSpec

SPEC = RuleSpec(
    id="pilot_approval_covers_services",
    clauses=("Notice III",),
    title="Each service is covered by the pilot approval for the region",
    severity=Severity.HIGH,
    scope="operator",
    rationale="A foreign-invested operator may offer a pilot service only under MIIT's reply approving its pilot operation (试点批复) in that region.",
    remediation="Give the approval (number, date, issuing authority, region, services approved) in the profile's approvals, or withdraw the services it does not cover.",
)

MISSING = "the approval of the pilot operation (试点批复): number, date, issuing authority, region and services approved (profile key approvals)"


def _label(a: PilotApproval) -> str:
    return a.number or "an approval without a number"


def evaluate(ctx: RuleContext) -> list[Finding]:
    op = ctx.operator
    if not op.has_profile:
        return [SPEC.finding(Status.NOT_APPLICABLE, OPERATOR, "No operator profile was given, so there are no services or approvals to check.")]
    prog = programme_of(ctx)
    if prog is None:
        return [SPEC.finding(Status.INDETERMINATE, OPERATOR, unknown_programme(ctx), missing="a programme the registry knows")]
    wanted = {cid: names for cid, names in declared_categories(ctx).items() if cid in prog.services}
    if not wanted:
        return [SPEC.finding(Status.NOT_APPLICABLE, OPERATOR, f"No declared service is a category {prog.number} opens, so no approval is checked.")]
    approval = prog.approval
    what = f"{approval.get('name_en', 'the approval')} ({approval['name_zh']})" if approval.get("name_zh") else "the approval"
    if not op.approvals:
        if prog.approval_required is None:
            note = f" ({approval['note']})" if approval.get("note") else ""
            return [SPEC.finding(Status.NOT_APPLICABLE, OPERATOR,
                                 f"{prog.citation} as published names no approval each operator must hold{note}; none is checked.")]
        return [SPEC.finding(Status.INDETERMINATE, OPERATOR,
                             f"The profile gives no approval; {prog.number} requires {what} for each service: {', '.join(wanted)}.",
                             missing=MISSING)]
    region = ctx.region
    region_names = {region.id.lower(), region.name_en.lower(), region.name_zh.lower()}
    authorities = {a.lower() for a in approval.get("authorities") or ()}
    covered: dict[PilotApproval, list[str]] = {}
    failed, unsure = [], []
    for cid in wanted:
        covering = [a for a in op.approvals
                    if any((ctx.registry.service_category(s) or ("", ""))[1] == cid for s in a.services)]
        if not covering:
            unsure.append(f"{cid}: no approval given lists it")
            continue
        good, doubts, wrong = None, [], []
        for a in covering:
            if a.region.lower() not in region_names:
                wrong.append(f"{_label(a)} is for {a.region or 'no region named'}, not {region.id}")
            elif a.date is None:
                doubts.append(f"{_label(a)} gives no date")
            elif a.date > ctx.as_of:
                wrong.append(f"{_label(a)} is dated {a.date}, after the audit date {ctx.as_of}")
            elif authorities and a.authority.lower() not in authorities:
                doubts.append(f"{_label(a)} names {a.authority or 'no'} issuing authority, not one {prog.number} names ({approval['authorities'][0]})")
            elif not a.number:
                doubts.append("an approval without a number")
            else:
                good = a
                break
        if good is not None:
            covered.setdefault(good, []).append(cid)
        elif doubts:
            unsure.append(f"{cid}: " + "; ".join(doubts + wrong))
        else:
            failed.append(f"{cid}: " + "; ".join(wrong))
    by = "; ".join(f"{', '.join(cids)} by {a.number} ({a.date}, {a.authority})" for a, cids in covered.items())
    if failed:
        return [SPEC.finding(Status.FAIL, OPERATOR,
                             f"Not covered by an approval for {region.id} dated on or before {ctx.as_of}: {'; '.join(failed)}"
                             + (f"; undecided: {'; '.join(unsure)}" if unsure else "") + ".")]
    if unsure:
        return [SPEC.finding(Status.INDETERMINATE, OPERATOR,
                             f"The approvals given do not settle every service: {'; '.join(unsure)}"
                             + (f" (covered: {by})" if covered else "") + ".",
                             missing=MISSING)]
    return [SPEC.finding(Status.PASS, OPERATOR, f"Every declared service is covered by an approval for {region.id}: {by}.")]
