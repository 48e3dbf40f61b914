"""DNS evidence an operator can own, on the command line (issue 25, item 2; issue 19, item 7) — against
the real Knot DNS on loopback (tests/servers/knot.py; mod-geoip for the sweeps).

- ``--cymru-server`` and ``--dns-resolver`` are asked apart (two counting relays in front of Knot);
  ``--dns-server`` is a deprecated alias for both, with a warning.
- ``auditor sweep --record`` then ``auditor audit --dns-recording`` replays the same answers, with
  no socket opened; ``auditor audit --record-dns`` does the same for a whole audit.
- a recording and a live DNS source together are an error naming where each came from.
- ``sweep`` exits 1 when queries failed or a node lies outside ``--region``.
- ``--online`` resolves hostnames (A and AAAA) through the nameservers of resolv.conf
  (``AUDITOR_RESOLV_CONF`` here names Knot's port), and report.json's ``tool.mode`` says
  offline, recorded or online truthfully.

Live sources run on virtual time (``use_network``): Knot's answers are waited for as long as they
take, never cut off by a deadline; every loop is bounded by the sources' own caps.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from conftest import AS_OF, DISHUI_LAKE, write_csv
from servers.blackhole import VirtualNetwork, virtual_network  # noqa: F401  (fixtures are found by name)
from servers.hostile_dns import FaultyDns
from servers.knot import KnotServer, knot_dns  # noqa: F401

from auditor.cli import main
from auditor.engine.gather import use_network
from auditor.resolve.dns import read_recording

pytestmark = pytest.mark.usefixtures("loopback_only")

SHENZHEN_NODE = "14.153.10.20"  # the declared node; the sweep also hands out Dongguan, Hong Kong and Urumqi nodes
UNDECLARED = {"14.216.10.20", "1.36.10.20", "49.118.10.20"}

# --------------------------------------------------------------------------- sockets opened, watched
_SOCKET_EVENTS = ("socket.__new__", "socket.connect", "socket.sendto", "socket.getaddrinfo")
_watch: dict[str, Any] = {"on": False, "seen": []}


def _hook(event: str, args: tuple[Any, ...]) -> None:
    watch = _watch  # None once the interpreter tears the module down: the hook stays installed till the end
    if watch is not None and watch["on"] and event in _SOCKET_EVENTS:
        watch["seen"].append(event)


sys.addaudithook(_hook)  # PEP 578: observes, patches nothing; inert unless a test watches


@contextmanager
def no_socket_opened() -> Iterator[list[str]]:
    """Within the block, record every socket made, connected, sent on or resolved; the caller asserts none was."""
    _watch["seen"] = []
    _watch["on"] = True
    try:
        yield _watch["seen"]
    finally:
        _watch["on"] = False


def _run(args: list[str], env: dict[str, str] | None = None, network: VirtualNetwork | None = None):
    runner = CliRunner()
    if network is None:
        res = runner.invoke(main, args, catch_exceptions=False, env=env)
    else:
        with use_network(network):
            res = runner.invoke(main, args, catch_exceptions=False, env=env)
    assert "Traceback" not in res.output
    return res


def _server(knot: KnotServer) -> str:
    return f"{knot.host}:{knot.port}"


def _report(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "report.json").read_text(encoding="utf-8"))


def _without_times(obj: Any) -> Any:
    """A report part with its clock readings left out (when a query was sent is not an answer)."""
    if isinstance(obj, dict):
        return {k: _without_times(v) for k, v in obj.items() if k not in ("swept_at", "started_at", "queried_at", "duration_s", "rtt_ms")}
    if isinstance(obj, list):
        return [_without_times(v) for v in obj]
    return obj


@pytest.fixture
def pengcheng(tmp_path: Path) -> Path:
    """A Shenzhen CDN operator (tests/fixtures/dns: static.pengcheng.test → img.szcdn.test, answered by client subnet)."""
    write_csv(tmp_path / "f.csv", ["id", "kind", "lon", "lat", "crs", "ip"], [["sz-edge", "CDN", 114.0579, 22.5431, "wgs84", SHENZHEN_NODE]])
    profile = {"name": "Pengcheng CDN", "region": "shenzhen", "services": ["CDN"], "cdn": {"accelerated_domains": ["static.pengcheng.test"]},
               "facilities": "f.csv"}
    path = tmp_path / "op.yaml"
    path.write_text(yaml.safe_dump(profile), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- record, then replay offline
def test_sweep_record_then_audit_replays_the_same_answers_offline(knot_dns: KnotServer, pengcheng: Path, tmp_path: Path,
                                                                   virtual_network: VirtualNetwork) -> None:
    knot_dns.require_geoip()
    server = _server(knot_dns)
    rec = tmp_path / "dns.json"
    res = _run(["sweep", "static.pengcheng.test", "--sweep-server", server, "--region", "shenzhen", "--record", str(rec)],
               network=virtual_network)
    assert res.exit_code == 1, res.output  # nodes outside Shenzhen: a sweep that finds them fails
    assert "static.pengcheng.test -> img.szcdn.test (CNAME chain" in res.output
    assert f"recording: {rec} (1 resolutions, 1 sweeps; replay with --dns-recording)" in res.output
    assert "exit status 1: 3 nodes lie outside shenzhen" in res.output
    recording = read_recording(rec)  # the documented format, read back by the reader the audit uses
    (resolution,) = recording.resolutions
    (sweep,) = recording.sweeps
    assert resolution.chain == ("static.pengcheng.test", "img.szcdn.test") and sweep.domain == "img.szcdn.test"
    assert set(sweep.by_address) == UNDECLARED | {SHENZHEN_NODE} and sweep.failed == 0

    live = _run(["audit", str(pengcheng), "--as-of", AS_OF.isoformat(), "--out", str(tmp_path / "live"), "--format", "json",
                 "--dns-resolver", server, "--sweep-server", server], network=virtual_network)
    with no_socket_opened() as sockets:
        replay = _run(["audit", str(pengcheng), "--as-of", AS_OF.isoformat(), "--out", str(tmp_path / "replay"), "--format", "json",
                       "--dns-recording", str(rec)])
    assert sockets == []  # offline: not one socket made, let alone a query sent
    assert live.exit_code == replay.exit_code == 1, (live.output, replay.output)
    a, b = _report(tmp_path / "live"), _report(tmp_path / "replay")
    assert (a["tool"]["mode"], b["tool"]["mode"]) == ("online", "recorded")
    assert {d["address"] for d in b["discovered"]} == UNDECLARED
    assert _without_times(b["discovered"]) == _without_times(a["discovered"])
    assert _without_times(b["dns"]) == _without_times(a["dns"])
    assert [x for x in b["operator_findings"] if x["rule"] == "cdn_nodes_in_region"] == \
        [x for x in a["operator_findings"] if x["rule"] == "cdn_nodes_in_region"]
    assert [(f["id"], f["verdict"]) for f in b["facilities"]] == [(f["id"], f["verdict"]) for f in a["facilities"]]


def test_audit_record_dns_records_hostnames_and_sweeps(knot_dns: KnotServer, tmp_path: Path, virtual_network: VirtualNetwork) -> None:
    knot_dns.require_geoip()
    server = _server(knot_dns)
    write_csv(tmp_path / "f.csv", ["id", "kind", "lon", "lat", "crs", "hostname"], [
        ["ljz", "CDN", 121.5050, 31.2400, "wgs84", "ljz-edge.static.example.com"],
        ["hz", "CDN", 120.16, 30.27, "wgs84", "hz-edge.static.example.com"],
        ["gone", "CDN", *DISHUI_LAKE, "wgs84", "gone.example.com"],
    ])
    (tmp_path / "op.yaml").write_text(yaml.safe_dump({"name": "Example CDN", "region": "shanghai", "services": ["CDN"],
                                                      "cdn": {"accelerated_domains": ["static.example.com"]}, "facilities": "f.csv"}),
                                      encoding="utf-8")
    rec = tmp_path / "rec.json"
    live = _run(["audit", str(tmp_path / "op.yaml"), "--as-of", AS_OF.isoformat(), "--out", str(tmp_path / "live"), "--format", "json",
                 "--dns-resolver", server, "--sweep-server", server, "--record-dns", str(rec)], network=virtual_network)
    assert str(rec) in live.output
    recording = read_recording(rec)
    assert {r.name: r.status for r in recording.resolutions} == {
        "ljz-edge.static.example.com": "ok", "hz-edge.static.example.com": "ok", "gone.example.com": "nxdomain", "static.example.com": "ok"}
    assert [s.domain for s in recording.sweeps] == ["static.example.com.c3cdn.net"]
    with no_socket_opened() as sockets:
        replay = _run(["audit", str(tmp_path / "op.yaml"), "--as-of", AS_OF.isoformat(), "--out", str(tmp_path / "replay"),
                       "--format", "json", "--dns-recording", str(rec)])
    assert sockets == []
    assert replay.exit_code == live.exit_code == 1
    a, b = _report(tmp_path / "live"), _report(tmp_path / "replay")
    assert _without_times(b["dns"]) == _without_times(a["dns"]) and _without_times(b["discovered"]) == _without_times(a["discovered"])
    assert [(f["id"], f["verdict"], f["basis"]) for f in b["facilities"]] == [(f["id"], f["verdict"], f["basis"]) for f in a["facilities"]]
    assert b["summary"]["unplaced"] == a["summary"]["unplaced"] and a["summary"]["unplaced"]["hostnames_unresolved"]["facilities"] == ["gone"]


# --------------------------------------------------------------------------- servers named for what they answer
def test_cymru_server_and_dns_resolver_are_asked_apart(knot_dns: KnotServer, tmp_path: Path, virtual_network: VirtualNetwork) -> None:
    listing = write_csv(tmp_path / "f.csv", ["id", "kind", "lon", "lat", "crs", "ip", "hostname"], [
        ["pop", "ISP_POP", 121.5050, 31.2400, "wgs84", "58.34.1.1", "ljz-edge.static.example.com"]])
    upstream = (knot_dns.host, knot_dns.port)
    with FaultyDns(upstream) as cymru, FaultyDns(upstream) as resolver:
        res = _run(["audit", str(listing), "--region", "shanghai", "--as-of", AS_OF.isoformat(), "--out", str(tmp_path / "o"),
                    "--format", "json", "--cymru-server", cymru.server, "--dns-resolver", resolver.server], network=virtual_network)
        assert res.exit_code in (0, 1), res.output
        assert cymru.queries_for("asn.cymru.com.") > 0 and cymru.queries_for("example.com.") == 0
        assert resolver.queries_for("example.com.") > 0 and resolver.queries_for("asn.cymru.com.") == 0
    report = _report(tmp_path / "o")
    assert report["dns"]["resolutions"]["ljz-edge.static.example.com"]["server"] == f"127.0.0.1@{resolver.port}"
    assert [a["source"] for a in report["facilities"][0]["asn"]] == ["cymru-dns"] and report["facilities"][0]["asn"][0]["asn"] == 4134


def test_dns_server_is_a_deprecated_alias_for_both(knot_dns: KnotServer, tmp_path: Path, virtual_network: VirtualNetwork) -> None:
    listing = write_csv(tmp_path / "f.csv", ["id", "kind", "lon", "lat", "crs", "ip", "hostname"], [
        ["pop", "ISP_POP", 121.5050, 31.2400, "wgs84", "58.34.1.1", "ljz-edge.static.example.com"]])
    with FaultyDns((knot_dns.host, knot_dns.port)) as both:
        res = _run(["audit", str(listing), "--region", "shanghai", "--as-of", AS_OF.isoformat(), "--out", str(tmp_path / "o"),
                    "--format", "json", "--dns-server", both.server], network=virtual_network)
        assert both.queries_for("asn.cymru.com.") > 0 and both.queries_for("example.com.") > 0
    assert ("warning: --dns-server is deprecated: it sets both cymru_server (Team Cymru IP-to-ASN lookups) and dns_resolver "
            "(the inventory's hostnames); give --cymru-server and/or --dns-resolver instead") in res.stderr
    assert _report(tmp_path / "o")["dns"]["resolutions"]["ljz-edge.static.example.com"]["addresses"] == ["112.64.1.1"]


@pytest.mark.parametrize("extra, needle", [
    (["--dns-recording", "{rec}", "--sweep-server", "127.0.0.1:5353", "--dns-resolver", "127.0.0.1:5353"],
     "dns_recording (--dns-recording) replays hostname resolutions and ECS sweeps ({rec}), but dns_resolver (--dns-resolver) "
     "and sweep_server (--sweep-server) would ask them live"),
    (["--dns-recording", "{rec}", "--online"], "but online (--online) would ask them live"),
    (["--dns-recording", "{rec}", "--dns-server", "127.0.0.1:5353"],
     "but dns_resolver (--dns-server, deprecated, which sets dns_resolver too) would ask them live"),
    (["--sweep-server", "127.0.0.1:5353"], "sweep_server (--sweep-server) needs a resolver for the accelerated domains"),
    (["--record-dns", "{out}.json"], "--record-dns has nothing to record: no live DNS source is given"),
])
def test_conflicting_dns_options_are_errors_before_anything_runs(pengcheng: Path, tmp_path: Path, extra: list[str], needle: str) -> None:
    rec = tmp_path / "rec.json"
    rec.write_text('{"schema": "auditor-dns-recording/1", "resolutions": [], "sweeps": []}\n', encoding="utf-8")
    out = tmp_path / "o"
    args = [a.format(rec=rec, out=out) for a in extra]
    res = _run(["audit", str(pengcheng), "--out", str(out), *args])
    assert res.exit_code == 2, res.output
    assert needle.format(rec=rec) in res.output and not out.exists()


def test_a_profiles_recording_with_a_live_option_names_the_profile(tmp_path: Path) -> None:
    rec = tmp_path / "rec.json"
    rec.write_text('{"schema": "auditor-dns-recording/1", "resolutions": [], "sweeps": []}\n', encoding="utf-8")
    write_csv(tmp_path / "f.csv", ["id", "lon", "lat", "crs"], [["a", *DISHUI_LAKE, "wgs84"]])
    (tmp_path / "op.yaml").write_text(yaml.safe_dump({"name": "Op", "region": "shanghai", "services": ["CDN"], "facilities": "f.csv",
                                                      "evidence": {"dns_recording": "rec.json"}}), encoding="utf-8")
    res = _run(["audit", str(tmp_path / "op.yaml"), "--out", str(tmp_path / "o"), "--dns-resolver", "127.0.0.1:5353", "--sweep-server", "127.0.0.1:5353"])
    assert res.exit_code == 2 and "dns_recording (the profile's evidence.dns_recording) replays" in res.output
    res = _run(["audit", str(tmp_path / "op.yaml"), "--out", str(tmp_path / "o"), "--dns-resolver", "127.0.0.1:5353", "--record-dns", "x.json"])
    assert res.exit_code == 2 and "conflicting DNS sources" in res.output  # the recording and the resolver, before --record-dns


# --------------------------------------------------------------------------- sweep's exit status
def test_sweep_exit_status(knot_dns: KnotServer, tmp_path: Path, virtual_network: VirtualNetwork) -> None:
    knot_dns.require_geoip()
    server = _server(knot_dns)
    ok = _run(["sweep", "img.szcdn.test", "--sweep-server", server, "--per-pair", "1"], network=virtual_network)
    assert ok.exit_code == 0 and "exit status 0: every query answered" in ok.output, ok.output
    failing = _run(["sweep", "x.servfail.test", "--sweep-server", server, "--per-pair", "1"], network=virtual_network)
    assert failing.exit_code == 1, failing.output
    assert "note: x.servfail.test did not resolve at" in failing.output and "queries failed or were not asked" in failing.output
    refused = _run(["sweep", "img.szcdn.test", "--dns-recording", str(tmp_path / "r.json"), "--record", str(tmp_path / "w.json")])
    assert refused.exit_code == 2 and "--dns-recording replays recorded answers; --record would ask (and record) them live" in refused.output
    empty = tmp_path / "empty.json"
    empty.write_text('{"schema": "auditor-dns-recording/1", "resolutions": [], "sweeps": []}\n', encoding="utf-8")
    nothing = _run(["sweep", "img.szcdn.test", "--dns-recording", str(empty)])
    assert nothing.exit_code == 1 and "no recorded sweep of img.szcdn.test" in nothing.output


# --------------------------------------------------------------------------- --online through resolv.conf
def test_online_resolves_hostnames_a_and_aaaa_through_resolv_conf(knot_dns: KnotServer, tmp_path: Path,
                                                                 virtual_network: VirtualNetwork) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text(f"# the system's resolver, on Knot's port (OpenBSD's [address]:port form)\nsearch example.com\n"
                    f"nameserver [{knot_dns.host}]:{knot_dns.port}\noptions edns0\n", encoding="utf-8")
    listing = write_csv(tmp_path / "f.csv", ["id", "kind", "lon", "lat", "crs", "hostname"], [
        ["ljz", "CDN", 121.5050, 31.2400, "wgs84", "ljz-edge.static.example.com"],
        ["dual", "CDN", *DISHUI_LAKE, "wgs84", "plain.shop.test"],
        ["v6", "CDN", *DISHUI_LAKE, "wgs84", "v6only.shop.test"],
    ])
    out = tmp_path / "o"
    res = _run(["audit", str(listing), "--region", "shanghai", "--as-of", AS_OF.isoformat(), "--out", str(out), "--format", "json",
                "--online"], env={"AUDITOR_RESOLV_CONF": str(conf)}, network=virtual_network)
    assert res.exit_code in (0, 1), res.output
    report = _report(out)
    assert report["tool"]["mode"] == "online"
    resolutions = report["dns"]["resolutions"]
    assert {h: r["addresses"] for h, r in resolutions.items()} == {
        "ljz-edge.static.example.com": ["112.64.1.1"], "plain.shop.test": ["192.0.2.10", "2001:db8::10"],
        "v6only.shop.test": ["2001:db8::11"]}
    assert {r["server"] for r in resolutions.values()} == {f"127.0.0.1@{knot_dns.port}"}
    assert report["summary"]["unplaced"]["ipv6_without_evidence"]["facilities"] == ["dual", "v6"]  # resolved, then placed by nothing


def test_online_without_a_usable_resolv_conf_says_which_file(tmp_path: Path) -> None:
    listing = write_csv(tmp_path / "f.csv", ["id", "lon", "lat", "crs", "hostname"], [["a", *DISHUI_LAKE, "wgs84", "x.example.com"]])
    empty = tmp_path / "resolv.conf"
    empty.write_text("search example.com\n", encoding="utf-8")
    res = _run(["audit", str(listing), "--region", "shanghai", "--out", str(tmp_path / "o"), "--online"], env={"AUDITOR_RESOLV_CONF": str(empty)})
    assert res.exit_code == 2 and f"{empty}: names no nameserver" in res.output and "--dns-resolver" in res.output


def test_tool_mode_is_offline_without_network_or_recordings(tmp_path: Path) -> None:
    listing = write_csv(tmp_path / "f.csv", ["id", "lon", "lat", "crs"], [["a", *DISHUI_LAKE, "wgs84"]])
    res = _run(["audit", str(listing), "--region", "shanghai", "--as-of", AS_OF.isoformat(), "--out", str(tmp_path / "o"), "--format", "json"])
    assert res.exit_code == 0 and _report(tmp_path / "o")["tool"]["mode"] == "offline"


def test_the_socket_watch_sees_a_socket() -> None:
    """The guard the replay tests rest on: a socket made inside the block is seen."""
    import socket

    with no_socket_opened() as sockets:
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close()
    assert sockets == ["socket.__new__"]
