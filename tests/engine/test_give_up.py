"""Giving up on a dead source, in whole audits (issue 9): after ``give_up_after`` consecutive failed
lookups a source asks nothing more, and what it was not asked is answered "not asked: ... gave up".

The servers, operators, helpers and virtual time are those of test_audit_faults.py (fault_audits.py).
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
    with open(tmp_path / "out" / "facilities.csv", encoding="utf-8-sig", newline="") as fh:  # facilities.csv starts with a BOM
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
