"""DNS evidence: resolution (CNAME chains, providers, every failure kept apart), ECS sweeps,
recordings and replay — against a real Knot DNS on loopback (mod-geoip in subnet mode for the
sweeps) and, for answers Knot will not give, a small hostile server (tests/servers/hostile_dns.py).

Every live source here runs on virtual time (``servers.blackhole.VirtualNetwork``): a reply the
servers dropped times out at once, in virtual seconds the tests assert on, and a healthy reply is
waited for however long a busy machine takes — no test depends on a wall-clock deadline. Every
network loop is bounded: timeouts and lifetimes, capped sweeps, the virtual network's real
backstop, and the ``loopback_only`` guard on every test.
"""

from __future__ import annotations

import ipaddress
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import dns.message
import dns.rcode
import pytest
from conftest import REPO, TESTS
from servers.blackhole import VirtualNetwork, dns_blackhole, silent_udp_port, virtual_network  # noqa: F401  (fixtures are found by name)
from servers.hostile_dns import HostileDns, hostile_dns  # noqa: F401
from servers.knot import KnotServer, knot_dns  # noqa: F401

from auditor.errors import DataError
from auditor.resolve.dns import (
    CARRIERS,
    ClientSubnet,
    DnsResolver,
    EcsSweeper,
    Nameserver,
    Recording,
    ReplayResolver,
    ReplaySweeper,
    Resolution,
    ResolutionStatus,
    SweepConfigError,
    SweepResult,
    SweepStatus,
    default_suffix_table,
    normalise_province,
    plan_subnets,
    read_recording,
    sweep,
    write_recording,
)
from auditor.resolve.dns.record import dumps
from auditor.resolve.dns.wire import QueryTemplate, read_reply, read_reply_slow
from auditor.resolve.ipgeo.ip2region import parse_region_text
from auditor.resolve.ipgeo.xdb import XdbDatabase

pytestmark = pytest.mark.usefixtures("loopback_only")

FIXTURES = TESTS / "fixtures" / "dns"
RECORDED = FIXTURES / "recorded"

SHENZHEN, DONGGUAN, HONG_KONG, URUMQI = "14.153.10.20", "14.216.10.20", "1.36.10.20", "49.118.10.20"


@pytest.fixture(scope="module")
def db() -> XdbDatabase:
    return XdbDatabase.load()


@pytest.fixture(scope="module")
def plan2(db: XdbDatabase):
    return plan_subnets(db, per_pair=2)


def resolver(server: KnotServer | HostileDns, **kw) -> DnsResolver:
    """A resolver for ``server`` with the default timeout and lifetime, on virtual time (a fresh clock unless ``network=``)."""
    kw.setdefault("network", VirtualNetwork())
    return DnsResolver([(server.host, server.port)], **kw)


def geoip_rules(path: Path) -> dict[str, list[tuple[ipaddress.IPv4Network, str]]]:
    """``{name: [(net, address)]}`` from a Knot mod-geoip config (the subset of YAML it uses)."""
    rules: dict[str, list[tuple[ipaddress.IPv4Network, str]]] = {}
    name, net = "", None
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if not line.startswith(" ") and text.endswith(":"):
            name = text[:-1]
            rules[name] = []
        elif text.startswith("- net:"):
            net = ipaddress.IPv4Network(text.split(":", 1)[1].strip())
        elif text.startswith("A:"):
            assert net is not None
            rules[name].append((net, text.split(":", 1)[1].strip()))
    return rules


def expected_answer(rules: list[tuple[ipaddress.IPv4Network, str]], prefix: str) -> tuple[str, int]:
    """Knot's choice for a client subnet: the longest matching net, and its length (the ECS scope)."""
    sub = ipaddress.IPv4Network(prefix)
    best = max((r for r in rules if sub.subnet_of(r[0])), key=lambda r: r[0].prefixlen)
    return best[1], best[0].prefixlen


