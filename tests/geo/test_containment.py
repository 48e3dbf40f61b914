"""auditor.geo.containment against brute-force shapely references, on synthetic regions near 121E 31N.

The reference decides each point on its own, in the region's own metric plane
(``geom.projection``), from buffers drawn with 64 segments a quarter circle:

* inner = union over core parts of part.buffer(-accuracy); outer = union over all
  parts (envelopes included) of part.buffer(+accuracy);
* inside  iff the point is in inner and at least r from inner's edge
  (i.e. inner.buffer(-r) contains it);
* outside iff its distance to outer is more than r.

Why a tolerance at the decision lines: buffers replace arcs by chords, so two
implementations with different segment counts draw the shrunk/grown lines apart
near corners; the code therefore grows (and shrinks) its buffers on purpose by the
circumscribing factor 1 / cos(pi / 64) (16 segments a quarter circle), i.e. by
about 0.12 %, so that its chord-approximated outer is a superset of the exact one
and its inner a subset. That moves each decision line out by at most 0.12 % of
accuracy + r (1.2 m at 1,000 m). So the verdicts must agree except for points whose
signed distance to the inside line is within 0.2 % of r + 2 m of r (the 2 m holds
the inner's 0.12 % x accuracy, at most 1.2 m here), or whose distance to the
outside line is within 0.2 % of (r + accuracy) + 2 m of r. On top of that, the
code's decisive verdicts are checked to be *sound*: since its sure buffers
circumscribe the exact ones, "inside" is never short of the exact inside line and
"outside" never short of the exact outside line, up to 0.05 m of rounding (the
64-segment reference errs on the same, safe side).
"""

from __future__ import annotations

import doctest
import math
import zlib

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, MultiLineString, Point, box

from auditor.geo import containment
from auditor.geo.containment import (
    INDETERMINATE,
    INSIDE,
    OUTSIDE,
    BoundaryDistance,
    PartRole,
    RegionGeometry,
    RegionPart,
    Verdict,
)
from tests import geometries as G

CORE, ENVELOPE = PartRole.CORE, PartRole.ENVELOPE


def by_label(rows):
    """Parametrize rows whose first value is a readable label, using that label as the test id."""
    return [pytest.param(*row, id=row[0]) for row in rows]

SCENARIOS = {
    "box-with-hole-300m": [("box", G.BOX_WITH_HOLE, 300.0, CORE)],
    "L-with-holes-1000m": [("L", G.L_WITH_HOLES, 1000.0, CORE)],
    "mixed-300m-L+1000m-overlap+strip+spike+envelope": [
        ("L", G.L_WITH_HOLES, 300.0, CORE),
        ("overlap", G.OVERLAP_BOX, 1000.0, CORE),
        ("strip", G.NARROW_STRIP, 1000.0, CORE),
        ("spike", G.SPIKE, 500.0, CORE),
        ("west-envelope", G.WEST_NEIGHBOUR, 300.0, ENVELOPE),
    ],
}


def build(spec) -> RegionGeometry:
    return RegionGeometry("synthetic", [RegionPart(pid, G.to_wgs84(g), acc, role) for pid, g, acc, role in spec])


def projected(geom: RegionGeometry) -> list:
    """The parts in the region's own metric plane, projected here (not taken from the object).

    GeoJSON edges are straight in lon/lat (RFC 7946), which is a slight curve in metres;
    densifying to 0.001 deg (~100 m, finer than the code's own step) follows that curve.
    """
    return [G.to_metres(shapely.segmentize(p.geometry, 0.001), geom.projection) for p in geom.parts]


