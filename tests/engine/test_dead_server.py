"""Whole audits against a server that never answers (issue 21, part 3): it costs one probe, not
``give_up_after`` lookups of every source, and the reports say what was not asked as before.

The dead servers (``servers.deadhost``) count what they were sent; the audits run on virtual time
(fault_audits' ``net`` fixture), so every assertion is a count or a text, never a wall-clock time.
The same audits with the probe's verdict switched off (``Liveness.silent`` ignored: every source
then gives up by counting, as before this change) give the same verdicts and finding statuses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import AS_OF, PUDONG_ZHANGJIANG
from fault_audits import (  # noqa: F401 - fixtures (net) are found by name
    CLI_PROFILE,
    CYMRU_TRIES,
    LUJIAZUI,
    TIMEOUT,
    assert_every_query_answered,
    net,
    run,
    write_operator,
)
from servers.blackhole import VirtualNetwork, virtual_network  # noqa: F401  (fixtures are found by name)
from servers.deadhost import DeadHttp, DeadUdp
from servers.rdap import RdapServer, load_routes

from auditor.config import DEFAULT_GIVE_UP_AFTER, AuditConfig
from auditor.engine import AuditResult
from auditor.resolve.liveness import Liveness

pytestmark = pytest.mark.usefixtures("loopback_only")

MANY = 30
PROFILE = {"name": "Quiet Racks", "region": "shanghai", "services": ["IDC"]}


def rows(n: int = MANY) -> list[list[object]]:
    """Every facility with an address and a hostname of its own; the first would resolve on a live server."""
    out: list[list[object]] = [["n00", "IDC", *LUJIAZUI, "wgs84", "58.34.0.1", "ljz-edge.static.example.com"]]
    out += [[f"n{i:02d}", "IDC", *PUDONG_ZHANGJIANG, "wgs84", f"58.34.{i}.1", f"n{i:02d}.dead.example.com"] for i in range(1, n)]
    return out


def never_answered(source: str, endpoint: str, what: str = f"no reply in {TIMEOUT:g} s") -> str:
    return f"{source} gave up: {endpoint} never answered ({what})"


def statuses(result: AuditResult) -> dict[str, Any]:
    """Each facility's verdict and its findings' (rule, status), and the operator's: what a reader acts on."""
    out: dict[str, Any] = {f.id: (result.facility_verdict(f).value,
                                  sorted((x.rule, x.status.value) for x in result.facility_findings.get(f.id, [])))
                           for f in result.facilities}
    out["(operator)"] = sorted((x.rule, x.status.value) for x in result.operator_findings)
    return out


def test_dead_dns_server_is_asked_once_in_the_whole_audit(tmp_path, registry, net) -> None:
    """--dns-server (resolver and Team Cymru) never answers: the first hostname's A query is its probe;
    after it the resolver, Team Cymru and RDAP (whose first step asks the same server) give up at once.
    The server sees one datagram, whatever the number of facilities."""
    facilities = rows()
    path = write_operator(tmp_path / "op", PROFILE, facilities)
    with DeadUdp() as dead, RdapServer(load_routes()) as rd:
        result, report = run(path, registry, dns_server=dead.server, rdap_url=rd.base_url)
    endpoint = f"127.0.0.1@{dead.port}"
    assert dead.datagrams == 1 and rd.requests == []
    assert net.timeouts == [TIMEOUT]  # one wait in the whole audit

    ips = [str(r[5]) for r in facilities]
    assert_every_query_answered(result, ips, ["cymru-dns", "rdap"])
    for ip in ips:
        for a in result.asn[ip]:
            assert a.status == "timeout" and a.reason == f"not asked: {never_answered(a.source, endpoint)}", a
            assert a.detail["not_asked"]["never_answered"] is True
    hosts = [str(r[6]) for r in facilities]
    assert result.dns[hosts[0]].reason == f"no reply in {TIMEOUT:g} s from {endpoint}"
    assert all(result.dns[h].reason == f"not asked: {never_answered('dns', endpoint)}" for h in hosts[1:])
    assert report["dns"]["resolutions"][hosts[-1]]["reason"] == f"not asked: {never_answered('dns', endpoint)}"
    gave_up = [w for w in report["warnings"] if "gave up" in w]
    assert gave_up == [
        f"{never_answered('dns', endpoint)}: {MANY - 1} of {MANY} DNS names were not asked",
        f"{never_answered('cymru-dns', endpoint)}: {MANY} of {MANY} queries were not asked",
        f"{never_answered('rdap', endpoint)}: {MANY} of {MANY} queries were not asked",
    ]
    # never pass on evidence that was not obtained
    assert {result.facility_verdict(f).value for f in result.facilities} == {"indeterminate"}


