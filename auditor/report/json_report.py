"""report.json: the contract (DESIGN §5). Versioned by ``schema``."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

from auditor.model import FacilityVerdict, Status
from auditor.report.jsontext import indented_json
from auditor.report.unplaced import unplaced_listing, unplaced_summary
from auditor.result import AuditResult, Tallies

__all__ = ["SCHEMA", "VERDICT_ORDER", "build_report", "render_json"]

#: The order human reports list facilities in: what needs attention first.
VERDICT_ORDER = {"fail": 0, "error": 1, "indeterminate": 2, "waived": 3, "pass": 4}

SCHEMA = "pilot-zone-auditor/report/1"


def _summary(result: AuditResult, t: Tallies) -> dict[str, Any]:
    out = {
        "verdict": result.verdict,
        "facilities": {v.value: t.verdicts.get(v.value, 0) for v in FacilityVerdict},
        "facility_count": t.facility_count,
        "operator_findings": {s.value: sum(1 for x in result.operator_findings if x.status is s) for s in Status},
        "rules": {rule: dict(sorted(counts.items())) for rule, counts in t.rules.items()},
        "declared_points_by_part": dict(sorted(t.parts.items())),
        "location_basis": dict(sorted(t.bases.items(), key=lambda kv: (-kv[1], kv[0]))),
        "unplaced": unplaced_summary(t),
        "exit_code": result.exit_code,
    }
    if result.totals is not None:
        out["facilities_listed"] = len(result.facilities)
        out["facility_tables"] = dict(result.tables)
    return out


def _facility(result: AuditResult, f: Any) -> dict[str, Any]:
    claims = result.claims_of(f)
    d: dict[str, Any] = {
        "id": f.id,
        "row": f.row,
        "source": f.source,
        "kind": f.kind,
        "tenure": f.tenure,
        "name": f.name,
        "address": f.address,
        "verdict": result.facility_verdict(f).value,
        "basis": list(result.facility_basis(f)),
    }
    if f.ip:
        d["ip"] = list(f.ip)
        asn = [_asn(a) for ip in f.ip for a in result.asn.get(ip, ())]
        if asn:
            d["asn"] = asn
    if f.hostname:
        d["hostname"] = list(f.hostname)
    d["claims"] = [c.as_dict() for c in claims]
    d["containment"] = [result.containment[c.id].as_dict() for c in claims if c.id in result.containment]
    d["findings"] = [x.as_dict() for x in result.findings_of(f)]
    if f.errors:
        d["errors"] = [e.as_dict() for e in f.errors]
    if f.warnings:
        d["warnings"] = list(f.warnings)
    if f.extra:
        d["extra"] = dict(f.extra)
    return d


def _asn(a: Any) -> dict[str, Any]:
    """An ASN answer for the report; the offline table's answers carry no lookup time (determinism)."""
    d = {"query": a.query, "source": a.source, "status": a.status, "asn": a.asn, "prefix": a.prefix, "holder": a.holder, "country": a.country}
    if a.reason:
        d["reason"] = a.reason
    if a.source != "prefix-table":
        d["obtained_at"] = a.obtained_at
    return d


def _footprint(fp: Any) -> dict[str, Any] | None:
    if fp is None:
        return None
    return {
        "ipv4": {"inside": fp.v4.inside, "outside": fp.v4.outside, "indeterminate": fp.v4.indeterminate, "unlocated": fp.v4.unlocated, "total": fp.v4.total, "share_outside": round(fp.v4.share("outside"), 6)},
        "ipv6": {"inside": fp.v6.inside, "outside": fp.v6.outside, "indeterminate": fp.v6.indeterminate, "unlocated": fp.v6.unlocated, "total": fp.v6.total, "share_outside": round(fp.v6.share("outside"), 6)},
        "invalid": list(fp.invalid),
        "prefixes": [
            {
                "prefix": p.prefix, "inside": p.inside, "outside": p.outside, "indeterminate": p.indeterminate,
                "unlocated": p.unlocated, "note": p.note,
                "places": [{"answer": t, "relation": r, "addresses": n} for t, r, n in p.places],
            }
            for p in fp.prefixes
        ],
    }


