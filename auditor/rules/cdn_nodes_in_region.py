"""No CDN node used for acceleration lies outside the region: declared nodes and nodes found through DNS."""

from __future__ import annotations

from typing import Any

from auditor.model import Facility, Finding, Severity, Status
from auditor.rules.base import CDN_KINDS, OPERATOR, RuleContext, RuleSpec
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

__all__ = ["SPEC", "CDN_KINDS", "evaluate", "is_cdn_operator"]


def is_cdn_operator(ctx: RuleContext) -> bool:
    return ctx.declares_service("cdn") or bool(ctx.operator.cdn_domains)


def _anycast_outside(ctx: RuleContext, f: Facility) -> Finding | None:
    """A CDN node whose address is anycast with an instance outside the region fails, whatever it declares."""
    for c in ctx.claims.get(f.id, ()):
        cont = ctx.containment.get(c.id)
        if c.kind == "anycast" and cont is not None and cont.verdict.value == "outside":
            return SPEC.finding(
                Status.FAIL, f.id,
                f"The CDN node's address {c.original.get('target')} is anycast ({c.label}) and one instance lies outside "
                f"{ctx.region.id}: {c.notes[0] if c.notes else ''}",
                evidence=(c.id,),
            )
    return None


def _discovered_findings(ctx: RuleContext) -> list[Finding]:
    """One operator finding per accelerated domain, from its ECS sweep."""
    out = []
    for domain in ctx.operator.cdn_domains:
        sweep = ctx.sweeps.get(domain)
        if sweep is None or isinstance(sweep, str):
            out.append(SPEC.finding(
                Status.INDETERMINATE, OPERATOR, f"{domain}: {sweep or 'not swept'}.",
                missing="an ECS sweep of the domain's authoritative server (--sweep-server) or a recording",
            ))
            continue
        if sweep.queries == 0:
            out.append(SPEC.finding(
                Status.INDETERMINATE, OPERATOR, f"{domain}: not swept ({sweep.reason or 'no query was sent'}).",
                missing="an ECS sweep of the domain's authoritative server (--sweep-server) or a recording",
            ))
            continue
        nodes = [d for d in ctx.discovered if d["domain"] == domain]

        def where(d: dict[str, Any]) -> str:
            return f"{d['address']} ({d['ip2region'] or 'unplaced'}; served to {d['served_to_subnets']} client subnets, e.g. {', '.join(d['served_to'][:3])})"

        outside = [d for d in nodes if d["relation"] == "outside"]
        unsure = [d for d in nodes if d["relation"] in ("indeterminate", "unplaced")]
        evidence = [f"sweep:{domain}"] + [f"discovered:{d['address']}" for d in nodes]
        head = f"{domain}: ECS sweep at {sweep.server} ({sweep.answered} of {sweep.queries} queries answered) found {len(nodes)} undeclared node(s)"
        if outside:
            out.append(SPEC.finding(Status.FAIL, OPERATOR, f"{head}; outside {ctx.region.id}: " + "; ".join(where(d) for d in outside) + ".", evidence=evidence))
        elif unsure or sweep.failed:
            extra = f"; {sweep.failed} queries failed" if sweep.failed else ""
            out.append(SPEC.finding(
                Status.INDETERMINATE, OPERATOR,
                f"{head}; cannot be placed: " + ("; ".join(where(d) for d in unsure) or "none") + extra + ".",
                evidence=evidence, missing="finer location evidence for these nodes (latency, mmdb)",
            ))
        else:
            tail = (" all inside, but undeclared: " + "; ".join(where(d) for d in nodes)) if nodes else " no undeclared node"
            out.append(SPEC.finding(Status.PASS, OPERATOR, f"{head};{tail}.", evidence=evidence))
    return out


def evaluate(ctx: RuleContext) -> list[Finding]:
    nodes = [f for f in ctx.audited_facilities() if f.kind in CDN_KINDS]
    findings = [_anycast_outside(ctx, f) or judge(ctx, f, SPEC, "CDN node") for f in nodes]
    if is_cdn_operator(ctx) or ctx.facility_digest().has_kind(CDN_KINDS):
        if "dns" in ctx.evidence_sources:
            findings.extend(_discovered_findings(ctx))
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
