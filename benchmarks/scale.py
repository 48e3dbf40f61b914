"""End-to-end scale benchmark: a streamed audit of N synthetic facility rows, one process vs a Dask LocalCluster.

    python benchmarks/scale.py                      # 1,000,000 rows, shanghai, 2 workers
    python benchmarks/scale.py --rows 100000 --workers 2

Each run is the real command line (``auditor audit FILE --region R --stream|--workers N``) in a
subprocess; the peak memory is the largest sum of RSS over the whole process tree (the CLI,
the Dask scheduler's nannies and workers), sampled every 0.1 s. The two runs must write
identical tables and reports (printed as ``identical``). Targets (issue 21, after issue 8's 60 s and
4 GB): one process under 15 s and under 1 GB for 1,000,000 rows on this 2-core machine; two Dask
workers at least 1.7x as fast as one process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _synth import write_inventory  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_S, TARGET_BYTES, TARGET_SPEEDUP = 15.0, 1 << 30, 1.7


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def run_audit(args: list[str]) -> dict:
    """Run ``auditor audit ...``; wall seconds, peak tree RSS and exit status."""
    cmd = [sys.executable, "-m", "auditor", "audit", *args]
    peak = 0
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ps = psutil.Process(proc.pid)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            try:
                peak = max(peak, _tree_rss(ps))
            except psutil.NoSuchProcess:
                return
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = proc.communicate()
    wall = time.perf_counter() - t0
    done.set()
    sampler.join(timeout=2)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"audit failed ({proc.returncode}):\n{output}")
    return {"wall_s": wall, "peak_rss_bytes": peak, "exit": proc.returncode, "output": output.strip().splitlines()[:2]}


def _digest(folder: Path) -> dict[str, str]:
    out = {}
    for name in ("facilities.csv", "facilities.parquet"):
        out[name] = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    report.pop("generated_at")
    out["report.json"] = hashlib.sha256(json.dumps(report, sort_keys=True).encode()).hexdigest()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--region", default="shanghai")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk-rows", type=int, default=50_000)
    ap.add_argument("--data-dir", default=os.path.join(tempfile.gettempdir(), "auditor-bench"))
    a = ap.parse_args()

    data = Path(a.data_dir)
    data.mkdir(parents=True, exist_ok=True)
    inventory = data / f"synth-{a.region}-{a.rows}.csv"
    if not inventory.exists():
        t = time.perf_counter()
        write_inventory(inventory, a.rows, a.region)
        print(f"wrote {inventory} ({inventory.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.1f} s")
    common = [str(inventory), "--region", a.region, "--as-of", "2026-11-01", "--format", "json,md,csv,parquet",
              "--chunk-rows", str(a.chunk_rows)]
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, extra in (("single process", ["--stream"]), (f"dask LocalCluster, {a.workers} workers", ["--workers", str(a.workers)])):
            out = Path(tmp) / name.split()[0]
            r = run_audit(common + ["--out", str(out)] + extra)
            r["digest"] = _digest(out)
            runs[name] = r
    (first, r1), (second, r2) = runs.items()
    same = r1["digest"] == r2["digest"]
    print(f"\nEnd-to-end streamed audit of {a.rows:,} rows (coordinates + one IPv4 each), region {a.region}, "
          f"chunks of {a.chunk_rows:,}, {os.cpu_count()} cores; reports json, md, csv, parquet")
    print(r1["output"][0] if r1["output"] else "")
    print(f"{'run':<34} {'wall s':>8} {'rows/s':>10} {'peak RSS (tree)':>16}")
    for name, r in runs.items():
        print(f"{name:<34} {r['wall_s']:8.1f} {a.rows / r['wall_s']:10,.0f} {r['peak_rss_bytes'] / 2**30:13.2f} GB")
    single_ok = r1["wall_s"] < TARGET_S and r1["peak_rss_bytes"] < TARGET_BYTES
    speedup = r1["wall_s"] / r2["wall_s"]
    print(f"single process: target < {TARGET_S:.0f} s and < {TARGET_BYTES >> 30} GB for 1,000,000 rows: "
          f"{'met' if single_ok else 'NOT met'}{'' if a.rows == 1_000_000 else f' (this run has {a.rows:,} rows)'}")
    print(f"dask speed-up over one process: {speedup:.2f}x (target >= {TARGET_SPEEDUP}x: {'met' if speedup >= TARGET_SPEEDUP else 'NOT met'}); "
          f"tables and report identical: {'yes' if same else 'NO'}")
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.date.today().isoformat()
    (RESULTS / f"scale-{stamp}.json").write_text(json.dumps({
        "rows": a.rows, "region": a.region, "chunk_rows": a.chunk_rows, "cores": os.cpu_count(), "identical": same,
        "runs": {k: {kk: vv for kk, vv in v.items() if kk != "output"} for k, v in runs.items()},
    }, indent=2) + "\n", encoding="utf-8")
    if not same:
        raise SystemExit("the Dask run's outputs differ from the single-process run's")


if __name__ == "__main__":
    main()
