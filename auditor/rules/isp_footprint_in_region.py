"""An ISP's users, access points, service area and address space are inside the region."""

from __future__ import annotations

from auditor.geo.containment import Verdict
from auditor.model import Finding, Severity, Status
from auditor.resolve.admin import resolve_admin_unit
from auditor.rules.base import ISP_KINDS, OPERATOR, RuleContext, RuleSpec

SPEC = RuleSpec(
    id="isp_footprint_in_region",
    clauses=("Annex II.2",),
    title="ISP footprint in the region",
    severity=Severity.HIGH,
    scope="operator",
    rationale="An ISP licensed under the pilot may serve users only inside its pilot region.",
    remediation="Restrict the access service, its points of presence and its address space to the region.",
)

__all__ = ["SPEC", "ISP_KINDS", "evaluate"]


def evaluate(ctx: RuleContext) -> list[Finding]:
    op = ctx.operator
    if not ctx.declares_service("isp"):
        return [SPEC.finding(Status.NOT_APPLICABLE, OPERATOR, "The operator declares no ISP service.")]
    fails: list[str] = []
    unknowns: list[str] = []
    passes: list[str] = []
    evidence: list[str] = []
    pops = ctx.facility_digest().access_points
    for fid, verdict, evidence_ids in pops:
        evidence += evidence_ids
        (passes if verdict is Verdict.INSIDE else fails if verdict is Verdict.OUTSIDE else unknowns).append(f"access point {fid}")
    for area in op.isp_service_area:
        unit, _ = resolve_admin_unit(ctx.registry, adcode=area if area.isdigit() else "", province=area if not area.isdigit() else "")
        if unit is None and not area.isdigit():
            unit, _ = resolve_admin_unit(ctx.registry, province=area.split()[0])
        if unit is None:
            unknowns.append(f"service area {area!r} (not a known admin unit)")
            continue
        rel, _ = ctx.region.admin_relation(unit.adcode)
        label = f"service area {area!r}"
        (passes if rel is Verdict.INSIDE else fails if rel is Verdict.OUTSIDE else unknowns).append(label)
    if op.isp_prefixes:
        fp = ctx.footprint
        if fp is None:
            unknowns.append(f"address space ({len(op.isp_prefixes)} prefixes) not geolocated: IP evidence not run")
        else:
            evidence.append("footprint")
            if fp.invalid:
                unknowns.append(f"not prefixes: {', '.join(fp.invalid)}")
            if fp.outside:
                worst = [p for p in fp.prefixes if p.outside]
                listed = ", ".join(f"{p.prefix} ({p.outside / p.total:.0%} outside)" for p in worst[:5])
                more = f" and {len(worst) - 5} more" if len(worst) > 5 else ""
                shares = "; ".join(
                    f"IPv{v}: {c.outside:,} of {c.total:,} addresses ({c.share('outside'):.1%})"
                    for v, c in ((4, fp.v4), (6, fp.v6)) if c.outside
                )
                fails.append(f"address space placed outside — {shares}: {listed}{more}")
            for v, c in ((4, fp.v4), (6, fp.v6)):
                if c.indeterminate or c.unlocated:
                    unknowns.append(
                        f"IPv{v} address space: {c.indeterminate:,} addresses in places that straddle the region and "
                        f"{c.unlocated:,} not placed by the IP database"
                    )
            if fp.inside and not (fp.outside or fp.indeterminate or fp.unlocated):
                passes.append(f"address space: all {fp.inside:,} addresses placed inside")
    else:
        unknowns.append("no address space declared")
    if not pops and not op.isp_service_area:
        unknowns.append("no access points or service area declared")
    if fails:
        return [SPEC.finding(Status.FAIL, OPERATOR, f"Outside {ctx.region.id}: {'; '.join(fails)}.", evidence=evidence)]
    if unknowns:
        return [SPEC.finding(Status.INDETERMINATE, OPERATOR, f"Not shown to be inside {ctx.region.id}: {'; '.join(unknowns)}.", evidence=evidence, missing="IP evidence for the address space; locations for every access point")]
    return [SPEC.finding(Status.PASS, OPERATOR, f"Inside {ctx.region.id}: {'; '.join(passes)}.", evidence=evidence)]
