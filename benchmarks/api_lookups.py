#!/usr/bin/env python
"""The notebook API's look-ups against what an analyst would otherwise write.

``auditor.where(lon, lat, region=...)`` on N random points (fixed seed, the bounding box of the
Shanghai region's parts, uncertainty 50 m) against:

* the per-point loop a user writes without it: ``shapely`` ``contains(Point(x, y))`` on the
  region's WGS-84 union, one point at a time (binary answer; timed on a subsample, reported as a
  rate);
* ``geopandas.sjoin(points, regions_frame(), predicate="within")`` (binary, whole array);
* the pre-API way: ``auditor.engine.where.where(lon, lat)`` once per point (scalar, subsample).

``auditor.locate(ips)`` on N random unicast IPv4 addresses against the official ip2region Python
binding (``py-ip2region``'s searcher with the whole file in memory), one search per address.

Each variant runs ``--reps`` times; the best is reported. Run from the repository root:
``python benchmarks/api_lookups.py [--points 10000] [--ips 10000] [--reps 3]``.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import timed_cpu  # noqa: E402


def best(fn, reps: int):  # noqa: ANN001, ANN201
    runs = [timed_cpu(fn) for _ in range(reps)]
    return min(r[0] for r in runs), runs[-1][2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--points", type=int, default=10_000)
    ap.add_argument("--ips", type=int, default=10_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--subsample", type=int, default=500, help="points for the per-point loops")
    args = ap.parse_args()

    import geopandas as gpd
    import shapely

    import auditor
    from auditor.engine.where import where as where_point

    rng = np.random.default_rng(20261206)
    frame = auditor.regions_frame()
    parts = frame[(frame.region == "shanghai") & frame.enabled]
    minx, miny, maxx, maxy = parts.total_bounds
    lon, lat = rng.uniform(minx, maxx, args.points), rng.uniform(miny, maxy, args.points)
    auditor.where(lon[:10], lat[:10], region="shanghai")  # the region's geometry, built once per process

    t_api, answer = best(lambda: auditor.where(lon, lat, region="shanghai", uncertainty_m=50), args.reps)
    union = shapely.union_all(parts.geometry.values)
    k = min(args.subsample, args.points)
    t_loop, _ = best(lambda: [union.contains(shapely.Point(x, y)) for x, y in zip(lon[:k], lat[:k])], args.reps)
    t_loop *= args.points / k
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    t_sjoin, _ = best(lambda: gpd.sjoin(points, parts[["part", "geometry"]], predicate="within"), args.reps)
    t_scalar, _ = best(lambda: [where_point(x, y, region="shanghai", uncertainty_m=50) for x, y in zip(lon[:k], lat[:k])], args.reps)
    t_scalar *= args.points / k
    print(f"where: {args.points:,} points, Shanghai, uncertainty 50 m (best of {args.reps}; loops on {k:,} points, scaled)")
    print(f"  auditor.where (three-valued, signed distance, parts)  {t_api:8.3f} s  {t_api / args.points * 1e6:8.1f} µs/point")
    for name, t in (("per-point shapely contains loop (binary)", t_loop), ("geopandas.sjoin within (binary)", t_sjoin),
                    ("engine.where once per point (pre-API)", t_scalar)):
        print(f"  {name:<52} {t:8.3f} s  auditor.where is {t / t_api:6.1f}x as fast")
    print(f"  verdicts: {answer.verdict.value_counts().to_dict()}")

    import ip2region.searcher as official_searcher  # the official binding (py-ip2region)
    import ip2region.util as official_util

    from auditor.resolve.ipgeo.xdb import XdbDatabase

    addresses: list[str] = []
    while len(addresses) < args.ips:
        a = ipaddress.IPv4Address(int(rng.integers(1 << 24, 224 << 24)))
        if a.is_global:
            addresses.append(str(a))
    auditor.locate(addresses[:10])
    t_locate, located = best(lambda: auditor.locate(addresses), args.reps)
    buffer = official_util.load_content_from_file(XdbDatabase.load().path)
    searcher = official_searcher.new_with_buffer(official_util.IPv4, buffer)
    t_official, _ = best(lambda: [searcher.search(ip) for ip in addresses], args.reps)
    print(f"locate: {args.ips:,} random unicast IPv4 addresses (best of {args.reps})")
    print(f"  auditor.locate (frame, relation per region)          {t_locate:8.3f} s  {t_locate / args.ips * 1e6:8.1f} µs/address")
    print(f"  official ip2region binding, one search per address   {t_official:8.3f} s  auditor.locate is {t_official / t_locate:6.2f}x as fast")
    print(f"  kinds: {located.kind.value_counts().to_dict()}; placed: {int(located.answer.notna().sum()):,}")


if __name__ == "__main__":
    main()
