#!/usr/bin/env python
"""What a network source that does not answer costs an audit (issue 21, part 3).

The example operator (``examples/shanghai-operator``, its DNS recording left out so that its
hostnames and accelerated domains are asked live) is audited with the real command line, every
live option pointed at a server on loopback:

* ``--dns-resolver`` and ``--cymru-server``: Knot DNS serving the test zones
  (``tests/fixtures/*/zones``: the example's hostnames, Team Cymru's zone);
* ``--sweep-server``: the same Knot (the CDN zone answers by client subnet, mod-geoip);
* ``--rdap-url``: the recorded RDAP server of the tests (``tests/servers/rdap.py``).

Then once per source with that source dead — a UDP port bound on 127.0.0.1 that never reads
(DNS), or a TCP port that accepts connections and never answers (RDAP) — and once with the
deprecated ``--dns-server`` dead (Team Cymru and the resolver both; RDAP's own Team Cymru step
asks the same server). Printed: the wall time of each audit (median of ``--repeat``), its ratio
to the healthy audit against the target (at most 2x), the datagrams or connections the dead
server got, and the gave-up warnings report.json carries.

    python benchmarks/dead_server.py                 # all scenarios, 2 s timeout (the default)
    python benchmarks/dead_server.py --only dns-server --repeat 1
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

_REPO = Path(__file__).resolve().parents[1]
for p in (_REPO, _REPO / "tests"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))  # run from a checkout; the server harnesses live in tests/servers

from servers.deadhost import DeadHttp, DeadUdp  # noqa: E402
from servers.knot import KnotServer, discover_geoip, discover_zones  # noqa: E402
from servers.rdap import RdapServer, load_routes  # noqa: E402

EXAMPLE = _REPO / "examples" / "shanghai-operator"
TARGET = 2.0  # a dead source may cost at most twice the healthy audit
SCENARIOS = ("healthy", "dns-server", "cymru-server", "dns-resolver", "sweep-server", "rdap-url")
AUDIT_TIMEOUT = 600.0  # seconds one audit may take before the benchmark gives up on it


# --------------------------------------------------------------------------- the audit
def live_example(folder: Path, timeout_s: float | None) -> Path:
    """A copy of the example operator without its DNS recording (its names are then asked live)."""
    shutil.copytree(EXAMPLE, folder)
    profile = folder / "operator.yaml"
    doc = yaml.safe_load(profile.read_text(encoding="utf-8"))
    doc.get("evidence", {}).pop("dns_recording", None)
    if timeout_s is not None:
        doc.setdefault("evidence", {})["timeout_s"] = timeout_s
    profile.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return profile


def auditor_command() -> list[str]:
    script = Path(sys.executable).with_name("auditor")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from auditor.cli import main; sys.exit(main())"]


def run_audit(profile: Path, out: Path, options: dict[str, str]) -> tuple[float, dict[str, Any]]:
    """(wall seconds, report.json) of one ``auditor audit`` with ``options`` as its live sources."""
    if out.exists():
        shutil.rmtree(out)
    args = [*auditor_command(), "audit", str(profile), "--as-of", "2026-11-01", "--out", str(out), "--format", "json",
            "--quiet"]
    for flag, value in options.items():
        args += [flag, value]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITOR_")}
    env["PYTHONWARNINGS"] = "ignore"  # --dns-server's deprecation warning is expected, not noise
    t0 = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=AUDIT_TIMEOUT, check=False)
    wall = time.perf_counter() - t0
    if done.returncode not in (0, 1, 3):
        raise SystemExit(f"auditor audit exited {done.returncode}:\n{done.stderr[-3000:]}")
    return wall, json.loads((out / "report.json").read_text(encoding="utf-8"))


@contextmanager
def servers() -> Iterator[tuple[KnotServer, RdapServer]]:
    with tempfile.TemporaryDirectory(prefix="knot-") as work, \
            KnotServer(work, discover_zones(), geoip=discover_geoip()) as knot, RdapServer(load_routes()) as rdap:
        if knot.geoip_unavailable:
            print(f"note: Knot's geoip module is missing; {knot.geoip_unavailable} not served (the sweep finds nothing)")
        yield knot, rdap


def options_for(scenario: str, knot: KnotServer, rdap: RdapServer, dead_dns: int, dead_http: int) -> dict[str, str]:
    good_dns, dead = f"{knot.host}:{knot.port}", f"127.0.0.1:{dead_dns}"
    opts = {"--cymru-server": good_dns, "--dns-resolver": good_dns, "--sweep-server": good_dns, "--rdap-url": rdap.base_url}
    if scenario == "dns-server":
        del opts["--cymru-server"], opts["--dns-resolver"]
        opts["--dns-server"] = dead
    elif scenario == "rdap-url":
        opts["--rdap-url"] = f"http://127.0.0.1:{dead_http}"
    elif scenario != "healthy":
        opts["--" + scenario] = dead
    return opts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="audits per scenario, interleaved (median reported; default 3)")
    ap.add_argument("--timeout", type=float, default=None,
                    help="the audit's timeout_s in seconds, set in the profile (default: the auditor's own, 2 s)")
    ap.add_argument("--only", action="append", choices=SCENARIOS[1:], help="dead scenarios to run (repeatable; default all)")
    args = ap.parse_args(argv)
    scenarios = ["healthy", *(args.only or SCENARIOS[1:])]
    print(f"# dead_server.py {dt.datetime.now(dt.UTC):%Y-%m-%dT%H:%MZ} Python {platform.python_version()} "
          f"{os.cpu_count()} cores; timeout {args.timeout or 2.0:g} s; {args.repeat} run(s) of each, interleaved, median")
    walls: dict[str, list[float]] = {s: [] for s in scenarios}
    last: dict[str, tuple[int, dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="dead-server-") as tmp, servers() as (knot, rdap):
        profile = live_example(Path(tmp) / "operator", args.timeout)
        for k in range(args.repeat):  # interleaved: a busy moment of the machine spreads over every scenario
            for scenario in scenarios:
                with DeadUdp() as udp, DeadHttp() as http:
                    opts = options_for(scenario, knot, rdap, udp.port, http.port)
                    wall, report = run_audit(profile, Path(tmp) / f"out-{scenario}-{k}", opts)
                walls[scenario].append(wall)
                last[scenario] = (udp.datagrams + len(http.requests), report)
    healthy = statistics.median(walls["healthy"])
    missed = []
    print(f"{'live option dead':>17}  {'wall':>7}  {'(min-max)':>11}  {'ratio':>6}  {'≤2x':7}  {'sent to it':>10}  facilities")
    for scenario in scenarios:
        median, ratio = statistics.median(walls[scenario]), statistics.median(walls[scenario]) / healthy
        sent, report = last[scenario]
        status = "" if scenario == "healthy" else ("met" if ratio <= TARGET else "NOT met")
        if status == "NOT met":
            missed.append(scenario)
        verdicts = {k: v for k, v in report.get("summary", {}).get("facilities", {}).items() if v}
        name = "(none: healthy)" if scenario == "healthy" else "--" + scenario
        print(f"{name:>17}  {median:6.2f}s  ({min(walls[scenario]):4.2f}-{max(walls[scenario]):4.2f})  {ratio:5.2f}x  "
              f"{status:7}  {sent:10d}  {verdicts}", flush=True)
        for w in report.get("warnings", []):
            if "gave up" in w:
                print(f"{'':>19}{w}")
    print(f"target: a dead source costs at most {TARGET:g}x the healthy audit ({healthy:.2f} s): "
          + ("met by every scenario" if not missed else f"NOT met by {', '.join(missed)}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
