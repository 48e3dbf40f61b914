"""Latency evidence: RTT disks, feasible regions, anycast (auditor.geo.multilateration) and their readers (auditor.resolve.latency).

Synthetic vantage sets with known answers around Shanghai; disk polygons checked
geodesically; readers on every RIPE Atlas firmware variant, in the project's own
fixtures (tests/fixtures/atlas, written from RIPE Atlas's documented result and
probe formats; see the README there) and on hand-made records for the odd cases.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import shapely
from conftest import TESTS
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from auditor.errors import InputError, UsageError
from auditor.geo.measure import geodesic_distance_m
from auditor.geo.multilateration import (
    DEFAULT_DISK_POINTS,
    Disk,
    DiskPolygons,
    RttSample,
    disk_polygon,
    disk_polygons,
    greedy_disjoint,
    locate_target,
    locate_targets,
    minimum_rtts,
    pairwise_disjoint,
    rtt_radius_m,
)
from auditor.resolve.latency import (
    ATLAS_POSITION_UNCERTAINTY_M,
    AtlasProbe,
    atlas_ping_samples,
    read_atlas_pings,
    read_atlas_probes,
    read_rtt_csv,
)

ATLAS = TESTS / "fixtures" / "atlas"
GEOD = Geod(ellps="WGS84")
KM_PER_MS = 99.93081933333333   # 0.5e-3 s x 2/3 x 299,792,458 m/s, in km

LINGANG = (121.93, 30.905)
SHANGHAI = (121.4737, 31.2304)   # People's Square
HANGZHOU = (120.1551, 30.2741)
BEIJING = (116.4074, 39.9042)
SHENZHEN = (114.0579, 22.5431)
GUANGZHOU = (113.2644, 23.1291)
WUHAN = (114.3055, 30.5928)


def sample(vantage: str, where: tuple[float, float], rtt_ms: float, target: str = "lingang-dc1", unc: float = 0.0) -> RttSample:
    return RttSample(vantage, where[0], where[1], unc, target, rtt_ms, "test")


def boundary_distances(geom: BaseGeometry, lon: float, lat: float, per_edge: int = 10) -> np.ndarray:
    """Geodesic distances from (lon, lat) to points along every edge of geom's boundary, skipping the ±180°/pole frame."""
    pts = []
    for line in shapely.get_parts(shapely.boundary(geom)):
        for part in shapely.get_parts(line):
            c = shapely.get_coordinates(part)
            a, b = c[:-1], c[1:]
            frame = ((np.abs(a[:, 0]) >= 180 - 1e-9) & (np.abs(b[:, 0]) >= 180 - 1e-9)) | (
                (np.abs(a[:, 1]) >= 90 - 1e-9) & (np.abs(b[:, 1]) >= 90 - 1e-9)
            )
            a, b = a[~frame], b[~frame]
            t = np.linspace(0.0, 1.0, per_edge + 1)[:, None, None]
            pts.append((a * (1 - t) + b * t).reshape(-1, 2))
    xy = np.vstack(pts)
    return geodesic_distance_m(np.full(len(xy), lon), np.full(len(xy), lat), xy[:, 0], xy[:, 1])


# --------------------------------------------------------------------------- radius


def test_radius_formula_numerically():
    assert float(rtt_radius_m(10.0)) == pytest.approx(999_308.193, abs=0.001)
    assert float(rtt_radius_m(10.0, 400.0)) == pytest.approx(999_708.193, abs=0.001)
    assert float(rtt_radius_m(1.0)) == pytest.approx(KM_PER_MS * 1000.0)
    assert float(rtt_radius_m(10.0, speed_factor=1.0)) == pytest.approx(1_498_962.29, abs=0.01)
    np.testing.assert_allclose(rtt_radius_m([0.0, 2.0], [5.0, 0.0]), [5.0, 2 * KM_PER_MS * 1000.0])


@pytest.mark.parametrize("factor", [0.0, -0.5, 1.5, math.nan])
def test_speed_factor_must_be_a_fraction_of_c(factor):
    with pytest.raises(ValueError, match="speed_factor"):
        rtt_radius_m(1.0, speed_factor=factor)
    with pytest.raises(ValueError, match="speed_factor"):
        locate_targets([sample("sh", SHANGHAI, 1.0)], speed_factor=factor)


def test_speed_factor_scales_the_disks():
    ev = locate_target([sample("sh", SHANGHAI, 1.0)], speed_factor=0.5)
    assert ev.disks[0].radius_m == pytest.approx(0.5e-3 * 0.5 * 299_792_458.0)


# --------------------------------------------------------------------------- disk polygons


def test_disk_polygon_points_are_at_the_radius_within_a_tenth_of_a_percent():
    """Vertices and points along every edge, measured geodesically: in [r, r x 1.001] (outer approximation)."""
    rng = np.random.default_rng(20241130)
    n = 300
    lon, lat = rng.uniform(73.0, 135.0, n), rng.uniform(18.0, 54.0, n)
    r = 10 ** rng.uniform(2.0, 6.6, n)    # 100 m .. 4,000 km
    polys = disk_polygons(lon, lat, r)
    for p, x, y, radius in zip(polys, lon, lat, r):
        assert p.is_valid
        assert len(shapely.get_coordinates(p)) - 1 >= DEFAULT_DISK_POINTS
        d = boundary_distances(p, x, y)
        assert d.min() >= radius * (1 - 1e-9), (x, y, radius, d.min() / radius)
        assert d.max() <= radius * 1.001, (x, y, radius, d.max() / radius)