# =========================================================================== resolution
class TestResolution:
    def test_cname_chain_into_a_provider_suffix(self, knot_dns: KnotServer) -> None:
        r = resolver(knot_dns).resolve("WWW.Shop.test.")
        assert r.status == ResolutionStatus.OK
        assert r.chain == ("www.shop.test", "www.shop.test.lxdns.com")
        assert r.addresses == ("203.0.113.10", "203.0.113.11")
        assert (r.provider, r.provider_via) == ("ChinaNetCenter", "www.shop.test.lxdns.com")
        assert r.server == f"127.0.0.1@{knot_dns.port}" and r.reason == ""

    def test_two_hop_chain_collects_a_and_aaaa_with_the_smallest_ttl(self, knot_dns: KnotServer) -> None:
        r = resolver(knot_dns).resolve("cdn.shop.test")
        assert r.chain == ("cdn.shop.test", "cdn-shop.akadns.net", "e123.a.akamaiedge.net")
        assert r.addresses == ("203.0.113.20", "2001:db8::20")
        assert r.provider == "Akamai" and r.provider_via == "e123.a.akamaiedge.net"
        assert r.ttl == 20  # akamaiedge.net's TTL, the smallest on the chain

    def test_the_last_provider_of_the_chain_wins(self, knot_dns: KnotServer) -> None:
        r = resolver(knot_dns).resolve("multi.shop.test")
        assert r.chain[-2:] == ("m.shop.test.lxdns.com", "d1abc.cloudfront.net")
        assert r.provider == "Amazon Cloudfront"

    def test_no_provider_and_ipv6_only(self, knot_dns: KnotServer) -> None:
        res = resolver(knot_dns)
        plain, v6 = res.resolve("plain.shop.test"), res.resolve("v6only.shop.test")
        assert plain.addresses == ("192.0.2.10", "2001:db8::10") and plain.provider is None
        assert v6.status == ResolutionStatus.OK and v6.addresses == ("2001:db8::11",)

    def test_accelerated_domain_through_the_cdn_operator(self, knot_dns: KnotServer) -> None:
        knot_dns.require_geoip()
        r = resolver(knot_dns).resolve("www.pengcheng.test")
        assert r.chain == ("www.pengcheng.test", "shop-static.szcdn.test", "img.szcdn.test")
        assert r.addresses == (SHENZHEN,)  # no ECS: the default, declared node

    def test_nxdomain_nodata_servfail_refused_are_kept_apart(self, knot_dns: KnotServer) -> None:
        res = resolver(knot_dns)
        nx, nodata = res.resolve("nope.shop.test"), res.resolve("txtonly.shop.test")
        servfail, refused = res.resolve("x.servfail.test"), res.resolve("www.unserved.test")
        assert nx.status == ResolutionStatus.NXDOMAIN and "NXDOMAIN" in nx.reason
        assert nodata.status == ResolutionStatus.NODATA and "NODATA" in nodata.reason
        assert servfail.status == ResolutionStatus.SERVER_FAILED and "SERVFAIL" in servfail.reason
        assert refused.status == ResolutionStatus.SERVER_FAILED and "REFUSED" in refused.reason
        assert len({nx.status, nodata.status, servfail.status}) == 3
        for r in (nx, nodata, servfail, refused):
            assert r.addresses == () and r.provider is None

    def test_dangling_cname_is_nxdomain_at_the_chain_end(self, knot_dns: KnotServer) -> None:
        r = resolver(knot_dns).resolve("dangling.shop.test")
        assert r.status == ResolutionStatus.NXDOMAIN
        assert r.chain == ("dangling.shop.test", "gone.shop.test")
        assert "gone.shop.test" in r.reason

    def test_timeout_is_bounded_by_the_lifetime(self, dns_blackhole: int, virtual_network: VirtualNetwork) -> None:
        net = virtual_network
        r = DnsResolver([("127.0.0.1", dns_blackhole)], timeout=0.2, lifetime=0.5, rounds=5,
                        network=net).resolve("a.shop.test")
        assert r.status == ResolutionStatus.TIMEOUT and r.addresses == ()
        # five rounds allowed, but the lifetime ends the name: 0.2 + 0.2 + the 0.1 s left, three queries
        assert net.timeouts == pytest.approx([0.2, 0.2, 0.1]) and net.now == pytest.approx(0.5)
        assert net.sent_to(dns_blackhole) == 3 and r.reason.endswith(f"lifetime of 0.5 s spent from 127.0.0.1@{dns_blackhole}")

    def test_next_server_is_asked_when_one_is_silent(self, knot_dns: KnotServer, dns_blackhole: int,
                                                     virtual_network: VirtualNetwork) -> None:
        r = DnsResolver([("127.0.0.1", dns_blackhole), (knot_dns.host, knot_dns.port)], timeout=0.2,
                        lifetime=2.0, network=virtual_network).resolve("plain.shop.test")
        assert r.status == ResolutionStatus.OK and r.server == f"127.0.0.1@{knot_dns.port}"
        assert virtual_network.timeouts == [0.2, 0.2]  # the silent server, once for A and once for AAAA

    def test_cname_loops_in_a_zone_and_across_zones(self, knot_dns: KnotServer) -> None:
        res = resolver(knot_dns)
        inside, across = res.resolve("loop1.shop.test"), res.resolve("xloop.shop.test")
        assert inside.status == across.status == ResolutionStatus.CNAME_LOOP
        assert inside.chain == ("loop1.shop.test", "loop2.shop.test", "loop1.shop.test")
        assert across.chain == ("xloop.shop.test", "xloop.shop.test.lxdns.com", "xloop.shop.test")
        assert "loop" in inside.reason and inside.addresses == ()

    def test_chain_of_16_is_followed_and_17_is_refused(self, knot_dns: KnotServer) -> None:
        res = resolver(knot_dns)
        ok, long = res.resolve("c16-0.shop.test"), res.resolve("c17-0.shop.test")
        assert ok.status == ResolutionStatus.OK and len(ok.cnames) == 16 and ok.addresses == ("192.0.2.16",)
        assert long.status == ResolutionStatus.CHAIN_TOO_LONG and long.addresses == ()
        assert len(long.cnames) == 17 and "16" in long.reason

    def test_truncated_udp_answer_is_retried_over_tcp(self, knot_dns: KnotServer) -> None:
        r = resolver(knot_dns).resolve("big.shop.test")
        assert r.status == ResolutionStatus.OK and len(r.addresses) == 120
        assert any("answered over TCP" in n for n in r.notes)
        no_tcp = resolver(knot_dns, tcp=False).resolve("big.shop.test")
        assert no_tcp.status == ResolutionStatus.TRUNCATED and no_tcp.addresses == ()

    def test_huge_ttl_is_clamped_and_noted(self, knot_dns: KnotServer) -> None:
        r = resolver(knot_dns).resolve("hugettl.shop.test")
        assert r.ttl == 7 * 24 * 3600
        assert any("2147483647 clamped" in n for n in r.notes)

    @pytest.mark.parametrize("bad", ["", "   ", ".", "a..b", "x" * 64 + ".test", "a b.test", "é" * 300, None, 42])
    def test_invalid_names_send_nothing(self, bad: object) -> None:
        r = DnsResolver([("127.0.0.1", 9)]).resolve(bad)  # type: ignore[arg-type]
        assert r.status == ResolutionStatus.INVALID_NAME and r.server == "" and r.reason

    def test_resolve_many_keeps_input_order_and_duplicates(self, knot_dns: KnotServer) -> None:
        out = resolver(knot_dns).resolve_many(["plain.shop.test", "nope.shop.test", "plain.shop.test"])
        assert [r.status for r in out] == ["ok", "nxdomain", "ok"] and out[0] is out[2]

    def test_settings_are_checked(self) -> None:
        with pytest.raises(ValueError):
            DnsResolver([("127.0.0.1", 53)], timeout=0)
        with pytest.raises(ValueError):
            DnsResolver([("127.0.0.1", 53)], rdtypes=("MX",))
        with pytest.raises(ValueError):
            DnsResolver(["not-an-ip"])


