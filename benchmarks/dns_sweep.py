#!/usr/bin/env python
"""Throughput of ECS sweeps: our sweep engine against a sequential dnspython loop.

Both variants ask the same question (``img.szcdn.test A`` with an EDNS Client Subnet option,
source prefix /24) from the same client subnets — the deterministic plan of
``plan_subnets(XdbDatabase.load(), per_pair=K)`` — of a real Knot DNS 3.2 server on loopback,
serving the test fixture zone with mod-geoip in subnet mode (``tests/fixtures/dns/zones``), so
the answers vary by subnet as a CDN's do.

* baseline: ``dns.message.make_query(..., options=[ECSOption])`` + ``dns.query.udp`` per subnet,
  one after the other (what one would write with dnspython; stack-baselines.md §4 measured
  ~2,000 q/s for it on this machine class).
* ours: :func:`auditor.resolve.dns.sweep` (a query built once and patched, a window of queries in
  flight over a few UDP sockets, replies read by a byte-level parser with dnspython as fallback).

Two settings:

(a) **loopback** — straight to knotd. Rate: queries per second, median (min-max) of the reps.
(b) **simulated network** — through a delaying UDP relay on loopback (a separate process written
    here) that holds every datagram ``--delay-ms`` (20 ms) each way, so each query takes at least
    a 40 ms round trip, as to a server a few provinces away. Ratio of rates, ours / baseline.

Every run checks that nothing was lost: each planned query ends answered or failed, and the
number of failures is printed (it should be 0). A third table times reply parsing alone:
``dns.message.from_wire`` against our fast reader on the same Knot replies.

    python benchmarks/dns_sweep.py                     # defaults: about a minute on 2 cores
    python benchmarks/dns_sweep.py --per-pair 100 --repeat 2 --baseline-n 1000   # quicker look
"""

from __future__ import annotations

import argparse
import datetime as dt
import heapq
import json
import multiprocessing as mp
import os
import platform
import selectors
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_REPO = Path(__file__).resolve().parents[1]
for p in (_REPO, _REPO / "tests"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))  # run from a checkout; the Knot harness lives in tests/servers

import dns.edns  # noqa: E402
import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402
from servers.knot import KnotServer, discover_geoip, discover_zones, find_geoip_module  # noqa: E402

from auditor.resolve.dns import plan_subnets, sweep  # noqa: E402
from auditor.resolve.dns.wire import QueryTemplate, read_reply  # noqa: E402
from auditor.resolve.ipgeo.xdb import XdbDatabase  # noqa: E402

NAME = "img.szcdn.test"


# --------------------------------------------------------------------------- the delaying relay
def _relay(listen_port_q: Any, upstream: tuple[str, int], delay: float, stop_after: float) -> None:
    """Forward datagrams client -> upstream and back, each held ``delay`` seconds. Bounded in time."""
    sel = selectors.DefaultSelector()
    front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    front.bind(("127.0.0.1", 0))
    front.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    front.setblocking(False)
    sel.register(front, selectors.EVENT_READ, None)
    listen_port_q.put(front.getsockname()[1])
    backs: dict[tuple[str, int], socket.socket] = {}  # one upstream socket per client address
    due: list[tuple[float, int, socket.socket, bytes, Any]] = []
    seq = 0
    end = time.monotonic() + stop_after
    while time.monotonic() < end:
        now = time.monotonic()
        while due and due[0][0] <= now:
            _t, _s, sock, data, dest = heapq.heappop(due)
            try:
                if dest is None:
                    sock.send(data)
                else:
                    sock.sendto(data, dest)
            except OSError:
                pass
        wait = 0.01 if not due else max(0.0, min(0.01, due[0][0] - now))
        for key, _ in sel.select(wait):
            sock = key.fileobj
            while True:
                try:
                    data, addr = sock.recvfrom(65535)  # type: ignore[union-attr]
                except BlockingIOError:
                    break
                except OSError:
                    break
                seq += 1
                t = time.monotonic() + delay
                if key.data is None:  # from a client: to upstream on this client's socket
                    back = backs.get(addr)
                    if back is None:
                        back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                        back.connect(upstream)
                        back.setblocking(False)
                        backs[addr] = back
                        sel.register(back, selectors.EVENT_READ, addr)
                    heapq.heappush(due, (t, seq, back, data, None))
                else:  # from upstream: back to the client it belongs to
                    heapq.heappush(due, (t, seq, front, data, key.data))
    for s in backs.values():
        s.close()
    front.close()