def test_a_dead_server_found_by_its_probe_or_by_counting_gives_the_same_findings(tmp_path, registry, net,
                                                                                 monkeypatch) -> None:
    facilities = rows(12)
    path = write_operator(tmp_path / "op", PROFILE, facilities)
    with DeadUdp() as dead:
        probed, _ = run(path, registry, dns_server=dead.server)
    with DeadUdp() as dead_counted:
        # the probe's verdict switched off: no server is ever found dead, so sources give up by counting, as before
        monkeypatch.setattr(Liveness, "silent", lambda self, endpoint, what: None)
        counted, report = run(path, registry, dns_server=dead_counted.server)
    assert statuses(probed) == statuses(counted)
    assert [f["verdict"] for f in report["facilities"]] == ["indeterminate"] * len(facilities)
    give_up = DEFAULT_GIVE_UP_AFTER
    # counting: the resolver's GIVE_UP names once each, Team Cymru's GIVE_UP addresses (their tries sent together
    # while the server was never heard from); the probe: one datagram
    assert (dead.datagrams, dead_counted.datagrams) == (1, give_up + give_up * CYMRU_TRIES)
    assert any(f"dns gave up after {give_up} consecutive failures" in w for w in report["warnings"])


def test_dead_team_cymru_server_is_probed_while_hostnames_resolve(knot_dns, tmp_path, registry, net) -> None:
    """--cymru-server apart from the resolver: probed at the start of the audit (three tries of one
    question, sent together), so its timeout is waited out beside the DNS work; no lookup is sent to it."""
    facilities = rows(6)
    path = write_operator(tmp_path / "op", PROFILE, facilities)
    with DeadUdp() as dead, RdapServer(load_routes()) as rd:
        result, report = run(path, registry, cymru_server=dead.server, dns_resolver=f"{knot_dns.host}:{knot_dns.port}",
                             rdap_url=rd.base_url)
    endpoint = f"127.0.0.1@{dead.port}"
    assert dead.datagrams == CYMRU_TRIES and len(set(dead.payloads)) == 1  # one question, its tries together
    assert rd.requests == []
    assert result.dns["ljz-edge.static.example.com"].status == "ok"  # the resolver did not care
    for ip in (str(r[5]) for r in facilities):
        assert [a.reason for a in result.asn[ip]] == [f"not asked: {never_answered(s, endpoint)}" for s in ("cymru-dns", "rdap")]
    assert f"{never_answered('cymru-dns', endpoint)}: 6 of 6 queries were not asked" in report["warnings"]


def test_dead_rdap_server_gets_one_request_and_it_is_not_a_lookup(knot_dns, tmp_path, registry, net) -> None:
    facilities = [[f"ip{i}", "IDC", *PUDONG_ZHANGJIANG, "wgs84", ip, ""]
                  for i, ip in enumerate(["74.125.225.229", "210.107.73.73", "58.34.1.1", "58.34.2.1"])]
    path = write_operator(tmp_path / "op", PROFILE, facilities)
    with DeadHttp() as dead:
        result, report = run(path, registry, dns_server=f"{knot_dns.host}:{knot_dns.port}", rdap_url=dead.base_url)
    assert dead.requests == ["HEAD / HTTP/1.1"]  # the probe; no RDAP lookup was sent
    what = f"no response in {TIMEOUT:g} s"
    for f in facilities:
        cymru, rdap = result.asn[str(f[5])]
        assert cymru.status == "ok"  # Team Cymru's server is healthy
        assert (rdap.status, rdap.reason) == ("timeout", f"not asked: {never_answered('rdap', dead.base_url, what)}")
    assert f"{never_answered('rdap', dead.base_url, what)}: 4 of 4 queries were not asked" in report["warnings"]