class TestHostileAnswers:
    """Answers Knot will not produce, from tests/servers/hostile_dns.py."""

    def test_answer_for_another_name_is_bad_response(self, hostile_dns: HostileDns) -> None:
        r = resolver(hostile_dns).resolve("wrongname.hostile.test")
        assert r.status == ResolutionStatus.BAD_RESPONSE and r.addresses == ()
        assert "elsewhere.test" in r.reason

    def test_records_for_another_name_beside_a_good_one_are_ignored_and_noted(self, hostile_dns: HostileDns) -> None:
        r = resolver(hostile_dns).resolve("mixed.hostile.test")
        assert r.status == ResolutionStatus.OK and r.addresses == ("192.0.2.1",)
        assert any("elsewhere.test" in n for n in r.notes)

    @pytest.mark.parametrize("mode, klass", [("chaos", "CH"), ("hesiod", "HS")])
    def test_non_internet_class_records_are_not_used(self, hostile_dns: HostileDns, mode: str, klass: str) -> None:
        r = resolver(hostile_dns).resolve(f"{mode}.hostile.test")
        assert r.status == ResolutionStatus.BAD_RESPONSE and r.addresses == ()
        assert f"{klass}-class" in r.reason

    def test_reply_to_another_question_is_bad_response(self, hostile_dns: HostileDns) -> None:
        r = resolver(hostile_dns).resolve("wrongq.hostile.test")
        assert r.status == ResolutionStatus.BAD_RESPONSE and "does not match" in r.reason

    def test_junk_bytes_are_bad_response(self, hostile_dns: HostileDns) -> None:
        r = resolver(hostile_dns).resolve("garbage.hostile.test")
        assert r.status == ResolutionStatus.BAD_RESPONSE and "malformed" in r.reason

    def test_truncated_with_no_tcp_listener_is_truncated(self, hostile_dns: HostileDns) -> None:
        r = resolver(hostile_dns).resolve("tc.hostile.test")
        assert r.status == ResolutionStatus.TRUNCATED and "TCP failed" in r.reason

    def test_ttl_with_top_bit_set_reads_as_zero(self, hostile_dns: HostileDns) -> None:
        # dnspython's wire reader already applies RFC 2181 §8 (so no note here); the sweep's own
        # reader does the same through clamp_ttl
        r = resolver(hostile_dns).resolve("ttlmax.hostile.test")
        assert r.status == ResolutionStatus.OK and r.ttl == 0
        s = sweep("ttlmax.hostile.test", (hostile_dns.host, hostile_dns.port),
                  plan=[ClientSubnet("203.0.113.0/24", "-", "-", "-")], network=VirtualNetwork())
        assert s.answers[0].ttl == 0 and s.answers[0].addresses == ("192.0.2.1",)

    def test_silence_is_a_timeout(self, hostile_dns: HostileDns, virtual_network: VirtualNetwork) -> None:
        r = resolver(hostile_dns, timeout=0.2, lifetime=0.4, network=virtual_network).resolve("silent.hostile.test")
        assert r.status == ResolutionStatus.TIMEOUT and r.reason == f"no reply in 0.2 s from 127.0.0.1@{hostile_dns.port}"
        assert virtual_network.timeouts == [0.2]  # one query, waited for exactly its timeout


