"""DNS evidence inside audits: hostnames resolved to IP claims, accelerated domains swept (ECS), undeclared nodes reported.

The live audit runs on virtual time (``servers.blackhole.VirtualNetwork``): Knot's answers are
waited for as long as they take, never cut off by a deadline."""

from __future__ import annotations

import json
import os

from conftest import AS_OF, REPO

from auditor import render
from auditor.config import AuditConfig
from auditor.engine import audit
from auditor.engine.gather import use_network
from auditor.model import Status


def test_example_replays_its_recorded_sweep():
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        result = audit("examples/shanghai-operator/operator.yaml", as_of=AS_OF)
    finally:
        os.chdir(cwd)
    (node,) = result.discovered
    assert node["address"] == "49.65.10.20" and node["relation"] == "outside" and node["unit"].startswith("320100")
    cdn = [f for f in result.operator_findings if f.rule == "cdn_nodes_in_region"]
    by_domain = {f.message.split(":")[0]: f.status for f in cdn}
    assert by_domain == {"static.example.com": Status.FAIL, "www.example.com": Status.INDETERMINATE}
    # hostnames of the inventory became IP claims of their facilities
    claim = next(c for c in result.claims["SH-CDN-03"] if c.id.startswith("SH-CDN-03#dns:pvg-edge.static.example.com:"))
    assert claim.adcode == "330100"  # the airport edge's name resolves to a Hangzhou address
    report = json.loads(render(result, "json", generated_at="x"))
    assert report["discovered"][0]["address"] == "49.65.10.20"
    assert report["dns"]["sweeps"]["static.example.com"]["queries"] == 214


def test_live_sweep_of_a_shenzhen_operator_discovers_planted_nodes(knot_dns, make_operator, loopback_only, virtual_network):
    knot_dns.require_geoip()
    server = f"{knot_dns.host}:{knot_dns.port}"
    profile = {
        "name": "Pengcheng CDN", "region": "shenzhen", "services": ["CDN"],
        "cdn": {"accelerated_domains": ["static.pengcheng.test"]},
    }
    path = make_operator(profile, ["id", "kind", "lon", "lat", "crs", "ip"], [["sz-edge", "CDN", 114.0579, 22.5431, "wgs84", "14.153.10.20"]])
    config = AuditConfig(dns_server=server, sweep_server=server, timeout_s=1.0)
    with use_network(virtual_network):
        result = audit(path, as_of=AS_OF, config=config)
    found = {d["address"]: d for d in result.discovered}
    assert set(found) == {"14.216.10.20", "1.36.10.20", "49.118.10.20"}  # Dongguan, Hong Kong, Urumqi; the declared node is not "discovered"
    assert all(d["relation"] == "outside" for d in found.values())
    assert all(p.startswith("新疆/") for p in found["49.118.10.20"]["provinces_carriers"])
    (cdn,) = [f for f in result.operator_findings if f.rule == "cdn_nodes_in_region"]
    assert cdn.status is Status.FAIL and "1.36.10.20" in cdn.message and "14.216.10.20" in cdn.message
    sweep = result.sweeps["static.pengcheng.test"]
    assert sweep.queries == sweep.answered + sweep.failed and sweep.failed == 0
