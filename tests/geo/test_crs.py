"""auditor.geo.crs against the independent ``prcoords`` implementation, plus round-trip properties.

``prcoords`` (Artoria2e5/PRCoords, CC0/GPLv3) is a separate, scalar implementation of the
same published formulas. Its ``Coords`` are (lat, lon); ours are (lon, lat). Differences
are measured on the ground in metres with pyproj's WGS-84 geodesic.

Its "bored" inverses stop once a fixed-point step moves less than 1e-5 degrees (about a
metre) - their last step then leaves them centimetres from the exact inverse - so the
inverses are compared to 1 m; ours iterate to a 1e-10 degree residual, which is checked
on its own (forward(inverse(g)) == g to 1 mm).
"""

from __future__ import annotations

import doctest
import warnings

import numpy as np
import prcoords
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from auditor.errors import UsageError
from auditor.geo import crs
from auditor.geo.crs import CRS

GEOD = Geod(ellps="WGS84")

# China's bounding box (lon 73-135, lat 18-53): a regular 1-degree grid plus random points.
_GRID_LON, _GRID_LAT = np.meshgrid(np.arange(73.0, 135.01, 1.0), np.arange(18.0, 53.01, 1.0))
_RNG = np.random.default_rng(20240408)
CHINA_LON = np.concatenate([_GRID_LON.ravel(), _RNG.uniform(73.0, 135.0, 1500)])
CHINA_LAT = np.concatenate([_GRID_LAT.ravel(), _RNG.uniform(18.0, 53.0, 1500)])

# Well outside the GCJ-02 rectangle (lon 72.004-137.8347, lat 0.8293-55.8271).
OUTSIDE_CHINA = {
    "london": (-0.1276, 51.5072),
    "berlin": (13.405, 52.52),
    "new-york": (-74.006, 40.7128),
    "santiago": (-70.6693, -33.4489),
    "sydney": (151.2093, -33.8688),
    "tokyo-east-of-137.83E": (139.6917, 35.6895),
    "moscow": (37.6173, 55.7558),
    "yakutsk-north-of-55.83N": (129.7, 62.03),
    "jakarta-south-of-0.83N": (106.8456, -6.2088),
}


def metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    a = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (lon1, lat1, lon2, lat2)))
    _, _, d = GEOD.inv(*a)
    return np.asarray(d)


