"""Synthetic facility lists for the scale benchmarks: reproducible, realistic enough to exercise every step.

Each row has an id, a name, a kind, WGS-84 coordinates scattered over and around the
region (so inside, outside and near-the-line verdicts all occur) and one IPv4 address
drawn from the whole unicast space (ip2region places most of them somewhere).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

__all__ = ["write_inventory", "BBOX"]

# lon/lat boxes a little larger than each region, so a good share of points falls outside
BBOX = {
    "shanghai": (121.2, 30.6, 122.2, 31.5),
    "beijing": (115.3, 39.3, 117.6, 41.2),
    "hainan": (108.4, 18.0, 111.2, 20.3),
    "shenzhen": (113.6, 22.3, 114.7, 22.9),
}
KINDS = ("IDC", "IDC", "CDN", "ISP_POP", "OFFICE")


def write_inventory(path: str | Path, n: int, region: str = "shanghai", seed: int = 20261128) -> Path:
    """Write ``n`` rows of CSV (id,name,kind,lon,lat,crs,ip) to ``path``; same seed, same file."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = BBOX[region]
    lon = np.round(rng.uniform(x0, x1, n), 6)
    lat = np.round(rng.uniform(y0, y1, n), 6)
    ips = rng.integers(0x01000000, 0xDF000000, n, dtype=np.uint64)
    kinds = rng.integers(0, len(KINDS), n)
    p = Path(path)
    with p.open("w", encoding="utf-8", newline="") as out:
        w = csv.writer(out)
        w.writerow(["id", "name", "kind", "lon", "lat", "crs", "ip"])
        for i in range(n):
            v = int(ips[i])
            w.writerow([
                f"F{i:07d}", f"facility {i}", KINDS[kinds[i]], f"{lon[i]:.6f}", f"{lat[i]:.6f}", "wgs84",
                f"{v >> 24}.{(v >> 16) & 255}.{(v >> 8) & 255}.{v & 255}",
            ])
    return p