class Reference:
    """Brute-force per-point containment in metres, with generous quad_segs."""

    def __init__(self, geom: RegionGeometry, quad_segs: int = 64) -> None:
        parts_m = projected(geom)
        self.inner = shapely.union_all(
            [shapely.buffer(g, -p.accuracy_m, quad_segs=quad_segs) for g, p in zip(parts_m, geom.parts) if p.role is CORE]
        )
        self.outer = shapely.union_all(
            [shapely.buffer(g, p.accuracy_m, quad_segs=quad_segs) for g, p in zip(parts_m, geom.parts)]
        )
        self.nominal = shapely.union_all([g for g, p in zip(parts_m, geom.parts) if p.role is CORE])
        self.max_accuracy = max(p.accuracy_m for p in geom.parts)

    def signed(self, x, y):
        """(s_in, s_out): distance into inner (negative outside it); distance out of outer (negative inside it)."""
        pts = shapely.points(x, y)
        d_in = shapely.distance(shapely.boundary(self.inner), pts) if not self.inner.is_empty else np.full(len(x), np.inf)
        in_inner = shapely.contains(self.inner, pts)
        s_in = np.where(in_inner, d_in, -d_in)
        d_out = shapely.distance(shapely.boundary(self.outer), pts)
        s_out = np.where(shapely.contains(self.outer, pts), -d_out, d_out)
        return s_in, s_out

    def verdict(self, x, y, r):
        s_in, s_out = self.signed(x, y)
        inside = s_in >= r
        outside = s_out > r
        return np.where(inside, INSIDE, np.where(outside, OUTSIDE, INDETERMINATE)).astype(np.int8), s_in, s_out


def sample(ref: Reference, rng: np.random.Generator):
    """Points (metres) and radii: uniform, radius placed near the inside/outside lines, and r=0 near edges."""
    xmin, ymin, xmax, ymax = ref.outer.bounds
    n = 2000
    x = rng.uniform(xmin - 3000, xmax + 3000, n)
    y = rng.uniform(ymin - 3000, ymax + 3000, n)
    r = np.where(rng.random(n) < 0.25, 0.0, np.exp(rng.uniform(0.0, np.log(3000.0), n)))
    # radii chosen near each point's own decision distance (exercises the exact band code path)
    s_in, s_out = ref.signed(x, y)
    noise = rng.normal(0.0, 30.0, n)
    r_in = np.where(s_in > 0, np.abs(s_in + noise), r)
    r_out = np.where(s_out > 0, np.abs(s_out + noise), r)
    # r = 0 right at the inner and outer lines
    edges = shapely.union_all([shapely.boundary(ref.outer)] + ([shapely.boundary(ref.inner)] if not ref.inner.is_empty else []))
    at = shapely.line_interpolate_point(edges, rng.random(600), normalized=True)
    ex = shapely.get_x(at) + rng.normal(0.0, 20.0, 600)
    ey = shapely.get_y(at) + rng.normal(0.0, 20.0, 600)
    xs = np.concatenate([x, x, x, ex])
    ys = np.concatenate([y, y, y, ey])
    rs = np.concatenate([r, r_in, r_out, np.zeros(600)])
    return xs, ys, rs


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_classify_points_matches_brute_force_reference(name):
    geom = build(SCENARIOS[name])
    ref = Reference(geom)
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    x, y, r = sample(ref, rng)
    lon, lat = geom.projection.inverse(x, y)
    got = geom.classify_points(lon, lat, r)
    want, s_in, s_out = ref.verdict(x, y, r)

    # the code's lines sit up to (1 / cos(pi / 64) - 1) ~ 0.12 % of (r + accuracy) out from the exact ones
    tol_in = 0.002 * r + 2.0
    tol_out = 0.002 * (r + ref.max_accuracy) + 2.0
    decidable = (np.abs(s_in - r) > tol_in) & (np.abs(s_out - r) > tol_out)
    bad = np.flatnonzero(decidable & (got.verdict != want))
    assert bad.size == 0, [(int(got.verdict[i]), int(want[i]), float(r[i]), float(s_in[i]), float(s_out[i])) for i in bad[:10]]
    # the comparison is not vacuous: all three verdicts occur among the decidable points
    assert decidable.mean() > 0.6
    for code in (INSIDE, OUTSIDE, INDETERMINATE):
        assert np.count_nonzero(decidable & (want == code)) > 100

    # soundness: the sure buffers circumscribe the exact ones, so a decisive verdict is never wrong
    # (beyond rounding; the 64-segment reference is itself on the safe side of the exact lines)
    slack = 0.05
    said_in = got.verdict == INSIDE
    said_out = got.verdict == OUTSIDE
    assert np.all(s_in[said_in] >= r[said_in] - slack)
    assert np.all(s_out[said_out] > r[said_out] - slack)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_distance_nominal_inside_and_part_mask_match_shapely(name):
    geom = build(SCENARIOS[name])
    ref = Reference(geom)
    rng = np.random.default_rng(7)
    xmin, ymin, xmax, ymax = ref.outer.bounds
    x = rng.uniform(xmin - 5000, xmax + 5000, 3000)
    y = rng.uniform(ymin - 5000, ymax + 5000, 3000)
    got = geom.classify_points(*geom.projection.inverse(x, y), 0.0)
    pts = shapely.points(x, y)
    want_d = shapely.distance(shapely.boundary(ref.nominal), pts)
    assert np.abs(got.distance_m - want_d).max() < 0.5
    assert np.array_equal(got.nominal_inside, shapely.contains(ref.nominal, pts))
    for j, part_m in enumerate(projected(geom)):
        assert np.array_equal(got.part_mask[:, j], shapely.contains(part_m, pts)), geom.parts[j].id
    assert got.part_mask.shape == (3000, len(geom.parts))


