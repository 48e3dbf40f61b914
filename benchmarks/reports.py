"""The reports of an in-memory audit: what writing them costs, format by format, against the baselines.

    python benchmarks/reports.py                  # 20,000 rows, shanghai
    python benchmarks/reports.py --rows 5000 --repeat 3

An in-memory audit (what ``auditor audit`` runs for a list of up to 50,000 rows) of the synthetic
list (``_synth.py``: coordinates + one IPv4 each) is made once; then, best of ``--repeat``:

* report.json's and report.sarif's text: :func:`auditor.report.jsontext.indented_json` (orjson)
  against ``json.dumps(doc, ensure_ascii=False, indent=2)``, the standard library's pure-Python
  indenting encoder, on the same mapping; the two texts must be equal;
* ``write_reports`` of json, md, csv, geojson, html and sarif together (report.json, .md, .html and
  .sarif share one build of the facility entries) against the sum of writing each format alone
  (each builds its own), the outputs compared byte for byte.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _synth import write_inventory  # noqa: E402

FORMATS = ("json", "md", "csv", "geojson", "html", "sarif")
STAMP = "2026-11-01T00:00:00+00:00"


def best(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--region", default="shanghai")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--data-dir", default=os.path.join(tempfile.gettempdir(), "auditor-bench"))
    a = ap.parse_args()

    from auditor.engine import audit
    from auditor.report import write_reports
    from auditor.report.json_report import build_report
    from auditor.report.jsontext import indented_json
    from auditor.report.sarif_report import build_sarif

    data = Path(a.data_dir)
    data.mkdir(parents=True, exist_ok=True)
    inventory = data / f"synth-{a.region}-{a.rows}.csv"
    if not inventory.exists():
        write_inventory(inventory, a.rows, a.region)
    t = time.perf_counter()
    result = audit(inventory, region=a.region, as_of="2026-11-01")
    audit_s = time.perf_counter() - t
    print(f"\n{a.rows:,} synthetic rows ({inventory.name}), region {a.region}, in memory, {os.cpu_count()} cores, best of {a.repeat}")
    print(f"the audit itself (auditor.audit, once): {audit_s:.2f} s\n")

    print(f"{'indented JSON text':<34} {'json.dumps':>11} {'orjson':>8} {'faster':>7}  same text")
    for name, doc in (("report.json", build_report(result, generated_at=STAMP)), ("report.sarif", build_sarif(result))):
        base = best(lambda doc=doc: json.dumps(doc, ensure_ascii=False, indent=2, allow_nan=False), a.repeat)
        ours = best(lambda doc=doc: indented_json(doc), a.repeat)
        same = indented_json(doc) == json.dumps(doc, ensure_ascii=False, indent=2, allow_nan=False)
        print(f"{name:<34} {base:10.2f}s {ours:7.2f}s {base / ours:6.1f}x  {'yes' if same else 'NO'}")

    with tempfile.TemporaryDirectory() as tmp:
        alone: dict[str, float] = {}
        for fmt in FORMATS:
            alone[fmt] = best(lambda fmt=fmt: write_reports(result, Path(tmp) / f"alone-{fmt}", (fmt,), generated_at=STAMP), a.repeat)
        together = best(lambda: write_reports(result, Path(tmp) / "together", FORMATS, generated_at=STAMP), a.repeat)
        names = {"json": "report.json", "md": "report.md", "csv": "facilities.csv", "geojson": "facilities.geojson",
                 "html": "report.html", "sarif": "report.sarif"}
        same = all((Path(tmp) / f"alone-{f}" / names[f]).read_bytes() == (Path(tmp) / "together" / names[f]).read_bytes() for f in FORMATS)
    print(f"\n{'write_reports':<34} {'seconds':>11}")
    for fmt in FORMATS:
        print(f"  {fmt + ' alone':<32} {alone[fmt]:10.2f}s")
    print(f"  {'sum of the six alone':<32} {sum(alone.values()):10.2f}s")
    print(f"  {'the six together':<32} {together:10.2f}s  ({sum(alone.values()) / together:.1f}x the sum; outputs identical: {'yes' if same else 'NO'})")
    if not same:
        raise SystemExit("a report written with the others differs from the same report written alone")


if __name__ == "__main__":
    main()
