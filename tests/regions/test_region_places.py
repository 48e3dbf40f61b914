"""Well-known places against the shipped pilot regions (boundaries/), and the admin-unit table.

All coordinates are WGS-84 (lon, lat). Where the commonly quoted coordinate of a
landmark is an AMap/GCJ-02 one (Tiananmen 116.3975, 39.9087; the Oriental Pearl
121.4997, 31.2397), the WGS-84 position is used instead. Most places are kilometres
from any line, so metre-level doubt about them does not matter; the margins are
given in each id's comment.

Independent checks (distances) project the shipped polygons with pyproj into UTM
and measure with shapely; they never call the auditor's distance code.
"""

from __future__ import annotations

import csv
from functools import cache, lru_cache

import numpy as np
import pyproj
import pytest
import shapely
from shapely.geometry import LineString, Point

from auditor.geo.containment import INDETERMINATE, INSIDE, OUTSIDE, Verdict
from auditor.paths import boundaries_dir
from auditor.regions import load_registry

NAMES = {INSIDE: "inside", OUTSIDE: "outside", INDETERMINATE: "indeterminate"}


def by_label(rows):
    """Parametrize rows whose first value is a readable label, using that label as the test id."""
    return [pytest.param(*row, id=row[0]) for row in rows]


@cache
def region(region_id: str, **options: bool):
    return load_registry().region(region_id, options)


def classify(region_id: str, lon, lat, r=0.0, **options: bool):
    return region(region_id, **options).geometry.classify_points(np.atleast_1d(lon), np.atleast_1d(lat), r)


def part_ids(region_id: str, result, i: int = 0, **options: bool) -> set[str]:
    parts = region(region_id, **options).parts
    return {p.id for p, m in zip(parts, result.part_mask[i]) if m}


# (region, options, place, lon, lat, expected verdict, expected parts the point is nominally in)
PLACES = [
    # Shanghai = Pudong (300 m) U Lingang main (1,000 m) U Xiaoyangshan (1,000 m)
    ("shanghai", {}, "dishui-lake-lingang", 121.93, 30.90, INSIDE, {"pudong", "lingang-main"}),  # ~6 km from any line
    ("shanghai", {}, "yangshan-port-xiaoyangshan-far-point", 122.0773, 30.6253, INSIDE, {"lingang-xiaoyangshan"}),  # 1.66 km
    ("shanghai", {}, "lujiazui-shanghai-tower", 121.5011, 31.2353, INSIDE, {"pudong"}),  # ~650 m from the Huangpu line
    ("shanghai", {}, "xujiahui-puxi", 121.4365, 31.188, OUTSIDE, set()),  # ~2.4 km west of the Huangpu line
    ("shanghai", {}, "kunshan-jiangsu", 120.98, 31.385, OUTSIDE, set()),
    ("shanghai", {}, "hangzhou-west-lake-east-shore", 120.16, 30.26, OUTSIDE, set()),
    ("shanghai", {}, "fengxian-part-of-lingang", 121.62, 30.92, INSIDE, {"lingang-main"}),  # ~11 km from lines
    ("shanghai", {}, "nanqiao-fengxian-west-of-jinhui", 121.46, 30.92, OUTSIDE, set()),  # ~4.2 km west of the Jinhui line
    # Beijing (whole municipality, 300 m)
    ("beijing", {}, "tiananmen", 116.3912, 39.9073, INSIDE, {"beijing"}),
    ("beijing", {}, "langfang-city-centre-hebei", 116.70, 39.52, OUTSIDE, set()),  # ~7 km
    ("beijing", {}, "zhuozhou-hebei", 115.967, 39.485, OUTSIDE, set()),
    ("beijing", {}, "yanjiao-sanhe-hebei", 116.817, 39.933, OUTSIDE, set()),  # ~3.4 km east of the line
    # Hainan (the island, 300 m; the Amap outline lies 1-5 km offshore)
    ("hainan", {}, "haikou", 110.33, 20.03, INSIDE, {"hainan-island"}),
    ("hainan", {}, "sanya", 109.50, 18.25, INSIDE, {"hainan-island"}),
    ("hainan", {}, "yongxing-woody-island-sansha", 112.33, 16.83, OUTSIDE, set()),
    ("hainan", {}, "zhanjiang-guangdong", 110.35, 21.27, OUTSIDE, set()),
    ("hainan", {"include_sansha": True}, "yongxing-woody-island-16d50m-112d20m", 112.3333, 16.8333, INSIDE, {"sansha"}),
    ("hainan", {"include_sansha": True}, "haikou-with-sansha", 110.33, 20.03, INSIDE, {"hainan-island"}),
    ("hainan", {"include_sansha": True}, "zhanjiang-with-sansha", 110.35, 21.27, OUTSIDE, set()),
    # Shenzhen (440300, 300 m)
    ("shenzhen", {}, "futian-civic-centre", 114.058, 22.543, INSIDE, {"shenzhen"}),  # ~2.7 km from the HK border
    ("shenzhen", {}, "hong-kong-central", 114.1585, 22.2819, OUTSIDE, set()),
    ("shenzhen", {}, "dongguan-centre", 113.75, 23.02, OUTSIDE, set()),
    ("shenzhen", {}, "shenshan-haifeng", 115.08, 22.92, OUTSIDE, set()),
    ("shenzhen", {"include_shenshan": True}, "shenshan-haifeng-envelope", 115.08, 22.92, INDETERMINATE, {"shenshan-envelope"}),
    ("shenzhen", {"include_shenshan": True}, "futian-with-shenshan", 114.058, 22.543, INSIDE, {"shenzhen"}),
    ("shenzhen", {"include_shenshan": True}, "hong-kong-central-with-shenshan", 114.1585, 22.2819, OUTSIDE, set()),
]