def test_dead_sweep_server_costs_one_timeout_of_a_few_queries(knot_dns, tmp_path, registry, net) -> None:
    from auditor.resolve.dns.sweep import PROBE_WINDOW

    knot_dns.require_geoip()
    profile = {"name": "Edge", "region": "shanghai", "services": ["CDN"],
               "cdn": {"accelerated_domains": ["static.example.com", "www.example.com"]}}
    path = write_operator(tmp_path / "op", profile, [["ljz", "CDN", *LUJIAZUI, "wgs84", "", "ljz-edge.static.example.com"]])
    knot = f"{knot_dns.host}:{knot_dns.port}"
    with DeadUdp() as dead:
        result, report = run(path, registry, dns_resolver=knot, sweep_server=dead.server)
    assert dead.datagrams == PROBE_WINDOW
    first, second = result.sweeps["static.example.com"], result.sweeps["www.example.com"]
    assert not isinstance(first, str) and first.answered == 0 and first.sent == PROBE_WINDOW
    why = (f"ecs-sweep gave up: 127.0.0.1@{dead.port} never answered "
           f"(no reply in 1 s to any of the first {PROBE_WINDOW} queries of a sweep)")
    assert second == f"not swept: {why}"
    assert f"{why}: 1 of 2 sweeps were not made" in report["warnings"]
    assert {h: r.status for h, r in result.dns.items()} == dict.fromkeys(["ljz-edge.static.example.com", "static.example.com",
                                                                         "www.example.com"], "ok")


def test_streamed_audit_probes_a_dead_server_once(tmp_path, net) -> None:
    """A streamed audit's chunks share one audit's liveness: the dead server is asked once, not once per chunk."""
    from auditor.engine.stream import audit_streamed

    facilities = rows()
    path = write_operator(tmp_path / "op", PROFILE, facilities)
    with DeadUdp() as dead:
        out = audit_streamed(path, tmp_path / "out", as_of=AS_OF, chunk_rows=4, formats=("csv",),
                             config=AuditConfig(timeout_s=TIMEOUT, dns_server=dead.server))
    assert out.chunks == 8 and dead.datagrams == 1
    endpoint = f"127.0.0.1@{dead.port}"
    assert [w for w in out.result.warnings if "gave up" in w] == [
        f"{never_answered('dns', endpoint)}: {MANY - 1} of {MANY} DNS names were not asked",
        f"{never_answered('cymru-dns', endpoint)}: {MANY} of {MANY} queries were not asked",
    ]


def test_cli_audit_with_a_dead_dns_server(tmp_path: Path, net) -> None:
    import json

    from click.testing import CliRunner

    from auditor.cli import main

    path = write_operator(tmp_path / "op", {**CLI_PROFILE, "evidence": {"timeout_s": TIMEOUT}}, rows(4))
    with DeadUdp() as dead:
        res = CliRunner().invoke(main, ["audit", str(path), "--out", str(tmp_path / "out"), "--format", "json",
                                        "--as-of", AS_OF.isoformat(), "--dns-server", dead.server])
    assert res.exit_code == 0, res.output  # nothing failed: what was not asked is indeterminate, not a failure
    assert dead.datagrams == 1
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert sum("never answered" in w for w in report["warnings"]) == 2
    assert [f["verdict"] for f in report["facilities"]] == ["indeterminate"] * 4