# --- explicit cases -------------------------------------------------------------------------------


def classify_m(geom: RegionGeometry, xy, r=0.0):
    """Classify points given in metres on the catalogue plane G.PLANE."""
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    lon, lat = G.PLANE.inverse(xy[:, 0], xy[:, 1])
    return geom.classify_points(lon, lat, r)


def test_accuracy_is_per_part_deep_in_300m_part_beats_near_edge_of_1000m_part():
    # L (300 m) and OVERLAP_BOX (1,000 m) overlap on x 9-16 km, y 0-3.5 km.
    geom = build([("L", G.L_WITH_HOLES, 300.0, CORE), ("overlap", G.OVERLAP_BOX, 1000.0, CORE)])
    # (12.5 km, -2.5 km): 500 m inside the box's south edge, outside the L -> indeterminate
    # (14 km,   3.0 km): 500 m inside the box's north edge but 1.4 km deep in the L's arm -> inside
    # (8.0 km,  2.5 km): in the L only, 2.5 km from its edges -> inside even with r = 1.5 km
    got = classify_m(geom, [(12_500, -2_500), (14_000, 3_000), (8_000, 2_500)], [0.0, 0.0, 1_500.0])
    assert list(got.verdict) == [INDETERMINATE, INSIDE, INSIDE]
    assert got.part_mask.tolist() == [[False, True], [True, True], [True, False]]
    # the same 500 m point with only the 1,000 m part present is indeterminate
    alone = build([("overlap", G.OVERLAP_BOX, 1000.0, CORE)])
    assert list(classify_m(alone, [(14_000, 3_000)]).verdict) == [INDETERMINATE]


def test_part_narrower_than_twice_its_accuracy_is_never_inside():
    geom = build([("strip", G.NARROW_STRIP, 1000.0, CORE)])
    got = classify_m(geom, [(0, 16_750), (0, 16_750), (0, 19_000), (0, 20_000)], [0.0, 5_000.0, 0.0, 0.0])
    # centre of the 1.5 km strip, strip's 1,000 m band covers it: indeterminate, never inside
    # 1.5 km north of the strip (outer reaches 1,000 m): outside; 2.5 km north: outside
    assert list(got.verdict) == [INDETERMINATE, INDETERMINATE, OUTSIDE, OUTSIDE]
    assert got.nominal_inside.tolist() == [True, True, False, False]