# =========================================================================== providers
class TestProviders:
    def test_label_boundaries_and_contains_patterns(self) -> None:
        t = default_suffix_table()
        assert t.provider_of("abc.cloudfront.net.") == "Amazon Cloudfront"
        assert t.provider_of("cloudfront.net") is None  # a suffix pattern needs a label in front
        assert t.provider_of("notcloudfront.net") is None
        assert t.provider_of("x.cloudfront.net.evil.test") is None
        assert t.provider_of("www.google.com.hk") == "Google"  # ".google." anywhere, at label boundaries
        assert t.provider_of("www.notgoogle.com") is None

    def test_extra_suffixes_come_first(self) -> None:
        t = default_suffix_table().with_extra({".szcdn.test": "szcdn (the operator)"})
        assert t.classify(("static.pengcheng.test", "img.szcdn.test")) == ("szcdn (the operator)", "img.szcdn.test")

    def test_table_is_the_whole_cdnfinder_list_with_its_licence(self) -> None:
        path = REPO / "auditor" / "resolve" / "dns" / "cdn_suffixes.yaml"
        text = path.read_text(encoding="utf-8")
        assert "MIT License" in text and "Copyright (c) 2017 turbobytes" in text
        assert len(default_suffix_table().entries) == 77


# =========================================================================== subnets
class TestSubnetPlan:
    def test_deterministic_bounded_and_inside_their_pair(self, db: XdbDatabase) -> None:
        a, b = plan_subnets(db, per_pair=3), plan_subnets(db, per_pair=3)
        assert a == b
        per_pair: dict[tuple[str, str], int] = {}
        for s in a.subnets:
            per_pair[(s.province, s.carrier)] = per_pair.get((s.province, s.carrier), 0) + 1
            net = ipaddress.IPv4Network(s.prefix)
            assert net.prefixlen == 24 and s.carrier in CARRIERS
            first, last = db.lookup([str(net[0]), str(net[-1])]).tolist()
            assert first == last and db.region_text(first) == s.region  # wholly inside one segment
            answer = parse_region_text(s.region)
            assert normalise_province(answer.province) == s.province and answer.isp == s.carrier
        assert max(per_pair.values()) <= 3
        assert ("广东", "联通") in per_pair and ("新疆", "电信") in per_pair and ("香港", "移动") in per_pair
        assert len(set(s.prefix for s in a.subnets)) == len(a.subnets)

    def test_pairs_without_a_province_or_whole_24_are_listed_as_skipped(self, db: XdbDatabase) -> None:
        plan = plan_subnets(db, per_pair=1)
        reasons = {(p, c): r for p, c, r in plan.skipped}
        assert "no province" in reasons[("", "电信")]
        assert ("台湾", "联通") in reasons  # two segments, both smaller than a /24

    def test_province_filter_and_bad_per_pair(self, db: XdbDatabase) -> None:
        plan = plan_subnets(db, per_pair=2, provinces=["新疆维吾尔自治区", "广东省"])
        assert {s.province for s in plan.subnets} == {"新疆", "广东"}
        with pytest.raises(ValueError):
            plan_subnets(db, per_pair=0)


