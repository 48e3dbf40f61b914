"""Synthetic facility lists for the scale benchmarks: reproducible, realistic enough to exercise every step.

Each row has an id, a name, a kind, WGS-84 coordinates scattered over and around the
region (so inside, outside and near-the-line verdicts all occur) and one IPv4 address:
with probability ``local_share`` from address space ip2region places in the region's
province (as most of a real operator's addresses are), otherwise drawn from the whole
unicast space (placed anywhere, usually contradicting the coordinates).
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
PROVINCE = {"shanghai": "上海", "beijing": "北京", "hainan": "海南", "shenzhen": "深圳"}


def _local_addresses(region: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` addresses from segments the shipped ip2region database places in the region's province/city."""
    from auditor.resolve.ipgeo.xdb import XdbDatabase

    db = XdbDatabase.load()
    wanted = np.array([PROVINCE[region] in t for t in db.regions])
    segs = np.flatnonzero(wanted[db.region_ids])
    sizes = (db.ends[segs].astype(np.uint64) - db.starts[segs] + 1).astype(np.float64)
    pick = rng.choice(segs, size=n, p=sizes / sizes.sum())
    span = (db.ends[pick].astype(np.uint64) - db.starts[pick] + 1)
    return db.starts[pick].astype(np.uint64) + (rng.random(n) * span).astype(np.uint64)


def write_inventory(path: str | Path, n: int, region: str = "shanghai", seed: int = 20261128, local_share: float = 0.8) -> Path:
    """Write ``n`` rows of CSV (id,name,kind,lon,lat,crs,ip) to ``path``; same arguments, same file."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = BBOX[region]
    lon = np.round(rng.uniform(x0, x1, n), 6)
    lat = np.round(rng.uniform(y0, y1, n), 6)
    ips = rng.integers(0x01000000, 0xDF000000, n, dtype=np.uint64)
    local = rng.random(n) < local_share
    ips[local] = _local_addresses(region, int(local.sum()), rng)
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