def test_disk_polygons_anywhere_any_size_stay_within_a_tenth_of_a_percent():
    """Worldwide, 100 m to beyond the antipode: over poles, across ±180°, holding both poles."""
    rng = np.random.default_rng(20241201)
    n = 150
    lon, lat = rng.uniform(-180.0, 180.0, n), rng.uniform(-89.9, 89.9, n)
    r = 10 ** rng.uniform(2.0, 7.29, n)   # up to 19,500 km
    for p, x, y, radius in zip(disk_polygons(lon, lat, r), lon, lat, r):
        assert p.is_valid
        d = boundary_distances(p, x, y)
        assert radius * (1 - 1e-9) <= d.min() and d.max() <= radius * 1.001, (x, y, radius, d.min() / radius, d.max() / radius)


def test_disk_polygon_contains_its_disk_and_no_more():
    centre, r = SHANGHAI, 300_000.0
    p = disk_polygon(*centre, r)
    az = np.arange(0.0, 360.0, 7.5)
    inside_lon, inside_lat, _ = GEOD.fwd(np.full(az.size, centre[0]), np.full(az.size, centre[1]), az, np.full(az.size, r * 0.999))
    outside_lon, outside_lat, _ = GEOD.fwd(np.full(az.size, centre[0]), np.full(az.size, centre[1]), az, np.full(az.size, r * 1.002))
    assert shapely.contains_xy(p, inside_lon, inside_lat).all()
    assert not shapely.contains_xy(p, outside_lon, outside_lat).any()


def test_disk_polygon_needs_64_points_at_least():
    # 64 vertices sag 0.12 % between them, beyond the 0.05 % the builder allows: it doubles them
    assert len(disk_polygon(*SHANGHAI, 1000.0, n_points=64).exterior.coords) - 1 == 128
    assert len(disk_polygon(*SHANGHAI, 1000.0, n_points=256).exterior.coords) - 1 == 256
    with pytest.raises(ValueError, match="at least 64"):
        disk_polygon(*SHANGHAI, 1000.0, n_points=32)


def test_disk_polygon_rejects_invalid_centres_and_radii():
    for args in [(200.0, 30.0, 1e3), (120.0, 95.0, 1e3), (120.0, 30.0, -1.0), (math.nan, 30.0, 1e3)]:
        with pytest.raises(ValueError, match="invalid centre or radius"):
            disk_polygon(*args)


def test_china_scale_disks_from_the_far_north_east_are_sane():
    # Mohe (the northernmost town), 3,000 km: one polygon
    p = disk_polygon(122.53, 52.97, 3_000_000.0)
    assert isinstance(p, Polygon) and p.is_valid
    d = boundary_distances(p, 122.53, 52.97)
    assert 3_000_000.0 * (1 - 1e-9) <= d.min() and d.max() <= 3_000_000.0 * 1.001
    # 4,000 km passes 115 km from the pole, where longitudes fan out past 180°: split there, still exact
    p = disk_polygon(122.53, 52.97, 4_000_000.0)
    assert isinstance(p, MultiPolygon) and p.is_valid
    assert p.contains(Point(LINGANG)) and p.contains(Point(SHENZHEN)) and p.contains(Point(75.99, 39.47))   # Kashgar 3,810 km
    assert not p.contains(Point(109.51, 18.25))   # Sanya, 4,015 km
    d = boundary_distances(p, 122.53, 52.97)
    assert 4_000_000.0 * (1 - 1e-9) <= d.min() and d.max() <= 4_000_000.0 * 1.001


def test_rings_close_exactly_so_large_north_eastern_disks_stay_valid():
    """Regression: unwrapping left the closing vertex 6e-14° off; GEOS then saw a self-intersection
    at the first vertex and the antimeridian split turned the disk into the whole globe, so the
    feasible region of a benchmark target came out empty."""
    p = disk_polygon(126.67356045016568, 45.55663285088894, 4313046.24334796)   # 512 vertices, crosses 180°
    assert p.is_valid and 7_000 < p.area < 8_000 and p.bounds[1] > 0.0
    rng = np.random.default_rng(20241202)
    lon, lat, r = rng.uniform(115.0, 135.0, 120), rng.uniform(38.0, 53.5, 120), rng.uniform(2.5e6, 5.0e6, 120)
    for poly, x, y, radius in zip(disk_polygons(lon, lat, r), lon, lat, r):
        assert poly.is_valid and poly.area < 180.0 * 90.0
        d = boundary_distances(poly, x, y)
        assert radius * (1 - 1e-9) <= d.min() and d.max() <= radius * 1.001


def test_disk_across_the_antimeridian_is_split_there():
    p = disk_polygon(179.5, 30.0, 1_000_000.0)
    assert isinstance(p, MultiPolygon) and p.is_valid
    minx, _, maxx, _ = p.bounds
    assert minx == -180.0 and maxx == 180.0
    assert p.contains(Point(-178.0, 30.0)) and p.contains(Point(178.0, 30.0))
    assert not p.contains(Point(0.0, 30.0)) and not p.contains(Point(-170.0, 30.0))
    d = boundary_distances(p, 179.5, 30.0)
    assert 1_000_000.0 * (1 - 1e-9) <= d.min() and d.max() <= 1_000_000.0 * 1.001


def test_disk_over_a_pole_is_closed_over_it():
    p = disk_polygon(120.0, 80.0, 2_000_000.0)       # the pole is 1,116 km away
    assert p.is_valid and p.bounds[3] == 90.0 and p.bounds[0] == -180.0 and p.bounds[2] == 180.0
    assert p.contains(Point(-60.0, 85.0))            # across the pole: 1,670 km
    assert not p.contains(Point(-60.0, 75.0))        # across the pole: 2,780 km
    assert p.contains(Point(120.0, 65.0)) and not p.contains(Point(120.0, 60.0))