# --------------------------------------------------------------------------- the two variants
def baseline(host: str, port: int, prefixes: list[str], timeout: float) -> dict[str, Any]:
    """Sequential dnspython: one message built, sent and parsed per subnet."""
    answered = failed = 0
    served: dict[str, int] = {}
    t0 = time.perf_counter()
    for prefix in prefixes:
        q = dns.message.make_query(NAME, "A", use_edns=0, payload=1232,
                                   options=[dns.edns.ECSOption(prefix.split("/")[0], 24)])
        try:
            r = dns.query.udp(q, host, port=port, timeout=timeout)
        except Exception:  # noqa: BLE001 - counted as lost, never hidden
            failed += 1
            continue
        answered += 1
        for rrset in r.answer:
            for rd in rrset:
                served[rd.to_text()] = served.get(rd.to_text(), 0) + 1
    elapsed = time.perf_counter() - t0
    return {"n": len(prefixes), "answered": answered, "failed": failed, "seconds": elapsed,
            "qps": len(prefixes) / elapsed, "nodes": len(served)}


def ours(host: str, port: int, plan: Any, *, timeout: float, window: int, sockets: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    r = sweep(NAME, (host, port), plan=plan, timeout=timeout, retries=2, window=window, sockets=sockets,
              rate_limit=None, max_queries=max(100_000, 3 * len(plan.subnets)))
    elapsed = time.perf_counter() - t0
    return {"n": r.queries, "answered": r.answered, "failed": r.failed, "sent": r.sent, "seconds": elapsed,
            "qps": r.queries / elapsed, "nodes": len(r.by_address),
            "lost": r.queries - r.answered - r.failed}


def parse_rates(host: str, port: int, plan: Any, n: int) -> dict[str, float]:
    """Reply parsing alone, on ``n`` real replies: dnspython from_wire vs our reader."""
    t = QueryTemplate(NAME, "A")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    s.connect((host, port))
    replies = []
    try:
        for i, sub in enumerate(plan.subnets[:n]):
            a = t.address_bytes(sub.prefix.split("/")[0])
            s.send(bytes(t.render(i & 0xFFFF, a)))
            replies.append((s.recv(4096), a))
    finally:
        s.close()
    t0 = time.perf_counter()
    for data, _a in replies:
        dns.message.from_wire(data)
    slow = time.perf_counter() - t0
    t0 = time.perf_counter()
    for data, a in replies:
        read_reply(data, t, a)
    fast = time.perf_counter() - t0
    return {"n": len(replies), "from_wire_per_s": len(replies) / slow, "ours_per_s": len(replies) / fast}


def summary(rates: list[float]) -> str:
    return f"{statistics.median(rates):,.0f} ({min(rates):,.0f}-{max(rates):,.0f})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-pair", type=int, default=200, help="subnets per (province, carrier) for (a): 200 -> ~20k queries")
    ap.add_argument("--baseline-n", type=int, default=3000, help="queries of the sequential baseline in (a)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--window", type=int, default=256)
    ap.add_argument("--sockets", type=int, default=4)
    ap.add_argument("--delay-ms", type=float, default=20.0, help="relay delay each way in (b)")
    ap.add_argument("--net-per-pair", type=int, default=40, help="subnets per pair for (b): 40 -> ~4.2k queries")
    ap.add_argument("--net-baseline-n", type=int, default=100, help="queries of the sequential baseline in (b)")
    ap.add_argument("--json", type=Path, help="write raw results here")
    args = ap.parse_args(argv)

    if find_geoip_module() is None:
        print("knot-module-geoip is required: apt-get install -y knot-module-geoip", file=sys.stderr)
        return 2
    db = XdbDatabase.load()
    plan = plan_subnets(db, per_pair=args.per_pair)
    net_plan = plan_subnets(db, per_pair=args.net_per_pair)
    prefixes = [s.prefix for s in plan.subnets][: args.baseline_n]
    net_prefixes = [s.prefix for s in net_plan.subnets][: args.net_baseline_n]
    out: dict[str, Any] = {
        "date": dt.date.today().isoformat(), "python": platform.python_version(),
        "dnspython": dns.version.version, "cpus": os.cpu_count(), "load_before": os.getloadavg(),
        "plan_queries": len(plan.subnets), "net_plan_queries": len(net_plan.subnets), "loopback": [], "network": [],
    }
    with tempfile.TemporaryDirectory() as work:
        knot = KnotServer(work, discover_zones(), geoip=discover_geoip())
        knot.start()
        try:
            print(f"knotd on {knot.host}@{knot.port}; {len(plan.subnets)} subnets (per_pair={args.per_pair}); "
                  f"load average {os.getloadavg()[0]:.2f}")
            ours(knot.host, knot.port, net_plan, timeout=1.0, window=args.window, sockets=args.sockets)  # warm-up
            for rep in range(args.repeat):
                b = baseline(knot.host, knot.port, prefixes, timeout=2.0)
                o = ours(knot.host, knot.port, plan, timeout=1.0, window=args.window, sockets=args.sockets)
                out["loopback"].append({"rep": rep, "baseline": b, "ours": o})
                print(f"(a) rep {rep}: baseline {b['qps']:,.0f} q/s ({b['failed']} failed of {b['n']}); "
                      f"ours {o['qps']:,.0f} q/s ({o['failed']} failed, {o['lost']} lost of {o['n']}, {o['sent']} sent, "
                      f"{o['nodes']} nodes)")
            out["parse"] = parse_rates(knot.host, knot.port, plan, 20_000)

            q: Any = mp.Queue()
            budget = 60.0 + args.repeat * (args.net_baseline_n * (2 * args.delay_ms / 1000 + 0.01) + 10)
            relay = mp.Process(target=_relay, args=(q, (knot.host, knot.port), args.delay_ms / 1000, budget), daemon=True)
            relay.start()
            try:
                rport = q.get(timeout=10)
                for rep in range(args.repeat):
                    b = baseline("127.0.0.1", rport, net_prefixes, timeout=2.0)
                    o = ours("127.0.0.1", rport, net_plan, timeout=1.0, window=args.window, sockets=args.sockets)
                    out["network"].append({"rep": rep, "baseline": b, "ours": o})
                    print(f"(b) rep {rep}: baseline {b['qps']:,.1f} q/s ({b['failed']} failed of {b['n']}); "
                          f"ours {o['qps']:,.0f} q/s ({o['failed']} failed, {o['lost']} lost of {o['n']}, {o['sent']} sent)")
            finally:
                relay.terminate()
                relay.join(timeout=5)
        finally:
            knot.stop()
    out["load_after"] = os.getloadavg()

    la = [r["ours"]["qps"] for r in out["loopback"]]
    lb = [r["baseline"]["qps"] for r in out["loopback"]]
    na = [r["ours"]["qps"] for r in out["network"]]
    nb = [r["baseline"]["qps"] for r in out["network"]]
    lost = sum(r["ours"]["lost"] for r in out["loopback"] + out["network"])
    failed = sum(r["ours"]["failed"] for r in out["loopback"] + out["network"])
    bfailed = sum(r["baseline"]["failed"] for r in out["loopback"] + out["network"])
    print()
    print("| setting | variant | queries/s, median (min-max) | vs baseline |")
    print("|---|---|---:|---:|")
    print(f"| (a) loopback | sequential dnspython `dns.query.udp` ({args.baseline_n} queries) | {summary(lb)} | 1.0x |")
    print(f"| (a) loopback | ours `sweep()` ({len(plan.subnets)} queries, window {args.window}, {args.sockets} sockets) "
          f"| {summary(la)} | {statistics.median(la) / statistics.median(lb):.1f}x |")
    print(f"| (b) {args.delay_ms:g} ms each way | sequential dnspython ({len(net_prefixes)} queries) | {summary(nb)} | 1.0x |")
    print(f"| (b) {args.delay_ms:g} ms each way | ours `sweep()` ({len(net_plan.subnets)} queries) "
          f"| {summary(na)} | {statistics.median(na) / statistics.median(nb):.0f}x |")
    p = out["parse"]
    print(f"\nreply parsing alone ({p['n']} Knot replies): dns.message.from_wire {p['from_wire_per_s']:,.0f}/s, "
          f"ours read_reply {p['ours_per_s']:,.0f}/s ({p['ours_per_s'] / p['from_wire_per_s']:.1f}x)")
    print(f"lost queries (ours): {lost}; failed (ours): {failed}; failed (baseline): {bfailed}")
    print(f"load average before {out['load_before'][0]:.2f}, after {out['load_after'][0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1), encoding="utf-8")
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
