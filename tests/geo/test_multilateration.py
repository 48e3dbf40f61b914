"""Latency evidence, the geometry (auditor.geo.multilateration): RTT disks, feasible regions and anycast.

Synthetic vantage sets with known answers around Shanghai; disk polygons checked geodesically.
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