def test_disk_holding_both_poles_is_the_world_minus_the_far_cap():
    p = disk_polygon(0.0, 0.0, 15_000_000.0)
    assert p.is_valid
    assert p.contains(Point(0.0, 89.0)) and p.contains(Point(0.0, -89.0)) and p.contains(Point(100.0, 0.0))
    assert not p.contains(Point(179.0, 0.0)) and not p.contains(Point(-179.0, 0.0))


def test_disk_larger_than_half_the_meridian_is_the_world():
    assert disk_polygon(*SHANGHAI, 20_100_000.0).area == pytest.approx(360.0 * 180.0)


# --------------------------------------------------------------------------- pairwise and greedy


def test_disjoint_iff_centres_farther_than_the_sum_of_radii():
    d = geodesic_distance_m(*BEIJING, *SHENZHEN)
    # a gap of 2 m is disjoint; within the 1 m margin (floating-point noise) it is not
    assert pairwise_disjoint([BEIJING[0], SHENZHEN[0]], [BEIJING[1], SHENZHEN[1]], [d / 2, d / 2 - 2.0])[0, 1]
    assert not pairwise_disjoint([BEIJING[0], SHENZHEN[0]], [BEIJING[1], SHENZHEN[1]], [d / 2, d / 2 - 0.5])[0, 1]
    assert not pairwise_disjoint([BEIJING[0], SHENZHEN[0]], [BEIJING[1], SHENZHEN[1]], [d / 2, d / 2 + 1.0])[0, 1]


def test_greedy_is_seeded_with_a_disjoint_pair_when_the_smallest_disk_overlaps_both():
    lon = [WUHAN[0], BEIJING[0], GUANGZHOU[0]]
    lat = [WUHAN[1], BEIJING[1], GUANGZHOU[1]]
    r = [300e3, 800e3, 600e3]   # Wuhan overlaps both; Beijing and Guangzhou (1,890 km) cannot meet
    dis = pairwise_disjoint(lon, lat, r)
    assert dis.tolist() == [[False, False, False], [False, False, True], [False, True, False]]
    assert sorted(greedy_disjoint(r, dis)) == [1, 2]
    ev = locate_target([sample("wh", WUHAN, 3.0), sample("bj", BEIJING, 8.0), sample("gz", GUANGZHOU, 6.0)])
    assert ev.anycast and ev.instances_lower_bound == 2
    assert {d.vantage_id for d in ev.disjoint} == {"bj", "gz"}


def test_greedy_picks_smallest_first():
    # three far-apart small disks and one huge one covering them all
    lon, lat = [BEIJING[0], SHENZHEN[0], HANGZHOU[0], WUHAN[0]], [BEIJING[1], SHENZHEN[1], HANGZHOU[1], WUHAN[1]]
    r = [100e3, 100e3, 100e3, 3000e3]
    assert greedy_disjoint(r, pairwise_disjoint(lon, lat, r)) == [0, 1, 2]


# --------------------------------------------------------------------------- known answers


def test_lingang_seen_from_shanghai_and_hangzhou():
    ev = locate_target([sample("shanghai", SHANGHAI, 1.0), sample("hangzhou", HANGZHOU, 3.0)])
    assert not ev.anycast and ev.instances_lower_bound == 1 and ev.disjoint == ()
    assert ev.feasible is not None and ev.feasible.is_valid
    assert ev.feasible.contains(Point(LINGANG))
    # the region lies within both disks (up to the 0.1 % outer approximation)
    for disk in ev.disks:
        assert boundary_distances(ev.feasible, disk.lon, disk.lat).max() <= disk.radius_m * 1.001
        assert ev.feasible.area <= disk.polygon.area
    # Hangzhou's 300 km disk (165 km away) holds all of Shanghai's 100 km disk: the region is Shanghai's
    assert ev.feasible.equals(ev.disks[0].polygon)
    assert [d.vantage_id for d in ev.disks] == ["shanghai", "hangzhou"]   # smallest first
    assert ev.disks[0].radius_m == pytest.approx(KM_PER_MS * 1000.0)
    assert "2 disks intersect" in ev.reason and "shanghai" in ev.reason


def test_an_impossible_rtt_from_beijing_proves_anycast_and_names_the_pair():
    ev = locate_target(
        [sample("shanghai", SHANGHAI, 1.0), sample("hangzhou", HANGZHOU, 3.0), sample("beijing", BEIJING, 0.1)]
    )
    assert ev.anycast and ev.instances_lower_bound == 2 and ev.feasible is None
    assert [d.vantage_id for d in ev.disjoint] == ["beijing", "shanghai"]
    assert "beijing and shanghai" in ev.reason and "1,0" in ev.reason   # ~1,070 km apart


def test_anycast_address_seen_from_beijing_and_shenzhen():
    ev = locate_target([sample("beijing", BEIJING, 2.0, "8.8.8.8"), sample("shenzhen", SHENZHEN, 2.0, "8.8.8.8")])
    assert ev.anycast and ev.instances_lower_bound >= 2 and ev.feasible is None
    assert {d.vantage_id for d in ev.disjoint} == {"beijing", "shenzhen"}
    assert "at least 2 instances" in ev.reason


def test_pairwise_overlap_without_a_common_point_is_not_anycast_but_has_no_region():
    # three disks on an equilateral triangle of 1,000 km sides, 520 km each: every two overlap, all three never
    a = WUHAN
    b_lon, b_lat, _ = GEOD.fwd(a[0], a[1], 90.0, 1_000_000.0)
    c_lon, c_lat, _ = GEOD.fwd(a[0], a[1], 30.0, 1_000_000.0)
    rtt = 520.0 / KM_PER_MS
    ev = locate_target([sample("a", a, rtt), sample("b", (b_lon, b_lat), rtt), sample("c", (c_lon, c_lat), rtt)])
    assert not ev.anycast and ev.instances_lower_bound == 1
    assert ev.feasible is None
    assert "no common point" in ev.reason


