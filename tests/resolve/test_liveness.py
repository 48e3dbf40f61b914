"""A server that never answers costs one probe, not ``give_up_after`` lookups (issue 21, part 3).

Each live source, given an audit's :class:`~auditor.resolve.liveness.Liveness`, takes the first query a
server gets as its health probe: no reply within the timeout and the source gives up at once, saying
"not asked: <source> gave up: <server> never answered (...)". A server that answered once is left
to the circuit breaker, as before. The dead servers here are ``servers.deadhost``'s, which count
what they were sent; everything runs on virtual time (``servers.blackhole``), so the assertions are
counts of datagrams, requests and virtual waits, never wall-clock times.
"""

from __future__ import annotations

import datetime as dt

import pytest
from servers.blackhole import VirtualNetwork, virtual_network  # noqa: F401  (fixtures are found by name)
from servers.deadhost import DeadHttp, DeadUdp
from servers.hostile_dns import FaultyDns
from servers.knot import KnotServer, knot_dns  # noqa: F401
from servers.netguard import loopback_only  # noqa: F401
from servers.rdap import RdapServer, rdap, rdap_server  # noqa: F401

from auditor.resolve.asn import CymruDnsSource, RdapSource
from auditor.resolve.breaker import CircuitBreaker
from auditor.resolve.dns import DnsResolver
from auditor.resolve.dns.sweep import PROBE_WINDOW, EcsSweeper
from auditor.resolve.liveness import Liveness
from auditor.resolve.probe import Probes, probe_dns, probe_http

pytestmark = pytest.mark.usefixtures("loopback_only")

NOW = dt.datetime(2026, 11, 1, 8, 0, 0, tzinfo=dt.UTC)
TIMEOUT = 0.5  # virtual seconds
GIVE_UP = 5


def fixed_clock() -> dt.datetime:
    return NOW


def never_answered(source: str, endpoint: str, what: str = f"no reply in {TIMEOUT:g} s") -> str:
    return f"not asked: {source} gave up: {endpoint} never answered ({what})"


class Sleeps:
    """The waits a source asks for between retries (on the virtual clock)."""

    def __init__(self, net: VirtualNetwork) -> None:
        self.net, self.calls = net, []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.net.sleep(seconds)


# --------------------------------------------------------------------------- the pure parts
def test_liveness_a_server_is_dead_only_if_it_never_answered() -> None:
    live = Liveness()
    assert live.unproven("a@53") and live.dead("a@53") == ""
    live.answered("a@53")
    live.silent("a@53", "no reply in 2 s")  # it answered before: a lost reply, not a dead server
    assert not live.unproven("a@53") and live.dead("a@53") == ""
    live.silent("b@53", "no reply in 2 s")
    assert live.dead("b@53") == "b@53 never answered (no reply in 2 s)"
    live.answered("b@53")  # too late: the audit has given up on it, and stays consistent
    assert live.dead("b@53") == "b@53 never answered (no reply in 2 s)"
    assert live.all_dead(["b@53"]) == live.dead("b@53")
    assert live.all_dead(["b@53", "a@53"]) == "" and live.all_dead([]) == ""


def test_breaker_trip_gives_up_at_once_and_keeps_its_first_reason() -> None:
    b = CircuitBreaker("cymru-dns", threshold=5)
    b.failure("timeout", "timeout from x@53")
    b.trip("timeout", "x@53 never answered (no reply in 2 s)")
    assert b.open and b.reason == "not asked: cymru-dns gave up: x@53 never answered (no reply in 2 s)"
    assert b.detail() == {"source": "cymru-dns", "after": 1, "last_status": "timeout",
                          "last": "x@53 never answered (no reply in 2 s)", "never_answered": True}
    b.trip("error", "another reason")
    b.failure("error", "more")
    assert b.reason == "not asked: cymru-dns gave up: x@53 never answered (no reply in 2 s)" and b.status == "timeout"
    counted = CircuitBreaker("dns", threshold=1)
    counted.failure("timeout", "t")
    counted.trip("timeout", "ignored: already open")
    assert counted.reason == "not asked: dns gave up after 1 consecutive failure (last: t)"


