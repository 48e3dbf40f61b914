"""Reconstructed boundary parts stay inside the administrative units they are defined over.

Lingang is not an administrative unit: ``lingang-main`` is cut out of Pudong and Fengxian by
straight lines through canal locks, and ``lingang-xiaoyangshan`` out of Shengsi. Before issue 19
the cut also took in 15.7 km² of Minhang, so a facility in Minhang was called inside Lingang.
Each reconstructed feature (``constructed: true``) now names its containers in ``within`` and is
clipped to them by ``scripts/clip_reconstructed_parts.py``; these tests hold that, with the
administrative polygons ``boundaries/context.geojson`` ships (the same Amap source, PROVENANCE.md).
The build (``scripts/build_admin_table.py``) checks the same against every county it reads.

Areas are geodesic (pyproj ``Geod`` on the WGS-84 ellipsoid), in m², never degrees.
"""

from __future__ import annotations

import csv
import importlib.util
import json
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import shapely
from conftest import REPO
from pyproj import Geod
from shapely.geometry import Point, mapping, shape

from auditor.geo.containment import Verdict
from auditor.regions import load_registry

BOUNDARIES = REPO / "boundaries"
GEOD = Geod(ellps="WGS84")
# A clipped part may overlap a unit it cannot contain by this much (m²): where a cut line crosses
# a county line the crossing point is snapped to the files' 1e-6 degree grid (a move of at most
# 0.08 m), which on a cut edge kilometres long sweeps a sliver of a few tens of m² (measured here:
# at most 48 m², Xiaoyangshan's corridor cut). 1,000 m² is a 32 m square: no facility fits in a
# sliver that thin, and the old Minhang overlap (15.7 km²) is 15,700 times larger.
SLIVER_M2 = 1000.0
MINHANG_POINT = (121.5303, 31.0092)  # WGS-84; in Minhang by context.geojson (issue 19)


def area_m2(geom) -> float:
    return 0.0 if geom.is_empty else abs(GEOD.geometry_area_perimeter(geom)[0])


@cache
def features(name: str) -> tuple[dict, ...]:
    return tuple(json.loads((BOUNDARIES / name).read_text(encoding="utf-8"))["features"])


@cache
def units() -> dict[str, object]:
    """adcode -> polygon of every unit context.geojson ships."""
    return {f["properties"]["adcode"]: shape(f["geometry"]) for f in features("context.geojson") if f["properties"].get("adcode")}


@cache
def parents() -> dict[str, str]:
    with open(BOUNDARIES / "admin-units.csv", encoding="utf-8", newline="") as f:
        return {r["adcode"]: r["parent_adcode"] for r in csv.DictReader(f)}


def ancestors(code: str) -> set[str]:
    out = set()
    while code:
        out.add(code)
        code = parents().get(code, "")
    return out


def constructed() -> list[tuple[str, dict]]:
    return [(p.name, f) for p in sorted(BOUNDARIES.glob("*.geojson")) for f in features(p.name) if f["properties"].get("constructed")]


CONSTRUCTED = constructed()
IDS = [f"{name}:{f['properties']['id']}" for name, f in CONSTRUCTED]


def test_the_reconstructed_parts_are_the_expected_ones():
    found = {(name, f["properties"]["id"]): f["properties"].get("within") for name, f in CONSTRUCTED}
    assert found == {
        ("shanghai.geojson", "lingang-main"): ["310115", "310120"],
        ("shanghai.geojson", "lingang-xiaoyangshan"): ["330922"],
        ("shanghai-lingang.geojson", "lingang-main"): ["310115", "310120"],
        ("shanghai-lingang.geojson", "lingang-xiaoyangshan"): ["330922"],
        ("shanghai-lingang-airport-south-envelope.geojson", "lingang-airport-south-envelope"): ["310115"],
    }