def test_one_vantage_point_gives_its_disk():
    ev = locate_target([sample("shanghai", SHANGHAI, 1.0)])
    assert ev.feasible.equals(ev.disks[0].polygon)
    assert "one vantage point" in ev.reason


def test_minimum_rtt_per_vantage_and_target():
    s = [
        sample("shanghai", SHANGHAI, 3.0),
        sample("shanghai", SHANGHAI, 1.2),
        sample("shanghai", SHANGHAI, 2.0),
        sample("hangzhou", HANGZHOU, 3.5),
        sample("shanghai", SHANGHAI, 0.9, target="other"),
    ]
    best = minimum_rtts(s)
    assert [(b.target, b.vantage_id, b.rtt_ms) for b in best] == [
        ("lingang-dc1", "shanghai", 1.2),
        ("lingang-dc1", "hangzhou", 3.5),
        ("other", "shanghai", 0.9),
    ]
    ev = locate_targets(s)
    assert list(ev) == ["lingang-dc1", "other"]
    assert [d.rtt_ms for d in ev["lingang-dc1"].disks] == [1.2, 3.5]


def test_uncertainty_is_added_to_the_radius():
    ev = locate_target([sample("atlas:1", SHANGHAI, 1.0, unc=400.0)])
    assert ev.disks[0].radius_m == pytest.approx(KM_PER_MS * 1000.0 + 400.0)
    assert ev.disks[0].uncertainty_m == 400.0


def test_a_disk_containing_a_smaller_one_does_not_change_the_region():
    small = [sample("shanghai", SHANGHAI, 1.0)]
    both = small + [sample("hangzhou", HANGZHOU, 6.0)]   # 600 km around Hangzhou holds all of Shanghai's disk
    assert locate_target(both).feasible.equals(locate_target(small).feasible)
    ev = locate_target(both, polygons="bounding")
    assert ev.disks[0].polygon is not None and ev.disks[1].polygon is None


def test_bounding_mode_builds_no_polygon_for_anycast_targets():
    ev = locate_target([sample("beijing", BEIJING, 2.0, "a"), sample("shenzhen", SHENZHEN, 2.0, "a")], polygons=DiskPolygons.BOUNDING)
    assert ev.anycast and all(d.polygon is None for d in ev.disks)
    ev_all = locate_target([sample("beijing", BEIJING, 2.0, "a"), sample("shenzhen", SHENZHEN, 2.0, "a")])
    assert all(d.polygon is not None for d in ev_all.disks)


def test_many_targets_match_one_at_a_time():
    rng = np.random.default_rng(7)
    vantages = [(f"v{i}", (float(x), float(y))) for i, (x, y) in enumerate(zip(rng.uniform(100, 125, 12), rng.uniform(22, 42, 12)))]
    samples = []
    for t in range(30):
        tx, ty = rng.uniform(100, 125), rng.uniform(22, 42)
        for vid, (x, y) in vantages[: 2 + t % 11]:
            rtt = 2.0 * geodesic_distance_m(x, y, tx, ty) / 1000.0 / (2 * KM_PER_MS) * rng.uniform(1.0, 1.5)
            if t % 7 == 0:
                rtt *= 0.3   # too fast for one place: anycast
            samples.append(sample(vid, (x, y), float(rtt), f"t{t:02d}"))
    together = locate_targets(samples)
    for target, ev in together.items():
        alone = locate_target([s for s in samples if s.target == target])
        assert (ev.anycast, ev.instances_lower_bound, ev.reason) == (alone.anycast, alone.instances_lower_bound, alone.reason)
        assert [d.vantage_id for d in ev.disjoint] == [d.vantage_id for d in alone.disjoint]
        assert (ev.feasible is None) == (alone.feasible is None)
        if ev.feasible is not None:
            assert ev.feasible.equals(alone.feasible)
    assert any(ev.anycast for ev in together.values()) and not all(ev.anycast for ev in together.values())


def test_invalid_samples_and_mixed_targets_are_refused():
    with pytest.raises(ValueError, match="invalid RTT sample"):
        locate_targets([sample("x", (121.0, 95.0), 1.0)])
    with pytest.raises(ValueError, match="invalid RTT sample"):
        locate_targets([sample("x", SHANGHAI, -1.0)])
    with pytest.raises(ValueError, match="exactly one target"):
        locate_target([sample("a", SHANGHAI, 1.0, "t1"), sample("b", HANGZHOU, 1.0, "t2")])
    with pytest.raises(ValueError, match="exactly one target"):
        locate_target([])
    with pytest.raises(UsageError, match="polygons"):
        locate_targets([sample("a", SHANGHAI, 1.0)], polygons="some")
    assert locate_targets([]) == {}


@settings(max_examples=40, deadline=None)
@given(
    target=st.tuples(st.floats(98.0, 123.0), st.floats(21.0, 45.0)),
    vantages=st.lists(st.tuples(st.floats(75.0, 134.0), st.floats(18.0, 53.0)), min_size=1, max_size=8),
    slack=st.lists(st.floats(0.0, 2.0), min_size=8, max_size=8),
)
def test_the_true_location_is_always_in_the_feasible_region(target, vantages, slack):
    """With RTTs no faster than light in fibre (any non-negative extra delay), the target is never excluded."""
    samples = []
    for i, (x, y) in enumerate(vantages):
        d = float(geodesic_distance_m(x, y, *target))
        rtt = 2.0 * d / (2.0 / 3.0 * 299_792_458.0) * 1e3 + slack[i]
        samples.append(RttSample(f"v{i}", x, y, 0.0, "t", rtt, "hypothesis"))
    ev = locate_target(samples, polygons="bounding")
    assert not ev.anycast
    assert ev.feasible is not None and ev.feasible.covers(Point(target))


