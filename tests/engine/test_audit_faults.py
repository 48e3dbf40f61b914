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
from fault_audits import (  # noqa: F401 - fixtures (net, rdap_local) are found by name
    CLI_PROFILE,
    CLI_ROWS,
    CYMRU_TRIES,
    HEADER,
    LUJIAZUI,
    MIXED_PROFILE,
    MIXED_ROWS,
    RDAP_PROFILE,
    RDAP_ROWS,
    RDAP_TRIES,
    SWEEP_HEALTHY,
    SWEEP_PROFILE,
    SWEEP_ROWS,
    SWEEP_TRIES,
    TIMEOUT,
    VERDICTS,
    assert_complete,
    assert_every_query_answered,
    claims_of,
    facility_findings,
    net,
    only,
    operator_findings,
    origin,
    rdap_local,
    run,
    write_operator,
)
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


def test_baselines_are_what_the_fault_tests_compare_against(baselines) -> None:
    """The healthy runs hold the evidence the faults take away (else the comparisons prove nothing)."""
    mixed, report = baselines["mixed"]
    assert_complete(mixed, report, MIXED_ROWS)
    assert {h: r.status for h, r in mixed.dns.items()} == dict.fromkeys(
        ["ljz-edge.static.example.com", "hz-edge.static.example.com", "pvg-edge.static.example.com",
         "static.example.com", "www.example.com"], "ok")
    # host-only: its name points at Hangzhou, but an address placed by an IP database proves nothing alone
    assert mixed.facility_verdict(mixed.facilities[4]).value == "indeterminate"
    (where_only,) = [x for x in mixed.facility_findings["host-only"] if x.rule == "facility_in_region"]
    assert "has no declared location" in where_only.message and "杭州市" in where_only.message
    # host-hz: declared in Pudong, its name's address registered in Hangzhou: a doubt to check on site
    (doubt,) = [x for x in mixed.facility_findings["host-hz"] if x.rule == "facility_in_region"]
    assert doubt.status.value == "indeterminate" and doubt.message.endswith("check on site.")
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
    # host-hz was a doubt in the healthy run (its Hangzhou address against its coordinates); with that
    # address unknown it must not pass on its coordinates alone: the consistency rule says what is missing
    hz = {x.rule: x for x in result.facility_findings["host-hz"]}
    assert base.facility_verdict(base.facilities[3]).value == "indeterminate" and result.facilities[3].id == "host-hz"
    assert hz["location_evidence_consistent"].status.value == "indeterminate"
    assert "Declared evidence could not be checked: DNS resolution of hz-edge.static.example.com failed" in hz["location_evidence_consistent"].message
    assert result.facility_verdict(result.facilities[3]).value == "indeterminate"

    # findings that rest on DNS are never pass: the facility only DNS places ...
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
    # a network failure is never exit 2: the healthy run fails a finding (1); the faulty one, whose failing evidence
    # came from DNS, exits 3 for its unreadable row unless a finding still fails
    assert base.exit_code == 1 and result.exit_code == (1 if result.verdict == "fail" else 3)

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
    nameserver's port closes (after ten Team Cymru lookups). No traceback, exit 3 (an unreadable
    row and no failing finding, as documented, never 2), and every row in report.json.

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
    assert proc.returncode == 3, proc.stdout + proc.stderr  # the unreadable row, and nothing failed: never 2 (issue 25)
    assert f"{len(rows)} facilities" in proc.stdout
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert [f["id"] for f in report["facilities"]] == [r[0] for r in rows]
    assert all(f["verdict"] in VERDICTS for f in report["facilities"])
    assert report["facilities"][-1]["verdict"] == "error" and report["summary"]["exit_code"] == 3
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