@pytest.mark.parametrize(
    ("label", "xy", "r", "expected"),
    by_label([
        ("hole-centre-r0", (250, 0), 0.0, OUTSIDE),            # 1.5 km from the hole's edge, accuracy 300
        ("hole-centre-r1000", (250, 0), 1_000.0, OUTSIDE),     # 1,000 + 300 < 1,500
        ("hole-centre-r1300", (250, 0), 1_300.0, INDETERMINATE),
        ("hole-edge-r0", (2_500, 0), 0.0, INDETERMINATE),
        ("ring-600m-from-hole-r0", (3_100, 0), 0.0, INSIDE),
        ("ring-600m-from-hole-r250", (3_100, 0), 250.0, INSIDE),
        ("ring-600m-from-hole-r350", (3_100, 0), 350.0, INDETERMINATE),
        ("far-outside-r2000", (14_000, 0), 2_000.0, OUTSIDE),  # 4 km out: 300 + 2,000 < 4,000
        ("far-outside-r4000", (14_000, 0), 4_000.0, INDETERMINATE),
    ]),
)
def test_box_with_hole_cases(label, xy, r, expected):
    geom = build(SCENARIOS["box-with-hole-300m"])
    assert classify_m(geom, [xy], r).verdict[0] == expected


def test_envelope_parts_never_yield_inside():
    geom = build([("L", G.L_WITH_HOLES, 300.0, CORE), ("west", G.WEST_NEIGHBOUR, 300.0, ENVELOPE)])
    rng = np.random.default_rng(3)
    xy = np.column_stack([rng.uniform(-7_500, -500, 2000), rng.uniform(500, 13_500, 2000)])
    got = classify_m(geom, xy, rng.choice([0.0, 10.0, 200.0], 2000))
    assert not np.any(got.verdict == INSIDE)
    assert np.all(got.verdict == INDETERMINATE)  # deep in the envelope: not outside either
    assert not got.nominal_inside.any()           # the nominal region is the core parts only
    assert got.part_mask[:, 1].all() and not got.part_mask[:, 0].any()
    # the core part beside it is still inside away from the shared edge
    assert classify_m(geom, [(3_000, 10_000)]).verdict[0] == INSIDE


def test_region_of_only_an_envelope_has_no_inside():
    geom = build([("env", G.BOX_WITH_HOLE, 300.0, ENVELOPE)])
    got = classify_m(geom, [(5_000, 5_000), (0, 0), (30_000, 0)], 0.0)
    assert list(got.verdict) == [INDETERMINATE, OUTSIDE, OUTSIDE]
    assert not got.nominal_inside.any()


def test_invalid_input_is_indeterminate_with_nan_distance_and_does_not_raise():
    geom = build(SCENARIOS["box-with-hole-300m"])
    inside_lon, inside_lat = G.PLANE.inverse(6_000.0, 5_000.0)
    lon = [np.nan, float(inside_lon), np.inf, float(inside_lon), float(inside_lon), -np.inf, float(inside_lon)]
    lat = [float(inside_lat), np.nan, float(inside_lat), float(inside_lat), float(inside_lat), np.nan, float(inside_lat)]
    r = [0.0, 0.0, 0.0, np.nan, -5.0, np.inf, 100.0]
    got = geom.classify_points(lon, lat, r)
    assert list(got.verdict) == [INDETERMINATE] * 6 + [INSIDE]
    assert np.all(np.isnan(got.distance_m[:6])) and np.isfinite(got.distance_m[6])
    assert not got.nominal_inside[:6].any() and got.nominal_inside[6]
    assert not got.part_mask[:6].any()
    assert got.verdicts()[-1] is Verdict.INSIDE


def test_all_invalid_and_empty_input():
    geom = build(SCENARIOS["box-with-hole-300m"])
    got = geom.classify_points([np.nan, np.nan], [np.nan, 31.0], 0.0)
    assert list(got.verdict) == [INDETERMINATE, INDETERMINATE] and np.isnan(got.distance_m).all()
    empty = geom.classify_points([], [], [])
    assert empty.verdict.shape == (0,) and empty.part_mask.shape == (0, 1)


def test_scalar_point_is_accepted():
    geom = build(SCENARIOS["box-with-hole-300m"])
    lon, lat = G.PLANE.inverse(6_000.0, 5_000.0)
    got = geom.classify_points(float(lon), float(lat), 0.0)
    assert int(np.ravel(got.verdict)[0]) == INSIDE