# --------------------------------------------------------------------------- readers: RIPE Atlas probe metadata


def atlas_metadata() -> dict[int, AtlasProbe]:
    """Every probe position the fixtures publish: the v1 and the v2 metadata files together."""
    v1, v2 = read_atlas_probes(ATLAS / "probes-v1.json").probes, read_atlas_probes(ATLAS / "probes-v2.json").probes
    assert not set(v1) & set(v2)
    return {**v1, **v2}


def test_probe_metadata_v1_fixture():
    probes, problems = read_atlas_probes(ATLAS / "probes-v1.json")
    assert problems == []
    assert sorted(probes) == [7101, 7102, 7103, 7104]
    assert (probes[7102].lon, probes[7102].lat) == (8.6821, 50.1109)    # flat longitude/latitude
    assert (probes[7104].lon, probes[7104].lat) == (-3.7038, 40.4168)   # west of Greenwich
    assert [probes[i].status for i in (7101, 7103, 7104)] == ["Connected", "Abandoned", "Disconnected"]   # status_name
    assert [probes[i].country_code for i in sorted(probes)] == ["NL", "DE", "FR", "ES"]
    assert all(p.uncertainty_m == ATLAS_POSITION_UNCERTAINTY_M == 400.0 for p in probes.values())


def test_probe_metadata_v2_fixture_lon_lat_order_and_a_probe_without_position():
    path = ATLAS / "probes-v2.json"
    probes, problems = read_atlas_probes(path)
    assert sorted(probes) == [7201, 7202, 7203, 7205]
    # GeoJSON order [lon, lat]: read the other way round, Tokyo's 139.69 would be an impossible latitude
    assert (probes[7201].lon, probes[7201].lat) == (139.6917, 35.6895)
    assert (probes[7205].lon, probes[7205].lat) == (151.2093, -33.8688)
    assert (probes[7201].status, probes[7205].status, probes[7203].country_code) == ("Connected", "Disconnected", "US")
    assert [(p.file, p.record, p.reason) for p in problems] == [
        (str(path), 4, "probe 7204: no position published (longitude/latitude missing or not numbers)")
    ]


def test_probe_metadata_v2_with_impossible_coordinates_is_reported_with_file_and_probe():
    path = ATLAS / "probe-v2-impossible-latitude.json"
    probes, problems = read_atlas_probes(path)
    assert probes == {}
    assert [(p.record, p.reason) for p in problems] == [(1, "probe 7299: impossible latitude 666 (must be within [-90, 90])")]
    text = str(problems[0])
    assert str(path) in text and "probe 7299" in text and "666" in text and "latitude" in text


def test_probe_metadata_shapes_and_bad_records(tmp_path):
    v2 = {
        "count": 6,
        "results": [
            {"id": 10, "geometry": {"type": "Point", "coordinates": [121.47, 31.23]}, "status": {"name": "Connected"}},
            {"id": 11, "geometry": None},
            {"id": 12, "geometry": {"type": "Point", "coordinates": [231.0, 31.0]}},
            {"id": 13, "geometry": {"type": "Point", "coordinates": [0, 0]}},
            {"id": 10, "geometry": {"type": "Point", "coordinates": [100.0, 30.0]}},
            {"geometry": {"type": "Point", "coordinates": [100.0, 30.0]}},
            "not a probe",
        ],
    }
    path = tmp_path / "probes-v2.json"
    path.write_text(json.dumps(v2))
    probes, problems = read_atlas_probes(path)
    assert list(probes) == [10]
    assert (probes[10].lon, probes[10].lat, probes[10].status) == (121.47, 31.23, "Connected")   # [lon, lat] order
    reasons = {p.record: p.reason for p in problems}
    assert reasons[2].startswith("probe 11: no position")
    assert reasons[3] == "probe 12: impossible longitude 231 (must be within [-180, 180])"
    assert "placeholder" in reasons[4]
    assert "listed again" in reasons[5]
    assert "numeric id" in reasons[6]
    assert "not a probe object" in reasons[7]

    v1 = {"meta": {"total_count": 1}, "objects": [{"id": "7", "latitude": "31.2", "longitude": "121.5"}]}
    path.write_text(json.dumps(v1))
    probes, problems = read_atlas_probes(path)
    assert problems == [] and (probes[7].lon, probes[7].lat) == (121.5, 31.2)


@pytest.mark.parametrize("content, message", [("", "empty"), ("{not json", "not JSON"), ('{"foo": 1}', "no probe objects")])
def test_unusable_probe_file_raises_naming_it(tmp_path, content, message):
    path = tmp_path / "probes.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as info:
        read_atlas_probes(path)
    assert str(path) in str(info.value)
    with pytest.raises(InputError, match="not found"):
        read_atlas_probes(tmp_path / "missing.json")


# --------------------------------------------------------------------------- readers: RIPE Atlas ping results

PROBES = {1: AtlasProbe(1, 121.47, 31.23), 2: AtlasProbe(2, 120.16, 30.27)}


def ping(**fields):
    base = {"type": "ping", "prb_id": 1, "msm_id": 42, "dst_addr": "192.0.2.1", "timestamp": 1700000000, "fw": 4790}
    base.update(fields)
    return base


def rtts(records):
    samples, problems = atlas_ping_samples(enumerate(records, start=1), PROBES, source="hand.jsonl")
    return [s.rtt_ms for s in samples], [(p.record, p.reason) for p in problems]