def prc(fn, lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Apply a prcoords (lat, lon) function to (lon, lat) arrays, returning (lon, lat) arrays."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # prcoords warns (and returns as-is) outside China
        out = [fn(prcoords.Coords(float(b), float(a))) for a, b in zip(np.atleast_1d(lon), np.atleast_1d(lat))]
    return np.array([c.lon for c in out]), np.array([c.lat for c in out])


# --- every conversion against prcoords ---------------------------------------------------

FORWARD = [
    pytest.param(crs.wgs84_to_gcj02, prcoords.wgs_gcj, id="wgs84_to_gcj02-vs-wgs_gcj"),
    pytest.param(crs.gcj02_to_bd09, prcoords.gcj_bd, id="gcj02_to_bd09-vs-gcj_bd"),
    pytest.param(lambda lo, la: crs.from_wgs84(lo, la, "gcj02"), prcoords.wgs_gcj, id="from_wgs84-gcj02-vs-wgs_gcj"),
    pytest.param(lambda lo, la: crs.from_wgs84(lo, la, CRS.BD09), prcoords.wgs_bd, id="from_wgs84-bd09-vs-wgs_bd"),
]

INVERSE = [
    pytest.param(crs.gcj02_to_wgs84, prcoords.gcj_wgs_bored, id="gcj02_to_wgs84-vs-gcj_wgs_bored"),
    pytest.param(crs.bd09_to_gcj02, prcoords.bd_gcj_bored, id="bd09_to_gcj02-vs-bd_gcj_bored"),
    pytest.param(lambda lo, la: crs.to_wgs84(lo, la, "gcj02"), prcoords.gcj_wgs_bored, id="to_wgs84-gcj02-vs-gcj_wgs_bored"),
    pytest.param(lambda lo, la: crs.to_wgs84(lo, la, CRS.BD09), prcoords.bd_wgs_bored, id="to_wgs84-bd09-vs-bd_wgs_bored"),
]


@pytest.mark.parametrize(("ours", "theirs"), FORWARD)
def test_forward_formula_matches_prcoords_to_1cm(ours, theirs):
    lon, lat = ours(CHINA_LON, CHINA_LAT)
    ref_lon, ref_lat = prc(theirs, CHINA_LON, CHINA_LAT)
    d = metres(lon, lat, ref_lon, ref_lat)
    assert d.max() < 0.01, f"max difference {d.max():.4f} m at index {d.argmax()}"
    # and the conversion does move the points (a no-op would trivially "agree" with itself)
    assert metres(CHINA_LON, CHINA_LAT, lon, lat).min() > 10.0


@pytest.mark.parametrize(("ours", "theirs"), INVERSE)
def test_exact_inverse_matches_prcoords_to_1m(ours, theirs):
    lon, lat = ours(CHINA_LON, CHINA_LAT)
    ref_lon, ref_lat = prc(theirs, CHINA_LON, CHINA_LAT)
    d = metres(lon, lat, ref_lon, ref_lat)
    assert d.max() < 1.0, f"max difference {d.max():.4f} m at index {d.argmax()}"
    assert metres(CHINA_LON, CHINA_LAT, lon, lat).min() > 10.0


INVERSE_PAIRS = [
    pytest.param(crs.gcj02_to_wgs84, crs.wgs84_to_gcj02, id="gcj02_to_wgs84"),
    pytest.param(crs.bd09_to_gcj02, crs.gcj02_to_bd09, id="bd09_to_gcj02"),
    pytest.param(lambda lo, la: crs.to_wgs84(lo, la, "bd09"), lambda lo, la: crs.from_wgs84(lo, la, "bd09"), id="to_wgs84-bd09"),
]


@pytest.mark.parametrize(("inverse", "forward"), INVERSE_PAIRS)
def test_inverse_is_exact_residual_below_1mm(inverse, forward):
    """forward(inverse(g)) == g: the iteration runs to a 1e-10 degree residual (~0.01 mm)."""
    w_lon, w_lat = inverse(CHINA_LON, CHINA_LAT)
    g_lon, g_lat = forward(w_lon, w_lat)
    assert metres(g_lon, g_lat, CHINA_LON, CHINA_LAT).max() < 1e-3
    assert np.abs(g_lon - CHINA_LON).max() < 1e-9 and np.abs(g_lat - CHINA_LAT).max() < 1e-9


def test_gcj_offset_has_the_published_magnitude_in_china():
    """The published offset is up to ~700 m in China; BD-09 adds a further ~0.8-1 km."""
    g = metres(CHINA_LON, CHINA_LAT, *crs.wgs84_to_gcj02(CHINA_LON, CHINA_LAT))
    assert 0.0 < g.min() and g.max() < 700.0
    assert np.median(g) > 200.0
    b = metres(*crs.gcj02_to_bd09(CHINA_LON, CHINA_LAT), CHINA_LON, CHINA_LAT)
    assert 700.0 < b.min() and b.max() < 1000.0


def test_known_value_people_square():
    """GCJ-02 (121.5, 31.2) is WGS-84 (121.495555, 31.202019): 1e-6 degree agreement with prcoords."""
    lon, lat = crs.to_wgs84(121.5, 31.2, "gcj02")
    ref = prcoords.gcj_wgs_bored(prcoords.Coords(31.2, 121.5))
    assert abs(float(lon) - ref.lon) < 1e-6 and abs(float(lat) - ref.lat) < 1e-6
    assert (round(float(lon), 6), round(float(lat), 6)) == (121.495555, 31.202019)


def _doctests():
    finder = doctest.DocTestFinder()
    tests = [t for t in finder.find(crs) if t.examples]
    return [pytest.param(t, id=t.name) for t in tests]


@pytest.mark.parametrize("dt", _doctests())
def test_docstring_examples(dt):
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(dt, out=lambda _s: None)
    assert runner.failures == 0 and runner.tries > 0


# --- round trips (Hypothesis) ----------------------------------------------------------------

china_lon = st.floats(min_value=73.0, max_value=135.0, allow_nan=False, allow_infinity=False)
china_lat = st.floats(min_value=18.0, max_value=53.0, allow_nan=False, allow_infinity=False)
ROUND_TRIP = settings(max_examples=300, deadline=None, database=None)


@ROUND_TRIP
@given(china_lon, china_lat)
def test_round_trip_wgs_gcj_wgs_below_1mm(lon, lat):
    back = crs.gcj02_to_wgs84(*crs.wgs84_to_gcj02(lon, lat))
    assert metres(lon, lat, *back) < 1e-3


@ROUND_TRIP
@given(china_lon, china_lat)
def test_round_trip_wgs_bd_wgs_below_1mm(lon, lat):
    back = crs.to_wgs84(*crs.from_wgs84(lon, lat, CRS.BD09), CRS.BD09)
    assert metres(lon, lat, *back) < 1e-3


@ROUND_TRIP
@given(china_lon, china_lat)
def test_round_trip_gcj_wgs_gcj_below_1mm(lon, lat):
    back = crs.from_wgs84(*crs.to_wgs84(lon, lat, "gcj02"), "gcj02")
    assert metres(lon, lat, *back) < 1e-3


@settings(max_examples=50, deadline=None, database=None)
@given(st.lists(st.tuples(china_lon, china_lat), min_size=1, max_size=20), st.sampled_from(["gcj02", "bd09"]))
def test_vectorised_conversion_equals_elementwise(points, system):
    lon = np.array([p[0] for p in points])
    lat = np.array([p[1] for p in points])
    v_lon, v_lat = crs.to_wgs84(lon, lat, system)
    for i, (a, b) in enumerate(points):
        s_lon, s_lat = crs.to_wgs84(a, b, system)
        assert metres(v_lon[i], v_lat[i], s_lon, s_lat) < 1e-3


def test_nan_in_a_batch_stays_nan_and_does_not_spoil_the_others():
    lon, lat = crs.to_wgs84([np.nan, 121.5, 116.39], [np.nan, 31.2, np.nan], "bd09")
    assert np.isnan(lon[0]) and np.isnan(lat[0]) and np.isnan(lat[2])
    ref = crs.to_wgs84(121.5, 31.2, "bd09")
    assert metres(lon[1], lat[1], *ref) < 1e-3


# --- outside China -----------------------------------------------------------------------------


@pytest.mark.parametrize("place", list(OUTSIDE_CHINA), ids=list(OUTSIDE_CHINA))
def test_gcj_leaves_points_outside_china_unchanged(place):
    lon, lat = OUTSIDE_CHINA[place]
    assert tuple(map(float, crs.wgs84_to_gcj02(lon, lat))) == (lon, lat)
    assert tuple(map(float, crs.gcj02_to_wgs84(lon, lat))) == (lon, lat)
    assert tuple(map(float, crs.to_wgs84(lon, lat, "gcj02"))) == (lon, lat)
    # prcoords agrees: it returns non-Chinese coordinates as they are
    with pytest.warns(UserWarning):
        ref = prcoords.wgs_gcj(prcoords.Coords(lat, lon))
    assert (ref.lon, ref.lat) == (lon, lat)
    # BD-09's own shift is not limited to China
    b_lon, b_lat = crs.from_wgs84(lon, lat, "bd09")
    ref_b_lon, ref_b_lat = prc(lambda c: prcoords.gcj_bd(c), lon, lat)
    assert metres(b_lon, b_lat, ref_b_lon[0], ref_b_lat[0]) < 0.01
    assert metres(lon, lat, b_lon, b_lat) > 500.0


def test_gcj_applies_inside_the_rectangle_edges_and_not_beyond():
    inside = crs.wgs84_to_gcj02([72.004, 137.8347, 100.0, 100.0], [40.0, 40.0, 0.8293, 55.8271])
    assert np.all(metres([72.004, 137.8347, 100.0, 100.0], [40.0, 40.0, 0.8293, 55.8271], *inside) > 10.0)
    lon = np.array([72.0039, 137.8348, 100.0, 100.0])
    lat = np.array([40.0, 40.0, 0.8292, 55.8272])
    out_lon, out_lat = crs.wgs84_to_gcj02(lon, lat)
    assert np.array_equal(out_lon, lon) and np.array_equal(out_lat, lat)


# --- parse_crs -------------------------------------------------------------------------------------

ALIASES = [
    ("wgs84", CRS.WGS84), ("WGS84", CRS.WGS84), ("WGS-84", CRS.WGS84), ("  wgs   84 ", CRS.WGS84),
    ("EPSG:4326", CRS.WGS84), ("4326", CRS.WGS84), ("GPS", CRS.WGS84), ("CGCS2000", CRS.WGS84),
    ("epsg:4490", CRS.WGS84),
    ("gcj02", CRS.GCJ02), ("GCJ-02", CRS.GCJ02), ("gcj", CRS.GCJ02), ("AMap", CRS.GCJ02),
    ("Tencent", CRS.GCJ02), ("火星坐标", CRS.GCJ02), ("火星坐标系", CRS.GCJ02), ("国测局坐标", CRS.GCJ02),
    ("bd09", CRS.BD09), ("BD-09", CRS.BD09), ("bd09ll", CRS.BD09), ("Baidu", CRS.BD09),
    ("百度坐标", CRS.BD09), ("百度坐标系", CRS.BD09),
    (CRS.GCJ02, CRS.GCJ02), (CRS.BD09, CRS.BD09),
]


@pytest.mark.parametrize(("text", "expected"), ALIASES, ids=[f"{'CRS.' + a.name if isinstance(a, CRS) else a.strip()}->{b.value}" for a, b in ALIASES])
def test_parse_crs_aliases(text, expected):
    assert crs.parse_crs(text) is expected


@pytest.mark.parametrize("bad", ["utm", "", "epsg:3857", "bd09mc", "gcj 02x", "wgs72"], ids=lambda v: v or "empty")
def test_parse_crs_rejects_unknown_value_listing_valid_ones(bad):
    with pytest.raises(UsageError) as info:
        crs.parse_crs(bad)
    err = info.value
    assert err.option == "crs"
    assert err.value == bad
    assert set(err.valid) == {"wgs84", "gcj02", "bd09"}
    for name in ("wgs84", "gcj02", "bd09"):
        assert name in str(err)


@pytest.mark.parametrize("func", [crs.to_wgs84, crs.from_wgs84], ids=["to_wgs84", "from_wgs84"])
def test_conversions_reject_unknown_crs(func):
    with pytest.raises(UsageError, match="gcj02"):
        func(121.5, 31.2, "mercator")


@pytest.mark.parametrize("func", [crs.to_wgs84, crs.from_wgs84], ids=["to_wgs84", "from_wgs84"])
def test_wgs84_is_identity(func):
    lon, lat = func([121.5, 10.0], [31.2, 50.0], "cgcs2000")
    assert np.array_equal(lon, [121.5, 10.0]) and np.array_equal(lat, [31.2, 50.0])


# --- datum_ambiguity_m -----------------------------------------------------------------------------


def _independent_ambiguity(lon, lat):
    g_lon, g_lat = prc(prcoords.gcj_wgs_bored, lon, lat)
    b_lon, b_lat = prc(prcoords.bd_wgs_bored, lon, lat)
    return np.maximum(metres(lon, lat, g_lon, g_lat), metres(lon, lat, b_lon, b_lat))


def test_datum_ambiguity_in_china_matches_independent_computation():
    lon, lat = CHINA_LON[::7], CHINA_LAT[::7]
    ours = crs.datum_ambiguity_m(lon, lat)
    ref = _independent_ambiguity(lon, lat)
    assert np.abs(ours - ref).max() < 1.0
    # the BD-09 reading dominates: GCJ's 20-700 m plus Baidu's ~0.8-1 km
    assert 600.0 < ours.min() and ours.max() < 1600.0


@pytest.mark.parametrize(
    ("place", "lon", "lat"),
    [pytest.param(*row, id=row[0]) for row in
     [("beijing-tiananmen", 116.3912, 39.9073), ("shanghai-people-square", 121.4737, 31.2304), ("kashgar", 75.99, 39.47)]],
)
def test_datum_ambiguity_at_chinese_cities(place, lon, lat):
    d = float(crs.datum_ambiguity_m(lon, lat))
    assert 100.0 < d < 1600.0
    assert abs(d - float(_independent_ambiguity(lon, lat)[0])) < 1.0


@pytest.mark.parametrize("place", list(OUTSIDE_CHINA), ids=list(OUTSIDE_CHINA))
def test_datum_ambiguity_outside_china_is_only_the_baidu_shift(place):
    lon, lat = OUTSIDE_CHINA[place]
    g_lon, g_lat = crs.to_wgs84(lon, lat, "gcj02")
    assert metres(lon, lat, g_lon, g_lat) == 0.0
    d = float(crs.datum_ambiguity_m(lon, lat))
    bd = float(metres(lon, lat, *crs.to_wgs84(lon, lat, "bd09")))
    assert d == pytest.approx(bd, abs=1e-6)
    assert 500.0 < d < 1100.0


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_conversion_of_a_point_does_not_depend_on_the_points_beside_it(system: str) -> None:
    """Each point stops iterating at its own convergence: the same bits alone, in any batch, in any order
    (a streamed audit converts chunks, and pieces of chunks, of different make-up)."""
    rng = np.random.default_rng(5)
    lon, lat = rng.uniform(73.0, 135.0, 500), rng.uniform(18.0, 53.0, 500)
    lon[:5], lat[:5] = [121.5, 116.4, 113.9, 110.3, 87.6], [31.2, 39.9, 22.5, 20.0, 43.8]
    to_wgs84, from_wgs84 = crs.to_wgs84, crs.from_wgs84
    batch = to_wgs84(lon, lat, system)
    alone = np.array([to_wgs84(x, y, system) for x, y in zip(lon, lat)])
    order = rng.permutation(500)
    shuffled = to_wgs84(lon[order], lat[order], system)
    assert np.array_equal(batch[0], alone[:, 0]) and np.array_equal(batch[1], alone[:, 1])
    assert np.array_equal(batch[0][order], shuffled[0]) and np.array_equal(batch[1][order], shuffled[1])
    assert np.abs(np.array(from_wgs84(*batch, system)) - np.array([lon, lat])).max() < 1e-9
