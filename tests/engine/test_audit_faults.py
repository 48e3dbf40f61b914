"""Whole audits against local DNS, RDAP and sweep servers that break in the middle (issue 9).

Each evidence source has unit-level fault tests (tests/test_asn.py, tests/test_dns.py); these run
``auditor.engine.audit`` and ``auditor audit`` end to end while a server answers well for a while
and then times out, resets connections, sends garbage, rate-limits, fails or stops. Every test
checks the same contract:

- no exception; every input row appears exactly once in the result and in report.json, with a verdict;
- every query an ASN source was given gets exactly one answer from it; a failed one says which
  source failed and how;
- findings that rest on the failed source are never ``pass``; findings that do not are exactly
  what a run against healthy servers gives (the *baseline*);
- the work is bounded: the misbehaving server sees a counted number of queries (the sources'
  documented retries), never a wall-clock assertion; and it does not grow with the number of
  addresses or names: after ``give_up_after`` consecutive failed lookups (default 5,
  ``--give-up-after``) a source asks nothing more and answers the rest "not asked: ... gave up".

Servers: Knot DNS (``knot_dns``) behind :class:`servers.hostile_dns.FaultyDns`, a relay that
starts failing after N queries, and :class:`servers.rdap.RdapServer` with a server-wide
:class:`servers.rdap.Fault`. Everything is on loopback (``loopback_only``).

Time: every audit in this process runs on virtual time (``servers.blackhole.VirtualNetwork``
through ``auditor.engine.gather.use_network``). A query the relay dropped or a request the RDAP server
holds times out at once, when the server's ledger says so, and backoffs pass without sleeping; a
healthy answer is waited for however long a busy machine takes. So ``TIMEOUT`` costs no real
time and no test depends on a deadline being met. Only the subprocess test runs on real time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import pytest
import yaml
from click.testing import CliRunner
from conftest import AS_OF, DISHUI_LAKE, PUDONG_ZHANGJIANG, REPO, write_csv
from servers.blackhole import VirtualNetwork, virtual_network  # noqa: F401  (fixtures are found by name)
from servers.hostile_dns import FaultyDns
from servers.rdap import RdapServer, Route, load_routes

from auditor import render
from auditor.cli import main
from auditor.config import DEFAULT_GIVE_UP_AFTER, AuditConfig
from auditor.engine import AuditResult, audit
from auditor.engine.gather import use_network
from auditor.errors import InputError
from auditor.resolve import breaker as breaker_module
from auditor.resolve.asn import cymru as cymru_module
from auditor.resolve.asn import rdap as rdap_module
from auditor.resolve.dns.sweep import EcsSweeper

pytestmark = pytest.mark.usefixtures("loopback_only")

TIMEOUT = 0.5  # seconds per network request in these audits; virtual seconds (see the module docstring)
CYMRU_TRIES = cymru_module.DEFAULT_RETRIES + 1  # what the engine's CymruDnsSource makes of a failing name
RDAP_TRIES = rdap_module.DEFAULT_RETRIES + 1
SWEEP_TRIES = EcsSweeper().retries + 1
LUJIAZUI = (121.5055, 31.2397)
VERDICTS = {"pass", "fail", "indeterminate", "error"}

# A Shanghai IDC + CDN + ISP operator whose evidence needs every network source: hostnames (DNS),
# accelerated domains (DNS, then an ECS sweep), facility IPs and an ISP prefix (Team Cymru, RDAP).
MIXED_PROFILE = {
    "name": "Faulty Networks", "region": "shanghai", "services": ["IDC", "CDN", "ISP"],
    "cdn": {"accelerated_domains": ["static.example.com", "www.example.com"]},
    "isp": {"prefixes": ["58.34.0.0/16"], "upstream_asns": [4134, 4812], "service_area": ["浦东新区"]},
}
HEADER = ["id", "kind", "lon", "lat", "crs", "ip", "hostname"]
MIXED_ROWS = [
    ["coords-only", "IDC", *DISHUI_LAKE, "wgs84", "", ""],
    ["ip-cn", "IDC", *PUDONG_ZHANGJIANG, "wgs84", "58.34.1.1", ""],
    ["host-sh", "CDN", *LUJIAZUI, "wgs84", "", "ljz-edge.static.example.com"],  # Shanghai address
    ["host-hz", "CDN", *PUDONG_ZHANGJIANG, "wgs84", "", "hz-edge.static.example.com"],  # Hangzhou address
    ["host-only", "CDN", "", "", "", "", "pvg-edge.static.example.com"],  # only DNS places it (Hangzhou)
    ["bad-row", "IDC", "abc", 31.2, "wgs84", "", ""],
]

# An IDC operator whose only network evidence is RDAP (and the Cymru step RDAP needs).
RDAP_PROFILE = {"name": "Registry Watch", "region": "shanghai", "services": ["IDC"]}
RDAP_ROWS = [
    ["coords-only", "IDC", *DISHUI_LAKE, "wgs84", "", ""],
    ["ip-us", "IDC", *PUDONG_ZHANGJIANG, "wgs84", "74.125.225.229", ""],  # ARIN answer recorded
    ["ip-kr", "IDC", *PUDONG_ZHANGJIANG, "wgs84", "210.107.73.73", ""],  # APNIC answer recorded
    ["bad-row", "IDC", "abc", 31.2, "wgs84", "", ""],
]

# A CDN operator that declares both of static.example.com's Shanghai edges: a healthy sweep finds
# exactly two undeclared nodes, both outside: 49.65.10.20 in Nanjing (served to Jiangsu Telecom
# subnets) and 36.19.1.1 in Hangzhou (served to Zhejiang subnets).
SWEEP_PROFILE = {"name": "Edge Shanghai", "region": "shanghai", "services": ["CDN"],
                 "cdn": {"accelerated_domains": ["static.example.com"]}}
SWEEP_ROWS = [
    ["coords-only", "IDC", *DISHUI_LAKE, "wgs84", "", ""],
    ["ljz", "CDN", *LUJIAZUI, "wgs84", "", "ljz-edge.static.example.com"],
    ["cs", "CDN", *PUDONG_ZHANGJIANG, "wgs84", "117.185.1.1", ""],
]
SWEEP_HEALTHY = 100  # the sweep asks Jiangsu Telecom subnets as queries 187-190 of 426, Zhejiang as 247-258


# --------------------------------------------------------------------------- helpers
def write_operator(folder: Path, profile: dict[str, Any], rows: list[list[object]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / "facilities.csv", HEADER, rows)
    path = folder / "operator.yaml"
    path.write_text(yaml.safe_dump({**profile, "facilities": "facilities.csv"}, allow_unicode=True), encoding="utf-8")
    return path


def run(path: Path, registry: Any, **config: Any) -> tuple[AuditResult, dict[str, Any]]:
    result = audit(path, as_of=AS_OF, registry=registry, config=AuditConfig(timeout_s=TIMEOUT, **config))
    return result, json.loads(render(result, "json", generated_at="fixed"))


def assert_complete(result: AuditResult, report: dict[str, Any], rows: list[list[object]]) -> None:
    """Every input row exactly once, in order, with a verdict; unreadable rows are ``error``."""
    ids = [str(r[0]) for r in rows]
    assert [f.id for f in result.facilities] == ids
    assert [f["id"] for f in report["facilities"]] == ids
    for f, entry in zip(result.facilities, report["facilities"]):
        assert entry["verdict"] == result.facility_verdict(f).value
        assert entry["verdict"] in VERDICTS
        assert (entry["verdict"] == "error") == (f.id == "bad-row")
    assert report["summary"]["facility_count"] == len(rows)
    assert sum(report["summary"]["facilities"].values()) == len(rows)


def assert_every_query_answered(result: AuditResult, queries: list[str], sources: list[str]) -> None:
    """Each ASN source answered each query exactly once (nothing lost), and a failure says why."""
    assert sorted(result.asn) == sorted(queries)
    for q in queries:
        assert [a.source for a in result.asn[q]] == sources, q
        for a in result.asn[q]:
            assert (a.status == "ok") == (a.reason == ""), (q, a)


def facility_findings(result: AuditResult, fid: str) -> list[tuple[str, str, str]]:
    return [(x.rule, x.status.value, x.message) for x in result.facility_findings.get(fid, [])]


def operator_findings(result: AuditResult, *, skip: tuple[str, ...] = ()) -> list[tuple[str, str, str]]:
    return [(x.rule, x.status.value, x.message) for x in result.operator_findings if x.rule not in skip]


def only(findings: list[Any], rule: str) -> Any:
    (x,) = [f for f in findings if f.rule == rule]
    return x


def claims_of(report: dict[str, Any], fid: str) -> list[dict[str, Any]]:
    return next(f for f in report["facilities"] if f["id"] == fid)["claims"]


def origin(ip: str) -> str:
    return ".".join(reversed(ip.split("."))) + ".origin.asn.cymru.com."


@pytest.fixture(autouse=True)
def net(virtual_network: VirtualNetwork) -> Iterator[VirtualNetwork]:
    """Every test's audits (and CLI runs in this process) on virtual time; none may reach the backstop."""
    with use_network(virtual_network):
        yield virtual_network