def test_hand_made_records_for_the_odd_cases():
    got, problems = rtts(
        [
            ping(fw=0, min="57.876", avg="58.042", max="58.272", rcvd="3", sent="3"),           # 1 string numbers
            ping(result=[{"x": "*"}, {"rtt": "12.5"}, {"rtt": 11.0, "ttl": 50}]),             # 2 lost + string rtt
            ping(rcvd=0, min=-1, avg=-1, max=-1, result=[{"x": "*"}, {"x": "*"}, {"x": "*"}]),  # 3 rcvd 0, -1
            ping(rcvd=0, min=None, max=None, result=[]),                                     # 4 null min
            ping(result=[{"error": "sendto failed: Network is unreachable"}]),               # 5 error entries
            ping(result=[{"dup": 1, "rtt": 3.0}, {"rtt": 30.0}, {"late": 1}]),               # 6 duplicate, late
            ping(rcvd=1, min=None, result=[{"x": "*"}]),                                     # 7 no rtt anywhere
            ping(prb_id=99, min=5.0, result=[{"rtt": 5.0}]),                                 # 8 unknown probe
            ping(type="traceroute"),                                                         # 9 not a ping
            ping(dst_addr=None),                                                             # 10 no target
            ping(prb_id="x"),                                                                # 11 no probe id
            ping(**{" prb_id": 2, " min": 9.5}),                                             # 12 spaced keys
            {"fw": 1, "prb_id": 2, "addr": "192.0.2.9", "from": "198.51.100.1", "min": 8.25, "rcvd": 3},   # 13 fw 1
            ping(min=0, result=[{"rtt": 0.0}, {"rtt": -3.0}]),                                # 14 no positive rtt
            [1, 2, 3],                                                                       # 15 not an object
        ]
    )
    assert got == [57.876, 11.0, 30.0, 9.5, 8.25]
    assert problems == [
        (3, "probe 1 to 192.0.2.1: no reply (rcvd 0)"),
        (4, "probe 1 to 192.0.2.1: no reply (rcvd 0)"),
        (5, "probe 1 to 192.0.2.1: no reply: error 'sendto failed: Network is unreachable'"),
        (7, "probe 1 to 192.0.2.1: no reply: 1 packet(s) lost"),
        (8, "probe 99 to 192.0.2.1: no position for probe 99 in the probe metadata given"),
        (9, "not a ping result (type 'traceroute')"),
        (10, "probe 1: no target (dst_addr, addr, dst_name or name)"),
        (11, "no numeric prb_id ('x')"),
        (14, "probe 1 to 192.0.2.1: no usable RTT (min 0, no per-packet reply times)"),
        (15, "not a result object (a JSON list)"),
    ]


def test_atlas_sample_fields():
    samples, _ = atlas_ping_samples([(3, ping(prb_id=2, min=4.0, result=[{"rtt": 4.0}]))], PROBES, source="f.json")
    s = samples[0]
    assert (s.vantage_id, s.vantage_lon, s.vantage_lat, s.vantage_uncertainty_m) == ("atlas:2", 120.16, 30.27, 400.0)
    assert (s.target, s.rtt_ms, s.measured_at) == ("192.0.2.1", 4.0, "2023-11-14T22:13:20Z")
    assert s.source == "RIPE Atlas msm 42 (f.json, record 3)"


def test_ping_file_as_json_array_and_as_lines_with_a_broken_line(tmp_path):
    records = [ping(min=5.0, result=[{"rtt": 5.0}]), ping(prb_id=2, result=[{"rtt": 7.0}])]
    as_array = tmp_path / "results.json"
    as_array.write_text(json.dumps(records))
    samples, problems = read_atlas_pings(as_array, PROBES)
    assert [s.rtt_ms for s in samples] == [5.0, 7.0] and problems == []
    as_lines = tmp_path / "results.jsonl"
    as_lines.write_text(json.dumps(records[0]) + "\n{broken\n\n" + json.dumps(records[1]) + "\n")
    samples, problems = read_atlas_pings(as_lines, PROBES)
    assert [s.rtt_ms for s in samples] == [5.0, 7.0]
    assert [(p.file, p.record) for p in problems] == [(str(as_lines), 2)] and "not JSON" in problems[0].reason


@pytest.mark.parametrize("content, message", [("", "empty"), ("nothing\nhere\n", "not JSON"), ("[]", "no ping results")])
def test_unusable_ping_file_raises_naming_it(tmp_path, content, message):
    path = tmp_path / "results.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as info:
        read_atlas_pings(path, PROBES)
    assert str(path) in str(info.value)


def test_traceroute_results_are_not_ping_results():
    path = ATLAS / "traceroute-results.jsonl"
    with pytest.raises(InputError, match=r"no ping results in the file \(found: traceroute\)") as info:
        read_atlas_pings(path, PROBES)
    assert str(path) in str(info.value)


# --------------------------------------------------------------------------- readers: RIPE Atlas fixture files

