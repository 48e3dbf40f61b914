"""Benchmark: address-space footprint of many prefixes, by interval intersection.

    python benchmarks/footprint.py [--prefixes 10000] [--repeat 3]

Draws prefixes (fixed seed) with lengths /8 to /32 for IPv4 and /32 to /64 for
IPv6, computes their footprint for the ``shanghai`` region with
``address_footprint`` and prints the time, the addresses covered and the
segments visited. Baseline, measured in the same run: looking every address up
(``XdbDatabase.lookup_uint32`` over the enumerated addresses) on the prefixes of
/20 and longer only, extrapolated per address — enumerating a /8 is what the
interval method avoids.
"""

from __future__ import annotations

import argparse
import ipaddress
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from auditor.engine.gather import relation_of_answer  # noqa: E402
from auditor.regions import load_registry  # noqa: E402
from auditor.resolve.ipgeo.footprint import address_footprint  # noqa: E402
from auditor.resolve.ipgeo.xdb import XdbDatabase  # noqa: E402


def draw_prefixes(n: int, seed: int = 20240228) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        if rng.random() < 0.9:
            length = int(rng.integers(8, 33))
            addr = int(rng.integers(1 << 24, 224 << 24))
            out.append(str(ipaddress.ip_network(f"{ipaddress.IPv4Address(addr)}/{length}", strict=False)))
        else:
            length = int(rng.integers(32, 65))
            addr = (0x2400 << 112) | int(rng.integers(0, 1 << 62)) << 50
            out.append(str(ipaddress.ip_network(f"{ipaddress.IPv6Address(addr)}/{length}", strict=False)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--prefixes", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    t0 = time.perf_counter()
    db = XdbDatabase.load()
    reg = load_registry()
    region = reg.region("shanghai")
    load_s = time.perf_counter() - t0
    prefixes = draw_prefixes(args.prefixes)
    rel_cache: dict[str, object] = {}

    def rel(text: str):  # noqa: ANN202
        if text not in rel_cache:
            rel_cache[text] = relation_of_answer(reg, region, text)
        return rel_cache[text]

    ours, enum = [], []
    small = [p for p in prefixes if ":" not in p and ipaddress.ip_network(p).prefixlen >= 20]
    small_addresses = sum(ipaddress.ip_network(p).num_addresses for p in small)
    for _ in range(args.repeat):
        t = time.perf_counter()
        fp = address_footprint(prefixes, db, rel)
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        counted = 0
        for p in small:
            net = ipaddress.ip_network(p)
            ids = db.lookup_uint32(np.arange(int(net.network_address), int(net.broadcast_address) + 1, dtype=np.uint32))
            counted += ids.size
        enum.append(time.perf_counter() - t)
    v4_addresses = fp.v4.total
    segs = sum(len(db.segments_overlapping(int(n.network_address), int(n.broadcast_address))[0])
               for n in map(ipaddress.ip_network, prefixes) if n.version == 4)
    med, med_enum = statistics.median(ours), statistics.median(enum)
    per_addr = med_enum / small_addresses
    print(f"prefixes: {len(prefixes):,} ({sum(':' in p for p in prefixes):,} IPv6); IPv4 addresses covered: {v4_addresses:,}; segments visited: {segs:,}")
    print(f"one-time load (xdb + registry): {load_s:.3f} s")
    print(f"ours, interval intersection: median {med:.3f} s (min {min(ours):.3f}, max {max(ours):.3f}) = {segs / med:,.0f} segments/s")
    print(f"enumeration baseline on the {len(small):,} prefixes of /20 and longer ({small_addresses:,} addresses): median {med_enum:.3f} s = {per_addr * 1e9:.1f} ns/address")
    print(f"enumerating all {v4_addresses:,} IPv4 addresses at that rate would take about {per_addr * v4_addresses:,.0f} s: {per_addr * v4_addresses / med:,.0f}x ours")
    print(f"result (shanghai): IPv4 inside {fp.v4.inside:,}, outside {fp.v4.outside:,}, indeterminate {fp.v4.indeterminate:,}, unplaced {fp.v4.unlocated:,}")


if __name__ == "__main__":
    main()