def test_outside_line_is_exactly_accuracy_plus_r_on_a_straight_edge():
    geom = build([("box", G.BOX_WITH_HOLE, 1000.0, CORE)])
    # east edge x = 10 km, straight; 1,005 m east of it, and 1,105 m with r = 100
    got = classify_m(geom, [(11_005, 0), (11_105, 0)], [0.0, 100.0])
    assert list(got.verdict) == [OUTSIDE, OUTSIDE]


def test_decision_lines_sit_between_accuracy_and_the_circumscribing_factor_on_a_straight_edge():
    """The lines sit between acc and acc / cos(pi / 64) (1,000-1,001.2 m here) beyond (or within) the edge, plus r.

    The code grows outer and shrinks inner by accuracy_m / cos(pi / 64) (~ +0.12 %), the factor
    that makes 16-segment chords circumscribe the exact arcs.
    """
    acc = 1000.0
    assert acc < acc / math.cos(math.pi / 64) < 1001.3
    geom = build([("box", G.BOX_WITH_HOLE, acc, CORE)])
    # east edge x = 10 km. Outside line: the exact rule says outside just beyond 1,000 m (+ r),
    # the code from 1,001.2 m (+ r) on
    got = classify_m(geom, [(11_000.1, 0), (11_001.3, 0), (10_900, 0), (11_100.1, 0), (11_101.3, 0)],
                     [0.0, 0.0, 0.0, 100.0, 100.0])
    assert list(got.verdict) == [INDETERMINATE, OUTSIDE, INDETERMINATE, INDETERMINATE, OUTSIDE]
    # inside line: the exact rule says inside from 1,000 m (+ r) in, the code from 1,001.2 m (+ r) in
    got = classify_m(geom, [(8_999.9, 0), (8_998.7, 0), (8_899.9, 0), (8_898.7, 0)], [0.0, 0.0, 100.0, 100.0])
    assert list(got.verdict) == [INDETERMINATE, INSIDE, INDETERMINATE, INSIDE]


def test_module_docstring_example():
    finder = doctest.DocTestFinder()
    tests = [t for t in finder.find(containment) if t.examples]
    assert tests
    runner = doctest.DocTestRunner()
    for t in tests:
        runner.run(t, out=lambda _s: None)
    assert runner.failures == 0


# --- BoundaryDistance --------------------------------------------------------------------------------

LINES = {
    "L-rings-with-holes": shapely.boundary(G.L_WITH_HOLES),
    "open-zigzag": LineString([(0, 0), (3, 1), (2_000, 40), (2_100, -3_000), (7_777, -2_500), (7_790, 4_000), (-500, 4_100)]),
    "two-open-lines": MultiLineString([[(0, 0), (10_000, 10_000)], [(0, 10_000), (4_000, 6_500), (10_000, 0.0)]]),
    "box-ring": shapely.boundary(box(-1_000, -1_000, 1_000, 1_000)),
}
SPACINGS = [pytest.param(10.0, 0.5, id="spacing10-tol0.5"), pytest.param(250.0, 0.5, id="spacing250-tol0.5"),
            pytest.param(50.0, 0.1, id="spacing50-tol0.1")]


def _probe_points(lines, rng):
    xmin, ymin, xmax, ymax = lines.bounds
    near_at = shapely.line_interpolate_point(lines, rng.random(1500), normalized=True)
    near = np.column_stack([shapely.get_x(near_at), shapely.get_y(near_at)]) + rng.normal(0, 30.0, (1500, 2))
    box_pts = np.column_stack([rng.uniform(xmin - 500, xmax + 500, 1500), rng.uniform(ymin - 500, ymax + 500, 1500)])
    ang = rng.uniform(0, 2 * np.pi, 500)
    far = np.column_stack([(xmin + xmax) / 2 + 60_000 * np.cos(ang), (ymin + ymax) / 2 + 60_000 * np.sin(ang)])
    return np.concatenate([near, box_pts, far])