# =========================================================================== sweeps
class TestSweep:
    """Every sweep runs on the ``net`` virtual clock: the hostile server's and the silent port's
    ledgers end a wait for a dropped reply at once, and ``duration_s`` is virtual seconds."""

    @pytest.fixture
    def net(self, virtual_network: VirtualNetwork) -> VirtualNetwork:
        return virtual_network

    def test_discovers_exactly_the_nodes_and_who_they_serve(self, knot_dns: KnotServer, db: XdbDatabase, plan2,
                                                            net: VirtualNetwork) -> None:
        knot_dns.require_geoip()
        seen: list[tuple[int, int]] = []
        r = sweep("img.szcdn.test", (knot_dns.host, knot_dns.port), db, per_pair=2, network=net,
                  progress=lambda done, total: seen.append((done, total)))
        assert r.queries == len(plan2.subnets) == r.answered and r.failed == 0 and len(r.answers) == r.queries
        assert set(r.by_address) == {SHENZHEN, DONGGUAN, HONG_KONG, URUMQI}

        rules = geoip_rules(FIXTURES / "zones" / "szcdn.test.geoip.conf")["img.szcdn.test"]
        expected: dict[str, list[str]] = {}
        for a in r.answers:
            node, scope = expected_answer(rules, a.subnet.prefix)
            assert a.status == SweepStatus.OK and a.rcode == "NOERROR"
            assert a.addresses == (node,), a.subnet
            assert a.scope == scope  # Knot echoes the matching net's length as the ECS scope
            expected.setdefault(node, []).append(a.subnet.prefix)
        assert r.by_address == {n: sorted(s, key=lambda p: int(ipaddress.IPv4Network(p)[0])) for n, s in
                                sorted(expected.items(), key=lambda kv: int(ipaddress.IPv4Address(kv[0])))}

        by_pair = {(a.subnet.province, a.subnet.carrier): set() for a in r.answers}
        for a in r.answers:
            by_pair[(a.subnet.province, a.subnet.carrier)].update(a.addresses)
        assert {a.subnet.province for a in r.answers if URUMQI in a.addresses} == {"新疆"}
        assert all(by_pair[("新疆", c)] == {URUMQI} for c in ("电信", "联通", "移动"))
        assert by_pair[("广东", "联通")] == {DONGGUAN} and by_pair[("广东", "移动")] == {HONG_KONG}
        assert by_pair[("广东", "电信")] == {SHENZHEN} and by_pair[("北京", "电信")] == {SHENZHEN}
        assert sorted(r.undeclared([SHENZHEN])) == sorted([DONGGUAN, HONG_KONG, URUMQI])
        assert seen and seen[-1] == (r.queries, r.queries)
        assert net.timeouts == [] or max(net.timeouts) < 0.05  # no query timed out: only the pacing's waits

    def test_sweep_the_end_of_an_accelerated_domains_chain(self, knot_dns: KnotServer, db: XdbDatabase,
                                                           net: VirtualNetwork) -> None:
        knot_dns.require_geoip()
        res = resolver(knot_dns, network=net).resolve("static.pengcheng.test")
        r = EcsSweeper(per_pair=1, network=net).sweep(res.chain[-1], Nameserver(knot_dns.host, knot_dns.port), db)
        assert r.domain == "img.szcdn.test" and set(r.by_address) == {SHENZHEN, DONGGUAN, HONG_KONG, URUMQI}

    def test_aaaa_queries_count_as_answered_nodata(self, knot_dns: KnotServer, db: XdbDatabase,
                                                   net: VirtualNetwork) -> None:
        knot_dns.require_geoip()
        r = sweep("img.szcdn.test", (knot_dns.host, knot_dns.port), db, per_pair=1, provinces=["新疆"],
                  rdtypes=("A", "AAAA"), network=net)
        assert r.queries == 6 == r.answered and r.rdtypes == ("A", "AAAA")
        assert [a.status for a in r.answers if a.rdtype == "AAAA"] == ["nodata"] * 3
        assert set(r.by_address) == {URUMQI}

    def test_nothing_is_lost_when_first_copies_are_dropped(self, hostile_dns: HostileDns, plan2,
                                                           net: VirtualNetwork) -> None:
        r = sweep("flaky.hostile.test", (hostile_dns.host, hostile_dns.port), plan=plan2, timeout=0.2, retries=2,
                  network=net)
        assert r.answered == r.queries and r.sent == 2 * r.queries
        assert {a.attempts for a in r.answers} == {2}
        # the dropped copies were sent again after their timeout, not before: one timeout in all
        assert 0.2 <= r.duration_s < 2 * 0.2

    def test_queries_that_never_get_a_reply_end_failed_with_a_reason(self, hostile_dns: HostileDns, plan2,
                                                                     net: VirtualNetwork) -> None:
        r = sweep("deaf.hostile.test", (hostile_dns.host, hostile_dns.port), plan=plan2, timeout=0.15, retries=1,
                  network=net)
        assert r.answered + r.failed == r.queries == len(r.answers)
        deaf = [a for a in r.answers if ipaddress.IPv4Network(a.subnet.prefix)[0].packed[1] % 2 == 1]
        assert deaf and all(a.status == SweepStatus.TIMEOUT and a.attempts == 2 and "no reply" in a.reason for a in deaf)
        assert r.failed == len(deaf)
        assert all(a.reason == "no reply after 2 sends, 0.15 s each" for a in deaf)
        assert 2 * 0.15 <= r.duration_s < 3 * 0.15  # two timeouts each, then the sweep ended

    def test_mismatched_ecs_is_rejected_after_bounded_retries(self, hostile_dns: HostileDns, plan2,
                                                              net: VirtualNetwork) -> None:
        r = sweep("ecswrong.hostile.test", (hostile_dns.host, hostile_dns.port), plan=plan2, timeout=0.2, retries=1,
                  network=net)
        assert r.answered == 0 and r.failed == r.queries and r.by_address == {}
        assert {a.status for a in r.answers} == {SweepStatus.BAD_RESPONSE}
        assert all("RFC 7871" in a.reason and a.attempts == 2 for a in r.answers)

    def test_duplicate_replies_are_ignored_and_counted(self, hostile_dns: HostileDns, plan2, net: VirtualNetwork) -> None:
        r = sweep("dup.hostile.test", (hostile_dns.host, hostile_dns.port), plan=plan2, network=net)
        assert r.answered == r.queries and r.sent == r.queries
        strays = [int(n.split()[0]) for n in r.notes if "matched no query" in n]
        assert len(strays) == 1 and 1 <= strays[0] <= r.queries  # the twins that came before the end

    def test_cname_replies_take_the_slow_path(self, hostile_dns: HostileDns, plan2, net: VirtualNetwork) -> None:
        r = sweep("cname.hostile.test", (hostile_dns.host, hostile_dns.port), plan=plan2, network=net)
        assert r.answered == r.queries and {a.cnames for a in r.answers} == {("target.hostile.test",)}
        assert set(r.by_address) == {"192.0.2.1"}

    @pytest.mark.parametrize("mode, status", [("tc", "bad_response"), ("garbage", "bad_response"),
                                              ("wrongq", "bad_response"), ("wrongname", "bad_response"),
                                              ("hesiod", "bad_response"), ("silent", "timeout")])
    def test_unusable_replies_are_failures_with_reasons(self, hostile_dns: HostileDns, db: XdbDatabase,
                                                         mode: str, status: str, net: VirtualNetwork) -> None:
        plan = plan_subnets(db, per_pair=1, provinces=["广东"])
        r = sweep(f"{mode}.hostile.test", (hostile_dns.host, hostile_dns.port), plan=plan, timeout=0.2, retries=1,
                  network=net)
        assert r.failed == r.queries and {a.status for a in r.answers} == {status}
        assert all(a.reason for a in r.answers)

    def test_hard_cap_counts_retries_and_nothing_is_lost(self, db: XdbDatabase, net: VirtualNetwork) -> None:
        plan = plan_subnets(db, per_pair=1, provinces=["广东", "新疆"])
        n = len(plan.subnets)
        with silent_udp_port() as port:
            r = sweep("x.test", ("127.0.0.1", port), plan=plan, timeout=0.1, retries=3, max_queries=n + 2, network=net)
            assert net.sent_to(port) == n + 2
        assert r.sent == n + 2 and r.failed == r.queries == n and r.answered == 0
        assert all(a.status == SweepStatus.TIMEOUT and "query cap" in a.reason for a in r.answers)
        assert sum(a.attempts for a in r.answers) == n + 2
        # the cap ends the sweep after two timeouts (the first sends, then the two resends), not after retries + 1
        assert 2 * 0.1 - 1e-9 <= r.duration_s < 3 * 0.1

    def test_time_limit_ends_the_sweep(self, db: XdbDatabase, net: VirtualNetwork) -> None:
        plan = plan_subnets(db, per_pair=1, provinces=["广东"])
        with silent_udp_port() as port:
            r = sweep("x.test", ("127.0.0.1", port), plan=plan, timeout=30, max_seconds=0.3, network=net)
        assert r.failed == r.queries and all("time limit" in a.reason for a in r.answers)
        assert 0.3 <= r.duration_s < 0.3 + 0.05 + 1e-9  # at the limit (one wait of at most 0.05 s late), not after 30 s

    def test_rate_limit_paces_the_sends(self, hostile_dns: HostileDns, db: XdbDatabase, net: VirtualNetwork) -> None:
        plan = plan_subnets(db, per_pair=1, provinces=["广东", "新疆", "北京", "上海"])  # 13 subnets
        r = sweep("ok.hostile.test", (hostile_dns.host, hostile_dns.port), plan=plan, window=2, rate_limit=50.0,
                  network=net)
        assert r.answered == r.queries == len(plan.subnets)
        # a burst of `window`, then 50 per second: the last send is due at (queries - 2) / 50 s (virtual: exactly,
        # give or take one pacing wait of 1/50 s)
        assert (r.queries - 2) / 50.0 - 1e-9 <= r.duration_s <= (r.queries - 1) / 50.0 + 1e-9

    def test_plans_larger_than_the_cap_and_bad_settings_send_nothing(self, db: XdbDatabase) -> None:
        with pytest.raises(SweepConfigError, match="max_queries"):
            sweep("x.test", ("127.0.0.1", 9), db, per_pair=2, max_queries=10)
        with pytest.raises(SweepConfigError, match="not a DNS name"):
            sweep("a..b", ("127.0.0.1", 9), db)
        with pytest.raises(SweepConfigError, match="no client subnets"):
            sweep("x.test", ("127.0.0.1", 9), plan=[])
        with pytest.raises(SweepConfigError):
            sweep("x.test", ("127.0.0.1", 9), db, rdtypes=("MX",))
        with pytest.raises(SweepConfigError, match="database"):
            EcsSweeper().sweep("x.test", ("127.0.0.1", 9))


