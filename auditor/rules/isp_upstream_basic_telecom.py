"""ISP users reach the Internet through basic telecom enterprises' access networks (Annex II.2)."""

from __future__ import annotations

from auditor.model import Finding, Severity, Status
from auditor.rules.base import OPERATOR, Network, RuleContext, RuleSpec

SPEC = RuleSpec(
    id="isp_upstream_basic_telecom",
    clauses=("Annex II.2",),
    title="ISP access through basic telecom enterprises' access networks",
    severity=Severity.HIGH,
    scope="operator",
    rationale=(
        "A pilot ISP must provide Internet access to its users through the Internet access equipment of basic "
        "telecommunications enterprises (China Telecom, China Unicom, China Mobile, China Broadnet): every network "
        "it connects its users through must be one of their domestic access networks."
    ),
    remediation=(
        "Connect users only through the domestic access networks of China Telecom, China Unicom, China Mobile or "
        "China Broadnet; not through a carrier's international arm, a cloud provider or another network."
    ),
)


def _holder_of(ctx: RuleContext, asn: int) -> str:
    """The registered holder of ``asn`` from any ASN evidence that named it (RDAP, an AS-names table)."""
    for answers in ctx.asn.values():
        for a in answers:
            if a.asn == asn and a.status == "ok" and a.holder:
                return str(a.holder)
    return ""


def _said(asn: int, n: Network) -> str:
    how = "" if n.how == "listed" else f"; {n.how}"
    return f"AS{asn} ({n.owner or 'holder unknown'}{how})"


def evaluate(ctx: RuleContext) -> list[Finding]:
    op = ctx.operator
    if not ctx.declares_service("isp"):
        return [SPEC.finding(Status.NOT_APPLICABLE, OPERATOR, "The operator declares no ISP service.")]
    origin_notes = _origins(ctx)
    if not op.upstream_asns:
        return [SPEC.finding(Status.INDETERMINATE, OPERATOR, "The ISP declares no upstream networks (ASNs).", missing="isp.upstream_asns in the profile")]
    table = ctx.basic_telecom
    kinds: dict[str, list[str]] = {}
    for asn in op.upstream_asns:
        n = table.classify(asn, _holder_of(ctx, asn))
        kinds.setdefault(n.kind, []).append(_said(asn, n))
    if kinds.get("international") or kinds.get("not_basic"):
        parts = []
        if kinds.get("international"):
            parts.append("a carrier's international arm, not a domestic access network: " + ", ".join(kinds["international"]))
        if kinds.get("not_basic"):
            parts.append("not a basic telecommunications enterprise's network: " + ", ".join(kinds["not_basic"]))
        return [SPEC.finding(Status.FAIL, OPERATOR, f"The ISP names upstream networks that are {'; and '.join(parts)}.{origin_notes}")]
    if kinds.get("unknown"):
        return [SPEC.finding(
            Status.INDETERMINATE, OPERATOR,
            f"Not in the basic-telecom network table compiled {table.compiled} and not recognised by holder name: "
            f"{', '.join(kinds['unknown'])}.{origin_notes}",
            missing="the ASN's registered holder (RDAP/whois, or an ASN table with AS names)",
        )]
    return [SPEC.finding(
        Status.PASS, OPERATOR,
        f"Every upstream is a basic telecommunications enterprise's domestic access network: {', '.join(kinds['access'])}.{origin_notes}",
    )]


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
