#!/usr/bin/env python
"""Throughput of latency geolocation: RTT disks, feasible regions and anycast detection.

Synthetic, reproducible (fixed seed): ``--vantages`` vantage points and
``--targets`` targets drawn uniformly inside a coarse outline of mainland China.
Each vantage's published position is its true one moved by up to 400 m (as RIPE
Atlas blurs probes), and every sample carries 400 m of vantage uncertainty. A
unicast target's RTT from a vantage is the light-in-fibre time over the true
geodesic distance, stretched by a random path factor in [1, ``--stretch``] and
plus an exponential queueing delay of mean ``--noise-ms``: never faster than
physics allows. A share ``--anycast`` of the targets are anycast, served from 2-4
random sites, each vantage reaching its nearest site.

Timed, with repetitions interleaved, as targets per second (median of
``--repeat``), the whole batch from RttSample objects to LatencyEvidence:

* ``locate_targets(samples)`` — every disk gets its polygon (the default);
* ``locate_targets(samples, polygons="bounding")`` — polygons only for the disks
  that bound a feasible region (none for anycast targets, none for disks that
  contain a smaller disk of the same target);
* ``locate_target`` called once per target, on a subsample (``--loop-targets``).

Checks (printed, and in the JSON): the share of unicast targets whose feasible
region contains the true location (must be 100 %: the noise is non-negative),
unicast targets wrongly called anycast (must be 0), anycast targets detected,
and that no instance lower bound exceeds the true number of sites. One extra
profiled run of each batch variant splits its time between the phases.

Run ``python benchmarks/latency.py --help`` for options.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import hashlib
import json
import os
import platform
import pstats
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

_REPO = Path(__file__).resolve().parents[1]
if (_REPO / "auditor").is_dir() and str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))  # run from a checkout without installing

import numpy as np  # noqa: E402
import pyproj  # noqa: E402
import shapely  # noqa: E402
from _timing import timed_cpu  # noqa: E402  (benchmarks/ is on sys.path when run as a script)
from pyproj import Geod  # noqa: E402
from shapely.geometry import Polygon  # noqa: E402

import auditor.geo.multilateration as latency_module  # noqa: E402
from auditor.geo.multilateration import FIBRE_SPEED_FACTOR, SPEED_OF_LIGHT_M_PER_S, RttSample, locate_target, locate_targets  # noqa: E402

GEOD = Geod(ellps="WGS84")
M_PER_MS_RTT = 0.5e-3 * FIBRE_SPEED_FACTOR * SPEED_OF_LIGHT_M_PER_S   # metres of radius per ms of RTT

#: A coarse outline of mainland China (lon, lat), good to a few hundred km: where vantages and targets are drawn.
CHINA = Polygon([
    (73.5, 39.5), (79.0, 45.0), (82.5, 47.2), (87.5, 49.1), (90.5, 46.0), (96.0, 42.7), (105.0, 41.6),
    (111.0, 43.5), (116.0, 46.5), (119.8, 50.0), (121.5, 53.3), (126.0, 52.8), (131.0, 48.0),
    (134.7, 48.3), (131.0, 42.9), (126.0, 41.0), (121.2, 39.0), (119.5, 37.3), (122.5, 37.0),
    (119.2, 34.8), (121.9, 31.7), (121.9, 30.8), (119.7, 25.5), (117.0, 23.5), (113.5, 22.2),
    (110.0, 21.0), (108.0, 21.5), (106.5, 22.5), (103.0, 22.5), (100.0, 21.5), (97.5, 24.0),
    (98.5, 27.5), (97.0, 28.2), (92.0, 27.8), (88.0, 27.9), (85.0, 28.5), (81.0, 30.0), (78.7, 32.5),
    (78.3, 35.5), (75.0, 37.5),
])

PHASES = {
    "_table": "group samples, minimum per (vantage, target)",
    "_pairwise": "pairwise disjoint / containment tests, iGreedy",
    "disk_polygons": "disk polygons (all of it)",
    "fwd": "  of which Geod.fwd (ring vertices, both paths)",
    "_sag_factor": "  of which sag estimate on the sphere (fast path)",
    "_adaptive_rings": "  of which edge-by-edge refinement (slow path: near a pole)",
    "is_valid": "  of which validity check of the rings",
    "_feasible": "feasible region: shapely.intersection by rank",
}


def fmt_rate(v: float) -> str:
    return f"{v / 1e3:.2f}k" if v >= 999.5 else f"{v:.0f}"


def other_processes() -> list[str]:
    """Processes other than this one using CPU right now (ps), for the record."""
    try:
        out = subprocess.run(["ps", "-eo", "pid,pcpu,etime,args", "--sort=-pcpu"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    rows = []
    for line in out.splitlines()[1:]:
        parts = line.split(None, 3)
        if len(parts) < 4 or int(parts[0]) == os.getpid() or float(parts[1]) < 5.0:
            continue
        rows.append(f"pid {parts[0]} {parts[1]}% cpu, up {parts[2]}: {parts[3][:100]}")
    return rows


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    return {
        "python": platform.python_version(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "versions": {"numpy": np.__version__, "shapely": shapely.__version__, "geos": shapely.geos_version_string,
                     "pyproj": pyproj.__version__, "proj": pyproj.proj_version_str},
        "latency_py_sha256": hashlib.sha256(Path(latency_module.__file__).read_bytes()).hexdigest(),
        "loadavg_at_start": os.getloadavg(),
        "other_processes_at_start": other_processes(),
    }


def in_china(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    minx, miny, maxx, maxy = CHINA.bounds
    shapely.prepare(CHINA)
    lon, lat = np.empty(0), np.empty(0)
    while lon.size < n:
        x, y = rng.uniform(minx, maxx, 4 * n), rng.uniform(miny, maxy, 4 * n)
        ok = shapely.contains_xy(CHINA, x, y)
        lon, lat = np.r_[lon, x[ok]], np.r_[lat, y[ok]]
    return lon[:n], lat[:n]


def make_samples(args: argparse.Namespace) -> tuple[list[RttSample], dict[str, Any]]:
    rng = np.random.default_rng(args.seed)
    v_lon, v_lat = in_china(rng, args.vantages)
    # published positions: the true ones moved by up to 400 m (RIPE Atlas blurring)
    az, off = rng.uniform(0, 360, args.vantages), rng.uniform(0, 400.0, args.vantages)
    p_lon, p_lat, _ = GEOD.fwd(v_lon, v_lat, az, off)
    t_lon, t_lat = in_china(rng, args.targets)
    n_any = int(round(args.anycast * args.targets))
    anycast = np.zeros(args.targets, dtype=bool)
    anycast[rng.choice(args.targets, n_any, replace=False)] = True
    sites = np.ones(args.targets, dtype=np.int64)
    sites[anycast] = rng.integers(2, 5, n_any)
    # distance from every vantage to every target (for anycast: to its nearest site)
    dist = np.empty((args.targets, args.vantages))
    for j in range(args.vantages):
        _, _, dist[:, j] = GEOD.inv(np.full(args.targets, v_lon[j]), np.full(args.targets, v_lat[j]), t_lon, t_lat)
    site_lon, site_lat = {}, {}
    for i in np.flatnonzero(anycast):
        s_lon, s_lat = in_china(rng, int(sites[i]) - 1)
        site_lon[i], site_lat[i] = np.r_[t_lon[i], s_lon], np.r_[t_lat[i], s_lat]
        for j in range(args.vantages):
            _, _, d = GEOD.inv(np.full(sites[i], v_lon[j]), np.full(sites[i], v_lat[j]), site_lon[i], site_lat[i])
            dist[i, j] = np.min(d)
    stretch = rng.uniform(1.0, args.stretch, dist.shape)
    queue = rng.exponential(args.noise_ms, dist.shape) if args.noise_ms > 0 else np.zeros(dist.shape)
    rtt = dist / M_PER_MS_RTT * stretch + queue
    samples = [
        RttSample(f"v{j:03d}", float(p_lon[j]), float(p_lat[j]), 400.0, f"t{i:06d}", float(rtt[i, j]), "synthetic")
        for i in range(args.targets)
        for j in range(args.vantages)
    ]
    truth = {"lon": t_lon, "lat": t_lat, "anycast": anycast, "sites": sites}
    return samples, truth


def check(evidence: dict[str, Any], truth: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    names = [f"t{i:06d}" for i in range(args.targets)]
    uni = np.flatnonzero(~truth["anycast"])
    any_ = np.flatnonzero(truth["anycast"])
    regions = [evidence[names[i]].feasible for i in uni]
    has = np.array([g is not None for g in regions], dtype=bool)
    covers = np.zeros(uni.size, dtype=bool)
    if has.any():
        geoms = np.array([g for g in regions if g is not None], dtype=object)
        covers[has] = shapely.covers(geoms, shapely.points(truth["lon"][uni][has], truth["lat"][uni][has]))
    false_any = sum(evidence[names[i]].anycast for i in uni)
    detected = sum(evidence[names[i]].anycast for i in any_)
    over = sum(evidence[names[i]].instances_lower_bound > truth["sites"][i] for i in any_)
    # how tight: geodesic area of a subsample of feasible regions
    areas = []
    for i in uni[has][:: max(1, uni.size // 500)][:500]:
        g = evidence[names[i]].feasible
        areas.append(abs(GEOD.geometry_area_perimeter(g)[0]) / 1e6)
    bounding = [sum(d.polygon is not None for d in evidence[names[i]].disks) for i in uni]
    return {
        "unicast": int(uni.size),
        "unicast_region_contains_truth": int(covers.sum()),
        "unicast_without_region": int((~has).sum()),
        "unicast_called_anycast": int(false_any),
        "anycast": int(any_.size),
        "anycast_detected": int(detected),
        "anycast_bound_above_sites": int(over),
        "feasible_area_km2_median": float(np.median(areas)) if areas else None,
        "feasible_area_km2_p90": float(np.percentile(areas, 90)) if areas else None,
        "polygons_per_unicast_target_mean": float(np.mean(bounding)) if bounding else None,
    }


def profile_phases(fn: Callable[[], Any]) -> dict[str, float]:
    prof = cProfile.Profile()
    prof.enable()
    t0 = time.perf_counter()
    fn()
    total = time.perf_counter() - t0
    prof.disable()
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    out = {"total": total}
    for (file, _, func), (_, _, _, cum, _) in stats.items():
        if func in PHASES and (func not in ("fwd", "is_valid") or file.endswith(("geod.py", "predicates.py"))):
            out[func] = out.get(func, 0.0) + cum
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--targets", type=int, default=10_000, help="targets (default 10,000)")
    ap.add_argument("--vantages", type=int, default=20, help="vantage points, all measuring every target (default 20)")
    ap.add_argument("--repeat", type=int, default=3, help="interleaved repetitions (default 3)")
    ap.add_argument("--anycast", type=float, default=0.1, help="share of anycast targets (default 0.1)")
    ap.add_argument("--stretch", type=float, default=1.6, help="path stretch drawn in [1, STRETCH] (default 1.6)")
    ap.add_argument("--noise-ms", type=float, default=0.5, help="mean exponential queueing delay, ms (default 0.5)")
    ap.add_argument("--loop-targets", type=int, default=500, help="subsample for per-target calls (default 500)")
    ap.add_argument("--seed", type=int, default=20241130, help="random seed (default 20241130)")
    ap.add_argument("--json", metavar="PATH", help="write raw results to PATH")
    args = ap.parse_args(argv)

    info = machine_info()
    print(f"# latency benchmark {dt.datetime.now(dt.UTC):%Y-%m-%dT%H:%M:%SZ}: {args.targets:,} targets x "
          f"{args.vantages} vantages, anycast share {args.anycast}, stretch [1, {args.stretch}], noise Exp({args.noise_ms} ms), "
          f"seed {args.seed}")
    print(f"# {info['cpu']} x{info['cpu_count']}, Python {info['python']}, numpy {info['versions']['numpy']}, "
          f"shapely {info['versions']['shapely']} (GEOS {info['versions']['geos']}), pyproj {info['versions']['pyproj']} "
          f"(PROJ {info['versions']['proj']}); load average at start {info['loadavg_at_start'][0]:.2f}")
    for row in info["other_processes_at_start"]:
        print(f"# other process at start: {row}")

    t0 = time.perf_counter()
    samples, truth = make_samples(args)
    print(f"# setup: {len(samples):,} samples in {time.perf_counter() - t0:.1f} s (not timed)")
    by_target: dict[str, list[RttSample]] = {}
    for s in samples:
        by_target.setdefault(s.target, []).append(s)
    loop_names = sorted(by_target)[: args.loop_targets]

    variants: dict[str, tuple[str, Callable[[], Any], int]] = {
        "all": ('locate_targets(samples)  [polygons="all"]', lambda: locate_targets(samples), args.targets),
        "bounding": ('locate_targets(samples, polygons="bounding")', lambda: locate_targets(samples, polygons="bounding"), args.targets),
        "loop": (f"locate_target per target ({len(loop_names):,} targets)",
                 lambda: [locate_target(by_target[t]) for t in loop_names], len(loop_names)),
    }
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in variants}
    results: dict[str, Any] = {}
    for rep in range(args.repeat):
        for key, (_, fn, n) in variants.items():
            wall, cpu, out = timed_cpu(fn)
            runs[key].append({"wall_s": wall, "cpu_s": cpu, "rate": n / wall})
            if rep == 0 and key != "loop":
                results[key] = out
            del out
        print(f"# rep {rep + 1}: " + ", ".join(f"{k} {runs[k][-1]['wall_s']:.2f} s (cpu/wall {runs[k][-1]['cpu_s'] / runs[k][-1]['wall_s']:.2f})" for k in variants))

    checks = {k: check(results[k], truth, args) for k in ("all", "bounding")}
    same = all(
        (results["all"][t].feasible is None) == (results["bounding"][t].feasible is None)
        and (results["all"][t].feasible is None or results["all"][t].feasible.equals(results["bounding"][t].feasible))
        for t in sorted(results["all"])[:: max(1, args.targets // 1000)]
    )
    del results
    phases = {k: profile_phases(variants[k][1]) for k in ("all", "bounding")}
    info["other_processes_at_end"] = other_processes()
    info["loadavg_at_end"] = os.getloadavg()

    print()
    print(f"| variant | time, median | targets/s, median (min-max) of {args.repeat} | cpu/wall |")
    print("|---|---:|---:|---:|")
    for key, (label, _, _) in variants.items():
        rates = [r["rate"] for r in runs[key]]
        walls = [r["wall_s"] for r in runs[key]]
        ratio = sum(r["cpu_s"] for r in runs[key]) / sum(walls)
        print(f"| {label} | {statistics.median(walls):.2f} s | {fmt_rate(statistics.median(rates))} "
              f"({fmt_rate(min(rates))}-{fmt_rate(max(rates))}) | {ratio:.2f} |")
    print()
    c = checks["all"]
    print(f"| check | {' | '.join(checks)} |")
    print(f"|---|{'---:|' * len(checks)}")
    for key, label in [
        ("unicast_region_contains_truth", f"unicast targets whose feasible region contains the true location (of {c['unicast']:,})"),
        ("unicast_without_region", "unicast targets without a feasible region"),
        ("unicast_called_anycast", "unicast targets called anycast"),
        ("anycast_detected", f"anycast targets detected (of {c['anycast']:,})"),
        ("anycast_bound_above_sites", "anycast targets whose instance bound exceeds their sites"),
        ("polygons_per_unicast_target_mean", "polygons built per unicast target, mean"),
        ("feasible_area_km2_median", "feasible region area, median km² (500 targets)"),
        ("feasible_area_km2_p90", "feasible region area, 90th percentile km²"),
    ]:
        vals = [checks[k][key] for k in checks]
        print(f"| {label} | " + " | ".join(f"{v:,.1f}" if isinstance(v, float) else f"{v:,}" for v in vals) + " |")
    share = {k: checks[k]["unicast_region_contains_truth"] / max(1, checks[k]["unicast"]) for k in checks}
    print("\nshare of unicast targets whose feasible region contains the true location: "
          + ", ".join(f"{k} {100 * v:.2f} %" for k, v in share.items()))
    print(f"feasible regions equal between the two batch variants (every {max(1, args.targets // 1000)}th target): {same}")
    print()
    print("| phase (one cProfile'd run; cumulative s, share of the run) | all | bounding |")
    print("|---|---:|---:|")
    for func, label in PHASES.items():
        cells = [f"{phases[k].get(func, 0.0):.2f} s ({100 * phases[k].get(func, 0.0) / phases[k]['total']:.0f} %)" for k in ("all", "bounding")]
        print(f"| {label} | {' | '.join(cells)} |")
    rest = {k: phases[k]["total"] - sum(phases[k].get(f, 0.0) for f in ("_table", "_pairwise", "disk_polygons", "_feasible")) for k in phases}
    print(f"| the rest: building Disk / LatencyEvidence objects, reasons | {rest['all']:.2f} s ({100 * rest['all'] / phases['all']['total']:.0f} %) "
          f"| {rest['bounding']:.2f} s ({100 * rest['bounding'] / phases['bounding']['total']:.0f} %) |")
    print(f"| total (profiled) | {phases['all']['total']:.2f} s | {phases['bounding']['total']:.2f} s |")
    for row in info["other_processes_at_end"]:
        print(f"# other process at end: {row}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"args": vars(args), "machine": info, "runs": runs, "checks": checks,
                                               "phases": phases, "batch_variants_equal": same}, indent=1, default=str))
    ok = all(checks[k]["unicast_region_contains_truth"] == checks[k]["unicast"] and checks[k]["unicast_called_anycast"] == 0
             and checks[k]["anycast_bound_above_sites"] == 0 for k in checks) and same
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