def build_report(result: AuditResult, *, generated_at: str) -> dict[str, Any]:
    """The report as a plain mapping (for JSON, and for other renderers to share)."""
    op = result.operator
    region = result.region
    status = region.status_on(result.as_of)
    tallies = result.tallies()
    return {
        "schema": SCHEMA,
        "tool": {"name": "pilot-zone-auditor", "version": result.tool_version, "rules_version": result.rules_version, "mode": result.evidence_mode},
        "generated_at": generated_at,
        "as_of": result.as_of.isoformat(),
        "operator": {
            "name": op.name,
            "profile": op.source if op.has_profile else None,
            "programme": op.programme or region.registry.default_programme,
            "registered_region": op.region,
            "registration_address": op.registration_address,
            "services": list(op.services),
            "foreign_equity_pct": op.foreign_equity_pct,
            "cdn_domains": list(op.cdn_domains),
            "isp": {"prefixes": list(op.isp_prefixes), "service_area": list(op.isp_service_area), "upstream_asns": list(op.upstream_asns)},
        },
        "region": {
            "id": region.id,
            "name_en": region.name_en,
            "name_zh": region.name_zh,
            "scope_note": region.scope_note,
            "options": {
                name: {"value": region.options[name], "default": bool(spec.get("default", False)), "description": spec.get("description", "")}
                for name, spec in region.option_specs.items()
            },
            "parts": [{"id": p.id, "role": p.role.value, "accuracy_m": p.accuracy_m, "name_en": p.name_en} for p in region.parts],
            "status_on_as_of": None if status is None else {"status": status.status, "since": status.date.isoformat(), "source": status.source},
        },
        "evidence_sources": list(result.evidence_sources),
        "data_sources": [{"name": s.name, "path": s.path, "version": s.version, "sha256": s.sha256} for s in result.data_sources],
        "inputs": result.inputs,
        "summary": _summary(result, tallies),
        "warnings": list(result.warnings),
        "operator_findings": [x.as_dict() for x in result.operator_findings],
        "operator_claims": [c.as_dict() for c in result.claims.get("(operator)", ())],
        "footprint": _footprint(result.footprint),
        "isp_prefix_asn": {p: [_asn(a) for a in result.asn.get(p, ())] for p in op.isp_prefixes if result.asn.get(p)},
        "facilities": _facility_entries(result),
        "dns": {
            "resolutions": {name: r.to_dict() for name, r in sorted(result.dns.items())},
            "sweeps": {
                d: (s if isinstance(s, str) else {k: v for k, v in s.to_dict().items() if k != "answers"})
                for d, s in sorted(result.sweeps.items())
            },
        } if (result.dns or result.sweeps) else None,
        "discovered": list(result.discovered),
        "unplaced": unplaced_listing(result, tallies),
    }


#: results whose facility entries are built once and shared, while :func:`facility_entries_shared` is open
_SHARED: contextvars.ContextVar[dict[int, tuple[AuditResult, list[dict[str, Any]]]] | None] = contextvars.ContextVar(
    "auditor_shared_facility_entries", default=None)


@contextlib.contextmanager
def facility_entries_shared() -> Iterator[None]:
    """Within it, :func:`build_report` builds a result's facility entries (most of the report's cost:
    1.3 s for 20,000 facilities) once and hands the same list to every later call for that result:
    :func:`auditor.report.write_reports` renders report.json, .md, .html and .sarif from one. The
    renderers read the entries and never change them; the result must not change meanwhile."""
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


def _facility_entries(result: AuditResult) -> list[dict[str, Any]]:
    shared = _SHARED.get()
    if shared is None:
        return [_facility(result, f) for f in result.facilities]
    got = shared.get(id(result))
    if got is None or got[0] is not result:
        got = shared[id(result)] = (result, [_facility(result, f) for f in result.facilities])
    return got[1]


def render_json(result: AuditResult, *, generated_at: str) -> str:
    return indented_json(build_report(result, generated_at=generated_at)) + "\n"