# --------------------------------------------------------------------------- DNS resolution
def test_resolver_gives_up_after_the_first_query_of_a_server_that_never_answers(virtual_network: VirtualNetwork) -> None:
    names = [f"n{i}.example.com" for i in range(8)]
    with DeadUdp() as dead:
        live = Liveness()
        r = DnsResolver([("127.0.0.1", dead.port)], timeout=TIMEOUT, liveness=live, clock=fixed_clock, network=virtual_network)
        got = r.resolve_many(names)
    endpoint = f"127.0.0.1@{dead.port}"
    assert dead.datagrams == 1  # the first name's A query; its AAAA is not asked after A failed
    assert virtual_network.timeouts == [TIMEOUT]
    assert [g.status for g in got] == ["timeout"] * len(names)
    assert got[0].reason == f"no reply in {TIMEOUT:g} s from {endpoint}"
    assert [g.reason for g in got[1:]] == [never_answered("dns", endpoint)] * (len(names) - 1)
    assert r.breaker.gave_up == f"dns gave up: {endpoint} never answered (no reply in {TIMEOUT:g} s)"


def test_resolver_without_liveness_gives_up_by_counting_as_before(virtual_network: VirtualNetwork) -> None:
    with DeadUdp() as dead:
        r = DnsResolver([("127.0.0.1", dead.port)], timeout=TIMEOUT, give_up_after=GIVE_UP, network=virtual_network)
        got = r.resolve_many([f"n{i}.example.com" for i in range(8)])
    assert dead.datagrams == GIVE_UP and virtual_network.timeouts == [TIMEOUT] * GIVE_UP
    assert got[-1].reason.startswith(f"not asked: dns gave up after {GIVE_UP} consecutive failures")


def test_resolver_stops_asking_a_dead_server_and_keeps_the_live_one(knot_dns: KnotServer, virtual_network: VirtualNetwork) -> None:
    with DeadUdp() as dead:
        r = DnsResolver([("127.0.0.1", dead.port), (knot_dns.host, knot_dns.port)], timeout=TIMEOUT, liveness=Liveness(),
                        network=virtual_network)
        got = r.resolve_many(["ljz-edge.static.example.com", "hz-edge.static.example.com", "pvg-edge.static.example.com"])
    assert [(g.status, g.addresses) for g in got] == [("ok", ("112.64.1.1",)), ("ok", ("36.19.1.1",)), ("ok", ("36.17.1.1",))]
    assert dead.datagrams == 1 and virtual_network.timeouts == [TIMEOUT]  # asked once; then only Knot
    assert not r.breaker.open


def test_a_server_that_answered_once_is_left_to_the_breaker(knot_dns: KnotServer, virtual_network: VirtualNetwork) -> None:
    """The relay answers the first name (A and AAAA), then nothing: that is a server that stopped, not one
    that never answered, so the resolver gives up after GIVE_UP names as before."""
    names = ["ljz-edge.static.example.com"] + [f"n{i}.dead.example.com" for i in range(10)]
    with FaultyDns((knot_dns.host, knot_dns.port), healthy=2, fault="silent") as relay:
        r = DnsResolver([("127.0.0.1", relay.port)], timeout=TIMEOUT, give_up_after=GIVE_UP, liveness=Liveness(),
                        network=virtual_network)
        got = r.resolve_many(names)
    assert got[0].status == "ok" and relay.packets == 2 + GIVE_UP
    assert got[-1].reason.startswith(f"not asked: dns gave up after {GIVE_UP} consecutive failures")