@pytest.mark.parametrize(("spacing", "tol"), SPACINGS)
@pytest.mark.parametrize("name", list(LINES))
def test_boundary_distance_equals_shapely_distance(name, spacing, tol):
    lines = LINES[name]
    bd = BoundaryDistance(lines, spacing=spacing, tolerance_m=tol)
    rng = np.random.default_rng(11)
    p = _probe_points(lines, rng)
    got = bd.distance(p[:, 0], p[:, 1])
    want = shapely.distance(lines, shapely.points(p))
    err = np.abs(got - want)
    assert err.max() <= tol + 1e-9, f"max error {err.max():.3f} m at {p[err.argmax()]}"
    assert np.all(got >= want - 1e-6)  # an upper bound, never an underestimate


@pytest.mark.parametrize("name", list(LINES))
def test_boundary_distance_is_zero_on_the_line(name):
    lines = LINES[name]
    bd = BoundaryDistance(lines)
    verts = shapely.get_coordinates(lines)
    on = shapely.line_interpolate_point(lines, np.linspace(0.0, 1.0, 301), normalized=True)
    pts = np.concatenate([verts, np.column_stack([shapely.get_x(on), shapely.get_y(on)])])
    d = bd.distance(pts[:, 0], pts[:, 1])
    assert np.all(d < 1e-6)


def test_boundary_distance_invalid_points_are_nan():
    bd = BoundaryDistance(LINES["box-ring"])
    d = bd.distance([np.nan, 0.0, np.inf, 2_000.0], [0.0, np.nan, 0.0, 0.0])
    assert np.isnan(d[:3]).all() and d[3] == pytest.approx(1_000.0, abs=1e-9)


# --- classify_geometries ------------------------------------------------------------------------------

BOX = box(0, 0, 10_000, 10_000)


@pytest.mark.parametrize(
    ("label", "claim", "same_source", "expected"),
    by_label([
        ("same-source-touching-along-east-edge", box(10_000, 2_000, 15_000, 8_000), True, Verdict.OUTSIDE),
        ("same-source-sharing-whole-edge", box(10_000, 0, 20_000, 10_000), True, Verdict.OUTSIDE),
        ("same-source-overlapping", box(8_000, 2_000, 15_000, 8_000), True, Verdict.INDETERMINATE),
        ("same-source-contained-touching-edge", box(0, 0, 3_000, 3_000), True, Verdict.INSIDE),
        ("same-source-far", box(30_000, 0, 35_000, 5_000), True, Verdict.OUTSIDE),
        ("other-source-touching-is-within-accuracy", box(10_000, 2_000, 15_000, 8_000), False, Verdict.INDETERMINATE),
        ("other-source-overlapping", box(8_000, 2_000, 15_000, 8_000), False, Verdict.INDETERMINATE),
        ("other-source-contained-deep", box(2_000, 2_000, 8_000, 8_000), False, Verdict.INSIDE),
        ("other-source-contained-within-300m-of-edge", box(2_000, 2_000, 9_800, 8_000), False, Verdict.INDETERMINATE),
        ("other-source-1km-away", box(11_000, 2_000, 15_000, 8_000), False, Verdict.OUTSIDE),
    ]),
)
def test_classify_geometries(label, claim, same_source, expected):
    geom = RegionGeometry("r", [RegionPart("box", G.to_wgs84(BOX), 300.0)])
    assert geom.classify_geometries([G.to_wgs84(claim)], same_source=same_source) == [expected]


def test_classify_geometries_uncertainty_grows_the_claim():
    geom = RegionGeometry("r", [RegionPart("box", G.to_wgs84(BOX), 300.0)])
    claims = [G.to_wgs84(box(4_000, 4_000, 6_000, 6_000))] * 3 + [G.to_wgs84(box(12_000, 4_000, 13_000, 6_000))] * 2
    got = geom.classify_geometries(claims, [0.0, 3_500.0, 3_800.0, 1_600.0, 1_800.0])
    # deep square: 4 km from the edge -> inside until r > 4,000 - 300
    # square 2 km east of the edge: outside while r + 300 < 2,000
    assert got == [Verdict.INSIDE, Verdict.INSIDE, Verdict.INDETERMINATE, Verdict.OUTSIDE, Verdict.INDETERMINATE]


