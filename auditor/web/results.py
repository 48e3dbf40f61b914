"""The results page's data, from report.json's mapping (the versioned contract) and the region's parts:
the facilities table, its filters, a facility's findings, the waived findings, and the map's GeoJSON."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["VERDICT_COLOURS", "facility_rows", "filter_rows", "map_geojson", "waived_findings"]

#: One colour per verdict, on the map and in the table (the report's palette, colour-blind safe).
VERDICT_COLOURS = {"pass": "#1a9850", "fail": "#d73027", "indeterminate": "#fdae61", "waived": "#7b3294", "error": "#636363"}
#: How finely the map's region outlines are drawn, in degrees (~50 m): the outline is a picture,
#: the audit itself uses the full boundary.
MAP_TOLERANCE_DEG = 0.0005


def _point(fac: Mapping[str, Any]) -> tuple[float, float] | None:
    for c in fac.get("claims") or ():
        if c.get("kind") == "point" and c.get("lon") is not None and c.get("lat") is not None:
            return float(c["lon"]), float(c["lat"])
    return None


def facility_rows(report: Mapping[str, Any], rule_title: Any = None) -> list[dict[str, Any]]:
    """One row per facility (report order): id, row, name, kind, verdict, basis, point, distance,
    parts, the rules that did not pass, errors, and every finding."""
    title = rule_title or (lambda r: r)
    rows = []
    for index, fac in enumerate(report.get("facilities") or ()):
        point = _point(fac)
        cont = next(iter(fac.get("containment") or ()), None) or {}
        findings = [{**x, "title": title(x.get("rule", ""))} for x in fac.get("findings") or ()]
        rows.append({
            "index": index, "id": str(fac.get("id", "")), "row": fac.get("row"), "name": fac.get("name") or "",
            "kind": fac.get("kind") or "", "tenure": fac.get("tenure") or "", "address": fac.get("address") or "",
            "verdict": fac.get("verdict", ""), "basis": list(fac.get("basis") or ()),
            "lon": None if point is None else point[0], "lat": None if point is None else point[1],
            "distance_m": cont.get("distance_to_boundary_m"), "parts": list(cont.get("parts") or ()),
            "rules": sorted({x["rule"] for x in findings if x.get("status") not in ("pass", "not_applicable")}),
            "errors": [e.get("message", "") if isinstance(e, Mapping) else str(e) for e in fac.get("errors") or ()],
            "error_details": list(fac.get("errors") or ()),
            "findings": findings,
        })
    return rows


def filter_rows(rows: Sequence[Mapping[str, Any]], *, verdict: str = "", rule: str = "", kind: str = "") -> list[Mapping[str, Any]]:
    """The rows a filter keeps: a verdict, a rule that did not pass, a kind (empty: any)."""
    return [r for r in rows if (not verdict or r["verdict"] == verdict) and (not rule or rule in r["rules"])
            and (not kind or r["kind"] == kind)]


def waived_findings(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every finding a waiver covers, with its facility (or the operator) and the waiver."""
    out = []
    for fac in report.get("facilities") or ():
        for x in fac.get("findings") or ():
            if x.get("waiver"):
                out.append({"subject": fac.get("id", ""), **x})
    for x in report.get("operator_findings") or ():
        if x.get("waiver"):
            out.append({"subject": "(operator)", **x})
    return out


def map_geojson(report: Mapping[str, Any], region: Any, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The map's layers as one FeatureCollection: the region's parts (outlines simplified for
    drawing), every facility with a point (its index into the table, its verdict), and discovered
    nodes with a location."""
    import shapely

    features: list[dict[str, Any]] = []
    for p in region.parts:
        geom = shapely.simplify(p.geometry, MAP_TOLERANCE_DEG, preserve_topology=True)
        features.append({"type": "Feature", "geometry": json.loads(shapely.to_geojson(shapely.set_precision(geom, 1e-6))),
                         "properties": {"layer": "region", "id": p.id, "role": p.role.value, "name_en": p.name_en,
                                        "name_zh": getattr(p, "name_zh", "") or "", "accuracy_m": p.accuracy_m}})
    for r in rows:
        if r["lon"] is None:
            continue
        features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(r["lon"], 7), round(r["lat"], 7)]},
                         "properties": {"layer": "facility", "index": r["index"], "id": r["id"], "name": r["name"], "kind": r["kind"],
                                        "verdict": r["verdict"], "colour": VERDICT_COLOURS.get(r["verdict"], "#000000"),
                                        "rules": r["rules"]}})
    for d in report.get("discovered") or ():
        lon, lat = d.get("lon"), d.get("lat")
        if isinstance(lon, (int, float)) and isinstance(lat, (int, float)):
            features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                             "properties": {"layer": "discovered", **{k: v for k, v in d.items() if isinstance(v, (str, int, float))}}})
    return {"type": "FeatureCollection", "features": features}