@pytest.mark.parametrize("name, feature", CONSTRUCTED, ids=IDS)
def test_part_lies_within_its_units(name, feature):
    props = feature["properties"]
    part = shape(feature["geometry"])
    within = shapely.union_all([units()[c] for c in props["within"]])
    beyond = area_m2(shapely.difference(part, within))
    assert beyond <= SLIVER_M2, f"{props['id']} lies {beyond:,.0f} m² outside {props['within']}"
    assert area_m2(part) > 1e6  # and is not empty: a clip that removed everything would pass the line above


@pytest.mark.parametrize("name, feature", CONSTRUCTED, ids=IDS)
def test_part_overlaps_no_unit_it_cannot_contain(name, feature):
    props = feature["properties"]
    part = shape(feature["geometry"])
    allowed = set().union(*(ancestors(c) for c in props["within"]))
    overlaps = {code: area_m2(shapely.intersection(part, g)) for code, g in units().items() if code not in allowed and part.intersects(g)}
    worst = {code: a for code, a in overlaps.items() if a > SLIVER_M2}
    assert not worst, f"{props['id']} overlaps units it cannot contain (m²): {worst}"


def test_lingang_main_no_longer_overlaps_minhang():
    """The case of issue 19, with its numbers: 15.7 km² of Minhang before the clip, a sliver after."""
    main = next(f for name, f in CONSTRUCTED if name == "shanghai.geojson" and f["properties"]["id"] == "lingang-main")
    part = shape(main["geometry"])
    assert area_m2(part.intersection(units()["310112"])) <= SLIVER_M2
    # the clip took away what was in Minhang and nothing else: 1,010.8 km² before, 995.1 after
    assert main["properties"]["area_km2"] == pytest.approx(1010.8 - 15.7, abs=0.1)
    assert area_m2(part.intersection(units()["310115"])) / 1e6 == pytest.approx(501.8, abs=0.1)
    assert area_m2(part.intersection(units()["310120"])) / 1e6 == pytest.approx(493.3, abs=0.1)


@pytest.mark.parametrize("name, feature", CONSTRUCTED, ids=IDS)
def test_part_follows_the_file_conventions(name, feature):
    """1e-6 degree grid, counter-clockwise exterior rings, valid, measures that match the geometry."""
    props = feature["properties"]
    geom = shape(feature["geometry"])
    assert geom.is_valid, shapely.is_valid_reason(geom)
    for poly in shapely.get_parts(geom):
        assert poly.exterior.is_ccw
        assert all(not ring.is_ccw for ring in poly.interiors)
    xy = shapely.get_coordinates(geom)
    assert np.abs(xy * 1e6 - np.round(xy * 1e6)).max() < 1e-6
    assert props["area_km2"] == round(area_m2(geom) / 1e6, 1)
    assert props["vertex_count"] == shapely.get_num_coordinates(geom)
    assert props["polygon_parts"] == len(shapely.get_parts(geom))
    # the accuracy as before the clip: it moved no cut line (the envelope is only ever a review flag)
    assert props["accuracy_m"] == {"lingang-airport-south-envelope": 5000}.get(props["id"], 1000)


def test_both_files_hold_the_same_lingang():
    a = {f["properties"]["id"]: f for f in features("shanghai.geojson") if f["properties"].get("constructed")}
    b = {f["properties"]["id"]: f for f in features("shanghai-lingang.geojson")}
    for pid, f in a.items():
        assert shape(f["geometry"]).equals_exact(shape(b[pid]["geometry"]), 0.0), pid
        assert f["properties"]["area_km2"] == b[pid]["properties"]["area_km2"]


