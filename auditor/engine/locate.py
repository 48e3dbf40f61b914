"""Evidence for single IPs and prefixes: what each configured source says, per region."""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass, field
from typing import Any

from auditor.config import AuditConfig
from auditor.regions import Registry, load_registry

__all__ = ["LocateReport", "locate"]


@dataclass
class LocateReport:
    query: str
    kind: str                                  # ip | prefix | host | invalid
    evidence: list[dict[str, Any]] = field(default_factory=list)
    relations: dict[str, str] = field(default_factory=dict)   # region -> verdict (ip2region)
    notes: list[str] = field(default_factory=list)


def locate(queries: list[str], *, config: AuditConfig | None = None, registry: Registry | None = None) -> list[LocateReport]:
    """Every piece of evidence for each IP or prefix, with its source and data version."""
    from auditor.engine.gather import relation_of_answer
    from auditor.resolve.ipgeo.footprint import address_footprint
    from auditor.resolve.ipgeo.ip2region import (
        normalise_ip,
        parse_region_text,
        unit_for_answer,
    )
    from auditor.resolve.ipgeo.xdb import XdbDatabase

    cfg = config or AuditConfig.resolve()
    reg = registry or load_registry()
    db = XdbDatabase.load(cfg.ip_db)
    regions = [reg.region(r) for r in reg.region_ids]
    out = []
    sources: list[Any] | None = None  # built once, so a source that gives up stays given up for every query
    for q in queries:
        rep = _classify(q)
        if rep.kind == "ip":
            ip, note = normalise_ip(q)
            if note:
                rep.notes.append(note)
            if ip is not None:
                rid = int(db.lookup([ip])[0])
                text = db.region_text(rid) if rid >= 0 else None
                if text is None:
                    rep.notes.append("ip2region: not covered")
                else:
                    unit, why = unit_for_answer(reg, parse_region_text(text))
                    rep.evidence.append({
                        "source": "ip2region", "version": db.version, "answer": text,
                        "unit": None if unit is None else f"{unit.adcode} {unit.name_zh}", "note": why,
                    })
                    for r in regions:
                        v = relation_of_answer(reg, r, text)
                        rep.relations[r.id] = "unplaced" if v is None else v.value
            for path in cfg.mmdb:
                from auditor.resolve.ipgeo.mmdb import MmdbDatabase

                with MmdbDatabase.open(path) as m:
                    a = m.lookup([ip or q])[0]
                    rep.evidence.append({
                        "source": "mmdb", "version": m.version, "status": a.status, "lon": a.lon, "lat": a.lat,
                        "accuracy_radius_m": a.accuracy_radius_m, "city": a.city, "country": a.country, "reason": a.reason,
                    })
        elif rep.kind == "prefix":
            for r in regions:
                fp = address_footprint([q], db, functools.partial(relation_of_answer, reg, r))
                p = fp.prefixes[0] if fp.prefixes else None
                rep.relations[r.id] = (
                    f"inside {fp.inside:,} / outside {fp.outside:,} / indeterminate {fp.indeterminate:,} / unplaced {fp.unlocated:,}"
                )
                if p is not None and p.places and not rep.evidence:
                    rep.evidence.append({
                        "source": "ip2region", "version": db.version,
                        "places": [{"answer": t, "addresses": n} for t, _, n in p.places],
                        "note": p.note,
                    })
        if rep.kind in ("ip", "prefix"):
            if sources is None:
                from auditor.engine.gather import asn_sources

                sources = asn_sources(cfg)
            for source in sources:
                answer = source.lookup([q])[0]
                rep.evidence.append({
                    "source": answer.source, "version": getattr(getattr(source, "version", None), "sha256", "")[:12] or "live",
                    "status": answer.status, "asn": answer.asn, "prefix": answer.prefix, "holder": answer.holder, "reason": answer.reason,
                })
        if rep.kind == "host":
            rep.notes.append("a hostname: locate places addresses; resolve it first (e.g. dig), or list it in a facility's hostname column and audit with --dns-resolver or --dns-recording")
        out.append(rep)
    return out


def _classify(q: str) -> LocateReport:
    text = q.strip()
    try:
        ipaddress.ip_address(text)
        return LocateReport(text, "ip")
    except ValueError:
        pass
    try:
        ipaddress.ip_network(text, strict=False)
        return LocateReport(text, "prefix")
    except ValueError:
        pass
    labels = text.rstrip(".").split(".")
    if text and all(p.isdigit() for p in labels if p) or ":" in text:
        # digits and dots (999.1.1.1) or colons: meant as an address, and not a valid one
        return LocateReport(text, "invalid", notes=["not a valid IP address or prefix (each IPv4 part is 0-255; four parts)"])
    if text and all(part and len(part) < 64 for part in labels) and "." in text:
        return LocateReport(text, "host")
    return LocateReport(text, "invalid", notes=["not an IP address, prefix or hostname"])