# --------------------------------------------------------------------------- Team Cymru
def test_cymru_sends_its_first_tries_together_and_gives_up_when_none_is_answered(virtual_network: VirtualNetwork) -> None:
    sleeps = Sleeps(virtual_network)
    ips = ["58.34.1.1", "58.34.2.1", "10.0.0.1", "36.17.1.1"]
    with DeadUdp() as dead:
        src = CymruDnsSource(nameservers=["127.0.0.1"], port=dead.port, timeout=TIMEOUT, retries=2, sleep=sleeps,
                             clock=fixed_clock, liveness=Liveness(), network=virtual_network)
        got = src.lookup(ips)
    endpoint = f"127.0.0.1@{dead.port}"
    assert dead.datagrams == 3 and len(set(dead.payloads)) == 1  # the three tries of one query, sent together ...
    assert virtual_network.timeouts == [TIMEOUT] and sleeps.calls == []  # ... waited for once, with no backoff
    first = got[0]
    assert (first.status, first.detail["attempts"]) == ("timeout", 3) and "timed out" in first.reason
    assert [a.status for a in got] == ["timeout", "timeout", "reserved", "timeout"]
    for a in (got[1], got[3]):
        assert a.reason == never_answered("cymru-dns", endpoint) and a.detail["attempts"] == 0
        assert a.detail["not_asked"]["never_answered"] is True


def test_cymru_first_lookup_at_a_healthy_server_answers_as_before(knot_dns: KnotServer) -> None:
    """Against a healthy server the answers are those of a source without liveness (the first query's
    duplicate tries are the only difference, on the wire)."""
    ips = ["58.34.1.1", "74.125.225.229", "41.0.0.1"]
    with FaultyDns((knot_dns.host, knot_dns.port)) as relay:
        kw = {"nameservers": ["127.0.0.1"], "port": relay.port, "timeout": TIMEOUT, "clock": fixed_clock}
        with_liveness = CymruDnsSource(**kw, liveness=Liveness(), network=VirtualNetwork()).lookup(ips)  # type: ignore[arg-type]
        first_seen = relay.seen[("1.1.34.58.origin.asn.cymru.com.", "TXT")]
        without = CymruDnsSource(**kw, network=VirtualNetwork()).lookup(ips)  # type: ignore[arg-type]
    assert [a.to_dict() for a in with_liveness] == [a.to_dict() for a in without]
    assert [a.status for a in with_liveness] == ["ok", "ok", "not_found"] and with_liveness[0].detail["attempts"] == 1
    assert first_seen == 3  # the probe's tries, sent together; every later query once


# --------------------------------------------------------------------------- RDAP
def test_rdap_server_that_never_responds_costs_one_request(knot_dns: KnotServer, virtual_network: VirtualNetwork) -> None:
    sleeps = Sleeps(virtual_network)
    ips = ["74.125.225.229", "210.107.73.73", "58.34.1.1"]
    with DeadHttp() as dead:
        src = RdapSource(base_url=dead.base_url, nameservers=knot_dns.nameservers, port=knot_dns.port, timeout=TIMEOUT,
                         retries=2, sleep=sleeps, clock=fixed_clock, liveness=Liveness(), network=virtual_network)
        got = src.lookup(ips)
    assert dead.requests == ["GET /rdap.arin.net/registry/ip/74.125.225.229 HTTP/1.1"] and sleeps.calls == []
    first = got[0]
    assert first.status == "timeout" and len(first.detail["attempts"]) == 1
    assert [a.reason for a in got[1:]] == [never_answered("rdap", dead.base_url, f"no response in {TIMEOUT:g} s")] * 2
    assert all(a.status == "timeout" and a.detail["attempts"] == [] for a in got[1:])


def test_rdap_gives_up_with_its_team_cymru_server(knot_dns: KnotServer, rdap: RdapServer, virtual_network: VirtualNetwork) -> None:  # noqa: F811
    """RDAP's first step asks Team Cymru's server; when that server never answered, RDAP has nothing to ask."""
    live = Liveness()
    with DeadUdp() as dead:
        live.silent(f"127.0.0.1@{dead.port}", "no reply in 2 s")  # what Team Cymru's source found
        src = RdapSource(base_url=rdap.base_url, nameservers=["127.0.0.1"], port=dead.port, timeout=TIMEOUT,
                         clock=fixed_clock, liveness=live, network=virtual_network)
        got = src.lookup(["74.125.225.229", "10.0.0.1"])
    assert dead.datagrams == 0 and rdap.requests == []
    assert got[0].reason == never_answered("rdap", f"127.0.0.1@{dead.port}", "no reply in 2 s")
    assert got[1].status == "reserved"  # nothing to ask anyway