def _id(case) -> str:
    rid, opts, place, *_ , expected, _parts = case
    suffix = "".join(f"+{k}" for k, v in opts.items() if v)
    return f"{rid}{suffix}:{place}->{NAMES[expected]}"


@pytest.mark.parametrize("case", PLACES, ids=[_id(c) for c in PLACES])
def test_place(case):
    rid, opts, _place, lon, lat, expected, parts = case
    got = classify(rid, lon, lat, **opts)
    assert NAMES[int(got.verdict[0])] == NAMES[expected]
    assert part_ids(rid, got, **opts) == parts
    assert bool(got.nominal_inside[0]) == (expected == INSIDE)


# --- places whose honest answer is "indeterminate" --------------------------------------------------

_TO_UTM51 = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:32651", always_xy=True)
_FROM_UTM51 = pyproj.Transformer.from_crs("EPSG:32651", "EPSG:4326", always_xy=True)


def _control_points() -> dict[str, tuple[float, float]]:
    with open(boundaries_dir() / "lingang-control-points.csv", encoding="utf-8", newline="") as f:
        return {
            row["id"]: (float(row["lon_wgs84"]), float(row["lat_wgs84"]))
            for row in csv.DictReader(f)
            if row["lon_wgs84"] and row["lat_wgs84"]
        }


def _jinhui_offset_point(offset_m: float) -> tuple[float, float]:
    """The midpoint of the Jinhui line JH_N-JH_S moved offset_m perpendicular to it (east if > 0), in UTM 51N."""
    cp = _control_points()
    (xn, yn), (xs, ys) = (_TO_UTM51.transform(*cp["JH_N"]), _TO_UTM51.transform(*cp["JH_S"]))
    mx, my = (xn + xs) / 2, (yn + ys) / 2
    dx, dy = xs - xn, ys - yn
    length = np.hypot(dx, dy)
    ex, ey = -dy / length, dx / length  # the line runs N->S (and a little east): (-dy, dx) points east
    assert ex > 0.9
    return _FROM_UTM51.transform(mx + offset_m * ex, my + offset_m * ey)


@pytest.mark.parametrize(
    ("label", "offset_m", "nominal_in"),
    by_label([("200m-east-of-jinhui-line-in-lingang", 200.0, True), ("200m-west-of-jinhui-line-in-fengxian", -200.0, False)]),
)
def test_point_200m_from_jinhui_line_is_indeterminate(label, offset_m, nominal_in):
    lon, lat = _jinhui_offset_point(offset_m)
    got = classify("shanghai", lon, lat)
    assert got.verdict[0] == INDETERMINATE
    assert bool(got.nominal_inside[0]) is nominal_in
    assert part_ids("shanghai", got) == ({"lingang-main"} if nominal_in else set())
    assert got.distance_m[0] == pytest.approx(200.0, abs=5.0)
    # 1,000 m accuracy: moving the same point 1.2 km from the line settles it
    far_lon, far_lat = _jinhui_offset_point(np.sign(offset_m) * 1_200.0)
    assert classify("shanghai", far_lon, far_lat).verdict[0] == (INSIDE if nominal_in else OUTSIDE)