# =========================================================================== wire
class TestWire:
    def test_fast_reader_agrees_with_dnspython_on_real_replies(self, knot_dns: KnotServer, plan2) -> None:
        knot_dns.require_geoip()
        t = QueryTemplate("img.szcdn.test", "A")
        import socket

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(10.0)  # a bound on Knot's answer, not a deadline: it answers in microseconds
            s.connect((knot_dns.host, knot_dns.port))
            for i, sub in enumerate(plan2.subnets[:60]):
                a = t.address_bytes(sub.prefix.split("/")[0])
                s.send(bytes(t.render(i + 1, a)))
                data = s.recv(4096)
                fast, slow = read_reply(data, t, a), read_reply_slow(data, t, i + 1, a)
                assert fast is not None
                assert (fast.kind, fast.rcode, fast.addresses, fast.ttl, fast.scope) == \
                       (slow.kind, slow.rcode, slow.addresses, slow.ttl, slow.scope)
                other = t.address_bytes("10.0.0.0")
                assert read_reply(data, t, other).kind == "bad"  # ECS of the reply is not what was asked

    def test_truncated_or_junk_bytes_never_raise(self) -> None:
        t = QueryTemplate("img.szcdn.test", "A")
        a = t.address_bytes("203.0.113.0")
        r = dns.message.make_response(dns.message.from_wire(bytes(t.render(7, a))))
        r.set_rcode(dns.rcode.SERVFAIL)
        wire = r.to_wire()
        for cut in range(len(wire)):
            fast = read_reply(wire[:cut], t, a)
            slow = read_reply_slow(wire[:cut], t, 7, a)
            assert fast is None or fast.kind in ("bad", "rcode", "nodata", "nxdomain")
            assert slow.kind in ("bad", "rcode", "nodata", "nxdomain")
        assert read_reply_slow(wire, t, 7, a).kind == "rcode"


