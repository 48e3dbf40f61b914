#!/usr/bin/env python
"""Throughput of point containment and boundary distance, ours against the usual baselines.

For each region, N uniform random points (fixed seed) are drawn in the WGS-84
bounding box of the region's parts, and every variant below is timed in the
same process, with repetitions interleaved (rep 1 of every variant, then rep 2
of every variant, ...). Rates are points per second; a variant run on a
subsample is timed on the subsample and reported as a rate (extrapolated).

Containment (input: lon/lat arrays, output: one answer per point)

* ours ``RegionGeometry.classify_points(lon, lat, r)`` with r = 0 and with r
  drawn uniformly in [0, 500] m (three-valued: inside / outside / indeterminate,
  plus the distance to the nominal line for every point);
* ours r = 0 without the distance: the r = 0 decision re-done from public
  attributes only (``projection``, ``inner``, ``outer``, ``nominal``,
  ``projected_parts``) and checked to equal the library's answer. It is a
  re-implementation of the r = 0 path, not a library call;
* per-point loop: ``union.contains(Point(lon, lat))`` on the unprepared WGS-84
  union of the parts, on a subsample;
* ``geopandas.sjoin(points, region, predicate="within")``, with and without
  building the points GeoDataFrame inside the timing;
* ``shapely.contains_xy`` on the prepared WGS-84 union (binary answer, the
  practical floor of any GEOS-based test).

Distance to the region's nominal boundary (input: projected x/y in metres)

* ours ``geom.nominal_distance.distance(x, y)`` (exact to 0.5 m);
* ``shapely.distance(boundary, points)`` on a subsample;
* ``shapely.STRtree`` of the boundary's segments, ``query_nearest(...,
  return_distance=True)`` on a subsample.

Checks: ours (r = 0 and r > 0) against contains_xy and sjoin on decided points
(inside => within, outside => not within); ours' distance against
shapely.distance (must agree to 0.5 m).

Time budget: after rep 1 of a region, if its projected time exceeds its share of
``--budget-min``, the subsampled baselines (loop, shapely.distance, STRtree) are
cut to one repetition, but only when that brings the region within its share;
ours is never cut. Cuts and overruns are printed as NOTE lines.

Run ``python benchmarks/containment.py --help`` for options.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

_REPO = Path(__file__).resolve().parents[1]
if (_REPO / "auditor").is_dir() and str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))  # run from a checkout without installing

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import pyproj  # noqa: E402
import scipy  # noqa: E402
import shapely  # noqa: E402
from _timing import timed_cpu  # noqa: E402  (benchmarks/ is on sys.path when run as a script)
from shapely.geometry import Point  # noqa: E402

import auditor.geo.containment as containment_module  # noqa: E402
from auditor.regions import load_registry  # noqa: E402

REGIONS = ("beijing", "shanghai", "hainan", "shenzhen")
OUTSIDE, INSIDE, INDETERMINATE = 0, 1, 2

# Variant ids (stable keys in the JSON) and their labels in the table.
LABELS = {
    "ours_r0": "ours three-valued verdict, r = 0",
    "ours_r500": "ours three-valued verdict, r ~ U[0, 500] m",
    "ours_r0_full": "ours r = 0 + parts + distance",
    "loop": "per-point loop union.contains(Point)",
    "sjoin_build": "geopandas.sjoin incl. building points GDF",
    "sjoin": "geopandas.sjoin on a prebuilt points GDF",
    "contains_xy": "shapely.contains_xy, prepared union",
    "dist_ours": "ours nominal_distance.distance(x, y)",
    "dist_shapely": "shapely.distance(boundary, points)",
    "dist_strtree": "STRtree(segments).query_nearest",
}
CONTAINMENT = ("ours_r0", "ours_r500", "ours_r0_full", "loop", "sjoin_build", "sjoin", "contains_xy")
DISTANCE = ("dist_ours", "dist_shapely", "dist_strtree")
OURS = {"ours_r0", "ours_r500", "ours_r0_full", "dist_ours"}
# Baselines timed on a subsample: the only variants whose repetitions may be cut to fit the budget.
SLOW_BASELINES = ("loop", "dist_shapely", "dist_strtree")


# -- helpers ------------------------------------------------------------------------------


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    wall, _, out = timed_cpu(fn)
    return wall, out


def fmt_rate(v: float) -> str:
    if v >= 999_950:  # would print as 1000.0k
        return f"{v / 1e6:.2f}M"
    if v >= 999.95:
        return f"{v / 1e3:.1f}k"
    return f"{v:.0f}"


def fmt_ratio(v: float | None) -> str:
    if v is None or not np.isfinite(v):
        return "-"
    if v >= 100:
        return f"{v:,.0f}x"
    if v >= 10:
        return f"{v:.1f}x"
    return f"{v:.2f}x"


def machine_info() -> dict[str, Any]:
    mem_gb = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem_gb = round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    src = Path(containment_module.__file__)
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "mem_gb": mem_gb,
        "versions": {
            "numpy": np.__version__,
            "shapely": shapely.__version__,
            "geos": shapely.geos_version_string,
            "geopandas": gpd.__version__,
            "scipy": scipy.__version__,
            "pyproj": pyproj.__version__,
        },
        # the code measured: the benchmark may be run while containment.py is being worked on
        "containment_py_sha256": hashlib.sha256(src.read_bytes()).hexdigest(),
    }


def segments_of(lines: shapely.Geometry) -> np.ndarray:
    """Every segment of a (multi)line as a two-point LineString."""
    segs = []
    for part in shapely.get_parts(lines):
        c = shapely.get_coordinates(part)
        if len(c) >= 2:
            segs.append(np.stack([c[:-1], c[1:]], axis=1))
    return shapely.linestrings(np.concatenate(segs))


# -- one region ---------------------------------------------------------------------------


def bench_region(rid: str, idx: int, args: argparse.Namespace, budget_s: float) -> dict[str, Any]:
    out: dict[str, Any] = {"region": rid}

    # One-time setup: parse the region, build the geometry, first classify builds
    # the projected parts, inner/outer/nominal polygons and the distance index.
    t0 = time.perf_counter()
    region = load_registry().region(rid)
    geom = region.geometry
    t1 = time.perf_counter()
    b = shapely.total_bounds([p.geometry for p in geom.parts])
    cx, cy = (b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0
    geom.classify_points(np.array([cx]), np.array([cy]), 0.0)
    t2 = time.perf_counter()
    setup = {"region_and_geometry_s": t1 - t0, "first_classify_1pt_s": t2 - t1}

    rng = np.random.default_rng([args.seed, idx])
    n = args.points
    lon = rng.uniform(b[0], b[2], n)
    lat = rng.uniform(b[1], b[3], n)
    radius = rng.uniform(0.0, 500.0, n)

    # The first call with r > 0 builds per-radius buffers of inner/outer (one per power-of-two
    # bucket of the radius, 10 for 0-500 m); pay it before timing.
    w = min(n, 5000)
    t3 = time.perf_counter()
    geom.classify_points(lon[:w], lat[:w], np.concatenate([radius[:w - 10], 2.0 ** np.arange(10)]))
    setup["first_classify_r500_5000pts_s"] = time.perf_counter() - t3

    # Baseline setup (not in the rates).
    t4 = time.perf_counter()
    union = shapely.union_all([p.geometry for p in geom.parts])  # WGS-84, all enabled parts
    setup["baseline_wgs84_union_s"] = time.perf_counter() - t4
    union_prepared = shapely.from_wkb(shapely.to_wkb(union))  # a copy: the loop baseline keeps the unprepared one
    t5 = time.perf_counter()
    shapely.prepare(union_prepared)
    shapely.contains_xy(union_prepared, cx, cy)  # GEOS builds the prepared index on first use
    setup["baseline_prepare_union_s"] = time.perf_counter() - t5
    region_gdf = gpd.GeoDataFrame({"region": [rid]}, geometry=[union], crs="EPSG:4326")
    x, y = geom.projection.forward(lon, lat)
    boundary = shapely.boundary(geom.nominal)  # projected metres, the line ours measures to
    t6 = time.perf_counter()
    tree = shapely.STRtree(segments_of(boundary))
    tree.query_nearest(shapely.points(x[:1], y[:1]))  # make sure the tree is built
    setup["baseline_strtree_build_s"] = time.perf_counter() - t6

    def new_points_gdf() -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")

    t7 = time.perf_counter()
    new_points_gdf()
    setup["points_gdf_build_s"] = time.perf_counter() - t7
    out["setup_s"] = setup
    out["boundary_vertices"] = int(shapely.get_num_coordinates(boundary))
    out["parts"] = [{"id": p.id, "role": str(p.role), "accuracy_m": p.accuracy_m} for p in geom.parts]
    out["bbox_wgs84"] = [float(v) for v in b]

    n_loop = min(n, args.loop_points)
    n_sd = min(n, args.distance_points)
    n_tree = min(n, args.strtree_points)

    def nodist_r0() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # The r = 0 decision from public attributes: inside = in inner, outside = not in outer.
        px, py = geom.projection.forward(lon, lat)
        verdict = np.full(n, INDETERMINATE, dtype=np.int8)
        verdict[shapely.contains_xy(geom.inner, px, py)] = INSIDE
        verdict[~shapely.contains_xy(geom.outer, px, py)] = OUTSIDE
        nominal_inside = shapely.contains_xy(geom.nominal, px, py)
        part_mask = np.column_stack([shapely.contains_xy(g, px, py) for g in geom.projected_parts])
        return verdict, nominal_inside, part_mask

    def loop() -> np.ndarray:
        return np.array([union.contains(Point(lo, la)) for lo, la in zip(lon[:n_loop], lat[:n_loop])])

    def sjoin_mask(points: gpd.GeoDataFrame) -> np.ndarray:
        joined = gpd.sjoin(points, region_gdf, predicate="within")
        mask = np.zeros(len(points), dtype=bool)
        mask[joined.index.to_numpy()] = True
        return mask

    def sjoin_build() -> np.ndarray:
        return sjoin_mask(new_points_gdf())

    # For "within", sjoin builds (and caches on the points GDF) an STRtree of the points, so
    # the prebuilt-GDF variant gets a fresh GDF before every repetition, built outside the timing.
    prebuilt: dict[str, gpd.GeoDataFrame] = {}

    def fresh_points_gdf() -> None:
        prebuilt["gdf"] = new_points_gdf()

    def dist_strtree() -> np.ndarray:
        pts = shapely.points(x[:n_tree], y[:n_tree])
        (i_in, _), d = tree.query_nearest(pts, return_distance=True, all_matches=False)
        res = np.empty(n_tree)
        res[i_in] = d
        return res

    variants: dict[str, tuple[int, Callable[[], Any]]] = {
        "ours_r0": (n, lambda: geom.classify_points(lon, lat, 0.0, with_distance=False, with_parts=False)),
        "ours_r500": (n, lambda: geom.classify_points(lon, lat, radius, with_distance=False, with_parts=False)),
        "ours_r0_full": (n, lambda: geom.classify_points(lon, lat, 0.0)),
        "loop": (n_loop, loop),
        "sjoin_build": (n, sjoin_build),
        "sjoin": (n, lambda: sjoin_mask(prebuilt["gdf"])),
        "contains_xy": (n, lambda: shapely.contains_xy(union_prepared, lon, lat)),
        "dist_ours": (n, lambda: geom.nominal_distance.distance(x, y)),
        "dist_shapely": (n_sd, lambda: shapely.distance(boundary, shapely.points(x[:n_sd], y[:n_sd]))),
        "dist_strtree": (n_tree, dist_strtree),
    }
    times: dict[str, list[float]] = {k: [] for k in variants}
    cpu_times: dict[str, list[float]] = {k: [] for k in variants}
    untimed_prep: dict[str, Callable[[], None]] = {"sjoin": fresh_points_gdf}
    first: dict[str, Any] = {}
    planned = {k: args.repeat for k in variants}
    notes: list[str] = []

    t_region = time.perf_counter()
    for rep in range(args.repeat):
        for key, (_, fn) in variants.items():
            if rep >= planned[key]:
                continue
            if key in untimed_prep:
                untimed_prep[key]()
            elapsed, cpu, result = timed_cpu(fn)
            times[key].append(elapsed)
            cpu_times[key].append(cpu)
            if rep == 0:
                first[key] = result
            del result
            print(f"  [{rid}] rep {rep + 1}/{args.repeat} {key:15s} {elapsed:8.3f} s", file=sys.stderr, flush=True)
        if rep == 0 and args.repeat > 1:
            # Fit the region's remaining repetitions into its share of the budget by cutting
            # repetitions of the subsampled (slow) baselines only; ours always gets every repetition.
            # Cutting is only done when it brings the region within budget; when ours alone
            # overruns it, the baselines keep their repetitions (cutting them would not help).
            rep_s = {k: v[0] for k, v in times.items()}
            remaining = sum(rep_s.values()) * (args.repeat - 1)
            spent = time.perf_counter() - t_region
            slow_s = sum(rep_s[k] for k in SLOW_BASELINES) * (args.repeat - 1)
            if spent + remaining > budget_s and spent + remaining - slow_s <= budget_s:
                for key in sorted(SLOW_BASELINES, key=lambda k: -rep_s[k]):
                    if spent + remaining <= budget_s:
                        break
                    planned[key] = 1
                    remaining -= rep_s[key] * (args.repeat - 1)
                    notes.append(f"{key}: 1 repetition instead of {args.repeat} (region over its time budget)")
            if spent + remaining > budget_s:
                notes.append(
                    f"projected {spent + remaining:.0f} s for this region exceeds its budget of {budget_s:.0f} s; "
                    f"ours alone takes {sum(rep_s[k] for k in OURS):.0f} s per repetition and is never cut; "
                    f"the subsampled baselines take {sum(rep_s[k] for k in SLOW_BASELINES):.1f} s per repetition "
                    "and keep all theirs"
                )
    out["wall_s"] = time.perf_counter() - t_region
    out["notes"] = notes

    # -- checks ----------------------------------------------------------------------------
    res0, res500 = first["ours_r0"], first["ours_r500"]
    within_xy = np.asarray(first["contains_xy"], dtype=bool)
    within_sj = first["sjoin"]
    checks: dict[str, Any] = {}
    for name, res in (("r0", res0), ("r500", res500)):
        v = res.verdict
        checks[f"verdict_counts_{name}"] = {
            "outside": int((v == OUTSIDE).sum()),
            "inside": int((v == INSIDE).sum()),
            "indeterminate": int((v == INDETERMINATE).sum()),
        }
        for bname, within in (("contains_xy", within_xy), ("sjoin", within_sj)):
            checks[f"disagree_{name}_vs_{bname}"] = {
                "inside_not_within": int(((v == INSIDE) & ~within).sum()),
                "outside_but_within": int(((v == OUTSIDE) & within).sum()),
            }
    checks["contains_xy_vs_sjoin_mismatch"] = int((within_xy != within_sj).sum())
    checks["sjoin_build_vs_sjoin_mismatch"] = int((first["sjoin_build"] != within_sj).sum())
    checks["loop_vs_contains_xy_mismatch"] = int((first["loop"] != within_xy[:n_loop]).sum())
    full = first["ours_r0_full"]
    v_nd, ni_nd, pm_nd = nodist_r0()
    checks["nodist_equals_classify_r0"] = bool(
        np.array_equal(v_nd, res0.verdict)
        and np.array_equal(v_nd, full.verdict)
        and np.array_equal(ni_nd, full.nominal_inside)
        and np.array_equal(pm_nd, full.part_mask)
    )
    ref = np.asarray(first["dist_shapely"])
    ours_d = np.asarray(first["dist_ours"])
    checks["dist_ours_vs_shapely_max_abs_m"] = float(np.max(np.abs(ours_d[:n_sd] - ref)))
    checks["dist_strtree_vs_shapely_max_abs_m"] = float(np.max(np.abs(first["dist_strtree"][:n_sd] - ref)))
    checks["dist_ours_vs_classify_r0_max_abs_m_within_20km"] = float(
        np.max(np.abs(ours_d - full.distance_m)[ours_d <= 20_000.0], initial=0.0)
    )
    out["checks"] = checks

    # -- rates -----------------------------------------------------------------------------
    stats = {}
    for key, (npts, _) in variants.items():
        rates = [npts / t for t in times[key]]
        stats[key] = {
            "points_per_call": npts,
            "times_s": times[key],
            "cpu_s": cpu_times[key],
            "rate_median": statistics.median(rates),
            "rate_min": min(rates),
            "rate_max": max(rates),
        }
    out["variants"] = stats
    wall_all = sum(sum(t) for t in times.values())
    out["cpu_over_wall"] = sum(sum(t) for t in cpu_times.values()) / wall_all if wall_all else float("nan")
    out["cpu_over_wall_min_call"] = min(c / w for k in times for c, w in zip(cpu_times[k], times[k]) if w > 0)
    return out


# -- report -------------------------------------------------------------------------------


def print_region(r: dict[str, Any], args: argparse.Namespace) -> None:
    v = r["variants"]
    c = r["checks"]
    b = r["bbox_wgs84"]
    cnt = c["verdict_counts_r0"]
    print()
    print(
        f"== {r['region']}: {args.points:,} points in lon {b[0]:.3f}..{b[2]:.3f}, lat {b[1]:.3f}..{b[3]:.3f}; "
        f"{r['boundary_vertices']:,} boundary vertices; parts "
        + ", ".join(f"{p['id']} ({p['accuracy_m']:.0f} m)" for p in r["parts"])
    )
    print(
        f"   r = 0 verdicts: inside {cnt['inside']:,}, outside {cnt['outside']:,}, "
        f"indeterminate {cnt['indeterminate']:,}"
    )
    loop = v["loop"]["rate_median"]
    sj_b = v["sjoin_build"]["rate_median"]
    sj = v["sjoin"]["rate_median"]
    head = f"   {'variant':44s} {'points':>9s} {'reps':>4s}  {'points/s median (min-max)':28s}"
    print(head + f" {'x loop':>8s} {'x sjoin':>8s} {'x sjoin*':>8s}")
    for key in CONTAINMENT:
        s = v[key]
        rate = f"{fmt_rate(s['rate_median'])} ({fmt_rate(s['rate_min'])}-{fmt_rate(s['rate_max'])})"
        print(
            f"   {LABELS[key]:44s} {s['points_per_call']:>9,} {len(s['times_s']):>4d}  {rate:28s}"
            f" {fmt_ratio(s['rate_median'] / loop):>8s} {fmt_ratio(s['rate_median'] / sj_b):>8s}"
            f" {fmt_ratio(s['rate_median'] / sj):>8s}"
        )
    print("   x sjoin = vs sjoin incl. building the points GDF; x sjoin* = vs sjoin on a prebuilt GDF")
    sd = v["dist_shapely"]["rate_median"]
    st = v["dist_strtree"]["rate_median"]
    print(head + f" {'x s.dist':>8s} {'x STRtr':>8s}")
    for key in DISTANCE:
        s = v[key]
        rate = f"{fmt_rate(s['rate_median'])} ({fmt_rate(s['rate_min'])}-{fmt_rate(s['rate_max'])})"
        print(
            f"   {LABELS[key]:44s} {s['points_per_call']:>9,} {len(s['times_s']):>4d}  {rate:28s}"
            f" {fmt_ratio(s['rate_median'] / sd):>8s} {fmt_ratio(s['rate_median'] / st):>8s}"
        )
    # targets from the issue: ours >= 100x the per-point loop and >= 2x sjoin
    for key in ("ours_r0", "ours_r500"):
        rate = v[key]["rate_median"]
        ok_loop = rate >= 100 * loop
        ok_sj_b, ok_sj = rate >= 2 * sj_b, rate >= 2 * sj
        print(
            f"   target {LABELS[key]}: >=100x loop {'MET' if ok_loop else 'NOT MET'} ({fmt_ratio(rate / loop)}); "
            f">=2x sjoin {'MET' if ok_sj_b else 'NOT MET'} ({fmt_ratio(rate / sj_b)}), "
            f"vs prebuilt GDF {'MET' if ok_sj else 'NOT MET'} ({fmt_ratio(rate / sj)})"
        )
    for name in ("r0", "r500"):
        parts = []
        for bname in ("contains_xy", "sjoin"):
            d = c[f"disagree_{name}_vs_{bname}"]
            parts.append(f"{bname}: {d['inside_not_within'] + d['outside_but_within']}")
        print(f"   check ours {name} decided vs binary, disagreements (should be 0): " + ", ".join(parts))
    print(
        f"   check contains_xy vs sjoin mismatches {c['contains_xy_vs_sjoin_mismatch']}, "
        f"loop vs contains_xy {c['loop_vs_contains_xy_mismatch']}, "
        f"projected-metres reference equals verdict-only and full classify_points (r = 0): {c['nodist_equals_classify_r0']}"
    )
    print(
        f"   check distance on {v['dist_shapely']['points_per_call']:,} pts, max |ours - shapely.distance| = "
        f"{c['dist_ours_vs_shapely_max_abs_m']:.3g} m ({'OK' if c['dist_ours_vs_shapely_max_abs_m'] <= 0.5 else 'OVER 0.5 m'}), "
        f"max |STRtree - shapely.distance| = {c['dist_strtree_vs_shapely_max_abs_m']:.3g} m"
    )
    for note in r["notes"]:
        print(f"   NOTE {note}")
    print(
        f"   wall time of the timed loop: {r['wall_s']:.0f} s; CPU/wall over all timed calls "
        f"{r['cpu_over_wall']:.3f} (lowest single call {r['cpu_over_wall_min_call']:.3f}; < 1 = waited for a core)"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--points", type=int, default=1_000_000, help="points per region (default 1,000,000)")
    ap.add_argument("--repeat", type=int, default=3, help="interleaved repetitions (default 3)")
    ap.add_argument("--regions", nargs="+", default=list(REGIONS), choices=REGIONS, metavar="REGION",
                    help=f"regions to run (default: all of {', '.join(REGIONS)})")
    ap.add_argument("--seed", type=int, default=20241023, help="random seed (default 20241023)")
    ap.add_argument("--loop-points", type=int, default=20_000, help="subsample for the per-point loop (20,000)")
    ap.add_argument("--distance-points", type=int, default=5_000, help="subsample for shapely.distance (5,000)")
    ap.add_argument("--strtree-points", type=int, default=50_000, help="subsample for the STRtree (50,000)")
    ap.add_argument("--budget-min", type=float, default=10.0,
                    help="time budget in minutes, shared equally by the regions; a region projected over its "
                    "share after rep 1 has its subsampled baselines cut to 1 repetition if that brings it within "
                    "the share; ours is never cut, and an overrun is reported (default 10)")
    ap.add_argument("--json", metavar="PATH", help="write raw results (all timings) to PATH")
    args = ap.parse_args(argv)

    started = dt.datetime.now().astimezone()
    info = machine_info()
    load0 = os.getloadavg()
    print(f"# benchmarks/containment.py  {started:%Y-%m-%d %H:%M %Z}")
    print(f"# command: python {' '.join([Path(sys.argv[0]).as_posix()] + (argv if argv is not None else sys.argv[1:]))}")
    print(
        f"# Python {info['python']}, {info['cpu_count']} cores ({info['cpu']}), {info['mem_gb']} GB; "
        + ", ".join(f"{k} {v}" for k, v in info["versions"].items())
    )
    print(f"# auditor/geo/containment.py sha256 {info['containment_py_sha256'][:16]}; load average at start {load0[0]:.2f}")
    print("# timings interleaved: rep 1 of every variant, then rep 2, ...; progress on stderr")

    t0 = time.perf_counter()
    registry_s, _ = timed(load_registry)
    budget_s = args.budget_min * 60.0 / len(args.regions)

    results = []
    for rid in args.regions:
        r = bench_region(rid, REGIONS.index(rid), args, budget_s)
        results.append(r)
        print_region(r, args)

    print()
    print(f"== one-time setup (seconds; not in the rates above); load_registry() first call: {registry_s:.3f} s")
    print(
        f"   {'region':10s} {'region()+.geometry':>18s} {'1st classify 1pt':>16s} {'1st r>0 5k pts':>14s}"
        f" {'WGS84 union':>11s} {'prepare':>8s} {'STRtree':>8s} {'points GDF':>10s}"
    )
    for r in results:
        s = r["setup_s"]
        print(
            f"   {r['region']:10s} {s['region_and_geometry_s']:18.3f} {s['first_classify_1pt_s']:16.3f}"
            f" {s['first_classify_r500_5000pts_s']:14.3f} {s['baseline_wgs84_union_s']:11.3f}"
            f" {s['baseline_prepare_union_s']:8.3f} {s['baseline_strtree_build_s']:8.3f} {s['points_gdf_build_s']:10.3f}"
        )
    print("   1st classify 1pt builds the projected parts, inner/outer/nominal and the distance index;")
    print("   1st r>0 5k pts builds the per-radius buffers (and classifies 5,000 points).")
    total = time.perf_counter() - t0
    load1 = os.getloadavg()
    print()
    print(f"# total {total / 60:.1f} min (budget {args.budget_min:g} min); load average at end {load1[0]:.2f}")
    if total > args.budget_min * 60:
        print(f"# OVER BUDGET by {(total - args.budget_min * 60) / 60:.1f} min; see NOTE lines above")

    if args.json:
        doc = {
            "date": started.isoformat(timespec="seconds"),
            "command": sys.argv,
            "args": vars(args),
            "machine": info,
            "loadavg_start": load0,
            "loadavg_end": load1,
            "registry_load_s": registry_s,
            "total_s": total,
            "regions": results,
        }
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        print(f"# raw results written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