def test_most_of_xiaoyangshan_is_within_1km_of_its_line_so_indeterminate():
    xys = next(p for p in region("shanghai").parts if p.id == "lingang-xiaoyangshan").geometry
    xmin, ymin, xmax, ymax = xys.bounds
    lon, lat = (a.ravel() for a in np.meshgrid(np.arange(xmin, xmax, 0.0007), np.arange(ymin, ymax, 0.0007)))
    keep = shapely.contains_xy(xys, lon, lat)
    got = classify("shanghai", lon[keep], lat[keep])
    assert keep.sum() > 5_000
    assert set(np.unique(got.verdict)) == {INSIDE, INDETERMINATE}
    assert (got.verdict == INDETERMINATE).mean() > 0.6
    # the Yangshan port point used above is (within the grid step) the farthest from the line
    far = classify("shanghai", 122.0773, 30.6253).distance_m[0]
    assert got.distance_m.max() < far + 100.0
    assert 1_000.0 < far < 2_000.0


def test_daxing_airport_terminal_straddles_the_beijing_hebei_line():
    """Finding: the terminal's reference point 116.4105E 39.5098N (39°30'33"N 116°24'38"E) lies
    ~430 m inside a Hebei pocket of the Amap line, so taken as a point it is not inside Beijing
    (with r = 0 the code says outside, 430 m > the 300 m accuracy). The terminal building is
    about 1.2 km across: claimed with its half-width (600 m) as uncertainty it is indeterminate,
    which is the honest answer for a building the line runs through."""
    point = classify("beijing", 116.4105, 39.5098, 0.0)
    assert point.verdict[0] != INSIDE and not point.nominal_inside[0]
    assert 300.0 < point.distance_m[0] < 600.0
    building = classify("beijing", 116.4105, 39.5098, 600.0)
    assert building.verdict[0] == INDETERMINATE


def test_woody_island_rounded_to_two_decimals_is_at_the_edge_of_the_sansha_outline():
    """(112.33, 16.83) is the two-decimal rounding of Yongxing Island; it sits ~260 m inside the west
    edge of Sansha's Amap outline there, within the 300 m accuracy: not outside once Sansha is on."""
    got = classify("hainan", 112.33, 16.83, include_sansha=True)
    assert got.verdict[0] == INDETERMINATE
    assert got.nominal_inside[0] and part_ids("hainan", got, include_sansha=True) == {"sansha"}
    assert got.distance_m[0] < 300.0


def test_shenshan_envelope_never_makes_anything_inside():
    env = next(p for p in region("shenzhen", include_shenshan=True).parts if p.id == "shenshan-envelope")
    assert env.role.value == "envelope"
    rng = np.random.default_rng(5)
    xmin, ymin, xmax, ymax = env.geometry.bounds
    lon, lat = rng.uniform(xmin, xmax, 3000), rng.uniform(ymin, ymax, 3000)
    keep = shapely.contains_xy(env.geometry, lon, lat)
    got = classify("shenzhen", lon[keep], lat[keep], include_shenshan=True)
    assert keep.sum() > 500
    assert not np.any(got.verdict == INSIDE)
    assert np.all(got.verdict == INDETERMINATE)
    # the same points without the option are all outside
    assert np.all(classify("shenzhen", lon[keep], lat[keep]).verdict == OUTSIDE)


# --- distances, verified independently in UTM ---------------------------------------------------------


@cache
def _utm_nominal_boundary(region_id: str, epsg: int):
    fwd = pyproj.Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)
    parts = [
        shapely.transform(p.geometry, lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1])))
        for p in region(region_id).parts
        if p.role.value == "core"
    ]
    return shapely.boundary(shapely.union_all(parts)), fwd


@pytest.mark.parametrize(
    ("region_id", "epsg", "place", "lon", "lat", "low", "high"),
    [pytest.param(*row, id=f"{row[0]}:{row[2]}-{row[5]:.0f}-{row[6]:.0f}m") for row in [
        # ranges verified with shapely.distance in UTM (xujiahui 2,441 m, nanqiao 4,237 m, ...)
        ("shanghai", 32651, "xujiahui", 121.4365, 31.188, 2_300.0, 2_600.0),
        ("shanghai", 32651, "nanqiao", 121.46, 30.92, 4_100.0, 4_400.0),
        ("shanghai", 32651, "lujiazui-shanghai-tower", 121.5011, 31.2353, 550.0, 750.0),
        ("beijing", 32650, "yanjiao", 116.817, 39.933, 3_200.0, 3_600.0),
        ("beijing", 32650, "langfang", 116.70, 39.52, 7_000.0, 7_800.0),
    ]],
)
def test_distance_to_the_nominal_line(region_id, epsg, place, lon, lat, low, high):
    line, fwd = _utm_nominal_boundary(region_id, epsg)
    independent = shapely.distance(line, Point(*fwd.transform(lon, lat)))
    assert low < independent < high
    ours = classify(region_id, lon, lat).distance_m[0]
    assert low < ours < high
    assert ours == pytest.approx(independent, rel=2e-3)


