"""Internet access goes through basic telecom enterprises: every upstream ASN is one of theirs."""

from __future__ import annotations

from auditor.model import Finding, Severity, Status
from auditor.rules.base import OPERATOR, RuleContext, RuleSpec

SPEC = RuleSpec(
    id="isp_upstream_basic_telecom",
    clauses=("Annex II.2",),
    title="ISP upstreams are basic telecom enterprises",
    severity=Severity.HIGH,
    scope="operator",
    rationale="A pilot ISP must give users Internet access through the access equipment of basic telecommunications enterprises.",
    remediation="Buy transit only from China Telecom, China Unicom, China Mobile or China Broadnet.",
)


def evaluate(ctx: RuleContext) -> list[Finding]:
    op = ctx.operator
    if not ctx.declares_service("isp"):
        return [SPEC.finding(Status.NOT_APPLICABLE, OPERATOR, "The operator declares no ISP service.")]
    origin_notes = _origins(ctx)
    if not op.upstream_asns:
        return [SPEC.finding(Status.INDETERMINATE, OPERATOR, "The ISP declares no upstream ASNs.", missing="isp.upstream_asns in the profile, or BGP/RDAP evidence")]
    table = ctx.basic_telecom
    known: list[str] = []
    unknown: list[str] = []
    for asn in op.upstream_asns:
        carrier = table.carrier_of(asn)
        (known if carrier else unknown).append(f"AS{asn}" + (f" ({carrier})" if carrier else ""))
    if unknown:
        return [
            SPEC.finding(
                Status.INDETERMINATE, OPERATOR,
                f"Not in the basic-telecom ASN table compiled {table.compiled}: {', '.join(unknown)}; registry (RDAP) evidence of the holder would settle it.{origin_notes}",
                missing="RDAP/whois evidence of the ASN holder",
            )
        ]
    return [SPEC.finding(Status.PASS, OPERATOR, f"Every upstream is a basic telecom enterprise's ASN: {', '.join(known)}.{origin_notes}")]


def _origins(ctx: RuleContext) -> str:
    """What the ASN sources say originates the ISP's prefixes, as a sentence (evidence, not a verdict).

    A prefix originated by a basic carrier's AS is address space it assigned; one
    originated elsewhere is the ISP's own routing, whose upstreams the declared
    list must then cover. Sources that disagree are all named.
    """
    parts = []
    for prefix in ctx.operator.isp_prefixes:
        answers = [a for a in ctx.asn.get(prefix, ()) if a.status == "ok" and a.asn]
        if not answers:
            continue
        said = ", ".join(f"{a.source} AS{a.asn}" + (f" ({c})" if (c := ctx.basic_telecom.carrier_of(a.asn)) else "") for a in answers)
        disagree = len({a.asn for a in answers}) > 1
        parts.append(f"{prefix}: {said}" + (" — the sources disagree" if disagree else ""))
    return (" Origin of the address space: " + "; ".join(parts) + ".") if parts else ""