def _clip_script():
    path = REPO / "scripts" / "clip_reconstructed_parts.py"
    spec = importlib.util.spec_from_file_location("clip_reconstructed_parts", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_clip_script_reproduces_the_shipped_files():
    """The files are what scripts/clip_reconstructed_parts.py makes from what boundaries/ ships, byte for byte."""
    clip = _clip_script()
    for name, text in clip.clipped_files(BOUNDARIES).items():
        assert (BOUNDARIES / name).read_text(encoding="utf-8") == text, f"{name}: rerun scripts/clip_reconstructed_parts.py"
    assert clip.manifest_text(BOUNDARIES) == (BOUNDARIES / "MANIFEST.sha256").read_text(encoding="utf-8")


def test_the_clip_script_removes_an_overlap(tmp_path: Path):
    """Fed the pre-issue-19 Lingang (which reached into Minhang), the script cuts it back to Pudong + Fengxian."""
    clip = _clip_script()
    main = next(f for f in features("shanghai.geojson") if f["properties"]["id"] == "lingang-main")
    minhang = units()["310112"]
    grown = shapely.union_all([shape(main["geometry"]), minhang.intersection(Point(121.52, 31.0).buffer(0.02))])
    assert area_m2(grown.intersection(minhang)) > 1e6
    feature = {**main, "geometry": mapping(grown)}
    out = shape(clip.clip_feature(feature, units())["geometry"])
    assert area_m2(out.intersection(minhang)) <= SLIVER_M2
    assert area_m2(shapely.symmetric_difference(out, shape(main["geometry"]))) <= SLIVER_M2


# --- Minhang and the shanghai region ----------------------------------------------------------------
def test_minhang_is_outside_shanghai_in_the_relation_table(registry):
    with open(BOUNDARIES / "admin-relations.csv", encoding="utf-8", newline="") as f:
        listed = {r["adcode"] for r in csv.DictReader(f) if r["region"] == "shanghai"}
    assert "310112" not in listed  # not listed = outside
    assert {"310115", "310120", "330922"} <= listed  # the units Lingang lies in are still there
    verdict, reason = registry.region("shanghai").admin_relation("310112")
    assert verdict is Verdict.OUTSIDE and "闵行区" in reason


def test_no_point_of_minhang_can_be_called_inside_shanghai(registry):
    """Minhang does not meet the region shrunk by its lines' accuracy, so no point of it is 'inside'."""
    geometry = registry.region("shanghai").geometry
    assert area_m2(shapely.intersection(geometry.inner_lonlat, units()["310112"])) == 0.0


def test_the_issue_19_point_in_minhang_is_outside_shanghai(registry):
    """121.5303, 31.0092 (WGS-84) is in Minhang: OUTSIDE, not indeterminate.

    Before the clip it was inside lingang-main, 1,136 m from that polygon's line. Now the nearest
    line of the region is the Minhang/Fengxian county line along the Huangpu, which the clipped
    Lingang follows, 1,232 m away. Lingang's stated accuracy is 1,000 m (its cut lines; the county
    line itself is good to 300 m, PROVENANCE.md §3), and the containment rule keeps that band on
    every edge of the part, so a point 1,232 m off is beyond it: outside. With a 300 m uncertainty
    radius the grown point reaches into the band, and then the answer is indeterminate -- the
    rule does not claim more than line and evidence allow.
    """
    lon, lat = MINHANG_POINT
    assert units()["310112"].contains(Point(lon, lat))
    assert not units()["310115"].contains(Point(lon, lat)) and not units()["310120"].contains(Point(lon, lat))
    geometry = registry.region("shanghai").geometry
    exact = geometry.classify_points([lon], [lat], 0.0)
    assert exact.verdicts() == [Verdict.OUTSIDE]
    assert 1000.0 < float(exact.distance_m[0]) == pytest.approx(1232.5, abs=1.0)
    assert not exact.part_mask[0].any()
    vague = geometry.classify_points([lon], [lat], 300.0)
    assert vague.verdicts() == [Verdict.INDETERMINATE]


def test_shanghai_places_inside_lingang_are_unchanged(registry):
    """The clip removed only Minhang: Dishui Lake and Fengxian's Lingang still inside, far from any line."""
    geometry = registry.region("shanghai").geometry
    got = geometry.classify_points([121.93, 121.62, 122.0773], [30.90, 30.92, 30.6253], 0.0)
    assert got.verdicts() == [Verdict.INSIDE] * 3


def test_registry_loads_lingang_from_the_clipped_file():
    region = load_registry().region("shanghai")
    main = next(p for p in region.parts if p.id == "lingang-main")
    assert area_m2(main.geometry.intersection(units()["310112"])) <= SLIVER_M2