# --- admin units -------------------------------------------------------------------------------------

ADMIN = [
    ("shanghai", {}, "310115", "pudong", Verdict.INSIDE),
    ("shanghai", {}, "310101", "huangpu-puxi", Verdict.OUTSIDE),
    ("shanghai", {}, "310104", "xuhui-puxi", Verdict.OUTSIDE),
    ("shanghai", {}, "310120", "fengxian", Verdict.INDETERMINATE),
    ("shanghai", {}, "310112", "minhang-lingang-clipped-to-pudong-fengxian", Verdict.OUTSIDE),
    ("shanghai", {}, "310000", "shanghai-municipality", Verdict.INDETERMINATE),
    ("shanghai", {}, "310100", "shanghai-districts-containing-pudong", Verdict.INDETERMINATE),
    ("shanghai", {}, "330922", "shengsi-xiaoyangshan", Verdict.INDETERMINATE),
    ("shanghai", {}, "330100", "hangzhou", Verdict.OUTSIDE),
    ("shanghai", {}, "320583", "kunshan", Verdict.OUTSIDE),
    ("beijing", {}, "131000", "langfang", Verdict.OUTSIDE),
    ("beijing", {}, "110108", "haidian", Verdict.INSIDE),
    ("beijing", {}, "110000", "beijing", Verdict.INSIDE),
    ("beijing", {}, "130000", "hebei", Verdict.OUTSIDE),
    ("hainan", {}, "460300", "sansha", Verdict.OUTSIDE),
    ("hainan", {"include_sansha": True}, "460300", "sansha", Verdict.INSIDE),
    ("hainan", {}, "460000", "hainan-province", Verdict.INDETERMINATE),
    ("hainan", {"include_sansha": True}, "460000", "hainan-province", Verdict.INDETERMINATE),
    # Haikou's polygon lies wholly on the island; Wenchang's holds the Qizhou islets
    ("hainan", {}, "460100", "haikou", Verdict.INSIDE),
    ("hainan", {"include_islets": True}, "460100", "haikou-with-islets-option", Verdict.INSIDE),
    ("hainan", {}, "469005", "wenchang-islets-off-assumed-mainland", Verdict.INSIDE),
    ("hainan", {}, "460400", "danzhou-ocean-flower-island-off", Verdict.INDETERMINATE),
    ("hainan", {"include_islets": True}, "469005", "wenchang-islets-on", Verdict.INSIDE),
    ("hainan", {}, "440800", "zhanjiang", Verdict.OUTSIDE),
    ("shenzhen", {}, "441900", "dongguan", Verdict.OUTSIDE),
    ("shenzhen", {}, "440300", "shenzhen", Verdict.INSIDE),
    ("shenzhen", {}, "440304", "futian", Verdict.INSIDE),
    ("shenzhen", {}, "810000", "hong-kong", Verdict.OUTSIDE),
    ("shenzhen", {}, "441521", "haifeng", Verdict.OUTSIDE),
    ("shenzhen", {"include_shenshan": True}, "441521", "haifeng", Verdict.INDETERMINATE),
]


def _admin_id(case) -> str:
    rid, opts, code, name, expected = case
    suffix = "".join(f"+{k}" for k, v in opts.items() if v)
    return f"{rid}{suffix}:{code}-{name}->{expected.value}"


@pytest.mark.parametrize("case", ADMIN, ids=[_admin_id(c) for c in ADMIN])
def test_admin_relation(case):
    rid, opts, code, _name, expected = case
    verdict, reason = region(rid, **opts).admin_relation(code)
    assert verdict is expected
    assert isinstance(reason, str) and reason


def test_admin_relation_accepts_int_and_padding():
    assert region("shanghai").admin_relation(310115)[0] is Verdict.INSIDE  # type: ignore[arg-type]
    assert region("shanghai").admin_relation(" 310101 ")[0] is Verdict.OUTSIDE


def test_jinhui_line_in_the_shipped_polygon_is_the_control_point_line():
    """The constructed Lingang edge passes exactly through the JH_N and JH_S control points."""
    cp = _control_points()
    lm = next(p for p in region("shanghai").parts if p.id == "lingang-main").geometry
    line = LineString([cp["JH_N"], cp["JH_S"]])
    assert shapely.distance(shapely.boundary(lm), Point(cp["JH_N"])) < 1e-9
    assert shapely.distance(shapely.boundary(lm), Point(cp["JH_S"])) < 1e-9
    assert shapely.distance(shapely.boundary(lm), line.interpolate(0.5, normalized=True)) < 1e-9