# --------------------------------------------------------------------------- probes
def test_probes_tell_a_dead_server_from_a_live_one(knot_dns: KnotServer, rdap: RdapServer,  # noqa: F811
                                                   virtual_network: VirtualNetwork) -> None:
    live = Liveness()
    with DeadUdp() as dns_dead, DeadHttp() as http_dead:
        probes = Probes()
        probes.start("dns-dead", lambda: probe_dns("127.0.0.1", dns_dead.port, liveness=live, timeout=TIMEOUT, copies=3,
                                                   zone="asn.cymru.com", network=virtual_network))
        probes.start("http-dead", lambda: probe_http(http_dead.base_url, liveness=live, timeout=TIMEOUT, network=virtual_network))
        probes.start("dns-dead", lambda: pytest.fail("an endpoint is probed once"))
        probes.wait(TIMEOUT)
        probe_dns(knot_dns.host, knot_dns.port, liveness=live, timeout=TIMEOUT, zone="asn.cymru.com", network=virtual_network)
        probe_http(rdap.base_url, liveness=live, timeout=TIMEOUT, network=virtual_network)
    assert dns_dead.datagrams == 3 and http_dead.requests == ["HEAD / HTTP/1.1"]
    assert live.dead(f"127.0.0.1@{dns_dead.port}") and live.dead(http_dead.base_url)
    assert not live.unproven(f"{knot_dns.host}@{knot_dns.port}") and not live.dead(f"{knot_dns.host}@{knot_dns.port}")
    assert not live.unproven(rdap.base_url) and not live.dead(rdap.base_url)
    assert rdap.requests == []  # HEAD is answered 501 by the recorded server and is not one of its lookups


def test_probes_learn_nothing_from_a_refused_connection(virtual_network: VirtualNetwork) -> None:
    with DeadHttp() as gone:
        url = gone.base_url
    live = Liveness()
    probe_http(url, liveness=live, timeout=TIMEOUT, network=virtual_network)  # the port is closed: refused at once
    assert live.unproven(url)


# --------------------------------------------------------------------------- ECS sweeps
def test_first_sweep_at_a_silent_server_stops_after_one_timeout(virtual_network: VirtualNetwork) -> None:
    from auditor.resolve.ipgeo.xdb import XdbDatabase

    db = XdbDatabase.load()
    with DeadUdp() as dead:
        sweeper = EcsSweeper(per_pair=1, liveness=Liveness(), network=virtual_network)
        first = sweeper.sweep("static.example.com.c3cdn.net", ("127.0.0.1", dead.port), db)
        sent = dead.count()
        second = sweeper.sweep("www.example.com", ("127.0.0.1", dead.port), db)
    assert sent == first.sent == PROBE_WINDOW and dead.datagrams == sent  # a few, and nothing for the second sweep
    assert first.answered == 0 and first.queries > PROBE_WINDOW
    statuses = [a.status for a in first.answers]
    assert statuses.count("timeout") == PROBE_WINDOW and statuses.count("not_sent") == first.queries - PROBE_WINDOW
    assert second.queries == 0
    assert second.reason == (f"ecs-sweep gave up: 127.0.0.1@{dead.port} never answered "
                             f"(no reply in 1 s to any of the first {PROBE_WINDOW} queries of a sweep)")


def test_first_sweep_at_a_healthy_server_is_a_whole_sweep(knot_dns: KnotServer, virtual_network: VirtualNetwork) -> None:
    from auditor.resolve.ipgeo.xdb import XdbDatabase

    knot_dns.require_geoip()
    db = XdbDatabase.load()
    server = (knot_dns.host, knot_dns.port)
    probed = EcsSweeper(per_pair=1, liveness=Liveness(), network=virtual_network).sweep("static.example.com.c3cdn.net", server, db)
    plain = EcsSweeper(per_pair=1, network=VirtualNetwork()).sweep("static.example.com.c3cdn.net", server, db)
    assert probed.answered == probed.queries == plain.answered == plain.queries
    assert probed.by_address == plain.by_address
