"""No CDN node used for acceleration lies outside the region: declared nodes and nodes found through DNS."""

from __future__ import annotations

from auditor.models import Finding, Severity, Status
from auditor.rules.base import OPERATOR, RuleContext, RuleSpec
from auditor.rules.facility_in_region import judge

SPEC = RuleSpec(
    id="cdn_nodes_in_region",
    clauses=("Annex II.2",),
    title="CDN nodes in the region",
    severity=Severity.HIGH,
    scope="facility",
    rationale="Renting or buying CDN capacity outside the pilot region to accelerate services is not allowed.",
    remediation="Stop serving accelerated traffic from nodes outside the region; withdraw them from the CDN configuration.",
)

CDN_KINDS = frozenset({"CDN", "CDN_NODE", "EDGE", "CDN_EDGE", "CACHE"})


def is_cdn_operator(ctx: RuleContext) -> bool:
    op = ctx.operator
    declared = any((ctx.registry.service_category(s) or ("", ""))[1] == "cdn" for s in op.services)
    return declared or bool(op.cdn_domains)


def evaluate(ctx: RuleContext) -> list[Finding]:
    nodes = [f for f in ctx.audited_facilities() if f.kind in CDN_KINDS]
    findings = [judge(ctx, f, SPEC, "CDN node") for f in nodes]
    if is_cdn_operator(ctx) or nodes:
        if "dns" in ctx.evidence_sources:
            pass  # the DNS evidence issue adds discovered-node findings here
        else:
            domains = ", ".join(ctx.operator.cdn_domains) or "none declared"
            findings.append(
                SPEC.finding(
                    Status.INDETERMINATE, OPERATOR,
                    f"Undeclared CDN nodes were not searched for: DNS resolution and EDNS Client Subnet sweeps of the accelerated domains ({domains}) were not run.",
                    missing="DNS evidence (resolution and ECS sweeps of accelerated domains)",
                )
            )
    else:
        findings.append(SPEC.finding(Status.NOT_APPLICABLE, OPERATOR, "The operator declares no CDN service, accelerated domains or CDN nodes."))
    return findings