# --------------------------------------------------------------------------- baselines (healthy servers)
@pytest.fixture(scope="module")
def operators(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("operators")
    return {
        "mixed": write_operator(root / "mixed", MIXED_PROFILE, MIXED_ROWS),
        "rdap": write_operator(root / "rdap", RDAP_PROFILE, RDAP_ROWS),
        "sweep": write_operator(root / "sweep", SWEEP_PROFILE, SWEEP_ROWS),
    }


@pytest.fixture(scope="module")
def baselines(knot_dns, operators, registry):
    """Each operator audited against servers that behave; the faulty runs are compared with these."""
    knot = f"{knot_dns.host}:{knot_dns.port}"
    with RdapServer(load_routes()) as rd, use_network(VirtualNetwork()) as net:
        out = {
            "mixed": run(operators["mixed"], registry, dns_server=knot, sweep_server=knot),
            "rdap": run(operators["rdap"], registry, dns_server=knot, rdap_url=rd.base_url),
            "sweep": run(operators["sweep"], registry, dns_server=knot, sweep_server=knot),
        }
    assert net.stalls == 0
    return out


@pytest.fixture
def rdap_local():
    """A private RDAP server (recorded routes) for one test, so a fault set here stays here."""
    with RdapServer(load_routes()) as server:
        yield server


def test_baselines_are_what_the_fault_tests_compare_against(baselines) -> None:
    """The healthy runs hold the evidence the faults take away (else the comparisons prove nothing)."""
    mixed, report = baselines["mixed"]
    assert_complete(mixed, report, MIXED_ROWS)
    assert {h: r.status for h, r in mixed.dns.items()} == dict.fromkeys(
        ["ljz-edge.static.example.com", "hz-edge.static.example.com", "pvg-edge.static.example.com",
         "static.example.com", "www.example.com"], "ok")
    assert mixed.facility_verdict(mixed.facilities[4]).value == "fail"  # host-only: its name points at Hangzhou
    assert [(a.source, a.status, a.asn) for a in mixed.asn["58.34.1.1"]] == [("cymru-dns", "ok", 4134)]
    cdn = {x.message.split(":")[0]: x.status.value for x in mixed.operator_findings if x.rule == "cdn_nodes_in_region"}
    assert cdn == {"static.example.com": "fail", "www.example.com": "indeterminate"}  # swept: Nanjing; Shanghai

    rdap, report = baselines["rdap"]
    assert_complete(rdap, report, RDAP_ROWS)
    assert [(a.source, a.status) for a in rdap.asn["210.107.73.73"]] == [("cymru-dns", "ok"), ("rdap", "ok")]

    sweep, report = baselines["sweep"]
    assert_complete(sweep, report, SWEEP_ROWS)
    result = sweep.sweeps["static.example.com"]
    assert (result.queries, result.answered, result.failed) == (426, 426, 0)
    assert [(d["address"], d["relation"]) for d in sweep.discovered] == [("36.19.1.1", "outside"), ("49.65.10.20", "outside")]
    cdn = only(sweep.operator_findings, "cdn_nodes_in_region")
    assert cdn.status.value == "fail" and "49.65.10.20" in cdn.message


# --------------------------------------------------------------------------- DNS breaks mid-audit
# fault -> (resolution status, words in its reason, Cymru status, words in its reason)
DNS_FAULTS = {
    "silent": ("timeout", f"no reply in {TIMEOUT:g} s", "timeout", "timed out"),
    "garbage": ("bad_response", "malformed reply", "timeout", "timed out"),  # dnspython skips junk and waits
    "servfail": ("server_failed", "SERVFAIL", "error", "SERVFAIL"),
    "tc-reset": ("truncated", "TCP failed (ConnectionResetError", "error", "ConnectionResetError"),
    "closed": ("timeout", f"no reply in {TIMEOUT:g} s", "timeout", "timed out"),
}


@pytest.mark.parametrize("fault", list(DNS_FAULTS))
def test_dns_server_breaks_while_hostnames_resolve(fault, knot_dns, operators, baselines, registry) -> None:
    """The nameserver answers the first hostname (A and AAAA), then fails for everything after it:
    the other hostnames, the accelerated domains and the Team Cymru lookups."""
    status, words, cymru_status, cymru_words = DNS_FAULTS[fault]
    base, _ = baselines["mixed"]
    knot = f"{knot_dns.host}:{knot_dns.port}"
    with FaultyDns((knot_dns.host, knot_dns.port), healthy=2, fault=fault) as relay:
        result, report = run(operators["mixed"], registry, dns_server=relay.server, sweep_server=knot)
    where = f"127.0.0.1@{relay.port}"

    assert_complete(result, report, MIXED_ROWS)
    assert_every_query_answered(result, ["58.34.1.1", "58.34.0.0/16"], ["cymru-dns"])

    # the first name resolved before the fault; every later one failed, saying how and where
    assert result.dns["ljz-edge.static.example.com"].addresses == ("112.64.1.1",)
    failed = ["hz-edge.static.example.com", "pvg-edge.static.example.com", "static.example.com", "www.example.com"]
    for host in failed:
        res = result.dns[host]
        assert res.status == status and words in res.reason and where in res.reason, (host, res)
        assert report["dns"]["resolutions"][host]["status"] == status

    # a facility whose hostname failed carries the failure as a DNS claim in its report entry
    for fid, host in (("host-hz", "hz-edge.static.example.com"), ("host-only", "pvg-edge.static.example.com")):
        (claim,) = [c for c in claims_of(report, fid) if c["source"] == "dns"]
        assert claim["kind"] == "unresolved" and claim["original"]["status"] == status
        assert claim["notes"][0].startswith(f"DNS resolution of {host} failed: {status} (") and where in claim["notes"][0]
    assert not [c for c in claims_of(report, "host-sh") if c["source"] == "dns"]  # resolved: no failure claim
    # host-hz failed in the healthy run (its Hangzhou address contradicts its coordinates); with that
    # address unknown it must not pass on its coordinates alone: the consistency rule says what is missing
    hz = {x.rule: x for x in result.facility_findings["host-hz"]}
    assert base.facility_verdict(base.facilities[3]).value == "fail" and result.facilities[3].id == "host-hz"
    assert hz["location_evidence_consistent"].status.value == "indeterminate"
    assert "Declared evidence could not be checked: DNS resolution of hz-edge.static.example.com failed" in hz["location_evidence_consistent"].message
    assert result.facility_verdict(result.facilities[3]).value == "indeterminate"

    # findings that rest on DNS are never pass: the facility only DNS places (baseline: fail) ...
    host_only = result.facility_findings["host-only"]
    assert {x.rule: x.status.value for x in host_only if x.rule != "location_evidence_consistent"} == {
        "facility_in_region": "indeterminate", "cdn_nodes_in_region": "indeterminate"}
    assert result.facility_verdict(result.facilities[4]).value == "indeterminate"
    # ... and each accelerated domain, which could be neither resolved nor swept
    cdn_domains = [x for x in result.operator_findings if x.rule == "cdn_nodes_in_region"]
    assert [x.message.split(":")[0] for x in cdn_domains] == ["static.example.com", "www.example.com"]
    for x in cdn_domains:
        assert x.status.value == "indeterminate" and f"not swept: resolution {status} (" in x.message
        assert where in x.message
    assert result.sweeps and all(isinstance(s, str) for s in result.sweeps.values())
    assert result.discovered == []

    # Team Cymru failed for every query, naming the query name, the server and the failure
    for q, ip in (("58.34.1.1", "58.34.1.1"), ("58.34.0.0/16", "58.34.0.0")):
        (a,) = result.asn[q]
        assert a.status == cymru_status and cymru_words in a.reason and origin(ip) in a.reason, a
        assert f"@{relay.port}@{relay.port}" not in a.reason  # the server is named once
        assert a.detail["attempts"] == CYMRU_TRIES
    up = only(result.operator_findings, "isp_upstream_basic_telecom")
    assert up.status is only(base.operator_findings, "isp_upstream_basic_telecom").status
    assert "cymru-dns AS" not in up.message  # no origin claimed from a failed lookup

    # findings that do not rest on DNS are exactly the healthy run's
    for fid in ("coords-only", "ip-cn", "host-sh"):
        assert facility_findings(result, fid) == facility_findings(base, fid), fid
    skip = ("cdn_nodes_in_region", "isp_upstream_basic_telecom")
    assert operator_findings(result, skip=skip) == operator_findings(base, skip=skip)
    assert result.exit_code == base.exit_code == 1  # the unreadable row; a network failure is never exit 2

    # bounded: every name was asked a counted number of times, then the audit moved on
    if fault == "closed":
        assert (relay.relayed, relay.faulted, relay.packets) == (2, 1, 3)  # the third query found the port gone
    else:
        expected = {("ljz-edge.static.example.com.", "A"): 1, ("ljz-edge.static.example.com.", "AAAA"): 1}
        expected.update({(h + ".", "A"): 1 for h in failed})  # A failed, so AAAA was not asked
        expected.update({(origin(ip), "TXT"): CYMRU_TRIES for ip in ("58.34.1.1", "58.34.0.0")})
        assert relay.seen == expected
        assert relay.packets == sum(expected.values())
        faulted_udp = relay.packets - 2
        assert relay.tcp_connections == (faulted_udp if fault == "tc-reset" else 0)  # one TCP try per TC reply


def test_team_cymru_fails_mid_audit_while_hostnames_resolve(knot_dns, operators, baselines, registry, rdap_local) -> None:
    """Only the asn.cymru.com names fail (SERVFAIL) after the first two lookups; hostname DNS keeps
    working. Team Cymru and the Cymru step of RDAP fail; no finding changes, since none rests on them."""
    base, _ = baselines["mixed"]
    knot = f"{knot_dns.host}:{knot_dns.port}"
    with FaultyDns((knot_dns.host, knot_dns.port), healthy=2, fault="servfail", only="asn.cymru.com.") as relay:
        result, report = run(operators["mixed"], registry, dns_server=relay.server, sweep_server=knot,
                             rdap_url=rdap_local.base_url)
    where = f"Do53:127.0.0.1@{relay.port}"

    assert_complete(result, report, MIXED_ROWS)
    queries = ["58.34.1.1", "58.34.0.0/16"]
    assert_every_query_answered(result, queries, ["cymru-dns", "rdap"])
    # the first lookup (origin + holder) was answered; the prefix's came after the fault
    ok, later = result.asn["58.34.1.1"][0], result.asn["58.34.0.0/16"][0]
    assert (ok.status, ok.asn, ok.holder) == ("ok", 4134, "CHINANET-BACKBONE No.31,Jin-rong Street, CN")
    assert later.status == "error" and f"SERVFAIL from {where} " in later.reason and origin("58.34.0.0") in later.reason
    for q in queries:  # RDAP's first step asks the same names: it fails before any HTTP request
        r = result.asn[q][1]
        assert r.status == "error" and r.reason.startswith("DNS ") and f"SERVFAIL from {where} " in r.reason, r
        assert r.reason.endswith(f"({RDAP_TRIES} attempts)")
    assert rdap_local.requests == []
    entry = next(f for f in report["facilities"] if f["id"] == "ip-cn")
    assert [(a["source"], a["status"]) for a in entry["asn"]] == [("cymru-dns", "ok"), ("rdap", "error")]
    assert "SERVFAIL" in entry["asn"][1]["reason"]
    assert [a["status"] for a in report["isp_prefix_asn"]["58.34.0.0/16"]] == ["error", "error"]

    # DNS evidence of hostnames and domains is untouched, so every finding is the healthy run's
    assert all(r.status == "ok" for r in result.dns.values())
    for f in result.facilities:
        assert facility_findings(result, f.id) == facility_findings(base, f.id), f.id
    assert operator_findings(result, skip=("isp_upstream_basic_telecom",)) == \
        operator_findings(base, skip=("isp_upstream_basic_telecom",))
    up, base_up = only(result.operator_findings, "isp_upstream_basic_telecom"), only(base.operator_findings, "isp_upstream_basic_telecom")
    assert up.status is base_up.status and "58.34.0.0/16: cymru-dns AS4134" in base_up.message
    assert "cymru-dns AS4134" not in up.message  # the origin is not claimed once its lookup failed

    # bounded: one answered origin + holder, then each failing name its documented number of tries
    assert relay.seen[(origin("58.34.1.1"), "TXT")] == 1 + RDAP_TRIES
    assert relay.seen[(origin("58.34.0.0"), "TXT")] == CYMRU_TRIES + RDAP_TRIES
    assert relay.seen[("as4134.asn.cymru.com.", "TXT")] == 1
    assert relay.queries_for("asn.cymru.com.") == 1 + 1 + CYMRU_TRIES + 2 * RDAP_TRIES


# --------------------------------------------------------------------------- RDAP breaks mid-audit
# mode -> (status of the faulted lookup, words in its reason, requests the faulted lookup made)
RDAP_FAULTS = {
    "429": ("rate_limited", "HTTP 429 from rdap.apnic.net (no Retry-After)", RDAP_TRIES),
    "500": ("error", "HTTP 500 from rdap.apnic.net", RDAP_TRIES),
    "reset": ("error", "ConnectionResetError", RDAP_TRIES),
    "close": ("error", "RemoteDisconnected", RDAP_TRIES),
    "garbage": ("error", "BadStatusLine", RDAP_TRIES),
    "malformed": ("error", "malformed JSON", 1),  # a broken body is not retried
    "hang": ("timeout", f"timed out after {TIMEOUT:g} s each: https://rdap.apnic.net/ip/210.107.73.73", RDAP_TRIES),
    "stop": ("error", "Connection refused", 1),  # the server is gone: later attempts reach no one
}


@pytest.mark.parametrize("mode", list(RDAP_FAULTS))
def test_rdap_server_breaks_after_its_first_answer(mode, knot_dns, operators, baselines, registry, rdap_local, net) -> None:
    status, words, requests = RDAP_FAULTS[mode]
    base, _ = baselines["rdap"]
    rdap_local.set_fault(mode, after=1)
    result, report = run(operators["rdap"], registry, dns_server=f"{knot_dns.host}:{knot_dns.port}",
                         rdap_url=rdap_local.base_url)

    assert_complete(result, report, RDAP_ROWS)
    assert_every_query_answered(result, ["74.125.225.229", "210.107.73.73"], ["cymru-dns", "rdap"])
    first, faulted = result.asn["74.125.225.229"][1], result.asn["210.107.73.73"][1]
    assert (first.status, first.asn, first.registry) == ("ok", 15169, "arin")
    assert faulted.status == status and words in faulted.reason, faulted
    assert [a.status for a in result.asn["210.107.73.73"]] == ["ok", status]  # Team Cymru did not care
    entry = next(f for f in report["facilities"] if f["id"] == "ip-kr")
    assert entry["asn"][1]["status"] == status and words in entry["asn"][1]["reason"]

    # no finding rests on RDAP: every one is the healthy run's
    for f in result.facilities:
        assert facility_findings(result, f.id) == facility_findings(base, f.id), f.id
    assert operator_findings(result) == operator_findings(base)
    assert result.verdict == base.verdict and result.exit_code == base.exit_code

    # bounded: one good request, then the faulted lookup's documented attempts
    paths = [r["path"] for r in rdap_local.requests]
    assert paths == ["/rdap.arin.net/registry/ip/74.125.225.229"] + ["/rdap.apnic.net/ip/210.107.73.73"] * requests
    assert rdap_local.faulted() == requests
    assert len(faulted.detail["attempts"]) == (1 if mode == "malformed" else RDAP_TRIES)
    # a held request is given up on after its timeout (virtual seconds), once per attempt; no other mode waits
    assert net.timeouts == pytest.approx([TIMEOUT] * RDAP_TRIES if mode == "hang" else [])


def test_rdap_rate_limit_longer_than_the_cap_is_not_waited_for(knot_dns, operators, registry, rdap_local) -> None:
    """A 429 asking for an hour's pause ends the lookup at once as rate_limited; the audit goes on."""
    rdap_local.set_fault("429", after=1, retry_after="3600")
    result, report = run(operators["rdap"], registry, dns_server=f"{knot_dns.host}:{knot_dns.port}",
                         rdap_url=rdap_local.base_url)
    assert_complete(result, report, RDAP_ROWS)
    faulted = result.asn["210.107.73.73"][1]
    assert faulted.status == "rate_limited"
    assert "Retry-After 3600" in faulted.reason and "exceeds the 30 s cap, not retried" in faulted.reason
    assert "waited_s" not in faulted.detail
    assert len(rdap_local.requests) == 2 and rdap_local.faulted() == 1


# --------------------------------------------------------------------------- the sweep server breaks mid-sweep
# fault -> whether a failed query is sent again (a spoiled or missing reply is; an rcode reply is final)
SWEEP_FAULTS = {"servfail": False, "refused": False, "garbage": True, "silent": True, "closed": True}


@pytest.mark.parametrize("fault", list(SWEEP_FAULTS))
def test_sweep_server_breaks_mid_sweep(fault, knot_dns, operators, baselines, registry) -> None:
    """The authoritative server answers the sweep's first 100 queries, then fails: the Jiangsu and
    Zhejiang subnets that would have shown the undeclared Nanjing and Hangzhou nodes are never
    answered. The finding must not pass (before the fix, SERVFAIL replies counted as answers and it did)."""
    base, _ = baselines["sweep"]
    knot = f"{knot_dns.host}:{knot_dns.port}"
    with FaultyDns((knot_dns.host, knot_dns.port), healthy=SWEEP_HEALTHY, fault=fault) as relay:
        result, report = run(operators["sweep"], registry, dns_server=knot, sweep_server=relay.server)

    assert_complete(result, report, SWEEP_ROWS)
    sweep = result.sweeps["static.example.com"]
    lost = sweep.queries - SWEEP_HEALTHY
    assert (sweep.queries, sweep.answered, sweep.failed) == (426, SWEEP_HEALTHY, lost)
    assert len(sweep.answers) == sweep.queries  # none lost
    failures = [a for a in sweep.answers if not a.answered]
    assert len(failures) == lost and all(a.reason for a in failures)
    if fault in ("servfail", "refused"):
        assert {(a.status, a.rcode) for a in failures} == {("rcode", fault.upper())}
    assert report["dns"]["sweeps"]["static.example.com"]["failed"] == lost
    assert result.discovered == []  # both outside nodes were behind the fault

    cdn = only(result.operator_findings, "cdn_nodes_in_region")
    assert cdn.status.value == "indeterminate", cdn.message  # never "no undeclared node"
    assert f"({SWEEP_HEALTHY} of 426 queries answered)" in cdn.message and f"{lost} queries failed" in cdn.message
    for f in result.facilities:
        assert facility_findings(result, f.id) == facility_findings(base, f.id), f.id

    # bounded: the documented tries per query at most, and exactly one send for an rcode reply
    if SWEEP_FAULTS[fault]:
        assert SWEEP_HEALTHY + lost < sweep.sent <= SWEEP_HEALTHY + lost * SWEEP_TRIES
    else:
        assert sweep.sent == sweep.queries
    if fault != "closed":
        assert relay.packets == sweep.sent
    else:
        assert relay.packets == SWEEP_HEALTHY + 1  # then the port was gone


# --------------------------------------------------------------------------- the command line
CLI_PROFILE = {"name": "Quiet Racks", "region": "shanghai", "services": ["IDC"], "evidence": {"timeout_s": TIMEOUT}}
CLI_ROWS = [  # nothing fails with healthy servers: exit 0
    ["coords-only", "IDC", *DISHUI_LAKE, "wgs84", "", ""],
    ["ip-cn", "IDC", *PUDONG_ZHANGJIANG, "wgs84", "58.34.1.1", ""],
    ["host-sh", "IDC", *LUJIAZUI, "wgs84", "", "ljz-edge.static.example.com"],
]


def cli_args(profile: Path, out: Path, dns: str, rdap: str) -> list[str]:
    return ["audit", str(profile), "--out", str(out), "--format", "json", "--as-of", AS_OF.isoformat(),
            "--generated-at", "fixed", "--dns-server", dns, "--rdap-url", rdap]


def test_cli_exit_status_does_not_change_when_servers_fail(knot_dns, tmp_path, rdap_local) -> None:
    """`auditor audit` against a nameserver that answers SERVFAIL to everything: the same exit status
    as with a healthy one (documented: 0 nothing failed, 1 a finding failed or a row unreadable;
    2 only for unusable input), and every row in report.json."""
    profile = write_operator(tmp_path / "op", CLI_PROFILE, CLI_ROWS)
    runner = CliRunner()
    healthy = runner.invoke(main, cli_args(profile, tmp_path / "healthy", f"{knot_dns.host}:{knot_dns.port}",
                                           rdap_local.base_url))
    asked = len(rdap_local.requests)
    with FaultyDns((knot_dns.host, knot_dns.port), healthy=0, fault="servfail") as relay:
        faulty = runner.invoke(main, cli_args(profile, tmp_path / "faulty", relay.server, rdap_local.base_url))

    assert healthy.exception is None or isinstance(healthy.exception, SystemExit), healthy.output
    assert faulty.exception is None or isinstance(faulty.exception, SystemExit), faulty.output
    assert healthy.exit_code == faulty.exit_code == 0, faulty.output
    reports = {name: json.loads((tmp_path / name / "report.json").read_text(encoding="utf-8")) for name in ("healthy", "faulty")}
    for report in reports.values():
        assert [f["id"] for f in report["facilities"]] == [r[0] for r in CLI_ROWS]
        assert all(f["verdict"] in VERDICTS - {"error"} for f in report["facilities"])
        assert report["summary"]["exit_code"] == 0
    bad = reports["faulty"]
    assert bad["dns"]["resolutions"]["ljz-edge.static.example.com"]["status"] == "server_failed"
    (claim,) = [c for c in claims_of(bad, "host-sh") if c["source"] == "dns"]
    assert "SERVFAIL" in claim["notes"][0]
    asn = {(f["id"], a["source"]): (a["status"], a["reason"]) for f in bad["facilities"] for a in f.get("asn", [])}
    assert sorted(asn) == [("ip-cn", "cymru-dns"), ("ip-cn", "rdap")]
    assert all(status == "error" and "SERVFAIL" in reason for status, reason in asn.values())
    assert len(rdap_local.requests) == asked  # RDAP's Cymru step failed first: no HTTP request was made
    assert relay.relayed == 0 and relay.packets == relay.faulted > 0
    # findings that do not rest on DNS or ASN evidence are the healthy run's
    by_id = {name: {f["id"]: f["findings"] for f in r["facilities"]} for name, r in reports.items()}
    for fid in ("coords-only", "ip-cn"):
        assert by_id["faulty"][fid] == by_id["healthy"][fid], fid


def measured_timeout(relay: FaultyDns, rdap: RdapServer, floor: float = 0.5, margin: float = 50.0) -> float:
    """A real per-request timeout for a process that cannot run on virtual time: ``margin`` times the
    slowest of a few healthy lookups through the same relay and RDAP server right now (so a busy
    machine gets a longer one), and at least ``floor``. The lookups are a name the relay never counts
    towards its fault and a path whose requests the caller then forgets (``rdap.reset()``)."""
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never through a proxy
    slowest = 0.0
    for _ in range(5):
        t0 = time.monotonic()
        query = dns.message.make_query("ljz-edge.static.example.com", "A")
        dns.query.udp(query, relay.host, port=relay.port, timeout=30)
        with direct.open(f"{rdap.base_url}/rdap.arin.net/registry/ip/74.125.225.229", timeout=30) as r:
            r.read()
        slowest = max(slowest, time.monotonic() - t0)
    return max(floor, margin * slowest)


@pytest.mark.slow  # a real process on real time (~6 s): its timeouts are measured, not virtual
def test_cli_subprocess_servers_stop_mid_audit(knot_dns, tmp_path, rdap_local) -> None:
    """A real `auditor audit` process. The RDAP server shuts down after its first answer; later the
    nameserver's port closes (after ten Team Cymru lookups). No traceback, exit 1 (an unreadable
    row and failing facilities, as documented, never 2), and every row in report.json.

    The process runs on real time (ip-cn's lookups really time out), so its healthy lookups get a
    timeout measured from this machine's latency now (:func:`measured_timeout`), not a fixed one."""
    rows = [
        ["coords-only", "IDC", *DISHUI_LAKE, "wgs84", "", ""],
        ["ip-us", "IDC", *PUDONG_ZHANGJIANG, "wgs84", "74.125.225.229", ""],
        ["ip-kr", "IDC", *PUDONG_ZHANGJIANG, "wgs84", "210.107.73.73", ""],
        ["ip-cn", "IDC", *PUDONG_ZHANGJIANG, "wgs84", "58.34.1.1", ""],
        ["host-sh", "IDC", *LUJIAZUI, "wgs84", "", "ljz-edge.static.example.com"],
        ["bad-row", "IDC", "abc", 31.2, "wgs84", "", ""],
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITOR_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    # asn.cymru.com names: Team Cymru's 3 origins + 3 holders, then RDAP's origin steps: ip-us (its
    # HTTP request answered), ip-kr x3 (HTTP: reset as the server stops, then refused); ip-cn's closes the port
    with FaultyDns((knot_dns.host, knot_dns.port), healthy=10, fault="closed", only="asn.cymru.com.") as relay:
        timeout = measured_timeout(relay, rdap_local)
        rdap_local.reset()
        rdap_local.set_fault("stop", after=1)
        profile = write_operator(tmp_path / "op", {**CLI_PROFILE, "evidence": {"timeout_s": timeout}}, rows)
        proc = subprocess.run(
            [sys.executable, "-c", "from auditor.cli import main; main()",
             *cli_args(profile, tmp_path / "out", relay.server, rdap_local.base_url)],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300, check=False,
        )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"{len(rows)} facilities" in proc.stdout
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert [f["id"] for f in report["facilities"]] == [r[0] for r in rows]
    assert all(f["verdict"] in VERDICTS for f in report["facilities"])
    assert report["facilities"][-1]["verdict"] == "error" and report["summary"]["exit_code"] == 1
    asn = {(f["id"], a["source"]): (a["status"], a.get("reason", "")) for f in report["facilities"] for a in f.get("asn", [])}
    assert {k: v[0] for k, v in asn.items()} == {
        ("ip-us", "cymru-dns"): "ok", ("ip-kr", "cymru-dns"): "ok", ("ip-cn", "cymru-dns"): "ok",
        ("ip-us", "rdap"): "ok", ("ip-kr", "rdap"): "error", ("ip-cn", "rdap"): "timeout",
    }
    assert "Connection refused" in asn[("ip-kr", "rdap")][1] and asn[("ip-kr", "rdap")][1].endswith(f"({RDAP_TRIES} attempts)")
    assert f"DNS {origin('58.34.1.1')} TXT" in asn[("ip-cn", "rdap")][1]
    assert report["dns"]["resolutions"]["ljz-edge.static.example.com"]["status"] == "ok"
    # bounded: what each server saw
    assert [r["path"] for r in rdap_local.requests] == [
        "/rdap.arin.net/registry/ip/74.125.225.229", "/rdap.apnic.net/ip/210.107.73.73"]
    assert relay.seen[(origin("210.107.73.73"), "TXT")] == 1 + RDAP_TRIES
    assert (relay.faulted, relay.queries_for("asn.cymru.com.")) == (1, 11)


# --------------------------------------------------------------------------- giving up on a dead source
# Each lookup is bounded on its own, but without a cut-off a server that dies mid-audit costs those
# bounds once per remaining query: the audit's time would grow with the number of addresses. After
# GIVE_UP consecutive failed lookups a source asks nothing more; what it was not asked gets the last
# failure's status at once, and a reason that says so.
GIVE_UP = DEFAULT_GIVE_UP_AFTER
MANY = 30  # facilities, each with its own address (and hostname): far more than GIVE_UP
SWEEP_QUERIES = 426  # a sweep's plan: representative subnets of every (province, carrier)


def gave_up(source: str, last: str, n: int = GIVE_UP) -> str:
    return f"not asked: {source} gave up after {n} consecutive failure{'s' if n > 1 else ''} (last: {last})"


def many_rows(n: int = MANY) -> list[list[object]]:
    """Row 0 resolves and is answered; every other row has a hostname and an address of its own."""
    rows: list[list[object]] = [["n00", "IDC", *LUJIAZUI, "wgs84", "58.34.0.1", "ljz-edge.static.example.com"]]
    rows += [[f"n{i:02d}", "IDC", *PUDONG_ZHANGJIANG, "wgs84", f"58.34.{i}.1", f"n{i:02d}.dead.example.com"] for i in range(1, n)]
    return rows


def test_give_up_defaults_agree() -> None:
    assert DEFAULT_GIVE_UP_AFTER == breaker_module.DEFAULT_GIVE_UP_AFTER == AuditConfig().give_up_after == 5


def test_dns_server_goes_silent_for_many_addresses_sources_give_up(knot_dns, tmp_path, registry, net) -> None:
    """30 facilities, each with its own hostname and IP; the nameserver answers the first hostname
    (A and AAAA) and then nothing. Hostname resolution gives up after GIVE_UP silent names, Team
    Cymru after GIVE_UP names that timed out CYMRU_TRIES times each; the server sees a fixed number
    of queries, not one per facility, and every facility still gets one verdict, never pass on
    evidence that was not obtained."""
    rows = many_rows()
    path = write_operator(tmp_path / "op", {"name": "Many Racks", "region": "shanghai", "services": ["IDC"]}, rows)
    with FaultyDns((knot_dns.host, knot_dns.port), healthy=2, fault="silent") as relay:
        result, report = run(path, registry, dns_server=relay.server)
    dns_last = f"no reply in {TIMEOUT:g} s from 127.0.0.1@{relay.port}"
    cymru_last = f"timeout from 127.0.0.1@{relay.port}"

    assert_complete(result, report, rows)
    ips = [str(r[5]) for r in rows]
    assert_every_query_answered(result, ips, ["cymru-dns"])

    # bounded: 2 healthy answers, GIVE_UP hostnames asked once (A; AAAA is not asked after A failed),
    # GIVE_UP addresses asked CYMRU_TRIES times; nothing else, whatever the number of facilities
    hosts = [str(r[6]) for r in rows]
    expected = {("ljz-edge.static.example.com.", "A"): 1, ("ljz-edge.static.example.com.", "AAAA"): 1}
    expected.update({(h + ".", "A"): 1 for h in hosts[1:1 + GIVE_UP]})
    expected.update({(origin(ip), "TXT"): CYMRU_TRIES for ip in ips[:GIVE_UP]})
    assert relay.seen == expected
    assert relay.packets == 2 + GIVE_UP + GIVE_UP * CYMRU_TRIES == 22
    assert relay.faulted == GIVE_UP + GIVE_UP * CYMRU_TRIES
    assert net.timeouts == pytest.approx([TIMEOUT] * relay.faulted)  # each dropped query waited out once, nothing else

    # hostnames: the asked ones timed out; the rest were not asked, and say so in report.json
    assert result.dns[hosts[0]].status == "ok"
    for i, host in enumerate(hosts[1:], start=1):
        res, entry = result.dns[host], report["dns"]["resolutions"][host]
        assert res.status == entry["status"] == "timeout", host
        if i <= GIVE_UP:
            assert res.reason == entry["reason"] == dns_last, host
        else:
            assert res.reason == entry["reason"] == gave_up("dns", dns_last), host
    # addresses: likewise, with the source that gave up and its last failure named
    for i, ip in enumerate(ips):
        (a,) = result.asn[ip]
        assert a.status == "timeout", a
        if i < GIVE_UP:
            assert a.detail["attempts"] == CYMRU_TRIES and "timed out" in a.reason and "not asked" not in a.reason
        else:
            assert a.reason == gave_up("cymru-dns", cymru_last) and a.detail["attempts"] == 0
            assert a.detail["not_asked"] == {"source": "cymru-dns", "after": GIVE_UP, "last_status": "timeout", "last": cymru_last}
    by_id = {f["id"]: f for f in report["facilities"]}
    assert by_id["n29"]["asn"][0]["reason"] == gave_up("cymru-dns", cymru_last)
    assert f"dns gave up after {GIVE_UP} consecutive failures (last: {dns_last}): {MANY - 1 - GIVE_UP} of {MANY} DNS names were not asked" in report["warnings"]
    assert f"cymru-dns gave up after {GIVE_UP} consecutive failures (last: {cymru_last}): {MANY - GIVE_UP} of {MANY} queries were not asked" in report["warnings"]

    # a facility whose hostname was not asked carries that as an unresolved DNS claim and is indeterminate
    for f in result.facilities[1:]:
        assert result.facility_verdict(f).value == by_id[f.id]["verdict"] == "indeterminate", f.id
        (claim,) = [c for c in by_id[f.id]["claims"] if c["source"] == "dns"]
        assert claim["kind"] == "unresolved" and claim["original"]["status"] == "timeout"
        if int(f.id[1:]) > GIVE_UP:
            assert gave_up("dns", dns_last) in claim["notes"][0]
        consistent = only(result.facility_findings[f.id], "location_evidence_consistent")
        assert consistent.status.value == "indeterminate" and "could not be checked" in consistent.message


def test_streamed_audit_gives_up_once_not_once_per_chunk(knot_dns, tmp_path, net) -> None:
    """The same dead server in a streamed audit of 30 rows in chunks of 4: the chunks share their live
    sources, so the server sees exactly the queries the in-memory audit sends (22), and the report
    says once per source how much was not asked."""
    import csv as csv_module

    from auditor.engine.stream import audit_streamed

    rows = many_rows()
    path = write_operator(tmp_path / "op", {"name": "Many Racks", "region": "shanghai", "services": ["IDC"]}, rows)
    with FaultyDns((knot_dns.host, knot_dns.port), healthy=2, fault="silent") as relay:
        out = audit_streamed(path, tmp_path / "out", as_of=AS_OF, chunk_rows=4, formats=("csv",),
                             config=AuditConfig(timeout_s=TIMEOUT, dns_server=relay.server))
    assert out.chunks == 8
    assert relay.packets == 2 + GIVE_UP + GIVE_UP * CYMRU_TRIES == 22  # not 22 per chunk
    assert net.timeouts == pytest.approx([TIMEOUT] * relay.faulted)
    dns_last = f"no reply in {TIMEOUT:g} s from 127.0.0.1@{relay.port}"
    cymru_last = f"timeout from 127.0.0.1@{relay.port}"
    warnings = out.result.warnings
    assert f"dns gave up after {GIVE_UP} consecutive failures (last: {dns_last}): {MANY - 1 - GIVE_UP} of {MANY} DNS names were not asked" in warnings
    assert f"cymru-dns gave up after {GIVE_UP} consecutive failures (last: {cymru_last}): {MANY - GIVE_UP} of {MANY} queries were not asked" in warnings
    assert sum("gave up" in w for w in warnings) == 2
    with open(tmp_path / "out" / "facilities.csv", encoding="utf-8", newline="") as fh:
        table = list(csv_module.DictReader(fh))
    assert [r["id"] for r in table] == [str(r[0]) for r in rows]
    assert all(r["verdict"] == "indeterminate" for r in table[1:])  # never pass on evidence not obtained


@pytest.mark.parametrize("mode, status, last", [
    ("429", "rate_limited", "HTTP 429 from rdap.arin.net (no Retry-After)"),
    ("500", "error", "HTTP 500 from rdap.arin.net"),
])
def test_rdap_server_fails_for_many_addresses_rdap_gives_up(mode, status, last, knot_dns, tmp_path, registry, rdap_local) -> None:
    """30 addresses; the RDAP server answers the first request, then rate-limits (or fails) every
    other. RDAP gives up after GIVE_UP lookups of RDAP_TRIES requests each; Team Cymru, whose server
    is healthy, answers every address."""
    ips = ["74.125.225.229"] + [f"74.125.225.{i}" for i in range(1, MANY)]  # all ARIN by Team Cymru's zone
    rows: list[list[object]] = [[f"n{i:02d}", "IDC", *PUDONG_ZHANGJIANG, "wgs84", ip, ""] for i, ip in enumerate(ips)]
    path = write_operator(tmp_path / "op", {"name": "Registry Watch", "region": "shanghai", "services": ["IDC"]}, rows)
    rdap_local.set_fault(mode, after=1)
    result, report = run(path, registry, dns_server=f"{knot_dns.host}:{knot_dns.port}", rdap_url=rdap_local.base_url)

    assert_complete(result, report, rows)
    assert_every_query_answered(result, ips, ["cymru-dns", "rdap"])
    assert [result.asn[ip][0].status for ip in ips] == ["ok"] * MANY  # Team Cymru did not care

    # bounded: one good request, then GIVE_UP lookups of RDAP_TRIES requests each; the rest not asked
    paths = [r["path"] for r in rdap_local.requests]
    assert paths == [f"/rdap.arin.net/registry/ip/{ip}" for ip in ips[:1 + GIVE_UP] for _ in range(1 if ip == ips[0] else RDAP_TRIES)]
    assert len(paths) == 1 + GIVE_UP * RDAP_TRIES and rdap_local.faulted() == GIVE_UP * RDAP_TRIES

    rdap = [result.asn[ip][1] for ip in ips]
    assert (rdap[0].status, rdap[0].asn) == ("ok", 15169)
    for a in rdap[1:1 + GIVE_UP]:
        assert a.status == status and last in a.reason and "not asked" not in a.reason, a
        assert len(a.detail["attempts"]) == RDAP_TRIES
    for a in rdap[1 + GIVE_UP:]:
        assert a.status == status and a.reason == gave_up("rdap", last), a
        assert a.detail["attempts"] == [] and a.detail["not_asked"]["after"] == GIVE_UP
    entry = next(f for f in report["facilities"] if f["id"] == "n29")
    assert [(a["source"], a["status"], a.get("reason", "")) for a in entry["asn"]] == [
        ("cymru-dns", "ok", ""), ("rdap", status, gave_up("rdap", last))]
    assert f"rdap gave up after {GIVE_UP} consecutive failures (last: {last}): {MANY - 1 - GIVE_UP} of {MANY} queries were not asked" in report["warnings"]


def test_a_success_between_failures_resets_the_count(knot_dns, tmp_path, registry) -> None:
    """The nameserver fails (SERVFAIL) every name under dead.example.com and answers the rest. With
    GIVE_UP - 1 dead names between good ones, the count never reaches GIVE_UP: every dead name is
    asked. The same names with the dead ones first: resolution gives up after GIVE_UP."""
    groups = 4
    interleaved: list[list[object]] = []
    for g in range(groups):
        interleaved += [[f"d{g}{k}", "IDC", *PUDONG_ZHANGJIANG, "wgs84", "", f"d{g}{k}.dead.example.com"] for k in range(GIVE_UP - 1)]
        interleaved.append([f"ok{g}", "IDC", *LUJIAZUI, "wgs84", "", "ljz-edge.static.example.com"])
    dead_first = sorted(interleaved, key=lambda r: str(r[0]).startswith("ok"))
    dead = groups * (GIVE_UP - 1)
    profile = {"name": "Flaky", "region": "shanghai", "services": ["IDC"]}
    seen = {}
    for name, rows in (("interleaved", interleaved), ("dead-first", dead_first)):
        path = write_operator(tmp_path / name, profile, rows)
        with FaultyDns((knot_dns.host, knot_dns.port), healthy=0, fault="servfail", only="dead.example.com.") as relay:
            result, report = run(path, registry, dns_server=relay.server)
        assert_complete(result, report, rows)
        seen[name] = (relay.queries_for("dead.example.com."), relay.queries_for("ljz-edge.static.example.com."))
        statuses = {str(r[6]): result.dns[str(r[6])] for r in rows}
        if name == "interleaved":
            assert all(res.status == "ok" for h, res in statuses.items() if h.startswith("ljz"))
            assert all(res.status == "server_failed" and res.reason.startswith("SERVFAIL from ")
                       for h, res in statuses.items() if h.endswith("dead.example.com"))
            assert not any("gave up" in w for w in report["warnings"])
        else:
            not_asked = [h for h, res in statuses.items() if res.reason.startswith("not asked: dns gave up")]
            assert len(not_asked) == dead - GIVE_UP + 1  # the later dead names, and the good name itself
            assert all(result.facility_verdict(f).value == "indeterminate" for f in result.facilities)
    # interleaved: each dead name once (A), each good one A + AAAA; dead first: GIVE_UP queries, then nothing
    assert seen == {"interleaved": (dead, 2 * groups), "dead-first": (GIVE_UP, 0)}


def test_a_success_resets_team_cymru_and_rdap(knot_dns, net) -> None:
    """The same at each ASN source: failing lookups in runs of GIVE_UP - 1, a good one between runs."""
    def no_sleep(_s: float) -> None:  # the backoff is not what is tested
        return None
    good, bad = "58.34.{g}.1", "58.35.{g}.{k}"  # Team Cymru: 58.35/16 names get SERVFAIL
    interleaved = [ip for g in range(3) for ip in [bad.format(g=g, k=k) for k in range(1, GIVE_UP)] + [good.format(g=g)]]
    dead_first = sorted(interleaved, key=lambda ip: ip.startswith("58.34."))
    asked = {}
    for name, ips in (("interleaved", interleaved), ("dead-first", dead_first)):
        with FaultyDns((knot_dns.host, knot_dns.port), healthy=0, fault="servfail", only=".35.58.origin.asn.cymru.com.") as relay:
            src = cymru_module.CymruDnsSource(nameservers=["127.0.0.1"], port=relay.port, timeout=TIMEOUT, sleep=no_sleep,
                                              network=net)
            answers = src.lookup(ips)
        asked[name] = relay.queries_for(".35.58.origin.asn.cymru.com.")
        statuses = [a.status for a in answers]
        if name == "interleaved":
            assert statuses == ["error"] * (GIVE_UP - 1) + ["ok"] + ["error"] * (GIVE_UP - 1) + ["ok"] + ["error"] * (GIVE_UP - 1) + ["ok"]
            assert not any("not asked" in a.reason for a in answers)
        else:
            assert statuses == ["error"] * len(ips)  # the good addresses came after it gave up
            assert [a.reason.startswith(f"not asked: cymru-dns gave up after {GIVE_UP} ") for a in answers] == [False] * GIVE_UP + [True] * (len(ips) - GIVE_UP)
    assert asked == {"interleaved": 3 * (GIVE_UP - 1) * CYMRU_TRIES, "dead-first": GIVE_UP * CYMRU_TRIES}

    # RDAP: the registry fails (HTTP 500) for some ARIN addresses and answers 74.125.225.229
    routes = load_routes()
    bad_ips = [f"74.125.225.{i}" for i in range(1, 3 * (GIVE_UP - 1) + 1)]
    routes.update({f"/rdap.arin.net/registry/ip/{ip}": Route(status=500) for ip in bad_ips})
    interleaved = [ip for g in range(3) for ip in bad_ips[g * (GIVE_UP - 1):(g + 1) * (GIVE_UP - 1)] + ["74.125.225.229"]]
    dead_first = sorted(interleaved, key=lambda ip: ip == "74.125.225.229")
    requests = {}
    for name, ips in (("interleaved", interleaved), ("dead-first", dead_first)):
        with RdapServer(routes) as server:
            src = rdap_module.RdapSource(base_url=server.base_url, nameservers=knot_dns.nameservers, port=knot_dns.port,
                                         timeout=TIMEOUT, sleep=no_sleep, network=net)
            answers = src.lookup(ips)
            requests[name] = (sum(1 for r in server.requests if r["status"] == 500), len(server.requests))
        if name == "interleaved":
            assert [a.status for a in answers] == (["error"] * (GIVE_UP - 1) + ["ok"]) * 3
        else:
            assert [a.status for a in answers] == ["error"] * len(ips)
            assert [a.reason == gave_up("rdap", "HTTP 500 from rdap.arin.net") for a in answers] == [False] * GIVE_UP + [True] * (len(ips) - GIVE_UP)
    assert requests == {"interleaved": (len(bad_ips) * RDAP_TRIES, len(bad_ips) * RDAP_TRIES + 3),
                        "dead-first": (GIVE_UP * RDAP_TRIES, GIVE_UP * RDAP_TRIES)}


def test_sweep_server_dead_for_many_domains_sweeps_give_up(knot_dns, tmp_path, registry) -> None:
    """Six accelerated domains that resolve; the sweep server answers SERVFAIL to everything. Each
    sweep is bounded by its query cap, and the sweeps by the cut-off: GIVE_UP sweeps of one send per
    query, then the sixth domain is not swept — and its finding is indeterminate, never pass."""
    domains = ["www.example.com", "static.example.com"] + [f"{h}-edge.static.example.com" for h in ("ljz", "cs", "pvg", "hz")]
    profile = {"name": "Edge Everywhere", "region": "shanghai", "services": ["CDN"], "cdn": {"accelerated_domains": domains}}
    rows = SWEEP_ROWS
    path = write_operator(tmp_path / "op", profile, rows)
    with FaultyDns((knot_dns.host, knot_dns.port), healthy=0, fault="servfail") as relay:
        result, report = run(path, registry, dns_server=f"{knot_dns.host}:{knot_dns.port}", sweep_server=relay.server)
    last = f"none of {SWEEP_QUERIES} queries answered by 127.0.0.1@{relay.port}: {SWEEP_QUERIES} SERVFAIL"

    assert_complete(result, report, rows)
    assert relay.packets == relay.faulted == GIVE_UP * SWEEP_QUERIES
    swept, skipped = domains[:GIVE_UP], domains[GIVE_UP:]
    for d in swept:
        s = result.sweeps[d]
        assert (s.queries, s.answered, s.sent) == (SWEEP_QUERIES, 0, SWEEP_QUERIES), d
    reason = f"not swept: ecs-sweep gave up after {GIVE_UP} consecutive failures (last: {last})"
    assert [result.sweeps[d] for d in skipped] == [reason]
    assert report["dns"]["sweeps"][skipped[0]] == reason
    assert f"ecs-sweep gave up after {GIVE_UP} consecutive failures (last: {last}): 1 of {len(domains)} sweeps were not made" in report["warnings"]
    cdn = [x for x in result.operator_findings if x.rule == "cdn_nodes_in_region"]
    assert [x.message.split(":")[0] for x in cdn] == domains
    assert all(x.status.value == "indeterminate" for x in cdn)
    assert cdn[-1].message == f"{skipped[0]}: {reason}."


def test_a_sweep_with_answers_resets_the_sweepers_count(knot_dns, net) -> None:
    """Sweeps at one server: static.example.com.c3cdn.net gets SERVFAIL, www.example.com answers. With
    give_up_after=2 a failed sweep between answered ones never stops the sweeper; two in a row do."""
    from auditor.resolve.ipgeo.xdb import XdbDatabase

    db = XdbDatabase.load()
    dead, alive = "static.example.com.c3cdn.net", "www.example.com"
    with FaultyDns((knot_dns.host, knot_dns.port), healthy=0, fault="servfail", only="c3cdn.net.") as relay:
        sweeper = EcsSweeper(per_pair=1, give_up_after=2, network=net)
        results = [sweeper.sweep(d, relay.server.replace(":", "@"), db) for d in (dead, alive, dead, alive, dead, alive)]
        assert [r.answered > 0 for r in results] == [False, True] * 3
        assert all(r.queries > 0 and not r.reason for r in results)
        assert all(r.sent == r.queries for r in results[::2])  # SERVFAIL is final: one send per query
        before = relay.packets
        sweeper = EcsSweeper(per_pair=1, give_up_after=2, network=net)
        results = [sweeper.sweep(d, relay.server.replace(":", "@"), db) for d in (dead, dead, alive, dead)]
        sent = relay.packets - before
    assert [r.queries > 0 for r in results] == [True, True, False, False]
    assert sent == results[0].sent + results[1].sent
    assert results[2].reason.startswith("ecs-sweep gave up after 2 consecutive failures (last: none of ")


# --------------------------------------------------------------------------- the cut-off's setting
def cymru_cli_args(profile: Path, out: Path, dns: str, *extra: str) -> list[str]:
    return ["audit", str(profile), "--out", str(out), "--format", "json", "--as-of", AS_OF.isoformat(),
            "--generated-at", "fixed", "--dns-server", dns, *extra]


def test_cli_give_up_after_sets_how_many_failures_the_server_sees(knot_dns, tmp_path) -> None:
    """`--give-up-after N` (and AUDITOR_GIVE_UP_AFTER, which it overrides) sets how many failed
    lookups a dead nameserver sees: N x CYMRU_TRIES, whatever the number of addresses."""
    n = 8
    rows: list[list[object]] = [[f"ip{i}", "IDC", *PUDONG_ZHANGJIANG, "wgs84", f"58.34.{i}.1", ""] for i in range(n)]
    profile = write_operator(tmp_path / "op", CLI_PROFILE, rows)
    runner = CliRunner()
    runs = {
        "default": ((), {}),
        "cli-2": (("--give-up-after", "2"), {}),
        "env-3": ((), {"AUDITOR_GIVE_UP_AFTER": "3"}),
        "env-3-cli-1": (("--give-up-after", "1"), {"AUDITOR_GIVE_UP_AFTER": "3"}),
    }
    seen = {}
    with FaultyDns((knot_dns.host, knot_dns.port), healthy=0, fault="servfail") as relay:
        for name, (extra, env) in runs.items():
            before = relay.queries_for("asn.cymru.com.")
            res = runner.invoke(main, cymru_cli_args(profile, tmp_path / name, relay.server, *extra), env=env)
            assert res.exit_code == 0, res.output
            seen[name] = relay.queries_for("asn.cymru.com.") - before
            report = json.loads((tmp_path / name / "report.json").read_text(encoding="utf-8"))
            asn = [f["asn"][0] for f in report["facilities"]]
            assert [a["status"] for a in asn] == ["error"] * n
            k = {"default": GIVE_UP, "cli-2": 2, "env-3": 3, "env-3-cli-1": 1}[name]
            last = f"SERVFAIL from Do53:127.0.0.1@{relay.port}"
            assert [a["reason"] == gave_up("cymru-dns", last, k) for a in asn] == [False] * k + [True] * (n - k)
            assert [f["verdict"] for f in report["facilities"]] == ["pass"] * n  # nothing rests on the ASN answers
    assert seen == {"default": GIVE_UP * CYMRU_TRIES, "cli-2": 2 * CYMRU_TRIES, "env-3": 3 * CYMRU_TRIES,
                    "env-3-cli-1": CYMRU_TRIES}


@pytest.mark.parametrize("args, env, words", [
    (("--give-up-after", "0"), {}, "--give-up-after"),
    (("--give-up-after", "many"), {}, "--give-up-after"),
    ((), {"AUDITOR_GIVE_UP_AFTER": "0"}, "AUDITOR_GIVE_UP_AFTER"),
    ((), {"AUDITOR_GIVE_UP_AFTER": "five"}, "AUDITOR_GIVE_UP_AFTER"),
])
def test_cli_rejects_a_bad_give_up_after(args, env, words, tmp_path) -> None:
    profile = write_operator(tmp_path / "op", CLI_PROFILE, CLI_ROWS[:1])
    res = CliRunner().invoke(main, cymru_cli_args(profile, tmp_path / "out", "127.0.0.1:9", *args), env=env)
    assert res.exit_code == 2 and words in res.output, res.output
    assert not (tmp_path / "out").exists()


def test_config_give_up_after_precedence_and_types() -> None:
    resolve = AuditConfig.resolve
    assert resolve(env={}).give_up_after == GIVE_UP
    assert resolve(env={}, profile={"give_up_after": 7}).give_up_after == 7
    assert resolve(env={"AUDITOR_GIVE_UP_AFTER": " 4 "}, profile={"give_up_after": 7}).give_up_after == 4
    assert resolve(cli={"give_up_after": 2}, env={"AUDITOR_GIVE_UP_AFTER": "4"}, profile={"give_up_after": 7}).give_up_after == 2
    for where, kwargs in (
        ("evidence.give_up_after", {"profile": {"give_up_after": 0}}),
        ("evidence.give_up_after", {"profile": {"give_up_after": True}}),
        ("evidence.give_up_after", {"profile": {"give_up_after": 2.5}}),
        ("AUDITOR_GIVE_UP_AFTER", {"env": {"AUDITOR_GIVE_UP_AFTER": "-1"}}),
        ("--give-up-after", {"cli": {"give_up_after": 0}}),
    ):
        with pytest.raises(InputError, match=where.replace(".", r"\.").replace("-", r"\-")):
            resolve(**{"env": {}, **kwargs})  # type: ignore[arg-type]
    with pytest.raises(InputError, match="give_up_after"):
        AuditConfig(give_up_after=0)
    for bad in (0, -1, True, 1.5):
        with pytest.raises(ValueError, match="give_up_after"):
            cymru_module.CymruDnsSource(nameservers=["127.0.0.1"], give_up_after=bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="give_up_after"):
            EcsSweeper(give_up_after=bad)  # type: ignore[arg-type]


def test_cli_locate_gives_up_across_its_queries(knot_dns) -> None:
    """`auditor locate` asks one set of sources for all its queries, so a dead nameserver is given up
    on once for the whole command, not once per query."""
    ips = [f"58.34.{i}.1" for i in range(6)]
    with FaultyDns((knot_dns.host, knot_dns.port), healthy=0, fault="servfail") as relay:
        res = CliRunner().invoke(main, ["locate", *ips, "--dns-server", relay.server, "--give-up-after", "2"])
        asked = relay.queries_for("asn.cymru.com.")
    assert res.exit_code == 0, res.output
    assert asked == 2 * CYMRU_TRIES
    last = f"SERVFAIL from Do53:127.0.0.1@{relay.port}"
    lines = [line for line in res.output.splitlines() if line.strip().startswith("cymru-dns")]
    assert len(lines) == len(ips)
    assert [gave_up("cymru-dns", last, 2) in line for line in lines] == [False] * 2 + [True] * 4


def test_profile_evidence_give_up_after(tmp_path) -> None:
    """The profile's ``evidence: {give_up_after: N}`` is type-checked like its other keys and reaches the config."""
    from auditor.inventory.profile import load_profile

    good = tmp_path / "good.yaml"
    good.write_text("name: x\nregion: shanghai\nevidence: {give_up_after: 2}\n", encoding="utf-8")
    _, doc = load_profile(good)
    assert AuditConfig.resolve(env={}, profile=doc["evidence"]).give_up_after == 2
    bad = tmp_path / "bad.yaml"
    for value in ("0", "many", "true", "2.5"):
        bad.write_text(f"name: x\nregion: shanghai\nevidence: {{give_up_after: {value}}}\n", encoding="utf-8")
        with pytest.raises(InputError, match=r"evidence\.give_up_after' must be a whole number"):
            load_profile(bad)