@pytest.mark.parametrize(
    "claim",
    [pytest.param(Point(5_000, 5_000), id="point-at-centre"),
     pytest.param(LineString([(4_000, 5_000), (6_000, 5_000)]), id="line-at-centre")],
)
def test_classify_geometries_point_and_line_with_zero_radius(claim):
    geom = RegionGeometry("r", [RegionPart("box", G.to_wgs84(BOX), 300.0)])
    assert geom.classify_geometries([G.to_wgs84(claim)], 0.0) == [Verdict.INSIDE]


def test_classify_geometries_point_with_radius_agrees_with_classify_points():
    geom = RegionGeometry("r", [RegionPart("box", G.to_wgs84(BOX), 300.0)])
    xy = [(5_000, 5_000), (9_800, 5_000), (12_000, 5_000)]
    claims = [G.to_wgs84(Point(p)) for p in xy]
    got = geom.classify_geometries(claims, 100.0)
    pts = classify_m(geom, xy, 100.0)
    assert got == [Verdict.INSIDE, Verdict.INDETERMINATE, Verdict.OUTSIDE]
    assert got == pts.verdicts()


def test_nearest_part_accuracy_is_the_exact_nearest_parts() -> None:
    """Shanghai's parts differ in accuracy (Pudong 300 m, Lingang 1,000 m) and share lines: the
    k-d trees' answer, measured exactly where it is unclear, is what exact distances to every part give."""
    from auditor.regions import load_registry

    geom = load_registry().region("shanghai").geometry
    rng = np.random.default_rng(11)
    shared = shapely.get_coordinates(shapely.boundary(geom.parts[1].geometry))
    lon = np.concatenate([rng.uniform(121.4, 122.1, 3_000), shared[:, 0], shared[:, 0] + 2e-6, shared[:, 0] - 2e-5])
    lat = np.concatenate([rng.uniform(30.6, 31.4, 3_000), shared[:, 1], shared[:, 1], shared[:, 1] + 1e-5])
    x, y = geom.projection.forward(lon, lat)
    exact = np.column_stack([shapely.distance(shapely.boundary(g), shapely.points(x, y)) for g in geom.projected_parts])
    accuracy = np.array([p.accuracy_m for p in geom.parts])
    expected = accuracy[np.argmin(exact, axis=1)]
    got = geom.nearest_part_accuracy_m(lon, lat)
    assert (got == expected).all()
    assert set(expected) == {300.0, 1000.0}
    one_part = load_registry().region("beijing").geometry
    assert (one_part.nearest_part_accuracy_m(lon, lat) == one_part.parts[0].accuracy_m).all()


def test_threads_take_turns_with_a_region_geometry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Several threads (a Dask worker's, a notebook's pool) using one region's prepared geometries get
    what one thread gets, and every GEOS call runs under the geometry lock."""
    import concurrent.futures

    from auditor.regions import load_registry

    geom = load_registry().region("shanghai").geometry
    rng = np.random.default_rng(21)
    batches = [(rng.uniform(121.3, 122.1, 2_000), rng.uniform(30.7, 31.4, 2_000)) for _ in range(8)]
    alone = [geom.classify_points(x, y, 50.0) for x, y in batches]
    held = []
    real = shapely.contains_xy

    def watched(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        held.append(containment._GEOS_LOCK._is_owned())
        return real(*args, **kwargs)

    monkeypatch.setattr(containment.shapely, "contains_xy", watched)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda b: geom.classify_points(b[0], b[1], 50.0), batches))
    for a, t in zip(alone, together):
        assert np.array_equal(a.verdict, t.verdict) and np.array_equal(a.distance_m, t.distance_m)
    assert held and all(held)
