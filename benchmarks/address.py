"""Benchmark: address parsing (auditor.resolve.address.parse_address), addresses per second.

    python benchmarks/address.py [--n 100000] [--repeat 3] [--baseline 2000] [--json PATH]

Draws N addresses (fixed seed) in the shapes of ``tests/fixtures/addresses.csv``: Chinese
addresses built from random gazetteer units (full chain, missing levels, short forms,
postcode or 中国 prefixes, full-width digits, Lingang and Xiaoyangshan forms, street-name
false friends), English/pinyin ones (small to large, with designations, commas, postcodes,
"China"), mixed-script ones and the corpus rows themselves (without its 10,000-character
strings), each with random house numbers and street names. Times, with repetitions
interleaved, the median (min-max) of ``repeat`` runs over all N of:

* ours, default index (a dict of key lengths per first character, leftmost-longest);
* ours, the same parser with a trie-shaped regular expression as the Chinese index;
* baseline: what one would write without an index — test every gazetteer name (and alias)
  with ``name in text`` and keep the longest hit per level; timed on ``--baseline``
  addresses and given as a rate. It is not a parser (no street rule, no walk), only the
  floor of "look every name up".

The one-time cost (reading admin-units.csv and building the index, compiling the regex) is
timed separately. Process CPU time is recorded too (everything is single-threaded: CPU/wall below
1 means the process waited for a core, and the per-CPU-second rate is then the fairer figure).
Checks in the same run: the two indexes give equal parses on every address.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from auditor.regions import load_registry  # noqa: E402
from auditor.resolve import address as addr
from auditor.resolve.address import gazetteer as addr_gazetteer  # noqa: E402

STREETS_ZH = ["申港大道", "世纪大道", "科技园路", "深南大道", "中关村大街", "环湖西二路", "海府路", "解放路", "人民路", "建设路",
              "北京东路", "南京西路", "中山园路", "天山路", "延安东路", "临港大道", "学院路", "滨海大道", "工业园区", "创新路"]
STREETS_EN = ["Shengang Avenue", "Century Avenue", "Keji Road", "Shennan Boulevard", "Zhongguancun Street", "Haifu Road",
              "Beijing Road", "Nanjing West Road", "Zhongshan Road", "Jiefang Road", "Renmin Road", "Binhai Avenue"]
PARTS_ZH = ["中国（上海）自由贸易试验区临港新片区", "上海市浦东新区南汇新城镇", "浙江省舟山市嵊泗县洋山镇小洋山", "上海洋山港",
            "深圳市深汕特别合作区", "北京燕郊", "北京大兴国际机场"]


def build_shapes(registry) -> tuple[list, list[str]]:
    """Units with their lineage names, and corpus addresses (short ones)."""
    g = addr_gazetteer._gazetteer(registry)
    counties = [u for u in g.units.values() if u.level == "county" and len(u.lineage) >= 2 and not u.name_zh.endswith("直辖")]
    rows = {}
    with open(ROOT / "boundaries" / "admin-units.csv", encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            rows[r["adcode"]] = r
    with open(ROOT / "tests" / "fixtures" / "addresses.csv", encoding="utf-8", newline="") as f:
        corpus = [r["address"] for r in csv.DictReader(f) if len(r["address"]) < 300]
    return [(u, [rows[c] for c in u.lineage]) for u in counties], corpus


def en_name(r: dict) -> str:
    forms = [p for p in r["pinyin"].split("|") if p]
    return forms[0].split()[0] if forms else ""


def draw(n: int, registry, seed: int = 20241023) -> list[str]:
    rng = random.Random(seed)
    units, corpus = build_shapes(registry)
    designation = {"区": "District", "县": "County", "市": "City", "省": "Province", "旗": "Banner", "州": "Prefecture", "盟": "League"}
    out = []
    for _ in range(n):
        u, lineage = rng.choice(units)
        num = rng.randint(1, 2999)
        kind = rng.random()
        if kind < 0.45:  # Chinese, full or partial chain
            names = [r["name_zh"] for r in lineage if "市辖区" not in r["name_zh"]]
            if rng.random() < 0.3 and len(names) > 1:
                names = names[rng.randint(1, len(names) - 1):]
            if rng.random() < 0.2:
                names = [(r["short_zh"] or r["name_zh"]) for r in lineage if "市辖区" not in r["name_zh"]]
            text = "".join(names) + rng.choice(STREETS_ZH) + f"{num}号"
            if rng.random() < 0.15:
                text = rng.choice(["中国", "201306 ", "地址：", "中华人民共和国"]) + text
            if rng.random() < 0.1:
                text = text.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
        elif kind < 0.8:  # English / pinyin, small to large
            parts = []
            for r in reversed(lineage):
                if "市辖区" in r["name_zh"]:
                    continue
                name = en_name(r)
                d = designation.get(r["name_zh"][-1], "")
                parts.append(f"{name} {d}".strip() if rng.random() < 0.7 else name)
            text = f"No. {num} {rng.choice(STREETS_EN)}, " + ", ".join(parts)
            if rng.random() < 0.5:
                text += f" {rng.randint(100000, 899999)}, China"
        elif kind < 0.88:
            text = rng.choice(PARTS_ZH) + rng.choice(STREETS_ZH) + f"{num}号"
        elif kind < 0.93:
            text = f"{lineage[0]['name_zh']} {en_name(lineage[-1])} District, No. {num}"
        else:
            text = rng.choice(corpus)
        out.append(text)
    return out


def naive_baseline(registry):
    names = []
    for u in registry.units.values():
        for n in {u.name_zh, u.name_en, *u.aliases} - {""}:
            names.append((n.lower(), u.adcode))

    def parse(text: str) -> str | None:
        low = text.lower()
        best = None
        for n, code in names:
            if n in low and (best is None or len(n) > len(best[0])):
                best = (n, code)
        return best[1] if best else None

    return parse


def rate(n: int, seconds: float) -> str:
    r = n / seconds
    return f"{r / 1e6:.2f}M" if r >= 1e6 else f"{r / 1e3:.1f}k"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--baseline", type=int, default=2_000, help="addresses for the unindexed baseline")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    t0 = time.perf_counter()
    registry = load_registry()
    t_registry = time.perf_counter() - t0
    loads, regex_compiles = [], []
    for _ in range(args.repeat):
        t = time.perf_counter()
        g = addr_gazetteer._Gazetteer(registry)
        loads.append(time.perf_counter() - t)
        t = time.perf_counter()
        g.scan_cjk_regex("上海")
        regex_compiles.append(time.perf_counter() - t)
    texts = draw(args.n, registry)
    avg_len = statistics.mean(len(t) for t in texts)
    parsers = {"dict": addr.AddressParser(registry, "dict"), "regex": addr.AddressParser(registry, "regex")}
    parsers["regex"].parse("上海")
    times: dict[str, list[float]] = {k: [] for k in parsers}
    cpu: dict[str, list[float]] = {k: [] for k in parsers}
    results = {}
    for _ in range(args.repeat):
        for name, p in parsers.items():
            parse = p.parse
            c, t = time.process_time(), time.perf_counter()
            res = [parse(x) for x in texts]
            times[name].append(time.perf_counter() - t)
            cpu[name].append(time.process_time() - c)
            results[name] = res
    mismatches = sum(a != b for a, b in zip(results["dict"], results["regex"]))
    resolved = sum(1 for r in results["dict"] if r.unit is not None)
    with_parts = sum(1 for r in results["dict"] if r.parts)
    ambiguous = sum(1 for r in results["dict"] if r.ambiguous)
    base = naive_baseline(registry)
    sample = texts[: args.baseline]
    c, t = time.process_time(), time.perf_counter()
    for x in sample:
        base(x)
    t_base, c_base = time.perf_counter() - t, time.process_time() - c

    print(f"addresses: {args.n:,} (seed 20241023), mean length {avg_len:.1f} characters; repeat {args.repeat}")
    print(f"one-time: load_registry {t_registry * 1e3:.0f} ms (cached afterwards); gazetteer index (read admin-units.csv, build) "
          f"{statistics.median(loads) * 1e3:.0f} ms median ({min(loads) * 1e3:.0f}-{max(loads) * 1e3:.0f}); "
          f"regex compile {regex_compiles[0] * 1e3:.0f} ms (first; later ones hit re's cache)")
    g = parsers["dict"].g
    print(f"index: {len(g.cjk):,} Chinese keys, {len(g.latin):,} Latin keys")
    print("| variant | time, median | addresses/s, median (min-max) | per CPU-second, median | CPU/wall |")
    print("|---|---:|---:|---:|---:|")
    for name in parsers:
        ts = times[name]
        med = statistics.median(ts)
        print(f"| ours, {name} index | {med * 1e3:.0f} ms | {rate(args.n, med)} ({rate(args.n, max(ts))}-{rate(args.n, min(ts))}) "
              f"| {rate(args.n, statistics.median(cpu[name]))} | {statistics.median(c / w for c, w in zip(cpu[name], ts)):.2f} |")
    print(f"| baseline: every name `in text`, {len(sample):,} addresses | {t_base * 1e3:.0f} ms | {rate(len(sample), t_base)} "
          f"| {rate(len(sample), c_base)} | {c_base / t_base:.2f} |")
    ours = args.n / statistics.median(times["dict"])
    print(f"ours (dict) vs baseline: {ours / (len(sample) / t_base):.0f}x")
    print(f"checks: dict vs regex index mismatches {mismatches}; with a unit {resolved:,}, with parts {with_parts:,}, "
          f"ambiguous {ambiguous:,} of {args.n:,}")
    if args.json:
        args.json.write_text(json.dumps({
            "n": args.n, "repeat": args.repeat, "times_s": times, "cpu_s": cpu, "load_s": loads,
            "regex_compile_s": regex_compiles, "baseline_s": t_base, "baseline_n": len(sample), "mismatches": mismatches,
        }, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
