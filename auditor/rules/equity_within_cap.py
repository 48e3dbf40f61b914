"""The operator's foreign equity is within its programme's cap for every declared service."""

from __future__ import annotations

from auditor.model import Finding, Severity, Status
from auditor.rules._programme import declared_categories, programme_of, unknown_programme
from auditor.rules.base import OPERATOR, RuleContext, RuleSpec

SPEC = RuleSpec(
    id="equity_within_cap",
    clauses=("Notice II", "2025 plan: telecom"),
    title="Foreign equity within the programme's cap for each service",
    severity=Severity.HIGH,
    scope="operator",
    rationale="A programme lifts the foreign-equity limit for some categories and only raises it for others (the 2025 plan opens domestic IP-VPN up to 50 %).",
    remediation="Bring the foreign equity within the cap, or withdraw the service whose cap it exceeds from the filing.",
)


def _pct(value: float | None) -> str:
    return "no cap" if value is None else f"{value:g} %"


def evaluate(ctx: RuleContext) -> list[Finding]:
    op = ctx.operator
    if not op.has_profile:
        return [SPEC.finding(Status.NOT_APPLICABLE, OPERATOR, "No operator profile was given, so no services or equity were declared.")]
    prog = programme_of(ctx)
    if prog is None:
        return [SPEC.finding(Status.INDETERMINATE, OPERATOR, unknown_programme(ctx), missing="a programme the registry knows")]
    opened = {cid: names for cid, names in declared_categories(ctx).items() if cid in prog.services}
    if not opened:
        return [SPEC.finding(Status.NOT_APPLICABLE, OPERATOR,
                             f"No declared service is a category {prog.number} opens, so no cap applies (service_eligible says why).")]
    equity = op.foreign_equity_pct
    if equity is None:
        caps = ", ".join(f"{cid} {_pct(prog.services[cid].equity_cap_pct)}" for cid in opened)
        return [SPEC.finding(
            Status.INDETERMINATE, OPERATOR,
            f"The profile gives no foreign equity, so it cannot be held against the caps of {prog.citation} ({caps}).",
            missing="foreign_equity_pct in the operator profile",
        )]
    over, within = [], []
    for cid in opened:
        svc = prog.services[cid]
        scope = f"; {svc.scope_en}" if svc.scope_en else ""
        if svc.equity_cap_pct is None:
            within.append(f"{cid} (no cap{scope})")
        elif equity <= svc.equity_cap_pct:
            within.append(f"{cid} (cap {_pct(svc.equity_cap_pct)}{scope})")
        else:
            over.append(f"{cid} (cap {_pct(svc.equity_cap_pct)}{scope})")
    if over:
        return [SPEC.finding(Status.FAIL, OPERATOR,
                             f"Foreign equity of {_pct(equity)} exceeds the cap of {prog.citation} for: {', '.join(over)}.")]
    return [SPEC.finding(Status.PASS, OPERATOR,
                         f"Foreign equity of {_pct(equity)} is within the caps of {prog.citation} for every declared service: {', '.join(within)}.")]
