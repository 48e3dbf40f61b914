"""Judging: evidence gathered, claims tested for containment, every rule applied — the one path every audit takes."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from auditor.engine.gather import Evidence, EvidenceSession, gather
from auditor.engine.plan import AuditPlan, load_basic_telecom
from auditor.geo.containment import VERDICT_CODES, Verdict
from auditor.model import Containment, Facility, Finding, LocationClaim, Operator
from auditor.regions import DataSource, Region
from auditor.rules import all_rules
from auditor.rules.base import OPERATOR, FacilityDigest, RuleContext

__all__ = ["Judgement", "contain", "judge", "paused_gc", "run_rules"]


def contain(region: Region, claims: Sequence[LocationClaim]) -> dict[str, Containment]:
    """Test every claim against the region: points in one vectorised call, admin units by the registry."""
    out: dict[str, Containment] = {}
    points = [c for c in claims if c.kind == "point"]
    if points:
        geom = region.geometry
        res = geom.classify_points(
            np.array([c.lon for c in points]), np.array([c.lat for c in points]), np.array([c.uncertainty_m for c in points])
        )
        # distances and parts were asked for (classify_points' defaults), so none of these is None
        assert res.distance_m is not None and res.nominal_inside is not None and res.part_mask is not None
        undecided = np.flatnonzero(res.verdict == 2)
        accuracy = {}
        if undecided.size:
            acc = geom.nearest_part_accuracy_m(
                np.array([points[i].lon for i in undecided]), np.array([points[i].lat for i in undecided])
            )
            accuracy = dict(zip(undecided.tolist(), acc.tolist()))
        part_ids = [p.id for p in geom.parts]
        # each row's parts as one integer (bit k: part k), turned into a tuple once per pattern
        codes = (np.asarray(res.part_mask, dtype=np.int64) << np.arange(len(part_ids), dtype=np.int64)).sum(axis=1).tolist()
        parts_of = {code: tuple(pid for k, pid in enumerate(part_ids) if code >> k & 1) for code in set(codes)}
        verdict_of = VERDICT_CODES
        indeterminate = Verdict.INDETERMINATE
        for i, (c, v, dist, nominal, code) in enumerate(zip(points, res.verdict.tolist(), res.distance_m.tolist(), res.nominal_inside.tolist(), codes)):
            verdict = verdict_of[v]
            reason = ""
            if verdict is indeterminate:
                side = "inside" if nominal else "outside"
                reason = (
                    f"{dist:,.0f} m {side} the drawn line, within the claim's uncertainty "
                    f"({c.uncertainty_m:,.0f} m) plus the line's accuracy there ({accuracy.get(i, 0):,.0f} m)"
                )
            out[c.id] = Containment(c.id, region.id, verdict, float(dist), parts_of[code], reason)
    polygons = [c for c in claims if c.kind == "polygon" and c.geometry is not None]
    if polygons:
        verdicts = region.geometry.classify_geometries([c.geometry for c in polygons], [c.uncertainty_m for c in polygons])
        for c, verdict in zip(polygons, verdicts):
            reason = "" if verdict is not Verdict.INDETERMINATE else (
                "the area the evidence allows reaches both inside and outside the region (within the line's accuracy)"
            )
            if c.original.get("vantages"):
                reason = "; ".join(x for x in (reason, "RTTs: " + _vantage_text(c.original["vantages"])) if x)
            out[c.id] = Containment(c.id, region.id, verdict, None, (), reason)
    for c in claims:
        if c.kind == "anycast" and c.geometry is not None:
            instances = list(getattr(c.geometry, "geoms", [c.geometry]))
            verdicts = region.geometry.classify_geometries(instances)
            outside = [i for i, v in enumerate(verdicts) if v is Verdict.OUTSIDE]
            if outside:
                out[c.id] = Containment(c.id, region.id, Verdict.OUTSIDE, None, (),
                                        f"anycast: an instance lies outside the region ({c.notes[0] if c.notes else ''})")
            else:
                out[c.id] = Containment(c.id, region.id, Verdict.INDETERMINATE, None, (),
                                        "anycast: one address in several places cannot attest a single location")
    for c in claims:
        if c.kind == "region_part":
            # a named part of a pilot region (e.g. Lingang's Xiaoyangshan, recognised in an address):
            # wholly inside the region that has that part; in another region as the unit the address
            # proves, or the units the part lies in, are (regions of two programmes overlap)
            verdict, note = region.part_relation(c.label, adcode=c.adcode, text=str(c.original.get("address", "")))
            own = any(p.id == c.label for p in region.parts)
            out[c.id] = Containment(c.id, region.id, verdict, None, (c.label,) if own else (), note)
        if c.kind == "country":
            out[c.id] = Containment(c.id, region.id, Verdict.OUTSIDE, None, (), f"{c.label}: outside mainland China")
        if c.kind == "admin_unit":
            verdict, note = region.admin_relation(c.adcode, text=str(c.original.get("address", "")))
            reason = f"{c.label or c.adcode}: {note}"
            if verdict is Verdict.INDETERMINATE:
                reason += "; coordinates would settle it"
            out[c.id] = Containment(c.id, region.id, verdict, None, (), reason)
    return out


def _vantage_text(vantages: list[dict[str, Any]]) -> str:
    return ", ".join(f"{v['vantage']} ({v['lon']}, {v['lat']}) {v['rtt_ms']:g} ms ≤ {v['radius_km']:,.0f} km" for v in vantages[:6])


#: IP databases older than this before the audit date are said to be old: address blocks are
#: re-assigned and re-routed, and a year is the span over which the providers' own release notes
#: report a noticeable share of changed answers.
MAX_IP_DATA_AGE_DAYS = 365
_IP_DATA = ("ip2region", "mmdb")


def data_age_notes(sources: Sequence[DataSource], as_of: dt.date) -> list[str]:
    """A warning for each IP database built more than a year before the audit date."""
    import re

    out = []
    for s in sources:
        found = re.search(r"(\d{4})-(\d{2})-(\d{2})", s.version or "") if s.name in _IP_DATA else None
        if found is None:
            continue
        try:
            built = dt.date(*(int(g) for g in found.groups()))
        except ValueError:
            continue
        age = (as_of - built).days
        if age > MAX_IP_DATA_AGE_DAYS:
            out.append(
                f"The IP database {s.name} ({s.path}) was built on {built.isoformat()}, {age / 365.25:.1f} years before "
                f"the audit date {as_of.isoformat()}: address blocks move between owners and places, so its answers "
                "may be out of date (give a newer build with --ip-db or --mmdb)."
            )
    return out


def run_rules(ctx: RuleContext) -> tuple[list[Finding], dict[str, list[Finding]]]:
    operator_findings: list[Finding] = []
    per_facility: dict[str, list[Finding]] = {}
    for module in all_rules():
        for finding in module.evaluate(ctx):
            if finding.subject == OPERATOR:
                operator_findings.append(finding)
            else:
                per_facility.setdefault(finding.subject, []).append(finding)
    return operator_findings, per_facility


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while an audit allocates its per-row objects.

    An audit makes millions of small acyclic objects (claims, containments, findings); the
    collector's repeated scans of them cost 20-30 % of a chunk's time (measured on 50,000 rows).
    Reference counting still frees them; cycles wait until the collector resumes.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass
class Judgement:
    """Evidence, containment and findings for one set of subjects (all facilities, a chunk, or the operator)."""

    evidence: Evidence
    claims: dict[str, tuple[LocationClaim, ...]]
    containment: dict[str, Containment]
    context: RuleContext
    operator_findings: list[Finding]
    facility_findings: dict[str, list[Finding]]


def judge(
    facilities: Sequence[Facility],
    operator: Operator,
    registration: Facility | None,
    plan: AuditPlan,
    *,
    digest: FacilityDigest | None = None,
    declared_elsewhere: Sequence[str] | set[str] = (),
    session: EvidenceSession | None = None,
    progress: Callable[..., None] | None = None,
) -> Judgement:
    """Gather evidence, test containment and apply every rule: the one path every audit takes.

    An in-memory audit judges all facilities and the operator at once; a streamed audit
    (:mod:`auditor.engine.stream`) judges chunks of facilities, then the operator with the chunks'
    ``digest`` and ``declared_elsewhere`` addresses.
    """
    step = progress or (lambda *_a, **_k: None)
    step("gather evidence", 0, len(facilities))
    ev = gather(facilities, operator, registration, plan.registry, plan.region, plan.config,
                declared_elsewhere=declared_elsewhere, session=session)
    step("gather evidence", len(facilities), len(facilities))
    ev.notes.extend(n for n in data_age_notes(ev.data_sources, plan.as_of) if n not in ev.notes)
    claims: dict[str, tuple[LocationClaim, ...]] = {}
    for c in ev.claims:
        claims[c.subject] = claims.get(c.subject, ()) + (c,)
    step("test containment")
    containment = contain(plan.region, ev.claims)
    ctx = RuleContext(
        operator=operator, facilities=tuple(facilities), claims=claims, containment=containment,
        region=plan.region, registry=plan.registry, as_of=plan.as_of, basic_telecom=load_basic_telecom()[0],
        evidence_sources=frozenset(ev.sources_run), footprint=ev.footprint, asn=ev.asn,
        sweeps=ev.sweeps, discovered=tuple(ev.discovered), digest=digest,
    )
    step("apply rules")
    operator_findings, per_facility = run_rules(ctx)
    return Judgement(ev, claims, containment, ctx, operator_findings, per_facility)