# =========================================================================== recordings
def _sample_sweep() -> SweepResult:
    from auditor.resolve.dns.model import SweepAnswer, group_by_address

    sub = ClientSubnet("27.44.145.0/24", "广东", "联通", "中国|0|广东省|东莞市|联通")
    answers = [
        SweepAnswer(sub, "A", "ok", "NOERROR", 14, (DONGGUAN,), 60, 1.23456, 1),
        SweepAnswer(ClientSubnet("110.153.249.0/24", "新疆", "电信", "中国|0|新疆|伊犁|电信"), "A", "timeout",
                    None, None, (), None, None, 3, (), "no reply after 3 sends, 1 s each"),
    ]
    return SweepResult("img.szcdn.test", "127.0.0.1@53", 2, 1, 1, answers, group_by_address(answers),
                       started_at="2026-11-01T00:00:00Z", duration_s=0.5)


def _sample_resolution(name: str = "static.pengcheng.test") -> Resolution:
    return Resolution(name, "ok", (name, "img.szcdn.test"), (SHENZHEN,), None, 60, "", "127.0.0.1@53",
                      "2026-11-01T00:00:00Z", notes=("a note",))


class TestRecording:
    def test_round_trip_is_exact_and_bytes_are_deterministic(self, tmp_path: Path) -> None:
        s, r1, r2 = _sample_sweep(), _sample_resolution("b.test"), _sample_resolution("a.test")
        p1 = write_recording(tmp_path / "one.json", resolutions=[r1, r2], sweeps=[s])
        p2 = write_recording(tmp_path / "two.json", resolutions=[r2, r1], sweeps=[s])
        assert p1.read_bytes() == p2.read_bytes()
        rec = read_recording(p1)
        assert rec.resolutions == (r2, r1) and rec.sweeps[0].to_dict() == s.to_dict()
        assert dumps(rec) == p1.read_text(encoding="utf-8")

    def test_replay_answers_offline_and_says_what_is_missing(self, tmp_path: Path) -> None:
        path = write_recording(tmp_path / "rec.json", resolutions=[_sample_resolution()], sweeps=[_sample_sweep()])
        rr, rs = ReplayResolver(path), ReplaySweeper(path)
        assert rr.resolve("STATIC.pengcheng.test.").addresses == (SHENZHEN,)
        missing = rr.resolve("other.test")
        assert missing.status == ResolutionStatus.NOT_RECORDED and str(path) in missing.reason
        assert rs.sweep("img.szcdn.test").by_address == {DONGGUAN: ["27.44.145.0/24"]}
        assert rs.sweep("img.szcdn.test", "127.0.0.1@53").answered == 1
        none = rs.sweep("img.szcdn.test", ("127.0.0.2", 53))
        assert none.queries == 0 and "no recorded sweep" in none.reason

    @pytest.mark.parametrize("content, message", [
        ("{not json", "not valid JSON"),
        ('{"schema": "something-else"}', "not a DNS recording"),
        ('{"schema": "auditor-dns-recording/1", "resolutions": [{"name": "x"}]}', "resolutions[0]"),
        ('{"schema": "auditor-dns-recording/1", "sweeps": {}}', "must be a list"),
    ])
    def test_bad_recordings_name_the_file_and_the_entry(self, tmp_path: Path, content: str, message: str) -> None:
        p = tmp_path / "bad.json"
        p.write_text(content, encoding="utf-8")
        with pytest.raises(DataError, match=re.escape(message)) as err:
            read_recording(p)
        assert err.value.path == str(p)

    def test_inconsistent_counts_are_refused(self, tmp_path: Path) -> None:
        doc = json.loads(dumps(Recording.of(sweeps=[_sample_sweep()])))
        doc["sweeps"][0]["answered"] = 2
        p = tmp_path / "bad.json"
        p.write_text(json.dumps(doc), encoding="utf-8")
        with pytest.raises(DataError, match="inconsistent"):
            read_recording(p)

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(DataError, match="cannot read"):
            read_recording(tmp_path / "nope.json")