#: Fastest non-duplicate reply of every usable record in the fixtures (tests/fixtures/atlas/README.md lists what
#: each line exercises): per-packet lists with duplicates excluded, else the ``min`` field; the metadata files
#: place every probe of the firmware file, so only its record 14 (rcvd 0) is left out.
FIRMWARE_RTTS = [7.412, 243.118, 1.187, 238.77, 8.876, 26.958, 249.93, 8.64, 26.512, 236.402, 7.205, 1.116, 163.512, 87.96]
MIXED_RTTS = [1.912, 2.311, 5.803, 3.107, 71.203, 148.306, 8.97]


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_fixture_results_every_firmware():
    path = ATLAS / "ping-firmware-variants.jsonl"
    records = _lines(path)
    assert [r["fw"] for r in records] == [0, 1, 4420, 4460, 4480, 4500, 4520, 4550, 4560, 4570, 4600, 4610, 4610, 4600, 4650]
    # the shapes the expected values below depend on
    assert records[0]["min"] == "7.412" and "result" not in records[0]
    assert "dst_addr" not in records[1] and "type" not in records[1] and records[1]["name"] == "ping.example.net"
    assert "dst_addr" not in records[2] and records[2]["srcaddr"] and records[2]["mode"] == "ICMP4"
    assert {"dup": 1, "rtt": 41.07, "ttl": 49} in records[12]["result"] and records[12]["min"] == 163.512
    assert records[13]["rcvd"] == 0 and records[13]["avg"] == -1 and any("rtt" in x for x in records[13]["result"])
    probes = atlas_metadata()
    samples, problems = read_atlas_pings(path, probes)
    assert [s.rtt_ms for s in samples] == FIRMWARE_RTTS
    # duplicates are no replies: record 13's 41.07 ms is not its RTT, and record 14 (only duplicates came back) has none
    assert [(p.record, p.reason) for p in problems] == [(14, "probe 7104 to 192.0.2.10: no reply (rcvd 0)")]
    # fw 0 and 4400 have no dst_addr, fw 1 names the target "addr" (its "name" is a host name, not the target)
    assert [s.target for s in samples[:3]] == ["192.0.2.10"] * 3
    assert {s.target for s in samples} == {"192.0.2.10", "198.51.100.7"}
    first = samples[0]
    assert (first.vantage_id, first.vantage_lon, first.vantage_lat) == ("atlas:7101", 4.8897, 52.374)   # from probes-v1.json
    assert first.vantage_uncertainty_m == 400.0
    assert first.measured_at == "2012-01-01T12:30:00Z"
    assert first.source == f"RIPE Atlas msm 2001 ({path}, record 1)"
    assert [s.vantage_id for s in samples if s.rtt_ms > 200] == ["atlas:7201"] * 4


def test_fixture_results_spaced_keys_empty_results_ipv6_and_probes_without_position():
    path = ATLAS / "ping-mixed.jsonl"
    records = _lines(path)
    assert " proto" in records[0] and " lts" in records[1] and records[6]["type"] == "traceroute"
    assert (records[10]["rcvd"], records[10]["result"], records[10]["min"], records[10]["max"]) == (0, [], None, None)
    samples, problems = read_atlas_pings(path, atlas_metadata())
    assert [s.rtt_ms for s in samples] == MIXED_RTTS
    assert [(p.record, p.reason) for p in problems] == [
        (7, "not a ping result (type 'traceroute')"),
        (8, "probe 7204 to 203.0.113.53: no position for probe 7204 in the probe metadata given"),
        (9, "probe 7299 to 203.0.113.53: no position for probe 7299 in the probe metadata given"),
        (10, "probe 7301 to 2001:db8:53::1: no position for probe 7301 in the probe metadata given"),
        (11, "probe 7102 to 203.0.113.53: no reply (rcvd 0)"),
        (12, "probe 7104 to 2001:db8:53::1: no reply: error 'sendto failed: Network is unreachable' (and 2 more)"),
    ]
    assert sorted({s.target for s in samples}) == ["198.51.100.7", "2001:db8:53::1", "203.0.113.53"]
    # dst_addr wins over a host name in dst_name; the spaced-key records are read like any other
    assert samples[-1].target == "198.51.100.7" and samples[0].vantage_id == "atlas:7101"
    assert samples[4].measured_at == "2020-09-13T12:26:40Z" and samples[4].vantage_lat == 40.7128


def test_fixture_results_without_probe_positions_are_each_reported():
    """With the v1 metadata only, every result of a probe it does not place is a problem naming the probe."""
    probes, _ = read_atlas_probes(ATLAS / "probes-v1.json")
    located, unplaced, other = set(), [], []
    for name in ("ping-firmware-variants.jsonl", "ping-mixed.jsonl"):
        samples, problems = read_atlas_pings(ATLAS / name, probes)
        located |= {s.vantage_id for s in samples}
        for p in problems:
            (unplaced if "no position for probe" in p.reason else other).append((name, p.record, p.reason))
    assert located == {"atlas:7101", "atlas:7102", "atlas:7103", "atlas:7104"}
    assert sorted(int(r.split()[1]) for _, _, r in unplaced) == [7201] * 5 + [7202, 7202, 7203, 7203, 7204, 7205, 7299, 7301]
    assert [(n, r) for n, r, _ in other] == [
        ("ping-firmware-variants.jsonl", 14), ("ping-mixed.jsonl", 7), ("ping-mixed.jsonl", 11), ("ping-mixed.jsonl", 12)
    ]
    # no metadata at all: nothing is located, and every ping with a reply says so
    samples, problems = read_atlas_pings(ATLAS / "ping-firmware-variants.jsonl", {})
    assert samples == [] and len(problems) == 15 and sum("no position for probe" in p.reason for p in problems) == 14


def test_fixture_results_located():
    """The fixtures' RTTs through the whole path: per (probe, target) minimum, disks, targets, anycast."""
    probes = atlas_metadata()
    samples = []
    for name in ("ping-firmware-variants.jsonl", "ping-mixed.jsonl"):
        samples += read_atlas_pings(ATLAS / name, probes).samples
    best = {(s.target, s.vantage_id): s.rtt_ms for s in minimum_rtts(samples)}
    assert best[("192.0.2.10", "atlas:7201")] == 236.402   # four results over two years: 243.118, 238.77, 249.93, 236.402
    assert best[("192.0.2.10", "atlas:7102")] == 1.116     # fw 4420's 1.187, fw 4610's 1.116
    assert best[("198.51.100.7", "atlas:7103")] == 8.64    # two files: 8.876, 8.64 (the reply after two lost), 8.97
    ev = locate_targets(samples, polygons="bounding")
    assert sorted(ev) == ["192.0.2.10", "198.51.100.7", "2001:db8:53::1", "203.0.113.53"]
    assert [len(ev[t].disks) for t in sorted(ev)] == [6, 2, 2, 4]
    # one place each; a duplicate taken for a reply (Singapore 41.07 ms) would have made 192.0.2.10 anycast
    frankfurt, paris, los_angeles = (8.6821, 50.1109), (2.3522, 48.8566), (-118.2437, 34.0522)
    for target, where in (("192.0.2.10", frankfurt), ("198.51.100.7", paris), ("2001:db8:53::1", los_angeles)):
        assert not ev[target].anycast and ev[target].feasible.contains(Point(where)), target
    assert ev["192.0.2.10"].disks[0].vantage_id == "atlas:7102"
    assert ev["192.0.2.10"].disks[0].radius_m == pytest.approx(1.116 * KM_PER_MS * 1000.0 + 400.0)
    # Amsterdam, Tokyo and Singapore all answered within 3.2 ms: three instances at least
    anycast = ev["203.0.113.53"]
    assert anycast.anycast and anycast.instances_lower_bound == 3 and anycast.feasible is None
    assert {d.vantage_id for d in anycast.disjoint} == {"atlas:7101", "atlas:7201", "atlas:7202"}


