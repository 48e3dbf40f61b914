"""facilities.geojson: every facility as a feature (null geometry when it has no point), plus the region's parts."""

from __future__ import annotations

import json
from typing import Any

import shapely

from auditor.model import LocationClaim, Status
from auditor.result import AuditResult

__all__ = ["render_geojson"]


def _point_geometry(point: LocationClaim) -> dict[str, Any]:
    # a point claim always has its lon/lat (declared coordinates, mmdb answers with a location)
    if point.lon is None or point.lat is None:
        raise ValueError(f"point claim {point.id} has no lon/lat")
    return {"type": "Point", "coordinates": [round(point.lon, 7), round(point.lat, 7)]}


def render_geojson(result: AuditResult) -> str:
    features: list[dict[str, Any]] = []
    for f in result.facilities:
        point = next((c for c in result.claims_of(f) if c.kind == "point"), None)
        cont = result.containment.get(point.id) if point else None
        findings = result.findings_of(f)
        features.append(
            {
                "type": "Feature",
                "id": f.id,
                "geometry": None if point is None else _point_geometry(point),
                "properties": {
                    "layer": "facility",
                    "id": f.id,
                    "row": f.row,
                    "kind": f.kind,
                    "tenure": f.tenure,
                    "name": f.name,
                    "verdict": result.facility_verdict(f).value,
                    "basis": list(result.facility_basis(f)),
                    "uncertainty_m": None if point is None else round(point.uncertainty_m, 2),
                    "containment": None if cont is None else cont.verdict.value,
                    "distance_to_boundary_m": None if cont is None or cont.distance_m is None else round(cont.distance_m, 1),
                    "parts": [] if cont is None else list(cont.parts),
                    "failed_rules": [x.rule for x in findings if x.status is Status.FAIL],
                    "errors": [e.as_dict() for e in f.errors],
                },
            }
        )
    # evidence areas: latency feasible regions and the disjoint disks that prove anycast
    for f in result.facilities:
        for c in result.claims_of(f):
            if c.geometry is None:
                continue
            cont = result.containment.get(c.id)
            features.append(
                {
                    "type": "Feature",
                    "id": c.id,
                    "geometry": json.loads(shapely.to_geojson(shapely.set_precision(c.geometry, 1e-6))),
                    "properties": {
                        "layer": f"evidence-{c.kind}",
                        "facility": f.id,
                        "source": c.source.value,
                        "containment": None if cont is None else cont.verdict.value,
                        "vantages": c.original.get("vantages", []),
                    },
                }
            )
    for p in result.region.parts:
        features.append(
            {
                "type": "Feature",
                "id": f"region:{p.id}",
                "geometry": json.loads(shapely.to_geojson(p.geometry)),
                "properties": {"layer": "region", "id": p.id, "role": p.role.value, "accuracy_m": p.accuracy_m, "name_en": p.name_en},
            }
        )
    doc = {"type": "FeatureCollection", "name": f"audit-{result.region.id}", "features": features}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n"