@pytest.fixture(scope="module")
def szcdn() -> Recording:
    return read_recording(RECORDED / "szcdn.json")


class TestRecordedFixtures:
    """tests/fixtures/dns/recorded/: real recordings from the fixture zones (see SOURCE.md)."""

    def test_recording_replays_like_a_live_sweep(self, szcdn: Recording, knot_dns: KnotServer,
                                                 db: XdbDatabase) -> None:
        knot_dns.require_geoip()
        recorded = ReplaySweeper(szcdn).sweep("img.szcdn.test")
        assert recorded.data_sha256 == db.sha256  # recorded with the database the tests use
        live = sweep("img.szcdn.test", (knot_dns.host, knot_dns.port), db, per_pair=2, network=VirtualNetwork())
        assert live.by_address == recorded.by_address
        assert [(a.subnet, a.status, a.addresses, a.scope) for a in live.answers] == \
               [(a.subnet, a.status, a.addresses, a.scope) for a in recorded.answers]

    def test_recorded_resolutions(self, szcdn: Recording) -> None:
        rr = ReplayResolver(szcdn)
        assert rr.resolve("static.pengcheng.test").chain == ("static.pengcheng.test", "img.szcdn.test")
        assert rr.resolve("www.shop.test").provider == "ChinaNetCenter"

    def test_example_operator_recording(self) -> None:
        rec = read_recording(RECORDED / "example-operator.json")
        static = ReplayResolver(rec).resolve("static.example.com")
        assert static.provider == "ChinaCache" and static.chain[-1] == "static.example.com.c3cdn.net"
        s = ReplaySweeper(rec).sweep("static.example.com.c3cdn.net")
        assert s.failed == 0 and set(s.by_address) == {"112.64.1.1", "117.185.1.1", "36.19.1.1", "49.65.10.20"}
        assert sorted(s.undeclared(["112.64.1.1", "117.185.1.1", "36.17.1.1", "36.19.1.1"])) == ["49.65.10.20"]

    def test_recordings_are_in_canonical_form(self) -> None:
        for path in sorted(RECORDED.glob("*.json")):
            assert dumps(read_recording(path)) == path.read_text(encoding="utf-8"), path


def test_nameserver_parsing() -> None:
    assert Nameserver.parse(("127.0.0.1", 5300)) == Nameserver.parse("127.0.0.1@5300") == Nameserver("127.0.0.1", 5300)
    with pytest.raises(ValueError):
        Nameserver("127.0.0.1", 0)


@pytest.fixture(autouse=True)
def _bounded() -> Iterator[None]:
    """No test here may take long: every network wait above is bounded; this is the backstop."""
    t0 = time.monotonic()
    yield
    assert time.monotonic() - t0 < 30, "a DNS test ran for more than 30 s"


def test_knot_without_the_geoip_module_serves_the_other_zones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """tests/servers/knot.py: a missing knot-module-geoip leaves only the geoip zones out, and says so."""
    import servers.knot as knot_module

    monkeypatch.setattr(knot_module, "find_geoip_module", lambda: None)
    soa = "$TTL 60\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 127.0.0.1\n"
    zones = {"plain.test": soa + "www A 192.0.2.1\n", "geo.test": soa + "edge A 192.0.2.2\n"}
    geo = "edge.geo.test:\n  - net: 10.0.0.0/8\n    A: 192.0.2.3\n"
    with KnotServer(tmp_path, zones, geoip={"geo.test": geo}) as server:
        assert server.served_zones == ["plain.test"] and server.geoip_unavailable == ["geo.test"]
        assert resolver(server).resolve("www.plain.test").addresses == ("192.0.2.1",)
        assert resolver(server).resolve("edge.geo.test").status == ResolutionStatus.SERVER_FAILED  # REFUSED
        from system import in_ci

        expected = pytest.fail.Exception if in_ci() else pytest.skip.Exception  # tests/system.py: skip, or fail under CI
        with pytest.raises(expected, match="missing system package knot-module-geoip"):
            server.require_geoip()