# --------------------------------------------------------------------------- readers: plain CSV

HEADER = "vantage_id,vantage_lon,vantage_lat,target,rtt_ms"


def test_csv_good_and_bad_rows_reported_per_row(tmp_path):
    path = tmp_path / "rtt.csv"
    path.write_text(
        "\n".join(
            [
                HEADER,
                "sh,121.4737,31.2304,lingang-dc1,1.0",     # 2 good
                "hz,120.1551,30.2741,lingang-dc1,abc",     # 3 non-numeric RTT
                "hz,120.1551,30.2741,lingang-dc1,-1",      # 4 negative RTT
                "hz,120.1551,30.2741,lingang-dc1",         # 5 missing column
                "hz,120.1551,30.2741,,3.0",                # 6 empty target
                "hz,120.1551,95.0,lingang-dc1,3.0",        # 7 impossible latitude
                "hz,120.1551,30.2741,lingang-dc1,3.0,x",   # 8 extra field
                "",                                        # 9 blank: skipped
                "hz,120.1551,30.2741,192.0.2.1,inf",       # 10 not finite
                "hz,120.1551,30.2741,lingang-dc1,3.0",     # 11 good
            ]
        )
        + "\n"
    )
    samples, problems = read_rtt_csv(path)
    assert [(s.vantage_id, s.target, s.rtt_ms, s.vantage_uncertainty_m) for s in samples] == [
        ("sh", "lingang-dc1", 1.0, 0.0),
        ("hz", "lingang-dc1", 3.0, 0.0),
    ]
    assert samples[0].source == f"{path}, line 2"
    assert [(p.file, p.record, p.reason) for p in problems] == [
        (str(path), 3, "rtt_ms is not a finite number ('abc')"),
        (str(path), 4, "negative rtt_ms -1 (no reply?)"),
        (str(path), 5, "4 fields where the header has 5"),
        (str(path), 6, "missing value for column 'target'"),
        (str(path), 7, "vantage 'hz': impossible latitude 95 (must be within [-90, 90])"),
        (str(path), 8, "6 fields where the header has 5"),
        (str(path), 10, "rtt_ms is not a finite number ('inf')"),
    ]
    ev = locate_target(samples)
    assert ev.feasible.contains(Point(LINGANG))


def test_csv_optional_columns_uncertainty_crs_time(tmp_path):
    path = tmp_path / "rtt.csv"
    path.write_text(
        "\ufeff Vantage_ID ,vantage_lon,vantage_lat,target,rtt_ms,vantage_uncertainty_m,vantage_crs,measured_at\n"
        "sh,121.4781,31.2285,dc1,1.0,250,gcj02,2026-11-01T00:00:00Z\n"
        "hz,120.1551,30.2741,dc1,3.0,,,\n"
        "bj,116.4,39.9,dc1,3.0,-5,,\n"
        "gz,113.26,23.13,dc1,3.0,,mars,\n",
        encoding="utf-8",
    )
    samples, problems = read_rtt_csv(path)
    sh, hz = samples
    assert sh.vantage_uncertainty_m == 250.0 and sh.measured_at == "2026-11-01T00:00:00Z"
    # GCJ-02 converted to WGS-84: a few hundred metres west/north
    assert 300 < geodesic_distance_m(121.4781, 31.2285, sh.vantage_lon, sh.vantage_lat) < 700
    assert (hz.vantage_uncertainty_m, hz.measured_at, hz.vantage_lon) == (0.0, None, 120.1551)
    assert [p.record for p in problems] == [4, 5]
    assert "vantage_uncertainty_m" in problems[0].reason and "crs" in problems[1].reason


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "empty"),
        ("vantage_id,lon,lat,target,rtt\nx,1,2,t,3\n", "missing column"),
        (HEADER + ",rtt_ms\n", "more than once"),
    ],
)
def test_unusable_csv_raises_naming_the_file(tmp_path, content, message):
    path = tmp_path / "rtt.csv"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as info:
        read_rtt_csv(path)
    assert str(path) in str(info.value)


def test_csv_not_utf8_raises(tmp_path):
    path = tmp_path / "rtt.csv"
    path.write_bytes((HEADER + "\n上海,121.47,31.23,dc1,1\n").encode("gb18030"))
    with pytest.raises(InputError, match="not UTF-8"):
        read_rtt_csv(path)


def test_disk_is_the_documented_shape():
    ev = locate_target([sample("sh", SHANGHAI, 1.0)])
    d = ev.disks[0]
    assert isinstance(d, Disk)
    assert (d.vantage_id, d.lon, d.lat, d.rtt_ms) == ("sh", SHANGHAI[0], SHANGHAI[1], 1.0)
    with pytest.raises(AttributeError):
        d.radius_m = 0.0  # frozen
